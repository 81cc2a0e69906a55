"""Image preprocessing and augmentation layers (Keras 3.15): shapes kept except by the crops.

None of them has weights: their seed generator's state is not a weight Keras
counts (``count_params()`` is 0).  Most accept any rank, as Keras does on a
symbolic input; the crops move the height and width axes Keras picks for the
rank, and are refused where Keras would read the batch axis as the height.
"""

from __future__ import annotations

from .arguments import (
    check_any_literal, check_factor, check_number, check_positive_int, check_string, check_value_range,
)
from .errors import ConvcalcError
from .layer_base import REQUIRED, Layer, LayerShape

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")
IMAGE_KEYWORDS = (("data_format", None), ("seed", None)) + Layer.keyword_only


def _any(*names):
    return {name: check_any_literal for name in names}


class _Image(Layer):
    """Keeps the input's shape; every image layer takes ``data_format`` (Keras's base layer)."""

    keyword_only = IMAGE_KEYWORDS

    def compute(self, input_shape, data_format: str) -> LayerShape:
        return self.shape(input_shape)


def _geometric(*names):
    return {"fill_mode": check_string(FILL_MODES), "interpolation": check_string(INTERPOLATIONS),
            "fill_value": check_number, **_any(*names)}


class CenterCrop(_Image):
    """Keras sets height and width in a rank-3 (single image) or rank-4 shape, batch included."""

    signature = (("height", REQUIRED), ("width", REQUIRED), ("data_format", None))
    checks = {"height": lambda v, n: _crop_size(v, n), "width": lambda v, n: _crop_size(v, n)}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        rank = len(input_shape) + 1
        if rank not in (3, 4):
            raise ConvcalcError(
                f"CenterCrop needs an input of 2 or 3 sizes besides the batch (Keras: rank 3 or 4); "
                f"got {len(input_shape)}: {input_shape}."
            )
        first = 1 if rank == 4 else 0
        if data_format == "channels_first":
            first += 1
        return _set_axes(self, input_shape, first, first + 1)


class RandomCrop(_Image):
    """Keras sets axes -3, -2 (channels_last) or -2, -1 (channels_first) of the shape, batch included."""

    signature = (("height", REQUIRED), ("width", REQUIRED), ("seed", None), ("data_format", None), ("name", None))
    checks = {"height": lambda v, n: _crop_size(v, n), "width": lambda v, n: _crop_size(v, n)}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        rank = len(input_shape) + 1
        last = rank - 1 if data_format == "channels_first" else rank - 2
        return _set_axes(self, input_shape, last - 1, last)


def _crop_size(value, name):
    """Keras accepts 0 (an empty output) and None (an unknown size); not negative or fractional sizes."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ConvcalcError(f"{name} must be a size >= 0 (or None); got {name}={value!r}.")


def _unit_number(value, name):
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
        return value
    raise ConvcalcError(f"{name} must be a number between 0 and 1; got {name}={value!r}.")


def _set_axes(layer, input_shape, h: int, w: int) -> LayerShape:
    """Height and width into axes ``h``, ``w`` of the shape with the batch (0 is the batch).

    ``h == 0``: Keras read the input as one unbatched image and writes the height
    over the batch axis; the output is then the whole shape (``includes_batch``).
    """
    if h < 0:
        raise ConvcalcError(
            f"{layer.type_name} on an input of {len(input_shape)} sizes {tuple(input_shape)}: Keras cannot place "
            "the height and width in it; give (height, width, channels) or (channels, height, width)."
        )
    full = [None, *input_shape]
    full[h], full[w] = layer.args["height"], layer.args["width"]
    if h == 0:
        return layer.shape(tuple(full), includes_batch=True)
    return layer.shape(tuple(full[1:]))


class RandomFlip(_Image):
    signature = (("mode", "horizontal_and_vertical"), ("seed", None), ("data_format", None))
    checks = {"mode": check_any_literal}  # Keras checks the mode only when it runs


class RandomRotation(_Image):
    signature = (("factor", REQUIRED), ("fill_mode", "reflect"), ("interpolation", "bilinear"), ("seed", None),
                 ("fill_value", 0.0), ("data_format", None))
    checks = {"factor": check_factor(-1, 1), **_geometric()}


class RandomZoom(_Image):
    signature = (("height_factor", REQUIRED), ("width_factor", None), ("fill_mode", "reflect"),
                 ("interpolation", "bilinear"), ("seed", None), ("fill_value", 0.0), ("data_format", None))
    checks = {"height_factor": check_factor(-1, 1, each=True, open_low=True),
              "width_factor": lambda v, n: None if v is None else check_factor(-1, 1, each=True, open_low=True)(v, n),
              **_geometric()}


class RandomTranslation(_Image):
    signature = (("height_factor", REQUIRED), ("width_factor", REQUIRED), ("fill_mode", "reflect"),
                 ("interpolation", "bilinear"), ("seed", None), ("fill_value", 0.0), ("data_format", None))
    checks = {"height_factor": check_factor(-1, 1, each=True), "width_factor": check_factor(-1, 1, each=True),
              **_geometric()}


class RandomContrast(_Image):
    signature = (("factor", REQUIRED), ("value_range", (0, 255)), ("seed", None))
    checks = {"factor": check_factor(0, 1), "value_range": check_any_literal}


class RandomBrightness(_Image):
    signature = (("factor", REQUIRED), ("value_range", (0, 255)), ("seed", None))
    checks = {"factor": check_factor(-1, 1), "value_range": check_value_range}


class _ColorFactor(_Image):
    signature = (("factor", REQUIRED), ("value_range", (0, 255)), ("data_format", None), ("seed", None))
    checks = {"factor": check_factor(-1, 1), "value_range": check_value_range}


class RandomHue(_ColorFactor):
    checks = {"factor": check_factor(0, 1), "value_range": check_any_literal}


class RandomSaturation(_ColorFactor):
    pass


class RandomSharpness(_ColorFactor):
    checks = {"factor": check_factor(0, 1), "value_range": check_value_range}


class RandomPosterization(_ColorFactor):
    checks = {"factor": check_factor(1, 8), "value_range": check_value_range}


class RandomColorDegeneration(_ColorFactor):
    """Keras needs 3 channels (axis -1, or -3 for channels_first, batch included) where that size is known."""

    def compute(self, input_shape, data_format: str) -> LayerShape:
        rank = len(input_shape) + 1
        if rank not in (3, 4):
            raise ConvcalcError(
                f"RandomColorDegeneration needs an input of 2 or 3 sizes besides the batch (Keras: rank 3 or 4); "
                f"got {len(input_shape)}: {input_shape}."
            )
        full = (None, *input_shape)
        channels = full[-1 if data_format == "channels_last" else -3]
        if channels is not None and channels != 3:
            raise ConvcalcError(f"RandomColorDegeneration needs images with 3 channels; got {channels} ({data_format}).")
        return self.shape(input_shape)


class RandomGrayscale(_Image):
    signature = (("factor", 0.5), ("data_format", None), ("seed", None))
    checks = {"factor": lambda v, n: _unit_number(v, n)}


class RandomColorJitter(_Image):
    signature = (("value_range", (0, 255)), ("brightness_factor", None), ("contrast_factor", None),
                 ("saturation_factor", None), ("hue_factor", None), ("seed", None), ("data_format", None))
    checks = _any("value_range", "brightness_factor", "contrast_factor", "saturation_factor", "hue_factor")


class AutoContrast(_Image):
    signature = (("value_range", (0, 255)),)
    checks = {"value_range": check_value_range}


class Solarization(_Image):
    signature = (("addition_factor", 0.0), ("threshold_factor", 0.0), ("value_range", (0, 255)), ("seed", None))
    checks = {"addition_factor": check_factor(0, 1, each=True), "threshold_factor": check_factor(0, 1, each=True),
              "value_range": check_value_range}


class Equalization(_Image):
    signature = (("value_range", (0, 255)), ("bins", 256), ("data_format", None))
    checks = {"value_range": check_value_range, "bins": check_any_literal}


class ContrastLimitedAdaptiveHistogramEqualization(_Image):
    signature = (("value_range", (0, 255)), ("clip_limit", 4.0), ("tile_grid_size", (8, 8)), ("data_format", None))
    checks = _any("value_range", "clip_limit", "tile_grid_size")


class RandAugment(_Image):
    signature = (("value_range", (0, 255)), ("num_ops", 2), ("factor", 0.5), ("interpolation", "bilinear"),
                 ("seed", None), ("data_format", None))
    checks = _any("value_range", "num_ops", "factor", "interpolation")


class AugMix(_Image):
    signature = (("value_range", (0, 255)), ("num_chains", 3), ("chain_depth", 3), ("factor", 0.3), ("alpha", 1.0),
                 ("all_ops", True), ("interpolation", "bilinear"), ("seed", None), ("data_format", None))
    checks = _any("value_range", "num_chains", "chain_depth", "factor", "alpha", "all_ops", "interpolation")


class MixUp(_Image):
    signature = (("alpha", 0.2), ("data_format", None), ("seed", None))
    checks = _any("alpha")


class CutMix(_Image):
    signature = (("factor", 1.0), ("seed", None), ("data_format", None))
    checks = _any("factor")


class RandomErasing(_Image):
    signature = (("factor", 1.0), ("scale", (0.02, 0.33)), ("fill_value", None), ("value_range", (0, 255)),
                 ("seed", None), ("data_format", None))
    checks = _any("factor", "scale", "fill_value", "value_range")


class RandomGaussianBlur(_Image):
    signature = (("factor", 1.0), ("kernel_size", 3), ("sigma", 1.0), ("value_range", (0, 255)), ("data_format", None),
                 ("seed", None))
    checks = _any("factor", "kernel_size", "sigma", "value_range")


class RandomInvert(_Image):
    signature = (("factor", 1.0), ("value_range", (0, 255)), ("seed", None), ("data_format", None))
    checks = _any("factor", "value_range")


class RandomPerspective(_Image):
    signature = (("factor", 1.0), ("scale", 1.0), ("interpolation", "bilinear"), ("fill_value", 0.0), ("seed", None),
                 ("data_format", None))
    checks = _any("factor", "scale", "interpolation", "fill_value")


class RandomShear(_Image):
    signature = (("x_factor", 0.0), ("y_factor", 0.0), ("interpolation", "bilinear"), ("fill_mode", "reflect"),
                 ("fill_value", 0.0), ("data_format", None), ("seed", None))
    checks = _any("x_factor", "y_factor", "interpolation", "fill_mode", "fill_value")


class RandomElasticTransform(_Image):
    signature = (("factor", 1.0), ("scale", 1.0), ("interpolation", "bilinear"), ("fill_mode", "reflect"),
                 ("fill_value", 0.0), ("value_range", (0, 255)), ("seed", None), ("data_format", None))
    checks = _any("factor", "scale", "interpolation", "fill_mode", "fill_value", "value_range")


class MaxNumBoundingBoxes(_Image):
    """Pads or trims bounding boxes to ``max_number``; an image passes through unchanged."""

    signature = (("max_number", REQUIRED), ("fill_value", -1))
    checks = {"max_number": check_positive_int, "fill_value": check_any_literal}


LAYERS = (
    CenterCrop, RandomCrop, RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomContrast,
    RandomBrightness, RandomHue, RandomSaturation, RandomSharpness, RandomPosterization, RandomColorDegeneration,
    RandomGrayscale, RandomColorJitter, AutoContrast, Solarization, Equalization,
    ContrastLimitedAdaptiveHistogramEqualization, RandAugment, AugMix, MixUp, CutMix, RandomErasing,
    RandomGaussianBlur, RandomInvert, RandomPerspective, RandomShear, RandomElasticTransform, MaxNumBoundingBoxes,
)
