"""Wall time of `convcalc shape --file BIG` per output format against JSON of the same stack, side by side.

The baseline is JSON (issue 9: the table of 20k layers took 20 s while JSON took 5 s, and 100k
layers never finished as a table).  Each format runs interleaved with the baseline in the same loop,
so that noise on a shared machine hits both alike; the median of the runs is reported.

    python benchmarks/output_size.py [--layers 10000 100000] [--runs 3]

Target: 10k layers in any format within a few seconds; every format within ~1.5x JSON.
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

FORMATS = ("table", "csv", "markdown")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(path: Path, output_format: str) -> float:
    command = [sys.executable, "-m", "convcalc", "shape", "--file", str(path), "--format", output_format]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'layers':>8}  {'format':<9} {'seconds':>8}  {'json s':>8}  {'ratio':>6}")
        for count in args.layers:
            path = Path(tmp) / f"stack_{count}.json"
            path.write_text(json.dumps({"input": "8x8x3", "layers": ["Conv2D(4, 1)"] * count}))
            for output_format in FORMATS:
                times, baseline = [], []
                for _ in range(args.runs):
                    baseline.append(timed(path, "json"))
                    times.append(timed(path, output_format))
                seconds, json_seconds = statistics.median(times), statistics.median(baseline)
                print(f"{count:>8}  {output_format:<9} {seconds:>8.2f}  {json_seconds:>8.2f}  {seconds / json_seconds:>5.2f}x",
                      flush=True)


if __name__ == "__main__":
    main()
