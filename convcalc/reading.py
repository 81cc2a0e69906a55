"""Reading the user's files: bounded in size and time, never blocking, each file read once.

Every file convcalc reads (stack files, model configs, ``.keras`` archives,
``keras.json``) goes through :func:`read_bytes`: only regular files and pipes
(``/dev/stdin``, ``<(...)``, a FIFO) are opened, pipes without blocking and
with a deadline for data to arrive, and at most :data:`MAX_BYTES` are read.
A ``.keras`` archive's ``config.json`` is read by :func:`archive_member`,
which checks the member's declared sizes, encryption and compression method
before decompressing and caps what decompression yields.  JSON is decoded by
:func:`load_json`: duplicate keys, nesting deeper than :data:`MAX_DEPTH` and
integers longer than :data:`MAX_INT_DIGITS` digits are errors that name where
they are.  Every mistake is a :class:`~convcalc.errors.ConvcalcError`.
Standard library only.
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import stat
import time
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .errors import ConvcalcError, Where

MAX_BYTES = 256 * 2**20  # the most read from any file, or decompressed from an archive member
MAX_DEPTH = 100  # the deepest nesting of JSON (or TOML) values read
MAX_INT_DIGITS = 40  # the longest integer read from a file
PIPE_TIMEOUT = 10.0  # seconds a pipe may stay silent before reading it is given up
ZIP_MAGIC = b"PK\x03\x04"


def _size_text(n: int) -> str:
    """``256 MiB``, ``1.5 KiB``, ``12 bytes``.

    >>> _size_text(256 * 2**20), _size_text(1536), _size_text(12)
    ('256 MiB', '1.5 KiB', '12 bytes')
    """
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def _fail(name: str, detail: str, line: int | None = None) -> ConvcalcError:
    return ConvcalcError(detail, Where(file=name, line=line))


def _is_anonymous_pipe(info: os.stat_result) -> bool:
    """A pipe made by a shell (``cmd | ...``, ``<(cmd)``): it lives where :func:`os.pipe`'s pipes do.

    A named pipe (``mkfifo``) may never get a writer, so it is not read.
    """
    global _PIPE_DEVICE
    if _PIPE_DEVICE is None:
        read_end, write_end = os.pipe()
        try:
            _PIPE_DEVICE = os.fstat(read_end).st_dev
        finally:
            os.close(read_end)
            os.close(write_end)
    return stat.S_ISFIFO(info.st_mode) and info.st_dev == _PIPE_DEVICE


_PIPE_DEVICE: int | None = None


def _kind_of(info: os.stat_result) -> str | None:
    """What a file that is not read is (``a directory``), or None when it can be read."""
    mode = info.st_mode
    if stat.S_ISREG(mode) or _is_anonymous_pipe(info):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


_read: list[dict] = []  # the files read inside each open read_once()


@contextmanager
def read_once() -> Iterator[None]:
    """Inside, a file read again gives the bytes read the first time: a pipe
    (``/dev/stdin``, ``<(...)``) can be read only once, and a file decides its
    own kind (stack file, model config, archive) from one reading."""
    _read.append({})
    try:
        yield
    finally:
        _read.pop()


def read_bytes(path: str | Path, what: str = "file", limit: int | None = None) -> bytes:
    """The bytes of a regular file or a pipe, at most ``limit`` (:data:`MAX_BYTES`).

    Directories, devices (``/dev/zero``, a terminal) and sockets are refused
    before anything is opened; a pipe is read without blocking, and given up
    when it stays silent for :data:`PIPE_TIMEOUT` seconds.
    """
    name = str(path)
    if _read and name in _read[-1]:
        return _read[-1][name]
    data = _read_path(path, name, what, limit)
    if _read:
        _read[-1][name] = data
    return data


def _read_path(path: str | Path, name: str, what: str, limit: int | None) -> bytes:
    limit = MAX_BYTES if limit is None else limit
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise _fail(name, "no such file.") from None
    except (OSError, ValueError) as error:
        raise _fail(name, f"cannot be read ({getattr(error, 'strerror', None) or error}).") from None
    kind = _kind_of(info)
    if kind is not None:
        raise _fail(name, f"is {kind}; convcalc reads a {what} only from a regular file, /dev/stdin or <(...).")
    if stat.S_ISREG(info.st_mode) and info.st_size > limit:
        raise _fail(name, f"is {_size_text(info.st_size)}, larger than the {_size_text(limit)} convcalc reads from a file.")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise _fail(name, "no such file.") from None
    except OSError as error:
        raise _fail(name, f"cannot be read ({error.strerror or error}).") from None
    try:
        info = os.fstat(fd)  # what was opened, in case the path changed since
        kind = _kind_of(info)
        if kind is not None:
            raise _fail(name, f"is {kind}, not a {what}.")
        return _read_fd(fd, name, limit, is_pipe=stat.S_ISFIFO(info.st_mode))
    finally:
        os.close(fd)


def _read_fd(fd: int, name: str, limit: int, is_pipe: bool) -> bytes:
    chunks, total = [], 0
    deadline = time.monotonic() + PIPE_TIMEOUT
    while True:
        if is_pipe:
            ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise _fail(name, f"is a pipe that sent nothing for {PIPE_TIMEOUT:g} seconds; convcalc stopped waiting.")
        try:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
        except BlockingIOError:
            continue
        except OSError as error:
            raise _fail(name, f"cannot be read ({error.strerror or error}).") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise _fail(name, f"is larger than the {_size_text(limit)} convcalc reads from a file.")
        deadline = time.monotonic() + PIPE_TIMEOUT


def as_text(data: bytes, name: str, what: str = "file") -> str:
    """UTF-8 text (a leading BOM is dropped), or an error naming the first bad byte's line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        kind = "Python" if what == "Python source" else "TOML or JSON"
        raise _fail(name, f"is not UTF-8 text (byte {error.start}); a {what} is {kind} text.", line) from None


def read_text(path: str | Path, what: str = "file", limit: int | None = None) -> str:
    """:func:`read_bytes` decoded as UTF-8."""
    return as_text(read_bytes(path, what, limit), str(path), what)


def is_archive(path: str | Path, data: bytes) -> bool:
    """A zip archive (a ``.keras`` file), by its name or its first bytes."""
    return Path(path).suffix.lower() == ".keras" or data.startswith(ZIP_MAGIC)


def archive_member(data: bytes, name: str, member: str = "config.json", limit: int | None = None) -> bytes:
    """One member of a zip archive, checked before it is decompressed and capped while it is.

    Encrypted members, compression methods other than stored/deflate/bzip2/lzma,
    a declared size over ``limit`` and corrupt or truncated archives are errors.
    """
    limit = MAX_BYTES if limit is None else limit
    broken = "is not a complete .keras archive (truncated or corrupt"
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError) as error:
        raise _fail(name, f"{broken}: {_reason(error)}).") from None
    with archive:
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise _fail(name, f"the .keras archive has no {member}.") from None
        if info.flag_bits & 0x1:
            raise _fail(name, f"the {member} in the .keras archive is encrypted; convcalc reads only unencrypted archives.")
        methods = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
                   zipfile.ZIP_LZMA: "lzma"}
        if info.compress_type not in methods:
            raise _fail(name, f"the {member} in the .keras archive uses compression method {int(info.compress_type)}; "
                              f"convcalc reads {', '.join(methods.values())}.")
        if info.file_size > limit:
            raise _fail(name, f"the {member} in the .keras archive would expand to {_size_text(info.file_size)}, "
                              f"larger than the {_size_text(limit)} convcalc reads.")
        if info.compress_size > len(data):
            raise _fail(name, f"{broken}: {member} claims {info.compress_size} compressed bytes).")
        chunks, total = [], 0
        try:
            with archive.open(info) as stream:
                while True:
                    chunk = stream.read(min(1 << 20, limit + 1 - total))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    total += len(chunk)
                    if total > limit:
                        raise _fail(name, f"the {member} in the .keras archive expands to more than "
                                          f"{_size_text(limit)}, the most convcalc reads.")
        except ConvcalcError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError,
                LookupError) as error:
            raise _fail(name, f"{broken}: {_reason(error)}).") from None
        except Exception as error:  # bz2/lzma decompressor errors have no common base
            if type(error).__module__ in ("_lzma", "lzma", "_bz2", "bz2"):
                raise _fail(name, f"{broken}: {_reason(error)}).") from None
            raise
    return b"".join(chunks)


def _reason(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:200] + "..."


# ---------------------------------------------------------------- JSON


class _Duplicate(Exception):
    pass


class _TooLong:
    """An integer with too many digits, kept as its length until its place is known."""

    __slots__ = ("digits",)

    def __init__(self, digits: int):
        self.digits = digits


def _object(pairs: list) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Duplicate()
    return result


def _int(text: str) -> Any:
    digits = len(text) - text.startswith("-")
    return _TooLong(digits) if digits > MAX_INT_DIGITS else int(text)


def load_json(text: str, name: str) -> Any:
    """JSON, refusing what :mod:`json` lets through or fails on badly.

    >>> load_json('{"a": [1, 2]}', "f.json")
    {'a': [1, 2]}
    >>> load_json('{"a": 1,\\n "a": 2}', "f.json")
    Traceback (most recent call last):
    convcalc.errors.ConvcalcError: f.json:2: the key 'a' appears twice in one object; JSON keys must be unique.
    """
    try:
        data = json.loads(text, object_pairs_hook=_object, parse_int=_int)
    except json.JSONDecodeError as error:
        raise _fail(name, f"not valid JSON: {error.msg} (column {error.colno}).", error.lineno) from None
    except _Duplicate:
        key, line = _first_duplicate(text)
        raise _fail(name, f"the key {_short(key)} appears twice in one object; JSON keys must be unique.", line) from None
    except RecursionError:
        keys, line = _too_deep(text)
        raise _fail(name, f"{json_path(keys)}: nested deeper than {MAX_DEPTH} levels, the most convcalc reads.",
                    line) from None
    except ValueError as error:  # a number json cannot convert
        raise _fail(name, f"not valid JSON: {_reason(error)}.") from None
    check_tree(data, name)
    return data


def check_tree(data: Any, name: str) -> None:
    """Nesting at most :data:`MAX_DEPTH` deep, integers at most :data:`MAX_INT_DIGITS` digits; errors name the path.

    Iterative, and only containers are queued: a list of millions of numbers costs no memory here.
    """
    stack = [(data, (), 0)] if isinstance(data, (dict, list)) else []
    while stack:
        value, keys, depth = stack.pop()
        if depth >= MAX_DEPTH:
            raise _fail(name, f"{json_path(keys)}: nested deeper than {MAX_DEPTH} levels, the most convcalc reads.")
        for key, item in (value.items() if isinstance(value, dict) else enumerate(value)):
            if isinstance(item, (dict, list)):
                if item:
                    stack.append((item, (*keys, key), depth + 1))
            elif isinstance(item, _TooLong) or (type(item) is int and item.bit_length() > MAX_INT_DIGITS * 3.33):
                digits = (item.digits if isinstance(item, _TooLong) else len(str(abs(item)))
                          if item.bit_length() < 14000 else "thousands of")
                raise _fail(name, f"{json_path((*keys, key))}: a number with {digits} digits; convcalc reads "
                                  f"integers of at most {MAX_INT_DIGITS} digits.")
    if isinstance(data, _TooLong) or (type(data) is int and data.bit_length() > MAX_INT_DIGITS * 3.33):
        raise _fail(name, f"the top level: a number with {getattr(data, 'digits', 'over 40')} digits; convcalc reads "
                          f"integers of at most {MAX_INT_DIGITS} digits.")


def json_path(keys: tuple) -> str:
    """``config.layers[3].inbound_nodes[0]`` for ``("config", "layers", 3, "inbound_nodes", 0)``.

    >>> json_path(("config", "layers", 3, "name")), json_path(()), json_path(("a b",))
    ('config.layers[3].name', 'the top level', '["a b"]')
    """
    if len(keys) > 24:  # a path through deep nesting: its start and its end
        return f"{json_path(keys[:8])}...({len(keys) - 16} more)...{json_path(keys[-8:]).lstrip('.')}"
    text = ""
    for key in keys:
        if isinstance(key, int):
            text += f"[{key}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            text += f".{key}" if text else key
        else:
            text += f"[{_short(key, json.dumps)}]"
    return text or "the top level"


def _short(text: Any, quote=repr, limit: int = 60) -> str:
    text = str(text)
    return quote(text if len(text) <= limit else text[:limit] + "...")


_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]|[^\s\[\]{}:,"]+')


def _first_duplicate(text: str) -> tuple[str, int | None]:
    """The first key written twice in one object, and its line (for messages only)."""
    objects: list[set | None] = []
    line_of = _LineOf(text)
    previous = None
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "{[":
            objects.append(set() if token == "{" else None)
        elif token in "}]":
            if objects:
                objects.pop()
        elif token == ":" and previous is not None and objects and objects[-1] is not None:
            key_text, start = previous
            try:
                key = json.loads(key_text)
            except ValueError:
                key = key_text
            if key in objects[-1]:
                return key, line_of(start)
            objects[-1].add(key)
        previous = (token, match.start()) if token.startswith('"') else None
    return "?", None


def _too_deep(text: str) -> tuple[tuple, int | None]:
    """The path and line where a text nests deeper than :data:`MAX_DEPTH` (for messages only)."""
    keys: list = []  # per open container: its key so far (a name, or the next index)
    previous = None
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "{[":
            if len(keys) >= MAX_DEPTH:
                return tuple(k for k in keys if k is not None), _LineOf(text)(match.start())
            keys.append(0 if token == "[" else None)
        elif token in "}]":
            if keys:
                keys.pop()
        elif token == ":" and previous is not None and keys:
            try:
                keys[-1] = json.loads(previous)
            except ValueError:
                keys[-1] = previous
        elif token == "," and keys and isinstance(keys[-1], int):
            keys[-1] += 1
        previous = token if token.startswith('"') else None
    return (), None


class _LineOf:
    def __init__(self, text: str):
        self.text = text

    def __call__(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1
