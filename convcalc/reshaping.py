"""Layers that move or resize pixels: padding, cropping, upsampling (1-D, 2-D, 3-D), spatial dropout,
flatten, reshape, permute, resizing.

Sizes may be ``None`` (unknown until run time): each layer propagates them as
Keras's ``compute_output_shape`` does.  SpatialDropout1D/3D live here (they
change no shape); SpatialDropout2D stays with Dropout in ``core_layers``.
"""

from __future__ import annotations

from . import formulas
from .arguments import check_any_literal, check_number, check_rate, int_tuple, is_int, tuple_of
from .convolution import split_spatial
from .errors import ConvcalcError
from .layer_base import REQUIRED, Layer, LayerShape, expect_rank, join_channels

ORDINALS = ("1st", "2nd", "3rd")


def _sizes(sizes) -> str:
    return "x".join("None" if n is None else str(n) for n in sizes)


def side_pairs(rank: int, what: str, negative_int: bool):
    """Keras's per-side amounts of ZeroPadding/Cropping 2-D and 3-D: ``n``, ``rank`` ints or ``rank`` pairs.

    ``negative_int``: ZeroPadding2D/3D take a single negative int unchecked (it crops), Cropping refuses it.
    """

    def check(value, name):
        if is_int(value):
            if value < 0 and not negative_int:
                raise ConvcalcError(f"{name} cannot be negative; got {name}={value!r}.")
            return ((value, value),) * rank
        if isinstance(value, (tuple, list)) and len(value) == rank:
            return tuple(int_tuple(v, f"{ORDINALS[i]} entry of {name}", allow_zero=True)
                         for i, v in enumerate(value))
        if isinstance(value, (tuple, list)):
            raise ConvcalcError(f"{name} should have {rank} elements; got {name}={value!r}.")
        raise ConvcalcError(
            f"{name} must be an int, a tuple of {rank} ints (symmetric {what} per axis), "
            f"or a tuple of {rank} tuples of 2 ints ((before, after) per axis); got {name}={value!r}."
        )

    return check


def one_pair(value, name):
    """ZeroPadding1D / Cropping1D amounts: ``n`` or ``(before, after)``, each >= 0."""
    return (int_tuple(tuple(value) if isinstance(value, list) else value, name, allow_zero=True),)


class _ZeroPadding(Layer):
    """Adds zeros before and after each spatial axis; a negative amount (2-D/3-D int only) removes pixels."""

    rank = 2

    def compute(self, input_shape, data_format: str) -> LayerShape:
        spatial, channels = split_spatial(self, input_shape, data_format, self.rank)
        pads = self.args["padding"]
        out = tuple(formulas.padded_length(n, b, a) for n, (b, a) in zip(spatial, pads))
        if any(n is not None and n < 0 for n in out):
            raise ConvcalcError(
                f"padding={pads} would make the output {_sizes(out)} from {_sizes(spatial)}: "
                "negative sizes are not allowed (Keras refuses them too)."
            )
        return self.shape(join_channels(out, channels, data_format), padding=pads)


class ZeroPadding1D(_ZeroPadding):
    """``padding`` is ``n`` or ``(before, after)``, never negative."""

    rank = 1
    signature = (("padding", 1), ("data_format", None))
    checks = {"padding": one_pair}


class ZeroPadding2D(_ZeroPadding):
    """``padding`` is ``n``, ``(h, w)`` or ``((top, bottom), (left, right))``."""

    signature = (("padding", (1, 1)), ("data_format", None))
    checks = {"padding": side_pairs(2, "padding", negative_int=True)}


class ZeroPadding3D(_ZeroPadding):
    """``padding`` is ``n``, ``(d, h, w)`` or three ``(before, after)`` pairs."""

    rank = 3
    signature = (("padding", ((1, 1), (1, 1), (1, 1))), ("data_format", None))
    checks = {"padding": side_pairs(3, "padding", negative_int=True)}


class _Cropping(Layer):
    """Removes pixels; at least one must remain on every known axis (unknown axes are checked when run)."""

    rank = 2

    def _axes(self, input_shape, data_format):
        return split_spatial(self, input_shape, data_format, self.rank)

    def compute(self, input_shape, data_format: str) -> LayerShape:
        spatial, channels = self._axes(input_shape, data_format)
        crops = self.args["cropping"]
        for n, (b, a) in zip(spatial, crops):
            if n is not None and b + a >= n:
                raise ConvcalcError(
                    f"cropping must leave at least one pixel on every axis: {b}+{a} removes all {n} "
                    f"(cropping={crops}, input shape {input_shape})."
                )
        out = tuple(formulas.padded_length(n, -b, -a) for n, (b, a) in zip(spatial, crops))
        return self.shape(join_channels(out, channels, data_format), cropping=crops)


class Cropping1D(_Cropping):
    """Crops the steps axis; Keras's Cropping1D has no data_format: the input is (steps, features)."""

    rank = 1
    signature = (("cropping", (1, 1)),)
    checks = {"cropping": one_pair}

    def _axes(self, input_shape, data_format):
        return split_spatial(self, input_shape, "channels_last", 1)

    def compute(self, input_shape, data_format: str) -> LayerShape:
        return super().compute(input_shape, "channels_last")


class Cropping2D(_Cropping):
    """``cropping`` in the same three forms as ZeroPadding2D's padding (but never negative)."""

    signature = (("cropping", ((0, 0), (0, 0))), ("data_format", None))
    checks = {"cropping": side_pairs(2, "cropping", negative_int=False)}


class Cropping3D(_Cropping):
    rank = 3
    signature = (("cropping", ((1, 1), (1, 1), (1, 1))), ("data_format", None))
    checks = {"cropping": side_pairs(3, "cropping", negative_int=False)}


def _interpolation(value, name):
    """Keras lowercases the name and checks it only when run: any string builds."""
    if not isinstance(value, str):
        raise ConvcalcError(f"{name} must be a string such as 'nearest' or 'bilinear'; got {name}={value!r}.")
    return value.lower()


def _upsampling_size(value, name):
    """UpSampling1D's ``size``: a single positive int (Keras refuses a tuple)."""
    if not is_int(value):
        raise ConvcalcError(f"{name} must be an integer; got {name}={value!r}.")
    if value <= 0:
        raise ConvcalcError(f"{name} should be a positive integer; got {name}={value!r}.")
    return (value,)


class _UpSampling(Layer):
    """Repeats each spatial axis ``size`` times."""

    rank = 2

    def compute(self, input_shape, data_format: str) -> LayerShape:
        spatial, channels = split_spatial(self, input_shape, data_format, self.rank)
        out = tuple(formulas.upsampled_length(n, s) for n, s in zip(spatial, self.args["size"]))
        return self.shape(join_channels(out, channels, data_format))


class UpSampling1D(_UpSampling):
    """Keras's UpSampling1D takes only ``size`` (an int): the input is (steps, features)."""

    rank = 1
    signature = (("size", 2),)
    checks = {"size": _upsampling_size}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        return super().compute(input_shape, "channels_last")


class UpSampling2D(_UpSampling):
    signature = (("size", (2, 2)), ("data_format", None), ("interpolation", "nearest"))
    checks = {"size": tuple_of(2), "interpolation": _interpolation}


class UpSampling3D(_UpSampling):
    rank = 3
    signature = (("size", (2, 2, 2)), ("data_format", None))
    checks = {"size": tuple_of(3)}


class SpatialDropout1D(Layer):
    """Drops whole feature maps; no shape change. Keras takes no data_format and no other keyword here."""

    signature = (("rate", REQUIRED), ("seed", None), ("name", None), ("dtype", None))
    keyword_only = ()
    checks = {"rate": check_rate}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        expect_rank(self, input_shape, 2, "(steps, channels)")
        return self.shape(input_shape)


class SpatialDropout3D(Layer):
    signature = (("rate", REQUIRED), ("data_format", None), ("seed", None), ("name", None), ("dtype", None))
    keyword_only = ()
    checks = {"rate": check_rate}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        split_spatial(self, input_shape, data_format, 3)
        return self.shape(input_shape)


class Flatten(Layer):
    """All axes but the batch in one: unknown (None) if any of them is."""

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
    """``target_shape`` without the batch; with an unknown input size Keras checks nothing and -1 stays unknown."""

    signature = (("target_shape", REQUIRED),)
    checks = {"target_shape": _target_shape}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        target = self.args["target_shape"]
        total = formulas.flat_length(input_shape)
        if total is None:
            return self.shape(tuple(None if v == -1 else v for v in target))
        known = formulas.flat_length(tuple(v for v in target if v != -1))
        if -1 in target:
            if total % known:
                raise ConvcalcError(f"cannot reshape {input_shape} ({total} values) to {target}: {total} is not a multiple of {known}.")
            target = tuple(formulas.inferred_length(total, known) if v == -1 else v for v in target)
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


def _resized_size(value, name):
    """Keras builds with any size >= 0, or None (unknown); it refuses negative and non-integer sizes."""
    if value is None:
        return None
    if not is_int(value):
        raise ConvcalcError(f"{name} must be an integer; got {name}={value!r}.")
    if value < 0:
        raise ConvcalcError(f"{name} cannot be negative (Keras refuses negative dimensions); got {name}={value!r}.")
    return value


class Resizing(Layer):
    """Resizes images to ``(height, width)``, as Keras's ``compute_output_shape`` places them.

    A (height, width, channels) input is the usual case. For any other rank Keras
    reads the tensor as one unbatched image: channels_first then resizes the
    first two axes after the batch; channels_last overwrites the batch axis itself
    (Keras's own run then fails, but that is the shape it builds).
    ``interpolation`` and the other options change no shape and are checked by Keras only when run.
    """

    signature = (
        ("height", REQUIRED), ("width", REQUIRED), ("interpolation", "bilinear"),
        ("crop_to_aspect_ratio", False), ("pad_to_aspect_ratio", False), ("fill_mode", "constant"),
        ("fill_value", 0.0), ("antialias", False), ("data_format", None),
    )
    checks = {
        "height": _resized_size, "width": _resized_size, "interpolation": check_any_literal,
        "crop_to_aspect_ratio": check_any_literal, "pad_to_aspect_ratio": check_any_literal,
        "fill_mode": check_any_literal, "fill_value": check_number, "antialias": check_any_literal,
    }

    def compute(self, input_shape, data_format: str) -> LayerShape:
        size = (self.args["height"], self.args["width"])
        rank = len(input_shape)
        if rank == 3:
            _, channels = split_spatial(self, input_shape, data_format, 2)
            return self.shape(join_channels(size, channels, data_format))
        if data_format == "channels_first" and rank >= 2:
            return self.shape((*size, *input_shape[2:]))
        if rank >= 1:  # channels_last: Keras writes height and width over the batch axis and the first one
            return self.shape((*size, *input_shape[1:]), includes_batch=True)
        raise ConvcalcError(f"Resizing needs an input with at least one axis besides the batch; got {input_shape}.")


LAYERS = (
    ZeroPadding1D, ZeroPadding2D, ZeroPadding3D, Cropping1D, Cropping2D, Cropping3D,
    UpSampling1D, UpSampling2D, UpSampling3D, SpatialDropout1D, SpatialDropout3D,
    Flatten, Reshape, Permute, Resizing,
)
