"""``--run`` on 3-D pooling, padding, cropping and upsampling, resizing (every interpolation),
CenterCrop, AutoContrast, CLAHE, the layers that are the identity at inference, 3-D, depthwise
and separable convolutions, and Conv1D/2D with groups, causal padding and dilation, against
real Keras 3 in both data formats.

tests/data/golden_layer_runs/ is written by scripts/make_golden_layer_runs.py (which needs
TensorFlow; these tests do not): a random batch ``x``, random values for every weight each
layer declares, and ``model(x, training=False)``.  Every case is replayed in-process, layer by
layer through :func:`convcalc.execute.execute_layer` (fast), with each layer's memory estimate
checked against what it allocates; a few go through the whole CLI (``--run --sample --weights
--save``).
"""

import json
import tracemalloc

import numpy as np
import pytest

from conftest import run, traced_peak
import golden_helpers
from golden_helpers import dims, each_case, load_json

from convcalc.execute import IDENTITY_AT_INFERENCE, execute_layer, layer_bytes, refusal
from convcalc.request import ShapeRequest, compute_request

DATA = golden_helpers.DATA / "golden_layer_runs"
CASES = load_json("golden_layer_runs", "index.json")["cases"]
with np.load(DATA / "cases.npz") as _archive:
    ARRAYS = {key: _archive[key] for key in _archive.files}
RTOL, ATOL = 1e-4, 1e-5


def _rows(case, data_format=None):
    request = ShapeRequest(layers=tuple(case["specs"]), input=(dims(case["input"]),),
                           data_format=data_format or case["data_format"])
    result, _ = compute_request(request)
    return result.layers


def _replay(case, x, data_format=None, measure=False):
    """The stack's output on ``x``; with ``measure``, also each layer's allocations and estimate."""
    cid, peaks = case["id"], []
    for row in _rows(case, data_format):
        assert refusal(row) is None, refusal(row)
        weights = {w.name: ARRAYS[f"{cid}/w/{row.name}/{w.name}"] for w in row.weights}
        if measure:
            tracemalloc.start()
            tracemalloc.reset_peak()
        try:
            y = execute_layer(row, x, weights)
            if measure:
                peaks.append((row.spec, tracemalloc.get_traced_memory()[1],
                               layer_bytes(row, x.shape[0], np.dtype(np.float32))))
        finally:
            if measure:
                tracemalloc.stop()
        assert y.shape == (x.shape[0], *row.output_shape[1:]), (row.spec, y.shape, row.output_shape)
        x = y
    return x, peaks


def _relative_error(got, want):
    return float(np.max(np.abs(got - want) / (np.abs(want) + ATOL / RTOL))) if want.size else 0.0


def test_every_case_matches_keras():
    """Each case to rtol 1e-4 (atol 1e-5), and each layer's memory estimate is at least what it allocates."""
    failures, worst = [], 0.0
    for case in CASES:
        cid = case["id"]
        y, peaks = _replay(case, ARRAYS[f"{cid}/x"], measure=True)
        want = ARRAYS[f"{cid}/y"]
        if not np.allclose(y, want, rtol=RTOL, atol=ATOL):
            failures.append(f"{cid} {case['specs']}: max relative error {_relative_error(y, want):.3g}")
        worst = max(worst, _relative_error(y, want))
        failures += [f"{cid} {spec}: allocated {peak} bytes, estimated {estimate}"
                     for spec, peak, estimate in peaks if peak > estimate]
    assert not failures, "\n".join(failures)
    assert worst < RTOL


def test_every_type_is_checked_in_both_data_formats():
    """Keras 3.15 runs every one of these layers in channels_first on the CPU: each type has a
    channels_first case (recorded, or a channels_last one replayed transposed)."""
    first = {t for case in CASES if case["data_format"] == "channels_first" or case["transpose"] for t in case["types"]}
    last = {t for case in CASES if case["data_format"] == "channels_last" for t in case["types"]}
    assert last <= first, sorted(last - first)


@pytest.mark.parametrize("cid", [c["id"] for c in CASES if c["transpose"]] or ["none"])
def test_transposed_cases_give_the_same_numbers_in_channels_first(cid):
    """Where TensorFlow's CPU could not run channels_first, the channels_last numbers with the channels moved."""
    if cid == "none":
        pytest.skip("every case was recorded in both data formats")
    case = next(c for c in CASES if c["id"] == cid)
    first = dict(case, input=[case["input"][-1], *case["input"][:-1]], data_format="channels_first")
    y, _ = _replay(first, np.moveaxis(ARRAYS[f"{cid}/x"], -1, 1))
    np.testing.assert_allclose(y, np.moveaxis(ARRAYS[f"{cid}/y"], -1, 1), rtol=RTOL, atol=ATOL)


def test_golden_data_covers_the_new_runnable_types():
    from convcalc.registry import FAMILIES

    covered = {t for case in CASES for t in case["types"]}
    spatial_3d = {name for name in FAMILIES["pooling"] + FAMILIES["reshaping"] if name.endswith("3D")}
    convolutions = {"Conv3D", "Conv3DTranspose", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
                    "SeparableConv2D"}
    image = {"Resizing", "CenterCrop", "AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization",
             "UpSampling2D", *IDENTITY_AT_INFERENCE}
    assert not (spatial_3d | convolutions | image) - covered, sorted((spatial_3d | convolutions | image) - covered)


CLI_CASES = [c for c in CASES if c["id"].startswith("fixed-") and not c["id"].endswith("-cf")
             or c["id"] in ("fixed-avg3d-same-cf", "fixed-separable-dilated-cf")]


@each_case(CLI_CASES)
def test_the_cli_runs_the_fixed_cases(case, tmp_path):
    cid = case["id"]
    np.save(tmp_path / "x.npy", ARRAYS[f"{cid}/x"])
    np.savez(tmp_path / "w.npz", **{name: ARRAYS[f"{cid}/w/{name}"] for name in case["weights"]})
    result = run("shape", "--input", dims(case["input"]), "--data-format", case["data_format"], *case["specs"],
                 "--run", "--sample", tmp_path / "x.npy", "--weights", tmp_path / "w.npz",
                 "--save", tmp_path / "y.npy", "--format", "json")
    assert result.exit_code == 0, f"{cid}: {case['specs']}\n{result.stderr}"
    assert json.loads(result.stdout)["layers"][-1]["measured_shape"] == case["output_shape"]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ARRAYS[f"{cid}/y"], rtol=RTOL, atol=ATOL)


REFUSED = [
    ("6x6x3", "RandomCrop(4, 4)", "returns its input uncropped at inference"),
    ("6x6x3", "UpSampling2D(interpolation='gaussian')", "interpolation='gaussian'"),
    ("6x6x3", "Resizing(4, 4, interpolation='mitchellcubic')", "interpolation='mitchellcubic'"),
    ("6x6x3", "Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)", "both crop_to_aspect_ratio"),
    ("6x6x3", "Resizing(4, 4, fill_mode='reflect')", "fill_mode='reflect'"),
    ("6x6x3", "Resizing(0, 4)", "empty image"),
    ("6x6", "AutoContrast()", "batches of images"),
    ("6x6x3", "ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(0, 2))", "tile_grid_size"),
    ("6x6x3", "ZeroPadding2D(-1)", "negative padding"),
    ("3x3x1", "ContrastLimitedAdaptiveHistogramEqualization()", "symmetric padding"),
]


@pytest.mark.parametrize("input_shape, spec, reason", REFUSED, ids=[spec.split("(")[0] + "-" + reason.split()[-1]
                                                                    for _, spec, reason in REFUSED])
def test_refused_up_front_with_the_reason(input_shape, spec, reason):
    result, _ = compute_request(ShapeRequest(layers=(spec,), input=(input_shape,)))
    assert reason in (refusal(result.layers[0]) or "")


@pytest.mark.parametrize("input_shape, spec, reason", REFUSED[:2], ids=["random-crop", "gaussian"])
def test_the_cli_refuses_naming_the_layer_and_why(input_shape, spec, reason):
    result = run("shape", "--input", input_shape, spec, "--run")
    assert result.exit_code == 2, result.stdout
    assert reason in result.stderr and "Drop --run" in result.stderr, result.stderr
    assert spec.split("(")[0] in result.stderr


LARGER = [
    ("48x40x3", "Resizing(70, 29, interpolation='bicubic', pad_to_aspect_ratio=True)", "channels_last"),
    ("3x48x40", "Resizing(20, 60, interpolation='lanczos5', antialias=True)", "channels_first"),
    ("30x40x3", "CenterCrop(50, 20)", "channels_last"),
    ("30x40x3", "UpSampling2D((3, 2), interpolation='area')", "channels_last"),
    ("48x48x3", "ContrastLimitedAdaptiveHistogramEqualization()", "channels_last"),
    ("48x48x3", "AutoContrast()", "channels_last"),
    ("10x12x12x8", "Conv3D(8, 3, padding='same')", "channels_last"),
    ("8x10x12x12", "Conv3D(8, 3, strides=2, padding='same', groups=2)", "channels_first"),
    ("6x8x8x8", "Conv3DTranspose(8, 3, strides=2, padding='same')", "channels_last"),
    ("24x24x16", "DepthwiseConv2D(3, depth_multiplier=2, strides=2, dilation_rate=2, padding='same')", "channels_last"),
    ("16x24x24", "SeparableConv2D(24, 3, depth_multiplier=2, padding='same')", "channels_first"),
    ("80x16", "DepthwiseConv1D(5, depth_multiplier=3, padding='same')", "channels_last"),
    ("12x12x12x8", "AveragePooling3D(3, strides=2, padding='same')", "channels_last"),
    ("10x10x10x4", "UpSampling3D(2)", "channels_last"),
]


@pytest.mark.parametrize("input_shape, spec, data_format", LARGER, ids=[s.split("(")[0] for _, s, _ in LARGER])
def test_memory_estimate_covers_what_a_larger_layer_allocates(input_shape, spec, data_format):
    """Beyond the golden data's tiny arrays (where NumPy's own overhead dominates): the estimate
    stays above what the layer allocates, output included."""
    result, _ = compute_request(ShapeRequest(layers=(spec,), input=(input_shape,), data_format=data_format))
    row = result.layers[0]
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, *row.input_shape[1:])).astype(np.float32)
    weights = {w.name: rng.standard_normal(w.shape).astype(np.float32) for w in row.weights}
    execute_layer(row, x, weights)  # once first: caches and imports are not the layer's memory
    _, peak = traced_peak(lambda: execute_layer(row, x, weights))
    assert peak <= layer_bytes(row, 2, np.dtype(np.float32))
