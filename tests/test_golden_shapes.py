"""`convcalc shape` against golden data recorded from real Keras 3.

tests/data/golden_shapes.json is written by scripts/make_golden.py (which needs
TensorFlow; these tests do not). Each valid case must give Keras's shapes,
names, kernel shapes, per-side padding and parameter counts; each error case
must be refused with exit code 2 and a one-line "Error:" naming the layer.
"""

import json
import re

from conftest import run
from golden_helpers import (Differences, assert_no_differences, assert_refused, each_case,
                            load_json, outcome, shape_command)

GOLDEN = load_json("golden_shapes.json")
CASES = GOLDEN["cases"]
ERRORS = GOLDEN["errors"]
ZERO_SIZE = GOLDEN["keras_zero_size"]

LAYER_KEYS = ("name", "type", "input_shape", "output_shape", "params", "kernel_shape", "padding")


def invoke(case):
    return run(*shape_command(case, case["specs"]))


def describe(case, result):
    return (f"{case['id']}: input={case['input']} {case['data_format']} "
            f"(via {case['data_format_via']})\n  specs: {case['specs']}\n  {outcome(result)}")


def differences(case, out):
    """Every way the CLI's JSON differs from Keras, as readable lines."""
    expected = case["expected"]
    diffs = Differences()
    diffs.check("input_shape", out.get("input_shape"), [None, *case["input"]])
    diffs.check("data_format", out.get("data_format"), case["data_format"])
    diffs.check("output_shape", out.get("output_shape"), expected["output_shape"])
    diffs.check("total_params", out.get("total_params"), expected["total_params"])
    diffs.check_trainable_split(out, expected)
    layers = out.get("layers", [])
    diffs.check("number of layers", len(layers), len(expected["layers"]))
    for index, (got, want) in enumerate(zip(layers, expected["layers"]), 1):
        for key in LAYER_KEYS:
            diffs.check(f"layer {index} {case['specs'][index - 1]} {key}",
                        got.get(key), want[key])
    return diffs


@each_case(CASES)
def test_golden_case(case):
    result = invoke(case)
    assert result.exit_code == 0, describe(case, result)
    out = json.loads(result.stdout)
    assert_no_differences(differences(case, out), describe(case, result))


@each_case(ERRORS)
def test_golden_error(case):
    result = invoke(case)
    detail = describe(case, result) + f"\n  Keras: {case['error']}"
    assert_refused(result, detail)
    assert re.search(rf"\blayer {case['error_layer']}\b", result.stderr, re.IGNORECASE), detail


@each_case(ZERO_SIZE)
def test_keras_zero_size(case):
    """Keras lets Conv2DTranspose('same', output_padding=...) produce a 0-pixel
    dimension from a 1-pixel input. convcalc may follow Keras (same shapes) or
    refuse the stack (exit 2); it must never crash."""
    result = invoke(case)
    detail = describe(case, result)
    assert "Traceback" not in result.output, detail
    if result.exit_code == 0:
        assert case["keras_result"] == "accepted", detail
        out = json.loads(result.stdout)
        assert out["output_shape"] == case["expected"]["output_shape"], detail
    else:
        assert_refused(result, detail)


def test_golden_data_covers_the_rules():
    """The golden data cannot silently shrink or lose a feature."""
    assert len(CASES) >= 300
    assert len(ERRORS) >= 50
    args = [a for case in CASES for a in case["keras_args"]]
    assert {c["data_format"] for c in CASES} == {"channels_last", "channels_first"}
    assert {c["data_format_via"] for c in CASES} >= {"option", "layer", "default"}
    assert {a["padding"] for a in args} == {"valid", "same"}
    assert any(a.get("groups", 1) > 1 for a in args)
    assert any(max(a["dilation_rate"]) > 1 for a in args)
    assert any(max(a["strides"]) > 1 for a in args)
    assert any(a.get("output_padding") is not None for a in args)
    assert any(a.get("lora_rank") for a in args)
    assert any(not a["use_bias"] for a in args)
    assert any(a["kernel_size"][0] != a["kernel_size"][1] for a in args)
    assert any(len(case["specs"]) > 1 for case in CASES)
    types = {layer["type"] for case in CASES for layer in case["expected"]["layers"]}
    assert types == {"Conv2D", "Conv2DTranspose"}
    assert any({layer["type"] for layer in case["expected"]["layers"]} == types for case in CASES)
    assert len({e["category"] for e in ERRORS}) >= 15
    assert any(e["error_layer"] > 1 for e in ERRORS)
