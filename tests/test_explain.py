"""convcalc explain, the data-format trap warning and --show's first sum (issue 11 items 1, 2, 5)."""

import json

import numpy as np
import pytest

from convcalc import kernels
from convcalc.explain_sum import first_sum, sum_text
from convcalc.formulas import conv_padding
from convcalc.traps import looks_swapped

from conftest import run

SEED_SPEC = "Conv2D(1, 2, kernel_initializer='ones', bias_initializer='zeros')"
TRAP_SPEC = "Conv2D(10, 8, padding='same')"


def explain_json(*args):
    result = run("explain", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_seed_rgb_example_has_13_parameters_and_its_channel_story():
    result = run("explain", SEED_SPEC, "--input", "3x3x3")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "2 x 2 x 3 = 12 weights" in text
    assert "12 + 1 = 13" in text
    assert "Relationship 1" in text  # no padding, unit strides
    assert "DepthwiseConv2D(2): 15 parameters" in text
    assert "Conv2D(3, 2, groups=3): 15 parameters" in text
    assert "channels_last, from Keras's default" in text


def test_show_prints_the_seed_sum():
    result = run("shape", "--input", "3x3x3", SEED_SPEC, "--fill", "1,100,10000", "--show")
    assert result.exit_code == 0, result.stderr
    assert "4*1 + 4*100 + 4*10000 + 0 = 40404" in result.stdout


def test_show_in_json_is_unchanged():
    result = run("shape", "--input", "3x3x3", SEED_SPEC, "--fill", "1,100,10000", "--show", "--format", "json")
    assert result.exit_code == 0
    json.loads(result.stdout)  # still one JSON object, nothing else


@pytest.mark.parametrize("padding,strides,dilation,groups", [
    ("same", 2, 1, 1), ("valid", 1, 2, 2), ("same", 1, 2, 4), ("same", 3, 1, 2),
], ids=["same-s2", "valid-d2-g2", "same-d2-depthwise", "same-s3"])
def test_first_sum_equals_the_kernel(padding, strides, dilation, groups):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 5, 6, 4))
    k = rng.standard_normal((3, 3, 4 // groups, 4))
    b = rng.standard_normal(4)
    y = kernels.conv2d(x, k, bias=b, strides=strides, padding=padding, dilation_rate=dilation, groups=groups)
    pads = (conv_padding(5, 3, strides, padding, dilation), conv_padding(6, 3, strides, padding, dilation))
    terms, bias, total = first_sum(x[0], k, b, pads, (strides,) * 2, (dilation,) * 2, "channels_last", groups)
    assert total == pytest.approx(y[0, 0, 0, 0])
    assert len(terms) == 4 // groups
    channels_first = first_sum(np.moveaxis(x[0], -1, 0), k, b, pads, (strides,) * 2, (dilation,) * 2,
                               "channels_first", groups)[2]
    assert channels_first == pytest.approx(total)


def test_sum_text_writes_negative_terms_with_minus():
    assert sum_text([(2.0, 3.0, 6.0), (1.0, None, -0.5)], -1.0, 4.5) == "2*3 - 0.5 - 1 = 4.5"


def test_strided_same_with_odd_padding_shows_the_asymmetric_split_and_picture():
    result = run("explain", "Conv2D(4, 3, strides=2, padding='same')", "--input", "6x6x3")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "total = max((3-1)*2 + 3 - 6, 0) = 1" in text
    assert "before = 1 // 2 = 0, after = 1 - 0 = 1" in text
    assert "bottom/right" in text
    assert "Relationship 6" in text
    assert "  input   x x x x x x p" in text  # no padding before, one after
    assert "  out 0   # # # . . . ." in text
    assert "  out 2   . . . . # # #" in text
    assert "\x1b[" not in text  # plain when not a terminal


def test_explain_json_has_the_numbers():
    data = explain_json("Conv2D(4, 3, strides=2, padding='same')", "--input", "6x6x3")
    width = data["axes"][1]
    assert width["axis"] == "width"
    assert width["padding"] == {"before": 0, "after": 1, "total": 1}
    assert width["output"] == 3 and width["effective_kernel"] == 3
    assert [s["relationship"]["number"] for s in width["steps"] if s["relationship"]] == [6]
    assert data["channels"]["params"] == {"kernel": {"shape": [3, 3, 3, 4], "formula": "3*3*3*4", "count": 108},
                                          "bias": 4, "total": 112, "sum": "108 + 4 = 112"}
    assert data["output_shape"] == [None, 3, 3, 4]
    assert data["data_format"]["value"] == "channels_last" and data["data_format"]["source"] == "default"


def test_transposed_example():
    data = explain_json("Conv2DTranspose(2, 3, strides=2, padding='same')", "--input", "5x5x3")
    axis = data["axes"][0]
    assert axis["stretched_input"] == 9
    assert axis["padding"] == {"before": 2, "after": 1, "total": 3}
    assert axis["output"] == 10
    numbers = [s["relationship"]["number"] for s in axis["steps"] if s["relationship"]]
    assert numbers == [12, 14]
    assert data["channels"]["params"]["total"] == 3 * 3 * 2 * 3 + 2
    text = run("explain", "Conv2DTranspose(1, 3, strides=2)", "--input", "3x3x1").stdout
    assert "n' = 3 + (3-1)*(2-1) = 5" in text
    assert "  input   p p x z x z x p p" in text
    assert "out = 5 + 2 + 2 - 3 + 1 = 7" in text
    assert "Relationship 12" in text


def test_dilated_cites_relationship_15():
    data = explain_json("Conv2D(1, 3, dilation_rate=2)", "--input", "7x7x1")
    assert data["axes"][0]["output"] == 3
    assert 15 in [s["relationship"]["number"] for s in data["axes"][0]["steps"] if s["relationship"]]
    text = run("explain", "Conv2D(1, 3, dilation_rate=2)", "--input", "7x7x1").stdout
    assert "  out 0   # - # - # . ." in text


def test_large_inputs_get_a_sketch_with_the_padding_counts():
    text = run("explain", TRAP_SPEC, "--input", "64x64x3").stdout
    assert "3 padding + 64 input + 4 padding = 71 cells" in text
    assert "(3 padding before, 64 input, 4 padding after)" in text
    assert "reads cells 0..7 of the padded input (8 taps, 3 on padding)" in text


@pytest.mark.parametrize("shape,last,first", [
    ("1,32,32", "(None, 1, 32, 10) and 20,490 parameters", "(None, 10, 32, 32) and 650."),
    ("3x224x224", "(None, 3, 224, 10) and 143,370 parameters", "(None, 10, 224, 224) and 1,930."),
])
def test_trap_warning_on_stderr(shape, last, first):
    for command in (["shape"], ["explain"]):
        result = run(*command, "--input", shape, TRAP_SPEC)
        assert result.exit_code == 0, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
        assert len(lines) == 1, result.stderr
        assert last in lines[0] and first in lines[0]
        assert "--data-format channels_first" in lines[0]
        assert "Warning" not in result.stdout


def test_trap_warning_leaves_json_stdout_alone():
    result = run("shape", "--input", "1,32,32", TRAP_SPEC, "--format", "json")
    assert json.loads(result.stdout)["total_params"] == 20490
    assert "Warning: --input 1x32x32" in result.stderr


@pytest.mark.parametrize("args", [
    ["--input", "32x32x3"],
    ["--input", "1,32,32", "--data-format", "channels_first"],
    ["--input", "1,32,32", "--data-format", "channels_last"],  # chosen on purpose
])
def test_no_trap_warning(args):
    result = run("shape", *args, TRAP_SPEC)
    assert result.exit_code == 0 and "Warning" not in result.stderr


def test_seed_650_vs_20490_in_explain():
    last = explain_json(TRAP_SPEC, "--input", "1,32,32")
    first = explain_json(TRAP_SPEC, "--input", "1,32,32", "--data-format", "channels_first")
    assert last["channels"]["params"]["total"] == 20490
    assert first["channels"]["params"]["total"] == 650
    assert first["data_format"]["source"] == "--data-format"


def test_looks_swapped():
    assert looks_swapped((1, 32, 32), "channels_last")
    assert not looks_swapped((32, 32, 3), "channels_last")
    assert not looks_swapped((4, 16, 16), "channels_last")  # 16 < 8*4
    assert not looks_swapped((None, 32, 32), "channels_last")


def test_explain_a_layer_of_a_file(tmp_path):
    stack = tmp_path / "s.toml"
    stack.write_text('input = "8x8x3"\nlayers = ["Conv2D(4, 3)", "Conv2DTranspose(2, 3, strides=2)"]\n')
    data = explain_json("--file", stack, "--layer", "2")
    assert data["layer"]["type"] == "Conv2DTranspose"
    assert data["input_shape"] == [None, 6, 6, 4]
    assert run("explain", "--file", stack).exit_code == 2  # two layers: --layer is needed
    bad = run("explain", "--file", stack, "--layer", "3")
    assert bad.exit_code == 2 and "Error: --layer 3" in bad.stderr


@pytest.mark.parametrize("args,message", [
    (["MaxPooling2D()", "--input", "8x8x3"], "explain covers"),
    ([], "give one layer spec"),
    (["Conv2D(1, 9)", "--input", "3x3x1"], "Error:"),
])
def test_explain_errors(args, message):
    result = run("explain", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_no_trap_check_on_models_with_named_inputs():
    from dataclasses import replace

    from convcalc.request import ShapeRequest, compute_request
    from convcalc.traps import wrong_format_warning

    result = compute_request(ShapeRequest(layers=(TRAP_SPEC,), input=("1,32,32",)))[0]
    assert wrong_format_warning(result, lambda fmt: result) is not None
    named = replace(result, input_shape={"img": (None, 1, 32, 32)})
    assert wrong_format_warning(named, lambda fmt: named) is None


def test_no_trap_warning_for_model_configs_that_store_their_data_format(tmp_path):
    """A channels_first Keras config (3, 224, 224) states its format in every layer: nothing to warn about."""
    import gzip

    from golden_helpers import DATA

    path = tmp_path / "m.json"
    path.write_bytes(gzip.decompress((DATA / "applications" / "mobilenetv2_cf.json.gz").read_bytes()))
    result = run("shape", "--file", path, "--format", "json")
    assert result.exit_code == 0 and "Warning" not in result.stderr


def test_explain_a_layer_of_a_python_source():
    from golden_helpers import DATA

    result = run("explain", "--file", DATA / "pysources" / "mnist_convnet.py", "--layer", "conv2d_1")
    assert result.exit_code == 0 and "input (None, 13, 13, 32) -> output (None, 11, 11, 64)" in result.stdout
    several = run("explain", "--file", DATA / "pysources" / "dcgan.py", "--layer", "conv2d")
    assert several.exit_code == 2 and "builds several models" in several.stderr
