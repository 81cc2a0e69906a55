"""Read what the user types: layer calls, input shapes.

Layer specs are Python call expressions (``Conv2D(10, 8, padding='same')``)
read with :mod:`ast`; nothing is ever evaluated.  Argument values may be
literals (numbers, strings, booleans, ``None``, tuples and lists of them),
dotted names such as ``tf.nn.relu`` (kept as a :class:`Reference`, for
arguments like ``activation``) or nested calls of literals such as
``initializers.Constant(2.0)`` (kept as a :class:`Call`).  Which of those an
argument accepts is decided by ``convcalc.layers``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from .errors import ConvcalcError, did_you_mean as suggest  # noqa: F401 - the name the parser's users import

MAX_SPEC_LENGTH = 5000
MAX_NESTING = 8
# The largest integer a spec may hold: int64, the type of every size, count and seed in Keras
# tensors.  A larger value cannot be a size Keras allocates, so it is refused where it is read.
MAX_INT = 2**63 - 1
MAX_INT_TEXT = "2**63 - 1 (9223372036854775807, the largest int64)"

# Module paths a layer class may be written with (``keras.layers.Conv2D``).
LAYER_PREFIXES = frozenset(
    {
        "",
        "layers",
        "keras.layers",
        "tf.keras.layers",
        "tensorflow.keras.layers",
        "keras.src.layers",
        "tf.layers",
    }
)


@dataclass(frozen=True)
class Reference:
    """A dotted name used as a value, such as ``tf.nn.relu``; never looked up."""

    dotted: str

    @property
    def short(self) -> str:
        return self.dotted.rsplit(".", 1)[-1]

    def __repr__(self) -> str:
        return self.dotted


@dataclass(frozen=True)
class Call:
    """A call expression: dotted function name, literal arguments, source text."""

    func: str
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]
    text: str

    @property
    def short(self) -> str:
        """The name without its module prefix: ``Conv2D`` for ``keras.layers.Conv2D``."""
        return self.func.rsplit(".", 1)[-1]

    @property
    def prefix(self) -> str:
        return self.func.rpartition(".")[0]

    def __repr__(self) -> str:
        return self.text


def shown(value: Any, limit: int = 80) -> str:
    """``repr`` for messages: short, and never converting a huge integer to decimal.

    >>> shown((3, 10**400)), shown("x" * 100, 20)
    ('(3, <an integer of 401 digits>)', "'xxxxxxxxxxxxxxxx...")
    """
    text = _shown(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shown(value: Any, depth: int = 0) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<an integer of {digit_count(value)} digits>"
    if isinstance(value, (tuple, list)) and depth < MAX_NESTING + 2:
        items = ", ".join(_shown(item, depth + 1) for item in value[:20])
        items += ", ..." if len(value) > 20 else ("," if len(value) == 1 and isinstance(value, tuple) else "")
        return f"({items})" if isinstance(value, tuple) else f"[{items}]"
    try:
        return repr(value)
    except ValueError:  # an int past Python's digit limit inside some other object
        return f"<{type(value).__name__}>"


def digit_count(value: int) -> int:
    """Decimal digits of ``abs(value)``, without converting it to text (which Python refuses past 4300 digits).

    >>> digit_count(10**400), digit_count(999), digit_count(-1)
    (401, 3, 1)
    """
    value = abs(value)
    estimate = max(1, int(value.bit_length() * 0.30102999566398120))  # log10(2)
    while 10**estimate <= value:
        estimate += 1
    while estimate > 1 and 10 ** (estimate - 1) > value:
        estimate -= 1
    return estimate


def parse_call(text: str) -> Call:
    """Parse one layer spec into a :class:`Call`, without evaluating anything.

    >>> c = parse_call("keras.layers.Conv2D(10, (8, 8), padding='same')")
    >>> c.short, c.args, c.kwargs
    ('Conv2D', (10, (8, 8)), (('padding', 'same'),))
    """
    source = text.strip()
    if not source:
        raise ConvcalcError("the layer spec is empty; write a Keras call such as Conv2D(16, 3).")
    if len(source) > MAX_SPEC_LENGTH:
        raise ConvcalcError(
            f"the layer spec is {len(source)} characters long; the limit is {MAX_SPEC_LENGTH}."
        )
    if _SHAPE_FRAGMENT.match(source):
        raise ConvcalcError(
            f"{shown(source)} is a number or part of a shape, not a layer call: if it was meant for --input, "
            "the shell split the input into words; write --input 32x32x3 (or quote it: --input '(32, 32, 3)')."
        )
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ConvcalcError(_syntax_message(source, exc)) from None
    except (RecursionError, MemoryError, ValueError):
        raise ConvcalcError("the layer spec cannot be read (too deeply nested or not text).") from None
    node = tree.body
    # Pasted functional code: ``Conv2D(8, 3)(x)`` applies the layer to a tensor.
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Call):
        if all(isinstance(a, ast.Name) for a in node.args) and not node.keywords:
            node = node.func
    if not isinstance(node, ast.Call):
        raise ConvcalcError(
            f"{shown(source)} is not a layer call; write a Keras call such as Conv2D(16, 3)."
        )
    return _call(node, source, depth=0)


# What the shell leaves of an unquoted --input 32 32 3 or (32, 32, 3): numbers, x, commas, brackets.
_SHAPE_FRAGMENT = re.compile(r"^[\s(\[]*[-+]?\d+(?:\s*[x,*]\s*[-+]?\d*)*[\s,)\]]*$", re.IGNORECASE)
_QUOTE_HINT = "quote the whole spec for the shell, like \"Conv2D(16, 3, padding='same')\""


def _syntax_message(source: str, exc: SyntaxError) -> str:
    """Python's reason, and the likely cause when the shell mangled the spec."""
    reason = exc.msg or "invalid syntax"
    if "Exceeds the limit" in reason and "integer" in reason:
        return (f"the spec holds an integer of more than 4300 digits; integers in a spec are at most {MAX_INT_TEXT}, "
                "and no size can be larger.")
    where = f" at column {exc.offset}" if exc.offset else ""
    message = f"the spec is not valid Python call syntax ({reason[:200]}{where})"
    if "\\" in source:
        return (f"{message}: it holds backslashes, which the shell passed on (as in Conv2D\\(8, 3\\)); "
                f"write no backslashes and {_QUOTE_HINT}.")
    if ("never closed" in reason or "unmatched" in reason or "unexpected EOF" in reason
            or source.count("(") != source.count(")")):
        return (f"{message}: its brackets do not match; if the shell split the spec at its spaces, "
                f"{_QUOTE_HINT}.")
    return f"{message}; write a Keras call such as Conv2D(16, 3, padding='same') and {_QUOTE_HINT}."


def _call(node: ast.Call, source: str, depth: int) -> Call:
    func = _dotted(node.func)
    if func is None:
        raise ConvcalcError(
            f"{shown(_segment(source, node.func))} is not a layer name; write a name such as Conv2D."
        )
    args = []
    for position, arg in enumerate(node.args, start=1):
        if isinstance(arg, ast.Starred):
            raise ConvcalcError(f"{func}(): *args are not supported; write the arguments out.")
        args.append(_value(arg, source, depth + 1, f"positional argument {position}"))
    kwargs = []
    seen = set()
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ConvcalcError(f"{func}(): **kwargs are not supported; write the arguments out.")
        if keyword.arg in seen:  # ast accepts it; Python's compiler refuses it
            raise ConvcalcError(
                f"{func}() is given {keyword.arg}= twice (Python refuses it: keyword argument repeated: "
                f"{keyword.arg}); keep one {keyword.arg}=."
            )
        seen.add(keyword.arg)
        kwargs.append((keyword.arg, _value(keyword.value, source, depth + 1, f"argument {keyword.arg}")))
    text = _segment(source, node) or source
    return Call(func, tuple(args), tuple(kwargs), text)


def _value(node: ast.AST, source: str, depth: int, what: str) -> Any:
    if depth > MAX_NESTING:
        raise ConvcalcError(f"{what} is nested more than {MAX_NESTING} levels deep.")
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (bool, int, float, str)) or node.value is None:
            return _number(node.value, what)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = node.operand
        if isinstance(operand, ast.Constant) and type(operand.value) in (int, float):
            return _number(-operand.value if isinstance(node.op, ast.USub) else operand.value, what)
    elif isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_value(item, source, depth + 1, what) for item in node.elts)
    elif isinstance(node, ast.Call):
        return _call(node, source, depth)
    elif isinstance(node, (ast.Name, ast.Attribute)):
        dotted = _dotted(node)
        if dotted is not None:
            return Reference(dotted)
    raise ConvcalcError(
        f"{what} is {shown(_segment(source, node))}, which is not a literal; convcalc reads "
        "numbers, strings, True/False/None, tuples and lists, and never evaluates code."
    )


def _number(value: Any, what: str) -> Any:
    """A literal within the bounds every value must keep: int64 integers, finite floats."""
    if isinstance(value, int) and not isinstance(value, bool) and not -MAX_INT - 1 <= value <= MAX_INT:
        raise ConvcalcError(
            f"{what} is {shown(value)}, out of range: integers in a spec are at most {MAX_INT_TEXT}"
            + (", and no size can be larger." if value > 0 else " in magnitude.")
        )
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise ConvcalcError(f"{what} is too large for a float (the largest is about 1.8e308).")
    return value


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _segment(source: str, node: ast.AST) -> str:
    return ast.get_source_segment(source, node) or ast.dump(node)[:60]


_SIZE_TOKEN = r"(?:[-+]?\d+|None|\?)"
_SHAPE = re.compile(rf"^\s*[(\[]?\s*({_SIZE_TOKEN}(?:\s*[x,]\s*{_SIZE_TOKEN})*)\s*,?\s*[)\]]?\s*$", re.IGNORECASE)
MAX_SHAPE_LENGTH = 200


def parse_shape(text: str, what: str = "--input") -> tuple[int | None, ...]:
    """Parse an input shape without the batch axis: ``32x32x3``, ``32,32,3``, ``(32, 32, 3)``;
    an unknown size is ``None`` or ``?``, as ``keras.Input(shape=(None, None, 3))``; ``()`` is a scalar per sample.

    >>> parse_shape("32x32x3"), parse_shape("(1, 32, 32)"), parse_shape("[8,8,3]"), parse_shape("?x?x3"), parse_shape("()")
    ((32, 32, 3), (1, 32, 32), (8, 8, 3), (None, None, 3), ())
    """
    if not isinstance(text, str):
        raise ConvcalcError(f"{what} must be a shape written as text, like \"32x32x3\"; got {shown(text)}.")
    if text.strip() in ("()", "[]"):  # one number per sample, as keras.Input(shape=())
        return ()
    match = _SHAPE.match(text) if len(text) <= MAX_SHAPE_LENGTH else None
    if not match:
        hint = ""
        if len(text) > MAX_SHAPE_LENGTH:
            hint = f" (it is {len(text)} characters long; the limit is {MAX_SHAPE_LENGTH})"
        elif re.fullmatch(r"[\s\d]+", text) and len(text.split()) > 1:
            hint = " (sizes separated by spaces)"
        elif re.search(r"true|false", text, re.IGNORECASE):
            hint = " (True/False is not a size)"
        elif re.fullmatch(r"\s*[(\[]?\s*[x,]?\s*\d+(?:\s*[x,]\s*\d+)*\s*[x,]?\s*[)\]]?\s*", text, re.IGNORECASE):
            hint = " (it begins or ends with a separator: if the shell split it at spaces, write it whole, as 32x32x3)"
        raise ConvcalcError(
            f"{what} {shown(text)} is not a shape{hint}; write it without the batch axis, "
            "like 32x32x3, 32,32,3 or (32, 32, 3)."
        )
    parts = re.split(r"\s*[x,]\s*", match.group(1), flags=re.IGNORECASE)
    sizes = tuple(None if part.lower() in ("none", "?") else int(part) for part in parts)
    for size in sizes:
        if size is not None and size <= 0:
            kind = "0" if size == 0 else f"a negative size, {size}"
            raise ConvcalcError(f"{what} {shown(text)} has {'a size of ' if size == 0 else ''}{kind}; "
                                "every size must be at least 1.")
        if size is not None and size > MAX_INT:
            raise ConvcalcError(f"{what} {shown(text)} has a size larger than {MAX_INT_TEXT}, "
                                "the largest size a tensor can have.")
    return sizes


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 2**10, "m": 1000**2, "mb": 1000**2, "mib": 2**20,
          "g": 1000**3, "gb": 1000**3, "gib": 2**30, "t": 1000**4, "tb": 1000**4, "tib": 2**40}


def parse_size(text: str, what: str = "--max-memory") -> int:
    """A memory size in bytes: ``512MiB``, ``2GB``, ``1.5GiB``, ``1000000``.

    >>> parse_size("512MiB"), parse_size("2GB"), parse_size("4096")
    (536870912, 2000000000, 4096)
    """
    match = _SIZE.match(text)
    unit = (match.group(2) or "").lower() if match else None
    if not match or unit not in _UNITS:
        raise ConvcalcError(f"{what} {shown(text)} is not a size; write it like 512MiB, 2GiB or 1000000 (bytes).")
    number = match.group(1)
    whole = number.split(".")[0].lstrip("0")
    if len(whole) > 30 or float(number) * _UNITS[unit] > MAX_INT:
        raise ConvcalcError(f"{what} {shown(text)} is too large: the limit is {MAX_INT_TEXT} bytes.")
    return int(float(number) * _UNITS[unit])


def parse_numbers(text: str, what: str) -> tuple[float, ...]:
    """Comma-separated numbers: ``1,100,10000``.

    >>> parse_numbers("1, 100,1e4", "--fill")
    (1.0, 100.0, 10000.0)
    """
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ConvcalcError(f"{what} {shown(text)} is not a list of numbers; write it like 1,100,10000.") from None
    if not all(abs(v) < float("inf") for v in values):
        raise ConvcalcError(f"{what} {shown(text)} must hold finite numbers.")
    return values
