"""A whole model through ``convcalc shape --run`` against Keras's own ``model.predict`` (TensorFlow CPU).

MobileNetV2 (``keras.applications.MobileNetV2(weights=None)``, random
weights, 224x224x3, batch 8 by default):

1. Keras builds the model; its config (``model.to_json()``), its weights
   (``{f"{l.name}/{w.name}": w.numpy() for l in model.layers for w in l.weights}``,
   moving statistics included) and a random input batch go to a temporary
   directory;
2. Keras: ``model.predict(x, batch_size=batch)`` ``--runs`` times after one
   warm-up call; best and median wall times;
3. convcalc: ``python -m convcalc shape --file model.json --run --sample x.npy
   --weights w.npz --save y.npy --format json`` in a subprocess (its own
   process, so TensorFlow's threads do not compete with it), ``--runs``
   times; the run's own time (the JSON's ``run.seconds``: the layers, without
   start-up and file reading) and the subprocess's wall time;
4. the outputs compared (maximum absolute difference relative to the
   largest output; the issue asks for 1e-4).

Keras and convcalc alternate, with a pause between them (each library's
threads spin-wait after a call).  Run with the Python that has TensorFlow,
Keras and convcalc's CLI dependencies (typer, rich):

    PYTHONPATH=/work/main /work/tfvenv/bin/python benchmarks/whole_model.py [--batch 8] [--runs 3] [--size 224]

A layer that convcalc cannot run yet ends the convcalc side with its error
message (exit 2 from the CLI); the Keras side is still reported.  Not part
of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

IDLE_SECONDS = 0.5


def build_model(size: int):
    """MobileNetV2 with random weights and random moving statistics (so normalization is not the identity)."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(input_shape=(size, size, 3), weights=None)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.1, layer.moving_mean.shape).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, layer.moving_variance.shape).astype("float32"))
    return model


def save_inputs(model, batch: int, size: int, folder: Path) -> tuple[Path, Path, Path, np.ndarray]:
    config = folder / "model.json"
    config.write_text(model.to_json())
    weights = folder / "weights.npz"
    np.savez(weights, **{f"{l.name}/{w.name}": np.asarray(w.numpy()) for l in model.layers for w in l.weights})
    x = np.random.default_rng(1).standard_normal((batch, size, size, 3)).astype(np.float32)
    sample = folder / "x.npy"
    np.save(sample, x)
    return config, weights, sample, x


def convcalc_command(config: Path, sample: Path, weights: Path, output: Path) -> list[str]:
    return [
        sys.executable, "-m", "convcalc", "shape", "--file", str(config), "--run", "--sample", str(sample),
        "--weights", str(weights), "--save", str(output), "--format", "json",
    ]


def run_convcalc(command: list[str]) -> tuple[float, float | None, str | None]:
    """(wall seconds, the run's own seconds, error message or None)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        return wall, None, (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}")
    try:
        seconds = json.loads(done.stdout)["run"]["seconds"]
    except (ValueError, KeyError, TypeError):
        seconds = None
    return wall, seconds, None


def describe(times: list[float]) -> str:
    return f"best {min(times) * 1e3:8.0f} ms, median {statistics.median(times) * 1e3:8.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each side")
    opts = parser.parse_args()

    import keras
    import tensorflow as tf

    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {np.__version__}")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (other processes disturb the timings)")
    model = build_model(opts.size)
    print(f"MobileNetV2 {opts.size}x{opts.size}x3, batch {opts.batch}: {len(model.layers)} layers, "
          f"{model.count_params():,} parameters, random weights")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config, weights, sample, x = save_inputs(model, opts.batch, opts.size, folder)
        output = folder / "y.npy"
        command = convcalc_command(config, sample, weights, output)

        reference = model.predict(x, batch_size=opts.batch, verbose=0)  # warm-up, and the reference output
        keras_times, walls, runs, error = [], [], [], None
        for _ in range(opts.runs):
            t0 = time.perf_counter()
            model.predict(x, batch_size=opts.batch, verbose=0)
            keras_times.append(time.perf_counter() - t0)
            time.sleep(IDLE_SECONDS)
            if error is None:
                wall, seconds, error = run_convcalc(command)
                if error is None:
                    walls.append(wall)
                    if seconds is not None:
                        runs.append(seconds)
                time.sleep(IDLE_SECONDS)

        print(f"\nKeras model.predict:          {describe(keras_times)}")
        if error is not None:
            print(f"convcalc shape --run:         not runnable yet:\n  {error}")
            print("\n  command: " + " ".join(command[1:]))
            return 1
        print(f"convcalc shape --run (wall):  {describe(walls)}  (process start, reading, run, saving)")
        if runs:
            print(f"convcalc run (layers only):   {describe(runs)}")
            print(f"\nthroughput convcalc/Keras: {min(keras_times) / min(runs):.2f}x from best times "
                  f"({statistics.median(keras_times) / statistics.median(runs):.2f}x from medians), "
                  f"layers only; {min(keras_times) / min(walls):.2f}x with the process's start-up")
        ours = np.load(output)
        error_rel = float(np.max(np.abs(ours - reference)) / np.max(np.abs(reference)))
        print(f"output {ours.shape}, max |convcalc - Keras| / max |Keras| = {error_rel:.1e} (target 1e-4)")
        return 0 if error_rel <= 1e-4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
