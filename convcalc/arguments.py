"""Keras constructor arguments: the names Keras knows and one check per argument.

Each check takes ``(value, argument name)`` and returns the value in normal
form (``3`` -> ``(3, 3)``) or raises :class:`ConvcalcError` with a message
that echoes the value.  ``CHECKS`` maps argument names to their usual check;
a layer class may override a name whose meaning differs (``padding`` of
ZeroPadding2D is a size, not a mode).
"""

from __future__ import annotations

from typing import Any, Callable

from . import initializers
from .errors import ConvcalcError
from .parse import MAX_INT, MAX_INT_TEXT, Call, Reference, shown, suggest

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


# --- argument checks: each takes (value, argument name) and returns the normal form


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_range(value: Any, name: str, depth: int = 0) -> None:
    """Every integer in a value (nested tuples and calls too) must fit int64, as sizes and seeds do in Keras.

    Specs are bounded where they are parsed; this holds the same bound for values from model configs.
    """
    if is_int(value):
        if not -MAX_INT - 1 <= value <= MAX_INT:
            raise ConvcalcError(f"{name}={shown(value)} is out of range: integers are at most {MAX_INT_TEXT}"
                                + (", and no size can be larger." if value > 0 else " in magnitude."))
    elif isinstance(value, (tuple, list)) and depth < 50:
        for item in value:
            check_range(item, name, depth + 1)
    elif isinstance(value, Call) and depth < 50:
        for item in (*value.args, *(v for _, v in value.kwargs)):
            check_range(item, name, depth + 1)


def int_tuple(value: Any, name: str, allow_zero: bool = False, n: int = 2) -> tuple[int, ...]:
    """Keras's ``standardize_tuple``: an int or ``n`` ints, all > 0 (or >= 0)."""
    if is_int(value):
        values = (value,) * n
    elif isinstance(value, tuple) and len(value) == n and all(is_int(v) for v in value):
        values = value
    else:
        raise ConvcalcError(f"{name} must be an integer or a tuple of {n} integers; got {name}={shown(value)}.")
    least = 0 if allow_zero else 1
    if any(v < least for v in values):
        if not allow_zero and 0 in values and all(v >= 0 for v in values):
            raise ConvcalcError(f"{name} cannot contain 0; got {name}={shown(value)}.")
        rule = ">= 0" if allow_zero else "> 0"
        raise ConvcalcError(f"every {name} value must be {rule}; got {name}={shown(value)}.")
    return values


def check_positive_int(value: Any, name: str) -> int:
    if not is_int(value):
        raise ConvcalcError(f"{name} must be a positive integer; got {name}={shown(value)}.")
    if value <= 0:
        raise ConvcalcError(f"{name} must be a strictly positive integer; got {name}={shown(value)}.")
    return value


def check_optional_positive_int(value: Any, name: str) -> int | None:
    return None if value is None else check_positive_int(value, name)


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConvcalcError(f"{name} must be True or False; got {name}={shown(value)}.")
    return value


def check_padding(value: Any, name: str) -> str:
    if isinstance(value, str) and value.lower() in ("valid", "same"):
        return value.lower()
    raise ConvcalcError(f"{name} must be 'valid' or 'same'; got {name}={shown(value)}.")


def check_data_format(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.lower() in DATA_FORMATS:
        return value.lower()
    raise ConvcalcError(
        f"{name} must be 'channels_last' or 'channels_first'; got {name}={shown(value)}."
    )


def named(kind: str, known: frozenset[str], allow_reference: bool = False) -> Callable[[Any, str], Any]:
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
            raise ConvcalcError(f"{name} must be the name of a Keras {kind}; got {name}={shown(value)}.")
        if short in UNSUPPORTED.get(kind, {}):
            raise ConvcalcError(f"{name}={shown(value)} is not supported: {UNSUPPORTED[kind][short]}.")
        if short not in known:
            hint = suggest(short, sorted(known))
            raise ConvcalcError(f"{name}={shown(value)} is not a Keras {kind}{hint}.")
        return value

    return check


UNSUPPORTED = {"activation": UNSUPPORTED_ACTIVATIONS}


def check_initializer(value: Any, name: str) -> Any:
    value = named("initializer", initializers.NAMES)(value, name)
    if value is not None:
        initializers.resolve(value, name)
    return value


def check_number_or_none(value: Any, name: str) -> Any:
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    raise ConvcalcError(f"{name} must be a number or None; got {name}={shown(value)}.")


def check_name(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or "/" in value or not value:
        raise ConvcalcError(f"name must be a non-empty string without '/'; got name={shown(value)}.")
    return value


def check_dtype(value: Any, name: str) -> Any:
    if value is None or (isinstance(value, str) and value in DTYPES):
        return value
    raise ConvcalcError(f"dtype={shown(value)} is not a Keras dtype policy such as 'float32'.")


def check_input_shape(value: Any, name: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, tuple) or not value or not all(is_int(v) and v > 0 for v in value):
        raise ConvcalcError(f"{name} must be a tuple of positive sizes without the batch; got {name}={shown(value)}.")
    return value


def check_input_dim(value: Any, name: str) -> None:
    if value is None:
        return None
    raise ConvcalcError(
        f"input_dim={shown(value)} gives a 1-D input, but this layer needs (height, width, channels); "
        "use input_shape=(...) or --input."
    )


def tuple_of(n: int, allow_zero: bool = False) -> Callable[[Any, str], tuple[int, ...]]:
    """A check for an int or ``n`` ints (Keras's ``standardize_tuple``)."""
    return lambda value, name: int_tuple(value, name, allow_zero=allow_zero, n=n)


def optional_tuple_of(n: int, allow_zero: bool = False) -> Callable[[Any, str], tuple[int, ...] | None]:
    return lambda value, name: None if value is None else int_tuple(value, name, allow_zero=allow_zero, n=n)


def check_number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConvcalcError(f"{name} must be a number; got {name}={shown(value)}.")
    return value


def check_rate(value: Any, name: str) -> float:
    """Dropout rates: a number in [0, 1]."""
    value = check_number(value, name)
    if not 0 <= value <= 1:
        raise ConvcalcError(f"{name} must be between 0 and 1; got {name}={shown(value)}.")
    return value


def check_optional_int(value: Any, name: str) -> int | None:
    if value is None or is_int(value):
        return value
    raise ConvcalcError(f"{name} must be an integer or None; got {name}={shown(value)}.")


def check_int(value: Any, name: str) -> int:
    if is_int(value):
        return value
    raise ConvcalcError(f"{name} must be an integer; got {name}={shown(value)}.")


def check_axes(value: Any, name: str) -> int | tuple[int, ...]:
    """An axis or a tuple/list of axes (integers, negative counting from the end)."""
    if is_int(value) or (isinstance(value, tuple) and value and all(is_int(v) for v in value)):
        return value
    raise ConvcalcError(f"{name} must be an integer or a list of integers; got {name}={shown(value)}.")


def check_string(choices: tuple[str, ...], lower: bool = False) -> Callable[[Any, str], str]:
    def check(value: Any, name: str) -> str:
        text = value.lower() if lower and isinstance(value, str) else value
        if text in choices:
            return text
        raise ConvcalcError(f"{name} must be one of {', '.join(map(repr, choices))}; got {name}={shown(value)}.")

    return check


def check_any_literal(value: Any, name: str) -> Any:
    """Arguments that change no shape (``seed``, ``noise_shape``, ...): any literal."""
    return value


def check_side_pairs(what: str, allow_negative: bool = False) -> Callable[[Any, str], tuple[tuple[int, int], tuple[int, int]]]:
    """ZeroPadding2D / Cropping2D amounts: ``n``, ``(h, w)`` or ``((top, bottom), (left, right))``."""

    def check(value: Any, name: str) -> tuple[tuple[int, int], tuple[int, int]]:
        if is_int(value):
            if value < 0:
                raise ConvcalcError(f"{name} cannot be negative; got {name}={shown(value)}.")
            return ((value, value), (value, value))
        if isinstance(value, tuple) and len(value) == 2:
            pairs = tuple(int_tuple(v, f"{name} entry {i + 1}", allow_zero=True) for i, v in enumerate(value))
            return pairs
        raise ConvcalcError(
            f"{name} must be an int, a tuple of 2 ints (symmetric {what} of height and width), "
            f"or a tuple of 2 tuples of 2 ints ((top, bottom), (left, right)); got {name}={shown(value)}."
        )

    return check


CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "filters": check_positive_int,
    "kernel_size": tuple_of(2),
    "strides": tuple_of(2),
    "dilation_rate": tuple_of(2),
    "padding": check_padding,
    "output_padding": optional_tuple_of(2, allow_zero=True),
    "data_format": check_data_format,
    "groups": check_positive_int,
    "depth_multiplier": check_positive_int,
    "activation": named("activation", ACTIVATIONS, allow_reference=True),
    "use_bias": check_bool,
    "lora_rank": check_optional_positive_int,
    "lora_alpha": check_number_or_none,
    "name": check_name,
    "trainable": check_bool,
    "dtype": check_dtype,
    "autocast": check_bool,
    "input_shape": check_input_shape,
    "input_dim": check_input_dim,
    "seed": check_optional_int,
    "rate": check_rate,
    "keepdims": check_bool,
    "center": check_bool,
    "scale": check_bool,
    "epsilon": check_number,
    "momentum": check_number,
}
for _name in ("kernel", "bias", "depthwise", "pointwise", "beta", "gamma", "moving_mean", "moving_variance", "alpha"):
    CHECKS[f"{_name}_initializer"] = check_initializer
    CHECKS[f"{_name}_regularizer"] = named("regularizer", REGULARIZERS)
    CHECKS[f"{_name}_constraint"] = named("constraint", CONSTRAINTS)
CHECKS["activity_regularizer"] = named("regularizer", REGULARIZERS)

# Keyword arguments every Keras 3 layer takes (``Layer.__init__``).
BASE_KEYWORDS = (
    ("activity_regularizer", None),
    ("name", None),
    ("trainable", True),
    ("dtype", None),
    ("autocast", True),
    ("input_shape", None),
    ("input_dim", None),
)



def check_groups(value: Any, name: str) -> int:
    """GroupNormalization's ``groups``: a positive integer, or -1 for one group per channel."""
    if not is_int(value) or (value <= 0 and value != -1):
        raise ConvcalcError(f"{name} must be a positive integer (or -1 for instance normalization); got {name}={shown(value)}.")
    return value


def check_factor(low: float, high: float, each: bool = False, open_low: bool = False) -> Callable[[Any, str], Any]:
    """An augmentation factor: a number, or 2 numbers, within Keras's bounds for the layer.

    Keras's base rule (``each=False``) checks a pair only as a range that must
    overlap ``[low, high]``; RandomZoom and RandomTranslation (``each=True``)
    check both numbers.  ``None`` is 0 under the base rule.
    """

    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    def inside(v: Any) -> bool:
        return number(v) and (v > low if open_low else v >= low) and v <= high

    def check(value: Any, name: str) -> Any:
        if value is None and not each:
            return value
        if isinstance(value, tuple) and len(value) == 2 and all(number(v) for v in value):
            if (all(inside(v) for v in value) if each else not (value[0] > high or value[1] < low)):
                return value
        elif inside(value):
            return value
        bounds = f"{'(' if open_low else '['}{low}, {high}]"
        raise ConvcalcError(f"{name} must be a number or a list of 2 numbers in the range {bounds}; got {name}={shown(value)}.")

    return check


def check_value_range(value: Any, name: str) -> tuple:
    """``value_range`` of image layers: a list of 2 numbers (Keras does not check their order)."""
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return value
    raise ConvcalcError(f"{name} must be a list of 2 numbers (low, high); got {name}={shown(value)}.")
