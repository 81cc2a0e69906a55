#!/usr/bin/env python
"""Generate tests/data/golden_layers_more.json and tests/data/layer_aliases.json from real Keras.

Golden single-layer cases for the layer types convcalc is adding, in exactly
the record format of tests/data/golden_layers.json (scripts/make_golden_layers.py),
so tests/test_golden_layers.py can replay them through
``convcalc shape --input ... SPEC --format json``:

* convolutions: Conv3D (groups, dilation, strides, valid/same), Conv3DTranspose
  (output_padding, dilation), SeparableConv1D, DepthwiseConv1D, and more Conv1D
  (often padding='causal') and Conv1DTranspose cases;
* pooling: MaxPooling1D/3D, AveragePooling1D/3D, GlobalMaxPooling1D/3D,
  GlobalAveragePooling1D/3D (keepdims), and MaxPooling2D/AveragePooling2D with
  padding='same';
* reshaping: ZeroPadding1D/3D, Cropping1D/3D, UpSampling1D/3D,
  SpatialDropout1D/3D;
* normalization and embedding: GroupNormalization, UnitNormalization,
  Embedding (integer Inputs of rank 1 and 2, ``input_length`` and
  ``mask_zero``), LayerNormalization(rms_scaling=True), BatchNormalization on
  various axes;
* preprocessing and augmentation layers of ``keras.layers`` that work on a
  symbolic Input (CenterCrop, RandomCrop, RandomFlip, Resizing with every
  interpolation on rank-2/3/4 inputs, Rescaling, Normalization, every other
  Random*/AutoContrast/Solarization/Equalization/RandAugment/MixUp/CutMix/AugMix/
  ContrastLimitedAdaptiveHistogramEqualization/MaxNumBoundingBoxes ...);
* "lenient" probes: things a strict reimplementation might refuse (negative
  ZeroPadding2D, Concatenate on the batch axis, an unknown Resizing
  interpolation, Resizing on rank-4 inputs, ...). Each is recorded as Keras
  handles it: a valid case (id ``lenient-NN``, with a ``note``) or an error.

Record format (one JSON object per line, see the ``cases`` list):
``{"id", "type", "input" (or "inputs" for merges), "data_format_via"
("default" | "option" = --data-format | "layer" = in the spec), "data_format",
"spec", "expected": {"output_shape" (batch null; null where Keras does not know
a dimension), "params", "trainable_params", "non_trainable_params", "name",
["padding" | "cropping"], "weights": [{"name", "shape", "trainable"}, ...]}}``.
Embedding cases add ``"input_dtype": "int32"``. Per-side padding/cropping is
``{"left", "right"}`` for 1-D layers, ``{"top", "bottom", "left", "right"}`` for
2-D ones and ``{"front", "back", "top", "bottom", "left", "right"}`` for 3-D
ones (first, second, third spatial axis). Error cases (``errors``) carry
``"error"`` (Keras's message, cleaned) and ``"error_type"`` instead of
``"expected"``. Unlike golden_layers.json, ``weights`` is a list (in
``layer.weights`` order, with the trainable flag), not a name -> shape dict.

``application_layers`` records the layers keras.applications define for
themselves (``keras.src.applications.convnext.LayerScale`` and the
InceptionResNetV2 ``CustomScaleLayer``): module, registered name,
``get_config()``, and output shape / weights on a few inputs (or the error).

Alias cases (id ``alias-NN``): one random case per alias of a class above
(MaxPool3D, Convolution1D, ...), the spec spelled with the alias and ``type``
the class name.

tests/data/layer_aliases.json maps every alias in ``keras.layers`` (a name bound
to the same class object as another name) to the class's own ``__name__``.

Run it (only this script needs TensorFlow):

    python scripts/make_golden_layers_more.py
    python scripts/make_golden_layers_more.py --seed 7 --out /tmp/more.json \\
        --aliases-out /tmp/aliases.json

The output is deterministic for a given seed and Keras version: the script
re-executes itself with ``PYTHONHASHSEED=0`` and an empty ``KERAS_HOME`` (so
``~/.keras/keras.json`` cannot change the default data format), clears the
Keras session before each layer (default names restart) and draws everything
from its own ``random.Random(seed)``.
"""

import json
import sys
import warnings
from pathlib import Path

import golden_common as common
from golden_common import (REPO_ROOT, any_shape, clean_message, count_weights, maybe_int,
                           shape_list)

DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "golden_layers_more.json"
DEFAULT_ALIASES_OUT = REPO_ROOT / "tests" / "data" / "layer_aliases.json"
DEFAULT_SEED = 20240611
REGISTRY = common.load_registry()

CHANNELS = [1, 2, 3, 4, 6, 8, 12, 16]

keras = None  # imported in main(), after the environment is prepared


# --------------------------------------------------------------------------
# Random shapes and arguments (maybe_int, any_shape: golden_common)
# --------------------------------------------------------------------------

def ntuple(rng, n, low, high, same=0.5):
    if rng.random() < same:
        return (rng.randint(low, high),) * n
    return tuple(rng.randint(low, high) for _ in range(n))


def spatial_shape(rng, df, nd, low, high, channels=None):
    dims = [rng.randint(low, high) for _ in range(nd)]
    if nd > 1 and rng.random() < 0.4:
        dims = [dims[0]] * nd
    c = channels if channels is not None else rng.choice(CHANNELS)
    return dims + [c] if df == "channels_last" else [c] + dims


def spatial_of(shape, df):
    return shape[:-1] if df == "channels_last" else shape[1:]


def channels_of(shape, df):
    return shape[-1] if df == "channels_last" else shape[0]


def image_or_any(rng, df, low=1, high=24):
    """Mostly an image (H, W, C); sometimes another rank (Keras is lenient)."""
    roll = rng.random()
    if roll < 0.7:
        return spatial_shape(rng, df, 2, low, high, rng.choice([1, 3, 3, 4]))
    if roll < 0.85:
        return any_shape(rng, 4, 4, 10)
    return any_shape(rng, 1, 2, 16)


# --------------------------------------------------------------------------
# Generators: (rng, data_format, index) -> (input shape, kwargs in Keras's order)
# --------------------------------------------------------------------------

def strides_or_dilation(rng, kwargs, nd, both=0.0):
    roll = rng.random()
    if roll < both:
        kwargs["strides"] = maybe_int(rng, ntuple(rng, nd, 2, 3))
        kwargs["dilation_rate"] = maybe_int(rng, ntuple(rng, nd, 2, 3))
    elif roll < 0.45:
        kwargs["strides"] = maybe_int(rng, ntuple(rng, nd, 1, 3))
    elif roll < 0.7:
        kwargs["dilation_rate"] = maybe_int(rng, ntuple(rng, nd, 1, 3))


def one(value):
    return value[0] if isinstance(value, tuple) and len(value) == 1 else value


def gen_conv3d(rng, df, index=0):
    shape = spatial_shape(rng, df, 3, 3, 10)
    kwargs = {"filters": rng.choice([1, 2, 4, 8]), "kernel_size": maybe_int(rng, ntuple(rng, 3, 1, 3))}
    strides_or_dilation(rng, kwargs, 3)
    if rng.random() < 0.8:
        kwargs["padding"] = rng.choice(["valid", "same"])
    c = channels_of(shape, df)
    divisors = [g for g in range(2, c + 1) if c % g == 0]
    if divisors and rng.random() < 0.35:
        groups = rng.choice(divisors)
        kwargs["groups"] = groups
        kwargs["filters"] = groups * rng.randint(1, 3)
    if rng.random() < 0.3:
        kwargs["use_bias"] = False
    return shape, kwargs


def gen_conv3d_transpose(rng, df, index=0):
    shape = spatial_shape(rng, df, 3, 1, 7)
    kwargs = {"filters": rng.choice([1, 2, 4, 8]), "kernel_size": maybe_int(rng, ntuple(rng, 3, 1, 4))}
    strides_or_dilation(rng, kwargs, 3)
    kwargs["padding"] = rng.choice(["valid", "same"])
    strides = kwargs.get("strides", 1)
    s = strides if isinstance(strides, (tuple, list)) else (strides,) * 3
    if max(s) > 1 and rng.random() < 0.5:
        kwargs["output_padding"] = tuple(rng.randint(0, x - 1) for x in s)
        kwargs["output_padding"] = maybe_int(rng, kwargs["output_padding"])
    if rng.random() < 0.3:
        kwargs["use_bias"] = False
    return shape, kwargs


def gen_conv1d(rng, df, index=0):
    shape = spatial_shape(rng, df, 1, 3, 30)
    kwargs = {"filters": rng.choice([1, 2, 4, 8, 16]), "kernel_size": rng.randint(1, 6)}
    strides_or_dilation(rng, kwargs, 1)
    kwargs = {k: one(v) for k, v in kwargs.items()}
    kwargs["padding"] = "causal" if rng.random() < 0.6 else rng.choice(["valid", "same"])
    c = channels_of(shape, df)
    divisors = [g for g in range(2, c + 1) if c % g == 0]
    if divisors and rng.random() < 0.3:
        groups = rng.choice(divisors)
        kwargs["filters"] = groups * rng.randint(1, 3)
        kwargs["groups"] = groups
    return shape, kwargs


def gen_conv1d_transpose(rng, df, index=0):
    kwargs = {"filters": rng.choice([1, 2, 4, 8]), "kernel_size": rng.randint(1, 6)}
    strides_or_dilation(rng, kwargs, 1)
    kwargs = {k: one(v) for k, v in kwargs.items()}
    kwargs["padding"] = rng.choice(["valid", "same"])
    strides = kwargs.get("strides", 1)
    if strides > 1 and rng.random() < 0.6:
        kwargs["output_padding"] = rng.randint(0, strides - 1)
    return spatial_shape(rng, df, 1, 1, 20), kwargs


def gen_separable1d(rng, df, index=0):
    kwargs = {"filters": rng.choice([1, 2, 4, 8, 16]), "kernel_size": rng.randint(1, 5)}
    strides_or_dilation(rng, kwargs, 1, both=0.12)
    kwargs = {k: one(v) for k, v in kwargs.items()}
    common.separable_options(rng, kwargs)
    return spatial_shape(rng, df, 1, 3, 30), kwargs


def gen_depthwise1d(rng, df, index=0):
    kwargs = {"kernel_size": rng.randint(1, 5)}
    strides_or_dilation(rng, kwargs, 1, both=0.12)
    kwargs = {k: one(v) for k, v in kwargs.items()}
    if rng.random() < 0.6:
        kwargs["padding"] = rng.choice(["valid", "same"])
    kwargs["depth_multiplier"] = rng.choice([1, 2, 2, 3, 4])
    if rng.random() < 0.3:
        kwargs["use_bias"] = False
    return spatial_shape(rng, df, 1, 3, 30), kwargs


def pooling_gen(nd, force_same=False):
    def gen(rng, df, index=0):
        kwargs = {}
        if rng.random() < 0.85 or index == 0:
            size = ntuple(rng, nd, 1, 3 if nd == 3 else 4)
            kwargs["pool_size"] = one(maybe_int(rng, size)) if nd > 1 else size[0]
        roll = rng.random()
        if roll < 0.4:
            s = ntuple(rng, nd, 1, 3)
            kwargs["strides"] = maybe_int(rng, s) if nd > 1 else s[0]
        elif roll < 0.5:
            kwargs["strides"] = None
        if force_same:
            kwargs["padding"] = "same"
        elif rng.random() < 0.7:
            kwargs["padding"] = rng.choice(["valid", "same"])
        return spatial_shape(rng, df, nd, 1, 12 if nd == 3 else 32), kwargs
    return gen


def global_pooling_gen(nd):
    def gen(rng, df, index=0):
        kwargs = {}
        if rng.random() < 0.7:
            kwargs["keepdims"] = rng.choice([True, False])
        return spatial_shape(rng, df, nd, 1, 8 if nd == 3 else 20), kwargs
    return gen


def gen_zero_padding1d(rng, df, index=0):
    style = ["int", "pair", "default"][index] if index < 3 else rng.choice(["int", "pair"])
    shape = spatial_shape(rng, "channels_last", 1, 1, 20)
    if style == "default":
        return shape, {}
    padding = rng.randint(0, 4) if style == "int" else (rng.randint(0, 4), rng.randint(0, 4))
    return shape, {"padding": padding}


def gen_zero_padding3d(rng, df, index=0):
    styles = ["int", "sym", "full", "default"]
    style = styles[index] if index < 4 else rng.choice(styles[:3])
    shape = spatial_shape(rng, df, 3, 1, 8)
    if style == "default":
        return shape, {}
    if style == "int":
        padding = rng.randint(0, 3)
    elif style == "sym":
        padding = tuple(rng.randint(0, 3) for _ in range(3))
    else:
        padding = tuple((rng.randint(0, 2), rng.randint(0, 2)) for _ in range(3))
    return shape, {"padding": padding}


def split(rng, n):
    """(before, after) with before + after < n."""
    total = rng.randint(0, n - 1)
    before = rng.randint(0, total)
    return (before, total - before)


def gen_cropping1d(rng, df, index=0):
    shape = spatial_shape(rng, "channels_last", 1, 3, 24)
    n = shape[0]
    if index == 0:
        return shape, {}
    if rng.random() < 0.4:
        return shape, {"cropping": rng.randint(0, (n - 1) // 2)}
    return shape, {"cropping": split(rng, n)}


def gen_cropping3d(rng, df, index=0):
    shape = spatial_shape(rng, df, 3, 3, 10)
    dims = spatial_of(shape, df)
    styles = ["int", "sym", "full", "default"]
    style = styles[index] if index < 4 else rng.choice(styles[:3] + ["full"])
    if style == "default":
        return shape, {}
    if style == "int":
        cropping = rng.randint(0, (min(dims) - 1) // 2)
    elif style == "sym":
        cropping = tuple(rng.randint(0, (d - 1) // 2) for d in dims)
    else:
        cropping = tuple(split(rng, d) for d in dims)
    return shape, {"cropping": cropping}


def gen_upsampling1d(rng, df, index=0):
    kwargs = {"size": rng.randint(1, 4)} if rng.random() < 0.85 else {}
    return spatial_shape(rng, "channels_last", 1, 1, 20), kwargs


def gen_upsampling3d(rng, df, index=0):
    kwargs = {"size": maybe_int(rng, ntuple(rng, 3, 1, 3))} if rng.random() < 0.85 else {}
    return spatial_shape(rng, df, 3, 1, 8), kwargs


def spatial_dropout_gen(nd):
    def gen(rng, df, index=0):
        kwargs = {"rate": rng.choice([0.1, 0.2, 0.5])}
        if rng.random() < 0.2:
            kwargs["seed"] = rng.randint(0, 100)
        return spatial_shape(rng, df if nd == 3 else "channels_last", nd, 1, 8 if nd == 3 else 20), kwargs
    return gen


def gen_group_norm(rng, df, index=0):
    shape = any_shape(rng, 1, 4, 10)
    kwargs = {}
    axis = -1
    if rng.random() < 0.35:
        axis = rng.choice(list(range(1, len(shape) + 1)) + [-k for k in range(1, len(shape) + 1)])
    n = shape[axis - 1] if axis > 0 else shape[axis]
    groups = rng.choice([g for g in range(1, n + 1) if n % g == 0])
    if rng.random() < 0.3 and n > 1:  # make the axis bigger to get interesting groups
        groups = rng.choice([2, 3, 4])
        n = groups * rng.randint(1, 4)
        shape[axis - 1 if axis > 0 else axis] = n
    kwargs["groups"] = groups
    if axis != -1 or rng.random() < 0.2:
        kwargs["axis"] = axis
    common.center_scale(rng, kwargs, 0.25, 0.25)
    return shape, kwargs


def gen_unit_norm(rng, df, index=0):
    shape = any_shape(rng, 1, 3, 10)
    kwargs = {}
    common.random_axis(rng, kwargs, len(shape), several=0.6)
    return shape, kwargs


def gen_embedding(rng, df, index=0):
    shape = [rng.randint(1, 12)] if index % 2 == 0 else [rng.randint(1, 12), rng.randint(1, 6)]
    kwargs = {"input_dim": rng.choice([2, 10, 100, 1000]), "output_dim": rng.choice([1, 4, 8, 16, 64])}
    if rng.random() < 0.35:
        kwargs["mask_zero"] = rng.choice([True, False])
    if rng.random() < 0.25 and len(shape) == 1:
        kwargs["input_length"] = shape[0]
    return shape, kwargs


def gen_layer_norm_rms(rng, df, index=0):
    shape = any_shape(rng, 1, 3)
    kwargs = {}
    common.random_axis(rng, kwargs, len(shape), several=0.55)
    common.center_scale(rng, kwargs, 0.3, 0.2)
    kwargs["rms_scaling"] = True
    return shape, kwargs


def gen_batch_norm(rng, df, index=0):
    shape = any_shape(rng, 1, 4, 10)
    kwargs = {}
    rank = len(shape)
    if rng.random() < 0.8:
        kwargs["axis"] = rng.choice([1, 1, -1] + list(range(1, rank + 1)) + [-k for k in range(1, rank + 1)])
    common.center_scale(rng, kwargs, 0.2, 0.2)
    return shape, kwargs


def crop_gen(rng, df, index=0):
    shape = image_or_any(rng, df, 1, 30) if rng.random() < 0.3 else spatial_shape(rng, df, 2, 2, 30, rng.choice([1, 3, 4]))
    return shape, {"height": rng.randint(1, 32), "width": rng.randint(1, 32)}


def gen_random_crop(rng, df, index=0):
    shape, kwargs = crop_gen(rng, df, index)
    if rng.random() < 0.2:
        kwargs["seed"] = rng.randint(0, 99)
    return shape, kwargs


def gen_random_flip(rng, df, index=0):
    kwargs = {}
    if rng.random() < 0.7:
        kwargs["mode"] = rng.choice(["horizontal", "vertical", "horizontal_and_vertical"])
    if rng.random() < 0.2:
        kwargs["seed"] = rng.randint(0, 99)
    return image_or_any(rng, df), kwargs


def factor(rng):
    roll = rng.random()
    if roll < 0.6:
        return rng.choice([0.1, 0.2, 0.3, 0.5])
    return (round(-rng.choice([0.1, 0.2]), 2), rng.choice([0.1, 0.3]))


def gen_random_rotation(rng, df, index=0):
    kwargs = {"factor": factor(rng)}
    if rng.random() < 0.4:
        kwargs["fill_mode"] = rng.choice(["reflect", "wrap", "constant", "nearest"])
    if rng.random() < 0.3:
        kwargs["interpolation"] = rng.choice(["nearest", "bilinear"])
    return image_or_any(rng, df), kwargs


def gen_random_zoom(rng, df, index=0):
    kwargs = {"height_factor": factor(rng)}
    if rng.random() < 0.5:
        kwargs["width_factor"] = factor(rng)
    if rng.random() < 0.3:
        kwargs["fill_mode"] = rng.choice(["reflect", "wrap", "constant", "nearest"])
    return image_or_any(rng, df), kwargs


def gen_random_translation(rng, df, index=0):
    kwargs = {"height_factor": factor(rng), "width_factor": factor(rng)}
    if rng.random() < 0.3:
        kwargs["interpolation"] = rng.choice(["nearest", "bilinear"])
    return image_or_any(rng, df), kwargs


def gen_value_factor(rng, df, index=0):
    kwargs = {"factor": factor(rng) if rng.random() < 0.5 else rng.choice([0.2, 0.5])}
    if rng.random() < 0.3:
        kwargs["value_range"] = rng.choice([(0, 1), (0, 255), (-1, 1)])
    return image_or_any(rng, "channels_last"), kwargs


INTERPOLATIONS = ["bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                  "gaussian", "mitchellcubic"]


def gen_resizing(rng, df, index=0):
    kwargs = {"height": rng.randint(1, 48), "width": rng.randint(1, 48)}
    if index < len(INTERPOLATIONS):
        kwargs["interpolation"] = INTERPOLATIONS[index]
    elif rng.random() < 0.3:
        kwargs["interpolation"] = rng.choice(INTERPOLATIONS)
    roll = rng.random()
    if roll < 0.3:
        kwargs["crop_to_aspect_ratio"] = True
    elif roll < 0.45:
        kwargs["pad_to_aspect_ratio"] = True
    rank_roll = rng.random()
    if rank_roll < 0.6:
        shape = spatial_shape(rng, df, 2, 1, 40, rng.choice([1, 3, 4]))
    elif rank_roll < 0.85:
        shape = any_shape(rng, 4, 4, 12)
    else:
        shape = any_shape(rng, 2, 2, 20)
    return shape, kwargs


def gen_rescaling(rng, df, index=0):
    kwargs = common.rescaling_kwargs(rng)
    return any_shape(rng, 1, 4), kwargs


def gen_normalization(rng, df, index=0):
    shape = any_shape(rng, 1, 4, 6)
    kwargs = {}
    common.normalization_axis(rng, kwargs, len(shape), single=0.6)
    if rng.random() < 0.4:
        kwargs["mean"], kwargs["variance"] = round(rng.uniform(-1, 1), 2), round(rng.uniform(0.1, 2), 2)
    if rng.random() < 0.2:
        kwargs["invert"] = True
    return shape, kwargs


def passthrough_gen(options):
    """Layers that keep the shape; `options` draws kwargs."""
    def gen(rng, df, index=0):
        return image_or_any(rng, df), options(rng)
    return gen


def opt(**choices):
    """kwargs drawn from choices: name -> list of values (each given with p=0.5)."""
    def draw(rng):
        return {k: rng.choice(v) for k, v in choices.items() if rng.random() < 0.5}
    return draw


def required(**fixed):
    """kwargs with some always present: name -> list of values."""
    def draw(rng):
        return {k: rng.choice(v) for k, v in fixed.items()}
    return draw


def gen_color_degeneration(rng, df, index=0):
    return spatial_shape(rng, df, 2, 1, 20, 3), {"factor": rng.choice([0.2, 0.5, (0.1, 0.9)])}


def gen_max_num_boxes(rng, df, index=0):
    return image_or_any(rng, df), {"max_number": rng.randint(1, 10)}


GENERATORS = {
    "Conv3D": (gen_conv3d, 14), "Conv3DTranspose": (gen_conv3d_transpose, 14),
    "Conv1D": (gen_conv1d, 6), "Conv1DTranspose": (gen_conv1d_transpose, 6),
    "SeparableConv1D": (gen_separable1d, 12), "DepthwiseConv1D": (gen_depthwise1d, 12),
    "MaxPooling1D": (pooling_gen(1), 10), "AveragePooling1D": (pooling_gen(1), 10),
    "MaxPooling3D": (pooling_gen(3), 10), "AveragePooling3D": (pooling_gen(3), 10),
    "MaxPooling2D": (pooling_gen(2, True), 6), "AveragePooling2D": (pooling_gen(2, True), 6),
    "GlobalMaxPooling1D": (global_pooling_gen(1), 8), "GlobalAveragePooling1D": (global_pooling_gen(1), 8),
    "GlobalMaxPooling3D": (global_pooling_gen(3), 8), "GlobalAveragePooling3D": (global_pooling_gen(3), 8),
    "ZeroPadding1D": (gen_zero_padding1d, 8), "ZeroPadding3D": (gen_zero_padding3d, 10),
    "Cropping1D": (gen_cropping1d, 8), "Cropping3D": (gen_cropping3d, 10),
    "UpSampling1D": (gen_upsampling1d, 8), "UpSampling3D": (gen_upsampling3d, 10),
    "SpatialDropout1D": (spatial_dropout_gen(1), 8), "SpatialDropout3D": (spatial_dropout_gen(3), 8),
    "GroupNormalization": (gen_group_norm, 12), "UnitNormalization": (gen_unit_norm, 8),
    "Embedding": (gen_embedding, 12), "LayerNormalization": (gen_layer_norm_rms, 8),
    "BatchNormalization": (gen_batch_norm, 10),
    "CenterCrop": (crop_gen, 10), "RandomCrop": (gen_random_crop, 10),
    "RandomFlip": (gen_random_flip, 8), "RandomRotation": (gen_random_rotation, 8),
    "RandomZoom": (gen_random_zoom, 8), "RandomTranslation": (gen_random_translation, 8),
    "RandomContrast": (gen_value_factor, 8), "RandomBrightness": (gen_value_factor, 8),
    "Resizing": (gen_resizing, 15), "Rescaling": (gen_rescaling, 8),
    "Normalization": (gen_normalization, 8),
    "AutoContrast": (passthrough_gen(opt(value_range=[(0, 1), (0, 255)])), 5),
    "Solarization": (passthrough_gen(opt(addition_factor=[0.0, 0.2], threshold_factor=[0.0, 0.5])), 5),
    "Equalization": (passthrough_gen(opt(bins=[64, 256])), 5),
    "RandAugment": (passthrough_gen(opt(num_ops=[1, 2, 3], factor=[0.3, 0.5])), 5),
    "MixUp": (passthrough_gen(opt(alpha=[0.2, 0.4])), 5),
    "CutMix": (passthrough_gen(opt(factor=[0.5, 1.0])), 5),
    "AugMix": (passthrough_gen(opt(num_chains=[2, 3], chain_depth=[1, 3])), 5),
    "RandomGrayscale": (passthrough_gen(opt(factor=[0.2, 0.5, 1.0])), 5),
    "RandomErasing": (passthrough_gen(opt(factor=[0.5, 1.0])), 5),
    "RandomShear": (passthrough_gen(opt(x_factor=[0.1, 0.3], y_factor=[0.1, 0.2])), 5),
    "RandomPerspective": (passthrough_gen(opt(factor=[0.5, 1.0], scale=[0.5, 1.0])), 5),
    "RandomGaussianBlur": (passthrough_gen(opt(factor=[0.5, 1.0], kernel_size=[3, 5])), 5),
    "RandomElasticTransform": (passthrough_gen(opt(factor=[0.5, 1.0], scale=[0.5, 1.0])), 5),
    "RandomColorJitter": (passthrough_gen(opt(brightness_factor=[0.2], contrast_factor=[0.2])), 5),
    "RandomHue": (passthrough_gen(required(factor=[0.2, 0.5])), 5),
    "RandomSaturation": (passthrough_gen(required(factor=[0.2, 0.5])), 5),
    "RandomSharpness": (passthrough_gen(required(factor=[0.2, 0.5])), 5),
    "RandomInvert": (passthrough_gen(opt(factor=[0.5, 1.0])), 5),
    "RandomPosterization": (passthrough_gen(required(factor=[(1, 8), 4])), 5),
    "RandomColorDegeneration": (gen_color_degeneration, 5),
    "ContrastLimitedAdaptiveHistogramEqualization": (
        passthrough_gen(opt(clip_limit=[2.0, 4.0], tile_grid_size=[(4, 4), (8, 8)])), 5),
    "MaxNumBoundingBoxes": (gen_max_num_boxes, 4),
}


# --------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------

SIDE_NAMES = {1: [("left", "right")], 2: [("top", "bottom"), ("left", "right")],
              3: [("front", "back"), ("top", "bottom"), ("left", "right")]}


def sides(pairs):
    out = {}
    for (a, b), (before, after) in zip(SIDE_NAMES[len(pairs)], pairs):
        out[a], out[b] = int(before), int(after)
    return out


def padding_record(layer, in_shape):
    """Per-side padding or cropping of a built layer, where it applies."""
    cls = type(layer).__name__
    if cls in ("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"):
        padding = layer.padding
        if cls == "ZeroPadding1D":
            padding = [padding]
        return {"padding": sides(list(padding))}
    if cls in ("Cropping1D", "Cropping2D", "Cropping3D"):
        cropping = layer.cropping
        if cls == "Cropping1D":
            cropping = [cropping]
        return {"cropping": sides(list(cropping))}
    conv_like = ("Conv1D", "Conv3D", "SeparableConv1D", "DepthwiseConv1D")
    pools = ("MaxPooling1D", "AveragePooling1D", "MaxPooling2D", "AveragePooling2D",
             "MaxPooling3D", "AveragePooling3D")
    if cls in conv_like or cls in pools:
        df = layer.data_format
        spatial = in_shape[1:-1] if df == "channels_last" else in_shape[2:]
        if cls in pools:
            kernel, strides, dilation = layer.pool_size, layer.strides, (1,) * len(spatial)
        else:
            kernel, strides, dilation = layer.kernel_size, layer.strides, layer.dilation_rate
        if layer.padding == "causal":
            return {"padding": sides([(dilation[0] * (kernel[0] - 1), 0)])}
        return {"padding": sides(common.padding_sides(layer.padding, spatial, kernel,
                                                      strides, dilation))}
    if cls in ("Conv1DTranspose", "Conv3DTranspose"):
        return {"padding": sides(common.transpose_padding_sides(
            layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding,
            layer.output_padding))}
    return {}


def weight_list(layer):
    found = []
    for w in layer.weights:
        name = w.path.split("/")[-1]
        assert name == w.name, (w.path, w.name)
        found.append({"name": name, "shape": shape_list(w.shape), "trainable": bool(w.trainable)})
    return found


def build_layer(inputs, make, data_format, via, dtype="float32"):
    """Build a layer on Inputs as a user would: (layer, output tensor) or raises."""
    with common.keras_session(keras, data_format if via == "option" else "channels_last"):
        tensors = [keras.Input(shape=tuple(s), dtype=dtype) for s in inputs]
        layer = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = layer(tensors if len(tensors) > 1 else tensors[0])
        return layer, y


def expected_record(layer, y, inputs):
    record = {"output_shape": shape_list(y.shape),
              "params": layer.count_params(),
              "trainable_params": count_weights(layer.trainable_weights),
              "non_trainable_params": count_weights(layer.non_trainable_weights),
              "name": layer.name}
    record.update(padding_record(layer, [None, *inputs[0]]))
    record["weights"] = weight_list(layer)
    return record


def case_head(case_id, cls, inputs, via, data_format, spec, merge=False):
    case = {"id": case_id, "type": cls}
    if merge:
        case["inputs"] = inputs
    else:
        case["input"] = inputs[0]
    case.update(data_format_via=via, data_format=data_format, spec=spec)
    return case


def dtype_of(cls):
    return "int32" if cls == "Embedding" else "float32"


def layer_cases(rng, aliases=None):
    """Random valid cases per type; with `aliases` (alias -> class), one case per
    alias whose class has a generator, spelled with the alias (id "alias-NN",
    "type" the class name)."""
    cases = []
    jobs = [(cls, cls, gen, wanted) for cls, (gen, wanted) in GENERATORS.items()]
    if aliases is not None:
        jobs = [(alias, cls, GENERATORS[cls][0], 1) for alias, cls in aliases.items()
                if cls in GENERATORS]
    for spelled_cls, cls, gen, wanted in jobs:
        made, attempts = 0, 0
        while made < wanted:
            attempts += 1
            assert attempts < 500, f"cannot draw valid {cls} layers"
            data_format, via = common.data_format_choice(rng, common.has_data_format(cls), made)
            shape, kwargs = gen(rng, data_format, made)
            if via == "layer":
                kwargs["data_format"] = data_format
            if rng.random() < 0.06:
                kwargs["name"] = f"my_{cls.lower()}_{made + 1}"
            call = common.spell(rng, spelled_cls, kwargs, check=True)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    layer, y = build_layer([shape], call.make, data_format, via, dtype_of(cls))
            except Exception as exc:  # a random draw Keras rejects: draw again
                print(f"  redraw {call.spec} on {shape}: {clean_message(exc)[:100]}",
                      file=sys.stderr)
                continue
            out = shape_list(y.shape)
            if any(d is not None and d <= 0 for d in out):
                continue
            made += 1
            case_id = f"{cls}-{made:02d}" if aliases is None else f"alias-{len(cases) + 1:02d}"
            assert type(layer).__name__ == cls
            case = case_head(case_id, cls, [shape], via, data_format, call.spec)
            if cls == "Embedding":
                case["input_dtype"] = "int32"
            case["expected"] = expected_record(layer, y, [shape])
            cases.append(case)
    return cases


# convcalc's merge layers (convcalc/registry.py): their cases have "inputs", not "input"
MERGES = REGISTRY.FAMILIES["merging"]

# Probes of lenient Keras behaviour: (class, inputs, kwargs, note). Recorded as
# Keras handles them: a valid case (id "lenient-NN") or an error.
LENIENT = [
    ("ZeroPadding2D", [[8, 8, 3]], {"padding": -1}, "negative padding crops"),
    ("ZeroPadding2D", [[8, 9, 3]], {"padding": ((-1, 2), (0, -3))}, "negative padding per side"),
    ("ZeroPadding3D", [[6, 7, 8, 2]], {"padding": -1}, "negative padding crops"),
    ("ZeroPadding1D", [[8, 3]], {"padding": -2}, "negative padding"),
    ("Concatenate", [[4, 3], [4, 3]], {"axis": 0}, "concatenation on the batch axis"),
    ("Concatenate", [[4, 3], [5, 3]], {"axis": 0}, "batch-axis concat, other dims differ"),
    ("Resizing", [[8, 8, 3]], {"height": 4, "width": 4, "interpolation": "foo"},
     "unknown interpolation, only checked when run"),
    ("Resizing", [[8, 8, 3]], {"height": 0, "width": 4}, "a zero size"),
    ("Resizing", [[2, 8, 8, 3]], {"height": 4, "width": 5}, "rank-4 input (rank-5 tensor)"),
    ("Resizing", [[2, 3, 8, 8]], {"height": 4, "width": 5, "data_format": "channels_first"},
     "rank-4 input, channels_first"),
    ("Resizing", [[8, 8]], {"height": 4, "width": 5}, "rank-2 input: read as one unbatched image"),
    ("Resizing", [[12]], {"height": 4, "width": 5}, "rank-1 input"),
    ("CenterCrop", [[8, 8, 3]], {"height": 12, "width": 10}, "target larger than the input"),
    ("CenterCrop", [[9, 12]], {"height": 5, "width": 6}, "rank-2 input: unbatched image"),
    ("CenterCrop", [[4, 9, 12, 3]], {"height": 5, "width": 6}, "rank-4 input"),
    ("CenterCrop", [[12]], {"height": 5, "width": 6}, "rank-1 input"),
    ("RandomCrop", [[8, 8, 3]], {"height": 12, "width": 10}, "target larger than the input"),
    ("RandomCrop", [[9, 12]], {"height": 5, "width": 6}, "rank-2 input"),
    ("RandomCrop", [[4, 9, 12, 3]], {"height": 5, "width": 6}, "rank-4 input"),
    ("RandomCrop", [[12]], {"height": 5, "width": 6}, "rank-1 input"),
    ("RandomFlip", [[12]], {}, "rank-1 input"),
    ("RandomRotation", [[2, 4, 9, 12, 3]], {"factor": 0.2}, "rank-5 input"),
    ("RandomZoom", [[12]], {"height_factor": 0.2}, "rank-1 input"),
    ("RandomColorDegeneration", [[9, 12]], {"factor": 0.5}, "rank-2 input"),
    ("RandomColorDegeneration", [[4, 9, 12, 3]], {"factor": 0.5}, "rank-4 input"),
    ("RandomHue", [[8, 8, 4]], {"factor": 0.5}, "four channels"),
    ("UpSampling2D", [[4, 4, 3]], {"size": 2, "interpolation": "foo"}, "unknown interpolation"),
    ("GroupNormalization", [[8, 6]], {"groups": -1}, "groups=-1: one group per channel"),
    ("Embedding", [[]], {"input_dim": 10, "output_dim": 4}, "scalar integer input"),
    ("Embedding", [[5, 3, 2]], {"input_dim": 10, "output_dim": 4}, "rank-3 integer input"),
    ("LayerNormalization", [[4, 6]], {"rms_scaling": True, "center": True},
     "rms_scaling drops beta even with center=True"),
    ("BatchNormalization", [[3, 8, 8]], {"axis": [1, 2]}, "several axes"),
    ("Conv3D", [[8, 8, 8, 4]], {"filters": 4, "kernel_size": 3, "padding": "causal"},
     "causal padding in 3-D"),
    ("SeparableConv1D", [[18, 4]], {"filters": 4, "kernel_size": 3, "padding": "causal"},
     "causal padding"),
    ("DepthwiseConv1D", [[18, 4]], {"kernel_size": 3, "padding": "causal"}, "causal padding"),
    ("DepthwiseConv1D", [[18, 4]], {"kernel_size": 3, "strides": 2, "dilation_rate": 2},
     "strides and dilation together"),
    ("Conv3DTranspose", [[4, 4, 4, 2]], {"filters": 2, "kernel_size": 3, "strides": 2,
                                         "dilation_rate": 2}, "strides and dilation together"),
    ("MaxPooling1D", [[8, 3]], {"pool_size": 2, "padding": "causal"}, "causal pooling"),
    ("Cropping1D", [[8, 3]], {"cropping": -1}, "negative cropping"),
    ("UpSampling3D", [[2, 2, 2, 3]], {"size": (1, 2, 3), "data_format": "channels_first"},
     "channels_first"),
    ("UnitNormalization", [[8, 6]], {"axis": 0}, "the batch axis"),
    ("RandomCrop", [[8, 8, 3]], {"height": 0, "width": 4}, "a zero size"),
    ("RandomFlip", [[8, 8, 3]], {"mode": "diagonal"}, "unknown mode, only checked when run"),
    ("Resizing", [[8, 8, 3]], {"height": 4, "width": 6, "crop_to_aspect_ratio": True,
                               "pad_to_aspect_ratio": True}, "both aspect-ratio options"),
    ("Rescaling", [[8, 8, 3]], {"scale": "big"}, "a string scale, only used when run"),
]

# Each must be refused by Keras (the script checks).
ERROR_CASES = [
    ("Conv3D", [8, 8, 8, 4], {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}),
    ("Conv3D", [8, 8, 8, 6], {"filters": 4, "kernel_size": 3, "groups": 4}),
    ("Conv3D", [8, 8, 8, 4], {"filters": 6, "kernel_size": 3, "groups": 4}),
    ("Conv3D", [2, 8, 8, 3], {"filters": 4, "kernel_size": 3}),
    ("Conv3D", [8, 8, 3], {"filters": 4, "kernel_size": 3}),
    ("Conv3D", [8, 8, 8, 3], {"filters": 0, "kernel_size": 3}),
    ("Conv3D", [8, 8, 8, 3], {"filters": 4, "kernel_size": (3, 3)}),
    ("Conv3DTranspose", [4, 4, 4, 2], {"filters": 2, "kernel_size": 3, "strides": 2,
                                       "output_padding": 2}),
    ("Conv3DTranspose", [4, 4, 2], {"filters": 2, "kernel_size": 3}),
    ("Conv3DTranspose", [4, 4, 4, 2], {"filters": 2, "kernel_size": 3, "padding": "causal"}),
    ("Conv1D", [6, 3], {"filters": 4, "kernel_size": 3, "padding": "causal", "strides": 2,
                        "dilation_rate": 2}),
    ("Conv1DTranspose", [6, 3], {"filters": 4, "kernel_size": 3, "output_padding": 1}),
    ("SeparableConv1D", [2, 3], {"filters": 4, "kernel_size": 3}),
    ("SeparableConv1D", [8, 8, 3], {"filters": 4, "kernel_size": 3}),
    ("SeparableConv1D", [8, 3], {"filters": 4, "kernel_size": 3, "depth_multiplier": 0}),
    ("DepthwiseConv1D", [2, 3], {"kernel_size": 3}),
    ("DepthwiseConv1D", [8], {"kernel_size": 3}),
    ("MaxPooling1D", [8, 8, 3], {"pool_size": 2}),
    ("MaxPooling1D", [1, 3], {"pool_size": 2}),
    ("AveragePooling1D", [8, 3], {}),
    ("AveragePooling1D", [8, 3], {"pool_size": 2, "padding": "full"}),
    ("MaxPooling3D", [8, 8, 3], {}),
    ("MaxPooling3D", [1, 8, 8, 3], {"pool_size": 2}),
    ("AveragePooling3D", [8, 8, 8, 3], {"pool_size": 0}),
    ("AveragePooling3D", [8, 8, 8, 3], {"pool_size": (2, 2)}),
    ("GlobalMaxPooling1D", [8, 8, 3], {}),
    ("GlobalAveragePooling3D", [8, 8, 3], {}),
    ("GlobalAveragePooling1D", [8, 3], {"data_format": "channels_middle"}),
    ("ZeroPadding1D", [8, 8, 3], {"padding": 1}),
    ("ZeroPadding1D", [8, 3], {"padding": (1, 2, 3)}),
    ("ZeroPadding3D", [8, 8, 3], {"padding": 1}),
    ("ZeroPadding3D", [8, 8, 8, 3], {"padding": (1, 2)}),
    ("Cropping1D", [8, 3], {"cropping": (4, 4)}),
    ("Cropping1D", [8, 8, 3], {"cropping": 1}),
    ("Cropping3D", [8, 8, 8, 3], {"cropping": 4}),
    ("Cropping3D", [8, 8, 8, 3], {"cropping": ((1, 1), (4, 4), (0, 0))}),
    ("Cropping3D", [8, 8, 8, 3], {"cropping": -1}),
    ("UpSampling1D", [8, 3], {"size": 0}),
    ("UpSampling1D", [8, 8, 3], {"size": 2}),
    ("UpSampling3D", [8, 8, 3], {"size": 2}),
    ("UpSampling3D", [8, 8, 8, 3], {"size": (2, 2)}),
    ("SpatialDropout1D", [8, 8, 3], {"rate": 0.5}),
    ("SpatialDropout1D", [8, 3], {"rate": 1.5}),
    ("SpatialDropout3D", [8, 8, 3], {"rate": 0.5}),
    ("GroupNormalization", [8, 6], {"groups": 4}),
    ("GroupNormalization", [8, 6], {"groups": 12}),
    ("GroupNormalization", [8, 6], {"groups": 2, "axis": 3}),
    ("GroupNormalization", [8, 6], {"groups": 0}),
    ("UnitNormalization", [8, 6], {"axis": 5}),
    ("Embedding", [5], {"input_dim": 0, "output_dim": 4}),
    ("Embedding", [5], {"input_dim": 10, "output_dim": 0}),
    ("LayerNormalization", [4, 5], {"rms_scaling": True, "axis": 3}),
    ("BatchNormalization", [4, 5, 3, 2], {"axis": 5}),
    ("CenterCrop", [8, 8, 3], {"height": 4, "width": 4, "data_format": "nhwc"}),
    ("RandomRotation", [8, 8, 3], {"factor": 0.2, "fill_mode": "mirror"}),
    ("RandomZoom", [8, 8, 3], {"height_factor": 1.5}),
    ("RandomTranslation", [8, 8, 3], {"height_factor": 1.5, "width_factor": 0.1}),
    ("RandomContrast", [8, 8, 3], {"factor": 1.5}),
    ("RandomBrightness", [8, 8, 3], {"factor": 1.5}),
    ("RandomColorDegeneration", [8, 8, 4], {"factor": 0.5}),
    ("Normalization", [4, 4, 3], {"axis": 5}),
    ("Normalization", [4, 4, 3], {"mean": 1.0}),
]


def probe(cls, inputs, kwargs, rng):
    """(call, data_format, via, layer, y) or (call, data_format, via, exc, None)."""
    data_format = kwargs.get("data_format", "channels_last")
    if data_format not in ("channels_last", "channels_first"):
        data_format = "channels_last"
    via = "layer" if "data_format" in kwargs else "default"
    call = common.spell(rng, cls, dict(kwargs), check=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layer, y = build_layer(inputs, call.make, data_format, via, dtype_of(cls))
    except Exception as exc:
        return call, data_format, via, exc, None
    return call, data_format, via, layer, y


def error_record(case_id, cls, inputs, via, data_format, call, exc):
    case = case_head(case_id, cls, inputs, via, data_format, call.spec, cls in MERGES)
    if cls == "Embedding":
        case["input_dtype"] = "int32"
    case.update(error=clean_message(exc), error_type=type(exc).__name__)
    return case


def error_cases(rng):
    errors = []
    for cls, shape, kwargs in ERROR_CASES:
        call, data_format, via, layer, y = probe(cls, [shape], kwargs, rng)
        if y is not None:
            print(f"  Keras accepts {call.spec} on {shape}: not an error case", file=sys.stderr)
            continue
        errors.append(error_record(f"error-{len(errors) + 1:02d}", cls, [shape], via,
                                   data_format, call, layer))
    return errors


def lenient_cases(rng, errors):
    cases = []
    for cls, inputs, kwargs, note in LENIENT:
        call, data_format, via, layer, y = probe(cls, inputs, kwargs, rng)
        if y is None:
            case = error_record(f"error-{len(errors) + 1:02d}", cls, inputs, via, data_format,
                                call, layer)
            case["note"] = note
            errors.append(case)
            continue
        case = case_head(f"lenient-{len(cases) + 1:02d}", cls, inputs, via, data_format,
                         call.spec, cls in MERGES)
        if cls == "Embedding":
            case["input_dtype"] = "int32"
        case["note"] = note
        case["expected"] = expected_record(layer, y, inputs)
        cases.append(case)
    return cases


def check_layer_types():
    """Every layer type named here is a convcalc layer type (convcalc/registry.py)."""
    named = (set(GENERATORS) | {cls for cls, _, _, _ in LENIENT}
             | {cls for cls, _, _ in ERROR_CASES})
    unknown = named - set(REGISTRY.FAMILY_OF)
    assert not unknown, f"not convcalc layer types (convcalc/registry.py): {sorted(unknown)}"


# --------------------------------------------------------------------------
# keras.applications' own layers
# --------------------------------------------------------------------------

def application_layers():
    from keras.src.applications import convnext, inception_resnet_v2
    probes = [
        (convnext.LayerScale, "LayerScale", [1e-6, 8], {}, [[7, 7, 8]]),
        (convnext.LayerScale, "LayerScale", [], {"init_values": 0.5, "projection_dim": 4}, [[4]]),
        (convnext.LayerScale, "LayerScale", [1e-6, 96], {}, [[56, 56, 96]]),
        (convnext.LayerScale, "LayerScale", [1e-6, 8], {}, [[7, 7, 4]]),
        (convnext.LayerScale, "LayerScale", [1e-6, 8], {}, [[8, 7]]),
        (inception_resnet_v2.CustomScaleLayer, "CustomScaleLayer", [0.17], {},
         [[8, 8, 320], [8, 8, 320]]),
        (inception_resnet_v2.CustomScaleLayer, "CustomScaleLayer", [], {"scale": 1.0},
         [[5, 5, 16], [5, 5, 16]]),
        (inception_resnet_v2.CustomScaleLayer, "CustomScaleLayer", [0.2], {}, [[5, 5, 16], [5, 5, 1]]),
        (inception_resnet_v2.CustomScaleLayer, "CustomScaleLayer", [0.1], {}, [[5, 5, 16], [5, 5, 8]]),
    ]
    assert {name for _, name, _, _, _ in probes} == set(REGISTRY.FAMILIES["application_layers"])
    records = []
    for cls, name, positional, keywords, inputs in probes:
        spec = common.spec_text(name, positional, list(keywords.items()))
        record = {"id": f"{name}-{sum(r['type'] == name for r in records) + 1:02d}", "type": name,
                  "module": cls.__module__, "registered_name": keras.saving.get_registered_name(cls),
                  "spec": spec}
        record["inputs" if len(inputs) > 1 else "input"] = inputs if len(inputs) > 1 else inputs[0]
        try:
            layer, y = build_layer(inputs, lambda: cls(*positional, **keywords),
                                   "channels_last", "default")
        except Exception as exc:
            keras.backend.clear_session()
            record["config"] = cls(*positional, **keywords).get_config()
            record.update(error=clean_message(exc), error_type=type(exc).__name__)
        else:
            record["config"] = layer.get_config()
            record["expected"] = expected_record(layer, y, inputs)
        records.append(record)
    return records


# --------------------------------------------------------------------------
# Aliases
# --------------------------------------------------------------------------

def layer_aliases():
    """(aliases, renamed): aliases maps every name in keras.layers bound to the
    same class object as another name to the class's __name__; renamed maps a
    name that is the only one bound to its class but differs from __name__."""
    by_class = {}
    for name in sorted(dir(keras.layers)):
        obj = getattr(keras.layers, name)
        if isinstance(obj, type):
            by_class.setdefault(obj, []).append(name)
    aliases, renamed = {}, {}
    for cls, names in by_class.items():
        if len(names) > 1:
            assert cls.__name__ in names, names
            aliases.update({n: cls.__name__ for n in names if n != cls.__name__})
        elif names[0] != cls.__name__:
            renamed[names[0]] = cls.__name__
    return dict(sorted(aliases.items())), dict(sorted(renamed.items()))


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main(argv=None):
    global keras
    parser = common.golden_parser(__doc__, DEFAULT_OUT, "golden file", DEFAULT_SEED)
    parser.add_argument("--aliases-out", type=Path, default=DEFAULT_ALIASES_OUT,
                        help="alias file (default: "
                             f"{DEFAULT_ALIASES_OUT.relative_to(REPO_ROOT)})")
    args = parser.parse_args(argv)
    check_layer_types()
    keras, tf = common.load_keras()
    import random
    rng = random.Random(args.seed)

    head = common.header(keras, tf, "scripts/make_golden_layers_more.py", seed=args.seed)
    aliases, renamed = layer_aliases()
    cases = layer_cases(rng)
    errors = error_cases(rng)
    lenient = lenient_cases(rng, errors)
    alias_cases = layer_cases(rng, aliases)
    apps = application_layers()
    common.write_json(args.out, head, {"cases": cases + lenient + alias_cases, "errors": errors,
                                       "application_layers": apps})
    alias_head = common.header(keras, tf, "scripts/make_golden_layers_more.py")
    args.aliases_out.parent.mkdir(parents=True, exist_ok=True)
    args.aliases_out.write_text(json.dumps({**alias_head, "aliases": aliases, "renamed": renamed}, indent=1) + "\n")
    from collections import Counter
    counts = Counter(c["type"] for c in cases)
    for cls, n in counts.items():
        print(f"  {cls}: {n}", file=sys.stderr)
    print(f"wrote {args.out}: {len(cases)} cases, {len(lenient)} lenient, "
          f"{len(alias_cases)} alias cases, {len(errors)} errors, "
          f"{len(apps)} application layers; {args.aliases_out}: {len(aliases)} aliases",
          file=sys.stderr)


if __name__ == "__main__":
    main()
