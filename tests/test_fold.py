"""--run folds a BatchNormalization into the convolution that alone feeds it (convcalc.fold): the numbers
are those of the two layers computed one after the other, to float32 rounding.  The reference is the
same stack with a linear Activation in between (nothing folds there), with the same weights."""

from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run

from convcalc import fold

CONVS = ["Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
         "SeparableConv2D"]


def _conv(kind: str, rank: int, channels: int, filters: int, multiplier: int, use_bias: bool, data_format: str):
    """The conv's spec and its weights' shapes, as Keras 3 declares them."""
    kernel = (2,) * rank
    options = f"use_bias={use_bias}, data_format='{data_format}', name='c', padding='same'"
    if kind.startswith("Depthwise"):
        spec = f"{kind}(2, depth_multiplier={multiplier}, {options})"
        out = channels * multiplier
        shapes = {"kernel": (*kernel, channels, multiplier)}
    elif kind.startswith("Separable"):
        spec = f"{kind}({filters}, 2, depth_multiplier={multiplier}, {options})"
        out = filters
        shapes = {"depthwise_kernel": (*kernel, channels, multiplier),
                  "pointwise_kernel": (*(1,) * rank, channels * multiplier, filters)}
    else:
        spec = f"{kind}({filters}, 2, {options})"
        out = filters
        shapes = {"kernel": (*kernel, channels, filters)}
    if use_bias:
        shapes["bias"] = (out,)
    return spec, out, shapes


def _run(specs, shape, weights_path, tmp_path, name):
    out = tmp_path / f"{name}.npy"
    result = run("shape", "--input", shape, *specs, "--run", "--weights", weights_path, "--save", out,
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    return np.load(out)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_folded_normalization_equals_the_two_layers(tmp_path, data):
    kind = data.draw(st.sampled_from(CONVS))
    rank = 3 if kind == "Conv3D" else 1 if kind.endswith("1D") else 2
    data_format = data.draw(st.sampled_from(["channels_last", "channels_first"]))
    channels, filters, multiplier = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 4)), data.draw(st.integers(1, 2))
    spec, out, shapes = _conv(kind, rank, channels, filters, multiplier, data.draw(st.booleans()), data_format)
    center, scale = data.draw(st.booleans()), data.draw(st.booleans())
    ndim = rank + 2
    channel_axis = ndim - 1 if data_format == "channels_last" else 1
    # Another axis than the channels' does not fold (the numbers must agree all the same).
    axis = data.draw(st.sampled_from([channel_axis, channel_axis - ndim, 2]))
    folds = axis % ndim == channel_axis
    norm = f"BatchNormalization(axis={axis}, center={center}, scale={scale}, epsilon=0.01, name='bn')"
    spatial = (3,) * rank
    size = (*spatial, channels) if data_format == "channels_last" else (channels, *spatial)
    norm_size = out if folds else 3
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    weights = {f"c/{n}": rng.standard_normal(s).astype(np.float32) for n, s in shapes.items()}
    for name, present in (("gamma", scale), ("beta", center), ("moving_mean", True), ("moving_variance", True)):
        if present:
            value = rng.standard_normal(norm_size).astype(np.float32)
            weights[f"bn/{name}"] = np.abs(value) + 0.1 if name == "moving_variance" else value
    path = tmp_path / "w.npz"
    np.savez(path, **weights)
    shape = "x".join(map(str, size))
    results = []

    def spy(*args):
        results.append(original(*args))
        return results[-1]

    original = fold.folded_weights
    with mock.patch.object(fold, "folded_weights", spy):
        folded = _run([spec, norm], shape, path, tmp_path, "folded")
        assert len(results) == 1 and (results[0] is not None) == folds
        apart = _run([spec, "Activation('linear')", norm], shape, path, tmp_path, "apart")
        assert len(results) == 1
    np.testing.assert_allclose(folded, apart, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(apart).max())))


def test_what_folds_and_what_does_not():
    """Only a convolution without activation holds its output back; a normalization over another axis
    does not fold (folded_weights gives None and the two layers run one after the other)."""
    result = run("shape", "--input", "6x6x2", "Conv2D(3, 3, activation='relu', name='c')",
                 "BatchNormalization(name='bn')", "--run", "--format", "json")
    assert result.exit_code == 0, result.stderr
    from convcalc.request import ShapeRequest, compute_request

    rows = compute_request(ShapeRequest(layers=("Conv2D(3, 3, activation='relu')", "Conv2D(3, 3, padding='same')",
                                                "DepthwiseConv2D(3, padding='same')", "Dense(3)",
                                                "BatchNormalization(axis=1)"), input=("8x8x3",)))[0].layers
    assert [fold.may_fold(row) for row in rows] == [False, True, True, False, False]
    weights = {"moving_mean": np.zeros(3, np.float32), "moving_variance": np.ones(3, np.float32)}
    conv = {"kernel": np.ones((3, 3, 3, 3), np.float32)}
    assert fold.folded_weights(rows[1], conv, rows[4], weights, np.dtype(np.float32)) is None


SHARED_OUTPUT = """
import keras
from keras import layers

x = keras.Input(shape=(5, 5, 2))
c = layers.Conv2D(2, 3, padding="same", name="c")(x)
n = layers.BatchNormalization(name="bn")(c)
s = layers.Add(name="sum")([c, n])
model = keras.Model(x, s)
"""


def test_a_convolution_read_twice_is_not_held(tmp_path):
    """The conv's output is read by the normalization and by the Add: nothing folds, and the numbers are
    conv + bn(conv) with the given weights."""
    source = tmp_path / "m.py"
    source.write_text(SHARED_OUTPUT)
    rng = np.random.default_rng(1)
    kernel, bias = rng.standard_normal((3, 3, 2, 2)).astype(np.float32), rng.standard_normal(2).astype(np.float32)
    mean, variance = rng.standard_normal(2).astype(np.float32), np.array([0.5, 2.0], np.float32)
    np.savez(tmp_path / "w.npz", **{"c/kernel": kernel, "c/bias": bias, "bn/moving_mean": mean,
                                    "bn/moving_variance": variance, "bn/gamma": np.array([2.0, -1.0], np.float32),
                                    "bn/beta": np.array([0.5, 0.25], np.float32)})
    with mock.patch.object(fold, "folded_weights", wraps=fold.folded_weights) as spy:
        result = run("shape", "--file", source, "--model", "model", "--run", "--fill", "1", "--weights",
                     tmp_path / "w.npz", "--save", tmp_path / "y.npy", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert spy.call_count == 0
    from convcalc.kernels import conv2d_naive

    c = conv2d_naive(np.ones((1, 5, 5, 2), np.float32), kernel, bias, padding="same")
    n = (c - mean) / np.sqrt(variance + 1e-3) * np.array([2.0, -1.0]) + np.array([0.5, 0.25])
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), c + n, rtol=1e-5, atol=1e-5)
