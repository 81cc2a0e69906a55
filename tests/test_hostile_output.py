"""Issue 9, output side: hostile names and huge numbers in every format, lint that keeps going,
closed/broken/full standard streams, and 10k-layer stacks in every format.

Every case ends with its documented exit code (SPEC 6), no traceback, and no raw control
character in stdout.  Stream cases run real subprocesses, all started at once (one fixture).
"""

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run
from convcalc import cli, lint, render
from convcalc.config import DataFormat
from convcalc.result import LayerRow, StackResult

ROOT = Path(__file__).resolve().parent.parent

# every class of character that can end a line, move the cursor, start an escape sequence or
# reorder text: C0, DEL, C1 (NEL, CSI), Unicode line/paragraph separators, bidi controls
CONTROLS = {
    "nul": "\x00", "bel": "\x07", "backspace": "\x08", "tab": "\t", "lf": "\n", "vt": "\x0b", "ff": "\x0c",
    "cr": "\r", "esc-csi": "\x1b[31m", "esc-osc": "\x1b]0;title\x07", "us": "\x1f", "del": "\x7f",
    "c1-pad": "\x80", "nel": "\x85", "c1-csi": "\x9b", "ls": "\u2028", "ps": "\u2029", "rlo": "\u202e",
    "lri": "\u2066", "rlm": "\u200f", "alm": "\u061c",
}
FORBIDDEN = set("".join(CONTROLS.values())) - {"[", "3", "1", "m", "]", "0", ";", "t", "i", "l", "e"}
SHAPE_FORMATS = ["table", "json", "csv", "markdown"]
LINT_FORMATS = ["text", "json", "github"]


def loads(text: str):
    """json.loads, with ints of any length (str() refuses more than 4300 digits)."""
    from decimal import Decimal

    return json.loads(text, parse_int=lambda digits: int(Decimal(digits)))


def clean(text: str) -> bool:
    """No control character but the newlines that end lines."""
    return not (set(text) & FORBIDDEN - {"\n"})


def spec_literal(text: str) -> str:
    """A Python string literal of ``text`` (escapes for control characters), for name=... in a spec."""
    return repr(text)


# ---------------------------------------------------------------- control characters and markup


@pytest.mark.parametrize("output_format", SHAPE_FORMATS)
@pytest.mark.parametrize("kind", list(CONTROLS))
def test_control_characters_in_names_never_reach_shape_output(kind, output_format):
    name = f"x{CONTROLS[kind]}::error file=evil.py,line=1::injected"
    result = run("shape", "-i", "8x8x3", f"Conv2D(4, 3, name={spec_literal(name)})", "Conv2D(2, 1)", "--format", output_format)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    assert clean(result.stdout)
    if result.exit_code == 0 and output_format == "json":
        assert json.loads(result.stdout)["layers"][0]["name"] == name  # JSON escapes, and keeps the name exact
    if result.exit_code == 0 and output_format != "json":
        assert not any(line.startswith("::") for line in result.stdout.splitlines())
    if result.exit_code == 2:
        assert clean(result.stderr)


@pytest.mark.parametrize("output_format", ["table", "csv", "markdown"])
@pytest.mark.parametrize("kind", ["lf", "cr", "esc-csi", "nel", "ls", "rlo"])
def test_rows_stay_one_line_each(kind, output_format):
    name = f"a{CONTROLS[kind]}b"
    result = run("shape", "-i", "8x8x3", f"Conv2D(4, 3, name={spec_literal(name)})", "--format", output_format)
    if result.exit_code == 2:
        return  # refusing the name is allowed too
    plain = run("shape", "-i", "8x8x3", "Conv2D(4, 3, name='ab')", "--format", output_format)
    assert len(result.stdout.splitlines()) == len(plain.stdout.splitlines())


@pytest.mark.parametrize("output_format", LINT_FORMATS)
@pytest.mark.parametrize("kind", list(CONTROLS))
def test_control_characters_in_names_never_reach_lint_output(tmp_path, kind, output_format):
    name = f"x{CONTROLS[kind]}::error file=evil.py,line=1::injected"
    spec = f"Conv2D(4, 3, name={spec_literal(name)})"
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"input": "8x8x3", "layers": [{"spec": spec, "expect": "9x9x9"}]}))
    result = run("lint", path, "--format", output_format)
    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.output
    assert clean(result.stdout)
    lines = result.stdout.splitlines()
    if output_format == "github":
        assert sum(line.startswith("::") for line in lines) == 1
        assert all("%0A" not in line.split("::", 2)[1] for line in lines if line.startswith("::"))
    elif output_format == "text":
        assert len(lines) == 2 and not any(line.startswith("::") for line in lines)
    else:
        report = json.loads(result.stdout)
        if result.exit_code == 1:
            assert report["files"][0]["failures"][0]["layer"]["name"] == name


@pytest.mark.parametrize("output_format", LINT_FORMATS)
@pytest.mark.parametrize("kind", ["lf", "cr", "esc-csi", "nel", "ls", "rlo", "tab", "nul-free-percent"])
def test_control_characters_in_file_names_in_lint(tmp_path, kind, output_format):
    char = CONTROLS.get(kind, "%")
    path = tmp_path / f"evil{char}::error file=x.py,line=1::injected,%0A.toml"
    path.write_text('input = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\n[expect]\noutput = "1x1x1"\n')
    result = run("lint", path, "--format", output_format)
    assert result.exit_code == 1, result.output
    assert clean(result.stdout)
    lines = result.stdout.splitlines()
    if output_format == "github":
        annotations = [line for line in lines if line.startswith("::")]
        assert len(annotations) == 1
        properties = annotations[0].split("::")[1]
        assert properties.startswith("error file=") and properties.count(",") == 1  # only ",line="
        assert "%25" in annotations[0] and "%3A" in properties and "%2C" in properties
    elif output_format == "json":
        assert json.loads(result.stdout)["files"][0]["file"] == str(path)
    else:
        assert len(lines) == 2


@pytest.mark.parametrize(
    "text, expected",
    [("50%", "50%25"), ("a\nb", "a%0Ab"), ("a\rb", "a%0Db"), ("a\r\nb", "a%0D%0Ab"), ("%0A", "%250A"),
     ("\x1b[2J", "\\x1b[2J"), ("a\u2028b", "a\\u2028b"), ("\x00", "\\x00")],
    ids=["percent", "lf", "cr", "crlf", "pre-escaped", "esc", "ls", "nul"],
)
def test_github_data_escaping(text, expected):
    assert lint.escape_data(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [("a:b", "a%3Ab"), ("a,b", "a%2Cb"), ("a%b", "a%25b"), ("a\nb", "a%0Ab"), ("x,line=1::y", "x%2Cline=1%3A%3Ay")],
    ids=["colon", "comma", "percent", "lf", "injection"],
)
def test_github_property_escaping(text, expected):
    assert lint.escape_property(text) == expected


MARKUP = ["[bold red]boom", "[/bold]", "[/]", "[link=https://evil.example]click[/link]", ":smile:", "\\[x]",
          "[red", "]", "[[b]]", "[@click=app.bell]x[/]", "[on red] [/on red]", "x[/bold red]"]


@pytest.mark.parametrize("output_format", ["table", "markdown", "csv"])
@pytest.mark.parametrize("name", MARKUP)
def test_names_are_text_never_markup(name, output_format):
    result = run("shape", "-i", "8x8x3", f"Conv2D(4, 3, name={spec_literal(name)})", "--format", output_format)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        assert name in result.stdout
        assert "\x1b" not in result.stdout


def test_markdown_code_span_survives_backticks_and_pipes():
    result = run("shape", "-i", "8x8x3", "Conv2D(4, 3, name='a`|b')", "--format", "markdown")
    if result.exit_code == 0:
        row = result.stdout.splitlines()[2]
        # six columns, then % and Train (issue 11 item 6): seven inner separators
        assert "`` a`\\|b ``" in row and row.count(" | ") == 7


# ---------------------------------------------------------------- big numbers


def big_row(params: int, name="dense", dim: int = 8) -> LayerRow:
    return LayerRow(
        index=1, name=name, type="Dense", spec="Dense(...)", data_format="channels_last",
        input_shape=(None, dim), output_shape=(None, dim), padding=None, kernel_shape=(dim, dim),
        trainable_params=params, non_trainable_params=params // 3,
    )


def big_result(params: int, dim: int = 8) -> StackResult:
    return StackResult(DataFormat("channels_last", "default"), (None, dim), (big_row(params, dim=dim),))


BIG = {
    "1e18": 10**18, "2^64": 2**64, "1e300": 10**300, "1e308": 10**308, "above-float": 10**309 + 7,
    "1e1000": 10**1000, "4300-digits": 10**4299, "4301-digits": 10**4300, "5000-digits": 10**5000 - 1,
    "20000-digits": 7 * 10**20000 + 1,
}


@pytest.mark.parametrize("output_format", SHAPE_FORMATS)
@pytest.mark.parametrize("size", list(BIG))
def test_huge_parameter_counts_in_every_format(monkeypatch, size, output_format):
    params = BIG[size]
    monkeypatch.setattr("convcalc.request.compute_request", lambda request, progress=None: (big_result(params), None))
    result = run("shape", "Dense(8)", "-i", "8", "--format", output_format)
    assert result.exit_code == 0, result.output
    if output_format == "json":
        data = loads(result.stdout)
        assert data["total_params"] == params + params // 3 and data["layers"][0]["params"] == params + params // 3
    elif output_format == "csv":
        assert render.int_text(params + params // 3) in result.stdout
    else:
        assert "Total params:" in result.stdout


@pytest.mark.parametrize("size", list(BIG))
def test_huge_sizes_in_shapes(size):
    dim = BIG[size]
    result = big_result(3, dim=dim)
    assert loads(render.to_json(result))["output_shape"] == [None, dim]
    assert render.int_text(dim) in render.to_csv(result)
    assert "Total params" in render.table_text(result) and "Total params" in render.to_markdown(result)


@pytest.mark.parametrize("size", list(BIG))
def test_readable_size_and_counts_of_any_size(size):
    value = BIG[size]
    assert render.readable_size(value).split()[-1] in ("B", "KB", "MB", "GB", "TB", "PB")
    assert render.count_text(value)
    assert len(render.int_text(value)) == len(f"{value:,}".replace(",", "")) if value < 10**4000 else True


@pytest.mark.parametrize("digits", [300, 1000, 4000])
@pytest.mark.parametrize("output_format", SHAPE_FORMATS)
def test_big_literal_sizes_through_the_parser(digits, output_format):
    n = "9" * digits
    for spec in (f"Dense({n})", f"Embedding({n}, {n})"):
        result = run("shape", "-i", "10", spec, f"Dense({n})", "--format", output_format)
        assert result.exit_code in (0, 2), result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize("output_format", LINT_FORMATS)
@pytest.mark.parametrize("size", ["1e300", "above-float", "5000-digits"])
def test_huge_counts_in_lint_messages(monkeypatch, size, output_format):
    params = BIG[size]
    failure = lint.Failure(3, None, "params", params, params + 1, "expect.params")
    report = lint.LintReport((lint.FileReport("m.toml", failures=(failure,)),))
    text = {"text": lint.to_text, "json": lint.to_json, "github": lint.to_github}[output_format](report)
    if output_format == "json":
        assert loads(text)["files"][0]["failures"][0]["expected"] == params
    else:
        assert "expected params" in text


def test_no_error_path_formats_a_huge_int():
    class Huge(ValueError):
        pass

    error = Huge(10**5000)
    text = cli.unexpected_error(error)
    assert text.startswith("internal error") and "Huge" in text


# ---------------------------------------------------------------- lint keeps going

GOOD = 'input = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\n[expect]\noutput = "6x6x4"\n'
FAILING = 'input = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\n[expect]\noutput = "7x7x4"\n'
CRASHES = {
    "5000-digit-int": 'input = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\n[expect]\nparams = ' + "9" * 5000 + "\n",
    "toml-nested-3000": "x = " + "[" * 3000 + "]" * 3000 + "\n",
    "json-nested-100000": "[" * 100000 + "]" * 100000,
    "json-5000-digit-int": '{"input": "8x8x3", "layers": ["Conv2D(4, 3)"], "expect": {"params": ' + "9" * 5000 + "}}",
    "binary": b"\x00\xff\xfe\x89PNG\r\n\x1a\n",
    "empty": "",
    "not-a-table": "[1, 2, 3]",
    "directory": None,
    "missing": None,
}


def make(tmp_path, kind: str) -> Path:
    suffix = ".json" if kind.startswith("json") or kind == "not-a-table" else ".toml"
    path = tmp_path / f"{kind}{suffix}"
    if kind == "good":
        path.write_text(GOOD)
    elif kind == "failing":
        path.write_text(FAILING)
    elif kind == "directory":
        path.mkdir()
    elif kind == "missing":
        pass
    elif isinstance(CRASHES[kind], bytes):
        path.write_bytes(CRASHES[kind])
    else:
        path.write_text(CRASHES[kind])
    return path


@pytest.mark.parametrize("output_format", LINT_FORMATS)
@pytest.mark.parametrize("crash", list(CRASHES))
def test_a_crashing_file_is_its_own_error_and_the_others_are_checked(tmp_path, crash, output_format):
    paths = [make(tmp_path, "good"), make(tmp_path, crash), make(tmp_path, "failing")]
    result = run("lint", *paths, "--format", output_format)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and clean(result.stdout)
    if output_format == "json":
        report = json.loads(result.stdout)
        assert [f["file"] for f in report["files"]] == [str(p) for p in paths]
        assert [f["error"] is not None for f in report["files"]] == [False, True, False]
        assert report["failures"] == 1 and report["exit_code"] == 2
    else:
        assert result.stdout.splitlines()[-1] == "3 files checked, 2 failed, 1 expectation failed, 1 file with errors"
        assert str(paths[1]) in result.stdout.replace("%3A", ":").replace("%2C", ",")


@pytest.mark.parametrize("output_format", LINT_FORMATS)
@pytest.mark.parametrize("crash", ["toml-nested-3000", "missing", "5000-digit-int"])
@pytest.mark.parametrize("order", list(itertools.permutations(["good", "failing", "crash"])), ids="-".join)
def test_every_order_of_good_failing_and_crashing_files(tmp_path, order, crash, output_format):
    paths = [make(tmp_path, crash if kind == "crash" else kind) for kind in order]
    result = run("lint", *paths, "--format", output_format)
    assert result.exit_code == 2, result.output  # an error wins over a failed expectation
    if output_format == "json":
        report = json.loads(result.stdout)
        assert report["checked"] == 3 and report["errors"] == 1 and report["failures"] == 1
        assert [f["error"] is not None for f in report["files"]] == [kind == "crash" for kind in order]
    else:
        assert "3 files checked, 2 failed, 1 expectation failed, 1 file with errors" in result.stdout


@pytest.mark.parametrize("kinds, code", [(["good"], 0), (["good", "failing"], 1), (["failing", "good", "failing"], 1),
                                         (["good", "empty"], 2), (["failing", "binary"], 2)])
def test_exit_codes_of_mixes(tmp_path, kinds, code):
    paths = [tmp_path / f"{i}" / "x.toml" for i in range(len(kinds))]
    for path, kind in zip(paths, kinds):
        path.parent.mkdir()
        path.write_bytes(make(path.parent, kind).read_bytes() if kind not in ("good", "failing") else
                         (GOOD if kind == "good" else FAILING).encode())
    assert run("lint", *paths).exit_code == code


@pytest.mark.parametrize("exception", [RuntimeError("boom"), KeyError("x"), ValueError(10**5000), RecursionError(),
                                       MemoryError(), AttributeError("'NoneType' object has no attribute 'x'"),
                                       TypeError(), IndexError("list index out of range"), PermissionError(13, "Permission denied")])
@pytest.mark.parametrize("output_format", LINT_FORMATS)
def test_any_unexpected_exception_is_the_files_error(tmp_path, monkeypatch, exception, output_format):
    good, bad = make(tmp_path, "good"), make(tmp_path, "failing")
    crash = tmp_path / "crash.toml"
    crash.write_text(GOOD)
    real = lint.load_file

    def load(path, *args, **kwargs):
        if Path(path).name == "crash.toml":
            raise exception
        return real(path, *args, **kwargs)

    monkeypatch.setattr(lint, "load_file", load)
    result = run("lint", good, crash, bad, "--format", output_format)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    if output_format == "json":
        assert [f["error"] is not None for f in json.loads(result.stdout)["files"]] == [False, True, False]
    else:
        assert "3 files checked" in result.stdout


def test_shape_reports_an_unexpected_exception_in_one_sentence(monkeypatch):
    def boom(request, progress=None):
        raise ValueError(10**5000)

    monkeypatch.setattr("convcalc.request.compute_request", boom)
    result = run("shape", "-i", "8x8x3", "Conv2D(4, 3)")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: internal error") and "Traceback" not in result.output


# ---------------------------------------------------------------- channel order in lint


def test_channel_order_failure_names_the_data_format_and_its_source(tmp_path, isolated_keras_home):
    (isolated_keras_home / "keras.json").write_text('{"image_data_format": "channels_last"}')
    path = tmp_path / "m.toml"
    path.write_text('input = "128x128x3"\n[[layers]]\nspec = "Conv2D(16, 3, padding=\'same\')"\nexpect = "16x128x128"\n')
    result = run("lint", path)
    assert result.exit_code == 1
    assert "expected output 16x128x128, got 128x128x16 (channels_last from " in result.stdout
    assert "keras.json; the same stack read channels_first gives 16x128x3)" in result.stdout


@pytest.mark.parametrize("flag, origin", [((), "convcalc's default"), (("--data-format", "channels_last"), "--data-format")])
def test_channel_order_failure_sources(tmp_path, flag, origin):
    path = tmp_path / "m.toml"
    path.write_text('input = "8x8x3"\nlayers = ["Conv2D(4, 1)"]\n[expect]\noutput = "4x8x8"\n')
    result = run("lint", *flag, path, "--format", "github")
    assert result.exit_code == 1
    assert f"(channels_last from {origin}; the same stack read channels_first gives 4x8x3)" in result.stdout


def test_channel_order_from_the_file_itself(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('input = "3x8x8"\ndata_format = "channels_first"\nlayers = ["Conv2D(4, 1)"]\n[expect]\noutput = "8x8x4"\n')
    result = run("lint", path)
    assert f"(channels_first from {path}'s data_format" in result.stdout


def test_home_is_written_as_tilde():
    home = os.path.expanduser("~")
    assert lint.data_format_origin(os.path.join(home, ".keras", "keras.json"), "m.toml") == "~/.keras/keras.json"


# ---------------------------------------------------------------- size: 10k and 20k layers


@pytest.fixture(scope="module")
def stack_10k(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.json"
    path.write_text(json.dumps({"input": "8x8x3", "layers": ["Conv2D(4, 1)"] * 10_000}))
    return path


@pytest.fixture(scope="module")
def result_10k(stack_10k):
    from convcalc.request import ShapeRequest, compute_request

    return compute_request(ShapeRequest(file=stack_10k), None)[0]


def test_10k_layers_through_the_cli_finish(stack_10k):
    start = time.perf_counter()
    result = run("shape", "-f", stack_10k)
    assert result.exit_code == 0, result.output
    assert time.perf_counter() - start < 60  # finishes; benchmarks/output_size.py measures
    assert result.stdout.count("conv2d_9999 (Conv2D)") == 1


@pytest.mark.parametrize("output_format", SHAPE_FORMATS)
def test_10k_layers_in_every_format_finish(result_10k, output_format):
    start = time.perf_counter()
    text = cli._render(result_10k, cli.OutputFormat(output_format))
    assert time.perf_counter() - start < 30  # finishes; benchmarks/output_size.py measures
    assert text.count("conv2d_9999") == 1


def test_20k_rows_render_as_a_plain_table_quickly():
    rows = tuple(big_row(i, name=f"dense_{i}") for i in range(20_000))
    result = StackResult(DataFormat("channels_last", "default"), (None, 8), rows)
    start = time.perf_counter()
    text = render.table_text(result, None, console=object())  # beyond RICH_TABLE_ROWS the console is not used
    assert time.perf_counter() - start < 30
    lines = text.splitlines()
    # the box's 4 lines, then 7 totals: Keras's 4 and torchinfo's mult-adds and memory (issue 11 item 6)
    assert len(lines) == 20_000 + 4 + 7 and len({len(line) for line in lines[:20_004]}) == 1


def test_small_tables_still_come_from_rich():
    from rich.console import Console

    result = StackResult(DataFormat("channels_last", "default"), (None, 8), (big_row(5),))
    console = Console(color_system=None, width=200)
    assert render.table_text(result, None, console) == render.table_text(result, None, None)


# ---------------------------------------------------------------- closed, broken and full streams

SPEC = "Conv2D(4, 3, padding='same')"
STREAM_COMMANDS = {
    **{f"shape-{fmt}": ["shape", "-i", "8x8x3", SPEC, "--format", fmt] for fmt in SHAPE_FORMATS},
    **{f"lint-{fmt}": ["lint", str(ROOT / "examples" / "autoencoder.convcalc.toml"), "--format", fmt] for fmt in LINT_FORMATS},
}
ERROR_COMMANDS = {
    "bad-spec": ["shape", "-i", "8x8x3", "Conv2D(4, 3, padding='nope')"],
    "missing-file": ["shape", "-f", "/nonexistent/stack.toml"],
    "lint-missing": ["lint", "/nonexistent/stack.toml"],
}
CONVCALC = [sys.executable, "-m", "convcalc"]


def _start(args, stdout_mode, stderr_mode="pipe"):
    """Start convcalc with stdout closed, on a broken pipe, on /dev/full; stderr piped, closed or full."""
    redirect = {"closed": ">&-", "full": ">/dev/full", "pipe": ""}.get(stdout_mode, "")
    redirect += {"closed": " 2>&-", "full": " 2>/dev/full", "pipe": ""}[stderr_mode]
    command = " ".join(map(_quote, CONVCALC + args))
    stdout = None
    if stdout_mode == "broken":
        read, write = os.pipe()
        os.close(read)  # the reader is gone before convcalc writes
        stdout = write
    elif stdout_mode == "pipe":
        stdout = subprocess.PIPE
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command} {redirect}"], stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT, text=True,
    )
    if stdout_mode == "broken":
        os.close(stdout)
    return process


def _quote(word: str) -> str:
    import shlex

    return shlex.quote(word)


STREAM_CASES = {
    **{(name, mode, "pipe"): STREAM_COMMANDS[name]
       for name in ("shape-table", "shape-json", "lint-text", "lint-github") for mode in ("closed", "broken", "full")},
    **{(name, "closed", "pipe"): STREAM_COMMANDS[name] for name in ("shape-csv", "shape-markdown", "lint-json")},
    **{(name, "pipe", mode): ERROR_COMMANDS[name] for name in ("bad-spec", "lint-missing") for mode in ("closed", "full")},
    ("missing-file", "closed", "closed"): ERROR_COMMANDS["missing-file"],
    ("shape-table", "closed", "closed"): STREAM_COMMANDS["shape-table"],
    ("shape-json", "full", "full"): STREAM_COMMANDS["shape-json"],
}


@pytest.fixture(scope="module")
def stream_results():
    """Every stream case, run at once (each is a fresh interpreter)."""
    processes = {case: _start(args, case[1], case[2]) for case, args in STREAM_CASES.items()}
    results = {}
    for case, process in processes.items():
        out, err = process.communicate(timeout=120)
        results[case] = (process.returncode, out or "", err or "")
    return results


@pytest.mark.parametrize("case", list(STREAM_CASES), ids=lambda case: "-".join(case))
def test_streams(stream_results, case):
    code, out, err = stream_results[case]
    assert code == 2, (code, err)
    assert "Traceback" not in err and "Exception ignored" not in err
    if case[2] == "pipe":
        assert err.startswith("Error: "), err
        if case[0] in STREAM_COMMANDS:
            assert "cannot write the output" in err


def test_a_good_answer_on_a_working_pipe_is_still_exit_0():
    result = subprocess.run(CONVCALC + STREAM_COMMANDS["shape-table"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and "Total params" in result.stdout and result.stderr == ""


def test_a_closed_stdout_in_process_is_exit_2(monkeypatch):
    class Closed:
        def write(self, text):
            raise ValueError("I/O operation on closed file.")

        def flush(self):
            raise ValueError("I/O operation on closed file.")

    monkeypatch.setattr(sys, "stdout", Closed())
    with pytest.raises(Exception) as info:
        cli._write("x")
    assert getattr(info.value, "exit_code", None) == 2
