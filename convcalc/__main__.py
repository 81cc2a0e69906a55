"""``python -m convcalc``."""

from convcalc.cli import run

run()
