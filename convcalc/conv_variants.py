"""The convolutions Keras builds from Conv2D's: 3-D convolutions and their transposes, depthwise and
separable convolutions, for ``--run``; with the bytes each one allocates (its memory estimate).

Everything runs through :func:`convcalc.kernels.conv2d` and
:func:`convcalc.kernels.conv2d_transpose`:

- Conv3D is a sum over the depth taps of Conv2D calls: tap ``a`` reads the
  depth slices ``o*sd + a*dd`` of the depth-padded input (depth folded into the batch).
- Conv3DTranspose spreads, for each depth tap ``a``, the Conv2DTranspose of every
  input slice ``i`` onto output depth ``i*sd + a*dd - crop`` (``crop = ke - 1 - before``).
- DepthwiseConv2D is a grouped Conv2D: the kernel ``(kh, kw, C, M)`` is ``(kh, kw, 1, C*M)``
  with ``groups=C`` (output channel ``c*M + m``, as TensorFlow orders them). With both
  strides and dilation above 1, Keras pads as ``same`` would, convolves at stride 1 and
  keeps every ``s``-th output; so does this module.
- SeparableConv2D is that depthwise convolution followed by a 1x1 Conv2D (the pointwise kernel).
- The 1-D layers are the 2-D ones with a height of 1.

Arrays have the batch axis first; ``data_format`` says where the channels are.  ``sides``
are per-side paddings ``(before, after)`` per spatial axis, as the formulas give them.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .formulas import weight_count


def _to_last(x: np.ndarray, data_format: str) -> np.ndarray:
    return np.moveaxis(x, 1, -1) if data_format == "channels_first" else x


def _from_last(y: np.ndarray, data_format: str) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(y, -1, 1)) if data_format == "channels_first" else y


def _add_bias(y: np.ndarray, bias, data_format: str) -> np.ndarray:
    if bias is not None:
        y += np.asarray(bias, y.dtype).reshape((-1,) + (1,) * (y.ndim - 2) if data_format == "channels_first" else -1)
    return y


def _depth_geometry(strides, dilation_rate):
    return dict(strides=tuple(strides[1:]), dilation_rate=tuple(dilation_rate[1:]), data_format="channels_last")


# ---- Conv3D ------------------------------------------------------------------------------------------

def conv3d(x: np.ndarray, kernel: np.ndarray, bias, strides, padding: str, dilation_rate, groups: int,
           sides, data_format: str) -> np.ndarray:
    """Keras Conv3D. x : ndarray of shape (n, d, h, w, c) or (n, c, d, h, w);
    kernel : (kd, kh, kw, c // groups, filters); bias : (filters,) or None."""
    x = _to_last(x, data_format)
    (before, after), sd, dd = sides[0], strides[0], dilation_rate[0]
    if before or after:
        x = np.pad(x, ((0, 0), (before, after), (0, 0), (0, 0), (0, 0)))
    n, depth, h, w, c = x.shape
    out_depth = (depth - dd * (kernel.shape[0] - 1) - 1) // sd + 1
    y = None
    for a in range(kernel.shape[0]):
        start = a * dd
        taps = x[:, start:start + sd * (out_depth - 1) + 1:sd].reshape(n * out_depth, h, w, c)
        part = kernels.conv2d(taps, kernel[a], None, padding=padding, groups=groups,
                              **_depth_geometry(strides, dilation_rate))
        if y is None:
            y = part
        else:
            y += part
    y = y.reshape(n, out_depth, *y.shape[1:])
    return _from_last(_add_bias(y, bias, "channels_last"), data_format)


def conv3d_bytes(x_shape, kernel_shape, strides, padding: str, dilation_rate, groups: int, sides,
                 data_format: str, output_shape, dtype: np.dtype) -> int:
    """An upper bound of what :func:`conv3d` allocates: the channels_last and depth-padded copies of
    the input, one tap's gathered slices, one tap's Conv2D (output and scratch), the accumulated
    output, and its channels_first copy."""
    size = dtype.itemsize
    n, *spatial, c = x_shape if data_format == "channels_last" else (x_shape[0], *x_shape[2:], x_shape[1])
    (before, after) = sides[0]
    padded = (n, spatial[0] + before + after, *spatial[1:], c)
    out_depth = output_shape[1] if data_format == "channels_last" else output_shape[2]
    taps = (n * out_depth, *spatial[1:], c)
    tap = kernels.conv2d_memory(taps, kernel_shape[1:], padding=padding, groups=groups, dtype=dtype.name,
                                **_depth_geometry(strides, dilation_rate))
    copies = 2 * weight_count(padded) + weight_count(taps) + 2 * weight_count(output_shape)
    return copies * size + tap


# ---- Conv3DTranspose ---------------------------------------------------------------------------------

def conv3d_transpose(x: np.ndarray, kernel: np.ndarray, bias, strides, padding: str, output_padding,
                     dilation_rate, sides, out_depth: int, data_format: str) -> np.ndarray:
    """Keras Conv3DTranspose. x : ndarray of shape (n, d, h, w, c) or (n, c, d, h, w);
    kernel : (kd, kh, kw, filters, c); ``sides[0]`` is the depth padding of the equivalent
    direct convolution and ``out_depth`` the output depth, both from the formulas."""
    x = _to_last(x, data_format)
    n, depth, h, w, c = x.shape
    sd, dd, kd = strides[0], dilation_rate[0], kernel.shape[0]
    crop = dd * (kd - 1) - sides[0][0]  # the full result starts this many slices before the output
    flat = x.reshape(n * depth, h, w, c)
    hw_padding = None if output_padding is None else tuple(output_padding[1:])
    y = None
    for a in range(kd):
        part = kernels.conv2d_transpose(flat, kernel[a], None, padding=padding, output_padding=hw_padding,
                                        **_depth_geometry(strides, dilation_rate))
        part = part.reshape(n, depth, *part.shape[1:])
        if y is None:
            y = np.zeros((n, out_depth, *part.shape[2:]), part.dtype)
        offset = a * dd - crop  # input slice i lands on output depth i*sd + offset
        first = max(0, -(offset // sd))
        last = min(depth, (out_depth - 1 - offset) // sd + 1)
        if first < last:
            start = first * sd + offset
            y[:, start:start + (last - first - 1) * sd + 1:sd] += part[:, first:last]
    return _from_last(_add_bias(y, bias, "channels_last"), data_format)


def conv3d_transpose_bytes(x_shape, kernel_shape, strides, padding: str, output_padding, dilation_rate,
                           data_format: str, output_shape, dtype: np.dtype) -> int:
    """An upper bound of what :func:`conv3d_transpose` allocates: the input's channels_last copy,
    one tap's Conv2DTranspose over every input slice (output and scratch), the output and its
    channels_first copy."""
    n, *spatial, c = x_shape if data_format == "channels_last" else (x_shape[0], *x_shape[2:], x_shape[1])
    hw_padding = None if output_padding is None else tuple(output_padding[1:])
    tap = kernels.conv2d_transpose_memory((n * spatial[0], *spatial[1:], c), kernel_shape[1:], padding=padding,
                                          output_padding=hw_padding, dtype=dtype.name,
                                          **_depth_geometry(strides, dilation_rate))
    return (weight_count(x_shape) + 2 * weight_count(output_shape)) * dtype.itemsize + tap


# ---- Depthwise and separable -------------------------------------------------------------------------

def _grouped(kernel: np.ndarray) -> np.ndarray:
    """A depthwise kernel (kh, kw, C, M) as the grouped Conv2D kernel (kh, kw, 1, C*M)."""
    kh, kw, channels, multiplier = kernel.shape
    return kernel.reshape(kh, kw, 1, channels * multiplier)


def _strided_and_dilated(strides, dilation_rate) -> bool:
    return any(s > 1 for s in strides) and any(d > 1 for d in dilation_rate)


def depthwise_conv2d(x: np.ndarray, kernel: np.ndarray, bias, strides, padding: str, dilation_rate, sides,
                     data_format: str) -> np.ndarray:
    """Keras DepthwiseConv2D. x : ndarray of shape (n, h, w, C) or (n, C, h, w);
    kernel : (kh, kw, C, M); bias : (C*M,) or None."""
    grouped, channels = _grouped(kernel), kernel.shape[2]
    if not _strided_and_dilated(strides, dilation_rate):
        return kernels.conv2d(x, grouped, bias, strides=strides, padding=padding, dilation_rate=dilation_rate,
                              groups=channels, data_format=data_format)
    axes = (1, 2) if data_format == "channels_last" else (2, 3)
    pad = [(0, 0)] * 4
    for axis, side in zip(axes, sides):
        pad[axis] = tuple(side)
    y = kernels.conv2d(np.pad(x, pad), grouped, None, strides=1, padding="valid", dilation_rate=dilation_rate,
                       groups=channels, data_format=data_format)
    index = [slice(None)] * 4
    for axis, stride in zip(axes, strides):
        index[axis] = slice(None, None, stride)
    return _add_bias(np.ascontiguousarray(y[tuple(index)]), bias, data_format)


def depthwise_conv2d_bytes(x_shape, kernel_shape, strides, padding: str, dilation_rate, sides, data_format: str,
                           dtype: np.dtype) -> int:
    """What :func:`depthwise_conv2d` allocates: the grouped Conv2D's own accounting; with both
    strides and dilation, the padded input, the stride-1 Conv2D and the kept outputs."""
    kh, kw, channels, multiplier = kernel_shape
    grouped = (kh, kw, 1, channels * multiplier)
    if not _strided_and_dilated(strides, dilation_rate):
        return kernels.conv2d_memory(x_shape, grouped, strides=strides, padding=padding, dilation_rate=dilation_rate,
                                     groups=channels, data_format=data_format, dtype=dtype.name)
    axes = (1, 2) if data_format == "channels_last" else (2, 3)
    padded = list(x_shape)
    for axis, (before, after) in zip(axes, sides):
        padded[axis] += before + after
    full = kernels.conv2d_memory(tuple(padded), grouped, strides=1, padding="valid", dilation_rate=dilation_rate,
                                 groups=channels, data_format=data_format, dtype=dtype.name)
    return weight_count(padded) * dtype.itemsize + 2 * full


def separable_conv2d(x: np.ndarray, depthwise: np.ndarray, pointwise: np.ndarray, bias, strides, padding: str,
                     dilation_rate, sides, data_format: str) -> np.ndarray:
    """Keras SeparableConv2D: the depthwise convolution (no bias), then a 1x1 Conv2D with the
    pointwise kernel (1, 1, C*M, filters) and the bias."""
    y = depthwise_conv2d(x, depthwise, None, strides, padding, dilation_rate, sides, data_format)
    return kernels.conv2d(y, pointwise, bias, data_format=data_format)


def separable_conv2d_bytes(x_shape, depthwise_shape, pointwise_shape, strides, padding: str, dilation_rate, sides,
                           data_format: str, dtype: np.dtype, depthwise_output) -> int:
    """The depthwise stage's bytes plus the pointwise Conv2D's (the depthwise output is alive meanwhile)."""
    return (depthwise_conv2d_bytes(x_shape, depthwise_shape, strides, padding, dilation_rate, sides, data_format, dtype)
            + kernels.conv2d_memory(depthwise_output, pointwise_shape, data_format=data_format, dtype=dtype.name))
