"""NumPy Conv2D and Conv2DTranspose, computed as Keras 3 (TensorFlow) computes them.

Two implementations of each, side by side:

- ``conv2d_naive`` / ``conv2d_transpose_naive`` (from ``naive_kernels``):
  readable loops, the reference the tests and the benchmark compare against.
- ``conv2d`` / ``conv2d_transpose`` (public, SPEC 4): the same numbers from
  BLAS matrix products.  Conv2D gathers each chunk's windows into a matrix
  (im2col: pixel-major, or taps-major for few input channels) and does one
  GEMM per chunk; a 1x1 stride-1 convolution is one GEMM on the input
  itself; a stride-1 one with at least twice as many input channels as
  filters multiplies every input pixel by every tap first (one batched
  GEMM) and adds each tap's products over the pixels they reach (moving
  kh*kw*filters numbers per pixel instead of im2col's kh*kw*c_in); a 3x3
  stride-1 one with enough channels uses Winograd F(2x2, 3x3)
  (16 GEMMs per chunk of 4x4 tiles, 2.25x fewer multiplications; the
  transforms only add and halve, so float32 stays within a few ulps),
  and so does a dilated stride-1 one, split into its dilation phases
  (space-to-batch, as TensorFlow does: each phase sub-image is an undilated
  convolution); depthwise convolutions have no channel sum for BLAS: one
  einsum call sums every tap over whole output rows (a multiply-add along
  runs of ``ow * c`` numbers; strided columns read from the input's column
  phases), or per pixel (strided layers of many channels), or, with depth
  multipliers, tap by tap.
  Conv2DTranspose does one batched GEMM per chunk and scatter-adds each
  kernel tap's products into a strided slice of the output (no zero
  insertion); with stride 1 it is a direct convolution with the flipped
  kernel and goes through Conv2D's path when that is cheaper.  Chunks are
  computed by several threads at once (BLAS runs the small GEMMs of a
  chunk on one thread), each with its own buffers; the element-wise work of
  one chunk (depthwise taps, window gathering) is split over threads instead
  when chunks cannot run side by side (scatter-adds stay in one thread).

This module chooses the method and the chunks of a call and runs them; the
arguments are checked by ``kernel_geometry``, the threads and scratch buffers
are ``kernel_threads``'s, Winograd's arithmetic is ``winograd``'s and the
in-place depthwise chunks ``depthwise``'s.

Work is split into chunks (samples, then bands of rows of one sample) so that
temporary memory stays under ``max_scratch_bytes`` (default
``DEFAULT_SCRATCH_BYTES``) whatever the batch size.  Scratch buffers of up to
``_KEEP_SCRATCH_BYTES`` in all are kept for the next call in the same thread
(fresh pages are slow to touch); ``release_scratch()`` frees them.  ``conv2d_memory`` and
``conv2d_transpose_memory`` tell, from shapes alone, how many bytes a call
will allocate (its output plus its scratch), so the CLI can refuse a run
before allocating anything.  The checked geometry and the plan (method,
chunks) of recent argument combinations are remembered (``_MAX_CACHED``):
on a small layer working them out costs a tenth of the call.

Shapes and per-side padding come from ``convcalc.formulas`` only (through
``kernel_geometry``), and Keras's geometry rules from ``convcalc.rules``; a
broken rule raises ``ValueError`` naming the function.  Arrays are
float32, or float64 when the input is float64 (integers and float16 are
computed in float32).  This module imports NumPy: the shape-only path never
imports it.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import depthwise, formulas, kernel_threads
from .kernel_geometry import (
    _as_arrays, _cached, _channels_last, _conv2d_geometry, _conv2d_transpose_geometry, _Geometry,
)
from .kernel_threads import _run_chunks, _Scratch, _thread_count, release_scratch
from .naive_kernels import conv2d_naive, conv2d_transpose_naive
from .winograd import _winograd_chunk, _winograd_weights

__all__ = [
    "DEFAULT_SCRATCH_BYTES",
    "conv2d",
    "conv2d_memory",
    "conv2d_naive",
    "conv2d_scratch_bytes",
    "conv2d_transpose",
    "conv2d_transpose_memory",
    "conv2d_transpose_naive",
    "conv2d_transpose_scratch_bytes",
    "release_scratch",
]

DEFAULT_SCRATCH_BYTES = 256 * 2**20
"""Default bound on the temporary memory of one ``conv2d``/``conv2d_transpose`` call."""

# Below the hard bound, chunks are also kept near a size that measured
# fastest (benchmarks/kernels.py): a GEMM over a few samples' gathered
# windows while they are still in cache beats both one GEMM per sample and
# one over the whole batch.  The element-wise depthwise path splits each
# chunk over threads (_in_parallel): 4 MiB chunks, a sample or two of a
# MobileNet block, measured 1.0-1.3x faster than 1 MiB ones (fewer, larger
# parts per thread; 5 side-by-side runs) and than 2 MiB ones.
_GEMM_CHUNK_BYTES = 16 * 2**20
_DEPTHWISE_CHUNK_BYTES = 4 * 2**20
_DEPTHWISE_VIEW_CHUNK_BYTES = 2 * 2**20
# Depthwise sums over whole rows: chunks of this much output, side by side
# (2 MiB measured fastest among 128 KiB to 8 MiB; small ones pay per chunk).
_DEPTHWISE_ROWS_CHUNK_BYTES = 2 * 2**20
# ... but a GEMM with few rows pays more for threading than it gains.
_MIN_GEMM_ROWS = 1024
# Conv2D computes chunks in several threads at once (BLAS runs small GEMMs
# on one thread); it cuts a call into more chunks for that only down to this
# many multiply-adds (of the direct convolution) per chunk: below, handing
# work to a thread costs more than it saves.
_MIN_SPLIT_MACS = 256 * 2**20
# Winograd chunks are small, so that the transforms (memory bound) run in
# cache: a few MiB, or as many samples and rows as make this many tiles
# (the rows of its 16 GEMMs).
_WINOGRAD_CHUNK_BYTES = 2 * 2**20
_WINOGRAD_MIN_TILES = 192
# Winograd needs this many input channels and filters to beat im2col + GEMM,
# and below the second number also images of this many tiles (40x40 pixels).
_WINOGRAD_MIN_CHANNELS = 48
_WINOGRAD_WIDE_CHANNELS = 128
_WINOGRAD_MIN_IMAGE_TILES = 400
# A stride-1 Conv2D with at least this many times as many input channels as
# filters multiplies first and adds the products up (see _gathers_products).
_GATHER_MIN_CHANNEL_RATIO = 2
# Windows whose rows hold at most this many numbers (kw * channels) are
# gathered taps-major (see _im2col_taps_chunk).
_TAPS_MAJOR_MAX_RUN = 16
# A stride-1 Conv2DTranspose runs as a direct convolution when its output
# has at most this many times the input's pixels (and no more input channels
# than filters), or with at most this many input channels (see _direct_geometry).
_DIRECT_TRANSPOSE_GROWTH = 1.5
_DIRECT_TRANSPOSE_CHANNELS = 16
# The depthwise kernel is widened to whole rows, (ow, m, c) per tap, so that
# NumPy's element-wise loops run over ow*c contiguous numbers instead of c,
# unless that copy would be larger than this.
_WIDE_TAPS_BYTES = 4 * 2**20
# A depthwise Conv2D sums its taps over whole output rows (see _depthwise_rows),
# with strided columns only below this many channels; ...
_DEPTHWISE_ROWS_STRIDED_CHANNELS = 96
# ... else per pixel in one einsum (see _depthwise_einsum) with outputs of at
# most this many pixels per sample, or at least this many channels: strided,
# with a kernel of 25 taps or more, or any.
_DEPTHWISE_EINSUM_MAX_PIXELS = 256
_DEPTHWISE_EINSUM_CHANNELS = (64, 96, 384)
# Element-wise work (depthwise taps, window gathering) is split
# over threads (NumPy releases the GIL in its loops; BLAS has its own
# threads) when a chunk has at least this many numbers per thread.
_MIN_PARALLEL_ITEMS = 1 << 16
# Gathering windows (a plain copy) is split only at this many times as many:
# below, handing parts to threads cost more than they saved (3x3 valid,
# 28x28x32 -> 64, batch 2: 1.15x faster on one thread).
_GATHER_PARALLEL_FACTOR = 4

_TUNING = (
    "DEFAULT_SCRATCH_BYTES", "_GEMM_CHUNK_BYTES", "_DEPTHWISE_CHUNK_BYTES", "_DEPTHWISE_VIEW_CHUNK_BYTES",
    "_DEPTHWISE_ROWS_CHUNK_BYTES", "_MIN_GEMM_ROWS", "_MIN_SPLIT_MACS",
    "_WINOGRAD_CHUNK_BYTES", "_WINOGRAD_MIN_TILES", "_WINOGRAD_MIN_CHANNELS", "_WINOGRAD_WIDE_CHANNELS",
    "_WINOGRAD_MIN_IMAGE_TILES", "_TAPS_MAJOR_MAX_RUN", "_DIRECT_TRANSPOSE_GROWTH", "_DIRECT_TRANSPOSE_CHANNELS",
    "_WIDE_TAPS_BYTES", "_DEPTHWISE_EINSUM_MAX_PIXELS", "_DEPTHWISE_EINSUM_CHANNELS",
    "_DEPTHWISE_ROWS_STRIDED_CHANNELS", "_GATHER_MIN_CHANNEL_RATIO",
)
_tuning_values = operator.itemgetter(*_TUNING)  # their values, read in one call (small layers feel each microsecond)


def _plan_for(build: Callable, g: "_Geometry", x_contiguous_cl: bool, max_scratch_bytes) -> "_Plan":
    """``build(g, x_contiguous_cl, max_scratch_bytes)`` (a plan), remembered while the tuning constants,
    the thread count and NumPy's buffer size stay the same."""
    extra = (_tuning_values(globals()), _thread_count(), np.getbufsize())
    return _cached(build, g, x_contiguous_cl, max_scratch_bytes, exact=2, extra=extra)


# --------------------------------------------------------------------------
# Chunking: how many samples / rows per chunk, and what a chunk allocates
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """How a fast call splits its work, and what it allocates besides its output.

    A chunk is ``samples`` whole samples, or (when ``samples == 1``) a band
    of ``rows`` rows of one sample: output rows for Conv2D, input rows for
    Conv2DTranspose.  ``chunk_bytes(samples, rows)`` is exact for the
    buffers the fast code allocates; ``scratch_bytes`` adds the kernel
    matrix and NumPy's ufunc buffers to ``workers`` times the largest
    chunk's.
    """

    method: str
    samples: int
    rows: int
    scratch_bytes: int
    workers: int = 1  # chunks computed at once, each in its own thread with its own buffers
    inner_bytes: int = 0  # space_to_batch: the bound of the undilated Conv2D's plan over a chunk


def _ufunc_buffer_bytes(itemsize: int) -> int:
    """NumPy's own buffers when a ufunc broadcasts or writes a strided view (bias adds, scatter-adds).

    Up to ``np.getbufsize()`` elements for each of at most three operands, in each thread.
    """
    return 3 * np.getbufsize() * itemsize * _thread_count()


def _fits(limit: int, cost: Callable[[int], int], top: int) -> int:
    """The largest k in [1, top] with cost(k) <= limit (cost increasing), or 1."""
    lo, hi = 1, top
    if cost(top) <= limit:
        return top
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if cost(mid) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _split(
    batch: int,
    rows: int,
    chunk_bytes: Callable[[int, int], int],
    max_bytes: int,
    target: int,
    row_items: int,
    min_items: int | None = None,
) -> tuple[int, int]:
    """(samples, rows) per chunk: under max_bytes always, near target when that keeps GEMMs tall.

    row_items is the number of GEMM rows (pixels) per row of a chunk; a
    chunk has at least min_items of them (default ``_MIN_GEMM_ROWS``) if the
    hard bound allows it.
    """
    batch = max(batch, 1)
    min_items = _MIN_GEMM_ROWS if min_items is None else min_items
    min_rows = -(-min_items // row_items)
    if min_rows <= rows:
        floor_bytes = chunk_bytes(1, min_rows)
    else:
        floor_bytes = chunk_bytes(min(batch, -(-min_rows // rows)), rows)
    limit = min(max_bytes, max(target, floor_bytes))
    if chunk_bytes(1, rows) <= limit:
        return _fits(limit, lambda k: chunk_bytes(k, rows), batch), rows
    return 1, _fits(limit, lambda k: chunk_bytes(1, k), rows)


def _parallel_split(
    batch: int,
    rows: int,
    chunk_bytes: Callable[[int, int], int],
    max_bytes: int,
    target: int,
    row_items: int,
    min_items: int | None,
    min_split: int,
) -> tuple[int, int, int]:
    """(samples, rows, workers): chunks that ``workers`` threads compute at once, all under max_bytes together.

    Small GEMMs run on one thread inside BLAS, so Conv2D computes several
    chunks at once instead.  Fewer workers when the bound leaves no room for
    more; smaller chunks when there would be fewer chunks than workers,
    unless a chunk would then hold fewer than ``min_split`` GEMM rows.
    """
    batch = max(batch, 1)
    workers = _thread_count()
    while True:
        samples, chunk_rows = _split(batch, rows, chunk_bytes, max_bytes // workers, target, row_items, min_items)
        if workers == 1 or workers * chunk_bytes(samples, chunk_rows) <= max_bytes:
            break
        workers -= 1
    chunks = -(-batch // samples) * -(-rows // chunk_rows)
    if chunks < workers and batch * rows * row_items >= workers * min_split:
        if batch >= workers:
            samples, chunk_rows = -(-batch // workers), rows
        else:
            samples, chunk_rows = 1, -(-rows * batch // workers)
        chunks = -(-batch // samples) * -(-rows // chunk_rows)
    return samples, chunk_rows, max(1, min(workers, chunks))


def _scratch_limit(max_scratch_bytes) -> int:
    if max_scratch_bytes is None:
        return DEFAULT_SCRATCH_BYTES
    if (
        isinstance(max_scratch_bytes, bool)
        or not isinstance(max_scratch_bytes, (int, np.integer))
        or max_scratch_bytes < 0
    ):
        raise ValueError(f"max_scratch_bytes must be a non-negative int or None, got {max_scratch_bytes!r}")
    return int(max_scratch_bytes)


def _winograd_applies(g: _Geometry) -> bool:
    """Whether Conv2D uses Winograd F(2x2, 3x3): a 3x3 kernel, stride 1, no dilation, no groups.

    Below ``_WINOGRAD_MIN_CHANNELS`` input channels or filters the transforms
    cost more than the multiplications they save; below
    ``_WINOGRAD_WIDE_CHANNELS`` they still do on small images (fewer than
    ``_WINOGRAD_MIN_IMAGE_TILES`` tiles per sample: im2col's one large GEMM
    then wins); and with fewer than ``_WINOGRAD_MIN_TILES`` tiles in the
    batch transforming the kernel does.
    """
    image_tiles = -(-g.out_size[0] // 2) * -(-g.out_size[1] // 2)
    channels = min(g.in_channels, g.filters)
    return (
        g.kernel_size == (3, 3)
        and g.strides == (1, 1)
        and g.dilation_rate == (1, 1)
        and g.groups == 1
        and channels >= _WINOGRAD_MIN_CHANNELS
        and (channels >= _WINOGRAD_WIDE_CHANNELS or image_tiles >= _WINOGRAD_MIN_IMAGE_TILES)
        and g.batch * image_tiles >= _WINOGRAD_MIN_TILES
    )


def _winograd_chunk_bytes(g: _Geometry, samples: int, rows: int) -> int:
    """Scratch of one Winograd chunk of ``rows`` output rows (any number; odd ones get a half-empty tile row).

    The padded input (2t+2 rows, 2u+2 columns for t x u tiles), its rows
    transformed (4 x t x (2u+2)), every tile transformed (16 x t x u), the
    16 products (16 x t x u x filters), their rows transformed back (8 x t x
    u x filters), the output pixels before interleaving (4 x t x u x
    filters), and for channels_first the channels_last result.
    """
    (ow,), c, f = g.out_size[1:], g.in_channels, g.filters
    t, u = -(-rows // 2), -(-ow // 2)
    width = 2 * u + 2
    total = samples * (2 * t + 2) * width * c  # the padded input, even and odd columns apart
    total += samples * 4 * t * width * c  # rows transformed
    total += samples * 16 * t * u * c  # tiles transformed
    total += samples * 16 * t * u * f  # products
    total += samples * 8 * t * u * f  # products, rows transformed back
    total += samples * 4 * t * u * f  # output pixels, before interleaving (odd sizes)
    if g.channels_first:
        total += samples * rows * ow * f
    return total * g.dtype.itemsize


def _conv2d_plan(g: _Geometry, x_contiguous_cl: bool, max_scratch_bytes: int | None) -> _Plan:
    """Method and chunking of the fast Conv2D for this geometry."""
    max_bytes = _scratch_limit(max_scratch_bytes)
    item = g.dtype.itemsize
    (kh, kw), (sh, sw) = g.kernel_size, g.strides
    (keh, kew) = g.effective_kernel
    (oh, ow), c, f = g.out_size, g.in_channels, g.filters
    group_channels = c // g.groups
    padded_width = (ow - 1) * sw + kew
    # The input can be read in place when nothing is padded, cast or transposed.
    needs_tile = not x_contiguous_cl or any(p for pair in g.pads for p in pair)
    kernel_bytes = kh * kw * c * f // g.groups * item  # the kernel cast to the compute dtype
    if _gathers_products(g):
        return _gemm_gather_plan(g, x_contiguous_cl, max_bytes)
    if _winograd_applies(g):
        # The kernel transformed (16, c, f), and its rows transformed on the way (4, 3, c, f).
        # (and the bias repeated along a row of output pixels, (ow, f)).
        fixed = kernel_bytes + (16 + 12) * c * f * item + ow * f * item + _ufunc_buffer_bytes(item)
        tile_rows = -(-oh // 2)
        samples, tiles, workers = _parallel_split(
            g.batch, tile_rows, lambda k, t: _winograd_chunk_bytes(g, k, 2 * t), max_bytes - fixed,
            _WINOGRAD_CHUNK_BYTES, -(-ow // 2), _WINOGRAD_MIN_TILES, -(-_MIN_SPLIT_MACS // (36 * c * f)),
        )
        rows = min(2 * tiles, oh)
        scratch = workers * _winograd_chunk_bytes(g, samples, rows) + fixed
        if scratch <= max(max_bytes, 0):
            return _Plan("winograd", samples, rows, scratch, workers)
        # Not even one band of two rows fits: gather windows instead (one output row at a time).
    if _space_to_batch_geometry(g, g.batch) is not None:
        plan = _space_to_batch_plan(g, max_bytes)
        if plan is not None:
            return plan
    if g.groups > 1 and group_channels == 1:
        method = "depthwise"
    elif g.groups == 1 and kh == kw == 1 and (sh, sw) == (1, 1):
        method = "gemm"  # a 1x1 stride-1 convolution is one matrix product
    elif g.groups == 1 and c == 1 and (sh, sw) == (1, 1):
        method = "im2col_wide"  # one channel: whole padded rows, no gathering of windows
    elif g.groups == 1 and (kw * c if g.dilation_rate[1] == 1 else 2 * c) <= _TAPS_MAJOR_MAX_RUN:
        # A window row is one run of kw*c numbers, or kw runs of c when dilated: taps-major measured
        # 1.3-1.8x faster for dilated windows of up to 8 channels (7x7 dilation 2 over 3 channels: 1.8x).
        method = "im2col_taps"  # few channels: gather tap by tap, whole rows of pixels at once
    else:
        method = "im2col"

    if method == "depthwise" and _depthwise_rows(g):
        method = "depthwise_rows"
    elif method == "depthwise" and _depthwise_einsum(g):
        method = "depthwise_einsum"
    if method == "depthwise" and x_contiguous_cl and f == c and _depthwise_in_place(g):
        return _depthwise_views_plan(g, max_bytes)
    # Strided depthwise windows are read from the tile split into its column phases (see _depthwise_phases).
    tile_width = 2 * -(-padded_width // 2) if method == "depthwise" and _depthwise_phases(g) else padded_width
    if method == "depthwise_rows" and sw > 1:
        # The column phases, each long enough for the last tap's run (see _row_phases).
        needs_tile, tile_width = True, sw * (ow + _row_phases(g)[1] - 1)

    def chunk_bytes(samples: int, rows: int) -> int:
        pixels = samples * rows * ow
        total = samples * ((rows - 1) * sh + keh) * tile_width * c if needs_tile else 0
        if method == "im2col_wide":
            # The tile always, with one more row; its taps (and a row of ones) and products over the padded width.
            wide = samples * rows * padded_width
            total = samples * (rows + keh) * padded_width + wide * (kh * kw + 1) + wide * f
            return (total + (pixels * f if g.channels_first else 0)) * item
        if method == "im2col_taps":
            total += pixels * (kh * kw * c + 1)  # and a row of ones for the bias
        if method == "im2col":
            total += pixels * (kh * kw * c + (1 if g.groups == 1 else 0))  # and a column of ones for the bias
            if g.groups > 1:
                total += pixels * f  # the grouped product, before interleaving groups
        elif method == "depthwise":
            total += pixels * f  # one tap's products
            if f > c:
                total += pixels * f  # sums in (multiplier, channel) order
        if g.channels_first:
            total += pixels * f  # the channels_last result of the chunk
        return total * item

    # The kernel rearranged (see _conv2d_weights).
    if method == "depthwise_rows":
        weights_bytes = kh * math.prod(_row_phases(g)) * ow * f * item
    elif method == "depthwise" and kh * kw * ow * f * item <= _WIDE_TAPS_BYTES:
        weights_bytes = kh * kw * ow * f * item
    else:
        weights_bytes = kernel_bytes
    if _bias_in_gemm(method, g.groups):
        weights_bytes += (kh * kw * c + 1) * f * item  # the kernel matrix with the bias below it
    fixed = kernel_bytes + weights_bytes + ow * f * item + _ufunc_buffer_bytes(item)  # and the bias row
    if method == "gemm" and not needs_tile and not g.channels_first:
        samples, rows, workers = max(g.batch, 1), oh, 1  # nothing to allocate: one GEMM
    else:
        if method == "depthwise_rows":
            # Chunks of about _DEPTHWISE_ROWS_CHUNK_BYTES of output (which stays in cache while its taps are
            # added, then its bias), computed side by side.
            samples, rows, workers = _parallel_split(
                g.batch, oh, lambda k, r: chunk_bytes(k, r) + k * r * ow * f * item, max_bytes - fixed,
                _DEPTHWISE_ROWS_CHUNK_BYTES, ow, 1, -(-_MIN_PARALLEL_ITEMS // f),
            )
        elif method in ("depthwise", "depthwise_einsum"):
            # Element-wise only: each chunk is itself split among threads (_in_parallel), which keeps
            # the data in flight small enough for the caches.
            samples, rows = _split(g.batch, oh, chunk_bytes, max_bytes - fixed, _DEPTHWISE_CHUNK_BYTES, ow)
            workers = 1
        else:
            min_split = -(-_MIN_SPLIT_MACS // (kh * kw * c * f // g.groups))  # output pixels
            samples, rows, workers = _parallel_split(
                g.batch, oh, chunk_bytes, max_bytes - fixed, _GEMM_CHUNK_BYTES, ow, None, min_split
            )
    return _Plan(method, samples, rows, workers * chunk_bytes(samples, rows) + fixed, workers)


def _gathers_products(g: _Geometry) -> bool:
    """Whether a stride-1 Conv2D multiplies each input pixel by every tap first, then adds the products up
    (see :func:`_gemm_gather_chunk`): with many more input channels than filters.

    im2col copies kh*kw*c numbers per output pixel for a GEMM of kh*kw*c*f
    multiply-adds per pixel: with few filters the copy costs more than the
    GEMM.  Multiplying first, then adding each tap's products (kh*kw*f
    numbers per pixel) moves ``c / f`` times fewer numbers, for the same
    multiplications over the input's pixels (a few more than the output's).
    """
    return (
        g.groups == 1
        and g.strides == (1, 1)
        and g.kernel_size != (1, 1)
        and g.in_channels >= _GATHER_MIN_CHANNEL_RATIO * g.filters
    )


def _gemm_gather_plan(g: _Geometry, x_contiguous_cl: bool, max_bytes: int) -> _Plan:
    """Chunks of :func:`_gemm_gather_chunk`: samples, then bands of output rows (each recomputing the
    products of the kh*dh - dh input rows it shares with the next)."""
    item, (kh, kw), (keh, _) = g.dtype.itemsize, g.kernel_size, g.effective_kernel
    (h, w), (oh, ow), c, f = g.in_size, g.out_size, g.in_channels, g.filters

    def chunk_bytes(samples: int, rows: int) -> int:
        in_rows = min(rows + keh - 1, h)
        total = kh * kw * samples * in_rows * w * f  # every tap's products of the input band
        if not x_contiguous_cl:
            total += samples * in_rows * w * c  # the band as a contiguous (pixels, c) matrix
        if g.channels_first:
            total += samples * rows * ow * f
        return total * item

    fixed = 2 * kh * kw * c * f * item + ow * f * item + _ufunc_buffer_bytes(item)
    samples, rows = _split(g.batch, oh, chunk_bytes, max_bytes - fixed, _GEMM_CHUNK_BYTES, ow)
    return _Plan("gemm_gather", samples, rows, chunk_bytes(samples, rows) + fixed, 1)


def _depthwise_in_place(g: _Geometry) -> bool:
    """Whether a depthwise Conv2D (one filter per channel) reads its input in place (see convcalc.depthwise)."""
    return True


def _depthwise_rows(g: _Geometry) -> bool:
    """Whether a depthwise Conv2D sums its taps by einsum over whole output rows
    (see :func:`convcalc.depthwise.row_sums`).

    One filter per channel; with column stride s > 1, undilated columns
    (read from the input's s column phases, see :func:`_row_phases`) and
    fewer than ``_DEPTHWISE_ROWS_STRIDED_CHANNELS`` channels (with more,
    einsum per pixel measured 1.1-2.3x faster: the extra taps of the phases
    and the copy cost more than its short loops); and the kernel repeated
    along a row no larger than ``_WIDE_TAPS_BYTES``.  Measured against
    tap by tap and einsum per pixel on 60 random layers: 1.1-3.8x faster
    than tap by tap, and than einsum per pixel but on outputs of a few
    pixels per row.
    """
    (kh, _), (_, ow), c = g.kernel_size, g.out_size, g.in_channels
    phases, taps = _row_phases(g)
    return (
        g.filters == c
        and (g.strides[1] == 1 or (g.dilation_rate[1] == 1 and c < _DEPTHWISE_ROWS_STRIDED_CHANNELS))
        and kh * phases * taps * ow * c * g.dtype.itemsize <= _WIDE_TAPS_BYTES
    )


def _row_phases(g: _Geometry) -> tuple[int, int]:
    """(phases, taps per phase) of a depthwise Conv2D's columns summed over whole rows
    (:func:`convcalc.depthwise.row_phases`)."""
    return depthwise.row_phases(g.strides[1], g.kernel_size[1])


def _depthwise_einsum(g: _Geometry) -> bool:
    """Whether a depthwise Conv2D sums each output's taps in one ``np.einsum``
    (see :func:`convcalc.depthwise.pixel_sums`).

    Tap by tap, each of the kh*kw multiplies and adds is a NumPy call over
    the whole chunk: fast per number (long contiguous runs) but paid per
    call, and with strides the taps read runs of only c numbers.  einsum
    makes one call and loops over a pixel's taps inside, c numbers at a
    time: slower per number on few channels, faster when the tap passes
    are short (small outputs), strided, many (5x5 and larger kernels) or
    run over many channels.  Measured on 62 random depthwise layers against
    the tap-by-tap path (benchmarks/kernels.py's timing): 1.48x faster in
    geometric mean with this rule, 1.40x with einsum everywhere (which is
    2.5x slower on 3x3 stride-1 layers of 32 channels at 112x112).
    """
    (oh, ow), (kh, kw), c = g.out_size, g.kernel_size, g.in_channels
    strided, large_kernel = g.strides != (1, 1), kh * kw >= 25
    return (
        oh * ow <= _DEPTHWISE_EINSUM_MAX_PIXELS
        or c >= _DEPTHWISE_EINSUM_CHANNELS[2]
        or (large_kernel and c >= _DEPTHWISE_EINSUM_CHANNELS[1])
        or (strided and (large_kernel or c >= _DEPTHWISE_EINSUM_CHANNELS[0]))
    )


def _depthwise_views_plan(g: _Geometry, max_bytes: int) -> _Plan:
    """Chunks of a depthwise Conv2D read in place: each allocates one tap's products, as large as its output.

    Chunks (``_DEPTHWISE_VIEW_CHUNK_BYTES``) are computed side by side, one
    per thread.  2 MiB chunks (with their products, twice that in flight per
    thread) measured 1.1-1.9x faster than 8 MiB ones on layers of 4 MiB and
    more (56x56x144 at batch 8, 112x112x144 at batch 2, 56x56x576 at batch
    2) and as fast on smaller ones: the passes stay in the caches.
    """
    item, (oh, ow), f = g.dtype.itemsize, g.out_size, g.filters
    kh, kw = g.kernel_size
    weights_bytes = kh * kw * (ow if kh * kw * ow * f * item <= _WIDE_TAPS_BYTES else 1) * f * item
    fixed = kh * kw * f * item + weights_bytes + ow * f * item + _ufunc_buffer_bytes(item)

    def chunk_bytes(samples: int, rows: int) -> int:
        return samples * rows * ow * f * item

    samples, rows, workers = _parallel_split(
        g.batch, oh, chunk_bytes, max_bytes - fixed, _DEPTHWISE_VIEW_CHUNK_BYTES, ow, 1,
        -(-_MIN_PARALLEL_ITEMS // f),
    )
    return _Plan("depthwise_views", samples, rows, workers * chunk_bytes(samples, rows) + fixed, workers)


def _depthwise_phases(g: _Geometry) -> bool:
    """Whether a depthwise Conv2D copies its padded input with even and odd columns apart.

    With stride 2 along the columns, the windows' tap (a, b) reads every
    other pixel of a row: stored as two phases (like Winograd's tiles), it
    reads one contiguous run of ``ow * c`` numbers per row instead of ``ow``
    runs of ``c``, which NumPy's loops go through faster.  Only when the
    input is copied anyway (padded, cast or transposed).
    """
    return g.strides[1] == 2 and g.dilation_rate[1] == 1 and g.kernel_size[1] > 1


def _space_to_batch_geometry(g: _Geometry, samples: int) -> _Geometry | None:
    """The undilated Conv2D of :func:`_space_to_batch` over ``samples`` samples' sub-images, or None.

    Taken for a dilated stride-1 convolution without groups when Winograd
    applies to the sub-images: each of the ``dh*dw`` phases has
    ``ceil(o / d)`` output rows (columns) and ``ceil(o / d) + k - 1`` input
    rows (columns), the padded input being ``o + (k - 1)*d`` long.  Gathering
    dilated windows for im2col costs the same as gathering undilated ones,
    so without Winograd the direct path is kept.
    """
    if g.transpose or g.dilation_rate == (1, 1) or g.strides != (1, 1) or g.groups != 1:
        return None
    (dh, dw), (kh, kw), (oh, ow) = g.dilation_rate, g.kernel_size, g.out_size
    sub_out = (-(-oh // dh), -(-ow // dw))
    inner = replace(
        g, batch=samples * dh * dw, in_size=(sub_out[0] + kh - 1, sub_out[1] + kw - 1), dilation_rate=(1, 1),
        pads=((0, 0), (0, 0)), out_size=sub_out, channels_first=False,
    )
    if not _winograd_applies(replace(inner, batch=g.batch * dh * dw)):
        return None
    return inner


def _space_to_batch_plan(g: _Geometry, max_bytes: int) -> _Plan | None:
    """Samples per chunk of :func:`_space_to_batch`, or None when not even one sample fits max_bytes.

    A chunk of k samples holds its sub-images (k*dh*dw, sub_h, sub_w, c)
    and their outputs (k*dh*dw, sub_oh, sub_ow, f), plus the scratch of
    the undilated Conv2D's plan over them under the rest of the bound
    (``_Plan.inner_bytes``).  Chunks are kept near
    ``_GEMM_CHUNK_BYTES`` of sub-images and outputs.
    """
    item = g.dtype.itemsize

    def buffers(samples: int) -> int:
        inner = _space_to_batch_geometry(g, samples)
        (sub_h, sub_w), (sub_oh, sub_ow) = inner.in_size, inner.out_size
        return inner.batch * (sub_h * sub_w * g.in_channels + sub_oh * sub_ow * g.filters) * item

    def scratch(samples: int, rest: int) -> int:
        return buffers(samples) + _conv2d_plan(_space_to_batch_geometry(g, samples), True, rest).scratch_bytes

    batch = max(g.batch, 1)
    target = max(_GEMM_CHUNK_BYTES, buffers(1))
    if buffers(1) > max_bytes:
        return None

    def cost(samples: int) -> int:
        if buffers(samples) > min(target, max_bytes):
            return max_bytes + 1
        rest = max_bytes - buffers(samples)
        if _conv2d_plan(_space_to_batch_geometry(g, samples), True, rest).method != "winograd":
            return max_bytes + 1  # too little room left for Winograd's chunks: fewer samples
        return scratch(samples, rest)

    samples = _fits(max_bytes, cost, batch)
    rest = max_bytes - buffers(samples)
    # The last chunk may hold fewer samples: its inner plan is bounded by the same rest.
    total = max(scratch(samples, rest), scratch(batch - (batch - 1) // samples * samples, rest))
    if total > max_bytes or _conv2d_plan(_space_to_batch_geometry(g, samples), True, rest).method != "winograd":
        return None
    return _Plan("space_to_batch", samples, 0, total, 1, inner_bytes=rest)


def _direct_geometry(g: _Geometry) -> _Geometry | None:
    """The direct Conv2D that computes a stride-1 Conv2DTranspose, or None to scatter-add instead.

    With stride 1 no zeros are inserted between input pixels, so the
    definition (see :func:`conv2d_transpose_naive`) is a direct convolution
    with the kernel flipped and its channel axes swapped, over the input
    padded by ``g.pads`` (``formulas.conv_transpose_padding``): the fast
    Conv2D path (GEMM, im2col, Winograd) computes it.  It multiplies per
    output pixel where the scatter-add path multiplies per input pixel, and
    gathers kh*kw*c_in numbers per output pixel where the other adds
    kh*kw*filters per input pixel: it is taken when Winograd's 2.25x fewer
    multiplications pay for that, when the output is not much larger than
    the input and there are no more input channels than filters, or when
    there are few input channels (the scatter-add path's GEMM then sums
    over only c_in numbers: 1.1-20x slower, measured on 36 layers).
    """
    if g.strides != (1, 1):
        return None
    direct = replace(g, transpose=False, groups=1)
    (h, w), (oh, ow) = g.in_size, g.out_size
    if (
        _winograd_applies(direct)
        or g.in_channels <= _DIRECT_TRANSPOSE_CHANNELS
        or (oh * ow <= _DIRECT_TRANSPOSE_GROWTH * h * w and g.in_channels <= g.filters)
    ):
        return direct
    return None


def _conv2d_transpose_plan(g: _Geometry, x_contiguous_cl: bool, max_scratch_bytes: int | None) -> _Plan:
    """Chunking of the fast Conv2DTranspose (chunks of input rows), or the direct Conv2D's plan for stride 1."""
    direct = _direct_geometry(g)
    if direct is not None:
        return _conv2d_plan(direct, x_contiguous_cl, max_scratch_bytes)
    max_bytes = _scratch_limit(max_scratch_bytes)
    item = g.dtype.itemsize
    (kh, kw), (sh, _) = g.kernel_size, g.strides
    (keh, _) = g.effective_kernel
    (h, w), c, f = g.in_size, g.in_channels, g.filters
    (oh, ow) = g.out_size

    def chunk_bytes(samples: int, rows: int) -> int:
        pixels = samples * rows * w
        total = pixels * kh * kw * f  # every tap's product of the chunk
        if not x_contiguous_cl:
            total += pixels * c  # the chunk as a contiguous (pixels, c_in) matrix
        if g.channels_first:
            total += samples * min(oh, (rows - 1) * sh + keh) * ow * f  # output rows it touches
        return total * item

    # The kernel cast and rearranged, the bias along a row of output pixels, NumPy's buffers.
    fixed = 2 * kh * kw * c * f * item + ow * f * item + _ufunc_buffer_bytes(item)
    min_split = -(-_MIN_SPLIT_MACS // (kh * kw * c * f))  # input pixels
    samples, rows, workers = _parallel_split(
        g.batch, h, chunk_bytes, max_bytes - fixed, _GEMM_CHUNK_BYTES, w, None, min_split
    )
    if rows < h:
        # Bands of rows of one sample overlap in the output: one at a time.
        samples, rows = _split(g.batch, h, chunk_bytes, max_bytes - fixed, _GEMM_CHUNK_BYTES, w)
        workers = 1
    return _Plan("gemm-scatter", samples, rows, workers * chunk_bytes(samples, rows) + fixed, workers)


def _chunks(batch: int, rows: int, plan: _Plan):
    """(first sample, end sample, first row, end row) of each chunk."""
    for n0 in range(0, batch, plan.samples):
        for r0 in range(0, rows, plan.rows):
            yield n0, min(batch, n0 + plan.samples), r0, min(rows, r0 + plan.rows)


def _reads_in_place(x: np.ndarray, dtype: np.dtype, channels_first: bool) -> bool:
    """Whether x can be read in place as the channels_last compute array (else it is copied per chunk)."""
    return not channels_first and x.dtype == dtype and x.flags.c_contiguous


# --------------------------------------------------------------------------
# Memory estimates (for the CLI's guard): from shapes only
# --------------------------------------------------------------------------


def conv2d_scratch_bytes(
    x_shape,
    kernel_shape,
    strides=1,
    padding="valid",
    dilation_rate=1,
    groups=1,
    data_format="channels_last",
    *,
    dtype="float32",
    max_scratch_bytes: int | None = None,
) -> int:
    """Peak bytes of the temporary buffers of :func:`conv2d` (output excluded).

    Counts the largest chunk's padded input tile, its gathered windows (or
    per-tap products) and, for channels_first, its channels_last result; plus
    the kernel cast and rearranged, and NumPy's ufunc buffers.  ``dtype`` is
    x's (the computation is float32 unless it is float64); x is assumed
    contiguous.  Stays under ``max_scratch_bytes`` (default
    ``DEFAULT_SCRATCH_BYTES``) unless one output row of one sample needs more.

    >>> conv2d_scratch_bytes((8, 56, 56, 64), (3, 3, 64, 64), padding="same") < 16 * 2**20
    True
    """
    g = _conv2d_geometry(x_shape, kernel_shape, None, strides, padding, dilation_rate, groups, data_format, dtype)
    return _conv2d_plan(g, np.dtype(dtype) == g.dtype and not g.channels_first, max_scratch_bytes).scratch_bytes


def conv2d_memory(
    x_shape,
    kernel_shape,
    strides=1,
    padding="valid",
    dilation_rate=1,
    groups=1,
    data_format="channels_last",
    *,
    dtype="float32",
    max_scratch_bytes: int | None = None,
) -> int:
    """Bytes :func:`conv2d` allocates for these shapes: its output plus its scratch.

    The input itself is not counted (the caller already holds it).

    >>> output = 32 * 112 * 112 * 64 * 4  # float32
    >>> needed = conv2d_memory((32, 112, 112, 64), (3, 3, 64, 64), padding="same")
    >>> output < needed <= output + DEFAULT_SCRATCH_BYTES
    True
    """
    g = _conv2d_geometry(x_shape, kernel_shape, None, strides, padding, dilation_rate, groups, data_format, dtype)
    scratch = _conv2d_plan(g, np.dtype(dtype) == g.dtype and not g.channels_first, max_scratch_bytes).scratch_bytes
    return int(np.prod(g.output_shape)) * g.dtype.itemsize + scratch


def conv2d_transpose_scratch_bytes(
    x_shape,
    kernel_shape,
    strides=1,
    padding="valid",
    output_padding=None,
    dilation_rate=1,
    data_format="channels_last",
    *,
    dtype="float32",
    max_scratch_bytes: int | None = None,
) -> int:
    """Peak bytes of the temporary buffers of :func:`conv2d_transpose` (output excluded).

    Counts the largest chunk's per-tap products (pixels x kh*kw*filters), its
    input as a contiguous matrix when x must be cast or transposed and, for
    channels_first, the output rows it touches; plus the kernel cast and
    rearranged, and NumPy's ufunc buffers.  Arguments as for
    :func:`conv2d_scratch_bytes`; the bound holds down to one input row of
    one sample (and, for channels_first, the output rows it touches).

    >>> conv2d_transpose_scratch_bytes((8, 16, 16, 128), (4, 4, 64, 128), strides=2, padding="same") < 16 * 2**20
    True
    """
    g = _conv2d_transpose_geometry(
        x_shape, kernel_shape, None, strides, padding, output_padding, dilation_rate, data_format, dtype
    )
    plan = _conv2d_transpose_plan(g, np.dtype(dtype) == g.dtype and not g.channels_first, max_scratch_bytes)
    return plan.scratch_bytes


def conv2d_transpose_memory(
    x_shape,
    kernel_shape,
    strides=1,
    padding="valid",
    output_padding=None,
    dilation_rate=1,
    data_format="channels_last",
    *,
    dtype="float32",
    max_scratch_bytes: int | None = None,
) -> int:
    """Bytes :func:`conv2d_transpose` allocates for these shapes: its output plus its scratch.

    >>> output = 8 * 32 * 32 * 64 * 4  # float32
    >>> needed = conv2d_transpose_memory((8, 16, 16, 128), (4, 4, 64, 128), strides=2, padding="same")
    >>> output < needed <= output + DEFAULT_SCRATCH_BYTES
    True
    """
    g = _conv2d_transpose_geometry(
        x_shape, kernel_shape, None, strides, padding, output_padding, dilation_rate, data_format, dtype
    )
    plan = _conv2d_transpose_plan(g, np.dtype(dtype) == g.dtype and not g.channels_first, max_scratch_bytes)
    return int(np.prod(g.output_shape)) * g.dtype.itemsize + plan.scratch_bytes


# --------------------------------------------------------------------------
# Fast Conv2D
# --------------------------------------------------------------------------


def _in_parallel(
    function: Callable[[slice, slice], None], samples: int, rows: int, items: int, factor: int = 1
) -> None:
    """``kernel_threads._in_parallel`` with parts of at least ``factor * _MIN_PARALLEL_ITEMS`` numbers."""
    kernel_threads._in_parallel(function, samples, rows, items, factor * _MIN_PARALLEL_ITEMS)


def _input_tile(
    x_cl: np.ndarray, n0: int, n1: int, row0: int, row1: int, width: int, g: _Geometry, scratch: _Scratch | None
) -> np.ndarray:
    """Rows [row0, row1) and columns [0, width) of the padded input of samples [n0, n1).

    Coordinates are those of the padded input; positions in the padding are
    zeros.  Returns a view of x when ``scratch`` is None (nothing to pad,
    cast or transpose), else a copy in a scratch buffer.
    """
    if scratch is None:
        return x_cl[n0:n1, row0:row1, :width]
    tile = scratch.get("tile", (n1 - n0, row1 - row0, width, g.in_channels))
    _fill_padded(tile, x_cl, n0, n1, row0, 0, 1, g)
    return tile


def _fill_padded(
    dest: np.ndarray, x_cl: np.ndarray, n0: int, n1: int, row0: int, col0: int, step: int, g: _Geometry,
    row_step: int = 1,
):
    """``dest[:, r, j] = padded[n0:n1, row0 + r*row_step, col0 + j*step]``: the padded input, zeros outside x.

    dest : ndarray of shape (n1 - n0, rows, cols, c), any strides
    """
    (top, _), (left, _) = g.pads
    (h, w) = g.in_size
    rows, cols = dest.shape[1:3]
    # Rows [t0, t1) of dest lie inside x: padded row row0 + r*row_step is x row row0 + r*row_step - top;
    # columns [j0, j1) likewise.
    t0, t1 = formulas.taps_inside(rows, h, top, row0, row_step)
    j0, j1 = formulas.taps_inside(cols, w, left, col0, step)
    dest[:, :t0] = 0
    dest[:, t1:] = 0
    dest[:, t0:t1, :j0] = 0
    dest[:, t0:t1, j1:] = 0
    if j1 > j0 and t1 > t0:
        first = col0 + j0 * step - left
        first_row = row0 + t0 * row_step - top
        dest[:, t0:t1, j0:j1] = x_cl[
            n0:n1,
            first_row : first_row + (t1 - t0 - 1) * row_step + 1 : row_step,
            first : first + (j1 - j0 - 1) * step + 1 : step,
        ]


def _windows(tile: np.ndarray, rows: int, cols: int, g: _Geometry) -> np.ndarray:
    """Read-only view (n, rows, cols, kh, kw, c) of every window of the kernel over the tile.

    ``view[:, i, j, a, b] = tile[:, i*sh + a*dh, j*sw + b*dw]``: no copy.
    """
    sn, sr, sc, sch = tile.strides
    (kh, kw), (sh, sw), (dh, dw) = g.kernel_size, g.strides, g.dilation_rate
    return as_strided(
        tile,
        shape=(tile.shape[0], rows, cols, kh, kw, tile.shape[3]),
        strides=(sn, sr * sh, sc * sw, sr * dh, sc * dw, sch),
        writeable=False,
    )


def _conv2d_weights(kernel: np.ndarray, g: _Geometry, method: str) -> np.ndarray:
    """The kernel rearranged for the chunk method.

    kernel : ndarray of shape (kh, kw, c // groups, filters)
    returns : depthwise (kh, kw, ow or 1, m, c) with m = filters // c; gemm and
        im2col without groups (kh*kw*c, filters), rows ordered (a, b, channel)
        like the gathered windows; grouped im2col (groups, kh*kw*cg, fg).
    """
    (kh, kw), c, f, groups = g.kernel_size, g.in_channels, g.filters, g.groups
    group_channels, group_filters = c // groups, f // groups
    if method == "depthwise_einsum":
        return kernel.reshape(kh, kw, c, group_filters)
    if method == "depthwise_rows":
        # (kh, phases, taps per phase, ow * c): kernel column t*s + p at [:, p, t], zeros past the kernel.
        phases, taps = _row_phases(g)
        ow = g.out_size[1]
        rows = np.zeros((kh, taps, phases, ow, c), dtype=kernel.dtype)
        rows.reshape(kh, taps * phases, ow, c)[:, :kw] = kernel.reshape(kh, kw, 1, c)
        return rows.transpose(0, 2, 1, 3, 4).reshape(kh, phases, taps, ow * c)
    if method == "depthwise":
        # Filter k*m + j reads channel k only: kernel[a, b, 0, :] is (c, m);
        # stored (m, c) so that element-wise loops run along the channels,
        # and repeated along a whole output row (see _WIDE_TAPS_BYTES).
        taps = kernel.reshape(kh, kw, 1, c, group_filters).transpose(0, 1, 2, 4, 3)
        ow = g.out_size[1]
        if kh * kw * ow * f * g.dtype.itemsize <= _WIDE_TAPS_BYTES:
            taps = np.broadcast_to(taps, (kh, kw, ow, group_filters, c))
        return np.ascontiguousarray(taps)
    if groups == 1:
        return np.ascontiguousarray(kernel.reshape(kh * kw * c, f))
    # Filters [k*fg, (k+1)*fg) of group k read its channels [k*cg, (k+1)*cg).
    return np.ascontiguousarray(
        kernel.reshape(kh, kw, group_channels, groups, group_filters)
        .transpose(3, 0, 1, 2, 4)
        .reshape(groups, kh * kw * group_channels, group_filters)
    )


def _gemm_chunk(windows: np.ndarray, matrix: np.ndarray, target: np.ndarray, scratch: _Scratch) -> None:
    """1x1, stride 1: the tile is the matrix (a view, the tile being contiguous)."""
    nb, rb, ow, _, _, c = windows.shape
    pixels = nb * rb * ow
    np.matmul(windows.reshape(pixels, c), matrix, out=target.reshape(pixels, -1))


def _im2col_chunk(windows: np.ndarray, matrix: np.ndarray, target: np.ndarray, scratch: _Scratch) -> None:
    """Gather the windows into a (pixels, kh*kw*c) matrix, then one GEMM (batched over groups).

    Without groups, a matrix with one more row than taps (the bias, see
    :func:`_with_bias_row`) gets a column of ones.
    """
    nb, rb, ow, kh, kw, c = windows.shape
    pixels = nb * rb * ow
    if matrix.ndim == 2:
        depth = kh * kw * c
        matrix_columns = scratch.get("columns", (pixels, matrix.shape[0]))
        matrix_columns[:, depth:] = 1
        columns = matrix_columns[:, :depth].reshape(windows.shape)
        source = windows
    else:
        groups = matrix.shape[0]
        # Group-major (groups, pixels, kh*kw*cg), so that matmul batches over groups.
        columns = scratch.get("columns", (groups, nb, rb, ow, kh, kw, c // groups))
        source = windows.reshape(nb, rb, ow, kh, kw, groups, c // groups).transpose(5, 0, 1, 2, 3, 4, 6)

    def gather(samples: slice, rows: slice) -> None:
        np.copyto(columns[..., samples, rows, :, :, :, :], source[..., samples, rows, :, :, :, :])

    _in_parallel(gather, nb, rb, columns.size, _GATHER_PARALLEL_FACTOR)
    if matrix.ndim == 2:
        np.matmul(matrix_columns, matrix, out=target.reshape(pixels, -1))
        return
    groups, rows, group_filters = matrix.shape
    products = scratch.get("products", (groups, pixels, group_filters))
    np.matmul(columns.reshape(groups, pixels, rows), matrix, out=products)
    target.reshape(pixels, groups, group_filters)[...] = products.transpose(1, 0, 2)


def _im2col_taps_chunk(windows: np.ndarray, matrix: np.ndarray, target: np.ndarray, scratch: _Scratch) -> None:
    """im2col for few input channels: the gathered matrix stored taps-major, (kh, kw, c, pixels).

    Gathering pixel-major copies runs of only kw*c numbers (one window row)
    at a time; taps-major copies one tap's whole row of output pixels per
    run, and BLAS reads the (pixels, kh*kw*c) matrix transposed.  A matrix
    with one more row than taps (the bias, see :func:`_with_bias_row`) gets
    a row of ones.
    """
    nb, rb, ow, kh, kw, c = windows.shape
    pixels = nb * rb * ow
    depth = kh * kw * c
    matrix_rows = scratch.get("columns", (matrix.shape[0], pixels))
    matrix_rows[depth:] = 1
    columns = matrix_rows[:depth].reshape(kh, kw, c, nb, rb, ow)
    source = windows.transpose(3, 4, 5, 0, 1, 2)

    def gather(samples: slice, rows: slice) -> None:
        np.copyto(columns[:, :, :, samples, rows], source[:, :, :, samples, rows])

    _in_parallel(gather, nb, rb, columns.size, _GATHER_PARALLEL_FACTOR)
    np.matmul(matrix_rows.T, matrix, out=target.reshape(pixels, -1))


def _im2col_wide_chunk(tile: np.ndarray, matrix: np.ndarray, target: np.ndarray, scratch: _Scratch, g: _Geometry):
    """One input channel, stride 1: the products over whole padded rows, then the valid columns kept.

    tile : ndarray of shape (nb, rb + keh, width, 1), the padded input and one more row (zeros)
    matrix : ndarray of shape (kh*kw, filters), or (kh*kw + 1, filters) with the bias (a row of ones is added)

    Flattened over (row, column), the input of tap (a, b) for every output
    pixel of the padded width is one run of ``rb * width`` numbers starting
    at ``a*dh*width + b*dw``: gathering is kh*kw long copies per sample.  The
    last ``kw - 1`` columns of each row wrap into the next row and are
    dropped; the extra row keeps the last run inside the tile.
    """
    nb, rb, ow, f = target.shape
    (kh, kw), (dh, dw) = g.kernel_size, g.dilation_rate
    width = tile.shape[2]
    item = tile.itemsize
    runs = as_strided(
        tile, shape=(kh, kw, nb, rb * width), strides=(dh * width * item, dw * item, tile.strides[0], item),
        writeable=False,
    )
    matrix_rows = scratch.get("columns", (matrix.shape[0], nb * rb * width))
    matrix_rows[kh * kw :] = 1
    np.copyto(matrix_rows[: kh * kw].reshape(runs.shape), runs)
    wide = scratch.get("wide", (nb, rb, width, f))
    np.matmul(matrix_rows.T, matrix, out=wide.reshape(-1, f))
    target[...] = wide[:, :, :ow]


def _depthwise_chunk(windows: np.ndarray, taps: np.ndarray, target: np.ndarray, scratch: _Scratch) -> None:
    """Multiply-accumulate tap by tap, channels innermost (one channel per group, no GEMM to make)."""
    _depthwise_taps(lambda a, b: windows[:, :, :, a, b, :], windows.shape, taps, target, scratch)


def _depthwise_phase_chunk(
    phases: np.ndarray, rows: int, taps: np.ndarray, target: np.ndarray, scratch: _Scratch, g: _Geometry
) -> None:
    """:func:`_depthwise_chunk` over a tile stored as column phases (see :func:`_depthwise_phases`).

    phases : ndarray of shape (nb, padded rows, 2, cols, c), ``phases[:, r, p, j] = padded[:, r, 2*j + p]``
    """
    nb, _, _, _, c = phases.shape
    ow = target.shape[2]
    (kh, kw), sh, dh = g.kernel_size, g.strides[0], g.dilation_rate[0]

    def tap(a: int, b: int) -> np.ndarray:
        r0 = a * dh
        return phases[:, r0 : r0 + (rows - 1) * sh + 1 : sh, b % 2, b // 2 : b // 2 + ow]

    _depthwise_taps(tap, (nb, rows, ow, kh, kw, c), taps, target, scratch)


def _depthwise_taps(
    tap: Callable[[int, int], np.ndarray], shape: tuple, taps: np.ndarray, target: np.ndarray, scratch: _Scratch
) -> None:
    """The body of the depthwise chunks: ``tap(a, b)`` is the (nb, rb, ow, c) input of kernel tap (a, b)."""
    nb, rb, ow, kh, kw, c = shape
    multiplier = taps.shape[3]
    # target (a contiguous chunk) as (nb, rb, ow, c, m): filter k*m + j is [..., k, j]
    filters = target.reshape(nb, rb, ow, c, multiplier)
    if multiplier == 1:
        sums = filters.reshape(nb, rb, ow, 1, c)
    else:
        # Summed as (m, c), then transposed to Keras's filter order (c, m).
        sums = scratch.get("sums", (nb, rb, ow, multiplier, c))
    products = scratch.get("products", sums.shape)

    def accumulate(samples: slice, rows: slice) -> None:
        part_sums, part_products = sums[samples, rows], products[samples, rows]
        for a in range(kh):
            for b in range(kw):
                tap_input = tap(a, b)[samples, rows, :, None, :]
                if a == b == 0:
                    np.multiply(tap_input, taps[a, b], out=part_sums)
                else:
                    np.multiply(tap_input, taps[a, b], out=part_products)
                    part_sums += part_products
        if multiplier > 1:
            filters[samples, rows] = part_sums.transpose(0, 1, 2, 4, 3)

    _in_parallel(accumulate, nb, rb, sums.size)


def _depthwise_einsum_chunk(windows: np.ndarray, taps: np.ndarray, target: np.ndarray, scratch: _Scratch) -> None:
    """:func:`convcalc.depthwise.pixel_sums` over the chunk's windows, split over threads."""
    depthwise.pixel_sums(windows, taps, target, _in_parallel)


def _gemm_gather_chunk(
    x_cl: np.ndarray, in_place: bool, matrix: np.ndarray, target: np.ndarray, n0: int, r0: int, taps: list,
    g: _Geometry, scratch: _Scratch,
) -> None:
    """Output rows [r0, r0 + rb) of samples [n0, n0 + nb) of a stride-1 Conv2D (see :func:`_gathers_products`).

    One batched GEMM multiplies the input rows the chunk reads by every tap's (c, f) matrix; then each
    tap's products, shifted by the tap's offset, are added over the output pixels whose input they are
    (``taps``: :func:`convcalc.depthwise.taps_in_order`, the rectangles that read inside the input), so
    the padding is never materialized.
    """
    nb, rb, ow, f = target.shape
    (h, w), c = g.in_size, g.in_channels
    (dh, dw), ((top, _), (left, _)) = g.dilation_rate, g.pads
    kh = g.kernel_size[0]
    lo = min(max(r0 - top, 0), h)
    hi = max(min(r0 + rb - 1 + (kh - 1) * dh - top + 1, h), lo)
    band = x_cl[n0 : n0 + nb, lo:hi]
    if not in_place:
        band = scratch.get("rows", band.shape)
        band[...] = x_cl[n0 : n0 + nb, lo:hi]
    products = scratch.get("products", (*g.kernel_size, nb, hi - lo, w, f))
    np.matmul(band.reshape(-1, c), matrix, out=products.reshape(matrix.shape[0], -1, f))
    started = False
    for a, b, (i0, i1), (j0, j1) in taps:
        i0, i1 = max(i0, r0), min(i1, r0 + rb)
        if i1 <= i0:
            continue
        first_row, first_col = i0 + a * dh - top - lo, j0 + b * dw - left
        source = products[a, b, :, first_row : first_row + i1 - i0, first_col : first_col + j1 - j0]
        out = target[:, i0 - r0 : i1 - r0, j0:j1]
        if not started:
            started = True
            if (i0, i1, j0, j1) == (r0, r0 + rb, 0, ow):
                out[...] = source
                continue
            target[...] = 0
        out += source
    if not started:
        target[...] = 0


_CHUNK_METHODS = {
    "depthwise_einsum": _depthwise_einsum_chunk,
    "gemm": _gemm_chunk,
    "im2col": _im2col_chunk,
    "im2col_taps": _im2col_taps_chunk,
    "depthwise": _depthwise_chunk,
}


def _bias_in_gemm(method: str, groups: int) -> bool:
    """Whether the chunk method adds the bias as one more row of its GEMM (im2col without groups)."""
    return method in ("im2col_taps", "im2col_wide") or (method == "im2col" and groups == 1)


def _with_bias_row(matrix: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(K + 1, filters): the kernel matrix with the bias below it, multiplied by a row of ones in the GEMM.

    One more row in a GEMM of few rows (few input channels) costs less than
    a pass over the output to add the bias.
    """
    return np.concatenate([matrix, bias[None]])


def _bias_row(bias, cols: int, dtype: np.dtype):
    """The bias repeated along a row of output pixels, (cols, filters), or None.

    Adding it to (…, cols, filters) blocks runs NumPy's loops over whole rows;
    broadcasting the bare (filters,) vector runs them over one pixel at a time.
    """
    if bias is None:
        return None
    row = np.empty((cols, bias.shape[0]), dtype=dtype)
    row[...] = bias
    return row


def _conv2d_fast(x: np.ndarray, kernel: np.ndarray, bias, g: _Geometry, max_scratch_bytes) -> np.ndarray:
    """Conv2D of the geometry g (arguments checked): chunk by chunk, by the plan's method.

    x : ndarray of shape (n, h, w, c), or (n, c, h, w) when ``g.channels_first``
    kernel : ndarray of shape (kh, kw, c // groups, filters), any real dtype, any strides
    """
    x_cl = _channels_last(x, g)
    in_place = _reads_in_place(x, g.dtype, g.channels_first)
    plan = _plan_for(_conv2d_plan, g, in_place, max_scratch_bytes)
    out = np.empty(g.output_shape, dtype=g.dtype)
    with _Scratch(g.dtype) as scratch:
        if plan.method == "space_to_batch":
            _space_to_batch(x_cl, kernel, bias, g, plan, out, scratch)
        else:
            _conv2d_into(x_cl, in_place, kernel, bias, g, plan, out, scratch)
    return out


def _conv2d_into(
    x_cl: np.ndarray, in_place: bool, kernel: np.ndarray, bias, g: _Geometry, plan: _Plan, out: np.ndarray,
    scratch: _Scratch,
) -> None:
    """The body of :func:`_conv2d_fast`: every chunk of the plan computed into out (of ``g.output_shape``)."""
    copy_tile = not in_place or any(p for pair in g.pads for p in pair)
    (sh, sw), (keh, kew), (oh, ow) = g.strides, g.effective_kernel, g.out_size
    bias = _bias_row(bias, ow, g.dtype)
    if plan.method == "winograd":
        weights = _winograd_weights(kernel, scratch)
    elif plan.method == "gemm_gather":
        (kh, kw), c, f = g.kernel_size, g.in_channels, g.filters
        weights = np.ascontiguousarray(kernel.astype(g.dtype, copy=False).reshape(kh * kw, c, f))
    elif plan.method == "depthwise_views":
        weights = _conv2d_weights(kernel.astype(g.dtype, copy=False), g, "depthwise")
    else:
        weights = _conv2d_weights(kernel.astype(g.dtype, copy=False), g, plan.method)
    if plan.method in ("gemm_gather", "depthwise_views"):
        # Every tap with the output rectangle it reaches (the rest of the output reads the padding).
        taps = _cached(depthwise.taps_in_order, g.kernel_size, g.dilation_rate, g.strides, g.pads, g.in_size,
                       g.out_size, exact=6)
    bias_in_gemm = bias is not None and _bias_in_gemm(plan.method, g.groups)
    if bias_in_gemm:
        weights = _with_bias_row(weights, bias[0])

    def compute(chunk: tuple[int, int, int, int], scratch: _Scratch) -> None:
        n0, n1, r0, r1 = chunk
        # Results go straight into out unless it is channels_first.
        if g.channels_first:
            target = scratch.get("result", (n1 - n0, r1 - r0, ow, g.filters))
        else:
            target = out[n0:n1, r0:r1]
        if plan.method == "winograd":
            # Whole 4x4 tiles two pixels apart (zeros past the end of the padded input),
            # even and odd columns apart (see _winograd_chunk).
            tile_rows, tile_cols = 2 * (-(-(r1 - r0) // 2)) + 2, -(-ow // 2) + 1
            columns = scratch.get("winograd_columns", (n1 - n0, tile_rows, 2, tile_cols, g.in_channels))
            for p in range(2):
                _fill_padded(columns[:, :, p], x_cl, n0, n1, r0, p, 2, g)
            _winograd_chunk(columns, weights, bias, target, scratch)
        elif plan.method == "gemm_gather":
            _gemm_gather_chunk(x_cl, in_place, weights, target, n0, r0, taps, g, scratch)
            if bias is not None:
                target += bias
        elif plan.method == "im2col_wide":
            width = (ow - 1) * sw + kew
            tile = scratch.get("tile", (n1 - n0, r1 - r0 + keh, width, 1))
            tile[:, -1] = 0
            _fill_padded(tile[:, :-1], x_cl, n0, n1, r0, 0, 1, g)
            _im2col_wide_chunk(tile, weights, target, scratch, g)
        elif plan.method == "depthwise_views":
            products = scratch.get("products", target.shape)
            depthwise.depthwise_chunk(
                x_cl[n0:n1], weights.reshape(*weights.shape[:3], -1), bias, target, products, r0, taps,
                g.strides, g.dilation_rate, g.pads,
            )
        elif plan.method == "depthwise_rows":
            phases, phase_taps = _row_phases(g)
            tile_rows = (r1 - r0 - 1) * sh + keh
            if phases == 1:
                tile = _input_tile(x_cl, n0, n1, r0 * sh, r0 * sh + tile_rows, (ow - 1) + kew, g,
                                   scratch if copy_tile else None)
            else:
                tile = scratch.get("tile", (n1 - n0, tile_rows, phases, ow + phase_taps - 1, g.in_channels))
                for p in range(phases):
                    _fill_padded(tile[:, :, p], x_cl, n0, n1, r0 * sh, p, phases, g)
            runs = depthwise.row_runs(tile, r1 - r0, ow, g.kernel_size[0], g.strides[0], g.dilation_rate,
                                      (phases, phase_taps))
            depthwise.row_sums(runs, weights, target, _in_parallel)
            if bias is not None:
                target += bias
        elif plan.method == "depthwise" and copy_tile and _depthwise_phases(g):
            cols = -(-((ow - 1) * sw + kew) // 2)
            phases = scratch.get("tile", (n1 - n0, (r1 - r0 - 1) * sh + keh, 2, cols, g.in_channels))
            for p in range(2):
                _fill_padded(phases[:, :, p], x_cl, n0, n1, r0 * sh, p, 2, g)
            _depthwise_phase_chunk(phases, r1 - r0, weights, target, scratch, g)
            if bias is not None:
                target += bias
        else:
            # The padded columns the windows reach.
            width = (ow - 1) * sw + kew
            tile = _input_tile(x_cl, n0, n1, r0 * sh, (r1 - 1) * sh + keh, width, g, scratch if copy_tile else None)
            _CHUNK_METHODS[plan.method](_windows(tile, r1 - r0, ow, g), weights, target, scratch)
            if bias is not None and not bias_in_gemm:
                target += bias
        if g.channels_first:
            out[n0:n1, :, r0:r1, :] = target.transpose(0, 3, 1, 2)

    _run_chunks(list(_chunks(g.batch, oh, plan)), compute, plan.workers, scratch)


def _space_to_batch(
    x_cl: np.ndarray, kernel: np.ndarray, bias, g: _Geometry, plan: _Plan, out: np.ndarray, scratch: _Scratch
) -> None:
    """A dilated stride-1 Conv2D as an undilated one over its ``dh*dw`` phase sub-images, as TensorFlow does.

    Output pixel (p + dh*i, q + dw*j) reads padded input pixels
    (p + dh*(i + a), q + dw*(j + b)) only: sub-image (p, q) of the padded
    input, ``padded[p::dh, q::dw]``, convolved "valid" with the kernel
    undilated, gives output ``out[p::dh, q::dw]``.  The sub-images of
    ``plan.samples`` samples are stacked along the batch (all of one size,
    zeros past the end of the shorter ones), computed by the plan of
    :func:`_space_to_batch_geometry` (Winograd), and interleaved back.
    """
    (dh, dw), (oh, ow) = g.dilation_rate, g.out_size
    for n0 in range(0, g.batch, plan.samples):
        n1 = min(g.batch, n0 + plan.samples)
        inner = _space_to_batch_geometry(g, n1 - n0)
        (sub_h, sub_w), (sub_oh, sub_ow) = inner.in_size, inner.out_size
        phases = scratch.get("phases", (dh, dw, n1 - n0, sub_h, sub_w, g.in_channels))
        for p in range(dh):
            for q in range(dw):
                _fill_padded(phases[p, q], x_cl, n0, n1, p, q, dw, g, row_step=dh)
        sub_out = scratch.get("phases_out", (dh, dw, n1 - n0, sub_oh, sub_ow, g.filters))
        inner_plan = _conv2d_plan(inner, True, plan.inner_bytes)
        _conv2d_into(
            phases.reshape(-1, sub_h, sub_w, g.in_channels), True, kernel, bias, inner, inner_plan,
            sub_out.reshape(-1, sub_oh, sub_ow, g.filters), scratch,
        )
        for p in range(min(dh, oh)):
            for q in range(min(dw, ow)):
                rows, cols = len(range(p, oh, dh)), len(range(q, ow, dw))
                y = sub_out[p, q, :, :rows, :cols]
                if g.channels_first:
                    out[n0:n1, :, p::dh, q::dw] = y.transpose(0, 3, 1, 2)
                else:
                    out[n0:n1, p::dh, q::dw] = y


def conv2d(
    x,
    kernel,
    bias=None,
    strides=1,
    padding="valid",
    dilation_rate=1,
    groups=1,
    data_format="channels_last",
    *,
    max_scratch_bytes: int | None = None,
) -> np.ndarray:
    """Keras Conv2D: cross-correlation of x with kernel, plus bias.

    x : ndarray of shape (n, h, w, c), or (n, c, h, w) for channels_first
    kernel : ndarray of shape (kh, kw, c // groups, filters)
    bias : ndarray of shape (filters,), or None
    returns : ndarray of shape (n, oh, ow, filters), or (n, filters, oh, ow)

    ``strides`` and ``dilation_rate`` are ints or (rows, cols) pairs;
    ``padding`` "valid" or "same" (split as TensorFlow does, the odd pixel
    bottom/right); ``groups`` splits channels and filters into independent
    groups (``groups == c`` is a depthwise convolution).  The result is
    float64 when x is float64, float32 otherwise.  Temporary memory stays
    under ``max_scratch_bytes`` (default ``DEFAULT_SCRATCH_BYTES``) unless
    one output row of one sample needs more; see :func:`conv2d_memory`.

    >>> rgb = np.stack([np.full((3, 3), v) for v in (1, 100, 10000)], axis=-1)[None]
    >>> conv2d(rgb, np.ones((2, 2, 3, 1)), bias=np.zeros(1))[0, :, :, 0].tolist()
    [[40404.0, 40404.0], [40404.0, 40404.0]]
    """
    x, kernel, bias = _as_arrays(x, kernel, bias)
    g = _cached(
        _conv2d_geometry, x.shape, kernel.shape, None if bias is None else bias.shape,
        strides, padding, dilation_rate, groups, data_format, x.dtype, exact=3,
    )
    return _conv2d_fast(x, kernel, bias, g, max_scratch_bytes)


# --------------------------------------------------------------------------
# Fast Conv2DTranspose
# --------------------------------------------------------------------------


def _tap_span(tap_offset: int, i0: int, i1: int, stride: int, out_len: int) -> tuple[int, int, int]:
    """Input indices [lo, hi) within [i0, i1) whose contribution lands in the output.

    Input pixel i of a tap whose offset is ``tap_offset`` lands on output
    ``o = i*stride + tap_offset``; returns (lo, hi, o of lo).
    """
    lo = max(i0, -(tap_offset // stride))  # ceil(-offset / stride): first o >= 0
    hi = min(i1, (out_len - 1 - tap_offset) // stride + 1)  # last o <= out_len - 1
    return lo, hi, lo * stride + tap_offset


def conv2d_transpose(
    x,
    kernel,
    bias=None,
    strides=1,
    padding="valid",
    output_padding=None,
    dilation_rate=1,
    data_format="channels_last",
    *,
    max_scratch_bytes: int | None = None,
) -> np.ndarray:
    """Keras Conv2DTranspose (TensorFlow's conv2d_transpose), plus bias.

    x : ndarray of shape (n, h, w, c_in), or (n, c_in, h, w) for channels_first
    kernel : ndarray of shape (kh, kw, filters, c_in)
    bias : ndarray of shape (filters,), or None
    returns : ndarray of shape (n, oh, ow, filters), or (n, filters, oh, ow)

    Each input pixel spreads ``x[i, j] @ kernel[a, b].T`` onto output
    ``(i*sh + a*dh - crop_h, j*sw + b*dw - crop_w)``: one batched GEMM gives
    every tap's products, which are added into strided slices of the output
    (with stride 1, when cheaper, the flipped kernel is correlated with the
    padded input by :func:`conv2d`'s path instead).  The
    crop is ``ke - 1 - before`` with ``before`` from
    ``formulas.conv_transpose_padding``, so the result equals
    :func:`conv2d_transpose_naive`.  Arguments, dtypes and
    ``max_scratch_bytes`` as for :func:`conv2d`; ``output_padding`` (int or
    pair, each less than its stride) adds rows/columns at the bottom/right.

    >>> conv2d_transpose(np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 1)), strides=2)[0, :, :, 0].tolist()[2]
    [2.0, 2.0, 4.0, 2.0, 2.0]
    """
    x, kernel, bias = _as_arrays(x, kernel, bias)
    g = _cached(
        _conv2d_transpose_geometry, x.shape, kernel.shape, None if bias is None else bias.shape,
        strides, padding, output_padding, dilation_rate, data_format, x.dtype, exact=3,
    )
    direct = _direct_geometry(g)
    if direct is not None:
        # Stride 1: no zeros to insert, so the definition is already a direct convolution.
        return _conv2d_fast(x, kernel[::-1, ::-1].transpose(0, 1, 3, 2), bias, direct, max_scratch_bytes)
    x_cl = _channels_last(x, g)
    in_place = _reads_in_place(x, g.dtype, g.channels_first)
    plan = _plan_for(_conv2d_transpose_plan, g, in_place, max_scratch_bytes)

    (kh, kw), (sh, sw), (dh, dw) = g.kernel_size, g.strides, g.dilation_rate
    (h, w), (oh, ow), c, f = g.in_size, g.out_size, g.in_channels, g.filters
    (keh, kew) = g.effective_kernel
    # The full (uncropped) result starts ke - 1 - before pixels before the
    # output: "same" pads more before than after, so it crops more at the top.
    (top, _), (left, _) = g.pads
    crop_h, crop_w = keh - 1 - top, kew - 1 - left
    # (kh*kw, c_in, filters): one batched GEMM makes every tap's products, stored tap by tap so that
    # each scatter-add reads whole rows of pixels (not one pixel's filters at a time).
    matrix = np.ascontiguousarray(kernel.astype(g.dtype, copy=False).transpose(0, 1, 3, 2).reshape(kh * kw, c, f))

    if bias is None:
        out = np.zeros(g.output_shape, dtype=g.dtype)
    else:
        out = np.empty(g.output_shape, dtype=g.dtype)
        if g.channels_first:
            out[...] = bias.astype(g.dtype).reshape(f, 1, 1)
        else:
            out.reshape(-1, ow, f)[...] = _bias_row(bias, ow, g.dtype)
    def compute(chunk: tuple[int, int, int, int], scratch: _Scratch) -> None:
        n0, n1, i0, i1 = chunk
        nb, rb = n1 - n0, i1 - i0
        pixels = nb * rb * w
        rows = x_cl[n0:n1, i0:i1]
        if not in_place:
            rows = scratch.get("rows", rows.shape)
            rows[...] = x_cl[n0:n1, i0:i1]
        products = scratch.get("products", (kh, kw, nb, rb, w, f))
        np.matmul(rows.reshape(pixels, c), matrix, out=products.reshape(kh * kw, pixels, f))
        if g.channels_first:
            # Accumulate the output rows this chunk touches channels_last, then add them transposed.
            o0 = max(i0 * sh - crop_h, 0)
            o1 = min((i1 - 1) * sh + keh - crop_h, oh)
            target = scratch.get("result", (nb, o1 - o0, ow, f))
            target.fill(0)
        else:
            o0, target = 0, out[n0:n1]

        def scatter(samples: slice, _rows: slice) -> None:
            for a in range(kh):
                lo, hi, first = _tap_span(a * dh - crop_h, i0, i1, sh, oh)
                if lo >= hi:
                    continue  # this tap row falls entirely into the crop
                out_rows = slice(first - o0, first - o0 + (hi - lo - 1) * sh + 1, sh)
                for b in range(kw):
                    clo, chi, cfirst = _tap_span(b * dw - crop_w, 0, w, sw, ow)
                    if clo >= chi:
                        continue
                    out_cols = slice(cfirst, cfirst + (chi - clo - 1) * sw + 1, sw)
                    target[samples, out_rows, out_cols] += products[a, b, samples, lo - i0 : hi - i0, clo:chi]

        # In this thread: split over threads (by samples), the scatter-adds measured slower, competing
        # with each other for the GIL and with BLAS's threads still spinning after the GEMM.
        scatter(slice(0, nb), slice(0, rb))
        if g.channels_first:
            out[n0:n1, :, o0:o1] += target.transpose(0, 3, 1, 2)

    with _Scratch(g.dtype) as scratch:
        # Several workers only with chunks of whole samples (see _conv2d_transpose_plan).
        _run_chunks(list(_chunks(g.batch, h, plan)), compute, plan.workers, scratch)
    return out
