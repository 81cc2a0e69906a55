"""Stack files (SPEC 5): a stack with its input and expectations, in TOML or JSON.

A stack file gives ``input``, an optional ``data_format``, ``layers`` (spec
strings, or tables with ``spec`` and an optional ``expect``: that layer's
output without the batch) and an optional ``[expect]`` table (``output``,
``params``, ``max_params``).  :func:`read_stack_file` reads and checks one;
:func:`load_file` also computes it, or hands a Keras model config (a
``.keras`` archive, or a ``.json`` whose top level has ``class_name``) to
``convcalc.model_config``.

Every mistake in a file is a :class:`~convcalc.errors.ConvcalcError` located
at ``FILE:LINE`` (its ``where``).  :mod:`tomllib` and :mod:`json` give no positions, so the
lines come from a small scanner (:func:`locate`) that walks the same text
and records the line of every key and array element.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from . import reading
from .config import DataFormat, resolve_data_format
from .errors import ConvcalcError, Where
from .layers import DATA_FORMATS
from .parse import parse_call, parse_shape
from .stack import INPUT_NAMES, Spec, StackResult, compute_stack

TOP_KEYS = ("input", "data_format", "layers", "expect")
LAYER_KEYS = ("spec", "expect")
EXPECT_KEYS = ("output", "params", "max_params")


StackFileError = ConvcalcError  # a file's mistakes are ConvcalcErrors located at FILE:LINE


def file_error(path: str, line: int | None, detail: str) -> ConvcalcError:
    """A mistake in a file: rendered ``FILE:LINE: detail`` (``FILE: detail`` when no line applies)."""
    return ConvcalcError(detail, Where(file=path, line=line))


@dataclass(frozen=True)
class LayerEntry:
    """One entry of ``layers``: the spec, where it is written, and its optional expected output."""

    spec: str
    line: int
    expect: tuple[int, ...] | None = None
    expect_line: int | None = None


@dataclass(frozen=True)
class Expectation:
    """A whole-stack check: ``output`` (shape without batch), ``params`` (exact) or ``max_params``."""

    check: str
    value: tuple[int, ...] | int
    line: int
    source: str


@dataclass(frozen=True)
class StackFile:
    """A stack file as read: nothing is computed yet."""

    path: str
    input_shape: tuple[int, ...] | None
    input_line: int
    data_format: str | None
    layers: tuple[LayerEntry, ...]
    expectations: tuple[Expectation, ...] = ()


@dataclass(frozen=True)
class LoadedFile:
    """A computed file: the stack file (``None`` for a Keras model config) and its result."""

    path: str
    stack: StackFile | None
    result: StackResult


# ---------------------------------------------------------------- reading


def is_model_config(path: Path, data: Any = None) -> bool:
    """A ``.keras`` archive, or JSON whose top level has ``class_name`` (``model.to_json()``)."""
    if path.suffix.lower() == ".keras":
        return True
    return isinstance(data, dict) and "class_name" in data


def _read_text(path: Path) -> str:
    """The file's text, read once and bounded (:mod:`convcalc.reading`)."""
    return reading.read_text(path, "stack file")


def _is_json(path: Path, text: str) -> bool:
    if path.suffix.lower() == ".json":
        return True
    if path.suffix.lower() == ".toml":
        return False
    return text.lstrip().startswith(("{", "["))


def decode(path: Path, text: str) -> tuple[Any, str]:
    """The file's data and its kind (``"json"`` or ``"toml"``); syntax errors name the line."""
    name = str(path)
    if _is_json(path, text):
        return reading.load_json(text, name), "json"
    if len(text) > TOML_LIMIT:
        raise file_error(name, None, f"is {reading._size_text(len(text))} of TOML; convcalc reads stack files in TOML "
                                     f"up to {reading._size_text(TOML_LIMIT)} (write a larger one as JSON).")
    _prescan_toml(name, text)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise file_error(name, None, f"is nested deeper than {reading.MAX_DEPTH} levels, the most convcalc reads.") from None
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
        if found:
            line, detail = int(found.group(1)), f"{message[: found.start()]} (column {found.group(2)})"
        else:
            line, detail = max(len(text.splitlines()), 1), re.sub(r"\s*\(at end of document\)\s*$", "", message) + " (at the end)"
        raise file_error(name, line, f"not valid TOML: {detail}.") from None
    except ValueError as error:  # an integer too long for int()
        raise file_error(name, None, f"not valid TOML: {reading._reason(error)}.") from None
    reading.check_tree(data, name)
    return data, "toml"


TOML_LIMIT = 8 * 2**20  # TOML is parsed in pure Python: about a second per MiB; a 100k-layer stack is 2 MiB
_TOML_KEY = re.compile(r"""[ \t]*([A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')[ \t]*[.=]""")
_TOML_STRINGS = re.compile(r"""#.*$|"(?:[^"\\]|\\.)*"|'[^']*'""")


def _prescan_toml(name: str, text: str) -> None:
    """An unknown top-level key is named before the whole file is parsed (a stray key with a
    million values would otherwise take seconds to parse first).  Only lines that are surely
    top-level keys count: before the first table header, outside brackets and strings; a file
    with multi-line strings is left to the parser."""
    if '"""' in text or "'''" in text:
        return
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if depth == 0:
            if line.lstrip().startswith("["):
                return  # a table header: the top level ends here
            match = _TOML_KEY.match(line)
            if match:
                key = match.group(1).strip("\"'")
                if key not in TOP_KEYS:
                    raise file_error(name, number, _unknown_key(key, TOP_KEYS, "at the top level"))
        bare = _TOML_STRINGS.sub("", line)
        depth += bare.count("[") + bare.count("{") - bare.count("]") - bare.count("}")
        if depth < 0:
            return


def read_stack_file(path: Path) -> StackFile:
    """Read and check a stack file (TOML, or JSON with the same keys); nothing is computed.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.toml"
    >>> _ = p.write_text('input = "8x8x3"\\nlayers = ["Conv2D(4, 3)"]\\n')
    >>> f = read_stack_file(p)
    >>> f.input_shape, f.layers[0].spec, f.layers[0].line
    ((8, 8, 3), 'Conv2D(4, 3)', 2)
    """
    raw = reading.read_bytes(path, "stack file")
    if reading.is_archive(path, raw):
        raise file_error(str(path), None, "is a Keras model config, not a stack file.")
    text = reading.as_text(raw, str(path), "stack file")
    data, kind = decode(path, text)
    if is_model_config(path, data):
        raise file_error(str(path), None, "is a Keras model config, not a stack file.")
    return stack_file_from_data(str(path), data, _Lazy(text, kind))


def stack_file_from_data(name: str, data: Any, where: "Position") -> StackFile:
    """Check the decoded keys and types of a stack file; ``where`` gives their lines."""

    def fail(detail: str, *keys: str | int) -> StackFileError:
        return file_error(name, where.line(*keys), detail)

    if not isinstance(data, dict):
        raise fail(f"the top level must be a table of {', '.join(TOP_KEYS)}; got {_kind(data)}.")
    _no_unknown_keys(data, TOP_KEYS, "at the top level", fail, ())
    input_shape = None
    if "input" in data:
        input_shape = _shape(data["input"], "input", fail, ("input",))
    data_format = data.get("data_format")
    if data_format is not None:
        if not isinstance(data_format, str) or data_format.lower() not in DATA_FORMATS:
            raise fail(f"data_format must be \"channels_last\" or \"channels_first\"; got {data_format!r}.", "data_format")
        data_format = data_format.lower()
    if "layers" not in data:
        raise fail('no layers: add [[layers]] tables with spec = "Conv2D(16, 3)", or layers = ["Conv2D(16, 3)", ...].')
    layers = data["layers"]
    if not isinstance(layers, list):
        raise fail(f"layers must be a list of layer specs or of tables with spec and expect; got {_kind(layers)}.", "layers")
    if not layers:
        raise fail("layers is empty; give at least one layer.", "layers")
    entries = [_layer_entry(item, index, fail, where) for index, item in enumerate(layers)]
    expectations = []
    if "expect" in data:
        expect = data["expect"]
        if not isinstance(expect, dict):
            raise fail(f"expect must be a table of {', '.join(EXPECT_KEYS)}; got {_kind(expect)}.", "expect")
        _no_unknown_keys(expect, EXPECT_KEYS, "in expect", fail, ("expect",))
        for key in EXPECT_KEYS:
            if key not in expect:
                continue
            keys = ("expect", key)
            value = _shape(expect[key], "expect.output", fail, keys) if key == "output" else _count(expect[key], key, fail, keys)
            expectations.append(Expectation(key, value, where.line(*keys), f"expect.{key}"))
    return StackFile(
        path=name,
        input_shape=input_shape,
        input_line=where.line("input") if "input" in data else 1,
        data_format=data_format,
        layers=tuple(entries),
        expectations=tuple(expectations),
    )


def _layer_entry(item: Any, index: int, fail, where: "Position") -> LayerEntry:
    what = f"layer entry {index + 1}"
    if isinstance(item, str):
        return LayerEntry(item, where.line("layers", index))
    if not isinstance(item, dict):
        raise fail(f"{what} must be a spec string or a table with spec and expect; got {_kind(item)}.", "layers", index)
    _no_unknown_keys(item, LAYER_KEYS, f"in {what}", fail, ("layers", index))
    if "spec" not in item:
        raise fail(f'{what} has no spec; write spec = "Conv2D(16, 3)".', "layers", index)
    spec = item["spec"]
    if not isinstance(spec, str):
        raise fail(f"the spec of {what} must be a string such as \"Conv2D(16, 3)\"; got {_kind(spec)}.", "layers", index, "spec")
    expect = expect_line = None
    if "expect" in item:
        expect = _shape(item["expect"], f"the expect of {what}", fail, ("layers", index, "expect"))
        expect_line = where.line("layers", index, "expect")
    return LayerEntry(spec, where.line("layers", index, "spec"), expect, expect_line)


def _no_unknown_keys(table: dict, allowed: tuple[str, ...], place: str, fail, keys: tuple) -> None:
    for key in table:
        if key not in allowed:
            raise fail(_unknown_key(key, allowed, place), *keys, key)


def _unknown_key(key, allowed: tuple[str, ...], place: str) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key {key!r} {place}; {hint}the keys are {', '.join(allowed)}."


def _shape(value: Any, what: str, fail, keys: tuple) -> tuple[int, ...]:
    """A shape without the batch: ``"32x32x3"`` or ``[32, 32, 3]``."""
    if isinstance(value, str):
        try:
            return parse_shape(value, what)
        except ConvcalcError as error:
            raise fail(error.message, *keys) from None
    if isinstance(value, list) and value and all(isinstance(n, int) and not isinstance(n, bool) for n in value):
        if any(n <= 0 for n in value):
            raise fail(f"{what} {value} has a size below 1; every size must be at least 1.", *keys)
        return tuple(value)
    raise fail(f'{what} must be a shape without the batch, like "32x32x3" or [32, 32, 3]; got {_kind(value)} {value!r}.', *keys)


def _count(value: Any, what: str, fail, keys: tuple) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise fail(f"{what} must be a whole number of parameters (0 or more); got {value!r}.", *keys)


def _kind(value: Any) -> str:
    kinds = {dict: "a table", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else kinds.get(type(value), type(value).__name__)


# ---------------------------------------------------------------- computing


def compute_stack_file(
    stack: StackFile,
    data_format: str | None = None,
    input_shape: tuple[int, ...] | None = None,
    batch: int | None = None,
    input_label: str = "--input",
) -> StackResult:
    """Compute a stack file; ``data_format`` and ``input_shape`` (the command line's) override the file's.

    Errors name the file and the line of the layer (or of ``input``).
    """
    if data_format is not None or stack.data_format is None:
        fmt = resolve_data_format(data_format)
    else:
        fmt = DataFormat(stack.data_format, stack.path)
    if input_shape is None:
        input_shape, input_label = stack.input_shape, "input ="
    specs = [Spec(entry.spec, entry.line) for entry in stack.layers]
    return compute_stack(specs, fmt, input_shape, batch, input_label, file=stack.path, input_line=stack.input_line)


def load_file(
    path: Path,
    data_format: str | None = None,
    input_shape: tuple[int, ...] | list[tuple[int, ...]] | None = None,
    batch: int | None = None,
    input_label: str = "--input",
    expand_nested: bool = False,
) -> LoadedFile:
    """Read and compute a stack file or a Keras model config (``.keras``, or ``model.to_json()``'s JSON).

    ``input_shape`` may be a list: one shape per input of a model config, which is rebuilt at those sizes.
    """
    with reading.read_once():  # the file is read once, even when model_config reads it again: it may be a pipe
        return _load_file(path, data_format, input_shape, batch, input_label, expand_nested)


def _load_file(path: Path, data_format, input_shape, batch, input_label: str, expand_nested: bool) -> LoadedFile:
    name = str(path)
    raw = reading.read_bytes(path, "stack file or Keras model config")
    if reading.is_archive(path, raw):
        return LoadedFile(name, None, _compute_model_config(path, data_format, input_shape, batch, expand_nested))
    text = reading.as_text(raw, name, "stack file or model config")
    data, kind = decode(path, text)
    if is_model_config(path, data):
        return LoadedFile(name, None, _compute_model_config(path, data_format, input_shape, batch, expand_nested))
    if isinstance(input_shape, list):
        if len(input_shape) > 1:
            raise file_error(name, None, f"a stack file has one input, but {len(input_shape)} {input_label} were given.")
        input_shape = input_shape[0] if input_shape else None
    stack = stack_file_from_data(name, data, _Lazy(text, kind))
    return LoadedFile(name, stack, compute_stack_file(stack, data_format, input_shape, batch, input_label))


def _compute_model_config(path: Path, data_format: str | None, input_shape, batch, expand_nested: bool) -> StackResult:
    name = str(path)
    try:
        from .model_config import compute_model_file
    except ModuleNotFoundError as error:
        if error.name != f"{__package__}.model_config":
            raise
        raise file_error(name, None, "is a Keras model config, which this version of convcalc cannot read.") from None
    fmt = resolve_data_format(data_format)
    shapes = input_shape if isinstance(input_shape, list) or input_shape is None else [input_shape]
    try:
        return compute_model_file(path, fmt, shapes, expand_nested, batch=batch)
    except ConvcalcError as error:
        raise error.at(Where(file=name)) from None


# ---------------------------------------------------------------- where things are


@dataclass
class Position:
    """Where a value is written: its line, and the positions of its keys or elements."""

    line_number: int = 1
    children: dict = field(default_factory=dict)
    is_array: bool = False
    keep: frozenset | None = None  # at the root: the only keys whose contents are recorded

    def new(self, key: str | int, line: int, **kwargs) -> "Position":
        """A child for ``key``; outside ``keep`` it records nothing below it (bounded memory for junk keys)."""
        node = Position(line, **kwargs)
        if self.keep is not None and key not in self.keep:
            node.children = _Discard()
        return node

    def line(self, *keys: str | int) -> int:
        """The line of the deepest of ``keys`` that is known (the file's first line if none is).

        >>> locate('a = 1\\n[b]\\nc = [\\n  "x",\\n  "y"]\\n', "toml").line("b", "c", 1)
        5
        """
        node = self
        for key in keys:
            if key not in node.children:
                break
            node = node.children[key]
        return node.line_number

    def child(self, key: str | int, line: int) -> "Position":
        """The table at ``key``, made if missing; for an array of tables, its last table."""
        node = self.children.get(key)
        if node is None:
            node = self.children[key] = self.new(key, line)
        if node.is_array and node.children:
            node = node.children[len(node.children) - 1]
        return node


_TOML_TOKENS = re.compile(
    r'''(?P<space>\s+)|(?P<comment>\#[^\n]*)
    |(?P<string>"""(?:[^\\]|\\.)*?""""{0,2}|\'\'\'.*?\'\'\'\'{0,2}|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')
    |(?P<punct>[\[\]{}=,])|(?P<bare>[^\s\[\]{}=,\#"']+)''',
    re.S | re.X,
)
_JSON_TOKENS = re.compile(
    r'''(?P<space>\s+)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<punct>[\[\]{}:,])|(?P<bare>[^\s\[\]{}:,"]+)''',
    re.S | re.X,
)


class _Discard(dict):
    """Children that are not kept: a scanner walks them without recording them."""

    def __setitem__(self, key, value) -> None:
        pass

    def setdefault(self, key, default=None):
        return default


class _Lazy:
    """The positions of a text, scanned when a line is first asked for (only the stack file's keys are kept)."""

    def __init__(self, text: str, kind: str):
        self.text, self.kind, self.position = text, kind, None

    def line(self, *keys: str | int) -> int:
        if self.position is None:
            self.position = locate(self.text, self.kind, keep=frozenset(TOP_KEYS))
        return self.position.line(*keys)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    line: int
    offset: int


def _tokens(text: str, pattern: re.Pattern) -> Iterator[_Token]:
    line, offset = 1, 0
    while offset < len(text):
        match = pattern.match(text, offset)
        if not match:
            raise ValueError(f"cannot scan at offset {offset}")
        if match.lastgroup not in ("space", "comment"):
            yield _Token(match.lastgroup, match.group(), line, offset)
        line += match.group().count("\n")
        offset = match.end()


def locate(text: str, kind: str, keep: frozenset | None = None) -> Position:
    """The line of every key and array element of a valid TOML or JSON text.

    Positions are a help for messages: a text the scanner cannot follow gives
    no positions (every line is then the first), never an error.  With ``keep``,
    only those top-level keys' contents are recorded.

    >>> where = locate('input = "8x8x3"\\n\\n[[layers]]\\nspec = "Conv2D(4, 3)"\\n', "toml")
    >>> where.line("input"), where.line("layers", 0), where.line("layers", 0, "spec")
    (1, 3, 4)
    """
    try:
        if kind == "json":
            return _JsonScanner(_tokens(text, _JSON_TOKENS)).document(keep)
        return _TomlScanner(_tokens(text, _TOML_TOKENS)).document(keep)
    except (ValueError, IndexError, KeyError, RecursionError):
        return Position()


class _Scanner:
    """Tokens read one at a time (one token of lookahead): memory does not grow with the text."""

    def __init__(self, tokens: Iterator[_Token]):
        self.tokens = tokens
        self.next = next(tokens, None)

    def more(self) -> bool:
        return self.next is not None

    def peek(self) -> _Token:
        if self.next is None:
            raise IndexError("end of text")
        return self.next

    def take(self) -> _Token:
        token = self.peek()
        self.next = next(self.tokens, None)
        return token

    def skip(self, text: str) -> None:
        if self.next is not None and self.next.text == text and self.next.kind == "punct":
            self.take()

    def is_punct(self, text: str) -> bool:
        token = self.peek()
        return token.kind == "punct" and token.text == text


class _TomlScanner(_Scanner):
    def document(self, keep: frozenset | None = None) -> Position:
        root = current = Position(1, keep=keep)
        while self.more():
            token = self.peek()
            if self.is_punct("["):
                self.take()
                nxt = self.peek()
                array = nxt.kind == "punct" and nxt.text == "[" and nxt.offset == token.offset + 1
                if array:
                    self.take()
                keys = self.key("]")
                self.take()
                if array:
                    self.take()
                node = root
                for key in keys[:-1]:
                    node = node.child(key, token.line)
                if array:
                    table = node.children.setdefault(keys[-1], node.new(keys[-1], token.line, is_array=True))
                    current = table.children[len(table.children)] = Position(token.line)
                else:
                    current = node.child(keys[-1], token.line)
            else:
                self.pair(current)
        return root

    def key(self, stop: str) -> list[str]:
        parts = []
        while not self.is_punct(stop):
            token = self.take()
            if token.kind == "string":
                parts.append(_toml_key(token.text))
            elif token.kind == "bare":
                parts.extend(part for part in token.text.split(".") if part)
            else:
                raise ValueError(f"unexpected {token.text!r} in a key")
        if not parts:
            raise ValueError("empty key")
        return parts

    def pair(self, table: Position) -> None:
        line = self.peek().line
        keys = self.key("=")
        self.take()
        for key in keys[:-1]:
            table = table.child(key, line)
        node = table.children[keys[-1]] = table.new(keys[-1], line)
        self.value(node)

    def value(self, node: Position) -> None:
        if self.is_punct("["):
            self.take()
            node.is_array = True
            while not self.is_punct("]"):
                element = node.children[len(node.children)] = Position(self.peek().line)
                self.value(element)
                self.skip(",")
            self.take()
        elif self.is_punct("{"):
            self.take()
            while not self.is_punct("}"):
                self.pair(node)
                self.skip(",")
            self.take()
        else:
            self.take()


class _JsonScanner(_Scanner):
    def document(self, keep: frozenset | None = None) -> Position:
        root = Position(self.peek().line if self.more() else 1, keep=keep)
        self.value(root)
        return root

    def value(self, node: Position) -> None:
        token = self.take()
        if token.kind == "punct" and token.text == "[":
            node.is_array = True
            while not self.is_punct("]"):
                element = node.children[len(node.children)] = Position(self.peek().line)
                self.value(element)
                self.skip(",")
            self.take()
        elif token.kind == "punct" and token.text == "{":
            while not self.is_punct("}"):
                key = self.take()
                name = json.loads(key.text)
                child = node.children[name] = node.new(name, key.line)
                self.skip(":")
                self.value(child)
                self.skip(",")
            self.take()


def _toml_key(text: str) -> str:
    if text.startswith("'"):
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        return text[1:-1]
