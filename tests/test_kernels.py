"""convcalc.kernels: fast equals naive, shapes equal the formulas', hand-checked examples."""

from __future__ import annotations

import contextlib
import tracemalloc
from unittest import mock

import numpy as np

from conftest import traced_peak
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc import formulas, kernel_geometry, kernel_threads, kernels
from convcalc.kernels import (
    DEFAULT_SCRATCH_BYTES,
    conv2d,
    conv2d_memory,
    conv2d_naive,
    conv2d_scratch_bytes,
    conv2d_transpose,
    conv2d_transpose_memory,
    conv2d_transpose_naive,
    conv2d_transpose_scratch_bytes,
)

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOLERANCE = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


# --------------------------------------------------------------------------
# Random configurations
# --------------------------------------------------------------------------


@st.composite
def geometry(draw, transpose: bool):
    """Keyword arguments shared by both layers, valid by Keras's rules (the output may still be empty)."""
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if max(strides) > 1:
        dilation_rate = (1, 1)  # Keras rejects strides > 1 with dilation > 1
    else:
        dilation_rate = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kw = dict(
        strides=draw(st.sampled_from([strides, strides[0]])) if strides[0] == strides[1] else strides,
        padding=draw(st.sampled_from(["valid", "same"])),
        dilation_rate=dilation_rate,
        data_format=draw(st.sampled_from(["channels_last", "channels_first"])),
    )
    if transpose:
        kw["output_padding"] = draw(
            st.none() | st.tuples(st.integers(0, strides[0] - 1), st.integers(0, strides[1] - 1))
        )
    return kw


@st.composite
def conv2d_case(draw):
    kw = draw(geometry(transpose=False))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    group_channels = draw(st.integers(1, 3))
    group_filters = draw(st.integers(1, 3))
    if draw(st.booleans()) and groups > 1:
        group_channels = 1  # depthwise: groups == channels
    kw["groups"] = groups
    channels, filters = groups * group_channels, groups * group_filters
    kernel_shape = (draw(st.integers(1, 4)), draw(st.integers(1, 4)), group_channels, filters)
    return draw(arrays(kw, channels, kernel_shape, filters))


@st.composite
def conv2d_transpose_case(draw):
    kw = draw(geometry(transpose=True))
    channels, filters = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kernel_shape = (draw(st.integers(1, 4)), draw(st.integers(1, 4)), filters, channels)
    return draw(arrays(kw, channels, kernel_shape, filters))


@st.composite
def arrays(draw, kw, channels, kernel_shape, filters):
    """(x, kernel, bias, kwargs) with 1x1 and rectangular inputs included."""
    n, h, w = draw(st.integers(1, 3)), draw(st.integers(1, 7)), draw(st.integers(1, 7))
    shape = (n, h, w, channels) if kw["data_format"] == "channels_last" else (n, channels, h, w)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal(shape).astype(dtype)
    kernel = rng.standard_normal(kernel_shape).astype(dtype)
    bias = rng.standard_normal(filters).astype(dtype) if draw(st.booleans()) else None
    return x, kernel, bias, kw


def spatial(kw, x):
    return x.shape[2:] if kw["data_format"] == "channels_first" else x.shape[1:3]


def pairs(kw):
    def pair(v):
        return (v, v) if isinstance(v, int) or v is None else v

    return {k: pair(v) for k, v in kw.items() if k in ("strides", "dilation_rate", "output_padding")}


def conv2d_expected_size(x, kernel, kw):
    p = pairs(kw)
    return tuple(
        formulas.conv_output_length(n, k, s, kw["padding"], d)
        for n, k, s, d in zip(spatial(kw, x), kernel.shape[:2], p["strides"], p["dilation_rate"])
    )


def conv2d_transpose_expected_size(x, kernel, kw):
    p = pairs(kw)
    return tuple(
        formulas.conv_transpose_output_length(n, k, s, kw["padding"], op, d)
        for n, k, s, op, d in zip(
            spatial(kw, x), kernel.shape[:2], p["strides"], p["output_padding"], p["dilation_rate"]
        )
    )


def out_spatial(kw, y):
    return y.shape[2:] if kw["data_format"] == "channels_first" else y.shape[1:3]


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------


@FAST
@given(conv2d_case(), st.sampled_from([None, 1, 700]))
def test_conv2d_fast_equals_naive(case, max_scratch_bytes):
    x, kernel, bias, kw = case
    size = conv2d_expected_size(x, kernel, kw)
    if min(size) <= 0:
        with pytest.raises(ValueError, match="not positive"):
            conv2d(x, kernel, bias, **kw)
        return
    expected = conv2d_naive(x, kernel, bias, **kw)
    got = conv2d(x, kernel, bias, **kw, max_scratch_bytes=max_scratch_bytes)
    assert got.dtype == expected.dtype == x.dtype
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOLERANCE[x.dtype.type])


@FAST
@given(conv2d_transpose_case(), st.sampled_from([None, 1, 700]), st.booleans())
def test_conv2d_transpose_fast_equals_naive(case, max_scratch_bytes, scatter):
    """Both paths of stride 1 (a flipped direct convolution where cheaper, forced to scatter-add otherwise)."""
    x, kernel, bias, kw = case
    size = conv2d_transpose_expected_size(x, kernel, kw)
    if min(size) <= 0:
        with pytest.raises(ValueError, match="not positive"):
            conv2d_transpose(x, kernel, bias, **kw)
        return
    expected = conv2d_transpose_naive(x, kernel, bias, **kw)
    with mock.patch.object(kernels, "_direct_geometry", lambda g: None) if scatter else contextlib.nullcontext():
        got = conv2d_transpose(x, kernel, bias, **kw, max_scratch_bytes=max_scratch_bytes)
    assert got.dtype == expected.dtype == x.dtype
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOLERANCE[x.dtype.type])


@FAST
@given(conv2d_case())
def test_conv2d_shape_equals_formula(case):
    x, kernel, bias, kw = case
    size = conv2d_expected_size(x, kernel, kw)
    if min(size) <= 0:
        return
    for f in (conv2d, conv2d_naive):
        y = f(x, kernel, bias, **kw)
        assert out_spatial(kw, y) == size
        assert y.shape[0] == x.shape[0]
        assert y.shape[1 if kw["data_format"] == "channels_first" else 3] == kernel.shape[3]


@FAST
@given(conv2d_transpose_case())
def test_conv2d_transpose_shape_equals_formula(case):
    x, kernel, bias, kw = case
    size = conv2d_transpose_expected_size(x, kernel, kw)
    if min(size) <= 0:
        return
    for f in (conv2d_transpose, conv2d_transpose_naive):
        y = f(x, kernel, bias, **kw)
        assert out_spatial(kw, y) == size
        assert y.shape[1 if kw["data_format"] == "channels_first" else 3] == kernel.shape[2]


@settings(max_examples=40, deadline=None)
@given(st.booleans(), st.data())
def test_memory_estimate_bounds_what_is_allocated(transpose, data):
    """tracemalloc's peak during a call stays within the estimate (output + scratch)."""
    x, kernel, bias, kw = data.draw(conv2d_transpose_case() if transpose else conv2d_case())
    size = (conv2d_transpose_expected_size if transpose else conv2d_expected_size)(x, kernel, kw)
    if min(size) <= 0:
        return
    budget = data.draw(st.sampled_from([None, 1, 2000]))
    # Element-wise work split over threads, or not (small inputs normally are not).
    parallel_items = data.draw(st.sampled_from([1, kernels._MIN_PARALLEL_ITEMS]))
    fast, memory = (conv2d_transpose, conv2d_transpose_memory) if transpose else (conv2d, conv2d_memory)
    estimate = memory(x.shape, kernel.shape, **kw, dtype=x.dtype, max_scratch_bytes=budget)
    peaks = []
    with mock.patch.object(kernels, "_MIN_PARALLEL_ITEMS", parallel_items):
        tracemalloc.start()
        try:
            # The smaller of two peaks: the first call may also fill one-time caches of Python and NumPy.
            for _ in range(2):
                kernels.release_scratch()  # measure the allocations, not the buffers kept from a previous call
                tracemalloc.reset_peak()
                before, _ = tracemalloc.get_traced_memory()
                fast(x, kernel, bias, **kw, max_scratch_bytes=budget)
                peaks.append(tracemalloc.get_traced_memory()[1] - before)
        finally:
            tracemalloc.stop()
    # Python objects (views, tuples) come on top.
    assert min(peaks) <= estimate + 16 * 1024


# --------------------------------------------------------------------------
# Hand-checked examples (independent of both implementations)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("f", [conv2d, conv2d_naive], ids=["fast", "naive"])
def test_rgb_image_through_2x2_ones(f):
    # Channels R=1, G=100, B=10000: each output sums 4 pixels of each channel.
    x = np.stack([np.full((3, 3), v) for v in (1, 100, 10000)], axis=-1)[None]
    y = f(x, np.ones((2, 2, 3, 1)), bias=np.zeros(1))
    assert y.shape == (1, 2, 2, 1)
    assert y[0, :, :, 0].tolist() == [[40404, 40404], [40404, 40404]]


@pytest.mark.parametrize("f", [conv2d, conv2d_naive], ids=["fast", "naive"])
def test_ones_5x5_stride_2_same(f):
    # total padding (3-1)*2 + 3 - 5 = 2: one pixel each side, corners see 2x2 ones.
    y = f(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), strides=2, padding="same")
    assert y[0, :, :, 0].tolist() == [[4, 6, 4], [6, 9, 6], [4, 6, 4]]


@pytest.mark.parametrize("f", [conv2d, conv2d_naive], ids=["fast", "naive"])
def test_same_padding_odd_pixel_goes_bottom_right(f):
    # 6 wide, kernel 2, stride 1, same: total 1, all of it after; the window
    # of the last output sees x[5] and one zero.
    x = np.arange(1, 7, dtype=np.float64).reshape(1, 1, 6, 1)
    y = f(x, np.ones((1, 2, 1, 1)), padding="same")
    assert y[0, 0, :, 0].tolist() == [3, 5, 7, 9, 11, 6]


@pytest.mark.parametrize("f", [conv2d, conv2d_naive], ids=["fast", "naive"])
def test_dilation_and_groups_by_hand(f):
    x = np.arange(1, 6, dtype=np.float64).reshape(1, 1, 5, 1)
    # dilation 2: taps x[j] and x[j+2]
    assert f(x, np.ones((1, 2, 1, 1)), dilation_rate=2)[0, 0, :, 0].tolist() == [4, 6, 8]
    # depthwise, 2 channels: channel 0 doubled, channel 1 negated
    x2 = np.stack([x[..., 0], 10 * x[..., 0]], axis=-1)
    k = np.array([2.0, -1.0]).reshape(1, 1, 1, 2)
    y = f(x2, k, groups=2)
    assert y[0, 0, :, 0].tolist() == [2, 4, 6, 8, 10]
    assert y[0, 0, :, 1].tolist() == [-10, -20, -30, -40, -50]


@pytest.mark.parametrize("f", [conv2d_transpose, conv2d_transpose_naive], ids=["fast", "naive"])
def test_transpose_single_pixel_reproduces_kernel(f):
    kernel = np.arange(1, 10, dtype=np.float64).reshape(3, 3, 1, 1)
    y = f(np.full((1, 1, 1, 1), 2.0), kernel, strides=2)
    # valid, op None: 0*2 + 3 + max(3, 2) - 3 = 3; the kernel is stamped unflipped
    assert y[0, :, :, 0].tolist() == (2 * kernel[:, :, 0, 0]).tolist()


@pytest.mark.parametrize("f", [conv2d_transpose, conv2d_transpose_naive], ids=["fast", "naive"])
def test_transpose_2x2_ones_stride_2_overlap(f):
    # Four 3x3 stamps at (0, 0), (0, 2), (2, 0), (2, 2) overlap on row/column 2.
    y = f(np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 1)), strides=2)
    assert y[0, :, :, 0].tolist() == [
        [1, 1, 2, 1, 1],
        [1, 1, 2, 1, 1],
        [2, 2, 4, 2, 2],
        [1, 1, 2, 1, 1],
        [1, 1, 2, 1, 1],
    ]


@pytest.mark.parametrize("f", [conv2d_transpose, conv2d_transpose_naive], ids=["fast", "naive"])
def test_transpose_same_and_output_padding_by_hand(f):
    # 1-D along the width: x = [1, 2], kernel [1, 10, 100], stride 2.
    # Stamps: x0 at 0..2 -> [1, 10, 100], x1 at 2..4 -> [2, 20, 200];
    # full = [1, 10, 102, 20, 200].
    x = np.array([1.0, 2.0]).reshape(1, 1, 2, 1)
    k = np.array([1.0, 10.0, 100.0]).reshape(1, 3, 1, 1)
    row = lambda **kw: f(x, k, strides=(1, 2), **kw)[0, 0, :, 0].tolist()  # noqa: E731
    assert row() == [1, 10, 102, 20, 200]  # valid: length 1*2 + 3 + (max(3, 2) - 3) = 5
    assert row(output_padding=(0, 1)) == [1, 10, 102, 20, 200, 0]  # one more column, bottom/right
    # same, op None: length 2*2 = 4; TF's forward conv of length 4 pads 0 before,
    # so the output is the full stamp sum from its start.
    assert row(padding="same") == [1, 10, 102, 20]
    # same, op 0: length 1*2 + 3%2 + 0 = 3; the forward conv of length 3 pads 1 before.
    assert row(padding="same", output_padding=(0, 0)) == [10, 102, 20]


@pytest.mark.parametrize("f", [conv2d_transpose, conv2d_transpose_naive], ids=["fast", "naive"])
def test_transpose_is_the_adjoint_of_conv2d(f):
    """<conv2d(x), y> == <x, conv2d_transpose(y)> with the same kernel: TF's definition."""
    rng = np.random.default_rng(0)
    for strides, padding, size, kernel_size in [
        (2, "same", 7, (3, 3)), (3, "valid", 8, (3, 2)), (2, "valid", 7, (3, 2)), (1, "same", 6, (3, 3)),
    ]:
        x = rng.standard_normal((2, size, size + 1, 3))
        kernel = rng.standard_normal((*kernel_size, 3, 4))
        forward = conv2d_naive(x, kernel, strides=strides, padding=padding)
        y = rng.standard_normal(forward.shape)
        # output_padding chosen so the transposed output has x's shape
        (h, w) = x.shape[1:3]
        op = tuple(
            n - formulas.conv_transpose_output_length(m, k, strides, padding, 0)
            for n, m, k in zip((h, w), forward.shape[1:3], kernel.shape[:2])
        )
        assert all(0 <= p < strides for p in op)
        # Conv2DTranspose's layout (kh, kw, filters, c_in) is Conv2D's (kh, kw, c_in, filters) read backwards.
        back = f(y, kernel, strides=strides, padding=padding, output_padding=op)
        assert back.shape == x.shape
        np.testing.assert_allclose(np.vdot(forward, y), np.vdot(x, back), rtol=1e-10)


# --------------------------------------------------------------------------
# Golden outputs from real Keras 3.15.1 / TensorFlow 2.21 (CPU), exact integers.
# Generated by this script, run where Keras is installed (not needed by the tests):
#
#     import numpy as np, keras
#     for kind, shape, kw in CASES:  # kind, input shape without batch, layer kwargs
#         x = np.arange(1, np.prod(shape) + 1, dtype=np.float32).reshape(1, *shape)
#         layer = getattr(keras.layers, kind)(use_bias=False, **kw)
#         layer.build(x.shape)
#         k = ((np.arange(np.prod(layer.kernel.shape)) % 5) - 2).astype(np.float32).reshape(layer.kernel.shape)
#         layer.set_weights([k])
#         print(kind, shape, kw, np.asarray(layer(x))[0].transpose(2, 0, 1).astype(int).tolist())
#
# (TF_ENABLE_ONEDNN_OPTS=1 for the dilated Conv2DTranspose: TF's own CPU kernel
# refuses dilation there; the other cases agree with and without oneDNN.)
# --------------------------------------------------------------------------

KERAS_GOLDEN = [
    (
        'Conv2DTranspose', (4, 3, 2), {'filters': 1, 'kernel_size': (3, 2), 'strides': (2, 3), 'padding': 'same'},
        [[[-4, 2, 0, -10, 4, 0, -16, 6, 0], [-2, -1, 0, -2, -3, 0, -2, -5, 0],
          [-17, 4, 0, -17, 0, 0, -17, -4, 0], [-2, -7, 0, -2, -9, 0, -2, -11, 0],
          [-17, -8, 0, -17, -12, 0, -17, -16, 0], [-2, -13, 0, -2, -15, 0, -2, -17, 0],
          [-17, -20, 0, -17, -24, 0, -17, -28, 0], [-2, -19, 0, -2, -21, 0, -2, -23, 0]]],
    ),
    (
        'Conv2DTranspose', (3, 3, 1), {'filters': 1, 'kernel_size': 3, 'strides': 2, 'padding': 'same', 'output_padding': 1},
        [[[-2, -1, -4, -2, -6, -3], [1, 2, 0, 4, -1, 6], [-9, -4, -11, -5, -13, -6], [4, 8, -3, 10, -4, 12],
          [-18, -7, -17, -8, -19, -9], [7, 14, -6, 16, -7, 18]]],
    ),
    (
        'Conv2DTranspose', (3, 2, 1), {'filters': 1, 'kernel_size': 4, 'strides': 2, 'padding': 'same'},
        [[[-2, 3, -4, -2], [-1, -8, 2, -4], [-5, 7, -8, 0], [1, -14, 4, -8], [-7, 13, -14, 2],
          [10, -4, 7, -12]]],
    ),
    (
        'Conv2DTranspose', (3, 4, 1), {'filters': 1, 'kernel_size': 3, 'dilation_rate': 2, 'padding': 'same'},
        [[[-26, -26, -7, -8], [17, 20, 4, 4], [26, 28, 5, 6]]],
    ),
    (
        'Conv2DTranspose', (2, 2, 1), {'filters': 1, 'kernel_size': (2, 3), 'strides': 3, 'output_padding': (1, 2)},
        [[[-2, -1, 0, -4, -2, 0, 0, 0], [1, 2, -2, 2, 4, -4, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0],
          [-6, -3, 0, -8, -4, 0, 0, 0], [3, 6, -6, 4, 8, -8, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]]],
    ),
    (
        'Conv2D', (5, 7, 1), {'filters': 1, 'kernel_size': (3, 4), 'strides': (2, 3), 'padding': 'same'},
        [[[-16, -12, 39], [-70, -44, 41], [-86, -81, -84]]],
    ),
    (
        'Conv2D', (4, 5, 2), {'filters': 2, 'kernel_size': 3, 'dilation_rate': (2, 1), 'padding': 'same', 'groups': 2},
        [[[14, 13, 11, 9, 60], [14, 3, 1, -1, 80], [-19, -40, -44, -48, -12], [-9, -60, -64, -68, -32]],
         [[-44, -24, -24, -24, -12], [-54, -24, -24, -24, -2], [14, 12, 10, 8, 62], [14, 2, 0, -2, 82]]],
    ),
]


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "naive"])
@pytest.mark.parametrize(
    "kind, shape, kw, expected", KERAS_GOLDEN, ids=[f"{c[0]}-{i}" for i, c in enumerate(KERAS_GOLDEN)]
)
def test_equals_keras(kind, shape, kw, expected, fast):
    kw = dict(kw)
    filters, kernel_size = kw.pop("filters"), kw.pop("kernel_size")
    kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    if kind == "Conv2DTranspose":
        kernel_shape = formulas.conv_transpose_kernel_shape(kernel_size, shape[2], filters)
        f = conv2d_transpose if fast else conv2d_transpose_naive
    else:
        kernel_shape = formulas.conv_kernel_shape(kernel_size, shape[2], filters, kw.get("groups", 1))
        f = conv2d if fast else conv2d_naive
    x = np.arange(1, np.prod(shape) + 1, dtype=np.float32).reshape(1, *shape)
    kernel = ((np.arange(np.prod(kernel_shape)) % 5) - 2).astype(np.float32).reshape(kernel_shape)
    assert f(x, kernel, **kw)[0].transpose(2, 0, 1).tolist() == expected


# --------------------------------------------------------------------------
# Chunking, dtypes, validation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunking_does_not_change_results(dtype):
    # Equal up to rounding: BLAS may sum in another order when a GEMM has fewer rows.
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 11, 9, 6)).astype(dtype)
    x_first = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    cases = [
        (conv2d, rng.standard_normal((3, 3, 6, 4)), dict(strides=2, padding="same")),
        (conv2d, rng.standard_normal((3, 2, 2, 6)), dict(groups=3, dilation_rate=2, data_format="channels_first")),
        (conv2d, rng.standard_normal((3, 3, 1, 12)), dict(groups=6, padding="same")),
        (conv2d, rng.standard_normal((1, 1, 6, 5)), dict()),
        (conv2d_transpose, rng.standard_normal((4, 4, 3, 6)), dict(strides=2, padding="same")),
        (conv2d_transpose, rng.standard_normal((3, 3, 3, 6)), dict(strides=3, data_format="channels_first")),
    ]
    for f, kernel, kw in cases:
        xs = x_first if kw.get("data_format") == "channels_first" else x
        whole = f(xs, kernel.astype(dtype), **kw)
        for budget in (1, 3000, 10**9):
            chunked = f(xs, kernel.astype(dtype), **kw, max_scratch_bytes=budget)
            assert chunked.dtype == whole.dtype == dtype
            np.testing.assert_allclose(chunked, whole, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threaded_element_wise_work_equals_naive(monkeypatch, dtype):
    # Small inputs normally stay on one thread: force the split into parts.
    monkeypatch.setattr(kernels, "_MIN_PARALLEL_ITEMS", 1)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 9, 7, 6)).astype(dtype)
    x_first = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    cases = [
        (conv2d, conv2d_naive, x, (3, 3, 6, 4), dict(padding="same")),
        (conv2d, conv2d_naive, x, (3, 2, 1, 6), dict(groups=6, strides=(1, 2))),
        (conv2d, conv2d_naive, x, (3, 3, 1, 12), dict(groups=6, padding="same")),  # multiplier 2
        (conv2d, conv2d_naive, x_first, (2, 2, 2, 6), dict(groups=3, data_format="channels_first")),
        (conv2d_transpose, conv2d_transpose_naive, x, (4, 4, 3, 6), dict(strides=2, padding="same")),
        (conv2d_transpose, conv2d_transpose_naive, x_first, (3, 3, 2, 6), dict(data_format="channels_first")),
    ]
    for fast, naive, xs, kernel_shape, kw in cases:
        kernel = rng.standard_normal(kernel_shape).astype(dtype)
        bias = rng.standard_normal(kernel_shape[2] if fast is conv2d_transpose else kernel_shape[3]).astype(dtype)
        for budget in (None, 1):  # one chunk split over threads; chunks of one row or one sample
            np.testing.assert_allclose(
                fast(xs, kernel, bias, **kw, max_scratch_bytes=budget), naive(xs, kernel, bias, **kw), **TOLERANCE[dtype]
            )


def test_scratch_stays_under_the_bound_whatever_the_batch():
    one = conv2d_scratch_bytes((1, 112, 112, 64), (3, 3, 64, 64), padding="same")
    many = conv2d_scratch_bytes((512, 112, 112, 64), (3, 3, 64, 64), padding="same")
    assert many <= DEFAULT_SCRATCH_BYTES and one <= many
    assert conv2d_scratch_bytes((512, 112, 112, 64), (3, 3, 64, 64), max_scratch_bytes=2**20) <= 2**20
    # one huge image is split into bands of rows
    assert conv2d_scratch_bytes((1, 4000, 4000, 64), (3, 3, 64, 64), max_scratch_bytes=2**24) <= 2**24
    assert conv2d_transpose_scratch_bytes((64, 64, 64, 128), (4, 4, 64, 128), strides=2) <= DEFAULT_SCRATCH_BYTES
    out = 64 * 128 * 128 * 64 * 4
    assert out < conv2d_transpose_memory((64, 64, 64, 128), (4, 4, 64, 128), strides=2) <= out + DEFAULT_SCRATCH_BYTES


@pytest.mark.parametrize(
    "dtype, expected",
    [(np.float32, np.float32), (np.float64, np.float64), (np.float16, np.float32), (np.int64, np.float32),
     (np.uint8, np.float32), (bool, np.float32)],
)
def test_dtype_rules(dtype, expected):
    x = np.ones((1, 4, 4, 2), dtype=dtype)
    # conv2d: 2*2 taps * 2 channels + bias; conv2d_transpose's corner: 1 tap * 2 channels + bias
    for f, kernel, corner in ((conv2d, np.ones((2, 2, 2, 3)), 9.0), (conv2d_transpose, np.ones((2, 2, 3, 2)), 3.0)):
        y = f(x, kernel, bias=np.ones(3, dtype=np.float64))
        assert y.dtype == expected
        assert y.flat[0] == corner


def test_float32_input_with_float64_kernel_stays_float32():
    assert conv2d(np.ones((1, 3, 3, 1), np.float32), np.ones((2, 2, 1, 1))).dtype == np.float32


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: conv2d(np.ones((4, 4, 3)), np.ones((3, 3, 3, 1))), r"4-D.*\(4, 4, 3\)"),
        (lambda: conv2d(np.ones((1, 4, 4, 3)), np.ones((3, 3, 3))), r"kernel must be 4-D"),
        (lambda: conv2d(np.ones((1, 4, 4, 3)), np.ones((3, 3, 2, 1))), r"\(3, 3, 2, 1\).*\(1, 4, 4, 3\)"),
        (lambda: conv2d(np.ones((1, 4, 4, 4)), np.ones((3, 3, 2, 3)), groups=2), r"filters must be evenly divisible by groups; got filters=3, groups=2"),
        (lambda: conv2d(np.ones((1, 4, 4, 3)), np.ones((3, 3, 3, 2)), bias=np.ones(3)), r"bias.*\(2,\)"),
        (lambda: conv2d(np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 1))), r"output size would be 0x0, which is not positive.*x of shape \(1, 2, 2, 1\)"),
        (lambda: conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), strides=2, dilation_rate=2), "dilation"),
        (
            lambda: conv2d(np.ones((1, 4, 4, 3)), np.ones((3, 3, 1, 4)), groups=2),
            r"input's 3 channels must be evenly divisible by groups=2",
        ),
        (
            lambda: conv2d_transpose(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), strides=(1, 2), dilation_rate=2),
            r"conv2d_transpose: strides > 1 is not supported together with dilation_rate > 1",
        ),
        (
            lambda: conv2d_transpose(np.ones((1, 1, 1, 1)), np.ones((2, 2, 1, 1)), padding="same", output_padding=0),
            r"conv2d_transpose: the output size would be 0x0",
        ),
        (lambda: conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), padding="full"), "padding"),
        (lambda: conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), data_format="nhwc"), "data_format"),
        (lambda: conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), strides=(1, 2, 3)), "strides"),
        (lambda: conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), strides=0), "strides"),
        (lambda: conv2d(np.ones((1, 4, 4, 1), complex), np.ones((3, 3, 1, 1))), "real"),
        (
            lambda: conv2d_transpose(np.ones((1, 4, 4, 3)), np.ones((3, 3, 3, 2))),
            r"\(3, 3, 3, 2\).*\(1, 4, 4, 3\)",
        ),
        (
            lambda: conv2d_transpose(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), strides=2, output_padding=2),
            "output_padding must be smaller than strides",
        ),
    ],
)
def test_invalid_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_channels_first_matches_channels_last():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 6, 5, 4))
    k = rng.standard_normal((3, 2, 4, 3))
    last = conv2d(x, k, strides=(2, 1), padding="same")
    first = conv2d(x.transpose(0, 3, 1, 2), k, strides=(2, 1), padding="same", data_format="channels_first")
    np.testing.assert_allclose(first, last.transpose(0, 3, 1, 2), rtol=1e-12)
    assert first.flags.c_contiguous


def test_empty_batch():
    assert conv2d(np.ones((0, 5, 5, 2)), np.ones((3, 3, 2, 4))).shape == (0, 3, 3, 4)
    assert conv2d_transpose(np.ones((0, 5, 5, 2)), np.ones((3, 3, 4, 2))).shape == (0, 7, 7, 4)


# --------------------------------------------------------------------------
# Keras's geometry rules: the kernels refuse what the layers refuse, with the same words
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, input_shape, call",
    [
        ("Conv2D(1, 3, strides=2, dilation_rate=2)", (9, 9, 1),
         lambda: conv2d(np.ones((1, 9, 9, 1)), np.ones((3, 3, 1, 1)), strides=2, dilation_rate=2)),
        ("Conv2D(3, 3, groups=2)", (8, 8, 4),
         lambda: conv2d(np.ones((1, 8, 8, 4)), np.ones((3, 3, 2, 3)), groups=2)),
        ("Conv2D(4, 3, groups=2)", (8, 8, 3),
         lambda: conv2d(np.ones((1, 8, 8, 3)), np.ones((3, 3, 1, 4)), groups=2)),
        ("Conv2D(1, 5, dilation_rate=2)", (8, 8, 1),
         lambda: conv2d(np.ones((1, 8, 8, 1)), np.ones((5, 5, 1, 1)), dilation_rate=2)),
        ("Conv2DTranspose(1, 3, strides=(2, 1), output_padding=(1, 1))", (4, 4, 1),
         lambda: conv2d_transpose(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), strides=(2, 1),
                                  output_padding=(1, 1))),
        ("Conv2DTranspose(1, 2, padding='same', output_padding=0)", (1, 1, 1),
         lambda: conv2d_transpose(np.ones((1, 1, 1, 1)), np.ones((2, 2, 1, 1)), padding="same", output_padding=0)),
    ],
    ids=["strides-with-dilation", "groups-filters", "groups-channels", "output-not-positive",
         "output-padding", "transpose-output-not-positive"],
)
def test_kernels_and_layers_share_each_rule(spec, input_shape, call):
    from convcalc.config import DataFormat
    from convcalc.errors import ConvcalcError
    from convcalc.stack import compute_stack

    with pytest.raises(ConvcalcError) as layer_error:
        compute_stack([spec], DataFormat("channels_last", "test"), input_shape)
    with pytest.raises(ValueError) as kernel_error:
        call()
    rule = layer_error.value.message.rstrip(".")
    # the channels rule echoes the input shape, which has the batch axis in the kernels' call
    rule = rule.replace(f"input shape {input_shape}", f"input shape {(1, *input_shape)}")
    assert rule in str(kernel_error.value)


# --------------------------------------------------------------------------
# The fast paths of issue 12: each equals the naive reference
# --------------------------------------------------------------------------

PATHS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _plan(kind, x, kernel, kw, budget=None):
    """The plan the fast kernel makes for these arguments (which method, which chunks)."""
    in_place = x.flags.c_contiguous and kw["data_format"] == "channels_last" and x.dtype in (np.float32, np.float64)
    if kind == "conv2d":
        g = kernels._conv2d_geometry(
            x.shape, kernel.shape, None, kw.get("strides", 1), kw["padding"], kw.get("dilation_rate", 1),
            kw.get("groups", 1), kw["data_format"], x.dtype,
        )
        return kernels._conv2d_plan(g, in_place, budget)
    g = kernels._conv2d_transpose_geometry(
        x.shape, kernel.shape, None, kw.get("strides", 1), kw["padding"], kw.get("output_padding"),
        kw.get("dilation_rate", 1), kw["data_format"], x.dtype,
    )
    return kernels._conv2d_transpose_plan(g, in_place, budget)


def _random_input(draw, channels, data_format, dtype, max_size=9):
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, max_size)), draw(st.integers(1, max_size))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (n, h, w, channels) if data_format == "channels_last" else (n, channels, h, w)
    return rng, rng.standard_normal(shape).astype(dtype)


@PATHS
@given(st.data())
def test_winograd_equals_naive(data):
    """3x3 stride-1 Conv2D by Winograd F(2x2, 3x3), odd sizes and chunk bounds included, to 1e-4 in float32."""
    kw = dict(padding=data.draw(st.sampled_from(["valid", "same"])),
              data_format=data.draw(st.sampled_from(["channels_last", "channels_first"])))
    channels, filters = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    rng, x = _random_input(data.draw, channels, kw["data_format"], dtype)
    if min(spatial(kw, x)) < 3 and kw["padding"] == "valid":
        return
    kernel = rng.standard_normal((3, 3, channels, filters)).astype(dtype)
    bias = rng.standard_normal(filters).astype(dtype)
    # Whole samples, bands of two rows (chunk target 1 byte), or a bound too small for Winograd (im2col).
    target, budget = data.draw(st.sampled_from([(2**20, None), (1, None), (2**20, 1)]))
    with mock.patch.object(kernels, "_WINOGRAD_MIN_CHANNELS", 1), \
            mock.patch.object(kernels, "_WINOGRAD_MIN_IMAGE_TILES", 1), \
            mock.patch.object(kernels, "_WINOGRAD_MIN_TILES", 1), \
            mock.patch.object(kernels, "_GATHER_MIN_CHANNEL_RATIO", 10**9), \
            mock.patch.object(kernels, "_WINOGRAD_CHUNK_BYTES", target):
        plan = _plan("conv2d", x, kernel, kw, budget)
        got = conv2d(x, kernel, bias, **kw, max_scratch_bytes=budget)
    assert (plan.method == "winograd") == (budget is None)
    if target == 1:
        assert plan.rows == min(2, got.shape[2 if kw["data_format"] == "channels_first" else 1]) and plan.samples == 1
    expected = conv2d_naive(x, kernel, bias, **kw)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOLERANCE[dtype])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_winograd_at_its_default_threshold_float32(data_format):
    """Real channel counts (Winograd's own choice), float32 against the float64 reference: within 1e-4 relative."""
    rng = np.random.default_rng(12)
    x = rng.standard_normal((1, 29, 28, 128)).astype(np.float32)
    if data_format == "channels_first":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    kernel = (rng.standard_normal((3, 3, 128, 128)) / 34).astype(np.float32)
    kw = dict(padding="same", data_format=data_format)
    assert _plan("conv2d", x, kernel, kw).method == "winograd"
    got = conv2d(x, kernel, **kw)
    expected = conv2d_naive(x.astype(np.float64), kernel.astype(np.float64), **kw)
    assert np.max(np.abs(got - expected)) <= 1e-4 * np.max(np.abs(expected))


@PATHS
@given(st.data())
def test_stride_1_transpose_is_a_flipped_direct_convolution(data):
    """Stride-1 Conv2DTranspose through the Conv2D path (im2col, GEMM or Winograd) equals the naive definition.

    The direct path is forced ("valid" normally keeps the scatter-adds when the output is much larger).
    """
    kw = dict(padding=data.draw(st.sampled_from(["valid", "same"])),
              data_format=data.draw(st.sampled_from(["channels_last", "channels_first"])),
              dilation_rate=data.draw(st.sampled_from([1, 2, (1, 3)])),
              output_padding=data.draw(st.sampled_from([None, 0])))
    # The direct path is taken with no more input channels than filters (or Winograd).
    channels = data.draw(st.integers(1, 4))
    filters = data.draw(st.integers(channels, 5))
    size = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    rng, x = _random_input(data.draw, channels, kw["data_format"], dtype, max_size=7)
    kernel = rng.standard_normal((*size, filters, channels)).astype(dtype)
    bias = rng.standard_normal(filters).astype(dtype) if data.draw(st.booleans()) else None
    if min(conv2d_transpose_expected_size(x, kernel, {**kw, "strides": 1})) <= 0:
        return  # "same" with an even kernel and output_padding=0 on one pixel: Keras rejects it too
    budget = data.draw(st.sampled_from([None, 1, 3000]))
    winograd = data.draw(st.booleans())
    with mock.patch.object(kernels, "_WINOGRAD_MIN_CHANNELS", 1 if winograd else 10**9), \
            mock.patch.object(kernels, "_WINOGRAD_MIN_IMAGE_TILES", 1), \
            mock.patch.object(kernels, "_WINOGRAD_MIN_TILES", 1), \
            mock.patch.object(kernels, "_DIRECT_TRANSPOSE_GROWTH", 10**9):
        assert _plan("transpose", x, kernel, kw, budget).method != "gemm-scatter"
        got = conv2d_transpose(x, kernel, bias, **kw, max_scratch_bytes=budget)
    expected = conv2d_transpose_naive(x, kernel, bias, **kw)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOLERANCE[dtype])


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["winograd", "transpose"]), st.data())
def test_memory_estimate_bounds_the_new_paths(path, data):
    """tracemalloc's peak stays within conv2d_memory / conv2d_transpose_memory for Winograd and flipped paths."""
    kw = dict(padding=data.draw(st.sampled_from(["valid", "same"])),
              data_format=data.draw(st.sampled_from(["channels_last", "channels_first"])))
    channels, filters = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int32]))
    rng, x = _random_input(data.draw, channels, kw["data_format"], np.float64, max_size=12)
    x = (x * 4).astype(dtype)
    shape = (3, 3, channels, filters) if path == "winograd" else (3, 3, filters, channels)
    kernel = rng.standard_normal(shape)
    fast, memory = (conv2d, conv2d_memory) if path == "winograd" else (conv2d_transpose, conv2d_transpose_memory)
    if path == "winograd" and min(spatial(kw, x)) < 3 and kw["padding"] == "valid":
        return
    budget = data.draw(st.sampled_from([None, 9000, 40000]))
    parallel_items = data.draw(st.sampled_from([1, kernels._MIN_PARALLEL_ITEMS]))
    with mock.patch.object(kernels, "_WINOGRAD_MIN_CHANNELS", 1), \
            mock.patch.object(kernels, "_WINOGRAD_MIN_IMAGE_TILES", 1), \
            mock.patch.object(kernels, "_WINOGRAD_MIN_TILES", 2), \
            mock.patch.object(kernels, "_DIRECT_TRANSPOSE_GROWTH", 10**9), \
            mock.patch.object(kernels, "_MIN_PARALLEL_ITEMS", parallel_items):
        estimate = memory(x.shape, kernel.shape, **kw, dtype=x.dtype, max_scratch_bytes=budget)
        peaks = []
        tracemalloc.start()
        try:
            for _ in range(2):
                kernels.release_scratch()
                tracemalloc.reset_peak()
                before, _ = tracemalloc.get_traced_memory()
                fast(x, kernel, None, **kw, max_scratch_bytes=budget)
                peaks.append(tracemalloc.get_traced_memory()[1] - before)
        finally:
            tracemalloc.stop()
    assert min(peaks) <= estimate + 16 * 1024


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv2d_case(), st.sampled_from([0, 10**6]), st.sampled_from([None, 1]))
def test_both_im2col_layouts_equal_naive(case, max_run, budget):
    """im2col gathered pixel-major (many channels) or taps-major (few channels), forced either way."""
    x, kernel, bias, kw = case
    if min(conv2d_expected_size(x, kernel, kw)) <= 0:
        return
    with mock.patch.object(kernels, "_TAPS_MAJOR_MAX_RUN", max_run), \
            mock.patch.object(kernels, "_WINOGRAD_MIN_CHANNELS", 10**9), \
            mock.patch.object(kernels, "_GATHER_MIN_CHANNEL_RATIO", 10**9):
        got = conv2d(x, kernel, bias, **kw, max_scratch_bytes=budget)
    np.testing.assert_allclose(got, conv2d_naive(x, kernel, bias, **kw), **TOLERANCE[x.dtype.type])


@pytest.mark.parametrize(
    "x_shape, kernel_shape, kw, direct",
    [
        ((1, 20, 20, 8), (3, 3, 8, 8), dict(padding="same"), True),  # output = input
        ((1, 20, 20, 32), (3, 3, 16, 32), dict(padding="same"), False),  # more to gather than to scatter
        ((1, 6, 6, 32), (5, 5, 32, 32), dict(), False),  # 10x10 from 6x6: per-input scatter is cheaper
        ((2, 4, 4, 32), (3, 3, 32, 32), dict(strides=2), False),  # strided: scatter-adds
        ((4, 30, 30, 128), (3, 3, 128, 128), dict(), True),  # valid, but Winograd
        # measured (benchmarks/kernels.py's timing):
        ((4, 14, 14, 1), (3, 3, 64, 1), dict(), True),  # one input channel: 8x faster direct
        ((2, 28, 28, 16), (5, 5, 32, 16), dict(), True),  # few input channels: 1.7x
        ((1, 28, 28, 32), (7, 7, 256, 32), dict(), True),  # 34x34 from 28x28, 8x the filters: 1.3x
        ((2, 14, 14, 64), (5, 5, 128, 64), dict(), False),  # 18x18 from 14x14: scatter 1.3x faster
    ],
)
def test_which_transpose_path(x_shape, kernel_shape, kw, direct):
    x = np.zeros(x_shape, dtype=np.float32)
    kw = dict(kw, data_format="channels_last", padding=kw.get("padding", "valid"))
    plan = _plan("transpose", x, np.zeros(kernel_shape), kw)
    assert (plan.method != "gemm-scatter") == direct


def test_scratch_is_kept_for_the_next_call_up_to_its_bound(monkeypatch):
    """A second identical call allocates only its output; over the bound nothing is kept."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 17, 15, 8)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 8, 8)).astype(np.float32)
    out_bytes = 2 * 17 * 15 * 8 * 4

    def allocated() -> int:
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            y = conv2d(x, kernel, padding="same")
            return tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
            np.testing.assert_allclose(y, conv2d_naive(x, kernel, padding="same"), **TOLERANCE[np.float32])

    kernels.release_scratch()
    conv2d(x, kernel, padding="same")
    assert allocated() < out_bytes + 16 * 1024
    monkeypatch.setattr(kernel_threads, "_KEEP_SCRATCH_BYTES", 0)
    conv2d(x, kernel, padding="same")
    assert allocated() > out_bytes + 16 * 1024


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    "kernel_shape, kw",
    [
        ((3, 3, 8, 6), dict(padding="same")),  # im2col, pixel-major
        ((5, 5, 2, 6), dict(strides=2, padding="valid")),  # im2col, taps-major
        ((2, 3, 4, 6), dict(groups=2, dilation_rate=2, padding="valid")),  # grouped
        ((3, 3, 8, 6), dict(padding="same", winograd=True)),
    ],
    ids=["im2col", "taps-major", "grouped", "winograd"],
)
def test_chunks_computed_by_several_threads_at_once(monkeypatch, data_format, kernel_shape, kw):
    """Chunks shared among worker threads (each with its own buffers): same numbers, memory within the estimate."""
    monkeypatch.setattr(kernels, "_thread_count", lambda: 3)
    monkeypatch.setattr(kernels, "_MIN_SPLIT_MACS", 1)
    if kw.pop("winograd", False):
        monkeypatch.setattr(kernels, "_WINOGRAD_MIN_CHANNELS", 1)
        monkeypatch.setattr(kernels, "_WINOGRAD_MIN_IMAGE_TILES", 1)
        monkeypatch.setattr(kernels, "_WINOGRAD_MIN_TILES", 1)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 19, 17, kernel_shape[2] * kw.get("groups", 1))).astype(np.float32)
    if data_format == "channels_first":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    kw["data_format"] = data_format
    kernel = rng.standard_normal(kernel_shape).astype(np.float32)
    bias = rng.standard_normal(kernel_shape[3]).astype(np.float32)
    expected = conv2d_naive(x, kernel, bias, **kw)
    for budget in (None, 500_000):  # one chunk per worker; small chunks (NumPy's buffers alone take ~300 kB)
        plan = _plan("conv2d", x, kernel, kw, budget)
        assert plan.workers >= 2
        kernels.release_scratch()
        got, peak = traced_peak(lambda: conv2d(x, kernel, bias, **kw, max_scratch_bytes=budget))
        np.testing.assert_allclose(got, expected, **TOLERANCE[np.float32])
        assert peak <= conv2d_memory(x.shape, kernel.shape, **kw, max_scratch_bytes=budget) + 16 * 1024


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_dilated_convolution_by_space_to_batch_equals_naive(data):
    """Dilated stride-1 Conv2D over its phase sub-images (Winograd on each), odd sizes, TF's asymmetric "same".

    Also checks the memory estimate with tracemalloc, and that a bound too small for the sub-images falls
    back to the direct (dilated im2col) path with the same numbers.
    """
    kw = dict(padding=data.draw(st.sampled_from(["valid", "same"])),
              data_format=data.draw(st.sampled_from(["channels_last", "channels_first"])),
              dilation_rate=data.draw(st.sampled_from([2, 3, (2, 3), (1, 2)])))
    channels, filters = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    rng, x = _random_input(data.draw, channels, kw["data_format"], dtype, max_size=11)
    dh, dw = kernel_geometry._pair(kw["dilation_rate"], "dilation_rate", 1)
    if kw["padding"] == "valid" and (spatial(kw, x)[0] < 2 * dh + 1 or spatial(kw, x)[1] < 2 * dw + 1):
        return
    kernel = rng.standard_normal((3, 3, channels, filters)).astype(dtype)
    bias = rng.standard_normal(filters).astype(dtype) if data.draw(st.booleans()) else None
    # No bound (sub-images of whole batches), a tight one (chunks of fewer samples, or the direct path), none fits.
    budget = data.draw(st.sampled_from([None, 700_000, 1]))
    with mock.patch.object(kernels, "_WINOGRAD_MIN_CHANNELS", 1), \
            mock.patch.object(kernels, "_WINOGRAD_MIN_IMAGE_TILES", 1), \
            mock.patch.object(kernels, "_WINOGRAD_MIN_TILES", 1), \
            mock.patch.object(kernels, "_GATHER_MIN_CHANNEL_RATIO", 10**9), \
            mock.patch.object(kernels, "_GEMM_CHUNK_BYTES", data.draw(st.sampled_from([1, 2**20]))):
        plan = _plan("conv2d", x, kernel, kw, budget)
        _fast_within_estimate_equals_naive(x, kernel, bias, kw, budget, dtype)
    if budget != 700_000:
        assert (plan.method == "space_to_batch") == (budget is None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_strided_depthwise_by_column_phases_equals_naive(data):
    """Depthwise Conv2D with stride 2 along columns, read from even and odd columns apart (padded or cast input).

    Multipliers, row strides, chunks of a few rows, both data formats; the memory estimate holds (tracemalloc).
    """
    kw = dict(padding=data.draw(st.sampled_from(["valid", "same"])),
              data_format=data.draw(st.sampled_from(["channels_last", "channels_first"])),
              strides=(data.draw(st.integers(1, 3)), 2))
    channels, multiplier = data.draw(st.integers(2, 4)), data.draw(st.integers(1, 2))
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int32]))
    rng, x = _random_input(data.draw, channels, kw["data_format"], np.float64, max_size=11)
    x = (x * 4).astype(dtype)
    kh, kwidth = data.draw(st.integers(1, 4)), data.draw(st.integers(2, 5))
    if kw["padding"] == "valid" and (spatial(kw, x)[0] < kh or spatial(kw, x)[1] < kwidth):
        return
    kernel = rng.standard_normal((kh, kwidth, 1, channels * multiplier))
    bias = rng.standard_normal(channels * multiplier) if data.draw(st.booleans()) else None
    kw["groups"] = channels
    budget = data.draw(st.sampled_from([None, 4000]))
    with mock.patch.object(kernels, "_MIN_PARALLEL_ITEMS", data.draw(st.sampled_from([1, 1 << 16]))), \
            mock.patch.object(kernels, "_depthwise_einsum", lambda g: False), \
            mock.patch.object(kernels, "_depthwise_rows", lambda g: False), \
            mock.patch.dict(kernel_geometry._cache, clear=True):  # plans made with the rule are remembered
        # One filter per channel read in place goes tap by tap over views instead (next test).
        in_place = multiplier == 1 and x.flags.c_contiguous and kw["data_format"] == "channels_last" \
            and x.dtype != np.int32
        assert _plan("conv2d", x, kernel, kw, budget).method == ("depthwise_views" if in_place else "depthwise")
        _fast_within_estimate_equals_naive(x, kernel, bias, kw, budget, np.float64 if dtype == np.float64 else np.float32)


def _fast_within_estimate_equals_naive(x, kernel, bias, kw, budget, tolerance) -> None:
    """conv2d allocates no more than conv2d_memory says (tracemalloc) and equals conv2d_naive."""
    estimate = conv2d_memory(x.shape, kernel.shape, **kw, dtype=x.dtype, max_scratch_bytes=budget)
    kernels.release_scratch()
    got, peak = traced_peak(lambda: conv2d(x, kernel, bias, **kw, max_scratch_bytes=budget))
    assert peak <= estimate + 16 * 1024
    expected = conv2d_naive(x, kernel, bias, **kw)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOLERANCE[tolerance])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_depthwise_read_in_place_equals_naive(data):
    """One filter per channel, channels_last float input: tap by tap over views of the input, each tap only
    over the output pixels it reaches (no padded copy).  Any strides, dilations, kernel sizes (taps wholly in
    the padding, no tap reaching every pixel), chunks of a few rows, several threads; the memory estimate
    holds (tracemalloc)."""
    dilation = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    strides = (1, 1) if max(dilation) > 1 else (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    kw = dict(padding=data.draw(st.sampled_from(["valid", "same"])), data_format="channels_last",
              strides=strides, dilation_rate=dilation)
    channels = data.draw(st.integers(2, 5))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    rng, x = _random_input(data.draw, channels, "channels_last", dtype, max_size=11)
    kh, kwidth = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    out_size = conv2d_expected_size(x, np.zeros((kh, kwidth, 1, channels)), kw)
    if min(out_size) < 1:
        return
    kernel = rng.standard_normal((kh, kwidth, 1, channels)).astype(dtype)
    bias = rng.standard_normal(channels).astype(dtype) if data.draw(st.booleans()) else None
    kw["groups"] = channels
    budget = data.draw(st.sampled_from([None, 3000]))
    with mock.patch.object(kernels, "_MIN_PARALLEL_ITEMS", data.draw(st.sampled_from([1, 1 << 16]))), \
            mock.patch.object(kernels, "_DEPTHWISE_VIEW_CHUNK_BYTES", data.draw(st.sampled_from([1, 2**23]))), \
            mock.patch.object(kernels, "_depthwise_einsum", lambda g: False), \
            mock.patch.object(kernels, "_depthwise_rows", lambda g: False), \
            mock.patch.dict(kernel_geometry._cache, clear=True):  # plans made with the rule are remembered
        assert _plan("conv2d", x, kernel, kw, budget).method == "depthwise_views"
        _fast_within_estimate_equals_naive(x, kernel, bias, kw, budget, dtype)


def _depthwise_einsum_case(data, method: str, multipliers: int) -> None:
    """A random depthwise Conv2D (any strides, dilations, kernel sizes, both data formats, cast inputs, chunks of
    a few rows, one or several threads) planned with ``method`` (the rules patched to take it), against the loop
    reference, within its memory estimate (tracemalloc)."""
    dilation = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    strides = (1, 1) if max(dilation) > 1 else (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    kw = dict(padding=data.draw(st.sampled_from(["valid", "same"])),
              data_format=data.draw(st.sampled_from(["channels_last", "channels_first"])),
              strides=strides, dilation_rate=dilation)
    channels, multiplier = data.draw(st.integers(2, 5)), data.draw(st.integers(1, multipliers))
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int32]))
    rng, x = _random_input(data.draw, channels, kw["data_format"], np.float64, max_size=11)
    x = (x * 4).astype(dtype)
    kh, kwidth = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    if min(conv2d_expected_size(x, np.zeros((kh, kwidth, 1, channels)), kw)) < 1:
        return
    kernel = rng.standard_normal((kh, kwidth, 1, channels * multiplier))
    bias = rng.standard_normal(channels * multiplier) if data.draw(st.booleans()) else None
    kw["groups"] = channels
    budget = data.draw(st.sampled_from([None, 3000]))
    rules = {"depthwise_rows": (False, True), "depthwise_einsum": (True, False)}[method]
    with mock.patch.object(kernels, "_MIN_PARALLEL_ITEMS", data.draw(st.sampled_from([1, 1 << 16]))), \
            mock.patch.object(kernels, "_DEPTHWISE_CHUNK_BYTES", data.draw(st.sampled_from([1, 2**22]))), \
            mock.patch.object(kernels, "_depthwise_einsum", lambda g: rules[0]), \
            mock.patch.object(kernels, "_depthwise_rows", lambda g: rules[1] and _DEPTHWISE_ROWS_RULE(g)), \
            mock.patch.dict(kernel_geometry._cache, clear=True):  # plans made with the real rules are remembered
        assert _plan("conv2d", x, kernel, kw, budget).method == method
        _fast_within_estimate_equals_naive(x, kernel, bias, kw, budget, np.float64 if dtype == np.float64 else np.float32)


_DEPTHWISE_ROWS_RULE = kernels._depthwise_rows  # unpatched: the rows path also needs its own conditions


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_depthwise_by_einsum_equals_naive(data):
    """Depthwise Conv2D with every tap of a pixel summed in one einsum, depth multipliers included."""
    _depthwise_einsum_case(data, "depthwise_einsum", multipliers=3)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_depthwise_by_einsum_over_rows_equals_naive(data):
    """Depthwise Conv2D, one filter per channel: every tap summed over whole output rows by one einsum, strided
    columns read from the input's column phases (taps past the kernel in the last phase)."""
    with mock.patch.object(kernels, "_DEPTHWISE_ROWS_STRIDED_CHANNELS", 10**9):
        _depthwise_einsum_case(data, "depthwise_rows", multipliers=1)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_products_gathered_tap_by_tap_equal_naive(data):
    """Stride-1 Conv2D computed as every input pixel times every tap (one batched GEMM), each tap's products
    then added over the output pixels whose input they are: any dilations, kernel sizes (taps wholly in the
    padding), both data formats, cast inputs, bands of a few rows (recomputing the rows they share); the
    memory estimate holds (tracemalloc)."""
    dilation = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    kw = dict(padding=data.draw(st.sampled_from(["valid", "same"])),
              data_format=data.draw(st.sampled_from(["channels_last", "channels_first"])), strides=1,
              dilation_rate=dilation)
    channels, filters = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 4))
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int32]))
    rng, x = _random_input(data.draw, channels, kw["data_format"], np.float64, max_size=11)
    x = (x * 4).astype(dtype)
    kh, kwidth = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    if (kh, kwidth) == (1, 1) or min(conv2d_expected_size(x, np.zeros((kh, kwidth, channels, filters)), kw)) < 1:
        return
    kernel = rng.standard_normal((kh, kwidth, channels, filters))
    bias = rng.standard_normal(filters) if data.draw(st.booleans()) else None
    budget = data.draw(st.sampled_from([None, 3000, 20000]))
    with mock.patch.object(kernels, "_GATHER_MIN_CHANNEL_RATIO", 0), \
            mock.patch.object(kernels, "_GEMM_CHUNK_BYTES", data.draw(st.sampled_from([1, 2**20]))):
        assert _plan("conv2d", x, kernel, kw, budget).method == "gemm_gather"
        _fast_within_estimate_equals_naive(x, kernel, bias, kw, budget, np.float64 if dtype == np.float64 else np.float32)


@pytest.mark.parametrize("x_shape, kernel_shape, gather", [
    ((2, 28, 28, 256), (3, 3, 256, 16), True),  # measured 2.5x faster than im2col
    ((2, 28, 28, 64), (5, 5, 64, 32), True),  # 2.0x
    ((1, 32, 32, 256), (3, 3, 256, 64), True),  # 1.4x faster than Winograd
    ((8, 56, 56, 64), (3, 3, 64, 64), False),  # as many filters as channels: Winograd 1.4x faster
    ((4, 32, 32, 32), (3, 3, 32, 32), False),  # im2col 1.4x faster
    ((8, 14, 14, 256), (1, 1, 256, 16), False),  # 1x1: one GEMM on the input itself
])
def test_which_conv2d_multiplies_first(x_shape, kernel_shape, gather):
    kw = dict(padding="same", data_format="channels_last")
    plan = _plan("conv2d", np.zeros(x_shape, np.float32), np.zeros(kernel_shape, np.float32), kw)
    assert (plan.method == "gemm_gather") == gather


@pytest.mark.parametrize("shape, kernel, strides, method", [
    # stride 1 along the columns: einsum over whole rows
    ((8, 56, 56, 64), 3, 1, "depthwise_rows"),
    ((2, 112, 112, 32), 5, (2, 1), "depthwise_rows"),
    ((1, 7, 7, 576), 3, 1, "depthwise_rows"),
    ((1, 224, 224, 512), 7, 1, "depthwise_einsum"),  # the kernel along a row would take 22 MiB
    # strided columns: over whole rows from column phases for few channels, else einsum per pixel
    ((2, 112, 112, 32), 5, 2, "depthwise_rows"),
    ((4, 56, 56, 64), 3, (1, 2), "depthwise_rows"),
    ((1, 28, 28, 144), 3, 2, "depthwise_einsum"),
    ((4, 28, 28, 384), 3, (1, 2), "depthwise_einsum"),
])
def test_depthwise_method_where_measured_fastest(shape, kernel, strides, method):
    """The rules of _depthwise_rows and _depthwise_einsum on layers measured all three ways
    (benchmarks/kernels.py's timing)."""
    channels = shape[3]
    plan = _plan("conv2d", np.zeros(shape, np.float32), np.zeros((kernel, kernel, 1, channels), np.float32),
                 dict(padding="same", strides=strides, groups=channels, data_format="channels_last"), None)
    assert plan.method == method


def test_depthwise_taps_reach_only_the_pixels_whose_input_they_read():
    """formulas.taps_inside against a brute-force scan of output positions, and the whole-image tap first."""
    from convcalc import depthwise

    for out_len in range(0, 7):
        for in_len in range(1, 7):
            for before in range(0, 4):
                for offset in range(0, 7):
                    for stride in range(1, 4):
                        inside = [i for i in range(out_len) if 0 <= i * stride + offset - before < in_len]
                        first, end = formulas.taps_inside(out_len, in_len, before, offset, stride)
                        assert list(range(first, end)) == inside
    taps = depthwise.taps_in_order((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), (5, 5), (5, 5))
    assert taps[0] == (1, 1, (0, 5), (0, 5)) and len(taps) == 9
    # A 1x1 image under a 'same' 3x3 kernel: only the centre tap reads it.
    assert depthwise.taps_in_order((3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), (1, 1), (1, 1)) == [
        (1, 1, (0, 1), (0, 1))]


def test_remembered_geometry_and_plan_follow_the_arguments_and_tuning(monkeypatch):
    """A call with arguments equal to a remembered one but of another type is checked afresh (True is not 1),
    lists work like tuples, and changing a tuning constant or the thread count gives a new plan."""
    x, kernel = np.ones((1, 6, 6, 2), np.float32), np.ones((3, 3, 1, 2), np.float32)
    expected = conv2d_naive(x, kernel, groups=2, strides=[1, 2])
    np.testing.assert_allclose(conv2d(x, kernel, groups=2, strides=[1, 2]), expected)
    np.testing.assert_allclose(conv2d(x, kernel, groups=2, strides=(1, 2)), expected)
    with pytest.raises(ValueError, match="groups"):
        conv2d(np.ones((1, 6, 6, 1)), np.ones((3, 3, 1, 2)), groups=True)
    conv2d(np.ones((1, 6, 6, 1)), np.ones((3, 3, 1, 2)), groups=1)
    with pytest.raises(ValueError, match="groups"):
        conv2d(np.ones((1, 6, 6, 1)), np.ones((3, 3, 1, 2)), groups=True)
    g = kernels._conv2d_geometry((8, 20, 20, 64), (3, 3, 64, 64), None, 1, "same", 1, 1, "channels_last", np.float32)
    assert kernels._plan_for(kernels._conv2d_plan, g, True, None).method == "im2col"
    monkeypatch.setattr(kernels, "_WINOGRAD_MIN_IMAGE_TILES", 1)
    assert kernels._plan_for(kernels._conv2d_plan, g, True, None).method == "winograd"
    workers = kernels._plan_for(kernels._conv2d_plan, g, True, None).workers
    monkeypatch.setattr(kernels, "_thread_count", lambda: workers + 1)
    assert kernels._plan_for(kernels._conv2d_plan, g, True, None) == kernels._conv2d_plan(g, True, None)
