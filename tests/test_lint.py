"""`convcalc lint`: expectations, FILE:LINE, exit codes, the three formats, and the pre-commit hook."""

import dataclasses
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run
from convcalc.lint import LintFlags, escape_data, escape_property, lint_file, lint_files, to_github, to_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
AUTOENCODER = EXAMPLES / "autoencoder.convcalc.toml"
UNET = EXAMPLES / "unet_down.convcalc.json"
BROKEN = EXAMPLES / "broken.convcalc.toml"

STACK = """\
input = "16x16x3"

[[layers]]
spec = "Conv2D(8, 3, strides=2, padding='same')"
expect = "8x8x8"

[[layers]]
spec = "Conv2DTranspose(4, 3, strides=2, padding='same')"
expect = "16x16x4"

[expect]
output = "16x16x4"
params = 516
max_params = 1000
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def wrong(text, old, new):
    assert old in text
    return text.replace(old, new)


# ---------------------------------------------------------------- passing and failing


def test_the_passing_examples_exit_0():
    result = run("lint", AUTOENCODER, UNET)
    assert result.exit_code == 0, result.stdout
    assert result.stdout == "2 files checked, 0 failed, 0 expectations failed\n"


def test_a_wrong_layer_expectation_names_file_line_layer_and_both_shapes():
    result = run("lint", BROKEN)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{BROKEN}:11: layer 2 conv2d_1 (Conv2D): expected output 16x16x32, got 32x32x32",
        f"{BROKEN}:20: expected output 64x64x3, got 128x128x3",
        "1 file checked, 1 failed, 2 expectations failed",
    ]


@pytest.mark.parametrize(
    "old,new,expected",
    [
        ('expect = "8x8x8"', 'expect = "8x8x16"', ":5: layer 1 conv2d (Conv2D): expected output 8x8x16, got 8x8x8"),
        ('expect = "16x16x4"', 'expect = [16, 16]', ":9: layer 2 conv2d_transpose (Conv2DTranspose): expected output 16x16, got 16x16x4"),
        ('output = "16x16x4"', 'output = "16x16x3"', ":12: expected output 16x16x3, got 16x16x4"),
        ("params = 516", "params = 515", ":13: expected params 515, got 516"),
        ("max_params = 1000", "max_params = 500", ":14: expected at most 500 params (expect.max_params), got 516"),
    ],
    ids=["layer", "layer-rank", "output", "params", "max_params"],
)
def test_each_kind_of_expectation_fails_at_its_line(tmp_path, old, new, expected):
    path = write(tmp_path, "s.toml", wrong(STACK, old, new))
    result = run("lint", path)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"{path}{expected}"
    assert result.stdout.splitlines()[1] == "1 file checked, 1 failed, 1 expectation failed"


def test_json_and_plain_list_forms_fail_at_their_lines(tmp_path):
    plain = write(tmp_path, "plain.toml", 'input = "8x8x3"\nlayers = [\n  "Conv2D(4, 3)",\n  {spec = "Conv2D(2, 3)", expect = "5x5x2"},\n]\n')
    as_json = write(
        tmp_path, "s.json",
        '{\n  "input": [8, 8, 3],\n  "layers": [\n    {"spec": "Conv2D(4, 3)",\n     "expect": "6x6x5"},\n    "Conv2D(2, 3)"\n  ],\n'
        '  "expect": {\n    "params": 7\n  }\n}\n',
    )
    result = run("lint", plain, as_json)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{plain}:4: layer 2 conv2d_1 (Conv2D): expected output 5x5x2, got 4x4x2",
        f"{as_json}:5: layer 1 conv2d (Conv2D): expected output 6x6x5, got 6x6x4",
        f"{as_json}:9: expected params 7, got 186",
        "2 files checked, 2 failed, 3 expectations failed",
    ]


def test_an_input_spec_does_not_shift_the_layers(tmp_path):
    path = write(tmp_path, "s.toml", '[[layers]]\nspec = "Input(shape=(8, 8, 3))"\nexpect = "8x8x3"\n\n'
                 '[[layers]]\nspec = "Conv2D(4, 3)"\nexpect = "6x6x5"\n')
    result = run("lint", path)
    assert result.stdout.splitlines()[0] == f"{path}:7: layer 1 conv2d (Conv2D): expected output 6x6x5, got 6x6x4"


def test_several_files_one_failing_exit_1():
    result = run("lint", AUTOENCODER, BROKEN, UNET)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert all(line.startswith(f"{BROKEN}:") for line in lines[:-1]) and len(lines) == 3
    assert lines[-1] == "3 files checked, 1 failed, 2 expectations failed"


# ---------------------------------------------------------------- flags


def test_flags_apply_to_every_file_at_the_input_line(tmp_path):
    no_input = write(tmp_path, "n.toml", '\nlayers = ["Input(shape=(8, 8, 3))", "Conv2D(4, 3)"]\n')
    result = run("lint", "--expect-output", "64x64x3", "--params", "10147", "--max-params", "20000", AUTOENCODER, UNET, no_input)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{UNET}:2: expected output 64x64x3 (--expect-output), got 64x32x32",
        f"{UNET}:2: expected params 10147 (--params), got 34864",
        f"{UNET}:2: expected at most 20000 params (--max-params), got 34864",
        f"{no_input}:1: expected output 64x64x3 (--expect-output), got 6x6x4",
        f"{no_input}:1: expected params 10147 (--params), got 112",
        "3 files checked, 2 failed, 5 expectations failed",
    ]
    result = run("lint", "--max-params", "30000", AUTOENCODER, UNET)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"{UNET}:2: expected at most 30000 params (--max-params), got 34864"
    assert run("lint", "--max-params", "34864", "--expect-output", "64,32,32", UNET).exit_code == 0


def test_data_format_flag_overrides_the_files():
    result = run("lint", "--data-format", "channels_last", UNET)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == f"{UNET}:5: layer 1 conv2d (Conv2D): expected output 16x128x128, got 1x128x16"


@pytest.mark.parametrize("args", [["--expect-output", "big"], ["--params", "-1"], ["--format", "xml"]], ids=["shape", "params", "format"])
def test_bad_flags_exit_2(args):
    result = run("lint", *args, AUTOENCODER)
    assert result.exit_code == 2 and "Traceback" not in result.stderr


def test_files_are_required():
    assert run("lint").exit_code == 2


# ---------------------------------------------------------------- files that cannot be checked


BAD = {
    "missing.toml": None,
    "syntax.toml": 'input = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\n[expect]\noutput = 4x4x4\n',
    "bad.json": '{"input": "8x8x3",\n "layers": ["Conv2D(4, 3)",]\n}\n',
    "unknown.toml": 'input = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\nlayer = "Conv2D(4, 3)"\n',
    "spec.toml": 'input = "8x8x3"\n[[layers]]\nspec = "Conv2D(4, 3)"\n[[layers]]\nspec = "Conv2D(8, 9)"\n',
}
BAD_LINES = {
    "missing.toml": "missing.toml: error: no such file.",
    "syntax.toml": "syntax.toml:4: error: not valid TOML: Expected newline or end of document after a statement (column 11).",
    "bad.json": "bad.json:2: error: not valid JSON: Expecting value (column 28).",
    "unknown.toml": "unknown.toml:3: error: unknown key 'layer' at the top level; did you mean 'layers'? the keys are input, data_format, layers, expect.",
    "spec.toml": "spec.toml:5: error: layer 2 Conv2D(8, 9): the output size would be",
}


def bad_files(tmp_path):
    paths = []
    for name, text in BAD.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        paths.append(path)
    return paths


def test_bad_files_exit_2_and_the_others_are_still_checked(tmp_path):
    result = run("lint", AUTOENCODER, *bad_files(tmp_path), BROKEN, UNET)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for line, (name, expected) in zip(lines, BAD_LINES.items()):
        assert line.startswith(f"{tmp_path}/{expected}"), line
    assert lines[5:7] == [
        f"{BROKEN}:11: layer 2 conv2d_1 (Conv2D): expected output 16x16x32, got 32x32x32",
        f"{BROKEN}:20: expected output 64x64x3, got 128x128x3",
    ]
    assert lines[-1] == "8 files checked, 6 failed, 2 expectations failed, 5 files with errors"


@pytest.mark.parametrize("name", list(BAD), ids=list(BAD))
def test_each_bad_file_alone_exits_2(tmp_path, name):
    path = bad_files(tmp_path)[list(BAD).index(name)]
    result = run("lint", path)
    assert result.exit_code == 2 and result.stdout.startswith(f"{tmp_path}/{BAD_LINES[name]}")


# ---------------------------------------------------------------- formats


def test_github_annotations(tmp_path):
    result = run("lint", "--format", "github", BROKEN, tmp_path / "missing.toml")
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        f"::error file={BROKEN},line=11::layer 2 conv2d_1 (Conv2D): expected output 16x16x32, got 32x32x32",
        f"::error file={BROKEN},line=20::expected output 64x64x3, got 128x128x3",
        f"::error file={tmp_path}/missing.toml::error: no such file.",
        "2 files checked, 2 failed, 2 expectations failed, 1 file with errors",
    ]


def test_github_escaping(tmp_path):
    assert escape_data("100%\r\nsure") == "100%25%0D%0Asure"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    path = write(tmp_path, "odd,name:1.toml", 'input = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\n[expect]\nmax_params = 100\n')
    text = to_github(lint_files([path]))
    assert text.splitlines()[0] == f"::error file={escape_property(str(path))},line=4::expected at most 100 params (expect.max_params), got 112"
    assert "%2C" in text and "%3A1.toml" in text
    multiline = write(tmp_path, "m.toml", 'input = "8x8x3"\nlayers = ["""Conv2D(4,\n  9)"""]\n')
    annotation = to_github(lint_files([multiline])).splitlines()[0]
    assert annotation.startswith(f"::error file={multiline},line=2::error: layer 1 Conv2D(4,%0A  9)")


def test_json_report_keys(tmp_path):
    result = run("lint", "--format", "json", AUTOENCODER, BROKEN, tmp_path / "missing.toml")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert set(data) == {"files", "checked", "failed", "failures", "errors", "exit_code"}
    assert (data["checked"], data["failed"], data["failures"], data["errors"], data["exit_code"]) == (3, 2, 2, 1, 2)
    passed, broken, missing = data["files"]
    assert set(passed) == {"file", "ok", "error", "error_line", "failures", "notes"}
    assert passed == {"file": str(AUTOENCODER), "ok": True, "error": None, "error_line": None, "failures": [], "notes": []}
    assert broken["failures"][0] == {
        "line": 11,
        "layer": {"index": 2, "name": "conv2d_1", "type": "Conv2D"},
        "check": "output",
        "source": "expect",
        "expected": [16, 16, 32],
        "actual": [32, 32, 32],
        "message": "layer 2 conv2d_1 (Conv2D): expected output 16x16x32, got 32x32x32",
    }
    assert broken["failures"][1]["layer"] is None and broken["failures"][1]["line"] == 20
    assert missing == {"file": str(tmp_path / "missing.toml"), "ok": False, "error": "no such file.", "error_line": None, "failures": [], "notes": []}


def test_json_params_are_numbers():
    data = json.loads(run("lint", "--format", "json", "--params", "1", UNET).stdout)
    failure = data["files"][0]["failures"][0]
    assert (failure["check"], failure["expected"], failure["actual"], failure["source"]) == ("params", 1, 34864, "--params")


# ---------------------------------------------------------------- the library


def test_results_are_frozen_data_and_rendering_is_separate(tmp_path):
    report = lint_files([BROKEN, AUTOENCODER], LintFlags(max_params=20000))
    assert (report.checked, report.failed, report.failures, int(report.exit_code)) == (2, 1, 2, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.files[0].failures[0].line = 1
    assert to_text(report).endswith("2 files checked, 1 failed, 2 expectations failed\n")
    assert lint_file(tmp_path / "none.toml").error == "no such file."


# ---------------------------------------------------------------- the pre-commit hook


def read_hooks(text: str) -> list[dict]:
    """The few YAML forms .pre-commit-hooks.yaml uses: a list of flat mappings of scalars."""
    hooks = []
    for raw in text.splitlines():
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        if line.startswith("- "):
            hooks.append({})
            line = line[2:]
        key, _, value = line.strip().partition(":")
        value = value.strip()
        if value[:1] in "'\"":
            value = value[1:-1].replace("''", "'") if value[0] == "'" else json.loads(value)
        elif value in ("true", "false"):
            value = value == "true"
        hooks[-1][key] = value
    return hooks


def test_pre_commit_hook_definition():
    hooks = read_hooks((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [hook["id"] for hook in hooks] == ["convcalc-lint"]
    hook = hooks[0]
    assert hook["entry"] == "convcalc lint" and hook["language"] == "python" and hook["pass_filenames"] is True
    assert hook["name"] and hook["description"]
    files = re.compile(hook["files"])
    examples = sorted(str(p.relative_to(ROOT)) for p in EXAMPLES.iterdir())
    assert [name for name in examples if files.search(name)] == [
        "examples/autoencoder.convcalc.toml", "examples/broken.convcalc.toml", "examples/unet_down.convcalc.json",
    ]
    for other in ("pyproject.toml", "model.json", "x.convcalc.toml.bak", "tests/data/golden_shapes.json"):
        assert not files.search(other), other


def hook_command(entry: str) -> list[str]:
    """The hook's entry as pre-commit runs it: the installed console script, else python -m convcalc."""
    program, *args = shlex.split(entry)
    script = shutil.which(program, path=str(Path(sys.executable).parent))
    return ([script] if script else [sys.executable, "-m", "convcalc"]) + args


def test_pre_commit_hook_runs_lint_on_the_files_it_matches():
    hook = read_hooks((ROOT / ".pre-commit-hooks.yaml").read_text())[0]
    files = re.compile(hook["files"])
    matched = [str(p.relative_to(ROOT)) for p in sorted(EXAMPLES.iterdir()) if files.search(str(p.relative_to(ROOT)))]
    passing = [name for name in matched if "broken" not in name]
    command = hook_command(hook["entry"])
    ok = subprocess.run(command + passing, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip() == f"{len(passing)} files checked, 0 failed, 0 expectations failed"
    failing = subprocess.run(command + matched, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "examples/broken.convcalc.toml:11: layer 2 conv2d_1 (Conv2D)" in failing.stdout
