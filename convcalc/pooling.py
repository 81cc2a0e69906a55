"""Pooling layers: windows with the convolution's geometry, and global pooling."""

from __future__ import annotations

from . import formulas
from .arguments import check_string, optional_tuple_of, tuple_of
from .errors import ConvcalcError
from .layer_base import REQUIRED, Layer, LayerShape, join_channels, split_channels


class _Pooling2D(Layer):
    """MaxPooling2D and AveragePooling2D: ``strides`` default to ``pool_size``."""

    checks = {
        "pool_size": tuple_of(2),
        "strides": optional_tuple_of(2),
        # Keras compares the pooling padding as given: 'SAME' is an error here, unlike in Conv2D.
        "padding": check_string(("valid", "same")),
    }
    keyword_only = (("name", None),) + Layer.keyword_only

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        spatial, channels = split_channels(self, input_shape, data_format, 2)
        strides = a["strides"] or a["pool_size"]
        axes = list(zip(spatial, a["pool_size"], strides))
        out = tuple(formulas.conv_output_length(n, k, s, a["padding"]) for n, k, s in axes)
        if min(out) <= 0:
            raise ConvcalcError(
                f"the output size would be {out[0]}x{out[1]}, which is not positive: the input is "
                f"{spatial[0]}x{spatial[1]} and pool_size={a['pool_size']} (strides={strides}, padding={a['padding']!r})."
            )
        pads = tuple(formulas.conv_padding(n, k, s, a["padding"]) for n, k, s in axes)
        return self.shape(join_channels(out, channels, data_format), padding=pads)


class MaxPooling2D(_Pooling2D):
    signature = (("pool_size", (2, 2)), ("strides", None), ("padding", "valid"), ("data_format", None))


class AveragePooling2D(_Pooling2D):
    signature = (("pool_size", REQUIRED), ("strides", None), ("padding", "valid"), ("data_format", None))


class _GlobalPooling2D(Layer):
    """Reduce height and width; ``keepdims`` keeps them as size 1."""

    signature = (("data_format", None), ("keepdims", False))

    def compute(self, input_shape, data_format: str) -> LayerShape:
        _, channels = split_channels(self, input_shape, data_format, 2)
        if self.args["keepdims"]:
            return self.shape(join_channels((1, 1), channels, data_format))
        return self.shape((channels,))


class GlobalAveragePooling2D(_GlobalPooling2D):
    pass


class GlobalMaxPooling2D(_GlobalPooling2D):
    pass


LAYERS = (MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D)
