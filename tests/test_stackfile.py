"""Stack files: both forms, lines of every key, errors at FILE:LINE, and `convcalc shape --file`."""

import csv
import io
import json
import sys
import types
from pathlib import Path

import pytest

from conftest import run, run_json
from convcalc.errors import ConvcalcError
from convcalc.stack import compute_stack
from convcalc.stackfile import (
    StackFileError,
    compute_stack_file,
    load_file,
    locate,
    read_stack_file,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

TABLES = """\
# comment with a "quote" and a 'quote'
input = "16x16x3"

[[layers]]
spec = "Conv2D(8, 3, strides=2, padding='same')"
expect = "8x8x8"

[[layers]]
# the spec may come after a comment
spec = \"\"\"Conv2DTranspose(4, 3,
    strides=2, padding='same')\"\"\"
expect = [16, 16, 4]

[expect]
output = "16x16x4"
params = 516
max_params = 1000
"""

PLAIN = """\
input = [16, 16, 3]
layers = [
  "Conv2D(8, 3, strides=2, padding='same')",
  {spec = "Conv2DTranspose(4, 3, strides=2, padding='same')", expect = "16x16x4"},
]
expect.output = "16x16x4"
"""

JSON = """\
{
  "input": "16x16x3",
  "layers": [
    "Conv2D(8, 3, strides=2, padding='same')",
    {"spec": "Conv2DTranspose(4, 3, strides=2, padding='same')",
     "expect": "16x16x4"}
  ],
  "expect": {"output": [16, 16, 4], "params": 516}
}
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path) -> StackFileError:
    with pytest.raises(StackFileError) as caught:
        load_file(path)
    return caught.value


# ---------------------------------------------------------------- reading


def test_layers_as_tables_with_their_lines(tmp_path):
    stack = read_stack_file(write(tmp_path, "s.toml", TABLES))
    assert stack.input_shape == (16, 16, 3) and stack.input_line == 2 and stack.data_format is None
    assert [(e.line, e.expect, e.expect_line) for e in stack.layers] == [(5, (8, 8, 8), 6), (10, (16, 16, 4), 12)]
    assert stack.layers[1].spec.startswith("Conv2DTranspose(4, 3,\n")
    assert [(x.check, x.value, x.line) for x in stack.expectations] == [
        ("output", (16, 16, 4), 15), ("params", 516, 16), ("max_params", 1000, 17),
    ]


def test_plain_list_with_an_inline_table(tmp_path):
    stack = read_stack_file(write(tmp_path, "s.toml", PLAIN))
    assert stack.input_shape == (16, 16, 3)
    assert [(e.line, e.expect, e.expect_line) for e in stack.layers] == [(3, None, None), (4, (16, 16, 4), 4)]
    assert [(x.check, x.value, x.line) for x in stack.expectations] == [("output", (16, 16, 4), 6)]


def test_json_form(tmp_path):
    stack = read_stack_file(write(tmp_path, "s.json", JSON))
    assert [(e.line, e.expect, e.expect_line) for e in stack.layers] == [(4, None, None), (5, (16, 16, 4), 6)]
    assert [(x.check, x.value, x.line) for x in stack.expectations] == [("output", (16, 16, 4), 8), ("params", 516, 8)]


@pytest.mark.parametrize("name,text", [("s.toml", TABLES), ("s.toml", PLAIN), ("s.json", JSON)], ids=["tables", "plain", "json"])
def test_every_form_computes_the_same_stack(tmp_path, name, text):
    loaded = load_file(write(tmp_path, name, text))
    assert loaded.result.output_shape == (None, 16, 16, 4)
    assert loaded.result.total_params == (8 * 27 + 8) + (9 * 4 * 8 + 4) == 516


def test_the_examples_read():
    for path in sorted(EXAMPLES.glob("*.convcalc.*")):
        assert load_file(path).result.layers, path


def test_locate_survives_what_it_cannot_follow():
    # valid TOML the scanner does not follow (a datetime with a space): fewer lines known, never an error
    assert locate("a = 1979-05-27 07:32:00\nb = 1\n", "toml").line("b") in (1, 2)
    assert locate("{", "json").line("x") == 1


def test_dotted_keys_headers_and_quoted_keys_have_lines():
    where = locate('"input" = "8x8x3"\n[expect]\n\'output\' = "1"\nmax_params = 3\n', "toml")
    assert (where.line("input"), where.line("expect"), where.line("expect", "output"), where.line("expect", "max_params")) == (1, 2, 3, 4)


# ---------------------------------------------------------------- file errors, at their lines

BAD_FILES = [
    ("syntax.toml", 'input = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\n[expect]\noutput = 4x4x4\n', 4, "not valid TOML"),
    ("unclosed.toml", 'input = "8x8x3"\nlayers = ["Conv2D(4, 3)"\n', 2, "not valid TOML: Unclosed array"),
    ("bad.json", '{"input": "8x8x3",\n "layers": ["Conv2D(4, 3)",]\n}\n', 2, "not valid JSON"),
    ("unknown.toml", 'input = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\n\n[expect]\nmax_param = 10\n', 5,
     "unknown key 'max_param' in expect; did you mean 'max_params'?"),
    ("unknown_layer_key.toml", 'input = "8x8x3"\n[[layers]]\nspec = "Conv2D(4, 3)"\nexpected = "6x6x4"\n', 4,
     "unknown key 'expected' in layer entry 1; did you mean 'expect'?"),
    ("unknown_top.json", '{"input": "8x8x3",\n "layers": ["Conv2D(4, 3)"],\n "output": "6x6x4"}\n', 3, "unknown key 'output' at the top level"),
    ("input_type.toml", 'layers = ["Conv2D(4, 3)"]\ninput = 8\n', 2, "input must be a shape without the batch"),
    ("input_shape.toml", 'input = "8xx3"\nlayers = ["Conv2D(4, 3)"]\n', 1, "input '8xx3' is not a shape"),
    ("input_zero.json", '{"input": [8, 0, 3],\n "layers": ["Conv2D(4, 3)"]}\n', 1, "has a size below 1"),
    ("format.toml", 'input = "8x8x3"\ndata_format = "NHWC"\nlayers = ["Conv2D(4, 3)"]\n', 2, "data_format must be"),
    ("layers_type.toml", 'input = "8x8x3"\nlayers = "Conv2D(4, 3)"\n', 2, "layers must be a list"),
    ("layers_empty.toml", 'input = "8x8x3"\nlayers = []\n', 2, "layers is empty"),
    ("no_layers.toml", 'input = "8x8x3"\n', 1, "no layers"),
    ("spec_type.toml", 'input = "8x8x3"\n[[layers]]\nspec = 3\n', 3, "the spec of layer entry 1 must be a string"),
    ("no_spec.toml", 'input = "8x8x3"\n\n[[layers]]\nexpect = "6x6x4"\n', 3, "layer entry 1 has no spec"),
    ("entry_type.json", '{"input": "8x8x3",\n "layers": ["Conv2D(4, 3)",\n  7]}\n', 3, "layer entry 2 must be a spec string"),
    ("params.toml", 'input = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\n[expect]\nparams = -1\n', 4, "params must be a whole number"),
    ("params_float.json", '{"input": "8x8x3", "layers": ["Conv2D(4, 3)"],\n "expect": {"max_params": 1.5}}\n', 2, "max_params must be a whole number"),
    ("top_list.json", '["Conv2D(4, 3)"]\n', 1, "the top level must be a table"),
    ("no_input.toml", '\nlayers = ["Conv2D(4, 3)"]\n', 1, "no input shape"),
    ("spec_error.toml", 'input = "8x8x3"\n\n[[layers]]\nspec = "Conv2D(4, 3)"\n\n[[layers]]\nspec = "Conv2D(8, 9)"\n', 7,
     "layer 2 Conv2D(8, 9): the output size would be"),
    ("spec_syntax.toml", 'input = "8x8x3"\nlayers = [\n  "Conv2D(4, 3)",\n  "Conv2D(4, 3",\n]\n', 4, "layer 2 Conv2D(4, 3: the spec is not valid"),
    ("spec_error.json", '{\n  "input": "8x8x3",\n  "layers": [\n    "Conv2D(4, 3)",\n    "Conv2D(4, 3)",\n    "Conv2D(8, 9)"\n  ]\n}\n', 6,
     "layer 3 Conv2D(8, 9)"),
    ("after_input.toml", 'layers = [\n  "Input(shape=(8, 8, 3))",\n  "Conv2D(4, 3)",\n  "Conv2D(8, 9)",\n]\n', 4, "layer 2 Conv2D(8, 9)"),
    ("bad_input_call.toml", 'layers = [\n  "Input(shape=(8, 0, 3))",\n  "Conv2D(4, 3)",\n]\n', 2, "the input Input(shape=(8, 0, 3))"),
    ("twice.toml", 'input = "8x8x3"\nlayers = [\n  "Input(shape=(9, 9, 3))",\n  "Conv2D(4, 3)",\n]\n', 1, "the input shape is given twice"),
    ("names.toml", 'input = "8x8x3"\nlayers = [\n  "Conv2D(4, 1, name=\'a\')",\n  "Conv2D(4, 1, name=\'a\')",\n]\n', 4, "layer 2"),
]


@pytest.mark.parametrize("name,text,line,detail", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_errors_name_the_file_and_line(tmp_path, name, text, line, detail):
    path = write(tmp_path, name, text)
    error = error_of(path)
    assert (error.where.file, error.where.line) == (str(path), line), error.message
    assert detail in error.detail
    assert error.text == f"{path}:{line}: {error.detail}"
    assert isinstance(error, ConvcalcError) and error.exit_code == 2


def test_unreadable_files_have_no_line(tmp_path):
    missing = error_of(tmp_path / "missing.toml")
    assert (missing.where.line, missing.detail) == (None, "no such file.")
    assert missing.text == f"{tmp_path / 'missing.toml'}: no such file."
    assert "is a directory" in error_of(tmp_path).detail
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert "not UTF-8" in error_of(binary).detail


def test_input_may_come_from_the_first_spec(tmp_path):
    path = write(tmp_path, "s.toml", '[[layers]]\nspec = "Input(shape=(8, 8, 3))"\n[[layers]]\nspec = "Conv2D(4, 3)"\n')
    stack = read_stack_file(path)
    assert stack.input_shape is None
    assert compute_stack_file(stack).output_shape == (None, 6, 6, 4)
    first_layer = write(tmp_path, "t.toml", 'layers = ["Conv2D(4, 3, input_shape=(8, 8, 3))"]\n')
    assert load_file(first_layer).result.output_shape == (None, 6, 6, 4)


# ---------------------------------------------------------------- data format and overrides


def test_data_format_from_the_file_then_the_option(tmp_path):
    path = write(tmp_path, "s.toml", 'input = "3x8x8"\ndata_format = "channels_first"\nlayers = ["Conv2D(4, 3)"]\n')
    result = load_file(path).result
    assert result.output_shape == (None, 4, 6, 6)
    assert (result.data_format.value, result.data_format.source) == ("channels_first", str(path))
    overridden = load_file(path, "channels_last").result
    assert overridden.output_shape == (None, 1, 6, 4) and overridden.data_format.source == "--data-format"


def test_keras_json_applies_when_the_file_has_no_data_format(tmp_path, isolated_keras_home):
    (isolated_keras_home / "keras.json").write_text('{"image_data_format": "channels_first"}')
    path = write(tmp_path, "s.toml", 'input = "3x8x8"\nlayers = ["Conv2D(4, 3)"]\n')
    assert load_file(path).result.output_shape == (None, 4, 6, 6)


def test_input_and_batch_overrides(tmp_path):
    path = write(tmp_path, "s.toml", TABLES)
    result = load_file(path, input_shape=(32, 32, 3), batch=4).result
    assert result.input_shape == (4, 32, 32, 3) and result.output_shape == (4, 32, 32, 4)


# ---------------------------------------------------------------- model configs are routed, not read here


@pytest.fixture
def fake_model_config(monkeypatch):
    """A stand-in for convcalc.model_config, so routing is tested whatever state that module is in."""
    calls = []

    def compute_model_file(path, data_format, input_shapes=None, expand_nested=False, batch=None):
        calls.append((Path(path), data_format.value))
        if "bad" in str(path):
            raise ConvcalcError("layer 'x' (Foo): convcalc does not know the layer Foo.")
        return compute_stack(["Conv2D(4, 3)"], data_format, (8, 8, 3))

    module = types.ModuleType("convcalc.model_config")
    module.compute_model_file = compute_model_file
    monkeypatch.setitem(sys.modules, "convcalc.model_config", module)
    return calls


def test_model_configs_go_to_model_config(tmp_path, fake_model_config):
    config = write(tmp_path, "model.json", '{"class_name": "Sequential", "config": {}}')
    archive = write(tmp_path, "model.keras", "not read here")
    assert load_file(config).stack is None
    assert load_file(archive, "channels_first").result.total_params == 9 * 8 * 4 + 4  # 8x8x3 read as channels_first
    assert fake_model_config == [(config, "channels_last"), (archive, "channels_first")]
    load_file(config, batch=4)  # --batch fills the batch a config leaves open
    bad = write(tmp_path, "bad.json", '{"class_name": "Functional"}')
    assert error_of(bad).text == f"{bad}: layer 'x' (Foo): convcalc does not know the layer Foo."
    with pytest.raises(StackFileError, match="model config, not a stack file"):
        read_stack_file(config)


# ---------------------------------------------------------------- convcalc shape --file


def test_shape_file_json_equals_the_command_line(tmp_path):
    path = write(tmp_path, "s.toml", PLAIN)
    from_file = run_json("shape", "--file", path)
    from_args = run_json(
        "shape", "--input", "16x16x3", "Conv2D(8, 3, strides=2, padding='same')",
        "Conv2DTranspose(4, 3, strides=2, padding='same')",
    )
    lines = [row.pop("line") for row in from_file["layers"]]  # a file's rows also say where they are written
    assert lines == [3, 4] and all("line" not in row for row in from_args["layers"])
    assert from_file["layers"] == from_args["layers"]
    assert from_file["output_shape"] == [None, 16, 16, 4] and from_file["total_params"] == 516


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_shape_file_every_format(fmt):
    result = run("shape", "-f", EXAMPLES / "unet_down.convcalc.json", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert "conv2d_4" in result.stdout and "(None, 64, 32, 32)" in result.stdout
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert [row["data_format"] for row in rows] == ["channels_first"] * 5
    if fmt == "table":
        assert "channels_first (from " in result.stdout and "unet_down.convcalc.json" in result.stdout


def test_shape_file_options_override_the_file():
    data = run_json("shape", "-f", EXAMPLES / "autoencoder.convcalc.toml", "--input", "32x32x3", "--batch", "2")
    assert data["input_shape"] == [2, 32, 32, 3] and data["output_shape"] == [2, 32, 32, 3]
    data = run_json("shape", "-f", EXAMPLES / "unet_down.convcalc.json", "--data-format", "channels_last")
    assert data["data_format"] == "channels_last" and data["output_shape"] == [None, 1, 32, 64]


def test_shape_file_runs(tmp_path):
    result = run("shape", "-f", write(tmp_path, "s.toml", PLAIN), "--run", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["run"]["all_shapes_agree"] is True


def test_shape_file_and_layers_cannot_be_combined():
    result = run("shape", "-f", EXAMPLES / "autoencoder.convcalc.toml", "Conv2D(4, 3)")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("Error: give the layers either on the command line or in --file")


def test_shape_file_errors_name_file_and_line(tmp_path):
    name, text, line, detail = next(b for b in BAD_FILES if b[0] == "spec_error.toml")
    path = write(tmp_path, name, text)
    result = run("shape", "--file", path)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"Error: {path}:{line}: {detail}")
    missing = run("shape", "-f", tmp_path / "nope.toml")
    assert (missing.exit_code, missing.stderr) == (2, f"Error: {tmp_path / 'nope.toml'}: no such file.\n")


def test_errors_after_several_inputs_point_at_the_layer(tmp_path):
    path = tmp_path / "two.toml"
    path.write_text('layers = [\n  "Input(shape=(8, 8, 3))",\n  "Input(shape=(8, 8, 3))",\n  "Add()",\n  "Conv2D(4, 9)",\n]\n')
    result = run("shape", "--file", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}:5: layer 2 Conv2D(4, 9)")


@pytest.mark.parametrize("text,line", [
    ('input = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\njunk = [' + ",".join(["1"] * 200000) + "]\n", 3),
    ('junk.deep = 1\ninput = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\n', 1),
    ('"quoted key" = 1\ninput = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\n', 1),
])
def test_unknown_top_level_keys_are_named_before_parsing(tmp_path, text, line):
    error = error_of(write(tmp_path, "s.toml", text))
    assert error.where.line == line and "unknown key" in error.detail


@pytest.mark.parametrize("text", [
    'layers = [\n  "Conv2D(4, 3)",\n]\ninput = "8x8x3"\n',  # keys after a multi-line array
    'input = "8x8x3" # junk = 1\nlayers = ["Conv2D(4, 3)"]\n',  # a comment
    'input = "8x8x3"\nlayers = [\n  { spec = "Conv2D(4, 3)" },\n]\n',  # inline tables in an array
    'input = "8x8x3"\n[[layers]]\nspec = "Conv2D(4, 3)"\nexpect = "6x6x4"\n',  # keys of a table
])
def test_the_prescan_leaves_valid_files_alone(tmp_path, text):
    assert load_file(write(tmp_path, "s.toml", text)).result.output_shape == (None, 6, 6, 4)


def test_toml_stack_files_have_a_size_limit(tmp_path, monkeypatch):
    import convcalc.stackfile as stackfile

    monkeypatch.setattr(stackfile, "TOML_LIMIT", 100)
    error = error_of(write(tmp_path, "s.toml", 'input = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\n' + "#" * 200 + "\n"))
    assert "up to 100 bytes" in error.detail
