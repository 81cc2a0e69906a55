"""Layers that move or resize pixels: padding, cropping, upsampling, flatten, reshape, permute, resizing."""

from __future__ import annotations

from . import formulas
from .arguments import check_any_literal, check_number, check_positive_int, check_side_pairs, check_string, is_int, tuple_of
from .errors import ConvcalcError
from .layer_base import REQUIRED, Layer, LayerShape, join_channels, split_channels


class ZeroPadding2D(Layer):
    """Adds zeros: ``padding`` is ``n``, ``(h, w)`` or ``((top, bottom), (left, right))``."""

    signature = (("padding", (1, 1)), ("data_format", None))
    checks = {"padding": check_side_pairs("padding")}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        spatial, channels = split_channels(self, input_shape, data_format, 2)
        pads = self.args["padding"]
        out = tuple(formulas.padded_length(n, b, a) for n, (b, a) in zip(spatial, pads))
        return self.shape(join_channels(out, channels, data_format), padding=pads)


class Cropping2D(Layer):
    """Removes pixels: ``cropping`` in the same three forms as ZeroPadding2D's padding."""

    signature = (("cropping", ((0, 0), (0, 0))), ("data_format", None))
    checks = {"cropping": check_side_pairs("cropping")}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        spatial, channels = split_channels(self, input_shape, data_format, 2)
        crops = self.args["cropping"]
        for n, (b, a), axis in zip(spatial, crops, ("height", "width")):
            if b + a >= n:
                raise ConvcalcError(
                    f"cropping must leave at least one pixel: {b}+{a} removes the whole {axis} of {n} "
                    f"(cropping={crops}, input shape {input_shape})."
                )
        out = tuple(formulas.padded_length(n, -b, -a) for n, (b, a) in zip(spatial, crops))
        return self.shape(join_channels(out, channels, data_format), cropping=crops)


class UpSampling2D(Layer):
    """Repeats rows and columns ``size`` times."""

    signature = (("size", (2, 2)), ("data_format", None), ("interpolation", "nearest"))
    checks = {
        "size": tuple_of(2),
        "interpolation": check_string(("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"), lower=True),
    }

    def compute(self, input_shape, data_format: str) -> LayerShape:
        spatial, channels = split_channels(self, input_shape, data_format, 2)
        out = tuple(formulas.upsampled_length(n, s) for n, s in zip(spatial, self.args["size"]))
        return self.shape(join_channels(out, channels, data_format))


class Flatten(Layer):
    signature = (("data_format", None),)

    def compute(self, input_shape, data_format: str) -> LayerShape:
        return self.shape((formulas.flat_length(input_shape),))


def _target_shape(value, name):
    if is_int(value):
        value = (value,)
    if not isinstance(value, tuple) or not all(is_int(v) and (v > 0 or v == -1) for v in value):
        raise ConvcalcError(f"{name} must be a tuple of positive sizes (one may be -1); got {name}={value!r}.")
    if value.count(-1) > 1:
        raise ConvcalcError(f"{name} may contain -1 only once; got {name}={value!r}.")
    return value


class Reshape(Layer):
    signature = (("target_shape", REQUIRED),)
    checks = {"target_shape": _target_shape}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        target = self.args["target_shape"]
        total = formulas.flat_length(input_shape)
        known = formulas.flat_length(tuple(v for v in target if v != -1))
        if -1 in target:
            if total % known:
                raise ConvcalcError(f"cannot reshape {input_shape} ({total} values) to {target}: {total} is not a multiple of {known}.")
            target = tuple(total // known if v == -1 else v for v in target)
        elif known != total:
            raise ConvcalcError(
                f"cannot reshape {input_shape} ({total} values) to {target} ({known} values): "
                "the total size must stay the same."
            )
        return self.shape(target)


def _dims(value, name):
    if not isinstance(value, tuple) or sorted(value) != list(range(1, len(value) + 1)):
        raise ConvcalcError(
            f"{name} must be a permutation of 1..n (1-based, the batch axis excluded); got {name}={value!r}."
        )
    return value


class Permute(Layer):
    signature = (("dims", REQUIRED),)
    checks = {"dims": _dims}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        dims = self.args["dims"]
        if len(dims) != len(input_shape):
            raise ConvcalcError(f"dims={dims} has {len(dims)} entries but the input has {len(input_shape)} axes besides the batch.")
        return self.shape(tuple(input_shape[d - 1] for d in dims))


class Resizing(Layer):
    """Resizes images to ``(height, width)``."""

    signature = (
        ("height", REQUIRED), ("width", REQUIRED), ("interpolation", "bilinear"),
        ("crop_to_aspect_ratio", False), ("pad_to_aspect_ratio", False), ("fill_mode", "constant"),
        ("fill_value", 0.0), ("antialias", False), ("data_format", None),
    )
    checks = {
        "height": check_positive_int, "width": check_positive_int,
        "interpolation": check_string(("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"), lower=True),
        "crop_to_aspect_ratio": check_any_literal, "pad_to_aspect_ratio": check_any_literal,
        "fill_mode": check_any_literal, "fill_value": check_number, "antialias": check_any_literal,
    }

    def compute(self, input_shape, data_format: str) -> LayerShape:
        _, channels = split_channels(self, input_shape, data_format, 2)
        return self.shape(join_channels((self.args["height"], self.args["width"]), channels, data_format))


LAYERS = (ZeroPadding2D, Cropping2D, UpSampling2D, Flatten, Reshape, Permute, Resizing)
