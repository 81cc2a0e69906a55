"""Conv2D and Conv2DTranspose as readable loops: the references the fast kernels are tested against.

The transposed one is *defined* as Keras does for JAX: a stride-1 cross-correlation with the
spatially flipped kernel over the input with ``strides - 1`` zeros inserted between pixels,
padded by ``formulas.conv_transpose_padding``.  ``kernels`` exports both.
"""

from __future__ import annotations

import numpy as np

from . import formulas
from .kernel_geometry import _as_arrays, _channels_last, _conv2d_geometry, _conv2d_transpose_geometry, _Geometry


def _correlate_naive(xp: np.ndarray, kernel: np.ndarray, strides, dilation_rate, groups: int) -> np.ndarray:
    """Cross-correlation of an already padded input ("valid" over ``xp``), one output pixel at a time.

    xp : ndarray of shape (n, hp, wp, c)
    kernel : ndarray of shape (kh, kw, c // groups, filters)
    returns : ndarray of shape (n, oh, ow, filters), where
        ``out[:, i, j, f] = sum_{a, b, c} xp[:, i*sh + a*dh, j*sw + b*dw, c] * kernel[a, b, c, f]``
        over the input channels ``c`` of the group of filter ``f``.
    """
    n, hp, wp, channels = xp.shape
    kh, kw, group_channels, filters = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation_rate
    oh = formulas.conv_output_length(hp, kh, sh, "valid", dh)
    ow = formulas.conv_output_length(wp, kw, sw, "valid", dw)
    group_filters = filters // groups
    out = np.zeros((n, oh, ow, filters), dtype=xp.dtype)
    for i in range(oh):
        for j in range(ow):
            # The taps of a dilated kernel are dh (dw) input pixels apart.
            window = xp[:, i * sh : i * sh + (kh - 1) * dh + 1 : dh, j * sw : j * sw + (kw - 1) * dw + 1 : dw, :]
            for g in range(groups):
                # Group g sees input channels [g*cg, (g+1)*cg) and makes filters [g*fg, (g+1)*fg).
                x_g = window[..., g * group_channels : (g + 1) * group_channels]
                k_g = kernel[..., g * group_filters : (g + 1) * group_filters]
                out[:, i, j, g * group_filters : (g + 1) * group_filters] = np.tensordot(
                    x_g, k_g, axes=([1, 2, 3], [0, 1, 2])
                )
    return out


def _finish_naive(y: np.ndarray, bias, geometry: _Geometry) -> np.ndarray:
    if bias is not None:
        y += bias.astype(geometry.dtype)
    if geometry.channels_first:
        y = y.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(y)


def conv2d_naive(
    x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1, data_format="channels_last"
) -> np.ndarray:
    """Reference Conv2D by loops: pad as TensorFlow does, then correlate window by window.

    x : ndarray of shape (n, h, w, c), or (n, c, h, w) for channels_first
    kernel : ndarray of shape (kh, kw, c // groups, filters)
    bias : ndarray of shape (filters,), or None
    returns : ndarray of shape (n, oh, ow, filters), or (n, filters, oh, ow)

    Arguments and dtypes as for :func:`conv2d`.  Slow; for tests and benchmarks.

    >>> conv2d_naive(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), strides=2, padding="same")[0, :, :, 0].tolist()
    [[4.0, 6.0, 4.0], [6.0, 9.0, 6.0], [4.0, 6.0, 4.0]]
    """
    x, kernel, bias = _as_arrays(x, kernel, bias)
    geometry = _conv2d_geometry(
        x.shape, kernel.shape, None if bias is None else bias.shape,
        strides, padding, dilation_rate, groups, data_format, x.dtype,
    )
    x = _channels_last(x, geometry).astype(geometry.dtype)
    # formulas.conv_padding splits "same" as TensorFlow does: when the total
    # padding is odd, the extra pixel goes to the bottom and the right.
    (top, bottom), (left, right) = geometry.pads
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    kernel = kernel.astype(geometry.dtype)
    y = _correlate_naive(xp, kernel, geometry.strides, geometry.dilation_rate, geometry.groups)
    assert y.shape[1:3] == geometry.out_size, (y.shape, geometry)
    return _finish_naive(y, bias, geometry)


def conv2d_transpose_naive(
    x,
    kernel,
    bias=None,
    strides=1,
    padding="valid",
    output_padding=None,
    dilation_rate=1,
    data_format="channels_last",
) -> np.ndarray:
    """Reference Conv2DTranspose: zero insertion, padding, flipped kernel, stride-1 correlation.

    x : ndarray of shape (n, h, w, c_in), or (n, c_in, h, w) for channels_first
    kernel : ndarray of shape (kh, kw, filters, c_in)
    bias : ndarray of shape (filters,), or None
    returns : ndarray of shape (n, oh, ow, filters), or (n, filters, oh, ow)

    This is TensorFlow's ``conv2d_transpose`` (the gradient of ``conv2d`` with
    respect to its input) written the way Keras computes it for JAX:
    ``strides - 1`` zeros between input pixels, then the per-side padding of
    ``formulas.conv_transpose_padding``, then a stride-1 (dilated)
    cross-correlation with the kernel flipped in both spatial axes and its
    channel axes swapped.  Slow; for tests and benchmarks.

    >>> y = conv2d_transpose_naive(np.full((1, 1, 1, 1), 2.0), np.arange(4.0).reshape(2, 2, 1, 1), strides=2)
    >>> y[0, :, :, 0].tolist()  # one pixel stamps the kernel times its value
    [[0.0, 2.0], [4.0, 6.0]]
    """
    x, kernel, bias = _as_arrays(x, kernel, bias)
    geometry = _conv2d_transpose_geometry(
        x.shape, kernel.shape, None if bias is None else bias.shape,
        strides, padding, output_padding, dilation_rate, data_format, x.dtype,
    )
    x = _channels_last(x, geometry).astype(geometry.dtype)
    n, (h, w), c = geometry.batch, geometry.in_size, geometry.in_channels
    sh, sw = geometry.strides
    # s - 1 zeros between neighbouring input pixels, none outside them.
    dilated = np.zeros((n, (h - 1) * sh + 1, (w - 1) * sw + 1, c), dtype=geometry.dtype)
    dilated[:, ::sh, ::sw, :] = x
    # Not symmetric in general: "valid" puts output_padding after (bottom/right);
    # "same" puts the larger half before, capped at ke - 1 (Keras's JAX rule).
    (top, bottom), (left, right) = geometry.pads
    padded = np.pad(dilated, ((0, 0), (top, bottom), (left, right), (0, 0)))
    # Flip the taps (a correlation with a flipped kernel is a convolution) and
    # swap (filters, c_in) to the direct layout (c_in, filters).
    flipped = kernel[::-1, ::-1].transpose(0, 1, 3, 2).astype(geometry.dtype)
    y = _correlate_naive(padded, flipped, (1, 1), geometry.dilation_rate, 1)
    assert y.shape[1:3] == geometry.out_size, (y.shape, geometry)
    return _finish_naive(y, bias, geometry)
