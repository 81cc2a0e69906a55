"""Keras layers as convcalc knows them: arguments, validation, geometry.

A :class:`~convcalc.parse.Call` becomes a layer object by :func:`build_layer`,
which binds positional and keyword arguments in Keras 3's order, maps the
Keras 1/2 spellings, and validates every argument with Keras 3's rules.  The
layer's :meth:`compute` gives its output shape, per-side padding, kernel
shape and parameter counts for a given input shape, through
``convcalc.formulas`` only.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Callable

from . import formulas, initializers
from .errors import ConvcalcError
from .parse import LAYER_PREFIXES, Call, Reference

REQUIRED = object()
DATA_FORMATS = ("channels_last", "channels_first")

# Names Keras 3 resolves with ``activations.get``, ``initializers.get``,
# ``regularizers.get`` and ``constraints.get`` (keras 3.15).
ACTIVATIONS = frozenset(
    "relu leaky_relu relu6 softmax celu elu selu softplus softsign squareplus soft_shrink "
    "sparse_plus silu swish gelu tanh tanh_shrink sigmoid sparse_sigmoid "
    "exponential hard_sigmoid hard_silu hard_swish hard_tanh hard_shrink linear mish "
    "log_softmax log_sigmoid sparsemax".split()
)
# Keras accepts these names but a conv layer cannot use them as Keras does.
UNSUPPORTED_ACTIVATIONS = {
    "glu": "it halves the last axis, so the layer's output shape is not the convolution's",
    "threshold": "it needs threshold and default_value, which Keras cannot pass to a layer's activation",
}
REGULARIZERS = frozenset("L1 L1L2 L2 OrthogonalRegularizer l1 l1l2 l1_l2 l2 orthogonal_regularizer".split())
CONSTRAINTS = frozenset("MaxNorm MinMaxNorm NonNeg UnitNorm max_norm min_max_norm non_neg unit_norm".split())
DTYPES = frozenset(
    "float16 float32 float64 bfloat16 mixed_float16 mixed_bfloat16 int8 int16 int32 int64 "
    "uint8 float8_e4m3fn float8_e5m2".split()
)


@dataclass(frozen=True)
class LayerShape:
    """What one layer does to a shape (batch axis excluded everywhere).

    ``padding`` is ``((top, bottom), (left, right))``: for Conv2DTranspose,
    the padding of the equivalent direct convolution (SPEC 1).
    """

    output_shape: tuple[int, ...]
    padding: tuple[tuple[int, int], tuple[int, int]] | None
    kernel_shape: tuple[int, ...] | None
    trainable_params: int
    non_trainable_params: int

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params


# --- argument checks: each takes (value, argument name) and returns the normal form


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_tuple(value: Any, name: str, allow_zero: bool = False, n: int = 2) -> tuple[int, ...]:
    """Keras's ``standardize_tuple``: an int or ``n`` ints, all > 0 (or >= 0)."""
    if _is_int(value):
        values = (value,) * n
    elif isinstance(value, tuple) and len(value) == n and all(_is_int(v) for v in value):
        values = value
    else:
        raise ConvcalcError(f"{name} must be an integer or a tuple of {n} integers; got {name}={value!r}.")
    least = 0 if allow_zero else 1
    if any(v < least for v in values):
        if not allow_zero and 0 in values and all(v >= 0 for v in values):
            raise ConvcalcError(f"{name} cannot contain 0; got {name}={value!r}.")
        rule = ">= 0" if allow_zero else "> 0"
        raise ConvcalcError(f"every {name} value must be {rule}; got {name}={value!r}.")
    return values


def _positive_int(value: Any, name: str) -> int:
    if not _is_int(value):
        raise ConvcalcError(f"{name} must be a positive integer; got {name}={value!r}.")
    if value <= 0:
        raise ConvcalcError(f"{name} must be a strictly positive integer; got {name}={value!r}.")
    return value


def _optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else _positive_int(value, name)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConvcalcError(f"{name} must be True or False; got {name}={value!r}.")
    return value


def _padding(value: Any, name: str) -> str:
    if isinstance(value, str) and value.lower() in ("valid", "same"):
        return value.lower()
    raise ConvcalcError(f"{name} must be 'valid' or 'same'; got {name}={value!r}.")


def _data_format(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in DATA_FORMATS:
        return value.lower()
    raise ConvcalcError(
        f"{name} must be 'channels_last' or 'channels_first'; got {name}={value!r}."
    )


def _named(kind: str, known: frozenset[str], allow_reference: bool = False) -> Callable[[Any, str], Any]:
    """A check for arguments given by name: a string, a call of a known class, or None."""

    def check(value: Any, name: str) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            short = value
        elif isinstance(value, Call):
            short = value.short
        elif isinstance(value, Reference) and allow_reference:
            short = value.short
        else:
            raise ConvcalcError(f"{name} must be the name of a Keras {kind}; got {name}={value!r}.")
        if short in UNSUPPORTED.get(kind, {}):
            raise ConvcalcError(f"{name}={value!r} is not supported: {UNSUPPORTED[kind][short]}.")
        if short not in known:
            close = difflib.get_close_matches(short, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConvcalcError(f"{name}={value!r} is not a Keras {kind}{hint}.")
        return value

    return check


UNSUPPORTED = {"activation": UNSUPPORTED_ACTIVATIONS}


def _initializer(value: Any, name: str) -> Any:
    value = _named("initializer", initializers.NAMES)(value, name)
    if value is not None:
        initializers.resolve(value, name)
    return value


def _number_or_none(value: Any, name: str) -> Any:
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    raise ConvcalcError(f"{name} must be a number or None; got {name}={value!r}.")


def _name(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or "/" in value or not value:
        raise ConvcalcError(f"name must be a non-empty string without '/'; got name={value!r}.")
    return value


def _dtype(value: Any, name: str) -> Any:
    if value is None or (isinstance(value, str) and value in DTYPES):
        return value
    raise ConvcalcError(f"dtype={value!r} is not a Keras dtype policy such as 'float32'.")


def _output_padding(value: Any, name: str) -> tuple[int, int] | None:
    return None if value is None else _int_tuple(value, name, allow_zero=True)


def _input_shape(value: Any, name: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, tuple) or not value or not all(_is_int(v) and v > 0 for v in value):
        raise ConvcalcError(f"{name} must be a tuple of positive sizes without the batch; got {name}={value!r}.")
    return value


def _input_dim(value: Any, name: str) -> None:
    if value is None:
        return None
    raise ConvcalcError(
        f"input_dim={value!r} gives a 1-D input, but this layer needs (height, width, channels); "
        "use input_shape=(...) or --input."
    )


CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "filters": _positive_int,
    "kernel_size": _int_tuple,
    "strides": _int_tuple,
    "dilation_rate": _int_tuple,
    "padding": _padding,
    "output_padding": _output_padding,
    "data_format": _data_format,
    "groups": _positive_int,
    "activation": _named("activation", ACTIVATIONS, allow_reference=True),
    "use_bias": _bool,
    "kernel_initializer": _initializer,
    "bias_initializer": _initializer,
    "kernel_regularizer": _named("regularizer", REGULARIZERS),
    "bias_regularizer": _named("regularizer", REGULARIZERS),
    "activity_regularizer": _named("regularizer", REGULARIZERS),
    "kernel_constraint": _named("constraint", CONSTRAINTS),
    "bias_constraint": _named("constraint", CONSTRAINTS),
    "lora_rank": _optional_positive_int,
    "lora_alpha": _number_or_none,
    "name": _name,
    "trainable": _bool,
    "dtype": _dtype,
    "autocast": _bool,
    "input_shape": _input_shape,
    "input_dim": _input_dim,
}

# Keyword arguments every Keras 3 layer takes (``Layer.__init__``).
BASE_KEYWORDS = (
    ("name", None),
    ("trainable", True),
    ("dtype", None),
    ("autocast", True),
    ("input_shape", None),
    ("input_dim", None),
)

# Keras 1 keyword -> Keras 3 keyword, and how the value changes.
KERAS1_KEYWORDS: dict[str, str] = {
    "nb_filter": "filters",
    "subsample": "strides",
    "border_mode": "padding",
    "dim_ordering": "data_format",
    "init": "kernel_initializer",
    "W_regularizer": "kernel_regularizer",
    "b_regularizer": "bias_regularizer",
    "W_constraint": "kernel_constraint",
    "b_constraint": "bias_constraint",
    "bias": "use_bias",
    "atrous_rate": "dilation_rate",
}
DIM_ORDERING = {"th": "channels_first", "tf": "channels_last", "default": None}
# Keras 1's Convolution2D(nb_filter, nb_row, nb_col, init, activation, weights, border_mode, subsample, dim_ordering)
KERAS1_POSITIONAL = ("nb_filter", "nb_row", "nb_col", "init", "activation", "weights", "border_mode", "subsample", "dim_ordering")


def _snake_case(name: str) -> str:
    """Keras's ``to_snake_case`` for default layer names: ``Conv2DTranspose`` -> ``conv2d_transpose``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Layer:
    """A validated layer: its Keras type, its arguments in normal form, its spec."""

    type_name: str = ""
    signature: tuple[tuple[str, Any], ...] = ()
    keyword_only: tuple[tuple[str, Any], ...] = BASE_KEYWORDS

    def __init__(self, args: dict[str, Any], spec: str):
        self.args = args
        self.spec = spec
        self.validate()

    @classmethod
    def default_name(cls) -> str:
        return _snake_case(cls.type_name)

    @property
    def name(self) -> str | None:
        return self.args.get("name")

    @property
    def data_format(self) -> str | None:
        return self.args.get("data_format")

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        return self.args.get("input_shape")

    def validate(self) -> None:
        """Rules between arguments (each argument alone is checked by CHECKS)."""

    def compute(self, input_shape: tuple[int, ...], data_format: str) -> LayerShape:
        raise NotImplementedError

    def __getattr__(self, item: str) -> Any:
        try:
            return self.__dict__["args"][item]
        except KeyError:
            raise AttributeError(item) from None


class _Conv(Layer):
    """Shared by Conv2D and Conv2DTranspose: image axes and channels."""

    def validate(self) -> None:
        strides, dilation = self.args["strides"], self.args["dilation_rate"]
        if max(strides) > 1 and max(dilation) > 1:
            raise ConvcalcError(
                f"strides > 1 is not supported together with dilation_rate > 1 "
                f"(Keras rule); got strides={strides} and dilation_rate={dilation}."
            )

    def _split(self, shape: tuple[int, ...], data_format: str) -> tuple[tuple[int, int], int]:
        if len(shape) != 3:
            order = "(height, width, channels)" if data_format == "channels_last" else "(channels, height, width)"
            raise ConvcalcError(
                f"{self.type_name} needs an input of 3 sizes {order} besides the batch; "
                f"got {len(shape)}: {shape}."
            )
        if data_format == "channels_last":
            return (shape[0], shape[1]), shape[2]
        return (shape[1], shape[2]), shape[0]

    @staticmethod
    def _join(spatial: tuple[int, int], channels: int, data_format: str) -> tuple[int, ...]:
        return (*spatial, channels) if data_format == "channels_last" else (channels, *spatial)

    def _check_output(self, spatial_in, spatial_out, data_format) -> None:
        if min(spatial_out) > 0:
            return
        a = self.args
        spans = tuple(formulas.effective_kernel(k, d) for k, d in zip(a["kernel_size"], a["dilation_rate"]))
        raise ConvcalcError(
            f"the output size would be {spatial_out[0]}x{spatial_out[1]}, which is not positive: "
            f"the input is {spatial_in[0]}x{spatial_in[1]} and the kernel spans {spans[0]}x{spans[1]} "
            f"(kernel_size={a['kernel_size']}, dilation_rate={a['dilation_rate']}, "
            f"strides={a['strides']}, padding={a['padding']!r})."
        )


class Conv2D(_Conv):
    """``keras.layers.Conv2D``: cross-correlation over height and width."""

    type_name = "Conv2D"
    signature = (
        ("filters", REQUIRED),
        ("kernel_size", REQUIRED),
        ("strides", 1),
        ("padding", "valid"),
        ("data_format", None),
        ("dilation_rate", 1),
        ("groups", 1),
        ("activation", None),
        ("use_bias", True),
        ("kernel_initializer", "glorot_uniform"),
        ("bias_initializer", "zeros"),
        ("kernel_regularizer", None),
        ("bias_regularizer", None),
        ("activity_regularizer", None),
        ("kernel_constraint", None),
        ("bias_constraint", None),
    )
    keyword_only = (("lora_rank", None), ("lora_alpha", None)) + BASE_KEYWORDS

    def validate(self) -> None:
        filters, groups = self.args["filters"], self.args["groups"]
        if filters % groups:
            raise ConvcalcError(
                f"filters must be evenly divisible by groups; got filters={filters}, groups={groups}."
            )
        super().validate()

    def compute(self, input_shape: tuple[int, ...], data_format: str) -> LayerShape:
        a = self.args
        spatial, channels = self._split(input_shape, data_format)
        if channels % a["groups"]:
            raise ConvcalcError(
                f"the input's {channels} channels must be evenly divisible by groups={a['groups']} "
                f"(input shape {input_shape}, {data_format})."
            )
        axes = list(zip(spatial, a["kernel_size"], a["strides"], a["dilation_rate"]))
        out = tuple(formulas.conv_output_length(n, k, s, a["padding"], d) for n, k, s, d in axes)
        self._check_output(spatial, out, data_format)
        padding = tuple(formulas.conv_padding(n, k, s, a["padding"], d) for n, k, s, d in axes)
        kernel = formulas.conv_kernel_shape(a["kernel_size"], channels, a["filters"], a["groups"])
        trainable, frozen = formulas.conv_params(kernel, a["filters"], a["use_bias"], a["lora_rank"])
        return _shape(self, self._join(out, a["filters"], data_format), padding, kernel, trainable, frozen)


class Conv2DTranspose(_Conv):
    """``keras.layers.Conv2DTranspose``: the gradient of Conv2D, upsampling."""

    type_name = "Conv2DTranspose"
    signature = (
        ("filters", REQUIRED),
        ("kernel_size", REQUIRED),
        ("strides", 1),
        ("padding", "valid"),
        ("output_padding", None),
        ("data_format", None),
        ("dilation_rate", 1),
        ("activation", None),
        ("use_bias", True),
        ("kernel_initializer", "glorot_uniform"),
        ("bias_initializer", "zeros"),
        ("kernel_regularizer", None),
        ("bias_regularizer", None),
        ("activity_regularizer", None),
        ("kernel_constraint", None),
        ("bias_constraint", None),
    )

    def validate(self) -> None:
        op, strides = self.args["output_padding"], self.args["strides"]
        if op is not None:
            for axis, (p, s) in enumerate(zip(op, strides)):
                if p >= s:
                    raise ConvcalcError(
                        f"output_padding must be smaller than strides on every axis (Keras rule); "
                        f"on axis {axis} output_padding is {p} and strides is {s} "
                        f"(output_padding={op}, strides={strides})."
                    )
        super().validate()

    def compute(self, input_shape: tuple[int, ...], data_format: str) -> LayerShape:
        a = self.args
        spatial, channels = self._split(input_shape, data_format)
        ops = a["output_padding"] or (None, None)
        axes = list(zip(spatial, a["kernel_size"], a["strides"], ops, a["dilation_rate"]))
        out = tuple(
            formulas.conv_transpose_output_length(n, k, s, a["padding"], p, d) for n, k, s, p, d in axes
        )
        self._check_output(spatial, out, data_format)
        padding = tuple(formulas.conv_transpose_padding(k, s, a["padding"], p, d) for _, k, s, p, d in axes)
        kernel = formulas.conv_transpose_kernel_shape(a["kernel_size"], channels, a["filters"])
        trainable, frozen = formulas.conv_params(kernel, a["filters"], a["use_bias"])
        return _shape(self, self._join(out, a["filters"], data_format), padding, kernel, trainable, frozen)


def _shape(layer: Layer, output, padding, kernel, trainable: int, frozen: int) -> LayerShape:
    # trainable=False moves every weight of the layer to non-trainable, as in Keras.
    if not layer.args["trainable"]:
        trainable, frozen = 0, trainable + frozen
    return LayerShape(tuple(output), tuple(padding), tuple(kernel), trainable, frozen)


LAYER_TYPES: dict[str, type[Layer]] = {cls.type_name: cls for cls in (Conv2D, Conv2DTranspose)}
ALIASES = {
    "Convolution2D": "Conv2D",
    "Convolution2DTranspose": "Conv2DTranspose",
    "Deconvolution2D": "Conv2DTranspose",
    "Deconv2D": "Conv2DTranspose",
    "AtrousConvolution2D": "Conv2D",
}
KERAS1_NAMES = frozenset({"Convolution2D", "Deconvolution2D", "AtrousConvolution2D"})


def known_layer_names() -> list[str]:
    """Every layer name convcalc accepts, canonical names first."""
    return sorted(LAYER_TYPES) + sorted(ALIASES)


def build_layer(call: Call) -> Layer:
    """Turn a parsed call into a validated layer (binding, Keras 1 names, checks).

    >>> from convcalc.parse import parse_call
    >>> layer = build_layer(parse_call("Conv2D(10, 8, padding='same')"))
    >>> layer.kernel_size, layer.strides, layer.padding
    ((8, 8), (1, 1), 'same')
    """
    if call.prefix not in LAYER_PREFIXES:
        raise ConvcalcError(f"{call.func!r} is not a Keras layer; known layers: {', '.join(known_layer_names())}.")
    name = ALIASES.get(call.short, call.short)
    cls = LAYER_TYPES.get(name)
    if cls is None:
        close = difflib.get_close_matches(call.short, known_layer_names(), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ConvcalcError(
            f"{call.short!r} is not a layer convcalc knows; {hint}known layers: {', '.join(known_layer_names())}."
        )
    return cls(_bind(cls, call), call.text)


def _bind(cls: type[Layer], call: Call) -> dict[str, Any]:
    """Keras's argument binding: positionals in order, then keywords, then defaults."""
    keywords = dict(call.kwargs)
    positional = list(call.args)
    legacy = call.short in KERAS1_NAMES and len(positional) >= 3
    if legacy or any(k in KERAS1_KEYWORDS or k in ("nb_row", "nb_col") for k in keywords):
        positional, keywords = _from_keras1(cls, call, positional, keywords)

    order = [name for name, _ in cls.signature]
    if len(positional) > len(order):
        raise ConvcalcError(
            f"{cls.type_name} takes at most {len(order)} positional arguments "
            f"({', '.join(order[:3])}, ...); got {len(positional)}."
        )
    bound = dict(zip(order, positional))
    known = dict(cls.signature + cls.keyword_only)
    for key, value in keywords.items():
        if key not in known:
            close = difflib.get_close_matches(key, list(known) + list(KERAS1_KEYWORDS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConvcalcError(f"{cls.type_name} got an unknown argument {key!r}{hint}.")
        if key in bound:
            raise ConvcalcError(f"{cls.type_name} got argument {key!r} twice (by position and by keyword).")
        bound[key] = value
    args = {}
    for key, default in known.items():
        value = bound.get(key, default)
        if value is REQUIRED:
            raise ConvcalcError(f"{cls.type_name} is missing the required argument {key!r}.")
        args[key] = CHECKS[key](value, key)
    return args


def _from_keras1(cls, call: Call, positional: list, keywords: dict) -> tuple[list, dict]:
    """Map Keras 1 spellings (``nb_filter``, ``nb_row``, ``border_mode``, ...) to Keras 3."""
    if call.short in KERAS1_NAMES and len(positional) >= 3:
        if len(positional) > len(KERAS1_POSITIONAL):
            raise ConvcalcError(f"{call.short} (Keras 1) takes at most {len(KERAS1_POSITIONAL)} positional arguments.")
        for key, value in zip(KERAS1_POSITIONAL, positional):
            if key in keywords:
                raise ConvcalcError(f"{call.short} got argument {key!r} twice (by position and by keyword).")
            keywords[key] = value
        positional = []
    if "weights" in keywords:
        if keywords.pop("weights") is not None:
            raise ConvcalcError("weights= is not supported in a spec; use --weights FILE.npz with --run.")
    rows, cols = keywords.pop("nb_row", None), keywords.pop("nb_col", None)
    if (rows is None) != (cols is None):
        raise ConvcalcError("nb_row and nb_col (Keras 1) must be given together.")
    if rows is not None:
        if "kernel_size" in keywords:
            _twice("kernel_size", "nb_row/nb_col")
        keywords["kernel_size"] = (rows, cols)
    for old, new in KERAS1_KEYWORDS.items():
        if old in keywords:
            if new in keywords:
                _twice(new, old)
            value = keywords.pop(old)
            if old == "dim_ordering":
                if value not in DIM_ORDERING:
                    raise ConvcalcError(f"dim_ordering must be 'th', 'tf' or 'default'; got dim_ordering={value!r}.")
                value = DIM_ORDERING[value]
            keywords[new] = value
    return positional, keywords


def _twice(new: str, old: str) -> None:
    raise ConvcalcError(f"{new!r} is given twice: as {new} and as its Keras 1 spelling {old}.")
