"""`--run` on Keras's feature layers (convcalc/feature_kernels.py) against real Keras 3.

tests/data/golden_feature_runs/ is written by scripts/make_golden_feature_runs.py (which needs
TensorFlow; these tests do not): a random batch ``x``, random values for every weight each layer
declares, and the output Keras computed at inference.  Stacks are replayed in-process through
the same request the CLI builds (``--run --sample --weights``), a few through the CLI itself;
layers called on several inputs (MultiHeadAttention, CustomScaleLayer) run their NumPy kernel on
the list of inputs, with the row convcalc evaluates from the model's config.
"""

import json

import numpy as np
import pytest

from conftest import run, traced_peak
import golden_helpers
from golden_helpers import dims, each_case, load_json

from convcalc import feature_kernels
from convcalc.execute import RUNNABLE
from convcalc.registry import FAMILIES
from convcalc.request import ShapeRequest, compute_request

DATA = golden_helpers.DATA / "golden_feature_runs"
INDEX = load_json("golden_feature_runs", "index.json")
CASES, GRAPHS, MASKED = INDEX["cases"], INDEX["graphs"], INDEX["masked"]
with np.load(DATA / "cases.npz") as _archive:
    ARRAYS = {key: _archive[key] for key in _archive.files}
RTOL, ATOL = 1e-4, 1e-5



def _save_case(case, tmp_path):
    cid = case["id"]
    np.save(tmp_path / "x.npy", ARRAYS[f"{cid}/x"])
    np.savez(tmp_path / "w.npz", **{name: ARRAYS[f"{cid}/w/{name}"] for name in case["weights"]})
    return tmp_path / "x.npy", tmp_path / "w.npz"


@pytest.mark.parametrize("case", [pytest.param(c, id=c["id"]) for c in CASES])
def test_stack_matches_keras(case, tmp_path):
    sample, weights = _save_case(case, tmp_path)
    request = ShapeRequest(layers=tuple(case["specs"]), input=(dims(case["input"]),), run=True,
                           sample=(sample,), weights=weights)
    _, result = compute_request(request)
    np.testing.assert_allclose(result.output, ARRAYS[f"{case['id']}/y"], rtol=RTOL, atol=ATOL,
                               err_msg=f"{case['id']}: {case['specs']}")


@pytest.mark.parametrize("cid", ["embedding", "layernorm-rms", "normalization-args", "prelu", "batchnorm"])
def test_cli_run_matches_keras(cid, tmp_path):
    case = next(c for c in CASES if c["id"] == cid)
    sample, weights = _save_case(case, tmp_path)
    result = run("shape", "--input", dims(case["input"]), *case["specs"], "--run", "--sample", sample,
                 "--weights", weights, "--save", tmp_path / "y.npy", "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["layers"][-1]["measured_shape"] == case["output_shape"]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ARRAYS[f"{cid}/y"], rtol=RTOL, atol=ATOL)


def _graph_row(case):
    result, _ = compute_request(ShapeRequest(file=DATA / case["file"]))
    return next(row for row in result.layers if row.name == case["layer"])


@each_case(GRAPHS)
def test_multi_input_layer_matches_keras(case):
    """The kernel on the list of inputs, in the order the config's call gives them."""
    cid = case["id"]
    row = _graph_row(case)
    inputs = [ARRAYS[f"{cid}/x/{case['inputs'].index(name)}"] for name in row.connected_to]
    prefix = f"{row.name}/"
    weights = {name.removeprefix(prefix): ARRAYS[f"{cid}/w/{name}"] for name in case["weights"]}
    assert sorted(prefix + w.name for w in row.weights) == case["weights"]  # Keras's names, as convcalc declares them
    y = feature_kernels.RUNS[row.type](row, inputs, weights)
    np.testing.assert_allclose(y, ARRAYS[f"{cid}/y"], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("cid", ["mha-cross-key", "mha-gate", "custom-scale"])
def test_cli_runs_a_multi_input_model_as_keras(cid, tmp_path):
    """The whole model config through the CLI: one --sample per input, in the model's input order."""
    case = next(c for c in GRAPHS if c["id"] == cid)
    samples = []
    for i in range(len(case["inputs"])):
        np.save(tmp_path / f"x{i}.npy", ARRAYS[f"{cid}/x/{i}"])
        samples += ["--sample", tmp_path / f"x{i}.npy"]
    np.savez(tmp_path / "w.npz", **{name: ARRAYS[f"{cid}/w/{name}"] for name in case["weights"]})
    result = run("shape", "--file", DATA / case["file"], *samples, "--weights", tmp_path / "w.npz",
                 "--save", tmp_path / "y.npy")
    assert result.exit_code == 0, result.stderr
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ARRAYS[f"{cid}/y"], rtol=RTOL, atol=ATOL)



@each_case(MASKED)
def test_attention_on_a_keras_mask_matches_keras(case):
    """Masking / Embedding(mask_zero=True), its mask (feature_kernels.keras_mask), then the attention
    with that mask on the query and the value, as Keras passes it."""
    cid = case["id"]
    result, _ = compute_request(ShapeRequest(file=DATA / case["file"]))
    rows = {row.name: row for row in result.layers}
    masker, attention = rows[case["mask_layer"]], rows[case["layer"]]
    x = ARRAYS[f"{cid}/x/0"]
    weights = {name.split("/", 1)[1]: ARRAYS[f"{cid}/w/{name}"] for name in case["weights"]}
    hidden = feature_kernels.RUNS[masker.type](masker, x, weights)
    mask = feature_kernels.keras_mask(masker, x)
    np.testing.assert_allclose(hidden, ARRAYS[f"{cid}/h"], rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(mask, ARRAYS[f"{cid}/mask"])
    a = attention.layer.args
    query, query_mask = (ARRAYS[f"{cid}/x/1"], None) if case["cross"] else (hidden, mask)
    y = feature_kernels.multi_head_attention(query, hidden, None, weights, key_dim=a["key_dim"], dropout=a["dropout"],
                                             query_mask=query_mask, value_mask=mask)
    np.testing.assert_allclose(y, ARRAYS[f"{cid}/y"], rtol=RTOL, atol=ATOL)


def test_declared_weight_names_are_keras_names(tmp_path):
    """Every stack's weights file holds exactly the names convcalc declares (else --weights refuses it)."""
    for case in CASES:
        request = ShapeRequest(layers=tuple(case["specs"]), input=(dims(case["input"]),))
        result, _ = compute_request(request)
        declared = sorted(f"{row.name}/{w.name}" for row in result.layers for w in row.weights)
        assert declared == case["weights"], case["id"]


FEATURE_FAMILIES = ("core_layers", "normalization", "attention", "application_layers")
UNKNOWABLE = {"Lambda"}  # a user's code: refused


def test_every_feature_layer_runs_and_has_golden_data():
    types = {name for family in FEATURE_FAMILIES for name in FAMILIES[family]}
    covered = {t for case in CASES + GRAPHS + MASKED for t in case["types"]}
    assert types - UNKNOWABLE <= set(RUNNABLE), sorted(types - UNKNOWABLE - set(RUNNABLE))
    assert types - UNKNOWABLE <= covered, sorted(types - UNKNOWABLE - covered)
    assert not UNKNOWABLE & set(RUNNABLE)


def test_every_keras_activation_name_is_covered():
    names = {c["specs"][0][len("Activation('"):-2] for c in CASES if c["id"].startswith("activation-")}
    assert len(names) >= 29 and "gelu" in names and "log_softmax" in names


@pytest.mark.parametrize("specs, message", [
    (["Lambda('f', output_shape=(4, 3))"], "Lambda"),
    (["Dense(3, quantization_config='int8')"], "quantiz"),
    (["Embedding(5, 2, quantization_config='int8')"], "quantiz"),
], ids=["lambda", "quantized-dense", "quantized-embedding"])
def test_refused_up_front_naming_why(specs, message):
    result = run("shape", "--input", "4x3", *specs, "--run")
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith("Error:") and message in result.stderr and "Drop --run" in result.stderr


@pytest.mark.parametrize("ids, message", [
    ([[1.0, 10.0]], "[-10, 9]"),
    ([[-11.0, 0.0]], "-11"),
    ([[np.nan, 0.0]], "NaN"),
], ids=["too-large", "too-negative", "nan"])
def test_embedding_ids_out_of_range_are_refused(ids, message, tmp_path):
    np.save(tmp_path / "x.npy", np.asarray(ids, np.float32))
    result = run("shape", "--input", "2", "Embedding(10, 3)", "--run", "--sample", tmp_path / "x.npy")
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith("Error:") and message in result.stderr and "Traceback" not in result.output


def test_embedding_reads_ids_as_keras_casts_them():
    """int32 cast truncates toward zero; a negative id wraps once."""
    ids = feature_kernels.embedding_ids(np.array([2.7, -0.6, -1.2, -10.0, 9.99], np.float32), 10)
    assert ids.tolist() == [2, 0, 9, 0, 9]


def test_softmax_mask_renormalizes_over_the_kept_values():
    x = np.array([[1.0, 2.0, 3.0, 0.5]], np.float32)
    mask = np.array([[True, False, True, True]])
    y = feature_kernels.softmax(x, -1, mask)
    kept = np.exp(x[0, [0, 2, 3]]) / np.exp(x[0, [0, 2, 3]]).sum()
    np.testing.assert_allclose(y[0, [0, 2, 3]], kept, rtol=1e-6)
    assert y[0, 1] == 0


def test_attention_mask_drops_the_masked_keys():
    """A value mask gives the same output as attention over the kept keys only."""
    rng = np.random.default_rng(0)
    case = next(c for c in GRAPHS if c["id"] == "mha-self")
    row = _graph_row(case)
    weights = {w.name: rng.standard_normal(w.shape).astype(np.float32) for w in row.weights}
    query, value = rng.standard_normal((2, 5, 6), np.float32), rng.standard_normal((2, 5, 6), np.float32)
    keep = np.array([True, False, True, True, False])
    masked = feature_kernels.multi_head_attention(query, value, None, weights, key_dim=3,
                                                  value_mask=np.broadcast_to(keep, (2, 5)))
    dropped = feature_kernels.multi_head_attention(query, value[:, keep], None, weights, key_dim=3)
    np.testing.assert_allclose(masked, dropped, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cid, inputs", [
    ("mha-cross-key", ("40x6", "70x5", "70x3")),
    ("mha-no-bias-gate", ("50x6", "30x6")),
    ("mha-axes-2d", ("6x7x5", "6x7x5")),
])
def test_attention_memory_estimate_covers_what_it_allocates(cid, inputs):

    case = next(c for c in GRAPHS if c["id"] == cid)
    result, _ = compute_request(ShapeRequest(file=DATA / case["file"], input=inputs))
    row = next(r for r in result.layers if r.name == case["layer"])
    rng = np.random.default_rng(1)
    weights = {w.name: rng.standard_normal(w.shape).astype(np.float32) for w in row.weights}
    xs = [rng.standard_normal((4, *shape[1:])).astype(np.float32) for shape in row.input_shape]
    feature_kernels.RUNS[row.type](row, xs, weights)  # once first: imports are not the call's memory
    _, peak = traced_peak(lambda: feature_kernels.RUNS[row.type](row, xs, weights))
    assert peak <= feature_kernels.BYTES[row.type](row, 4, np.dtype(np.float32))
