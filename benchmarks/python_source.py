"""Reading a model-building Python script statically, against a one-layer `convcalc shape`, side by side.

Issue 10's target: `convcalc shape --file SCRIPT.py` on a 300-line example script takes at most 1.3x
the time of `convcalc shape --input 224x224x3 "Conv2D(64, 7, strides=2, padding='same')"` (both
printing JSON, start-up included). The two commands run interleaved in one loop, so that noise on a
shared machine hits both alike; the medians and their ratio are printed. The default script is the
corpus's WGAN-GP example (two models, helper functions, loops) padded to 300 lines with the training,
data loading and plotting code such scripts carry, which convcalc must skip without reading.

    python benchmarks/python_source.py [--runs 15] [--script PATH]
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

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "pysources"
LAYER = "Conv2D(64, 7, strides=2, padding='same')"
ONE_LAYER = [sys.executable, "-m", "convcalc", "shape", "--input", "224x224x3", LAYER, "--format", "json"]
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # bytecode cached, as installed

TRAINING = '''

def train_step(batch, epoch):
    """Training code of the kind example scripts hold: skipped, never read further."""
    with tf.GradientTape() as tape:
        loss = compute_loss(batch)
    grads = tape.gradient(loss, g_model.trainable_weights)
    optimizer.apply_gradients(zip(grads, g_model.trainable_weights))
    if epoch % 10 == 0:
        print(f"epoch {epoch}: {float(loss):.4f}")
    return loss
'''


def script(lines: int = 300) -> str:
    """The corpus's largest script, padded with training functions to ``lines`` lines."""
    text = (CORPUS / "wgan_gp.py").read_text()
    while text.count("\n") < lines:
        text += TRAINING.replace("train_step", f"train_step_{text.count(chr(10))}")
    return text


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--script", type=Path, help="a model-building script (default: the padded corpus script)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.script or Path(tmp) / "example.py"
        if args.script is None:
            path.write_text(script())
        source = [sys.executable, "-m", "convcalc", "shape", "--file", str(path), "--format", "json"]
        for cmd in (ONE_LAYER, source):  # warm up: bytecode written, files in the page cache
            timed(cmd)
        base, read = [], []
        for _ in range(args.runs):
            base.append(timed(ONE_LAYER))
            read.append(timed(source))
    lines = path.read_text().count("\n") if args.script else script().count("\n")
    b, r = statistics.median(base), statistics.median(read)
    print(f"{'case':<34}{'median ms':>10}{'best ms':>10}")
    print(f"{'convcalc, one layer':<34}{b * 1000:>10.1f}{min(base) * 1000:>10.1f}")
    print(f"{f'convcalc --file ({lines} lines)':<34}{r * 1000:>10.1f}{min(read) * 1000:>10.1f}")
    print(f"\nscript / one layer: {r / b:.2f}x (target <= 1.3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
