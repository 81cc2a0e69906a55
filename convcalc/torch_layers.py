"""PyTorch layers (SPEC 8): ``nn.Conv2d``, ``nn.ConvTranspose2d`` and ``nn.ZeroPad2d``.

Written ``nn.Conv2d(...)`` or ``torch.nn.Conv2d(...)`` with PyTorch's own
arguments, bound in PyTorch's positional order and checked with PyTorch's
rules (the messages say what PyTorch says).  They are always NCHW: their input
is ``(channels, height, width)`` without the batch, whatever ``--data-format``
says (that option applies to the Keras layers of a stack).  Their rows use the
same keys as Keras rows: ``padding`` is the per-side padding of the equivalent
direct convolution (for ConvTranspose2d ``before = d*(k-1) - padding``,
``after = before + output_padding``), ``kernel_shape`` the PyTorch weight
layout, and the weights are named ``weight`` and ``bias`` as in a state_dict.
Standard library only; ``convcalc.torch_kernels`` runs them.
"""

from __future__ import annotations

from math import sqrt
from typing import Any

from . import formulas
from .arguments import is_int
from .errors import ConvcalcError
from .layer_base import REQUIRED, Layer, LayerShape, Weight, expect_rank
from .parse import Call, shown, suggest
from .registry import TORCH_LAYERS

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
CHANNELS_FIRST = "channels_first"


def _pair(value: Any, name: str, least: int, rule: str) -> tuple[int, int]:
    """PyTorch's ``_pair``: an int means both axes; a tuple/list must hold 2 ints (PyTorch: "expected
    {name} to be a single integer value or a list of 2 values to match the convolution dimensions")."""
    if is_int(value):
        pair = (value, value)
    elif isinstance(value, tuple) and all(is_int(v) for v in value):
        if len(value) != 2:
            raise ConvcalcError(f"expected {name} to be a single integer value or a list of 2 values to match the "
                                f"convolution dimensions, but got {name}={shown(value)} (PyTorch rule).")
        pair = value
    else:
        raise ConvcalcError(f"{name} must be an integer or a tuple of 2 integers; got {name}={shown(value)}.")
    if any(v < least for v in pair):
        raise ConvcalcError(f"{rule} (PyTorch rule); got {name}={shown(value)}.")
    return pair


def _channels(value: Any, name: str) -> int:
    if not is_int(value) or value <= 0:
        raise ConvcalcError(f"{name} must be a positive integer (PyTorch builds an empty weight otherwise); "
                            f"got {name}={shown(value)}.")
    return value


def _padding(value: Any, name: str) -> Any:
    """An int, 2 ints (both sides of height, width), or ``'valid'``/``'same'`` (case-sensitive, as PyTorch)."""
    if isinstance(value, str):
        if value not in ("valid", "same"):
            raise ConvcalcError(f"Invalid padding string {shown(value)}, should be one of {{'valid', 'same'}} "
                                "(PyTorch rule).")
        return value
    return _pair(value, name, 0, "negative padding is not supported")


def _padding_mode(value: Any, name: str) -> str:
    if value not in PADDING_MODES:
        raise ConvcalcError(f"padding_mode must be one of {', '.join(map(repr, PADDING_MODES))}, but got "
                            f"padding_mode={shown(value)} (PyTorch rule).")
    return value


def _bias(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConvcalcError(f"bias must be True or False; got bias={shown(value)}.")
    return value


def _ignored(value: Any, name: str) -> Any:
    """``device`` and ``dtype``: where and in what PyTorch stores the weights; no shape depends on them."""
    return value


def _groups(value: Any, name: str) -> int:
    if not is_int(value) or value <= 0:
        raise ConvcalcError(f"groups must be a positive integer (PyTorch rule); got groups={shown(value)}.")
    return value


CHECKS = {
    "in_channels": _channels,
    "out_channels": _channels,
    "kernel_size": lambda v, n: _pair(v, n, 1, "kernel_size must be positive (PyTorch builds an empty weight)"),
    "stride": lambda v, n: _pair(v, n, 1, "non-positive stride is not supported"),
    "padding": _padding,
    "dilation": lambda v, n: _pair(v, n, 1, "dilation should be greater than zero"),
    "output_padding": lambda v, n: _pair(v, n, 0, "negative output_padding is not supported"),
    "groups": _groups,
    "bias": _bias,
    "padding_mode": _padding_mode,
    "device": _ignored,
    "dtype": _ignored,
}


def _sizes(values) -> str:
    return "x".join(str(v) for v in values)


class _TorchLayer(Layer):
    """A PyTorch module: NCHW, no Keras keywords, ``weight``/``bias`` named as in a state_dict."""

    keyword_only = ()
    prefix = "nn."

    @property
    def data_format(self) -> str:
        return CHANNELS_FIRST

    @property
    def name(self) -> None:
        return None

    @property
    def input_shape(self) -> None:
        return None

    def _spatial(self, input_shape) -> tuple[tuple, Any]:
        expect_rank(self, input_shape, 3, "(channels, height, width), NCHW as PyTorch takes it,")
        return tuple(input_shape[1:]), input_shape[0]

    def torch_weights(self, shape, fan_in: int) -> list:
        """``weight`` and ``bias`` with PyTorch's default initialization (``kaiming_uniform_(a=sqrt(5))``
        and the bias's): uniform in ``+-1/sqrt(fan_in)``."""
        bound = 1 / sqrt(fan_in)
        uniform = Call("RandomUniform", (), (("minval", -bound), ("maxval", bound)),
                       f"RandomUniform(minval={-bound}, maxval={bound})")
        weights = [Weight("weight", tuple(shape), True, uniform)]
        if self.args["bias"]:
            weights.append(Weight("bias", (self.args["out_channels"],), True, uniform))
        return weights


class _TorchConv(_TorchLayer):
    """What nn.Conv2d and nn.ConvTranspose2d share: groups dividing the channels, the input's channels."""

    def validate(self) -> None:
        a = self.args
        if a["in_channels"] % a["groups"]:
            raise ConvcalcError(f"in_channels must be divisible by groups (PyTorch rule); got in_channels="
                                f"{a['in_channels']}, groups={a['groups']}.")
        if a["out_channels"] % a["groups"]:
            raise ConvcalcError(f"out_channels must be divisible by groups (PyTorch rule); got out_channels="
                                f"{a['out_channels']}, groups={a['groups']}.")

    @property
    def conv_args(self) -> dict:
        """The Keras names of the arguments the cost and receptive-field figures read
        (:mod:`convcalc.details`): filters, kernel_size, strides, dilation_rate, groups."""
        a = self.args
        return {"filters": a["out_channels"], "kernel_size": a["kernel_size"], "strides": a["stride"],
                "dilation_rate": a["dilation"], "groups": a["groups"]}

    def _check_channels(self, input_shape, channels) -> None:
        a = self.args
        if channels != a["in_channels"]:
            hint = ""
            if input_shape[-1] == a["in_channels"]:  # a channels_last shape: PyTorch reads the first axis
                hint = (f"; PyTorch layers are NCHW: the input is "
                        f"{'x'.join(map(str, (input_shape[-1], *input_shape[:-1])))}, channels first")
            raise ConvcalcError(
                f"{self.prefix}{self.type_name} expects {a['in_channels']} input channels (in_channels="
                f"{a['in_channels']}), but the input {shown(tuple(input_shape))} (channels, height, width) has "
                f"{channels} (PyTorch: expected input to have {a['in_channels']} channels, but got {channels} "
                f"channels instead){hint}."
            )


class Conv2d(_TorchConv):
    """``torch.nn.Conv2d``: cross-correlation over height and width of an NCHW input."""

    conv_family = "conv"

    signature = (
        ("in_channels", REQUIRED), ("out_channels", REQUIRED), ("kernel_size", REQUIRED), ("stride", 1),
        ("padding", 0), ("dilation", 1), ("groups", 1), ("bias", True), ("padding_mode", "zeros"),
        ("device", None), ("dtype", None),
    )

    def validate(self) -> None:
        """PyTorch's constructor: ``padding='same'`` only without strides, groups dividing both channel counts."""
        super().validate()
        a = self.args
        if a["padding"] == "same" and max(a["stride"]) > 1:
            raise ConvcalcError(f"padding='same' is not supported for strided convolutions (PyTorch rule); "
                                f"got stride={a['stride']}.")

    def pads(self) -> tuple[tuple[int, int], ...]:
        """Per-side padding (before, after) of height and width; input-independent in PyTorch."""
        a = self.args
        if a["padding"] == "valid":
            return ((0, 0), (0, 0))
        if a["padding"] == "same":
            return tuple(formulas.torch_same_padding(k, d) for k, d in zip(a["kernel_size"], a["dilation"]))
        return tuple((p, p) for p in a["padding"])

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        spatial, channels = self._spatial(input_shape)
        self._check_channels(input_shape, channels)
        pads = self.pads()
        _check_padding_mode(a["padding_mode"], spatial, pads, input_shape)
        padded = tuple(formulas.padded_length(n, b, e) for n, (b, e) in zip(spatial, pads))
        spans = tuple(formulas.effective_kernel(k, d) for k, d in zip(a["kernel_size"], a["dilation"]))
        if any(n is not None and n < span for n, span in zip(padded, spans)):
            raise ConvcalcError(
                f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
                f"({' x '.join(map(str, spans))}). Kernel size can't be greater than actual input size "
                f"(PyTorch rule; kernel_size={a['kernel_size']}, dilation={a['dilation']}, padding={pads})."
            )
        out = tuple(formulas.torch_conv_output_length(n, k, s, b, e, d)
                    for n, k, s, (b, e), d in zip(spatial, a["kernel_size"], a["stride"], pads, a["dilation"]))
        kernel = formulas.torch_conv_kernel_shape(a["kernel_size"], a["in_channels"], a["out_channels"], a["groups"])
        fan_in = formulas.weight_count(kernel[1:])
        return self.shape((a["out_channels"], *out), padding=pads, kernel_shape=kernel,
                          weights=self.torch_weights(kernel, fan_in))


class ConvTranspose2d(_TorchConv):
    conv_family = "transpose"

    """``torch.nn.ConvTranspose2d``: the gradient of Conv2d; ``padding`` crops ``d*(k-1)`` of the full result."""

    signature = (
        ("in_channels", REQUIRED), ("out_channels", REQUIRED), ("kernel_size", REQUIRED), ("stride", 1),
        ("padding", 0), ("output_padding", 0), ("groups", 1), ("bias", True), ("dilation", 1),
        ("padding_mode", "zeros"), ("device", None), ("dtype", None),
    )

    def validate(self) -> None:
        """PyTorch: integer padding only, ``padding_mode='zeros'`` only, and on every axis
        ``output_padding < stride or output_padding < dilation``."""
        super().validate()
        a = self.args
        if isinstance(a["padding"], str):
            raise ConvcalcError(f"ConvTranspose2d takes padding as an integer or a tuple of 2 integers, not "
                                f"padding={a['padding']!r} (PyTorch: conv_transpose2d(): argument 'padding' must be "
                                "tuple of ints).")
        if a["padding_mode"] != "zeros":
            raise ConvcalcError(f"Only \"zeros\" padding mode is supported for ConvTranspose2d (PyTorch rule); "
                                f"got padding_mode={a['padding_mode']!r}.")
        for axis, (p, s, d) in enumerate(zip(a["output_padding"], a["stride"], a["dilation"])):
            if p >= s and p >= d:
                raise ConvcalcError(
                    f"output padding must be smaller than either stride or dilation (PyTorch rule); on axis {axis} "
                    f"output_padding is {p}, stride {s} and dilation {d} (output_padding={a['output_padding']}, "
                    f"stride={a['stride']}, dilation={a['dilation']})."
                )

    def pads(self) -> tuple[tuple[int, int], ...]:
        a = self.args
        return tuple(formulas.torch_conv_transpose_padding(k, p, op, d)
                     for k, p, op, d in zip(a["kernel_size"], a["padding"], a["output_padding"], a["dilation"]))

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        spatial, channels = self._spatial(input_shape)
        self._check_channels(input_shape, channels)
        out = tuple(formulas.torch_conv_transpose_output_length(n, k, s, p, op, d) for n, k, s, p, op, d in
                    zip(spatial, a["kernel_size"], a["stride"], a["padding"], a["output_padding"], a["dilation"]))
        if any(n is not None and n <= 0 for n in out):
            raise ConvcalcError(
                f"Given input size per channel: ({' x '.join(map(str, spatial))}). Calculated output size per "
                f"channel: ({' x '.join(map(str, out))}). Output size is too small (PyTorch rule; kernel_size="
                f"{a['kernel_size']}, stride={a['stride']}, padding={a['padding']}, output_padding="
                f"{a['output_padding']}, dilation={a['dilation']})."
            )
        kernel = formulas.torch_conv_transpose_kernel_shape(a["kernel_size"], a["in_channels"], a["out_channels"],
                                                            a["groups"])
        fan_in = formulas.weight_count(kernel[1:])  # PyTorch's fan_in: size(1) * receptive field
        return self.shape((a["out_channels"], *out), padding=self.pads(), kernel_shape=kernel,
                          weights=self.torch_weights(kernel, fan_in))


def _side_amounts(value: Any, name: str) -> tuple[int, int, int, int]:
    """nn.ZeroPad2d's ``padding``: an int for every side or ``(left, right, top, bottom)``; negative crops."""
    if is_int(value):
        return (value,) * 4
    if isinstance(value, tuple) and len(value) == 4 and all(is_int(v) for v in value):
        return value
    raise ConvcalcError(f"padding must be an integer or a tuple of 4 integers (left, right, top, bottom); "
                        f"got padding={shown(value)}.")


class ZeroPad2d(_TorchLayer):
    """``torch.nn.ZeroPad2d((left, right, top, bottom))``: zeros around height and width; negative amounts crop."""

    signature = (("padding", REQUIRED),)
    checks = {"padding": _side_amounts}

    def sides(self) -> tuple[tuple[int, int], tuple[int, int]]:
        left, right, top, bottom = self.args["padding"]
        return ((top, bottom), (left, right))

    def compute(self, input_shape, data_format: str) -> LayerShape:
        spatial, channels = self._spatial(input_shape)
        pads = self.sides()
        out = tuple(formulas.padded_length(n, b, e) for n, (b, e) in zip(spatial, pads))
        for axis, (n, m, (b, e)) in enumerate(zip(spatial, out, pads)):
            if n is not None and m <= 0:
                raise ConvcalcError(
                    f"The input size {n}, plus negative padding {b} and {e} resulted in a negative output size, "
                    f"which is invalid (PyTorch rule; dimension {axis + 2} of the input {shown(tuple(input_shape))})."
                )
        return self.shape((channels, *out), padding=pads)


def _check_padding_mode(mode: str, spatial, pads, input_shape) -> None:
    """PyTorch pads with ``F.pad``: reflect needs each amount smaller than the axis, circular at most the axis."""
    for axis, (n, (b, e)) in enumerate(zip(spatial, pads)):
        if n is None:
            continue
        if mode == "reflect" and max(b, e) >= n:
            raise ConvcalcError(
                f"Padding size should be less than the corresponding input dimension, but got: padding ({b}, {e}) at "
                f"dimension {axis + 2} of input {shown(tuple(input_shape))} (PyTorch rule for padding_mode='reflect')."
            )
        if mode == "circular" and max(b, e) > n:
            raise ConvcalcError(
                f"Padding value causes wrapping around more than once: padding ({b}, {e}) at dimension {axis + 2} of "
                f"input {shown(tuple(input_shape))} (PyTorch rule for padding_mode='circular')."
            )


LAYERS = (Conv2d, ConvTranspose2d, ZeroPad2d)
assert tuple(cls.type_name for cls in LAYERS) == TORCH_LAYERS


def build_torch_layer(call: Call) -> Layer:
    """Bind a ``nn.Conv2d(...)`` call as Python binds PyTorch's ``__init__``, then check it as PyTorch does.

    >>> from convcalc.parse import parse_call
    >>> layer = build_torch_layer(parse_call("nn.Conv2d(3, 64, 7, 2, 3, bias=False)"))
    >>> layer.kernel_size, layer.stride, layer.padding, layer.bias
    ((7, 7), (2, 2), (3, 3), False)
    """
    cls = next((c for c in LAYERS if c.type_name == call.short), None)
    if cls is None:
        hint = suggest(call.short, list(TORCH_LAYERS))
        raise ConvcalcError(f"{shown(call.func)} is not a PyTorch layer convcalc knows{hint}; it knows "
                            f"{', '.join('nn.' + n for n in TORCH_LAYERS)}.")
    order = [name for name, _ in cls.signature]
    title = f"{cls.type_name}.__init__()"
    if len(call.args) > len(order):
        raise ConvcalcError(f"{title} takes at most {len(order)} positional arguments ({', '.join(order[:3])}, ...); "
                            f"got {len(call.args)} (PyTorch refuses it).")
    bound = dict(zip(order, call.args))
    for key, value in call.kwargs:
        if key not in order:
            hint = suggest(key, order)
            raise ConvcalcError(f"{title} got an unexpected keyword argument {key!r}{hint} (PyTorch's arguments: "
                                f"{', '.join(order)}).")
        if key in bound:
            raise ConvcalcError(f"{title} got multiple values for argument {key!r}.")
        bound[key] = value
    missing = [key for key, default in cls.signature if default is REQUIRED and key not in bound]
    if missing:
        raise ConvcalcError(f"{title} missing {len(missing)} required positional argument"
                            f"{'s' if len(missing) > 1 else ''}: {', '.join(map(repr, missing))}.")
    args = {}
    for key, default in cls.signature:
        value = bound.get(key, default)
        args[key] = cls.checks.get(key, CHECKS.get(key, _ignored))(value, key)
    return cls(args, call.text)
