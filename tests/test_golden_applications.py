"""Every keras.applications model, and graphs with operations, dict inputs, None sizes
and nested models, against what Keras says.

tests/data/applications/ is written by scripts/make_golden_applications.py
(which needs TensorFlow; these tests do not). Each record replays a saved
``model.to_json()`` through ``convcalc shape --file``; a resized record
replays the default-size config with ``--input`` and must equal what Keras
builds at that size; a channels_first record replays the config Keras built
under ``image_data_format="channels_first"``.
"""

import gzip
import json

import pytest

from conftest import run
from golden_helpers import DATA, Differences, assert_no_differences, assert_refused, load_json, model_differences, outcome

APPS_DIR = DATA / "applications"
GOLDEN = load_json("applications", "expected.json")
MODELS = GOLDEN["models"]
_CONFIGS: dict[str, str] = {}


def config_path(record, directory):
    """The record's config as a plain .json file (cached text: the big ones are read once)."""
    name = record["file"]
    if name not in _CONFIGS:
        _CONFIGS[name] = gzip.decompress((APPS_DIR / name).read_bytes()).decode("utf-8")
    path = directory / name.replace(".gz", "")
    path.write_text(_CONFIGS[name])
    return path


def replay(record, directory, *extra):
    args = ["shape", "--file", config_path(record, directory), "--format", "json", *extra]
    if record["replay"]["input"] is not None:
        args += ["--input", record["replay"]["input_arg"]]
    return run(*args)


def operation_differences(record, out):
    """Each Keras operation node's output shape, as model.operations gives it."""
    diffs = Differences()
    rows = {row["name"]: row for row in out.get("layers", [])}
    operations = record.get("operations") or {}
    items = operations.items() if isinstance(operations, dict) else ((op["name"], op) for op in operations)
    for name, op in items:
        if op.get("class_name") == "InputLayer" or name in record["layers"]:
            continue
        row = rows.get(name)
        if row is None:
            diffs.append(f"operation {name!r} ({op.get('class_name')}) missing")
            continue
        want = op["output_shape"]
        if isinstance(want, list) and len(want) == 1 and isinstance(want[0], list):
            want = want[0]
        diffs.check(f"operation {name} output_shape", row.get("output_shape"), want)
        diffs.check(f"operation {name} params", row.get("params"), op.get("params", 0))
    return diffs


@pytest.mark.parametrize("key", list(MODELS))
def test_model(key, tmp_path):
    record = MODELS[key]
    result = replay(record, tmp_path)
    detail = f"{key}: {outcome(result, 600)}"
    assert result.exit_code == 0, detail
    out = json.loads(result.stdout)
    operations = {name for name, op in (record.get("operations") or {}).items() if name not in record["layers"]}
    layers_only = {**out, "layers": [row for row in out["layers"] if row["name"] not in operations]}
    diffs = model_differences(record, layers_only) + operation_differences(record, out)
    assert_no_differences(diffs, detail[:400], most=40)


@pytest.mark.parametrize("refusal", GOLDEN.get("refusals", []), ids=lambda r: r["id"])
def test_keras_refusals_are_refused(refusal):
    """Stacks on unknown sizes that Keras refuses to build: exit 2 with a clear message."""
    shape = "x".join("None" if n is None else str(n) for n in refusal["input"])
    result = run("shape", "--input", shape, *refusal["layers"], "--format", "json")
    assert_refused(result, f"{refusal['id']} (Keras: {refusal.get('error_type')}: {refusal.get('error')}): {outcome(result)}")


@pytest.mark.parametrize("name", list(GOLDEN.get("summaries", {})))
def test_expand_nested_rows_are_keras_summary_rows(name, tmp_path):
    summary = GOLDEN["summaries"][name]
    result = run("shape", "--file", config_path(summary, tmp_path), "--format", "json", "--expand-nested")
    assert result.exit_code == 0, outcome(result)
    rows = json.loads(result.stdout)["layers"]
    printed = lambda shape: "(" + ", ".join("None" if n is None else str(n) for n in shape) + ")"  # noqa: E731
    got = [(row["name"], row.get("depth", 0), printed(row["output_shape"]), f"{row['params']:,}") for row in rows]
    want = [(row["name"], row["depth"], row["output_shape"], row["params"]) for row in summary["rows"]]
    assert got == want


def test_every_application_is_covered():
    """The golden data cannot silently shrink: every keras.applications model at its
    default size, several resized, several channels_first; operation nodes, dict
    inputs, None sizes and nested models among the graphs."""
    kinds = [record["kind"] for record in MODELS.values()]
    assert kinds.count("application") >= 36
    assert kinds.count("application_resized") >= 30
    assert kinds.count("application_channels_first") >= 20
    assert any("MobileNetV3" in record.get("constructor", "") for record in MODELS.values())
    graphs = [record for record in MODELS.values() if record["kind"] == "graph"]
    assert any(record.get("operations") for record in graphs)
    assert any(isinstance(record["input_shape"], dict) for record in graphs)
    assert any(record["kind"] == "graph" and record["file"].startswith("none_") for record in graphs)
    assert any(layer["class_name"] in ("Functional", "Sequential") for record in graphs for layer in record["layers"].values())
    assert GOLDEN["refusals"] and GOLDEN["summaries"]


def test_keras_applications_layers_all_read():
    """Every layer class the applications use is one convcalc knows (LayerScale, CustomScaleLayer, ...)."""
    from convcalc.layers import known_layer_names

    classes = {layer["class_name"] for record in MODELS.values() for layer in record["layers"].values()}
    assert classes - {"InputLayer", "Functional", "Sequential"} <= set(known_layer_names())
    assert {"LayerScale", "CustomScaleLayer", "Normalization", "Rescaling", "DepthwiseConv2D"} <= classes
