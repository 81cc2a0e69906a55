"""Depthwise Conv2D chunks: sums over whole output rows or per pixel (einsum), or tap by tap in place.

A depthwise convolution (one filter per channel, ``groups == channels``)
has no channel sum to hand to BLAS.  ``kernels`` plans the chunks and
threads and picks one of three ways to sum each output's kh*kw products:

- :func:`row_sums`: one einsum over whole output rows, a multiply-add along
  runs of ``ow * c`` numbers while the row stays in cache (strided columns
  read from the input's column phases, :func:`row_phases`);
- :func:`pixel_sums`: one einsum over each pixel's taps, c numbers at a
  time (strided layers of many channels; with depth multipliers, small
  outputs, large kernels or many channels);
- tap by tap, otherwise: :func:`depthwise_chunk` reads in place (below),
  ``kernels`` copies a padded tile for depth multipliers.

Tap by tap, NumPy does whole-array passes, one multiply and one add per
kernel tap, read in place over views of the input.  Tap (a, b) reads input
row ``i*sh + a*dh - top`` for output row ``i`` (and likewise for columns),
so where that row lies in the padding the tap adds nothing: each tap is
computed only over the rectangle of output pixels whose input it reaches,
straight from a strided view of the input.  That spares the copy of the
input into a padded tile, the one pass of the direct method that is not
arithmetic.

The first tap that reaches every output pixel (the centre tap of a "same"
convolution, every tap of a "valid" one) writes the output; otherwise the
output starts from zeros.
"""

from __future__ import annotations

import numpy as np

from numpy.lib.stride_tricks import as_strided

from . import formulas


def taps_in_order(kernel_size, dilation_rate, strides, pads, in_size, out_size) -> list[tuple]:
    """Every tap (a, b) with the output rectangle it reaches: ``(a, b, (i0, i1), (j0, j1))``.

    A tap reaching every output pixel comes first (it writes the output
    instead of adding to it); taps reaching no pixel are left out.
    """
    (kh, kw), (dh, dw), (sh, sw) = kernel_size, dilation_rate, strides
    (top, _), (left, _) = pads
    (h, w), (oh, ow) = in_size, out_size
    taps = []
    for a in range(kh):
        rows = formulas.taps_inside(oh, h, top, a * dh, sh)
        for b in range(kw):
            cols = formulas.taps_inside(ow, w, left, b * dw, sw)
            if rows[1] > rows[0] and cols[1] > cols[0]:
                taps.append((a, b, rows, cols))
    whole = [t for t in taps if t[2] == (0, oh) and t[3] == (0, ow)]
    if whole:
        taps.remove(whole[0])
        taps.insert(0, whole[0])
    return taps


def depthwise_chunk(
    x: np.ndarray, weights: np.ndarray, bias_row, target: np.ndarray, products: np.ndarray, row0: int,
    taps: list[tuple], strides, dilation_rate, pads,
) -> None:
    """Output rows [row0, row0 + target rows) of the samples of x, into target.

    x : ndarray (nb, h, w, c), the chunk's samples, channels_last, read in place
    weights : ndarray (kh, kw, ow, c), each tap's weights repeated along an output row (or (kh, kw, 1, c))
    bias_row : ndarray (ow, c) or None
    target : ndarray (nb, rows, ow, c), written
    products : ndarray of at least target's size, scratch
    taps : :func:`taps_in_order` of the whole call
    """
    (sh, sw), (dh, dw), ((top, _), (left, _)) = strides, dilation_rate, pads
    nb, rows, ow, c = target.shape
    row1 = row0 + rows
    flat = products.reshape(-1)
    started = False
    for a, b, (i0, i1), (j0, j1) in taps:
        i0, i1 = max(i0, row0), min(i1, row1)
        if i1 <= i0:
            continue
        first_row, first_col = i0 * sh + a * dh - top, j0 * sw + b * dw - left
        tap_input = x[:, first_row : first_row + (i1 - i0 - 1) * sh + 1 : sh,
                      first_col : first_col + (j1 - j0 - 1) * sw + 1 : sw]
        tap_weights = weights[a, b, j0:j1] if weights.shape[2] > 1 else weights[a, b]
        out = target[:, i0 - row0 : i1 - row0, j0:j1]
        whole = (i0, i1, j0, j1) == (row0, row1, 0, ow)
        if not started:
            if whole:
                np.multiply(tap_input, tap_weights, out=out)
                started = True
                continue
            target[...] = 0
            started = True
        product = flat[: out.size].reshape(out.shape)
        np.multiply(tap_input, tap_weights, out=product)
        out += product
    if not started:
        target[...] = 0
    if bias_row is not None:
        target += bias_row


def row_phases(stride: int, kernel_width: int) -> tuple[int, int]:
    """(phases, taps per phase) of the columns of :func:`row_sums`.

    With column stride s, output column j reads padded column ``j*s + b``
    for kernel column b = s*t + p: column ``j + t`` of phase p (the padded
    columns p, p + s, p + 2s, ...).  Stored phase by phase, a tap's input
    for a row of outputs is then one run of ``ow * c`` numbers, at a
    uniform step from tap to tap: s phases of ``ceil(kw / s)`` taps (the
    ones past the kernel weigh zero).  Stride 1 is one phase of kw taps.

    >>> row_phases(1, 3), row_phases(2, 3), row_phases(2, 4)
    ((1, 3), (2, 2), (2, 2))
    """
    return stride, -(-kernel_width // stride)


def row_runs(tile: np.ndarray, rows: int, ow: int, kh: int, row_stride: int, dilation_rate, phases) -> np.ndarray:
    """The (n, rows, kh, phases, taps per phase, ow * c) view of :func:`row_sums`: the input of each tap for
    each of ``rows`` rows of ``ow`` output pixels.

    tile : (n, padded rows, width, c) with contiguous pixels for column stride 1, else (n, padded rows,
        phases, columns, c), the phases of :func:`row_phases` (``phases``: its result)
    """
    (dh, dw), (count, taps) = dilation_rate, phases
    item, c = tile.itemsize, tile.shape[-1]
    if count == 1:
        sn, sr, sc, _ = tile.strides
        sp, sb = 0, sc * dw
    else:
        sn, sr, sp, sb, _ = tile.strides
    return as_strided(tile, shape=(tile.shape[0], rows, kh, count, taps, ow * c),
                      strides=(sn, sr * row_stride, sr * dh, sp, sb, item), writeable=False)


def row_sums(runs: np.ndarray, taps: np.ndarray, target: np.ndarray, parallel) -> None:
    """Every tap summed over whole output rows: one einsum per part of the chunk.

    runs : :func:`row_runs`
    taps : ndarray (kh, phases, taps per phase, ow * c), each tap's weights repeated along an output row
    target : ndarray (nb, rb, ow, c), contiguous, written
    parallel : ``parallel(function, samples, rows, items)`` calls ``function(samples slice, rows slice)`` on
        disjoint parts, in threads

    einsum adds each tap's products to the row in one loop over the run (a
    multiply-add, no products stored), and the row stays in cache while its
    taps are added: fewer passes than tap by tap, longer loops than per pixel.
    """
    nb, rb, ow, c = target.shape
    rows = target.reshape(nb, rb, ow * c)

    def accumulate(samples: slice, part: slice) -> None:
        np.einsum("nhapbz,apbz->nhz", runs[samples, part], taps, out=rows[samples, part], optimize=False)

    parallel(accumulate, nb, rb, target.size)


def pixel_sums(windows: np.ndarray, taps: np.ndarray, target: np.ndarray, parallel) -> None:
    """Every tap of a pixel summed in one einsum call per part of the chunk.

    windows : (nb, rb, ow, kh, kw, c) view of the padded input's windows
    taps : ndarray (kh, kw, c, m), the kernel (filter k*m + j reads channel k)
    target : ndarray (nb, rb, ow, c*m), contiguous, written
    parallel : as for :func:`row_sums`
    """
    nb, rb, ow, kh, kw, c = windows.shape
    multiplier = taps.shape[3]
    if multiplier == 1:
        subscripts, weights, filters = "nhwabc,abc->nhwc", taps[:, :, :, 0], target
    else:
        subscripts, weights, filters = "nhwabc,abcm->nhwcm", taps, target.reshape(nb, rb, ow, c, multiplier)

    def accumulate(samples: slice, rows: slice) -> None:
        np.einsum(subscripts, windows[samples, rows], weights, out=filters[samples, rows], optimize=False)

    parallel(accumulate, nb, rb, target.size)
