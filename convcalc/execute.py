"""What each layer computes under ``--run``: the NumPy call for every runnable layer type, the
memory it needs, and why a layer cannot run.

:mod:`convcalc.run` walks the graph; this module knows layers.  Each entry of
:data:`LAYER_KERNELS` takes the layer's evaluated row (its arguments, padding,
cropping and data format), its input(s) and its weights, and returns what
Keras's ``call`` returns at inference.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import feature_kernels, kernels, layer_kernels, torch_kernels
from .activations import apply_activation
from .errors import ConvcalcError, ExitCode
from .formulas import weight_count
from .result import LayerRow


class InconsistencyError(ConvcalcError):
    """A measured shape differs from the computed one: a bug in convcalc."""

    exit_code = ExitCode.INCONSISTENT


CONVOLUTIONS = ("Conv1D", "Conv2D", "Conv1DTranspose", "Conv2DTranspose")


def _pool_geometry(row: LayerRow) -> tuple:
    args = row.layer.args
    return args["pool_size"], args["strides"] or args["pool_size"], row.padding, row.data_format


# One entry per runnable type other than the convolutions: (row, x, weights) -> y
LAYER_KERNELS: dict[str, Callable] = {
    **{f"MaxPooling{d}D": lambda row, x, w: layer_kernels.max_pool(x, *_pool_geometry(row)) for d in (1, 2)},
    **{f"AveragePooling{d}D": lambda row, x, w: layer_kernels.average_pool(x, *_pool_geometry(row)) for d in (1, 2)},
    **{f"Global{kind.title()}Pooling{d}D": (
        lambda kind: lambda row, x, w: layer_kernels.global_pool(x, kind, row.layer.args["keepdims"], row.data_format)
    )(kind) for kind in ("average", "max") for d in (1, 2)},
    **{f"ZeroPadding{d}D": lambda row, x, w: layer_kernels.zero_padding(x, row.padding, row.data_format) for d in (1, 2)},
    # Cropping1D and UpSampling1D have no data_format in Keras: their steps are axis 1
    "Cropping1D": lambda row, x, w: layer_kernels.cropping(x, row.cropping, "channels_last"),
    "Cropping2D": lambda row, x, w: layer_kernels.cropping(x, row.cropping, row.data_format),
    "UpSampling1D": lambda row, x, w: layer_kernels.upsampling_nearest(x, row.layer.args["size"], "channels_last"),
    "UpSampling2D": lambda row, x, w: layer_kernels.upsampling_nearest(x, row.layer.args["size"], row.data_format),
    "Flatten": lambda row, x, w: layer_kernels.flatten(x, row.data_format),
    "Reshape": lambda row, x, w: layer_kernels.reshape(x, row.output_shape[1:]),
    "Permute": lambda row, x, w: layer_kernels.permute(x, row.layer.args["dims"]),
}


LAYER_KERNELS.update(feature_kernels.RUNS)
LAYER_KERNELS.update(torch_kernels.RUNS)  # nn.Conv2d, nn.ConvTranspose2d, nn.ZeroPad2d (SPEC 8)

# Options of a runnable type that --run does not execute: type -> (row -> reason or None)
REFUSALS: dict[str, Callable] = {
    **{f"UpSampling{d}D": lambda row: (
        None if row.layer.args.get("interpolation", "nearest") == "nearest" else
        f"--run executes UpSampling with interpolation='nearest' only, not {row.layer.args['interpolation']!r}")
       for d in (1, 2)},
    **feature_kernels.REFUSALS,
}


def execute_layer(row: LayerRow, x: np.ndarray, weights: dict[str, np.ndarray]) -> np.ndarray:
    """One layer of the stack, exactly as Keras's ``call`` at inference."""
    if row.type in LAYER_KERNELS:
        return LAYER_KERNELS[row.type](row, x, weights)
    if row.type not in CONVOLUTIONS:  # pragma: no cover - check_runnable refuses every other type before the run
        raise InconsistencyError(f"--run has no kernel for {row.type}.")
    return _convolution(row, x, weights)


def _convolution(row: LayerRow, x: np.ndarray, weights: dict[str, np.ndarray]) -> np.ndarray:
    """A convolution as Keras's ``call``: convolution, bias, activation."""
    args = row.layer.args
    one_d = row.type in ("Conv1D", "Conv1DTranspose")
    x_shape, geometry = _as_2d(row, x.shape)
    height_axis = 1 if row.data_format == "channels_last" else 2
    kernel = weights["kernel"][np.newaxis] if one_d else weights["kernel"]
    if one_d:
        x = np.expand_dims(x, height_axis)
        if x.shape != x_shape:  # causal: all of the padding on the left
            x = np.pad(x, [(total - n, 0) for n, total in zip(x.shape, x_shape)])
    if row.type.endswith("Transpose"):
        y = kernels.conv2d_transpose(x, kernel, bias=weights.get("bias"), **geometry)
    else:
        y = kernels.conv2d(x, kernel, bias=weights.get("bias"), groups=args["groups"], **geometry)
    if one_d:
        y = np.squeeze(y, height_axis)
    return apply_activation(args["activation"], y)


MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")
RUNNABLE = (*CONVOLUTIONS, *LAYER_KERNELS, *MERGES)




def refusal(row: LayerRow) -> str | None:
    """Why --run cannot execute this row, or None."""
    if row.type == "InputLayer":
        return None
    if row.type not in RUNNABLE or row.layer is None or getattr(row.layer, "is_operation", False):
        return f"--run does not execute {row.spec if getattr(row.layer, 'is_operation', False) else row.type} yet"
    rule = REFUSALS.get(row.type)
    return rule(row) if rule is not None else None




def _layer_bytes(row: LayerRow, batch: int, itemsize: int) -> int:
    """Output plus scratch of a layer of :mod:`layer_kernels`, an upper bound: the output, one more
    output-sized temporary, and a padded copy of the input (pooling and padding make one)."""
    output = batch * weight_count(row.output_shape[1:]) * itemsize
    if isinstance(row.input_shape, list):  # a merge: its output, and one more
        return 2 * output
    padded = list(row.input_shape[1:])
    if row.padding is not None:
        for axis, (before, after) in zip(layer_kernels.spatial_axes(len(padded) + 1, row.data_format), row.padding):
            padded[axis - 1] += before + after
    return 2 * output + batch * weight_count(padded) * itemsize


def _kernel_bytes(row: LayerRow, batch: int, dtype: np.dtype) -> int:
    """Output plus scratch of one convolution, from the kernels' own accounting."""
    x_shape, geometry = _as_2d(row, (batch, *row.input_shape[1:]))
    kernel = row.kernel_shape if len(row.kernel_shape) == 4 else (1, *row.kernel_shape)
    if row.type.endswith("Transpose"):
        return kernels.conv2d_transpose_memory(x_shape, kernel, dtype=dtype.name, **geometry)
    return kernels.conv2d_memory(x_shape, kernel, groups=row.layer.args["groups"], dtype=dtype.name, **geometry)


def _as_2d(row: LayerRow, x_shape: tuple[int, ...]) -> tuple[tuple[int, ...], dict]:
    """The 2-D kernel call for a layer: Conv1D/Conv1DTranspose as a height of 1, and
    ``padding='causal'`` as the left padding (added to ``x_shape``) then ``'valid'``."""
    args = row.layer.args
    geometry = dict(strides=args["strides"], padding=args["padding"], dilation_rate=args["dilation_rate"],
                    data_format=row.data_format)
    if row.type.endswith("Transpose"):
        geometry["output_padding"] = args["output_padding"]
    if row.type not in ("Conv1D", "Conv1DTranspose"):
        return x_shape, geometry
    axis = 1 if row.data_format == "channels_last" else 2
    steps_axis = axis + 1  # the steps follow the new height axis in both data formats
    x_shape = (*x_shape[:axis], 1, *x_shape[axis:])
    if args["padding"] == "causal":
        (left, _), = row.padding
        x_shape = tuple(n + left if i == steps_axis else n for i, n in enumerate(x_shape))
        geometry["padding"] = "valid"
    geometry["strides"], geometry["dilation_rate"] = (1, *args["strides"]), (1, *args["dilation_rate"])
    if geometry.get("output_padding") is not None:
        geometry["output_padding"] = (0, *args["output_padding"])
    return x_shape, geometry


def layer_bytes(row: LayerRow, batch: int, dtype: np.dtype) -> int:
    """Output plus scratch of one layer at ``batch``: the kernels' own accounting for convolutions,
    an upper bound for the others."""
    if row.type in CONVOLUTIONS:
        return _kernel_bytes(row, batch, dtype)
    return _layer_bytes(row, batch, dtype.itemsize)
