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

from .errors import ConvcalcError

MAX_SPEC_LENGTH = 5000
MAX_NESTING = 8

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
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise ConvcalcError(
            f"the spec is not valid Python call syntax ({exc.msg}{where}); "
            "write a Keras call such as Conv2D(16, 3, padding='same')."
        ) from None
    except (RecursionError, MemoryError, ValueError):
        raise ConvcalcError("the layer spec cannot be read (too deeply nested or not text).") from None
    node = tree.body
    # Pasted functional code: ``Conv2D(8, 3)(x)`` applies the layer to a tensor.
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Call):
        if all(isinstance(a, ast.Name) for a in node.args) and not node.keywords:
            node = node.func
    if not isinstance(node, ast.Call):
        raise ConvcalcError(
            f"{source!r} is not a layer call; write a Keras call such as Conv2D(16, 3)."
        )
    return _call(node, source, depth=0)


def _call(node: ast.Call, source: str, depth: int) -> Call:
    func = _dotted(node.func)
    if func is None:
        raise ConvcalcError(
            f"{_segment(source, node.func)!r} is not a layer name; write a name such as Conv2D."
        )
    args = []
    for position, arg in enumerate(node.args, start=1):
        if isinstance(arg, ast.Starred):
            raise ConvcalcError(f"{func}(): *args are not supported; write the arguments out.")
        args.append(_value(arg, source, depth + 1, f"positional argument {position}"))
    kwargs = []
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ConvcalcError(f"{func}(): **kwargs are not supported; write the arguments out.")
        kwargs.append((keyword.arg, _value(keyword.value, source, depth + 1, f"argument {keyword.arg}")))
    text = _segment(source, node) or source
    return Call(func, tuple(args), tuple(kwargs), text)


def _value(node: ast.AST, source: str, depth: int, what: str) -> Any:
    if depth > MAX_NESTING:
        raise ConvcalcError(f"{what} is nested more than {MAX_NESTING} levels deep.")
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (bool, int, float, str)) or node.value is None:
            return node.value
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = node.operand
        if isinstance(operand, ast.Constant) and type(operand.value) in (int, float):
            return -operand.value if isinstance(node.op, ast.USub) else operand.value
    elif isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_value(item, source, depth + 1, what) for item in node.elts)
    elif isinstance(node, ast.Call):
        return _call(node, source, depth)
    elif isinstance(node, (ast.Name, ast.Attribute)):
        dotted = _dotted(node)
        if dotted is not None:
            return Reference(dotted)
    raise ConvcalcError(
        f"{what} is {_segment(source, node)!r}, which is not a literal; convcalc reads "
        "numbers, strings, True/False/None, tuples and lists, and never evaluates code."
    )


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


_SIZE_TOKEN = r"(?:\d+|None|\?)"
_SHAPE = re.compile(rf"^\s*[(\[]?\s*({_SIZE_TOKEN}(?:\s*[x,]\s*{_SIZE_TOKEN})*)\s*,?\s*[)\]]?\s*$", re.IGNORECASE)


def parse_shape(text: str, what: str = "--input") -> tuple[int | None, ...]:
    """Parse an input shape without the batch axis: ``32x32x3``, ``32,32,3``, ``(32, 32, 3)``;
    an unknown size is ``None`` or ``?``, as ``keras.Input(shape=(None, None, 3))``; ``()`` is a scalar per sample.

    >>> parse_shape("32x32x3"), parse_shape("(1, 32, 32)"), parse_shape("[8,8,3]"), parse_shape("?x?x3"), parse_shape("()")
    ((32, 32, 3), (1, 32, 32), (8, 8, 3), (None, None, 3), ())
    """
    if text.strip() == "()":  # one number per sample, as keras.Input(shape=())
        return ()
    match = _SHAPE.match(text) if len(text) < 200 else None
    if not match:
        raise ConvcalcError(
            f"{what} {text!r} is not a shape; write it without the batch axis, "
            "like 32x32x3, 32,32,3 or (32, 32, 3)."
        )
    parts = re.split(r"\s*[x,]\s*", match.group(1), flags=re.IGNORECASE)
    sizes = tuple(None if part.lower() in ("none", "?") else int(part) for part in parts)
    if any(size is not None and size <= 0 for size in sizes):
        raise ConvcalcError(f"{what} {text!r} has a size of 0; every size must be at least 1.")
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
        raise ConvcalcError(f"{what} {text!r} is not a size; write it like 512MiB, 2GiB or 1000000 (bytes).")
    return int(float(match.group(1)) * _UNITS[unit])


def parse_numbers(text: str, what: str) -> tuple[float, ...]:
    """Comma-separated numbers: ``1,100,10000``.

    >>> parse_numbers("1, 100,1e4", "--fill")
    (1.0, 100.0, 10000.0)
    """
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ConvcalcError(f"{what} {text!r} is not a list of numbers; write it like 1,100,10000.") from None
    if not all(abs(v) < float("inf") for v in values):
        raise ConvcalcError(f"{what} {text!r} must hold finite numbers.")
    return values
