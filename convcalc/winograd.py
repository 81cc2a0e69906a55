"""Winograd F(2x2, 3x3): a 3x3 stride-1 Conv2D with 2.25x fewer multiplications.

Tiles of 4x4 input pixels give 2x2 output pixels; the 16 transformed taps are 16 GEMMs, and
the transforms only add, subtract and halve, so float32 stays within a few ulps.  ``kernels``
plans the chunks; this module transforms the kernel and computes one chunk.
"""

from __future__ import annotations

import numpy as np

from .kernel_threads import _Scratch


def _winograd_weights(kernel: np.ndarray, scratch: _Scratch) -> np.ndarray:
    """The 3x3 kernel transformed for Winograd F(2x2, 3x3): ``G g G^T`` for every (channel, filter).

    kernel : ndarray of shape (3, 3, c, f)
    returns : ndarray of shape (16, c, f), tap (i, j) of the 4x4 transformed kernel at ``4*i + j``, where
        ``G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]``.
    The factors 1/2 are exact in binary, so float32 loses at most an ulp or two.
    """
    k = kernel.astype(scratch.dtype, copy=False)
    rows = scratch.get("winograd_kernel_rows", (4, 3, *k.shape[2:]))
    _winograd_kernel_pass(k, rows, axis=0)
    out = scratch.get("winograd_kernel", (4, 4, *k.shape[2:]))
    _winograd_kernel_pass(rows, out, axis=1)
    return out.reshape(16, *k.shape[2:])


def _winograd_kernel_pass(k: np.ndarray, out: np.ndarray, axis: int) -> None:
    """``G`` applied along ``axis`` (0 or 1) of k (3 taps there), into out (4 there)."""

    def tap(a, array):
        return array[a] if axis == 0 else array[:, a]

    np.copyto(tap(0, out), tap(0, k))
    np.add(tap(0, k), tap(2, k), out=tap(1, out))
    np.subtract(tap(1, out), tap(1, k), out=tap(2, out))
    tap(1, out)[...] += tap(1, k)
    tap(1, out)[...] *= 0.5
    tap(2, out)[...] *= 0.5
    np.copyto(tap(3, out), tap(2, k))


def _winograd_chunk(columns: np.ndarray, weights: np.ndarray, bias, target: np.ndarray, scratch: _Scratch) -> None:
    """Winograd F(2x2, 3x3) on one chunk: tiles of 4x4 input pixels give 2x2 output pixels.

    columns : ndarray of shape (nb, 2t+2, 2, u+1, c), the padded input (zeros past its end) with
        even and odd columns apart: ``columns[:, r, p, j]`` is padded column ``2*j + p`` of row r
    weights : ndarray of shape (16, c, f) from :func:`_winograd_weights`
    target : ndarray of shape (nb, rows, cols, f) with rows <= 2t, cols <= 2u

    ``Y = A^T [(G g G^T) * (B^T d B)] A`` per tile d, with
    ``B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]`` and
    ``A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]``: the products of the 16 taps
    are 16 GEMMs (tiles x c) @ (c x f), 2.25x fewer multiplications than
    the 36 of 2x2 output pixels computed directly.  The transforms are
    additions only, rows first, then columns; even and odd columns are kept
    apart so that each addition runs over whole rows of tiles, not over
    one pixel's channels at a time.  The bias is added to the products of
    tap (1, 1), which ``A^T . A`` passes to all four output pixels with
    weight 1.  The transforms stay in this thread: split over threads, they
    compete with the spinning BLAS threads of the GEMMs between them.
    """
    nb, rows, cols, f = target.shape
    c = columns.shape[4]
    t, u = (columns.shape[1] - 2) // 2, columns.shape[3] - 1
    row_sums = scratch.get("winograd_rows", (4, nb, t, 2, u + 1, c))
    tiles = scratch.get("winograd_tiles", (4, 4, nb, t, u, c))

    def transform_input(samples: slice, tr: slice) -> None:
        d = columns[samples, 2 * tr.start : 2 * tr.stop + 2]
        n = tr.stop - tr.start
        _b_transpose([d[:, k : k + 2 * n : 2] for k in range(4)], [row_sums[i, samples, tr] for i in range(4)])
        # All four transformed rows at once (4x fewer, 4x longer NumPy calls).
        v = row_sums[:, samples, tr]
        # Column k of tile j is padded column 2*j + k: (even, j), (odd, j), (even, j+1), (odd, j+1).
        _b_transpose(
            [v[:, :, :, 0, :u], v[:, :, :, 1, :u], v[:, :, :, 0, 1:], v[:, :, :, 1, 1:]],
            [tiles[:, j, samples, tr] for j in range(4)],
        )

    transform_input(slice(0, nb), slice(0, t))
    products = scratch.get("winograd_products", (4, 4, nb, t, u, f))
    np.matmul(tiles.reshape(16, nb * t * u, c), weights, out=products.reshape(16, nb * t * u, f))
    if bias is not None:
        products[1, 1] += bias[:u]
    half = scratch.get("winograd_half", (2, 4, nb, t, u, f))

    def transform_output(samples: slice, tr: slice) -> None:
        m = products[:, :, samples, tr]
        h = half[:, :, samples, tr]
        # Every column j of the tiles at once.
        _a_transpose([m[k] for k in range(4)], h[0], h[1])
        row0, row1 = 2 * tr.start, min(2 * tr.stop, rows)
        if row1 - row0 == 2 * (tr.stop - tr.start) and cols == 2 * u:
            # Whole tiles: the column transform writes the output pixels in place, both rows a at once:
            # output row 2i + a of the band is [a, :, i].
            band = target[samples, row0:row1]
            out_rows = band.reshape(band.shape[0], -1, 2, *band.shape[2:]).transpose(2, 0, 1, 3, 4)
            _a_transpose([h[:, k] for k in range(4)], out_rows[:, :, :, 0::2], out_rows[:, :, :, 1::2])
            return
        # Odd sizes: the output pixels apart, then interleaved without the half-empty last tile row or column.
        pixels = scratch.get("winograd_pixels", (nb, t, 2, 2, u, f))  # [:, i, a, b, j]: output (2i + a, 2j + b)
        y = pixels[samples, tr]
        by_row = y.transpose(2, 0, 1, 3, 4, 5)  # [a, :, i, b, j]
        _a_transpose([h[:, k] for k in range(4)], by_row[:, :, :, 0], by_row[:, :, :, 1])
        for a in range(2):
            out_rows = target[samples, row0 + a : row1 : 2]
            for b in range(2):
                out = out_rows[:, :, b::2]
                np.copyto(out, y[:, : out.shape[1], a, b, : out.shape[2]])

    transform_output(slice(0, nb), slice(0, t))


def _b_transpose(d: list, out: list) -> None:
    """``B^T`` along one axis: (d0 - d2, d1 + d2, d2 - d1, d1 - d3) into out."""
    np.subtract(d[0], d[2], out=out[0])
    np.add(d[1], d[2], out=out[1])
    np.subtract(d[2], d[1], out=out[2])
    np.subtract(d[1], d[3], out=out[3])


def _a_transpose(m: list, out0: np.ndarray, out1: np.ndarray) -> None:
    """``A^T`` along one axis: m0 + m1 + m2 into out0, m1 - m2 - m3 into out1."""
    np.add(m[0], m[1], out=out0)
    out0 += m[2]
    np.subtract(m[1], m[2], out=out1)
    out1 -= m[3]
