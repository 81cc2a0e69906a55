"""The layers convcalc knows, by Keras name, and how a spec's call becomes one.

:func:`build_layer` binds a :class:`~convcalc.parse.Call`'s positional and
keyword arguments in Keras 3's order, maps the Keras 1/2 spellings, and
checks every argument with Keras 3's rules.  The layer classes live in one
module per family (``convolution``, ``pooling``, ``reshaping``,
``normalization``, ``core_layers``, ``merging``).
"""

from __future__ import annotations

import importlib
from typing import Any

from .arguments import ACTIVATIONS, CHECKS, DATA_FORMATS, check_range  # noqa: F401 - the names other modules use
from .errors import ConvcalcError
from .layer_base import REQUIRED, Layer, LayerShape  # noqa: F401
from .parse import LAYER_PREFIXES, Call, Reference, shown, suggest

from .registry import ALIASES, FAMILIES, FAMILY_OF, KERAS1_NAMES, TORCH_PREFIXES, known_layer_names  # noqa: F401


def layer_class(name: str) -> type[Layer] | None:
    """The class of a canonical layer name, importing its family on first use."""
    family = FAMILY_OF.get(name)
    if family is None:
        return None
    module = importlib.import_module(f"convcalc.{family}")
    return next(cls for cls in module.LAYERS if cls.type_name == name)
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



def build_layer(call: Call) -> Layer:
    """Turn a parsed call into a validated layer (binding, Keras 1 names, checks).

    >>> from convcalc.parse import parse_call
    >>> layer = build_layer(parse_call("Conv2D(10, 8, padding='same')"))
    >>> layer.kernel_size, layer.strides, layer.padding
    ((8, 8), (1, 1), 'same')
    """
    if call.prefix in TORCH_PREFIXES:  # nn.Conv2d(...): PyTorch's arguments and rules
        from .torch_layers import build_torch_layer

        return build_torch_layer(call)
    if call.prefix not in LAYER_PREFIXES:
        raise ConvcalcError(f"{shown(call.func)} is not a Keras layer; write it as Conv2D, layers.Conv2D or "
                            "keras.layers.Conv2D (the README lists every layer convcalc knows).")
    name = ALIASES.get(call.short, call.short)
    cls = layer_class(name)
    if cls is None:
        hint = suggest(call.short, known_layer_names())
        raise ConvcalcError(
            f"{shown(call.short)} is not a layer convcalc knows{hint}: if it is a custom layer, its output shape cannot "
            f"be known without its code. convcalc knows the {len(known_layer_names())} Keras 3 built-in layer names "
            "(Conv1D/2D/3D and their transposes, Dense, pooling, normalization, merges, preprocessing, ...; "
            "the README lists them)."
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
    known = cls.arguments()
    for key, value in keywords.items():
        if key not in known:
            hint = suggest(key, list(known) + list(KERAS1_KEYWORDS))
            raise ConvcalcError(f"{cls.type_name} got an unknown argument {shown(key)}{hint}.")
        if key in bound:
            raise ConvcalcError(f"{cls.type_name} got argument {key!r} twice (by position and by keyword).")
        bound[key] = value
    args = {}
    for key, default in known.items():
        value = bound.get(key, default)
        if value is REQUIRED:
            raise ConvcalcError(f"{cls.type_name} is missing the required argument {key!r}.")
        check_range(value, key)
        try:
            args[key] = cls.check(key)(value, key)
        except ConvcalcError as error:
            raise _quoting_hint(error, key, value) from None
    return args


def _bare_names(value: Any) -> list[str]:
    if isinstance(value, Reference):
        return [value.dotted]
    if isinstance(value, tuple):
        return [name for item in value for name in _bare_names(item)]
    return []


def _quoting_hint(error: ConvcalcError, key: str, value: Any) -> ConvcalcError:
    """A bare name refused where a string was expected: the shell ate the quotes (``padding=same``)."""
    names = _bare_names(value)
    if not names:
        return error
    text = shown(value).replace("'", "")
    quoted = f"{key}={shown(names[0])}" if isinstance(value, Reference) else f"the names in {key}={text} in quotes"
    return ConvcalcError(
        f"{error.message.rstrip('.')}. {key}={text} holds a bare name, not a string: the shell may have eaten "
        f"the quotes; write {quoted} and quote the whole spec for the shell, like \"Conv2D(8, 3, padding='same')\".",
        error.where,
    )


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
        if old in keywords and new in cls.arguments():
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
