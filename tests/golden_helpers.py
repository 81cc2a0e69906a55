"""What the golden-data tests (tests/test_golden_*.py) share.

The golden data under tests/data/ is recorded from real Keras by
scripts/make_golden*.py; these helpers load it, build the ``convcalc shape``
command lines that replay it, and word failures so that they show the case.
"""

import json
import re
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def load_json(*parts):
    """A golden JSON file below tests/data/."""
    return json.loads(DATA.joinpath(*parts).read_text())


def each_case(cases):
    """Parametrize a test over golden cases (argument `case`), named by their ids."""
    return pytest.mark.parametrize("case", cases, ids=[c["id"] for c in cases])


def dims(shape):
    """[32, 32, 3] -> "32x32x3", as --input takes it ([] -> "()", a scalar per sample)."""
    return "x".join(map(str, shape)) if shape else "()"


def shape_command(case, specs, inputs=None):
    """`convcalc shape` replaying a case as JSON: ``--input`` from case["input"]
    (or the given input arguments), ``--data-format`` when the case gives it
    as an option, then the layer specs."""
    if inputs is None:
        inputs = ["--input", dims(case["input"])]
    args = ["shape", *inputs]
    if case["data_format_via"] == "option":
        args += ["--data-format", case["data_format"]]
    return args + [*specs, "--format", "json"]


def outcome(result, limit=None):
    """The CLI's exit code, stdout and stderr (each cut to `limit` characters)."""
    return (f"exit={result.exit_code}\n  stdout: {result.stdout[:limit]}\n"
            f"  stderr: {result.stderr[:limit]}")


class Differences(list):
    """Every way the CLI's JSON differs from Keras, as readable lines."""

    def check(self, where, got, want):
        if got != want:
            self.append(f"{where}: got {got!r}, Keras {want!r}")

    def check_trainable_split(self, out, expected):
        """Trainable / non-trainable parameter counts, where the CLI reports them."""
        for key in ("trainable_params", "non_trainable_params"):
            if key in out:
                self.check(key, out[key], expected[key])


def assert_no_differences(diffs, detail, most=None):
    """No difference; otherwise the case and (the first `most`) differences."""
    assert not diffs, detail + "\n  " + "\n  ".join(diffs[:most])


def assert_refused(result, detail):
    """Refused as bad input: exit code 2, nothing on stdout, an "Error:" on
    stderr, no traceback."""
    assert result.exit_code == 2, detail
    assert result.stdout == "", detail
    assert result.stderr.startswith("Error:"), detail
    assert "Traceback" not in result.output, detail


def names_only(connected):
    """'conv2d[0][0]' -> 'conv2d' (the CLI may or may not add node indices)."""
    return [re.sub(r"\[.*$", "", str(item)) for item in connected]


def model_differences(expected, out):
    """Every way the CLI's JSON differs from Keras, as readable lines."""
    diffs = Differences()
    for key in ("input_shape", "output_shape", "total_params", "trainable_params",
                "non_trainable_params"):
        diffs.check(key, out.get(key), expected[key])

    rows = {}
    for row in out.get("layers", []):
        if row.get("name") in rows:
            diffs.append(f"layer {row.get('name')!r} listed twice")
        rows[row.get("name")] = row
    for name, want in expected["layers"].items():
        row = rows.pop(name, None)
        if row is None:
            if want["class_name"] != "InputLayer":  # InputLayer rows are optional
                diffs.append(f"layer {name!r} ({want['class_name']}) missing")
            continue
        diffs.check(f"layer {name} type", row.get("type"), want["class_name"])
        for key in ("output_shape", "params", "trainable_params", "non_trainable_params"):
            diffs.check(f"layer {name} {key}", row.get(key), want[key])
        if want["class_name"] == "InputLayer":
            continue
        if "connected_to" in want:  # Functional models: the first call's inputs, in order
            diffs.check(f"layer {name} connected_to",
                        names_only(row.get("connected_to") or []),
                        names_only(want["connected_to"]))
    for name in rows:
        diffs.append(f"layer {name!r} is not a layer of the Keras model")
    return diffs
