"""Convolution layers: Conv1D/2D/3D, their transposes, DepthwiseConv1D/2D, SeparableConv1D/2D.

One class per family, parameterised by ``rank`` (the number of spatial axes).
Spatial sizes may be ``None`` (unknown until run time): outputs are then
``None`` too, as in Keras; the channel axis must be known to build the weights.
"""

from __future__ import annotations

from . import formulas, rules
from .arguments import check_string, optional_tuple_of, tuple_of
from .errors import ConvcalcError
from .layer_base import REQUIRED, Layer, LayerShape, Weight, expect_rank, join_channels

SPATIAL_NAMES = {1: "steps", 2: "height, width", 3: "depth, height, width"}


def split_spatial(layer: Layer, shape: tuple, data_format: str, rank: int):
    """``(spatial sizes, channels)`` of an input with ``rank`` spatial axes, for 1-D, 2-D and 3-D layers."""
    names = SPATIAL_NAMES[rank]
    layout = f"({names}, channels)" if data_format == "channels_last" else f"(channels, {names})"
    expect_rank(layer, shape, rank + 1, layout)
    if data_format == "channels_last":
        return tuple(shape[:-1]), shape[-1]
    return tuple(shape[1:]), shape[0]


def known_channels(layer: Layer, channels, input_shape, data_format: str) -> int:
    """The channel count, which weights need: Keras cannot build them from an unknown (None) one."""
    if channels is None:
        raise ConvcalcError(
            f"{layer.type_name} needs a known number of input channels to build its weights; "
            f"the channel axis of the input {input_shape} ({data_format}) is None "
            "(Keras fails too: its weight shapes must be fully defined)."
        )
    return channels

BIAS_TAIL = (
    ("activation", None),
    ("use_bias", True),
)
INIT_TAIL = (
    ("kernel_initializer", "glorot_uniform"),
    ("bias_initializer", "zeros"),
    ("kernel_regularizer", None),
    ("bias_regularizer", None),
    ("activity_regularizer", None),
    ("kernel_constraint", None),
    ("bias_constraint", None),
)


def _rank_checks(rank: int, causal: bool = False) -> dict:
    """Checks of the sized arguments for ``rank`` spatial axes (Conv1D alone accepts ``padding='causal'``)."""
    checks = {
        "kernel_size": tuple_of(rank),
        "strides": tuple_of(rank),
        "dilation_rate": tuple_of(rank),
        "output_padding": optional_tuple_of(rank, allow_zero=True),
    }
    if causal:
        checks["padding"] = check_string(("valid", "same", "causal"), lower=True)
    return checks


class _Conv(Layer):
    """Shared by every convolution: strides with dilation, axes, non-positive outputs."""

    rank = 2

    def validate(self) -> None:
        rules.check_strides_with_dilation(self.args["strides"], self.args["dilation_rate"])

    def kernel_weights(self, kernel_shape, filters: int) -> list:
        """``kernel`` and ``bias`` as Keras declares them; with ``lora_rank`` the kernel is frozen and
        ``lora_kernel_a``/``lora_kernel_b`` are trained."""
        lora = self.args.get("lora_rank")
        weights = [self.weight("kernel", kernel_shape, trainable=not lora)]
        if self.args["use_bias"]:
            weights.append(self.weight("bias", (filters,)))
        if lora:
            a, b = formulas.lora_shapes(kernel_shape, lora)
            weights += [Weight("lora_kernel_a", a, True, "he_uniform"), Weight("lora_kernel_b", b, True, "zeros")]
        return weights

    def _axes(self, shape, data_format):
        spatial, channels = split_spatial(self, shape, data_format, self.rank)
        return spatial, known_channels(self, channels, shape, data_format)

    def _check_output(self, spatial_in, spatial_out) -> None:
        a = self.args
        rules.check_output_size(spatial_in, spatial_out, a["kernel_size"], a["dilation_rate"], a["strides"],
                                a["padding"])

    def _direct(self, spatial):
        """Output lengths and per-side padding of a direct convolution over ``spatial``."""
        a = self.args
        axes = list(zip(spatial, a["kernel_size"], a["strides"], a["dilation_rate"]))
        if a["padding"] == "causal":  # Conv1D: everything padded on the left, like Keras
            out = tuple(formulas.conv_output_length(n, k, s, "same", d) for n, k, s, d in axes)
            pads = tuple(formulas.causal_padding(k, d) for _, k, _, d in axes)
        else:
            out = tuple(formulas.conv_output_length(n, k, s, a["padding"], d) for n, k, s, d in axes)
            pads = tuple(formulas.conv_padding(n, k, s, a["padding"], d) for n, k, s, d in axes)
        self._check_output(spatial, out)
        return out, pads


class _Convolution(_Conv):
    """Conv1D, Conv2D and Conv3D: ``filters`` kernels spanning ``channels/groups`` channels each."""

    keyword_only = (("lora_rank", None), ("lora_alpha", None)) + Layer.keyword_only

    def validate(self) -> None:
        rules.check_groups_divide_filters(self.args["filters"], self.args["groups"])
        super().validate()

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        spatial, channels = self._axes(input_shape, data_format)
        rules.check_groups_divide_channels(channels, a["groups"], input_shape, data_format)
        out, pads = self._direct(spatial)
        kernel = formulas.conv_kernel_shape(a["kernel_size"], channels, a["filters"], a["groups"])
        return self.shape(
            join_channels(out, a["filters"], data_format),
            padding=pads, kernel_shape=kernel, weights=self.kernel_weights(kernel, a["filters"]),
        )


class Conv2D(_Convolution):
    """``keras.layers.Conv2D``: cross-correlation over height and width."""

    signature = (
        ("filters", REQUIRED), ("kernel_size", REQUIRED), ("strides", 1), ("padding", "valid"),
        ("data_format", None), ("dilation_rate", 1), ("groups", 1), *BIAS_TAIL, *INIT_TAIL,
    )
    checks = _rank_checks(2)


class Conv1D(_Convolution):
    """``keras.layers.Conv1D``: over steps; ``padding='causal'`` pads the left only."""

    rank = 1
    signature = Conv2D.signature
    checks = _rank_checks(1, causal=True)


class Conv3D(_Convolution):
    """``keras.layers.Conv3D``: over depth, height and width."""

    rank = 3
    signature = Conv2D.signature
    checks = _rank_checks(3)


class _Transpose(_Conv):
    """Conv1DTranspose, Conv2DTranspose and Conv3DTranspose: the gradient of the direct convolution."""

    def validate(self) -> None:
        rules.check_output_padding(self.args["output_padding"], self.args["strides"])
        super().validate()

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        spatial, channels = self._axes(input_shape, data_format)
        ops = a["output_padding"] or (None,) * self.rank
        axes = list(zip(spatial, a["kernel_size"], a["strides"], ops, a["dilation_rate"]))
        out = tuple(
            formulas.conv_transpose_output_length(n, k, s, a["padding"], p, d) for n, k, s, p, d in axes
        )
        self._check_output(spatial, out)
        pads = tuple(formulas.conv_transpose_padding(k, s, a["padding"], p, d) for _, k, s, p, d in axes)
        kernel = formulas.conv_transpose_kernel_shape(a["kernel_size"], channels, a["filters"])
        return self.shape(
            join_channels(out, a["filters"], data_format),
            padding=pads, kernel_shape=kernel, weights=self.kernel_weights(kernel, a["filters"]),
        )


class Conv2DTranspose(_Transpose):
    """``keras.layers.Conv2DTranspose``: upsampling by the gradient of Conv2D."""

    signature = (
        ("filters", REQUIRED), ("kernel_size", REQUIRED), ("strides", 1), ("padding", "valid"),
        ("output_padding", None), ("data_format", None), ("dilation_rate", 1), *BIAS_TAIL, *INIT_TAIL,
    )
    checks = _rank_checks(2)


class Conv1DTranspose(_Transpose):
    """``keras.layers.Conv1DTranspose``."""

    rank = 1
    signature = Conv2DTranspose.signature
    checks = _rank_checks(1)


class Conv3DTranspose(_Transpose):
    """``keras.layers.Conv3DTranspose``: note Keras's positional order, data_format before output_padding."""

    rank = 3
    signature = (
        ("filters", REQUIRED), ("kernel_size", REQUIRED), ("strides", 1), ("padding", "valid"),
        ("data_format", None), ("output_padding", None), ("dilation_rate", 1), *BIAS_TAIL, *INIT_TAIL,
    )
    checks = _rank_checks(3)


class _Depthwise(_Conv):
    """DepthwiseConv1D and DepthwiseConv2D: one ``depth_multiplier`` set of kernels per channel.

    Unlike Conv1D/Conv2D, Keras accepts strides > 1 together with dilation_rate > 1 here.
    """

    def validate(self) -> None:
        pass

    signature = (
        ("kernel_size", REQUIRED), ("strides", 1), ("padding", "valid"), ("depth_multiplier", 1),
        ("data_format", None), ("dilation_rate", 1), *BIAS_TAIL,
        ("depthwise_initializer", "glorot_uniform"), ("bias_initializer", "zeros"),
        ("depthwise_regularizer", None), ("bias_regularizer", None), ("activity_regularizer", None),
        ("depthwise_constraint", None), ("bias_constraint", None),
    )

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        spatial, channels = self._axes(input_shape, data_format)
        out, pads = self._direct(spatial)
        kernel = formulas.depthwise_kernel_shape(a["kernel_size"], channels, a["depth_multiplier"])
        outputs = channels * a["depth_multiplier"]
        weights = [self.weight("kernel", kernel, initializer="depthwise")]
        if a["use_bias"]:
            weights.append(self.weight("bias", (outputs,)))
        return self.shape(
            join_channels(out, outputs, data_format), padding=pads, kernel_shape=kernel, weights=weights,
        )


class DepthwiseConv2D(_Depthwise):
    """``keras.layers.DepthwiseConv2D``."""

    checks = _rank_checks(2)


class DepthwiseConv1D(_Depthwise):
    """``keras.layers.DepthwiseConv1D``."""

    rank = 1
    checks = _rank_checks(1)


class _Separable(_Conv):
    """SeparableConv1D and SeparableConv2D: depthwise, then a pointwise (size 1) convolution.

    Like DepthwiseConv2D, Keras accepts strides > 1 together with dilation_rate > 1.
    """

    def validate(self) -> None:
        pass

    signature = (
        ("filters", REQUIRED), ("kernel_size", REQUIRED), ("strides", 1), ("padding", "valid"),
        ("data_format", None), ("dilation_rate", 1), ("depth_multiplier", 1), *BIAS_TAIL,
        ("depthwise_initializer", "glorot_uniform"), ("pointwise_initializer", "glorot_uniform"),
        ("bias_initializer", "zeros"), ("depthwise_regularizer", None), ("pointwise_regularizer", None),
        ("bias_regularizer", None), ("activity_regularizer", None), ("depthwise_constraint", None),
        ("pointwise_constraint", None), ("bias_constraint", None),
    )

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        spatial, channels = self._axes(input_shape, data_format)
        out, pads = self._direct(spatial)
        depthwise = formulas.depthwise_kernel_shape(a["kernel_size"], channels, a["depth_multiplier"])
        pointwise = formulas.pointwise_kernel_shape(channels, a["depth_multiplier"], a["filters"], self.rank)
        weights = [self.weight("depthwise_kernel", depthwise, initializer="depthwise"),
                   self.weight("pointwise_kernel", pointwise, initializer="pointwise")]
        if a["use_bias"]:
            weights.append(self.weight("bias", (a["filters"],)))
        return self.shape(
            join_channels(out, a["filters"], data_format), padding=pads, kernel_shape=depthwise, weights=weights,
        )


class SeparableConv2D(_Separable):
    """``keras.layers.SeparableConv2D``."""

    checks = _rank_checks(2)


class SeparableConv1D(_Separable):
    """``keras.layers.SeparableConv1D``."""

    rank = 1
    checks = _rank_checks(1)


LAYERS = (
    Conv1D, Conv2D, Conv3D, Conv1DTranspose, Conv2DTranspose, Conv3DTranspose,
    DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D,
)
