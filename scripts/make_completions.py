"""Write the shell completion scripts in completions/ from the Typer app.

Each script is what ``_CONVCALC_COMPLETE=source_<shell> convcalc`` prints;
the scripts call convcalc back at TAB time, so the app decides what is
offered (commands, option values, layer names, files).

    python scripts/make_completions.py          # rewrite completions/
    python scripts/make_completions.py --check  # exit 1 if completions/ differs from the app
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = {
    "bash": "convcalc.bash",
    "zsh": "_convcalc",  # zsh autoloads a function file named after its #compdef
    "fish": "convcalc.fish",
    "powershell": "convcalc.ps1",
}


ZSH_COMPDEF = "compdef _convcalc_completion convcalc"
# Typer's zsh script only registers itself; loaded from $fpath by compinit it must also complete.
ZSH_EITHER_WAY = """if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
  _convcalc_completion "$@"
else
  compdef _convcalc_completion convcalc
fi"""


def render(shell: str) -> str:
    env = dict(os.environ, _CONVCALC_COMPLETE=f"source_{shell}")
    text = subprocess.run(
        [sys.executable, "-m", "convcalc"], env=env, capture_output=True, text=True, check=True
    ).stdout
    # "#compdef" must be the first line of a zsh completion file: drop Typer's leading blank line.
    text = text.strip() + "\n"
    if shell == "zsh":
        if ZSH_COMPDEF not in text:
            raise SystemExit("Typer's zsh script changed: update ZSH_COMPDEF in scripts/make_completions.py")
        text = text.replace(ZSH_COMPDEF, ZSH_EITHER_WAY)
    return text


def render_all() -> dict[str, str]:
    return {name: render(shell) for shell, name in FILES.items()}


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    for name, text in render_all().items():
        path = ROOT / "completions" / name
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"completions/ is out of date: {', '.join(stale)}; run python scripts/make_completions.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
