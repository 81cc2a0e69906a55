"""`convcalc shape` through the CLI: seed examples, formats, data formats, names, spellings."""

import csv
import io
import json
import subprocess
import sys

import pytest

from conftest import run, run_json

SEED_INPUT = ["--input", "1,32,32"]
SEED_LAYER_KERAS1 = (
    "Convolution2D(nb_filter=10, nb_row=8, nb_col=8, subsample=(1, 1), border_mode='same', activation='relu')"
)


def test_rgb_3x3_through_2x2_kernel_has_13_params():
    out = run_json("shape", "--input", "3x3x3", "Conv2D(1, 2)")
    assert out["output_shape"] == [None, 2, 2, 1]
    assert out["total_params"] == 13
    assert out["layers"][0]["kernel_shape"] == [2, 2, 3, 1]


@pytest.mark.parametrize("spec", ["Conv2D(10, 8, padding='same')", SEED_LAYER_KERAS1], ids=["keras3", "keras1"])
def test_seed_32xN_is_channels_last(spec):
    out = run_json("shape", *SEED_INPUT, spec)
    assert out["output_shape"] == [None, 1, 32, 10]
    assert out["total_params"] == 20490
    assert out["data_format"] == "channels_last"


def test_seed_channels_first_option():
    out = run_json("shape", *SEED_INPUT, "--data-format", "channels_first", "Conv2D(10, 8, padding='same')")
    assert out["output_shape"] == [None, 10, 32, 32]
    assert out["total_params"] == 650
    assert out["data_format_source"] == "--data-format"


def test_seed_channels_first_by_keras1_dim_ordering():
    spec = "Convolution2D(nb_filter=10, nb_row=8, nb_col=8, border_mode='same', dim_ordering='th')"
    out = run_json("shape", *SEED_INPUT, spec)
    assert out["output_shape"] == [None, 10, 32, 32]
    assert out["total_params"] == 650


def test_spec_json_example_exactly():
    out = run_json("shape", "--input", "32x32x3", "Conv2D(10, 8, padding='same')")
    expected = {
        "data_format": "channels_last",
        "input_shape": [None, 32, 32, 3],
        "output_shape": [None, 32, 32, 10],
        "total_params": 1930,
    }
    assert {k: out[k] for k in expected} == expected
    layer = out["layers"][0]
    assert layer["name"] == "conv2d" and layer["type"] == "Conv2D"
    assert layer["spec"] == "Conv2D(10, 8, padding='same')"
    assert layer["padding"] == {"top": 3, "bottom": 4, "left": 3, "right": 4}
    assert layer["kernel_shape"] == [8, 8, 3, 10] and layer["params"] == 1930


def test_keras_json_sets_default_data_format(isolated_keras_home):
    (isolated_keras_home / "keras.json").write_text(json.dumps({"image_data_format": "channels_first"}))
    out = run_json("shape", *SEED_INPUT, "Conv2D(10, 8, padding='same')")
    assert out["output_shape"] == [None, 10, 32, 32]
    assert out["data_format_source"].endswith("keras.json")
    # the command line wins over keras.json, and the layer's own argument over both
    out = run_json("shape", *SEED_INPUT, "--data-format", "channels_last", "Conv2D(10, 8, padding='same')")
    assert out["output_shape"] == [None, 1, 32, 10]
    out = run_json("shape", *SEED_INPUT, "Conv2D(10, 8, padding='same', data_format='channels_last')")
    assert out["output_shape"] == [None, 1, 32, 10]
    assert out["data_format_source"] == "layer"


def test_malformed_keras_json_is_ignored_like_keras(isolated_keras_home):
    (isolated_keras_home / "keras.json").write_text("{not json")
    out = run_json("shape", "--input", "8x8x3", "Conv2D(4, 3)")
    assert out["data_format_source"] == "default"


@pytest.mark.parametrize("shape", ["32x32x3", "32,32,3", "(32, 32, 3)", "[32, 32, 3]", "32X32X3"])
def test_input_shape_spellings(shape):
    assert run_json("shape", "--input", shape, "Conv2D(4, 3)")["input_shape"] == [None, 32, 32, 3]


def test_input_from_input_call_and_input_shape_argument():
    a = run_json("shape", "Input(shape=(32, 32, 3))", "Conv2D(4, 3)")
    b = run_json("shape", "Conv2D(4, 3, input_shape=(32, 32, 3))")
    c = run_json("shape", "keras.Input((32, 32, 3), batch_size=8)", "Conv2D(4, 3)")
    assert a["output_shape"] == b["output_shape"] == [None, 30, 30, 4]
    assert c["output_shape"] == [8, 30, 30, 4]
    assert len(a["layers"]) == 1


def test_batch_option_fills_the_batch_axis():
    out = run_json("shape", "--input", "8x8x3", "--batch", "16", "Conv2D(4, 3)")
    assert out["input_shape"][0] == 16 and out["layers"][0]["output_shape"] == [16, 6, 6, 4]


def test_default_names_and_given_names():
    out = run_json(
        "shape", "--input", "32x32x3",
        "Conv2D(8, 3)", "Conv2DTranspose(8, 3)", "Conv2D(8, 3, name='mine')", "Conv2D(8, 3)", "Conv2DTranspose(4, 3)",
    )
    assert [layer["name"] for layer in out["layers"]] == [
        "conv2d", "conv2d_transpose", "mine", "conv2d_1", "conv2d_transpose_1"
    ]


@pytest.mark.parametrize(
    "spec",
    [
        "keras.layers.Conv2D(8, (3, 3), strides=(2, 2))",
        "layers.Conv2D(8, [3, 3], 2)",
        "tf.keras.layers.Conv2D(filters=8, kernel_size=3, strides=2)",
        "Conv2D(8, 3, 2, 'VALID')",
        "Convolution2D(8, 3, 3, subsample=(2, 2))",
        "Conv2D(8, 3, strides=2)(x)",
    ],
)
def test_equivalent_spellings(spec):
    out = run_json("shape", "--input", "9x9x3", spec)
    assert out["output_shape"] == [None, 4, 4, 8]
    assert out["total_params"] == 3 * 3 * 3 * 8 + 8


def test_transpose_padding_is_equivalent_direct_convolution():
    out = run_json("shape", "--input", "4x4x128", "Conv2DTranspose(64, 4, strides=2, padding='same')")
    layer = out["layers"][0]
    assert layer["output_shape"] == [None, 8, 8, 64]
    assert layer["kernel_shape"] == [4, 4, 64, 128]
    assert layer["params"] == 4 * 4 * 64 * 128 + 64
    assert layer["padding"] == {"top": 2, "bottom": 2, "left": 2, "right": 2}


def test_trainable_false_and_lora_split_params():
    out = run_json("shape", "--input", "8x8x16", "Conv2D(32, 3, trainable=False)", "Conv2D(32, 3, lora_rank=4)")
    assert out["layers"][0]["trainable_params"] == 0
    assert out["layers"][0]["non_trainable_params"] == 3 * 3 * 16 * 32 + 32
    assert out["layers"][1]["non_trainable_params"] == 3 * 3 * 32 * 32
    assert out["non_trainable_params"] == out["total_params"] - out["trainable_params"]


def test_csv_and_markdown():
    args = ["shape", "--input", "32x32x3", "Conv2D(10, 8, padding='same')", "Conv2DTranspose(3, 3, strides=2)"]
    rows = list(csv.DictReader(io.StringIO(run(*args, "--format", "csv").stdout)))
    assert [r["name"] for r in rows] == ["conv2d", "conv2d_transpose"]
    assert rows[0]["pad_bottom"] == "4" and rows[1]["output_shape"] == "(None, 65, 65, 3)"
    md = run(*args, "--format", "markdown").stdout
    assert md.splitlines()[0].startswith("| Layer (type)")
    assert "| `conv2d_transpose` (Conv2DTranspose) | (None, 32, 32, 10) | (None, 65, 65, 3) |" in md
    assert "Total params: 2,203 (8.61 KB)" in md


def test_table_shows_rows_and_keras_style_totals():
    result = run("shape", "--input", "32x32x3", "Conv2D(10, 8, padding='same')")
    assert result.exit_code == 0
    assert "conv2d (Conv2D)" in result.stdout
    assert "(None, 32, 32, 10)" in result.stdout
    assert "Total params: 1,930 (7.54 KB)" in result.stdout
    assert "channels_last" in result.stdout


def test_python_dash_m_and_no_numpy_on_shape_path():
    code = (
        "import sys, runpy; sys.argv = ['convcalc', 'shape', '--input', '8x8x3', 'Conv2D(4, 3)', '--format', 'json'];"
        "import convcalc.cli as c\n"
        "try:\n    c.app(prog_name='convcalc')\nexcept SystemExit:\n    pass\n"
        "print('numpy' in sys.modules, 'rich' in sys.modules, file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout)["output_shape"] == [None, 6, 6, 4]
    assert proc.stderr.strip() == "False False"
    proc = subprocess.run(
        [sys.executable, "-m", "convcalc", "shape", "-i", "8x8x3", "Conv2D(4, 3)", "--format", "json"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)["total_params"] == 112


def test_many_layers():
    specs = ["Conv2D(4, 3, padding='same')"] * 500
    out = run_json("shape", "--input", "16x16x4", *specs)
    assert len(out["layers"]) == 500 and out["layers"][-1]["name"] == "conv2d_499"
    assert out["total_params"] == 500 * (3 * 3 * 4 * 4 + 4)


def test_layer_family_table_matches_the_modules():
    import importlib

    from convcalc.layers import FAMILIES

    for family, names in FAMILIES.items():
        module = importlib.import_module(f"convcalc.{family}")
        assert sorted(names) == sorted(cls.type_name for cls in module.LAYERS), family


def test_a_conv_stack_imports_only_the_convolution_family():
    code = (
        "import sys\nfrom convcalc.cli import app\n"
        "try:\n    app(['shape', '-i', '8x8x3', 'Conv2D(4, 3)', '--format', 'json'], prog_name='convcalc')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('convcalc.')), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = proc.stderr
    assert "convcalc.convolution" in loaded
    for family in ("pooling", "reshaping", "normalization", "core_layers", "merging", "kernels", "render_table"):
        assert f"convcalc.{family}'" not in loaded


@pytest.mark.parametrize("args,words", [
    (["shape", "--bogus"], "No such option: --bogus"),
    (["shape", "--batch", "0", "-i", "8x8x3", "Conv2D(2, 3)"], "'--batch'"),
    (["shape", "--format", "xml", "Conv2D(2, 3)"], "'--format'"),
    (["lint"], "Missing argument"),
    (["nonsense"], "No such command"),
])
def test_usage_mistakes_are_one_error_sentence(capsys, args, words):
    """The console script says a usage mistake like any bad input: one 'Error:' sentence, exit 2."""
    from convcalc.cli import run as console_script

    with pytest.raises(SystemExit) as exited:
        console_script(args)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.startswith("Error: ") and words in err and "Usage:" not in err
    assert err.count("\n") == 1
