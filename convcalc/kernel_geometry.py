"""The arguments of a Conv2D / Conv2DTranspose call checked, and every number the call needs.

Shared by the fast kernels (``kernels``), the naive references (``naive_kernels``) and the
memory estimates: shapes and per-side padding come from ``convcalc.formulas`` only, and
Keras's geometry rules (strides with dilation, output_padding, groups, output size) from
``convcalc.rules``, the functions the layers check them with; here a broken rule raises
``ValueError`` naming the function.  Checked geometries are remembered (``_MAX_CACHED``).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import formulas, rules
from .errors import ConvcalcError

DATA_FORMATS = ("channels_last", "channels_first")
PADDINGS = ("valid", "same")
# Geometries and plans of this many recent argument combinations are kept: working
# them out again costs ~20 us, a tenth of a small layer's whole call.
_MAX_CACHED = 512


@dataclass(frozen=True)
class _Geometry:
    """Every number one call needs, validated; spatial pairs are (rows, cols).

    ``pads`` is the padding of the direct convolution actually computed:
    for Conv2D ``formulas.conv_padding``; for Conv2DTranspose
    ``formulas.conv_transpose_padding`` (padding of the equivalent direct
    convolution over the zero-inserted input).
    """

    transpose: bool
    batch: int
    in_size: tuple[int, int]
    in_channels: int
    kernel_size: tuple[int, int]
    filters: int
    groups: int
    strides: tuple[int, int]
    dilation_rate: tuple[int, int]
    pads: tuple[tuple[int, int], tuple[int, int]]
    out_size: tuple[int, int]
    channels_first: bool
    dtype: np.dtype

    @property
    def effective_kernel(self) -> tuple[int, int]:
        return tuple(formulas.effective_kernel(k, d) for k, d in zip(self.kernel_size, self.dilation_rate))

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        if self.channels_first:
            return (self.batch, self.filters, *self.out_size)
        return (self.batch, *self.out_size, self.filters)


def _type_key(value):
    """A hashable key for an argument that tells apart equal values checked differently (1, 1.0, True)."""
    kind = type(value)
    if kind is tuple or kind is list:
        return (kind, tuple(map(_type_key, value)))
    return (kind, value)


_cache: dict = {}


def _cached(build: Callable, *args, exact: int = 0, extra=()):
    """``build(*args)``, remembered for the same arguments (of the same types) and ``extra``.

    The first ``exact`` arguments are compared as they are (shapes, our own
    values).  Only results are kept (a refused argument is refused again
    each time); arguments that cannot be hashed are not remembered.
    """
    try:
        key = (build, args[:exact], tuple(map(_type_key, args[exact:])), extra)
        result = _cache.get(key)
    except TypeError:
        return build(*args)
    if result is None:
        result = build(*args)
        if len(_cache) >= _MAX_CACHED:
            _cache.clear()
        _cache[key] = result
    return result


def _pair(value, name: str, minimum: int) -> tuple[int, int]:
    """An int or a 2-sequence of ints, as Keras accepts ``strides=2`` or ``(2, 1)``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    else:
        try:
            pair = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an int or a tuple of 2 ints, got {value!r}") from None
        if len(pair) != 2 or any(isinstance(v, bool) for v in value):
            raise ValueError(f"{name} must be an int or a tuple of 2 ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return pair


def _compute_dtype(dtype, what: str) -> np.dtype:
    """float64 stays float64; every other real dtype is computed in float32."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "biuf":
        raise ValueError(f"{what} must hold real numbers, got dtype {dtype}")
    return np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)


@contextmanager
def _keras_rule(op: str, x_shape, kernel_shape):
    """A rule of ``convcalc.rules`` broken by a kernel call: ``ValueError``, naming the call and its arrays."""
    try:
        yield
    except ConvcalcError as error:
        message = error.message.rstrip(".")
        raise ValueError(f"{op}: {message}; x of shape {tuple(x_shape)}, kernel of shape {tuple(kernel_shape)}") from None


def _common_args(op, x_shape, kernel_shape, strides, padding, dilation_rate, data_format):
    """Check what Conv2D and Conv2DTranspose share; returns normalized values."""
    x_shape, kernel_shape = tuple(x_shape), tuple(kernel_shape)
    if len(x_shape) != 4:
        raise ValueError(
            f"{op}: x must be 4-D (batch, rows, cols, channels, or channels first), got x of shape {x_shape}"
        )
    if len(kernel_shape) != 4:
        raise ValueError(f"{op}: kernel must be 4-D, got kernel of shape {kernel_shape} (x of shape {x_shape})")
    if not isinstance(padding, str) or padding.lower() not in PADDINGS:
        raise ValueError(f"{op}: padding must be 'valid' or 'same', got {padding!r}")
    if not isinstance(data_format, str) or data_format.lower() not in DATA_FORMATS:
        raise ValueError(f"{op}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    strides = _pair(strides, "strides", 1)
    dilation_rate = _pair(dilation_rate, "dilation_rate", 1)
    with _keras_rule(op, x_shape, kernel_shape):
        rules.check_strides_with_dilation(strides, dilation_rate)
    if min(kernel_shape) < 1:
        raise ValueError(f"{op}: every size of the kernel must be positive, got kernel of shape {kernel_shape}")
    channels_first = data_format.lower() == "channels_first"
    if channels_first:
        batch, channels, rows, cols = x_shape
    else:
        batch, rows, cols, channels = x_shape
    if batch < 0 or min(rows, cols, channels) < 1:
        raise ValueError(
            f"{op}: x of shape {x_shape} ({data_format.lower()}) has an empty spatial or channel axis"
        )
    return padding.lower(), strides, dilation_rate, channels_first, batch, (rows, cols), channels


def _check_bias(op, bias_shape, filters, kernel_shape):
    if bias_shape is not None and tuple(bias_shape) != (filters,):
        raise ValueError(
            f"{op}: bias must have shape ({filters},), one per filter of kernel of shape "
            f"{tuple(kernel_shape)}, got bias of shape {tuple(bias_shape)}"
        )


def _check_output(op, in_size, out_size, x_shape, kernel_shape, strides, padding, dilation_rate):
    with _keras_rule(op, x_shape, kernel_shape):
        rules.check_output_size(in_size, out_size, tuple(kernel_shape[:2]), dilation_rate, strides, padding)


def _conv2d_geometry(
    x_shape, kernel_shape, bias_shape, strides, padding, dilation_rate, groups, data_format, dtype
) -> _Geometry:
    op = "conv2d"
    padding, strides, dilation_rate, channels_first, batch, in_size, channels = _common_args(
        op, x_shape, kernel_shape, strides, padding, dilation_rate, data_format
    )
    kh, kw, group_channels, filters = kernel_shape
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    groups = int(groups)
    with _keras_rule(op, x_shape, kernel_shape):
        rules.check_groups_divide_filters(filters, groups)
        rules.check_groups_divide_channels(
            channels, groups, tuple(x_shape), "channels_first" if channels_first else "channels_last"
        )
    if group_channels * groups != channels:
        raise ValueError(
            f"{op}: kernel of shape {tuple(kernel_shape)} expects {group_channels * groups} input channels "
            f"({group_channels} per group, groups={groups}), but x of shape {tuple(x_shape)} "
            f"({'channels_first' if channels_first else 'channels_last'}) has {channels}"
        )
    _check_bias(op, bias_shape, filters, kernel_shape)
    pads = tuple(
        formulas.conv_padding(n, k, s, padding, d)
        for n, k, s, d in zip(in_size, (kh, kw), strides, dilation_rate)
    )
    out_size = tuple(
        formulas.conv_output_length(n, k, s, padding, d)
        for n, k, s, d in zip(in_size, (kh, kw), strides, dilation_rate)
    )
    _check_output(op, in_size, out_size, x_shape, kernel_shape, strides, padding, dilation_rate)
    return _Geometry(
        False, batch, in_size, channels, (kh, kw), filters, groups, strides, dilation_rate,
        pads, out_size, channels_first, _compute_dtype(dtype, "x"),
    )


def _conv2d_transpose_geometry(
    x_shape, kernel_shape, bias_shape, strides, padding, output_padding, dilation_rate, data_format, dtype
) -> _Geometry:
    op = "conv2d_transpose"
    padding, strides, dilation_rate, channels_first, batch, in_size, channels = _common_args(
        op, x_shape, kernel_shape, strides, padding, dilation_rate, data_format
    )
    kh, kw, filters, kernel_channels = kernel_shape
    if kernel_channels != channels:
        raise ValueError(
            f"{op}: kernel of shape {tuple(kernel_shape)} (kh, kw, filters, in_channels) expects "
            f"{kernel_channels} input channels, but x of shape {tuple(x_shape)} "
            f"({'channels_first' if channels_first else 'channels_last'}) has {channels}"
        )
    if output_padding is None:
        output_padding = (None, None)
    else:
        output_padding = _pair(output_padding, "output_padding", 0)
        with _keras_rule(op, x_shape, kernel_shape):
            rules.check_output_padding(output_padding, strides)
    _check_bias(op, bias_shape, filters, kernel_shape)
    pads = tuple(
        formulas.conv_transpose_padding(k, s, padding, p, d)
        for k, s, p, d in zip((kh, kw), strides, output_padding, dilation_rate)
    )
    out_size = tuple(
        formulas.conv_transpose_output_length(n, k, s, padding, p, d)
        for n, k, s, p, d in zip(in_size, (kh, kw), strides, output_padding, dilation_rate)
    )
    _check_output(op, in_size, out_size, x_shape, kernel_shape, strides, padding, dilation_rate)
    return _Geometry(
        True, batch, in_size, channels, (kh, kw), filters, 1, strides, dilation_rate,
        pads, out_size, channels_first, _compute_dtype(dtype, "x"),
    )


def _as_arrays(x, kernel, bias):
    x, kernel = np.asarray(x), np.asarray(kernel)
    _compute_dtype(kernel.dtype, "kernel")
    if bias is not None:
        bias = np.asarray(bias)
        _compute_dtype(bias.dtype, "bias")
    return x, kernel, bias


def _channels_last(x: np.ndarray, geometry: _Geometry) -> np.ndarray:
    """A channels_last view of x (no copy)."""
    return x.transpose(0, 2, 3, 1) if geometry.channels_first else x
