"""`convcalc shape --file <model>.json --run` on whole Keras models against real Keras 3.

tests/data/golden_whole_models/ is written by scripts/make_golden_whole_models.py (which
needs TensorFlow; these tests do not): per model its config (``model.to_json()``), its
``.keras`` archive, its weights as SPEC 4's dict (``<id>.weights.npz``), a batch-2 input
per model input, the outputs Keras computed at inference and the outputs on inputs filled
with 0.5 (``<id>.io.npz``); index.json lists the inputs in the model's input order, the
output names and the shape every layer's first call gave.

The CLI contract replayed here:

    convcalc shape --file <id>.json --run --sample a.npy [--sample b.npy ...]
                   --weights <id>.weights.npz|<id>.keras [--fill 0.5 [--fill 0.5 ...]]
                   --save y.npy|y.npz --format json

``--sample`` and ``--fill`` are repeated once per model input, in the model's input order;
``--save`` writes a .npy for a model of one output and, for several outputs, a .npz keyed
by output name (the names of the output layers); each JSON row's ``measured_shape`` is its
``output_shape`` with the run's batch.
"""

import json

import numpy as np
import pytest

from conftest import run
import golden_helpers
from golden_helpers import each_case, load_json

DATA = golden_helpers.DATA / "golden_whole_models"
MODELS = load_json("golden_whole_models", "index.json")["models"]
COMPLETE = [case for case in MODELS if case["weights_complete"]]
RTOL, ATOL = 1e-4, 1e-5  # Keras's own float32 error against float64 is under 5e-6 (float64_max_rel_error)


def io_arrays(case):
    """The case's recorded inputs and outputs: {"input/<name>": ..., "output/<name>": ...}."""
    with np.load(DATA / f"{case['id']}.io.npz") as archive:
        return {key: archive[key] for key in archive.files}


def sample_options(case, arrays, tmp_path):
    """--sample x<i>.npy per model input, in the model's input order."""
    options = []
    for index, spec in enumerate(case["inputs"]):
        path = tmp_path / f"x{index}.npy"
        np.save(path, arrays[f"input/{spec['name']}"])
        options += ["--sample", path]
    return options


def fill_options(case):
    """--fill 0.5 once per model input."""
    return [option for _ in case["inputs"] for option in ("--fill", case["fill"])]


def save_path(case, tmp_path):
    """y.npy for one output, y.npz (keyed by output name) for several."""
    return tmp_path / ("y.npz" if len(case["outputs"]) > 1 else "y.npy")


def saved_outputs(case, path):
    """{output name: array} from what --save wrote."""
    if len(case["outputs"]) == 1:
        return {case["outputs"][0]: np.load(path)}
    with np.load(path) as archive:
        assert sorted(archive.files) == sorted(case["outputs"]), archive.files
        return {name: archive[name] for name in archive.files}


def run_model(case, tmp_path, weights, inputs):
    """The CLI's JSON report and saved outputs for one run of the case's config."""
    save = save_path(case, tmp_path)
    result = run("shape", "--file", DATA / f"{case['id']}.json", "--run", *inputs,
                 "--weights", weights, "--save", save, "--format", "json")
    assert result.exit_code == 0, f"{case['id']}: exit {result.exit_code}\n{result.stderr}"
    return json.loads(result.stdout), saved_outputs(case, save)


def assert_outputs_match(case, got, arrays, prefix):
    """Every output equals Keras's (`prefix` "output" or "fill_output") to RTOL/ATOL."""
    for name in case["outputs"]:
        want = arrays[f"{prefix}/{name}"]
        assert got[name].shape == want.shape, (case["id"], name, got[name].shape, want.shape)
        np.testing.assert_allclose(got[name], want, rtol=RTOL, atol=ATOL, err_msg=f"{case['id']}: {name}")


def with_batch(shape, batch):
    """A row's shape with its batch axis set (a list of shapes for several outputs)."""
    if shape and isinstance(shape[0], list):
        return [with_batch(s, batch) for s in shape]
    return [batch, *shape[1:]]


def assert_measured_shapes(case, report, batch):
    """Every row measured its own output shape, and every layer of the Keras model measured
    the shape its first call gave in Keras (InputLayer rows are optional)."""
    rows = {row["name"]: row for row in report["layers"]}
    for row in report["layers"]:
        assert row.get("measured_shape") == with_batch(row["output_shape"], batch), (case["id"], row)
    inputs = {spec["name"] for spec in case["inputs"]}
    for name, shape in case["layer_shapes"].items():
        if name in inputs and name not in rows:
            continue
        assert name in rows, f"{case['id']}: no row for layer {name!r}"
        assert rows[name]["measured_shape"] == with_batch(shape, batch), (case["id"], name, rows[name])
    assert "run" in report


def archive_weights(case):
    """The case's .keras archive (reading it needs h5py, the optional extra convcalc[h5])."""
    pytest.importorskip("h5py")
    return DATA / f"{case['id']}.keras"


@each_case(MODELS)
def test_config_shapes_match_keras(case):
    """Without --run: every layer's output shape is the one Keras's first call gave."""
    result = run("shape", "--file", DATA / f"{case['id']}.json", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)["layers"]}
    for name, shape in case["layer_shapes"].items():
        if name in rows:
            assert rows[name]["output_shape"] == with_batch(shape, None), (case["id"], name)
    assert set(case["layer_shapes"]) - set(rows) <= {spec["name"] for spec in case["inputs"]}


@each_case(COMPLETE)
def test_run_with_npz_weights_matches_keras(case, tmp_path):
    arrays = io_arrays(case)
    report, got = run_model(case, tmp_path, DATA / f"{case['id']}.weights.npz",
                            sample_options(case, arrays, tmp_path))
    assert_outputs_match(case, got, arrays, "output")
    assert_measured_shapes(case, report, case["batch"])


@each_case(MODELS)
def test_run_with_keras_archive_weights_matches_keras(case, tmp_path):
    weights = archive_weights(case)
    arrays = io_arrays(case)
    _, got = run_model(case, tmp_path, weights, sample_options(case, arrays, tmp_path))
    assert_outputs_match(case, got, arrays, "output")


@each_case(MODELS)
def test_fill_per_input_matches_keras_on_constant_inputs(case, tmp_path):
    weights = DATA / f"{case['id']}.weights.npz" if case["weights_complete"] else archive_weights(case)
    report, got = run_model(case, tmp_path, weights, fill_options(case))
    assert_outputs_match(case, got, io_arrays(case), "fill_output")
    assert_measured_shapes(case, report, 1)


def test_the_data_covers_what_issue_12_asks_for():
    """Every model kind of issue 12's "Done when" and every layer type of the brief is recorded."""
    types = {t for case in MODELS for t in case["types"]}
    wanted = {"Conv2D", "MaxPooling2D", "BatchNormalization", "Dropout", "Flatten", "Dense", "Add",
              "Conv2DTranspose", "Concatenate", "DepthwiseConv2D", "LeakyReLU", "Reshape", "Conv1D",
              "GlobalAveragePooling1D", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
              "ZeroPadding2D", "Cropping2D", "UpSampling2D", "LayerNormalization", "GroupNormalization",
              "Permute", "SeparableConv2D", "Sequential", "Functional"}
    assert wanted <= types, sorted(wanted - types)
    assert any(len(case["inputs"]) > 1 and len(case["outputs"]) > 1 for case in MODELS)
    assert any(case["data_format"] == "channels_first" for case in MODELS)
