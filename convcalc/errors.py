"""The one exception for the user's mistakes, and the exit codes (SPEC 6)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, named in one place."""

    OK = 0
    LINT_FAILED = 1
    BAD_INPUT = 2
    INCONSISTENT = 3


class ConvcalcError(Exception):
    """Bad input: a syntax error, an invalid argument, impossible geometry.

    The message is one or a few plain sentences; the CLI prints it after
    ``Error:`` and exits with ``exit_code``.
    """

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def within(self, context: str) -> "ConvcalcError":
        """The same error with a prefix naming where it happened."""
        return type(self)(f"{context}: {self.message}")


def did_you_mean(word: str, candidates) -> str:
    """`` (did you mean 'padding'?)`` for the closest candidate, or ``""``; difflib is loaded only on errors."""
    import difflib

    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
