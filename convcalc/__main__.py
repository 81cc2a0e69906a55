"""``python -m convcalc``."""

from convcalc.cli import app

app(prog_name="convcalc")
