import json

import pytest
import typer.main
import typer.testing
from typer.testing import CliRunner

from convcalc.cli import app

# Typer builds the click command from the app's signatures on every CliRunner.invoke (about 30 ms);
# the command is the same each time, so the thousands of in-process invocations build it once
_COMMANDS: dict = {}


def _command_once(typer_app):
    if id(typer_app) not in _COMMANDS:
        _COMMANDS[id(typer_app)] = (typer_app, typer.main.get_command(typer_app))
    return _COMMANDS[id(typer_app)][1]


typer.testing._get_command = _command_once

# tests/data holds model-building scripts read by convcalc (never imported): not test modules
collect_ignore_glob = ["data/*"]


@pytest.fixture(autouse=True)
def isolated_keras_home(tmp_path, monkeypatch):
    """No user's ~/.keras/keras.json may change a test's data format."""
    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def run(*args, input=None):
    """Invoke the CLI in-process; returns click's Result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def run_json(*args):
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def traced_peak(call):
    """``(call(), peak bytes NumPy and Python allocated during it)``, as tracemalloc counts them."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
