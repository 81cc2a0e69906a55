"""`convcalc shape` against golden data recorded from real Keras 3.

tests/data/golden_shapes.json is written by scripts/make_golden.py (which needs
TensorFlow; these tests do not). Each valid case must give Keras's shapes,
names, kernel shapes, per-side padding and parameter counts; each error case
must be refused with exit code 2 and a one-line "Error:" naming the layer.
"""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli import app

GOLDEN = json.loads((Path(__file__).parent / "data" / "golden_shapes.json").read_text())
CASES = GOLDEN["cases"]
ERRORS = GOLDEN["errors"]
ZERO_SIZE = GOLDEN["keras_zero_size"]

LAYER_KEYS = ("name", "type", "input_shape", "output_shape", "params", "kernel_shape", "padding")


@pytest.fixture(autouse=True)
def empty_keras_home(tmp_path, monkeypatch):
    """A user's ~/.keras/keras.json must not change the default data format."""
    home = tmp_path / "golden_keras_home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("KERAS_HOME", str(home))


def invoke(case):
    args = ["shape", "--input", "x".join(map(str, case["input"]))]
    if case["data_format_via"] == "option":
        args += ["--data-format", case["data_format"]]
    args += [*case["specs"], "--format", "json"]
    return CliRunner().invoke(app, args)


def describe(case, result):
    return (f"{case['id']}: input={case['input']} {case['data_format']} "
            f"(via {case['data_format_via']})\n  specs: {case['specs']}\n"
            f"  exit={result.exit_code}\n  stdout: {result.stdout}\n  stderr: {result.stderr}")


def differences(case, out):
    """Every way the CLI's JSON differs from Keras, as readable lines."""
    expected = case["expected"]
    diffs = []

    def check(where, got, want):
        if got != want:
            diffs.append(f"{where}: got {got!r}, Keras {want!r}")

    check("input_shape", out.get("input_shape"), [None, *case["input"]])
    check("data_format", out.get("data_format"), case["data_format"])
    check("output_shape", out.get("output_shape"), expected["output_shape"])
    check("total_params", out.get("total_params"), expected["total_params"])
    for key in ("trainable_params", "non_trainable_params"):
        if key in out:
            check(key, out[key], expected[key])
    layers = out.get("layers", [])
    check("number of layers", len(layers), len(expected["layers"]))
    for index, (got, want) in enumerate(zip(layers, expected["layers"]), 1):
        for key in LAYER_KEYS:
            check(f"layer {index} {case['specs'][index - 1]} {key}", got.get(key), want[key])
    return diffs


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden_case(case):
    result = invoke(case)
    assert result.exit_code == 0, describe(case, result)
    out = json.loads(result.stdout)
    diffs = differences(case, out)
    assert not diffs, describe(case, result) + "\n  " + "\n  ".join(diffs)


@pytest.mark.parametrize("case", ERRORS, ids=[c["id"] for c in ERRORS])
def test_golden_error(case):
    result = invoke(case)
    detail = describe(case, result) + f"\n  Keras: {case['error']}"
    assert result.exit_code == 2, detail
    assert result.stdout == "", detail
    assert result.stderr.startswith("Error:"), detail
    assert re.search(rf"\blayer {case['error_layer']}\b", result.stderr, re.IGNORECASE), detail
    assert "Traceback" not in result.output, detail


@pytest.mark.parametrize("case", ZERO_SIZE, ids=[c["id"] for c in ZERO_SIZE])
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
        assert result.exit_code == 2, detail
        assert result.stdout == "", detail
        assert result.stderr.startswith("Error:"), detail


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
