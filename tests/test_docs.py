"""The docs cannot rot: every convcalc command in the README runs, every command and option has help."""

import re
import shlex
from pathlib import Path

import pytest
import typer

from conftest import run
from convcalc import __version__
from convcalc.cli import app

ROOT = Path(__file__).resolve().parent.parent


def readme_commands():
    """Lines of the README's code blocks that run convcalc (also after `&&`), with the exit code they expect."""
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```(?:bash|sh|console)\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line, _, comment = line.partition("  # ")
            command = line.split("&& ")[-1].strip()
            if command.startswith("convcalc "):
                expected = re.search(r"exits? (\d)", comment)
                commands.append((command, int(expected.group(1)) if expected else 0))
    return commands


def test_the_readme_has_commands():
    assert len(readme_commands()) >= 8


@pytest.mark.parametrize("command,expected", readme_commands(), ids=[c for c, _ in readme_commands()])
def test_readme_command_runs(command, expected, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[1:]
    result = run(*args)
    assert result.exit_code == expected, (result.stdout, result.stderr)


def all_commands():
    group = typer.main.get_command(app)
    return [(name, group.get_command(None, name)) for name in group.list_commands(None)]


@pytest.mark.parametrize("name,command", all_commands(), ids=[n for n, _ in all_commands()])
def test_every_command_has_a_summary_an_example_and_option_help(name, command):
    assert command.help and command.help.strip().splitlines()[0], name
    assert "Example" in command.help and f"convcalc {name}" in command.help
    for param in command.params:
        assert getattr(param, "help", None), f"{name}: {param.name} has no help text"
    assert name in (ROOT / "README.md").read_text()


def test_top_level_help_version_and_short_help():
    assert run("--version").stdout.strip() == f"convcalc {__version__}"
    for flag in ("-h", "--help"):
        result = run(flag)
        assert result.exit_code == 0 and "shape" in result.stdout
    assert "Usage" in run("shape", "-h").stdout


def test_no_escape_codes_when_not_a_terminal():
    result = run("shape", "--input", "8x8x3", "Conv2D(4, 3)")
    assert "\x1b[" not in result.stdout
