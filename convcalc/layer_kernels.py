"""NumPy kernels of Keras's non-convolution layers, in inference mode, for ``--run``.

One small function per layer type. Every array has the batch axis first;
``data_format`` says where the channels are: ``channels_last`` is
``(n, *spatial, c)``, ``channels_first`` is ``(n, c, *spatial)``. Per-side
padding comes from the formulas (a row's ``padding``), never recomputed here.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np



def spatial_axes(rank: int, data_format: str) -> tuple[int, ...]:
    """The spatial axes of an array of ``rank`` axes (batch included).

    >>> spatial_axes(4, "channels_last"), spatial_axes(4, "channels_first")
    ((1, 2), (2, 3))
    """
    return tuple(range(1, rank - 1)) if data_format == "channels_last" else tuple(range(2, rank))


def _pad_spec(rank: int, axes: Sequence[int], sides: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    pad = [(0, 0)] * rank
    for axis, side in zip(axes, sides):
        pad[axis] = tuple(side)
    return pad


def _window_views(x: np.ndarray, axes, pool_size, strides, out_sizes):
    """For each offset in the pool window, the view of ``x`` that offset picks in every window
    (strided, no copy): the pools then reduce into their output in place, so that their
    scratch is the output alone."""
    for offset in np.ndindex(*pool_size):
        index = [slice(None)] * x.ndim
        for axis, start, stride, size in zip(axes, offset, strides, out_sizes):
            index[axis] = slice(start, start + stride * (size - 1) + 1, stride)
        yield x[tuple(index)]


def _out_sizes(x: np.ndarray, axes, pool_size, strides) -> list[int]:
    return [(x.shape[a] - p) // s + 1 for a, p, s in zip(axes, pool_size, strides)]


def max_pool(x: np.ndarray, pool_size, strides, sides, data_format: str) -> np.ndarray:
    """MaxPooling1D/2D. x : ndarray of shape (n, *spatial, c) or (n, c, *spatial).

    ``sides`` is the per-side padding (``((0, 0), ...)`` for ``valid``); padded cells are
    ``-inf``, so they never win.
    """
    axes = spatial_axes(x.ndim, data_format)
    if any(any(side) for side in sides):
        x = np.pad(x, _pad_spec(x.ndim, axes, sides), constant_values=-np.inf)
    views = _window_views(x, axes, pool_size, strides, _out_sizes(x, axes, pool_size, strides))
    y = next(views).copy()
    for view in views:
        np.maximum(y, view, out=y)
    return y


def average_pool(x: np.ndarray, pool_size, strides, sides, data_format: str) -> np.ndarray:
    """AveragePooling1D/2D. x : ndarray of shape (n, *spatial, c) or (n, c, *spatial).

    Keras (TF's ``avg_pool`` with SAME) divides by the number of real cells in each
    window: the padding is not counted.
    """
    axes = spatial_axes(x.ndim, data_format)
    padded = any(any(side) for side in sides)
    if padded:
        x = np.pad(x, _pad_spec(x.ndim, axes, sides))
    out_sizes = _out_sizes(x, axes, pool_size, strides)
    views = _window_views(x, axes, pool_size, strides, out_sizes)
    y = next(views).copy()
    for view in views:
        y += view
    if not padded:
        y /= np.asarray(np.prod(pool_size), x.dtype)
        return y
    # how many real (unpadded) cells each window holds, along each spatial axis separately
    for axis, size, pool, stride, (before, after) in zip(axes, out_sizes, pool_size, strides, sides):
        starts = np.arange(size) * stride - before
        real = x.shape[axis] - before - after
        count = np.minimum(starts + pool, real) - np.maximum(starts, 0)
        shape = [1] * x.ndim
        shape[axis] = size
        y /= count.astype(x.dtype).reshape(shape)
    return y


def global_pool(x: np.ndarray, kind: str, keepdims: bool, data_format: str) -> np.ndarray:
    """GlobalAverage/GlobalMaxPooling1D/2D. x : ndarray of shape (n, *spatial, c) or (n, c, *spatial)."""
    axes = spatial_axes(x.ndim, data_format)
    reduce = np.mean if kind == "average" else np.max
    return reduce(x, axis=axes, keepdims=keepdims)


def zero_padding(x: np.ndarray, sides, data_format: str) -> np.ndarray:
    """ZeroPadding1D/2D. x : ndarray of shape (n, *spatial, c) or (n, c, *spatial)."""
    return np.pad(x, _pad_spec(x.ndim, spatial_axes(x.ndim, data_format), sides))


def cropping(x: np.ndarray, sides, data_format: str) -> np.ndarray:
    """Cropping1D/2D. x : ndarray of shape (n, *spatial, c) or (n, c, *spatial)."""
    index = [slice(None)] * x.ndim
    for axis, (before, after) in zip(spatial_axes(x.ndim, data_format), sides):
        index[axis] = slice(before, x.shape[axis] - after)
    return x[tuple(index)]


def upsampling_nearest(x: np.ndarray, size, data_format: str) -> np.ndarray:
    """UpSampling1D/2D with ``nearest``: each cell repeated ``size`` times along its axis.
    x : ndarray of shape (n, *spatial, c) or (n, c, *spatial)."""
    for axis, times in zip(spatial_axes(x.ndim, data_format), size):
        x = np.repeat(x, times, axis=axis)
    return x


def flatten(x: np.ndarray, data_format: str) -> np.ndarray:
    """Flatten. x : ndarray of shape (n, ...); channels_first inputs are first moved to
    channels_last, as Keras's ``Flatten`` does, so the order of the values is Keras's."""
    if data_format == "channels_first" and x.ndim > 2:
        x = np.transpose(x, (0, *range(2, x.ndim), 1))
    return x.reshape(x.shape[0], -1)


def reshape(x: np.ndarray, target_shape: Sequence[int]) -> np.ndarray:
    """Reshape. x : ndarray of shape (n, ...); ``target_shape`` excludes the batch (as computed)."""
    return x.reshape(x.shape[0], *target_shape)


def permute(x: np.ndarray, dims: Sequence[int]) -> np.ndarray:
    """Permute. x : ndarray of shape (n, ...); ``dims`` are 1-based, as Keras's."""
    return np.transpose(x, (0, *dims))


IN_PLACE_MERGES = ("Add", "Multiply", "Maximum", "Minimum")


def merge(kind: str, inputs: Sequence[np.ndarray], axis: int = -1, into_first: bool = False) -> np.ndarray:
    """Add/Subtract/Multiply/Average/Maximum/Minimum/Concatenate of same-rank arrays (batch first).

    ``into_first`` (one of ``IN_PLACE_MERGES``, the first input the caller's to overwrite, every input
    of its shape and dtype): the result is accumulated into the first input, in the same order."""
    if kind == "Concatenate":
        return np.concatenate(inputs, axis=axis)
    if kind == "Subtract":
        return inputs[0] - inputs[1]
    reduce = {"Add": np.add, "Multiply": np.multiply, "Maximum": np.maximum, "Minimum": np.minimum,
              "Average": np.add}[kind]
    y = inputs[0]
    if into_first and kind in IN_PLACE_MERGES:
        for other in inputs[1:]:
            reduce(y, other, out=y)
        return y
    for other in inputs[1:]:
        y = reduce(y, other)
    if kind == "Average":
        y = y / np.asarray(len(inputs), y.dtype)
    return y
