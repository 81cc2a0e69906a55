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

from . import conv_variants, feature_kernels, image_kernels, kernels, layer_kernels, torch_kernels
from . import graph as graph_module
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


# Image layers whose call at inference (training=False) returns its input, cast to the layer's dtype, in
# Keras 3.15 (each one's transform_images checks `training` first); Equalization and Solarization too
IMAGE_IDENTITIES = (
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness",
    "RandomHue", "RandomSaturation", "RandomSharpness", "RandomPosterization", "RandomColorDegeneration",
    "RandomGrayscale", "RandomColorJitter", "RandAugment", "AugMix", "MixUp", "CutMix", "RandomErasing",
    "RandomGaussianBlur", "RandomInvert", "RandomPerspective", "RandomShear", "RandomElasticTransform",
    "Equalization", "Solarization", "MaxNumBoundingBoxes",
)
# RandomCrop returns its input uncropped at inference: runnable when that is its declared output
IDENTITY_AT_INFERENCE = (*IMAGE_IDENTITIES, "RandomCrop", "SpatialDropout3D")


# One entry per runnable type other than CONVOLUTIONS: (row, x, weights) -> y; the convolutions built on
# Conv2D (3-D, depthwise, separable) join below, from CONV_VARIANTS
LAYER_KERNELS: dict[str, Callable] = {
    **{f"MaxPooling{d}D": lambda row, x, w: layer_kernels.max_pool(x, *_pool_geometry(row)) for d in (1, 2, 3)},
    **{f"AveragePooling{d}D": lambda row, x, w: layer_kernels.average_pool(x, *_pool_geometry(row)) for d in (1, 2, 3)},
    **{f"Global{kind.title()}Pooling{d}D": (
        lambda kind: lambda row, x, w: layer_kernels.global_pool(x, kind, row.layer.args["keepdims"], row.data_format)
    )(kind) for kind in ("average", "max") for d in (1, 2, 3)},
    **{f"ZeroPadding{d}D": lambda row, x, w: layer_kernels.zero_padding(x, row.padding, row.data_format)
       for d in (1, 2, 3)},
    # Cropping1D and UpSampling1D have no data_format in Keras: their steps are axis 1
    "Cropping1D": lambda row, x, w: layer_kernels.cropping(x, row.cropping, "channels_last"),
    **{f"Cropping{d}D": lambda row, x, w: layer_kernels.cropping(x, row.cropping, row.data_format) for d in (2, 3)},
    "UpSampling1D": lambda row, x, w: layer_kernels.upsampling_nearest(x, row.layer.args["size"], "channels_last"),
    "UpSampling2D": lambda row, x, w: _upsampling2d(row, x),
    "UpSampling3D": lambda row, x, w: layer_kernels.upsampling_nearest(x, row.layer.args["size"], row.data_format),
    "Flatten": lambda row, x, w: layer_kernels.flatten(x, row.data_format),
    "Reshape": lambda row, x, w: layer_kernels.reshape(x, row.output_shape[1:]),
    "Permute": lambda row, x, w: layer_kernels.permute(x, row.layer.args["dims"]),
    "Resizing": lambda row, x, w: _resizing(row, x),
    "CenterCrop": lambda row, x, w: image_kernels.center_crop(
        x, row.layer.args["height"], row.layer.args["width"], row.data_format),
    "AutoContrast": lambda row, x, w: image_kernels.auto_contrast(x, row.layer.args["value_range"]),
    "ContrastLimitedAdaptiveHistogramEqualization": lambda row, x, w: image_kernels.clahe(
        x, row.layer.args["value_range"], row.layer.args["clip_limit"], row.layer.args["tile_grid_size"],
        row.data_format),
    **{name: lambda row, x, w: x for name in IDENTITY_AT_INFERENCE},
}


# ---- Resizing and image layers ----------------------------------------------------------------------

def _upsampling2d(row: LayerRow, x: np.ndarray) -> np.ndarray:
    """UpSampling2D: ``nearest`` repeats pixels; any other interpolation is ``ops.image.resize`` to
    ``size`` times the input (channels moved last and back, as Keras does)."""
    args = row.layer.args
    if args["interpolation"] == "nearest":
        return layer_kernels.upsampling_nearest(x, args["size"], row.data_format)
    h_axis = 1 if row.data_format == "channels_last" else 2
    size = (x.shape[h_axis] * args["size"][0], x.shape[h_axis + 1] * args["size"][1])
    return image_kernels.resize(x, size, args["interpolation"], data_format=row.data_format)


def _resizing(row: LayerRow, x: np.ndarray) -> np.ndarray:
    args = row.layer.args
    return image_kernels.resize(
        x, (args["height"], args["width"]), args["interpolation"], bool(args["antialias"]), row.data_format,
        bool(args["crop_to_aspect_ratio"]), bool(args["pad_to_aspect_ratio"]), args["fill_value"])


# ---- Convolutions built on Conv2D: 3-D, depthwise, separable -----------------------------------------

def _conv3d(row: LayerRow, x: np.ndarray, weights: dict) -> np.ndarray:
    args = row.layer.args
    return conv_variants.conv3d(x, weights["kernel"], weights.get("bias"), args["strides"], args["padding"],
                                args["dilation_rate"], args["groups"], row.padding, row.data_format)


def _conv3d_transpose(row: LayerRow, x: np.ndarray, weights: dict) -> np.ndarray:
    args = row.layer.args
    out_depth = row.output_shape[1 if row.data_format == "channels_last" else 2]
    return conv_variants.conv3d_transpose(x, weights["kernel"], weights.get("bias"), args["strides"],
                                          args["padding"], args["output_padding"], args["dilation_rate"],
                                          row.padding, out_depth, row.data_format)


def _height_axis(row: LayerRow) -> int:
    """Where a 1-D layer's input gains the height of 1 that makes it 2-D."""
    return 1 if row.data_format == "channels_last" else 2


def _depthwise_geometry(row: LayerRow) -> tuple:
    """(strides, padding, dilation_rate, sides) of a depthwise or separable layer, as 2-D."""
    args = row.layer.args
    if row.type.endswith("1D"):
        return (1, *args["strides"]), args["padding"], (1, *args["dilation_rate"]), ((0, 0), *row.padding)
    return args["strides"], args["padding"], args["dilation_rate"], row.padding


def _depthwise(row: LayerRow, x: np.ndarray, weights: dict) -> np.ndarray:
    """DepthwiseConv1D/2D and SeparableConv1D/2D (the 1-D ones with a height of 1)."""
    one_d = row.type.endswith("1D")
    separable = row.type.startswith("Separable")
    depthwise = weights["depthwise_kernel" if separable else "kernel"]
    if one_d:
        x, depthwise = np.expand_dims(x, _height_axis(row)), depthwise[np.newaxis]
    geometry = (*_depthwise_geometry(row), row.data_format)
    if separable:
        pointwise = weights["pointwise_kernel"]
        pointwise = pointwise.reshape(1, 1, *pointwise.shape[-2:])
        y = conv_variants.separable_conv2d(x, depthwise, pointwise, weights.get("bias"), *geometry)
    else:
        y = conv_variants.depthwise_conv2d(x, depthwise, weights.get("bias"), *geometry)
    return np.squeeze(y, _height_axis(row)) if one_d else y


CONV_VARIANTS = {"Conv3D": _conv3d, "Conv3DTranspose": _conv3d_transpose, **{
    name: _depthwise for name in ("DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D")}}
LAYER_KERNELS.update({
    name: (lambda run: lambda row, x, w: apply_activation(row.layer.args["activation"], run(row, x, w), True))(run)
    for name, run in CONV_VARIANTS.items()})
LAYER_KERNELS.update(feature_kernels.RUNS)
LAYER_KERNELS.update(torch_kernels.RUNS)  # nn.Conv2d, nn.ConvTranspose2d, nn.ZeroPad2d (SPEC 8)

# Options of a runnable type that --run does not execute: type -> (row -> reason or None)
REFUSALS: dict[str, Callable] = {
    "UpSampling2D": lambda row: _interpolation_refusal(row.layer.args["interpolation"], ("nearest",)),
    "Resizing": lambda row: _resizing_refusal(row),
    "CenterCrop": lambda row: _image_rank_refusal(row) or _empty_refusal(row),
    "AutoContrast": lambda row: _image_rank_refusal(row) or _value_range_refusal(row.layer.args["value_range"]),
    "ContrastLimitedAdaptiveHistogramEqualization": lambda row: _clahe_refusal(row),
    "RandomCrop": lambda row: _random_crop_refusal(row),
    **{f"ZeroPadding{d}D": lambda row: (
        "Keras cannot run ZeroPadding with a negative padding (TensorFlow's pad refuses it)"
        if any(side < 0 for pair in row.padding for side in pair) else None) for d in (1, 2, 3)},
    **feature_kernels.REFUSALS,
}


def _interpolation_refusal(interpolation, also=()) -> str | None:
    if interpolation in (*image_kernels.RESIZE_INTERPOLATIONS, *also):
        return None
    return (f"Keras fails at run time with interpolation={interpolation!r}: TensorFlow resizes with "
            f"{', '.join(image_kernels.RESIZE_INTERPOLATIONS)}")


def _image_rank_refusal(row: LayerRow) -> str | None:
    """The image layers that compute something run on batches of images, (n, h, w, c) or (n, c, h, w)."""
    if len(row.input_shape) == 4 and len(row.output_shape) == 4:
        return None
    return (f"--run executes {row.type} on batches of images (4 axes with the batch), "
            f"not on an input of shape {tuple(row.input_shape)}")


def _empty_refusal(row: LayerRow) -> str | None:
    if 0 not in row.output_shape[1:]:
        return None
    return f"{row.type} to an empty image ({tuple(row.output_shape[1:])}) has no values to compute"


def _value_range_refusal(value_range) -> str | None:
    if (isinstance(value_range, (tuple, list)) and len(value_range) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value_range)):
        return None
    return f"value_range must be two numbers (low, high) for --run; got {value_range!r}"


def _resizing_refusal(row: LayerRow) -> str | None:
    args = row.layer.args
    if args["fill_mode"] != "constant":
        return f"Keras's Resizing fails at run time with fill_mode={args['fill_mode']!r}: only 'constant' is supported"
    if args["crop_to_aspect_ratio"] and args["pad_to_aspect_ratio"]:
        return "Keras's Resizing fails at run time with both crop_to_aspect_ratio and pad_to_aspect_ratio"
    return (_interpolation_refusal(args["interpolation"]) or _image_rank_refusal(row) or _empty_refusal(row))


def _clahe_refusal(row: LayerRow) -> str | None:
    args = row.layer.args
    grid, clip = args["tile_grid_size"], args["clip_limit"]
    if not (isinstance(grid, (tuple, list)) and len(grid) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in grid)):
        return f"tile_grid_size must be two positive integers for --run; got {grid!r}"
    if not isinstance(clip, (int, float)) or isinstance(clip, bool):
        return f"clip_limit must be a number for --run; got {clip!r}"
    reason = _image_rank_refusal(row) or _value_range_refusal(args["value_range"])
    if reason is not None:
        return reason
    h_axis = 1 if row.data_format == "channels_last" else 2
    for size, tiles in zip(row.input_shape[h_axis:h_axis + 2], grid):
        pad = -(-size // tiles) * tiles - size
        if pad > size:
            return (f"Keras fails at run time here: tile_grid_size={tuple(grid)} pads a size of {size} by {pad}, "
                    f"more than TensorFlow's symmetric padding allows (at most the size itself)")
    return None


def _random_crop_refusal(row: LayerRow) -> str | None:
    """Keras 3.15's RandomCrop returns its input unchanged at inference, whatever its declared output."""
    if tuple(row.input_shape[1:]) == tuple(row.output_shape[1:]):
        return None
    return (f"Keras 3.15's RandomCrop returns its input uncropped at inference ({tuple(row.input_shape[1:])}), "
            f"not the {tuple(row.output_shape[1:])} its output shape declares, so no output of that shape exists")


def execute_layer(row: LayerRow, x: np.ndarray, weights: dict[str, np.ndarray], consumable: bool = False,
                  options: dict | None = None, masks: list | None = None) -> np.ndarray:
    """One layer of the stack, exactly as Keras's ``call`` at inference.

    ``consumable``: x is the run's to overwrite (no later layer reads it); a layer of
    ``feature_kernels.IN_PLACE`` then writes its result into x.  ``options``: the call's keyword
    options (checked by :func:`call_refusal`); ``masks``: the Keras masks of its tensors, for the
    layers of ``feature_kernels.CALLS`` that read them or its options."""
    if row.type in feature_kernels.CALLS:
        result = feature_kernels.CALLS[row.type](row, x, weights, options or {}, masks or [])
        if result is not None:
            return result
    if consumable and row.type in feature_kernels.IN_PLACE and _writable(x):
        result = feature_kernels.IN_PLACE[row.type](row, x, weights)
        if result is not None:
            return result
    if row.type in LAYER_KERNELS:
        return LAYER_KERNELS[row.type](row, x, weights)
    if row.type not in CONVOLUTIONS:  # pragma: no cover - check_runnable refuses every other type before the run
        raise InconsistencyError(f"--run has no kernel for {row.type}.")
    return _convolution(row, x, weights)


MHA_TENSOR_OPTIONS = ("query_mask", "value_mask", "key_mask", "attention_mask")


def call_refusal(row: LayerRow, options: dict) -> str | None:
    """Why --run cannot run this call of the layer as Keras would, from its keyword options, or None.

    ``training=True`` makes Keras run the layer as in training (dropout, batch statistics); a
    tensor option other than a mask is not passed to the kernels (``mask=`` is the layer's input mask;
    MultiHeadAttention also reads ``query_mask=``, ``value_mask=``, ``key_mask=`` and
    ``attention_mask=``); MultiHeadAttention's ``return_attention_scores=True`` returns two
    tensors.  ``use_causal_mask`` is executed."""
    if options.get("training") not in (None, False):
        return f"it is called with training={options['training']!r}, which Keras runs as in training"
    readable = ("mask",) + (MHA_TENSOR_OPTIONS if row.type == "MultiHeadAttention" else ())
    tensors = [key for key, value in options.items() if value == graph_module.TENSOR_OPTION and key not in readable]
    if tensors:
        return f"it is called with the tensor {tensors[0]}=..., which --run does not pass to the layer"
    unknown = [key for key, value in options.items() if value == graph_module.UNKNOWN_OPTION]
    if unknown:
        return f"its call sets {unknown[0]}= to a value convcalc cannot read"
    positional = [key for key in options if key.startswith("argument ")]
    if positional:
        return f"its call passes a value as {positional[0]} (by position), which convcalc does not read"
    if row.type == "MultiHeadAttention" and options.get("return_attention_scores"):
        return "it is called with return_attention_scores=True, which returns the scores too"
    return None


def _writable(x) -> bool:
    """A float array that can take a result of its own shape and dtype in place."""
    return isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.flags.writeable and x.flags.c_contiguous


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
    return apply_activation(args["activation"], y, in_place=True)  # y is the kernel's own


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


# What one layer call allocates besides its arrays' data: NumPy's array headers and small index
# arrays, views, Python objects (measured: a few KB at most)
CALL_OVERHEAD_BYTES = 64 * 2**10


def _shapes(row: LayerRow, batch: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return (batch, *row.input_shape[1:]), (batch, *row.output_shape[1:])


def _conv3d_bytes(row: LayerRow, batch: int, dtype: np.dtype) -> int:
    args = row.layer.args
    x_shape, y_shape = _shapes(row, batch)
    return conv_variants.conv3d_bytes(x_shape, row.kernel_shape, args["strides"], args["padding"],
                                      args["dilation_rate"], args["groups"], row.padding, row.data_format,
                                      y_shape, dtype)


def _conv3d_transpose_bytes(row: LayerRow, batch: int, dtype: np.dtype) -> int:
    args = row.layer.args
    x_shape, y_shape = _shapes(row, batch)
    return conv_variants.conv3d_transpose_bytes(x_shape, row.kernel_shape, args["strides"], args["padding"],
                                                args["output_padding"], args["dilation_rate"], row.data_format,
                                                y_shape, dtype)


def _depthwise_bytes(row: LayerRow, batch: int, dtype: np.dtype) -> int:
    """The depthwise (and pointwise) Conv2D calls' accounting, as 2-D, plus the activation's output."""
    x_shape, y_shape = _shapes(row, batch)
    kernel = row.kernel_shape
    if row.type.endswith("1D"):
        axis = _height_axis(row)
        x_shape, y_shape = (*x_shape[:axis], 1, *x_shape[axis:]), (*y_shape[:axis], 1, *y_shape[axis:])
        kernel = (1, *kernel)
    geometry = (*_depthwise_geometry(row), row.data_format, dtype)
    output = weight_count(y_shape) * dtype.itemsize
    if not row.type.startswith("Separable"):
        return conv_variants.depthwise_conv2d_bytes(x_shape, kernel, *geometry) + output
    channels = kernel[2] * kernel[3]
    spatial = y_shape[1:-1] if row.data_format == "channels_last" else y_shape[2:]
    middle = (batch, *spatial, channels) if row.data_format == "channels_last" else (batch, channels, *spatial)
    pointwise = (1, 1, channels, row.layer.args["filters"])
    return conv_variants.separable_conv2d_bytes(x_shape, kernel, pointwise, *geometry, middle) + output


def _resize_bytes(row: LayerRow, batch: int, dtype: np.dtype) -> int:
    """Resizing, UpSampling2D (not nearest) and CenterCrop: :func:`image_kernels.resize_bytes`."""
    x_shape, y_shape = _shapes(row, batch)
    size = y_shape[1:3] if row.data_format == "channels_last" else y_shape[2:]
    return image_kernels.resize_bytes(x_shape, size, row.layer.args.get("interpolation", "bilinear"),
                                      row.data_format, dtype.itemsize, bool(row.layer.args.get("pad_to_aspect_ratio")))


def _image_bytes(factor: int) -> Callable:
    """An image layer whose temporaries are at most ``factor`` arrays of the input's size, at 8 bytes
    a value (CLAHE's indices are int64)."""
    return lambda row, batch, dtype: factor * weight_count(_shapes(row, batch)[0]) * max(dtype.itemsize, 8)


def _clahe_bytes(row: LayerRow, batch: int, dtype: np.dtype) -> int:
    """CLAHE: the input padded to whole tiles, its bins and tiles, the four looked-up maps and their
    blends (16 padded-size arrays at 8 bytes), and the histograms and maps (256 bins per tile, 6 copies)."""
    x_shape, _ = _shapes(row, batch)
    n, h, w, c = x_shape if row.data_format == "channels_last" else (x_shape[0], *x_shape[2:], x_shape[1])
    grid_h, grid_w = row.layer.args["tile_grid_size"]
    padded = n * -(-h // grid_h) * grid_h * -(-w // grid_w) * grid_w * c
    hists = n * (grid_h + 2) * (grid_w + 2) * c * 256
    return 16 * padded * 8 + 6 * hists * 4


LAYER_BYTES: dict[str, Callable] = {
    "Conv3D": _conv3d_bytes, "Conv3DTranspose": _conv3d_transpose_bytes,
    **{name: _depthwise_bytes for name in ("DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D")},
    "Resizing": _resize_bytes, "CenterCrop": _resize_bytes,
    "AutoContrast": _image_bytes(8),
    "ContrastLimitedAdaptiveHistogramEqualization": _clahe_bytes,
    **feature_kernels.BYTES,
    **torch_kernels.BYTES,
}


def layer_bytes(row: LayerRow, batch: int, dtype: np.dtype) -> int:
    """Output plus scratch of one layer at ``batch``: the kernels' own accounting for convolutions,
    an upper bound for the others."""
    if row.type in CONVOLUTIONS:
        return _kernel_bytes(row, batch, dtype)
    if row.type in LAYER_BYTES:
        return LAYER_BYTES[row.type](row, batch, dtype) + CALL_OVERHEAD_BYTES
    if row.type == "UpSampling2D" and row.layer.args["interpolation"] != "nearest":
        return _resize_bytes(row, batch, dtype) + CALL_OVERHEAD_BYTES
    return _layer_bytes(row, batch, dtype.itemsize) + CALL_OVERHEAD_BYTES
