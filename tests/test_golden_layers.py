"""`convcalc shape` on single layers of every type of issue 4, against Keras 3.

tests/data/golden_layers.json is written by scripts/make_golden_layers.py
(it needs TensorFlow, these tests do not). Each valid case is one
layer with random arguments on a random input (``--input``), or a merge layer
on two or three ``Input(shape=...)`` specs; it must give Keras's output shape,
parameter counts (trainable and non-trainable), default name and per-side
padding or cropping. Each error case is a layer Keras refuses: exit code 2,
nothing on stdout, one "Error:" message on stderr, no traceback.
"""

import ast
import json
from collections import Counter

from conftest import run
from golden_helpers import (Differences, assert_no_differences, assert_refused, each_case,
                            load_json, outcome, shape_command)

GOLDEN = load_json("golden_layers.json")
CASES = GOLDEN["cases"]
ERRORS = GOLDEN["errors"]

LAYER_TYPES = [
    "DepthwiseConv2D", "SeparableConv2D", "Conv1D", "Conv1DTranspose", "MaxPooling2D",
    "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D",
    "Cropping2D", "UpSampling2D", "BatchNormalization", "LayerNormalization", "Activation",
    "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Dropout", "SpatialDropout2D",
    "GaussianNoise", "Flatten", "Dense", "Reshape", "Permute", "Rescaling", "Resizing",
    "Normalization",
]
MERGE_TYPES = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]
DATA_FORMAT_TYPES = {
    "DepthwiseConv2D", "SeparableConv2D", "Conv1D", "Conv1DTranspose", "MaxPooling2D",
    "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D",
    "Cropping2D", "UpSampling2D", "SpatialDropout2D", "Flatten", "Resizing",
}
CHECKED = ("output_shape", "params", "trainable_params", "non_trainable_params", "name",
           "padding", "cropping")


def input_spec(shape):
    dims = ", ".join(str(d) for d in shape)
    return f"Input(shape=({dims},))" if len(shape) == 1 else f"Input(shape=({dims}))"


def command(case):
    """The command line of a case: --input for one input, Input specs for merges."""
    inputs = [input_spec(s) for s in case["inputs"]] if "inputs" in case else None
    return shape_command(case, [case["spec"]], inputs)


def invoke(case):
    return run(*command(case))


def describe(case, result):
    shapes = case.get("inputs", case.get("input"))
    return (f"{case['id']}: {case['spec']} on {shapes} {case['data_format']} "
            f"(via {case['data_format_via']})\n  command: {command(case)}\n  {outcome(result)}")


def differences(case, out):
    expected = case["expected"]
    diffs = Differences()
    diffs.check("output_shape", out.get("output_shape"), expected["output_shape"])
    diffs.check("total_params", out.get("total_params"), expected["params"])
    diffs.check_trainable_split(out, expected)
    if case["type"] in DATA_FORMAT_TYPES and "data_format" in out:
        diffs.check("data_format", out["data_format"], case["data_format"])
    rows = [row for row in out.get("layers", []) if row.get("type") != "InputLayer"]
    if len(rows) != 1:
        return diffs + [f"expected one layer row besides InputLayer rows, got {len(rows)}"]
    row = rows[0]
    diffs.check("type", row.get("type"), case["type"])
    for key in CHECKED:
        if key in expected:
            diffs.check(key, row.get(key), expected[key])
    return diffs


@each_case(CASES)
def test_golden_layer(case):
    result = invoke(case)
    assert result.exit_code == 0, describe(case, result)
    diffs = differences(case, json.loads(result.stdout))
    assert_no_differences(diffs, describe(case, result))


@each_case(ERRORS)
def test_golden_layer_error(case):
    result = invoke(case)
    assert_refused(result, describe(case, result)
                   + f"\n  Keras: {case['error_type']}: {case['error']}")


def spec_argument(spec, name, position):
    """The literal value of argument `name` (or positional `position`) in a spec."""
    call = ast.parse(spec, mode="eval").body
    for keyword in call.keywords:
        if keyword.arg == name:
            return ast.literal_eval(keyword.value)
    if len(call.args) > position:
        return ast.literal_eval(call.args[position])
    return None


def test_golden_layers_cover_the_issue():
    """The golden data cannot silently shrink or lose a feature."""
    counts = Counter(case["type"] for case in CASES)
    for layer_type in LAYER_TYPES + MERGE_TYPES:
        assert counts[layer_type] >= 8, layer_type
    assert len(ERRORS) >= 40
    assert len({case["type"] for case in ERRORS}) >= 25
    for layer_type in DATA_FORMAT_TYPES:
        mine = [case for case in CASES if case["type"] == layer_type]
        assert {case["data_format"] for case in mine} == {"channels_last", "channels_first"}
        assert {case["data_format_via"] for case in mine} == {"option", "layer", "default"}
    for layer_type, name in (("ZeroPadding2D", "padding"), ("Cropping2D", "cropping")):
        values = [spec_argument(c["spec"], name, 0) for c in CASES if c["type"] == layer_type]
        assert any(isinstance(v, int) for v in values), layer_type
        assert any(isinstance(v, (tuple, list)) and isinstance(v[0], int) for v in values)
        assert any(isinstance(v, (tuple, list)) and isinstance(v[0], (tuple, list))
                   for v in values)
    reshapes = [spec_argument(c["spec"], "target_shape", 0) for c in CASES
                if c["type"] == "Reshape"]
    assert any(-1 in list(v) for v in reshapes)
    dense_ranks = {len(c["input"]) for c in CASES if c["type"] == "Dense"}
    assert 1 in dense_ranks and max(dense_ranks) >= 2
    pooling = [c for c in CASES if c["type"] in ("MaxPooling2D", "AveragePooling2D")]
    assert {spec_argument(c["spec"], "padding", 2) or "valid" for c in pooling} >= {"valid", "same"}
    assert any(c["expected"]["non_trainable_params"] > 0 for c in CASES
               if c["type"] == "BatchNormalization")
    assert any(spec_argument(c["spec"], "keepdims", 1) for c in CASES
               if c["type"].startswith("Global"))
    assert any((spec_argument(c["spec"], "depth_multiplier", 3) or 1) > 1 for c in CASES
               if c["type"] == "DepthwiseConv2D")
    assert any(len(c["inputs"]) == 3 for c in CASES if "inputs" in c)
    assert any(spec_argument(c["spec"], "axis", 0) not in (None, -1)
               for c in CASES if c["type"] == "Concatenate")
    assert any("padding" in c["expected"] and c["expected"]["padding"].get("left", 0) > 0
               for c in CASES if c["type"] == "Conv1D")
    assert any("cropping" in c["expected"] for c in CASES)
