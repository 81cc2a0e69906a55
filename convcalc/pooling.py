"""Pooling layers: windows with the convolution's geometry (1-D, 2-D, 3-D), and global pooling.

Pooling has no weights, so an unknown (None) channel axis passes through, as
in Keras; unknown spatial sizes give unknown outputs.
"""

from __future__ import annotations

from . import formulas
from .arguments import check_string, optional_tuple_of, tuple_of
from .convolution import split_spatial
from .errors import ConvcalcError
from .layer_base import REQUIRED, Layer, LayerShape, join_channels


def _sizes(sizes) -> str:
    return "x".join("None" if n is None else str(n) for n in sizes)


class _Pooling(Layer):
    """MaxPooling and AveragePooling of any rank: ``strides`` default to ``pool_size``."""

    rank = 2

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.checks = {
            "pool_size": tuple_of(cls.rank),
            "strides": optional_tuple_of(cls.rank),
            # Keras compares the pooling padding as given: 'SAME' is an error here, unlike in Conv2D.
            "padding": check_string(("valid", "same")),
        }

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        spatial, channels = split_spatial(self, input_shape, data_format, self.rank)
        strides = a["strides"] or a["pool_size"]
        axes = list(zip(spatial, a["pool_size"], strides))
        out = tuple(formulas.conv_output_length(n, k, s, a["padding"]) for n, k, s in axes)
        if any(n is not None and n <= 0 for n in out):
            raise ConvcalcError(
                f"the output size would be {_sizes(out)}, which is not positive: the input is "
                f"{_sizes(spatial)} and pool_size={a['pool_size']} (strides={strides}, padding={a['padding']!r})."
            )
        pads = tuple(formulas.conv_padding(n, k, s, a["padding"]) for n, k, s in axes)
        return self.shape(join_channels(out, channels, data_format), padding=pads)


def _signature(pool_size):
    return (("pool_size", pool_size), ("strides", None), ("padding", "valid"), ("data_format", None), ("name", None))


class MaxPooling1D(_Pooling):
    rank = 1
    signature = _signature(2)


class MaxPooling2D(_Pooling):
    signature = _signature((2, 2))


class MaxPooling3D(_Pooling):
    rank = 3
    signature = _signature((2, 2, 2))


class AveragePooling1D(_Pooling):
    rank = 1
    signature = _signature(REQUIRED)


class AveragePooling2D(_Pooling):
    signature = _signature(REQUIRED)


class AveragePooling3D(_Pooling):
    rank = 3
    signature = _signature(REQUIRED)


class _GlobalPooling(Layer):
    """Reduce every spatial axis; ``keepdims`` keeps them as size 1.

    The output is known even when spatial sizes are not (the channels pass
    through, None included). Keras 3's 1-D global pooling follows
    ``image_data_format`` like the others, and a mask changes no shape.
    """

    rank = 2
    signature = (("data_format", None), ("keepdims", False))

    def compute(self, input_shape, data_format: str) -> LayerShape:
        _, channels = split_spatial(self, input_shape, data_format, self.rank)
        if self.args["keepdims"]:
            return self.shape(join_channels((1,) * self.rank, channels, data_format))
        return self.shape((channels,))


class GlobalAveragePooling1D(_GlobalPooling):
    rank = 1


class GlobalAveragePooling2D(_GlobalPooling):
    pass


class GlobalAveragePooling3D(_GlobalPooling):
    rank = 3


class GlobalMaxPooling1D(_GlobalPooling):
    rank = 1


class GlobalMaxPooling2D(_GlobalPooling):
    pass


class GlobalMaxPooling3D(_GlobalPooling):
    rank = 3


LAYERS = (
    MaxPooling1D, MaxPooling2D, MaxPooling3D, AveragePooling1D, AveragePooling2D, AveragePooling3D,
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D,
)
