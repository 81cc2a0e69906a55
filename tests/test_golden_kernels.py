"""`convcalc shape --run` and `convcalc.kernels` against numbers from real Keras 3.

tests/data/golden_kernels/ is written by scripts/make_golden_kernels.py (which
needs TensorFlow; these tests do not): stacks of 1-3 Conv2D/Conv2DTranspose
layers with a random input batch, random weights (SPEC 4 names and Keras
layouts) and the output Keras computed. Every case is replayed through the
CLI (``--run --sample --weights --save``); single layers without activation
also through the kernels' Python API (SPEC 4).

About ``sparsemax``: Keras 3.15.1's is wrong whenever more than one element is
in the support (keras-team/keras#23425, fixed after 3.15.1). ``y`` is what
Keras 3.15.1 returns; cases ending in sparsemax also carry
``y_sparsemax_fixed`` (the textbook sparsemax of the same pre-activation).
``SPARSEMAX_REFERENCE`` chooses which one convcalc must match.
"""

import json
from collections import Counter

import numpy as np

from conftest import run
import golden_helpers
from golden_helpers import dims, each_case, load_json, outcome

DATA = golden_helpers.DATA / "golden_kernels"
INDEX = load_json("golden_kernels", "index.json")
CASES = INDEX["cases"]
with np.load(DATA / "cases.npz") as _archive:
    ARRAYS = {key: _archive[key] for key in _archive.files}

# "keras-3.15.1": match Keras as released (SPEC 1: Keras is the reference);
# "fixed": match the textbook sparsemax (what Keras computes once #23425 is fixed).
SPARSEMAX_REFERENCE = "fixed"  # Keras 3.15.1 sparsemax is wrong (all zeros for [0.1, 0.5, 0.45, -1]); see README

ACTIVATIONS = [
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "sigmoid",
    "hard_sigmoid", "tanh", "softplus", "softsign", "silu", "swish", "mish",
    "exponential", "softmax", "celu", "hard_silu", "hard_tanh", "log_sigmoid",
    "log_softmax", "soft_shrink", "hard_shrink", "tanh_shrink", "squareplus",
    "sparse_plus", "sparse_sigmoid", "sparsemax",
]


def arrays(case):
    cid = case["id"]
    weights = {name: ARRAYS[f"{cid}/w/{name}"] for name in case["weights"]}
    return ARRAYS[f"{cid}/x"], weights, ARRAYS[f"{cid}/y"]


def expected_y(case):
    y = ARRAYS[f"{case['id']}/y"]
    if SPARSEMAX_REFERENCE == "fixed" and "y_sparsemax_fixed" in case["extras"]:
        y = ARRAYS[f"{case['id']}/y_sparsemax_fixed"]
    return y


def describe(case):
    return (f"{case['id']}: input={case['input_shape']} {case['data_format']} "
            f"batch={case['batch']}\n  specs: {case['specs']}")


def assert_matches_keras(case, ours, keras_y, what):
    assert ours.shape == keras_y.shape, f"{what}: shape {ours.shape}, Keras {keras_y.shape}\n{describe(case)}"
    atol = 1e-5 * max(1.0, float(np.abs(keras_y).max()))
    note = ""
    if "y_sparsemax_fixed" in case["extras"]:
        other = ARRAYS[f"{case['id']}/y_sparsemax_fixed"]
        if SPARSEMAX_REFERENCE == "fixed":
            other = ARRAYS[f"{case['id']}/y"]
        if np.allclose(ours, other, rtol=1e-4, atol=atol):
            note = (f"\n  (matches the other sparsemax reference instead; "
                    f"SPARSEMAX_REFERENCE={SPARSEMAX_REFERENCE!r}, see the module docstring)")
    np.testing.assert_allclose(ours, keras_y, rtol=1e-4, atol=atol,
                               err_msg=f"{what}\n{describe(case)}{note}")


@each_case(CASES)
def test_run_matches_keras(case, tmp_path):
    x, weights, _ = arrays(case)
    keras_y = expected_y(case)
    x_path, w_path, y_path = tmp_path / "x.npy", tmp_path / "w.npz", tmp_path / "y.npy"
    np.save(x_path, x)
    np.savez(w_path, **weights)
    result = run("shape", "--input", dims(case["input_shape"]), *case["specs"],
                 "--run", "--sample", x_path, "--weights", w_path, "--save", y_path,
                 "--format", "json")
    assert result.exit_code == 0, f"{describe(case)}\n  {outcome(result)}"
    out = json.loads(result.stdout)
    assert out["data_format"] == case["data_format"], describe(case)
    assert out["layers"][-1]["measured_shape"] == [case["batch"], *keras_y.shape[1:]], describe(case)
    assert [layer["name"] for layer in out["layers"]] == [l["name"] for l in case["layers"]]
    assert_matches_keras(case, np.load(y_path), keras_y, "convcalc shape --run")


SINGLE = [c for c in CASES if len(c["layers"]) == 1
          and c["layers"][0]["activation"] in (None, "linear")]


@each_case(SINGLE)
def test_kernels_api_matches_keras(case):
    from convcalc import kernels

    x, weights, keras_y = arrays(case)
    layer = case["layers"][0]
    kernel = weights[f"{layer['name']}/kernel"]
    bias = weights.get(f"{layer['name']}/bias")
    common = dict(bias=bias, strides=tuple(layer["strides"]), padding=layer["padding"],
                  dilation_rate=tuple(layer["dilation_rate"]), data_format=case["data_format"])
    if layer["class"] == "Conv2D":
        ours = kernels.conv2d(x, kernel, groups=layer["groups"], **common)
    else:
        op = layer["output_padding"]
        ours = kernels.conv2d_transpose(x, kernel, output_padding=None if op is None else tuple(op),
                                        **common)
    assert_matches_keras(case, np.asarray(ours), keras_y, f"convcalc.kernels ({layer['class']})")


def test_golden_kernels_coverage():
    assert len(CASES) >= 50
    assert len({c["id"] for c in CASES}) == len(CASES)
    activations = {a for c in CASES for a in c["activations"]}
    assert set(ACTIVATIONS) <= activations, set(ACTIVATIONS) - activations
    features = Counter(f for c in CASES for f in c["features"])
    for feature in ["channels_last", "channels_first", "Conv2D", "Conv2DTranspose", "groups",
                    "depthwise", "dilation", "strides", "strides_3", "output_padding",
                    "output_padding_nonzero", "padding_same", "padding_valid", "padding_SAME",
                    "rectangular_kernel", "no_bias", "bias", "layers_1", "layers_2", "layers_3"]:
        assert features[feature] > 0, feature
    # softmax-like activations on channels_first stacks act on the width axis
    channels_first_last_axis = {a for c in CASES if c["data_format"] == "channels_first"
                                for a in c["activations"]}
    assert {"softmax", "log_softmax", "sparsemax"} <= channels_first_last_axis
    # every channels_first spec says so, as a user would write it
    for case in CASES:
        if case["data_format"] == "channels_first":
            assert all("channels_first" in spec for spec in case["specs"]), case["id"]
    assert len(SINGLE) >= 10
    assert {c["layers"][0]["class"] for c in SINGLE} == {"Conv2D", "Conv2DTranspose"}
    assert {c["data_format"] for c in SINGLE} == {"channels_last", "channels_first"}
    total = sum(p.stat().st_size for p in DATA.iterdir())
    assert total < 3_000_000, total
