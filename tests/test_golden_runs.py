"""`convcalc shape --run` on stacks of pooling, padding, normalization, activation, dropout,
reshaping and Dense layers (mixed with convolutions) against real Keras 3.

tests/data/golden_runs/ is written by scripts/make_golden_runs.py (which needs TensorFlow;
these tests do not): a random batch ``x``, random values for every weight each layer
declares (``moving_mean``/``moving_variance`` included) and the output Keras computed at
inference. Every case is replayed through the CLI (``--run --sample --weights --save``).
"""

import json

import numpy as np
import pytest

from conftest import run, traced_peak
import golden_helpers
from golden_helpers import dims, each_case, load_json

from convcalc.run import RUNNABLE

DATA = golden_helpers.DATA / "golden_runs"
CASES = load_json("golden_runs", "index.json")["cases"]
with np.load(DATA / "cases.npz") as _archive:
    ARRAYS = {key: _archive[key] for key in _archive.files}


@each_case(CASES)
def test_run_matches_keras(case, tmp_path):
    cid = case["id"]
    np.save(tmp_path / "x.npy", ARRAYS[f"{cid}/x"])
    np.savez(tmp_path / "w.npz", **{name: ARRAYS[f"{cid}/w/{name}"] for name in case["weights"]})
    result = run("shape", "--input", dims(case["input"]), *case["specs"], "--run",
                 "--sample", tmp_path / "x.npy", "--weights", tmp_path / "w.npz",
                 "--save", tmp_path / "y.npy", "--format", "json")
    assert result.exit_code == 0, f"{cid}: {case['specs']}\n{result.stderr}"
    report = json.loads(result.stdout)
    assert [row["measured_shape"] for row in report["layers"]][-1] == case["output_shape"]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ARRAYS[f"{cid}/y"], rtol=1e-4, atol=1e-5,
                               err_msg=f"{cid}: {case['specs']}")


def test_every_runnable_type_has_golden_coverage():
    covered = {t for case in CASES + GRAPHS for t in case["types"]}
    for index in golden_helpers.DATA.glob("golden_*/index.json"):  # the other --run golden data
        lists = [v for v in json.loads(index.read_text()).values() if isinstance(v, list)]
        cases = [case for items in lists for case in items if isinstance(case, dict)]
        covered |= {t for case in cases for t in case.get("types", ())}
        covered |= {case["spec"].split("(")[0].split(".")[-1] for case in cases if isinstance(case.get("spec"), str)}
        covered |= {spec.split("(")[0].split(".")[-1] for case in cases for spec in case.get("layers", ())
                    if isinstance(spec, str)}  # the layers a port emits, run by both frameworks
    missing = sorted(set(RUNNABLE) - covered - {"Conv1DTranspose", "Conv2DTranspose"})  # golden_kernels covers those
    assert not missing, missing


@pytest.mark.parametrize("specs", [
    ["Lambda('x', output_shape=(4, 4, 3))"],  # a user's code: its computation cannot be known
    ["UpSampling2D(interpolation='gaussian')"],  # Keras itself fails when it runs
    ["RandomCrop(2, 2)"],  # Keras 3.15 returns the input uncropped at inference, not the declared shape
], ids=["lambda", "gaussian", "random-crop"])
def test_still_refused_before_anything_runs(specs):
    result = run("shape", "--input", "4x4x3", *specs, "--run")
    assert result.exit_code == 2, result.stdout
    assert "--run" in result.stderr and "Drop --run" in result.stderr


# channels_first has no TensorFlow CPU pooling to record; these cases, whose layers all follow
# the data format, must give Keras's channels_last numbers with the channels moved to axis 1
CHANNELS_FIRST = ["pool-valid", "pool-same", "avg-same-s1", "global2d", "pad-crop-up-2d"]


@pytest.mark.parametrize("cid", CHANNELS_FIRST)
def test_channels_first_gives_the_same_numbers_transposed(cid, tmp_path):
    case = next(c for c in CASES if c["id"] == cid)
    x = ARRAYS[f"{cid}/x"]
    np.save(tmp_path / "x.npy", np.moveaxis(x, -1, 1))
    np.savez(tmp_path / "w.npz", **{name: ARRAYS[f"{cid}/w/{name}"] for name in case["weights"]})
    height, width, channels = case["input"]
    result = run("shape", "--input", f"{channels}x{height}x{width}", "--data-format", "channels_first",
                 *case["specs"], "--run", "--sample", tmp_path / "x.npy", "--weights", tmp_path / "w.npz",
                 "--save", tmp_path / "y.npy")
    assert result.exit_code == 0, result.stderr
    y = ARRAYS[f"{cid}/y"]
    expected = np.moveaxis(y, -1, 1) if y.ndim > 2 else y
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=1e-4, atol=1e-5)


def test_a_sequential_config_runs(tmp_path):
    import gzip

    config = tmp_path / "dcgan.json"
    config.write_bytes(gzip.decompress((golden_helpers.DATA / "models" / "dcgan_generator.json.gz").read_bytes()))
    result = run("shape", "--file", config, "--run", "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert all(row["measured_shape"] == [1, *row["output_shape"][1:]] for row in report["layers"])


GRAPHS = load_json("golden_runs", "index.json")["graphs"]


@each_case(GRAPHS)
def test_graph_run_matches_keras(case, tmp_path):
    """A functional model's config with its weights, run on the sample --seed draws."""
    cid = case["id"]
    np.savez(tmp_path / "w.npz", **{name: ARRAYS[f"{cid}/w/{name}"] for name in case["weights"]})
    result = run("shape", "--file", DATA / case["file"], "--run", "--seed", case["seed"],
                 "--weights", tmp_path / "w.npz", "--save", tmp_path / "y.npy")
    assert result.exit_code == 0, result.stderr
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ARRAYS[f"{cid}/y"], rtol=1e-4, atol=1e-5)


def test_every_merge_has_golden_coverage():
    from convcalc.run import MERGES

    assert set(MERGES) <= {t for case in GRAPHS for t in case["types"]}


@pytest.mark.parametrize("cid", ["graph-unet", "graph-merges"])
def test_graph_memory_estimate_covers_what_a_run_allocates(cid):

    from convcalc.request import ShapeRequest, compute_request
    from convcalc.run import RunOptions, estimate_bytes, run_stack

    request = ShapeRequest(file=DATA / f"{cid}.json", input=("64x64x2" if cid == "graph-unet" else "64x64x3",))
    result, _ = compute_request(request)
    run_stack(result, RunOptions(max_memory=2**30))  # once first: imports are not the run's memory
    _, peak = traced_peak(lambda: run_stack(result, RunOptions(max_memory=2**30)))
    assert peak <= estimate_bytes(result, np.dtype(np.float32), 1)
