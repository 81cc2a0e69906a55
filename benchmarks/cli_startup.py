"""Wall time of `convcalc shape ... --format json` against baselines, side by side.

Baselines, each run interleaved with convcalc in the same loop so that noise
on a shared machine hits both alike (the median of the runs is reported):

- a hello-world Typer app (one command that prints its option): the floor
  any Typer CLI pays;
- the same stack with 2000 layers: how the work grows with the stack;
- the same answer from Keras (``model.output.shape``), when a Python with
  Keras is given by ``--keras-python`` or importable here.

    python benchmarks/cli_startup.py [--runs 15] [--keras-python /path/to/python]

Target (issue 2): convcalc <= 1.3x hello world, 2000 layers <= 3x one layer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAYER = "Conv2D(64, 7, strides=2, padding='same')"
CONVCALC = [sys.executable, "-m", "convcalc", "shape", "--input", "224x224x3", LAYER, "--format", "json"]

HELLO = '''
import typer
app = typer.Typer()

@app.command()
def hello(name: str = "world"):
    print(f"hello {name}")

app()
'''

KERAS = '''
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
x = keras.Input(shape=(224, 224, 3))
y = keras.layers.Conv2D(64, 7, strides=2, padding="same")(x)
print(tuple(y.shape), keras.Model(x, y).count_params())
'''


# Bytecode is cached as after a normal pip install (which compiles it): a PYTHONDONTWRITEBYTECODE
# in the environment would make every run recompile convcalc from source, and not the baseline.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd, env=ENV)
    return time.perf_counter() - start


def keras_python(given: str | None) -> str | None:
    if given:
        return given
    probe = subprocess.run([sys.executable, "-c", "import keras"], capture_output=True)
    return sys.executable if probe.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keras-python", help="a Python that has keras and tensorflow installed")
    parser.add_argument("--keras-runs", type=int, default=3)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp, "hello.py")
        hello.write_text(HELLO)
        many = [*CONVCALC[:6], *([LAYER.replace("strides=2", "strides=1")] * 2000), "--format", "json"]
        cases = {
            "hello-world Typer app": [sys.executable, str(hello), "--name", "convcalc"],
            "convcalc, 1 layer": CONVCALC,
            "convcalc, 2000 layers": many,
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for name, cmd in cases.items():  # warm the file cache once
            timed(cmd, tmp)
        for _ in range(options.runs):
            for name, cmd in cases.items():
                times[name].append(timed(cmd, tmp))

        py = keras_python(options.keras_python)
        if py:
            keras_file = Path(tmp, "keras_shape.py")
            keras_file.write_text(KERAS)
            env_cmd = [py, str(keras_file)]
            times["Keras 3 (same answer)"] = [timed(env_cmd, tmp) for _ in range(options.keras_runs)]

    median = {name: statistics.median(values) for name, values in times.items()}
    base = median["convcalc, 1 layer"]
    print(f"{'case':<26} {'median ms':>10} {'best ms':>9} {'vs convcalc 1 layer':>20}")
    for name, values in times.items():
        print(f"{name:<26} {median[name] * 1000:>10.1f} {min(values) * 1000:>9.1f} {median[name] / base:>19.2f}x")
    print()
    print(f"convcalc / hello-world Typer: {base / median['hello-world Typer app']:.2f}x (target <= 1.3x)")
    print(f"2000 layers / 1 layer:        {median['convcalc, 2000 layers'] / base:.2f}x (target <= 3x)")
    if py:
        print(f"Keras / convcalc:             {median['Keras 3 (same answer)'] / base:.1f}x")
    else:
        print("Keras: not installed here (pass --keras-python)")


if __name__ == "__main__":
    main()
