"""Python sources read statically, against Keras running the same files (issue 10).

tests/data/pysources/ is written by scripts/make_golden_pysources.py, which runs every
file with real Keras (datasets, training and plotting stubbed): each model bound to a
module-level name, with every layer's shape, parameters and creation line; mutated copies
with the line where Keras raises; files that depend on values outside the static subset,
with the line of that value. These tests never import Keras.
"""

import json
import re

import pytest

from conftest import run
from golden_helpers import DATA, Differences, assert_no_differences, load_json

SOURCES = DATA / "pysources"
CORPUS = load_json("pysources", "expected.json")["files"]
MUTANTS = load_json("pysources", "mutants", "expected.json")["files"]
REFUSED = load_json("pysources", "refused", "expected.json")["files"]


def models_of(out):
    return out["models"] if "models" in out else [out]


@pytest.mark.parametrize("name", list(CORPUS))
def test_every_model_of_the_file_is_keras_model(name):
    result = run("shape", "--file", SOURCES / name, "--format", "json")
    assert result.exit_code == 0, result.output
    got = {model["model"]: model for model in models_of(json.loads(result.stdout))}
    diffs = Differences()
    for want in CORPUS[name]["models"]:
        variables = [v for v in want["variable"] if v in got]
        if not variables:
            diffs.append(f"model {want['variable']} ({want['name']}) missing; convcalc read {sorted(got)}")
            continue
        model = got[variables[0]]
        for key in ("name", "input_shape", "output_shape", "total_params", "trainable_params", "non_trainable_params"):
            diffs.check(f"{want['name']} {key}", model[key], want[key])
        rows = {row["name"]: row for row in model["layers"]}
        for layer in want["layers"]:
            row = rows.get(layer["name"])
            if row is None:
                if layer["class_name"] != "InputLayer":
                    diffs.append(f"{want['name']}: layer {layer['name']} ({layer['class_name']}) missing")
                continue
            for key in ("output_shape", "params", "line"):
                diffs.check(f"{want['name']} {layer['name']} {key}", row.get(key), layer[key])
    assert_no_differences(diffs, name, most=40)


@pytest.mark.parametrize("name", [n for n, f in CORPUS.items() if f.get("refused")])
def test_custom_classes_are_noted_at_their_line(name):
    """A subclassed model or a model using a custom layer is skipped with a note at the class's line."""
    result = run("lint", SOURCES / name)
    for refused in CORPUS[name]["refused"]:
        assert f"{SOURCES / name}:{refused['line']}: note: skipped" in result.stdout, result.stdout


@pytest.mark.parametrize("name", list(MUTANTS))
def test_lint_places_the_error_where_keras_raises_it(name):
    want = MUTANTS[name]
    result = run("lint", SOURCES / "mutants" / name)
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{SOURCES / 'mutants' / name}:{want['line']}: "), (first, want)
    assert result.exit_code == (1 if want["exception"] == "AssertionError" else 2)


@pytest.mark.parametrize("name", list(REFUSED))
def test_values_outside_the_subset_are_named_at_their_line(name):
    want = REFUSED[name]
    result = run("shape", "--file", SOURCES / "refused" / name)
    text = result.stderr + result.stdout
    lines = re.findall(rf"{re.escape(str(SOURCES / 'refused' / name))}:(\d+):", text)
    assert str(want["line"]) in lines and want["mentions"] in text, text
    assert "cannot read" in text
    assert result.exit_code == (0 if want.get("readable_models") else 2)
