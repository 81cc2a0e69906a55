"""Activations and initializers by Keras name: values, statistics, argument checks."""

import math

import numpy as np
import pytest

from conftest import run
from convcalc import initializers
from convcalc.activations import ACTIVATIONS, apply_activation
from convcalc.errors import ConvcalcError
from convcalc.layers import ACTIVATIONS as ACTIVATION_NAMES
from convcalc.parse import Reference, parse_call

X = np.array([-6.0, -1.5, -0.3, 0.0, 0.4, 2.0, 7.0])


def test_every_accepted_activation_name_runs():
    assert set(ACTIVATION_NAMES) == set(ACTIVATIONS)


# reference values computed with the math module, one scalar at a time
def gelu(v):
    return 0.5 * v * math.erfc(-v / math.sqrt(2))


def sigmoid(v):
    return 1 / (1 + math.exp(-v))


def softplus(v):
    return math.log1p(math.exp(v))


SCALAR = {
    "relu": lambda v: max(v, 0),
    "relu6": lambda v: min(max(v, 0), 6),
    "leaky_relu": lambda v: v if v >= 0 else 0.2 * v,
    "elu": lambda v: v if v > 0 else math.expm1(v),
    "selu": lambda v: 1.0507009873554805 * (v if v > 0 else 1.6732632423543772 * math.expm1(v)),
    "gelu": gelu,
    "sigmoid": sigmoid,
    "hard_sigmoid": lambda v: min(max(v + 3, 0), 6) / 6,
    "tanh": math.tanh,
    "softplus": softplus,
    "softsign": lambda v: v / (1 + abs(v)),
    "silu": lambda v: v * sigmoid(v),
    "swish": lambda v: v * sigmoid(v),
    "mish": lambda v: v * math.tanh(softplus(v)),
    "exponential": math.exp,
    "linear": lambda v: v,
    "log_sigmoid": lambda v: -softplus(-v),
    "hard_tanh": lambda v: min(max(v, -1), 1),
}


@pytest.mark.parametrize("name", sorted(SCALAR))
def test_elementwise_activation_values(name):
    expected = np.array([SCALAR[name](v) for v in X])
    np.testing.assert_allclose(ACTIVATIONS[name](X), expected, rtol=2e-7, atol=1e-12)


def test_gelu_is_accurate_in_the_tails():
    tail = np.array([-9.0, -7.5, -5.0])
    expected = np.array([gelu(v) for v in tail])
    np.testing.assert_allclose(ACTIVATIONS["gelu"](tail), expected, rtol=1e-6)


def test_softmax_acts_on_the_last_axis():
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    y = apply_activation("softmax", x)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0)
    np.testing.assert_allclose(apply_activation("log_softmax", x), np.log(y), atol=1e-12)
    s = apply_activation("sparsemax", x)
    np.testing.assert_allclose(s.sum(axis=-1), 1.0)
    assert (s >= 0).all()


def test_activation_references_and_dtype():
    x = np.float32([-1, 2])
    assert apply_activation(Reference("tf.nn.relu"), x).tolist() == [0, 2]
    assert apply_activation("sigmoid", x).dtype == np.float32
    assert apply_activation(None, x) is x


@pytest.mark.parametrize(
    "name,fan,limit_or_std,kind",
    [
        ("glorot_uniform", (144 + 288) / 2, 1.0, "uniform"),
        ("he_uniform", 144, 2.0, "uniform"),
        ("lecun_uniform", 144, 1.0, "uniform"),
        ("glorot_normal", (144 + 288) / 2, 1.0, "normal"),
        ("he_normal", 144, 2.0, "normal"),
        ("lecun_normal", 144, 1.0, "normal"),
    ],
)
def test_variance_scaling_family(name, fan, limit_or_std, kind):
    shape = (3, 3, 16, 32)
    w = initializers.initialize(name, shape, 0)
    assert w.shape == shape and w.dtype == np.float32
    variance = limit_or_std / fan
    if kind == "uniform":
        assert np.abs(w).max() <= math.sqrt(3 * variance) + 1e-7
    else:
        assert np.abs(w).max() <= 2 * math.sqrt(variance) / 0.87962566103423978 + 1e-6
    assert w.var() == pytest.approx(variance, rel=0.1)


def test_simple_initializers_and_arguments():
    assert (initializers.initialize("ones", (2, 2), 0) == 1).all()
    assert (initializers.initialize("zeros", (3,), 0) == 0).all()
    assert (initializers.initialize(parse_call("keras.initializers.Constant(2.5)"), (2,), 0) == 2.5).all()
    w = initializers.initialize(parse_call("RandomNormal(mean=1.0, stddev=0.01)"), (4000,), 0)
    assert w.mean() == pytest.approx(1.0, abs=0.002) and w.std() == pytest.approx(0.01, rel=0.1)
    w = initializers.initialize(parse_call("RandomUniform(0, 2)"), (4000,), 0)
    assert 0 <= w.min() and w.max() <= 2
    w = initializers.initialize("truncated_normal", (4000,), 0)
    assert np.abs(w).max() <= 0.1 + 1e-7
    q = initializers.initialize("orthogonal", (3, 3, 4, 36), 0).reshape(36, 36)
    np.testing.assert_allclose(q.T @ q, np.eye(36), atol=1e-5)


def test_seeds_repeat_and_differ():
    a = initializers.initialize("he_normal", (3, 3, 2, 2), 1)
    b = initializers.initialize("he_normal", (3, 3, 2, 2), 1)
    c = initializers.initialize("he_normal", (3, 3, 2, 2), 2)
    d = initializers.initialize(parse_call("HeNormal(seed=5)"), (3, 3, 2, 2), 1)
    e = initializers.initialize(parse_call("HeNormal(seed=5)"), (3, 3, 2, 2), 2)
    assert (a == b).all() and not (a == c).all() and (d == e).all()


@pytest.mark.parametrize(
    "value,words",
    [
        ("glorot", "not a Keras initializer"),
        ("Constant(1, 2)", "at most 1 positional"),
        ("RandomNormal(sigma=1)", "no argument 'sigma'"),
        ("Constant('a')", "value must be a number"),
        ("VarianceScaling(mode='fan_middle')", "mode must be"),
        ("HeNormal(seed=1.5)", "seed must be an integer"),
    ],
)
def test_bad_initializers_are_errors_at_parse_time(value, words):
    result = run("shape", "--input", "8x8x3", f"Conv2D(4, 3, kernel_initializer={value if '(' in value else repr(value)})")
    assert result.exit_code == 2 and words in result.stderr, result.stderr


def test_identity_cannot_initialize_a_conv_kernel():
    with pytest.raises(ConvcalcError, match="2-D only"):
        initializers.initialize("identity", (3, 3, 2, 2), 0)


@pytest.mark.parametrize("name", ["glu", "threshold"])
def test_shape_changing_activations_are_refused_with_a_reason(name):
    result = run("shape", "--input", "8x8x4", f"Conv2D(4, 3, activation='{name}')")
    assert result.exit_code == 2 and "not supported" in result.stderr


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_relu_layer_with_a_cap_matches_its_definition(dtype):
    """ReLU(max_value=m) (ReLU6 and kin, computed in one clip) against min(max(x, 0), m) element by element,
    NaN and infinities included, in x's dtype; with a threshold or a slope the general path still applies."""
    from convcalc.feature_kernels import relu

    x = np.array([-np.inf, -3, -0.5, 0, 0.25, 1.5, 6, 7, np.inf, np.nan], dtype)
    for cap in (6.0, 1.5, 0.0):
        got = relu(x, cap)
        expected = [min(max(v, 0.0), cap) if not np.isnan(v) else np.nan for v in x.astype(np.float64)]
        assert got.dtype == x.dtype
        np.testing.assert_array_equal(got, np.array(expected, dtype))
    np.testing.assert_allclose(relu(x[1:-2], 6.0, 0.5, 0.25), [-1.625, -0.375, -0.125, 0.0, 1.5, 6, 6])
