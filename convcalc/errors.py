"""The one exception for the user's mistakes, where it happened, and the exit codes (SPEC 6)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, named in one place."""

    OK = 0
    LINT_FAILED = 1
    BAD_INPUT = 2
    INCONSISTENT = 3


@dataclass(frozen=True)
class Where:
    """Where an error happened: a file and line, and what is there (``layer 2 Conv2D(8, 9)``).

    ``outer`` is the enclosing place, for a layer inside a nested model.

    >>> str(Where("m.toml", 5, "layer 2 Conv2D(8, 9)"))
    'm.toml:5: layer 2 Conv2D(8, 9)'
    >>> str(Where(what="layer 2 'conv' (Conv2D)", outer=Where(what="layer 3 'inner' (Functional)")))
    "in layer 3 'inner' (Functional): layer 2 'conv' (Conv2D)"
    """

    file: str | None = None
    line: int | None = None
    what: str | None = None
    outer: "Where | None" = None

    @property
    def place(self) -> str:
        """``FILE:LINE``, ``FILE``, or ``""``."""
        if self.file is None:
            return ""
        return self.file if self.line is None else f"{self.file}:{self.line}"

    def describe(self) -> str:
        """What is there, without the file: nested places first."""
        parts = []
        if self.outer is not None and self.outer.describe():
            parts.append(f"in {self.outer.describe()}")
        if self.what:
            parts.append(self.what)
        return ": ".join(parts)

    def __str__(self) -> str:
        return ": ".join(part for part in (self.place, self.describe()) if part)


class ConvcalcError(Exception):
    """Bad input: a syntax error, an invalid argument, impossible geometry.

    ``message`` is one or a few plain sentences; ``where`` says where, and is
    rendered in one place, :attr:`text`.  The CLI prints ``Error: <text>`` and
    exits with ``exit_code``.
    """

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, message: str, where: Where | None = None):
        super().__init__(message)
        self.message = message
        self.where = where

    @property
    def detail(self) -> str:
        """The message with what it concerns, without the file and line."""
        what = self.where.describe() if self.where is not None else ""
        return f"{what}: {self.message}" if what else self.message

    @property
    def text(self) -> str:
        """``FILE:LINE: layer N NAME (Type): message``, each part when known."""
        place = self.where.place if self.where is not None else ""
        return f"{place}: {self.detail}" if place else self.detail

    def __str__(self) -> str:
        return self.text

    def at(self, where: Where) -> "ConvcalcError":
        """The same error, located: parts already known (an inner layer) stay, ``where`` fills the rest."""
        if self.where is None:
            located = where
        else:
            inner = self.where
            if where.what and inner.what and inner.what != where.what:
                inner = replace(inner, outer=_outermost(inner.outer, replace(where, file=None, line=None)))
            located = replace(inner, file=inner.file or where.file, line=inner.line if inner.file else where.line)
        error = type(self).__new__(type(self))
        error.__dict__.update(self.__dict__)
        Exception.__init__(error, self.message)
        error.where = located
        return error


def _outermost(chain: Where | None, outer: Where) -> Where:
    if chain is None:
        return outer
    return replace(chain, outer=_outermost(chain.outer, outer))


def unexpected_error(error: BaseException) -> str:
    """One sentence for an exception convcalc did not expect (a bug): its type and message, never a
    traceback.  Safe on any exception: a message that cannot be shown (a 5000-digit int) is left out.

    >>> unexpected_error(ValueError("bad"))
    'internal error (a bug in convcalc): ValueError: bad'
    >>> unexpected_error(RecursionError())
    'cannot be read: nested too deeply (RecursionError).'
    """
    if isinstance(error, RecursionError):
        return "cannot be read: nested too deeply (RecursionError)."
    if isinstance(error, MemoryError):
        return "cannot be read: out of memory (MemoryError)."
    try:
        message = str(error)
    except Exception:  # noqa: BLE001 - str() of the message itself failed
        message = ""
    if len(message) > 500:
        message = message[:500] + "..."
    name = type(error).__name__
    return f"internal error (a bug in convcalc): {name}{': ' + message if message else ''}"


def did_you_mean(word: str, candidates) -> str:
    """`` (did you mean 'X'?)``: the likely cause first, then the closest spelling, or ``""``.

    A name that differs only by case or underscores is what was meant (``conv2d`` is
    ``Conv2D``, ``Relu`` is ``relu``); otherwise difflib, comparing without case.

    >>> did_you_mean("conv2d", ["Conv2D", "Deconv2D"]), did_you_mean("Relu", ["elu", "relu"]), did_you_mean("LeakyReLU", ["leaky_relu"])
    (" (did you mean 'Conv2D'?)", " (did you mean 'relu'?)", " (did you mean 'leaky_relu'?)")
    """
    if not isinstance(word, str):
        return ""
    candidates = [c for c in candidates if isinstance(c, str)]

    def key(name: str) -> str:
        return name.lower().replace("_", "").replace("-", "")

    for same in (lambda c: c.lower() == word.lower(), lambda c: key(c) == key(word)):
        match = next((c for c in candidates if same(c)), None)
        if match is not None:
            return f" (did you mean {match!r}?)"
    import difflib  # loaded only on errors

    lowered: dict[str, str] = {}
    for candidate in candidates:
        lowered.setdefault(candidate.lower(), candidate)
    close = difflib.get_close_matches(word.lower()[:100], list(lowered), n=1)
    return f" (did you mean {lowered[close[0]]!r}?)" if close else ""
