"""Depthwise Conv2D read in place: tap by tap over views of the input, no padded copy.

A depthwise convolution (one filter per channel, ``groups == channels``)
has no channel sum to hand to BLAS: each output is ``kh*kw`` multiply-adds.
NumPy does them as whole-array passes, one multiply and one add per kernel
tap.  Tap (a, b) reads input row ``i*sh + a*dh - top`` for output row ``i``
(and likewise for columns), so where that row lies in the padding the tap
adds nothing: each tap is computed only over the rectangle of output
pixels whose input it reaches, straight from a strided view of the input.
That spares the copy of the input into a padded tile, the one pass of the
direct method that is not arithmetic.

The first tap that reaches every output pixel (the centre tap of a "same"
convolution, every tap of a "valid" one) writes the output; otherwise the
output starts from zeros.  ``kernels`` plans the chunks and threads; this
module computes one chunk.
"""

from __future__ import annotations

import numpy as np

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
