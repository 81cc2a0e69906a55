"""``convcalc lint``: check stack files' expectations, then render the report (SPEC 5).

:func:`lint_files` computes every file and compares it with its
expectations (per-layer ``expect``, the ``[expect]`` table) and the
command line's flags, which apply to every file.  A file that cannot be
read, parsed or computed is reported as an error and the others are still
checked.  The report is data; :func:`to_text`, :func:`to_json` and
:func:`to_github` render it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable

from .errors import ConvcalcError, ExitCode, unexpected_error
from .render import count_text, dumps, int_text, printable
from .stack import StackResult
from .stackfile import Expectation, LoadedFile, StackFile, load_file


@dataclass(frozen=True)
class LintFlags:
    """Expectations from the command line, applied to every file."""

    expect_output: tuple[int, ...] | None = None
    params: int | None = None
    max_params: int | None = None
    data_format: str | None = None
    model: str | None = None  # Python sources: check only this model (a name, or a call of a function)


@dataclass(frozen=True)
class LayerRef:
    """The layer a failure is about: index (1-based, as in error messages), name and type."""

    index: int
    name: str
    type: str

    def __str__(self) -> str:
        return f"layer {self.index} {self.name} ({self.type})"


@dataclass(frozen=True)
class Failure:
    """One expectation that does not hold. ``check`` is ``output``, ``params`` or ``max_params``."""

    line: int | None
    layer: LayerRef | None
    check: str
    expected: tuple[int | None, ...] | int
    actual: tuple[int | None, ...] | int
    source: str
    note: str = ""  # shapes that differ only by channel order: the data format and where it came from

    @property
    def message(self) -> str:
        """``layer 2 conv2d_1 (Conv2D): expected output 32x32x16, got 32x32x8``."""
        source = f" ({self.source})" if self.source.startswith("--") else ""
        if self.check == "output":
            text = f"expected output {shape_text(self.expected)}{source}, got {shape_text(self.actual)}"
        elif self.check == "params":
            text = f"expected params {_number(self.expected)}{source}, got {_number(self.actual)}"
        else:
            text = f"expected at most {_number(self.expected)} params ({self.source}), got {_number(self.actual)}"
        if self.note:
            text += f" ({self.note})"
        return f"{self.layer}: {text}" if self.layer else text


def _number(value: int) -> str:
    """A count as the stack file writes it (``10147``); beyond 100 digits in scientific notation."""
    text = count_text(value)
    return text if "e" in text else text.replace(",", "")


@dataclass(frozen=True)
class FileReport:
    """One file's outcome: its failures, or the error that stopped it from being checked."""

    file: str
    failures: tuple[Failure, ...] = ()
    error: str | None = None
    error_line: int | None = None
    notes: tuple[tuple[int | None, str], ...] = ()  # models of a Python source skipped: (line, text)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failures


@dataclass(frozen=True)
class LintReport:
    files: tuple[FileReport, ...]

    @property
    def checked(self) -> int:
        return len(self.files)

    @property
    def failed(self) -> int:
        return sum(not report.ok for report in self.files)

    @property
    def errors(self) -> int:
        return sum(report.error is not None for report in self.files)

    @property
    def failures(self) -> int:
        return sum(len(report.failures) for report in self.files)

    @property
    def exit_code(self) -> ExitCode:
        """2 if a file could not be checked (it wins), 1 if an expectation failed, else 0."""
        if self.errors:
            return ExitCode.BAD_INPUT
        return ExitCode.LINT_FAILED if self.failures else ExitCode.OK


def shape_text(shape) -> str:
    """A shape without the batch as it is written in stack files: ``32x32x16``.

    >>> shape_text((32, 32, 16)), shape_text((None, 10))
    ('32x32x16', 'Nonex10')
    """
    return "x".join("None" if n is None else int_text(n) for n in shape)


# ---------------------------------------------------------------- checking


def lint_files(paths: Iterable[Path], flags: LintFlags = LintFlags()) -> LintReport:
    """Check every file; errors in one file do not stop the others."""
    return LintReport(tuple(lint_file(Path(path), flags) for path in paths))


def lint_file(path: Path, flags: LintFlags = LintFlags()) -> FileReport:
    """One file's report.  Whatever goes wrong in it (a file that cannot be read, a bug convcalc did
    not expect, nesting deeper than Python's recursion limit) is that file's error, never the run's."""
    try:
        from .pysource import is_python

        if is_python(path):
            return lint_python(path, flags)
        loaded = load_file(path, flags.data_format)
        return FileReport(str(path), failures=tuple(check(loaded, flags)))
    except ConvcalcError as error:
        return FileReport(str(path), error=error.detail, error_line=error.where.line if error.where else None)
    except OSError as error:
        return FileReport(str(path), error=f"cannot be read ({error.strerror or type(error).__name__}).")
    except Exception as error:  # noqa: BLE001 - a bug, but the other files are still checked
        return FileReport(str(path), error=unexpected_error(error))


def lint_python(path: Path, flags: LintFlags) -> FileReport:
    """SPEC 9: every model of a Python source, its ``assert``s and the flags; a model that cannot be read
    statically is a note and fails nothing (unless no model of the file can be read)."""
    from . import reading
    from .config import resolve_data_format
    from .pysource import evaluate_model, models_of, read_source

    name = str(path)
    text = reading.as_text(reading.read_bytes(path, "Python source"), name, "Python source")
    call = flags.model if flags.model is not None and "(" in flags.model else None
    source = read_source(name, text, resolve_data_format(flags.data_format), call)
    notes, failures, readable = [], [], 0
    for model in models_of(source, None if call is not None else flags.model):
        if model.skipped and flags.model is not None:
            raise model.error  # the model asked for cannot be read: that is the file's error
        if model.skipped:
            error = model.error
            detail = error.message if error.message.startswith("skipped") else f"skipped {model.variable}: {error.message}"
            notes.append((error.where.line if error.where else None, detail))
            continue
        readable += 1
        result = evaluate_model(model)  # a layer Keras would refuse: FILE:LINE: error at that layer's line
        expectations = [Expectation(e.check, _without_batch(e.value) if e.check == "output" else e.value, e.line,
                                    f"assert {e.variable}") for e in source.expectations if e.variable == model.variable]
        for key, value, flag in (("output", flags.expect_output, "--expect-output"), ("params", flags.params, "--params"),
                                 ("max_params", flags.max_params, "--max-params")):
            if value is not None:
                expectations.append(Expectation(key, value, model.line, flag))
        for expectation in expectations:
            failure = _stack_failure(expectation, result)
            if failure is not None:
                failures.append(failure)
    if not readable:
        line, detail = notes[0] if notes else (None, "it builds no keras.Model or keras.Sequential bound to a "
                                                     "module-level name")
        return FileReport(name, error=f"no model can be read statically: {detail}", error_line=line)
    return FileReport(name, failures=tuple(sorted(failures, key=lambda f: f.line or 0)), notes=tuple(notes))


def _without_batch(value):
    """``(None, 10)`` as an assert writes it is the output ``10`` without the batch."""
    return tuple(value[1:]) if isinstance(value, tuple) and value and value[0] is None else value


def check(loaded: LoadedFile, flags: LintFlags = LintFlags()) -> list[Failure]:
    """Every failed expectation of a computed file, in the order of the file's lines."""
    stack, result = loaded.stack, loaded.result
    failures = _layer_failures(stack, result) if stack is not None else []
    expectations = list(stack.expectations) if stack is not None else []
    flag_line = stack.input_line if stack is not None else 1
    for key, value, source in (
        ("output", flags.expect_output, "--expect-output"),
        ("params", flags.params, "--params"),
        ("max_params", flags.max_params, "--max-params"),
    ):
        if value is not None:
            expectations.append(Expectation(key, value, flag_line, source))
    for expectation in expectations:
        failure = _stack_failure(expectation, result)
        if failure is not None:
            failures.append(failure)
    other: dict = {}  # the stack read in the other data format, computed once for all its failures
    return [_with_channel_note(failure, loaded, other) for failure in failures]


def channels_moved(expected, actual, data_format: str) -> bool:
    """Whether ``expected`` is ``actual`` (in ``data_format``) with the channels axis at the other end.

    >>> channels_moved((16, 128, 128), (128, 128, 16), "channels_last")
    True
    >>> channels_moved((8, 3, 8), (8, 8, 3), "channels_last"), channels_moved((8, 8, 3), (3, 8, 8), "channels_first")
    (False, True)
    """
    expected, actual = tuple(expected), tuple(actual)
    if len(actual) < 2 or len(expected) != len(actual) or expected == actual:
        return False
    moved = actual[-1:] + actual[:-1] if data_format == "channels_last" else actual[1:] + actual[:1]
    return expected == moved


def _with_channel_note(failure: Failure, loaded: LoadedFile, cache: dict) -> Failure:
    """A failed output whose shapes differ only by channel order says which data format applied,
    where that came from, and what the other one gives (a CI machine's keras.json changes the answer)."""
    if failure.check != "output" or not isinstance(failure.actual, tuple) or not isinstance(failure.expected, tuple):
        return failure
    result = loaded.result
    fmt = result.data_format
    row = next((r for r in result.layers if failure.layer is not None and r.index == failure.layer.index), None)
    if not channels_moved(failure.expected, failure.actual, row.data_format if row is not None else fmt.value):
        return failure
    if row is not None and row.data_format != fmt.value:
        return replace(failure, note=f"{row.data_format} from the layer's data_format argument")
    note = f"{fmt.value} from {data_format_origin(fmt.source, loaded.path)}"
    other = "channels_first" if fmt.value == "channels_last" else "channels_last"
    try:
        if "result" not in cache:
            cache["result"] = None
            cache["result"] = load_file(Path(loaded.path), other).result
        again = cache["result"]
        if row is not None:
            shape = next(r.output_shape for r in again.layers if r.index == row.index and r.name == row.name)
        else:
            shape = again.output_shape
        if isinstance(shape, tuple):
            note += f"; the same stack read {other} gives {shape_text(shape[1:])}"
    except Exception:  # noqa: BLE001 - the note is a hint: without the other reading it still says the source
        pass
    return replace(failure, note=note)


def data_format_origin(source: str, file: str) -> str:
    """Where a data format came from, in words, with the home directory as ``~`` (no user's absolute home).

    >>> data_format_origin("default", "m.toml"), data_format_origin("m.toml", "m.toml")
    ("convcalc's default", "m.toml's data_format")
    """
    if source == "default":
        return "convcalc's default"
    if source == file:
        return f"{file}'s data_format"
    if source.startswith("--"):
        return source
    home = os.path.expanduser("~")
    if home not in ("", "/") and (source == home or source.startswith(home.rstrip("/") + "/")):
        return "~" + source[len(home.rstrip("/")):]
    return source


def _layer_failures(stack: StackFile, result: StackResult) -> list[Failure]:
    failures = []
    offset = len(stack.layers) - len(result.layers)  # the Input(...) specs that open the stack
    for position, entry in enumerate(stack.layers):
        if entry.expect is None:
            continue
        if position < offset:
            inputs = result.input_shape if isinstance(result.input_shape, list) else [result.input_shape]
            actual, layer = inputs[position][1:], None
        elif position - offset >= len(result.layers):
            continue
        else:
            row = result.layers[position - offset]
            actual, layer = row.output_shape[1:], LayerRef(row.index, row.name, row.type)
        if tuple(actual) != entry.expect:
            failures.append(Failure(entry.expect_line, layer, "output", entry.expect, tuple(actual), "expect"))
    return failures


def _stack_failure(expectation: Expectation, result: StackResult) -> Failure | None:
    if expectation.check == "output":
        actual = tuple(result.output_shape[1:])
        holds = actual == expectation.value
    elif expectation.check == "params":
        actual = result.total_params
        holds = actual == expectation.value
    else:
        actual = result.total_params
        holds = actual <= expectation.value
    if holds:
        return None
    return Failure(expectation.line, None, expectation.check, expectation.value, actual, expectation.source)


# ---------------------------------------------------------------- rendering


def _where(file: str, line: int | None) -> str:
    return file if line is None else f"{file}:{line}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(report: LintReport) -> str:
    """``2 files checked, 1 failed, 3 expectations failed`` (and how many files had errors)."""
    text = f"{_plural(report.checked, 'file')} checked, {report.failed} failed, {_plural(report.failures, 'expectation')} failed"
    if report.errors:
        text += f", {_plural(report.errors, 'file')} with errors"
    return text


def to_text(report: LintReport) -> str:
    """One line per failure or error, ``FILE:LINE: message``, then the summary.

    Control characters in file names and messages are escaped (:func:`~convcalc.render.printable`):
    one line is always one finding.
    """
    lines = []
    for file in report.files:
        if file.error is not None:
            lines.append(printable(f"{_where(file.file, file.error_line)}: error: {file.error}"))
        lines.extend(printable(f"{_where(file.file, failure.line)}: {failure.message}") for failure in file.failures)
        lines.extend(printable(f"{_where(file.file, line)}: note: {note}") for line, note in file.notes)
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def _value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def report_dict(report: LintReport) -> dict[str, Any]:
    return {
        "files": [
            {
                "file": file.file,
                "ok": file.ok,
                "error": file.error,
                "error_line": file.error_line,
                "notes": [{"line": line, "message": note} for line, note in file.notes],
                "failures": [
                    {
                        "line": failure.line,
                        "layer": None if failure.layer is None else
                        {"index": failure.layer.index, "name": failure.layer.name, "type": failure.layer.type},
                        "check": failure.check,
                        "source": failure.source,
                        "expected": _value(failure.expected),
                        "actual": _value(failure.actual),
                        "message": failure.message,
                    }
                    for failure in file.failures
                ],
            }
            for file in report.files
        ],
        "checked": report.checked,
        "failed": report.failed,
        "failures": report.failures,
        "errors": report.errors,
        "exit_code": int(report.exit_code),
    }


def to_json(report: LintReport) -> str:
    return dumps(report_dict(report))


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub Actions requires (``%``, CR, LF), and every
    other control character written as a Python escape, so that no name can start a command.

    >>> escape_data("50% off\\nnow\\x1b[0m")
    '50%25 off%0Anow\\\\x1b[0m'
    """
    return printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    """A workflow command's property value (``file=``): also ``:`` and ``,`` are escaped."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(file: str, line: int | None, message: str, level: str = "error") -> str:
    where = f"file={escape_property(file)}" + ("" if line is None else f",line={line}")
    return f"::{level} {where}::{escape_data(message)}"


def to_github(report: LintReport) -> str:
    """GitHub Actions annotations, ``::error file=FILE,line=LINE::message``, then the summary."""
    lines = []
    for file in report.files:
        if file.error is not None:
            lines.append(_annotation(file.file, file.error_line, f"error: {file.error}"))
        lines.extend(_annotation(file.file, failure.line, failure.message) for failure in file.failures)
        lines.extend(_annotation(file.file, line, f"note: {note}", "notice") for line, note in file.notes)
    lines.append(summary(report))
    return "\n".join(lines) + "\n"
