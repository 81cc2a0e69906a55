"""Shell completions: the files match the app, and real shells offer what they should."""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from convcalc.cli import complete_layer

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "completions"

# command line typed before TAB -> what must be offered (exactly)
EXPECTED = {
    "convcalc sh": ["shape"],
    "convcalc shape --data-format ": ["channels_first", "channels_last"],
    "convcalc shape --format ": ["csv", "json", "markdown", "table"],
    "convcalc shape Conv": [
        "Conv1D(", "Conv1DTranspose(", "Conv2D(", "Conv2DTranspose(", "Conv3D(", "Conv3DTranspose(",
        "Convolution1D(", "Convolution1DTranspose(", "Convolution2D(", "Convolution2DTranspose(",
        "Convolution3D(", "Convolution3DTranspose(",
    ],
}


def shell_env():
    """PATH with this Python's scripts first, so the scripts' call-back finds this convcalc."""
    scripts = str(Path(sys.executable).parent)
    assert shutil.which("convcalc", path=scripts), "convcalc is not installed beside this Python"
    return dict(os.environ, PATH=scripts + os.pathsep + os.environ.get("PATH", ""))


def test_completion_files_match_the_app():
    spec = importlib.util.spec_from_file_location("make_completions", ROOT / "scripts" / "make_completions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.render_all().items():
        assert (COMPLETIONS / name).read_text() == text, f"completions/{name} drifted: run scripts/make_completions.py"


def test_layer_names_complete_to_calls():
    assert complete_layer("Conv2DT") == ["Conv2DTranspose("]
    assert "keras.layers.Conv2D(" in complete_layer("keras.layers.Con")
    assert complete_layer("In") == ["Input("]
    assert complete_layer("Dense") == ["Dense("]
    assert complete_layer("Bogus") == []


BASH = r"""
source "$1"
line="$2"
read -ra COMP_WORDS <<< "$line"
[[ "$line" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_convcalc_completion convcalc
printf '%s\n' "${COMPREPLY[@]}"
"""


@pytest.mark.parametrize("line", list(EXPECTED))
def test_bash_offers(line):
    out = subprocess.run(
        ["bash", "-c", BASH, "bash", str(COMPLETIONS / "convcalc.bash"), line],
        capture_output=True, text=True, env=shell_env(), timeout=60, check=True,
    ).stdout
    assert sorted(filter(None, out.splitlines())) == EXPECTED[line]


def test_bash_registers_file_fallback_for_paths():
    text = (COMPLETIONS / "convcalc.bash").read_text()
    assert "complete -o default -F _convcalc_completion convcalc" in text


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
@pytest.mark.parametrize("line", list(EXPECTED))
def test_fish_offers(line):
    script = f"source {COMPLETIONS / 'convcalc.fish'}; complete -C '{line}'"
    out = subprocess.run(["fish", "-c", script], capture_output=True, text=True, env=shell_env(), timeout=60).stdout
    assert sorted(entry.split("\t")[0] for entry in out.splitlines() if entry) == EXPECTED[line]


def zsh_has_zpty():
    if shutil.which("zsh") is None:
        return False
    return subprocess.run(["zsh", "-fc", "zmodload zsh/zpty"], capture_output=True).returncode == 0


@pytest.mark.skipif(not zsh_has_zpty(), reason="zsh with zsh/zpty is not installed")
@pytest.mark.parametrize("line", list(EXPECTED))
def test_zsh_offers_from_fpath(line, tmp_path):
    env = shell_env()
    env["HOME"] = str(tmp_path)
    out = subprocess.run(
        ["zsh", "-f", str(ROOT / "tests" / "shell" / "capture_zsh.zsh"), str(COMPLETIONS), line],
        capture_output=True, text=True, env=env, timeout=60,
    ).stdout
    # zsh quotes the parenthesis it would insert: Conv2D\(
    assert sorted(entry.replace("\\(", "(") for entry in out.splitlines() if entry) == EXPECTED[line]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_file_names_for_paths():
    script = f"source {COMPLETIONS / 'convcalc.fish'}; complete -C 'convcalc lint examples/au'; complete -C 'convcalc shape --sample exa'"
    out = subprocess.run(["fish", "-c", script], capture_output=True, text=True, env=shell_env(), timeout=60, cwd=ROOT).stdout
    assert out.split() == ["examples/autoencoder.convcalc.toml", "examples/"]


@pytest.mark.skipif(not zsh_has_zpty(), reason="zsh with zsh/zpty is not installed")
def test_zsh_completes_file_names_for_paths(tmp_path):
    env = shell_env()
    env["HOME"] = str(tmp_path)
    out = subprocess.run(
        ["zsh", "-f", str(ROOT / "tests" / "shell" / "capture_zsh.zsh"), str(COMPLETIONS), "convcalc lint examples/au"],
        capture_output=True, text=True, env=env, timeout=60, cwd=ROOT,
    ).stdout
    assert out.split() == ["autoencoder.convcalc.toml"]
