"""Throughput of convcalc.kernels against PyTorch (CPU) and the naive reference, side by side.

For each case of a small suite of common layers, in the same process:

1. numerical check: convcalc's fast kernel against torch.nn.functional
   (conv2d / conv_transpose2d, NCHW, TensorFlow's asymmetric "same" padding
   applied explicitly with F.pad from convcalc.formulas' per-side padding);
2. timing: convcalc and torch run ``--runs`` times each, in alternating
   blocks with a pause between them (each library's threads spin-wait after
   a call and would slow the other down); the best time of each is
   reported, and the ratio ``convcalc throughput / torch throughput`` from
   the best times (and from the medians: on a shared machine the best
   times are the ones least disturbed by other processes);
3. the naive reference on one sample (it is slow), as time per sample.

Then the scratch memory peak of convcalc.conv2d on a 32x112x112x64 batch
(3x3, 64 filters), measured with tracemalloc (NumPy reports its buffers to
it), against the 512 MiB limit.

    python benchmarks/kernels.py [--runs 15] [--rounds 5] [--threads N] [--no-naive] [--only TEXT] [--repeat N]
                                 [--random N [--seed S]]

``--repeat N`` measures the whole suite N times, minutes apart for each
case: the table then pools every pass's calls (the best of all of them,
and their median), which is steadier than one pass on a shared machine,
and each pass's own geometric mean is printed too.  ``--random N`` measures
N layers drawn at random (seeded by ``--seed``) instead of the suite, with
the same targets.

Without torch the comparison is against the naive reference only.  Targets
(issue 12): geometric mean >= 0.7x torch's throughput; no case < 0.35x
except depthwise (>= 0.12x); scratch peak < 512 MiB.  Give torch and NumPy
the same number of threads (``--threads``, default NumPy's BLAS threads).
The last lines repeat the table in Markdown, for the README.  On a busy
machine torch's best time on a sub-millisecond case is sometimes ~20 ms
(its threads wake late), which inflates that case's ratio: rerun, or read
the medians.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import ctypes
import math
import os
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field

import numpy as np

from convcalc import formulas, kernels

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the comparison with torch is optional
    torch = None


@dataclass(frozen=True)
class Case:
    name: str
    x_shape: tuple[int, int, int, int]  # (n, h, w, c), channels_last
    kernel_shape: tuple[int, int, int, int]  # Keras layout
    transpose: bool = False
    args: dict = field(default_factory=dict)
    depthwise: bool = False


SUITE = [
    Case("ResNet stem 7x7/2 same, 224x224x3 -> 64", (1, 224, 224, 3), (7, 7, 3, 64),
         args=dict(strides=2, padding="same")),
    Case("3x3 same, 56x56x64 -> 64, batch 8", (8, 56, 56, 64), (3, 3, 64, 64), args=dict(padding="same")),
    Case("3x3/2 same, 28x28x128 strided -> 256, batch 8", (8, 28, 28, 128), (3, 3, 128, 256),
         args=dict(strides=2, padding="same")),
    Case("1x1, 14x14x256 -> 512, batch 8", (8, 14, 14, 256), (1, 1, 256, 512)),
    Case("depthwise 3x3 same, 56x56x64, batch 8", (8, 56, 56, 64), (3, 3, 1, 64),
         args=dict(padding="same", groups=64), depthwise=True),
    Case("3x3 dilation 2 same, 28x28x128 -> 128, batch 8", (8, 28, 28, 128), (3, 3, 128, 128),
         args=dict(padding="same", dilation_rate=2)),
    Case("transposed 4x4/2 same, 16x16x128 -> 64, batch 8", (8, 16, 16, 128), (4, 4, 64, 128), transpose=True,
         args=dict(strides=2, padding="same")),
    Case("transposed 3x3 valid, 28x28x64 -> 32, batch 8", (8, 28, 28, 64), (3, 3, 32, 64), transpose=True),
    # Small batches and small images (issue 12).
    Case("3x3 same, 28x28x128 -> 128, batch 1", (1, 28, 28, 128), (3, 3, 128, 128), args=dict(padding="same")),
    Case("3x3 same, 14x14x256 -> 256, batch 8", (8, 14, 14, 256), (3, 3, 256, 256), args=dict(padding="same")),
    Case("3x3 valid, 28x28x32 -> 64, batch 2", (2, 28, 28, 32), (3, 3, 32, 64)),
    Case("1x1, 28x28x32 -> 192, batch 1", (1, 28, 28, 32), (1, 1, 32, 192)),
    Case("5x5 same, 28x28x1 -> 32, batch 8", (8, 28, 28, 1), (5, 5, 1, 32), args=dict(padding="same")),
    # Stride-1 transposed convolutions.
    Case("transposed 3x3 same, 28x28x64 -> 64, batch 8", (8, 28, 28, 64), (3, 3, 64, 64), transpose=True,
         args=dict(padding="same")),
    Case("transposed 5x5 valid, 14x14x128 -> 64, batch 2", (2, 14, 14, 128), (5, 5, 64, 128), transpose=True),
    Case("transposed 3x3/2 same, 14x14x64 -> 32, batch 1", (1, 14, 14, 64), (3, 3, 32, 64), transpose=True,
         args=dict(strides=2, padding="same")),
    # Depthwise at 28x28 (MobileNetV2's expanded blocks).
    Case("depthwise 3x3 same, 28x28x192, batch 8", (8, 28, 28, 192), (3, 3, 1, 192),
         args=dict(padding="same", groups=192), depthwise=True),
    Case("depthwise 3x3/2 same, 28x28x144, batch 1", (1, 28, 28, 144), (3, 3, 1, 144),
         args=dict(strides=2, padding="same", groups=144), depthwise=True),
]

def random_cases(count: int, seed: int) -> list[Case]:
    """``count`` layers drawn at random (seeded): Conv2D, Conv2DTranspose and depthwise, kernels 1-7, strides
    1-2, dilation 1-2, 7x7 to 112x112 images, 1-256 channels, batches 1-8, both paddings; at most a
    56x56x256 batch of 8.  Checks the suite's choices on shapes nobody picked (``--random N``)."""
    import random

    rng = random.Random(seed)
    cases: list[Case] = []
    drawn: set[tuple] = set()
    while len(cases) < count:
        kind = rng.choice(["conv", "conv", "conv", "transpose", "depthwise"])
        hw, batch = rng.choice([7, 14, 28, 32, 56, 64, 112]), rng.choice([1, 2, 4, 8])
        cin, cout = rng.choice([1, 3, 16, 32, 64, 128, 256]), rng.choice([16, 32, 64, 128, 256])
        k, s = rng.choice([1, 3, 3, 3, 5, 7]), rng.choice([1, 1, 2])
        d = 1 if s > 1 or k == 1 else rng.choice([1, 1, 2])
        padding = rng.choice(["same", "valid"])
        if kind == "depthwise":
            cin = cout = rng.choice([32, 64, 96, 144, 192, 384])
        key = (kind, hw, batch, cin, cout if kind != "depthwise" else cin, k, s, d, padding)
        if hw < (k - 1) * d + 1 or batch * hw * hw * max(cin, cout) > 8 * 56 * 56 * 256 or key in drawn:
            continue
        drawn.add(key)
        name = f"{k}x{k}/{s} d{d} {padding}, {hw}x{hw}x{cin}"
        args = dict(strides=s, padding=padding, dilation_rate=d)
        if kind == "depthwise":
            cases.append(Case(f"depthwise {name}, batch {batch}", (batch, hw, hw, cin), (k, k, 1, cin),
                              args=dict(args, groups=cin), depthwise=True))
        elif kind == "transpose":
            cases.append(Case(f"transposed {name} -> {cout}, batch {batch}", (batch, hw, hw, cin),
                              (k, k, cout, cin), transpose=True, args=args))
        else:
            cases.append(Case(f"{name} -> {cout}, batch {batch}", (batch, hw, hw, cin), (k, k, cin, cout),
                              args=args))
    return cases


MEMORY_CASE = Case("3x3 same, 112x112x64 -> 64, batch 32", (32, 112, 112, 64), (3, 3, 64, 64),
                   args=dict(padding="same"))
MEMORY_LIMIT = 512 * 2**20
GEOMEAN_TARGET, FLOOR, DEPTHWISE_FLOOR = 0.7, 0.35, 0.12
IDLE_SECONDS = 0.2  # longer than OpenBLAS's and OpenMP's spin-wait after a call


def _pair(v):
    return (v, v) if isinstance(v, int) or v is None else tuple(v)


def blas_info() -> str:
    """Which BLAS kernel and thread count NumPy uses (threadpoolctl if installed, else ctypes)."""
    try:
        from threadpoolctl import threadpool_info

        infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if infos:
            return ", ".join(f"{i['internal_api']} {i.get('architecture')} x{i['num_threads']}" for i in infos)
    except ImportError:
        pass
    np.ones(2) @ np.ones(2)  # make sure BLAS is loaded
    try:
        paths = {line.split()[-1] for line in open("/proc/self/maps") if "openblas" in line.lower()}
    except OSError:
        return "unknown (no threadpoolctl, no /proc)"
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        for suffix in ("64_", ""):
            for prefix in ("scipy_openblas", "openblas"):
                try:
                    core = getattr(lib, f"{prefix}_get_corename{suffix}")
                    threads = getattr(lib, f"{prefix}_get_num_threads{suffix}")
                except AttributeError:
                    continue
                core.restype = ctypes.c_char_p
                return f"OpenBLAS {core().decode()} x{threads()} (via ctypes; threadpoolctl not installed)"
    return "unknown BLAS"


def blas_threads() -> int:
    info = blas_info()
    try:
        return int(info.split(" x")[1].split()[0].rstrip(","))
    except (IndexError, ValueError):
        return os.cpu_count() or 1


# ---------------------------------------------------------------- torch side


def torch_runner(case: Case, x: np.ndarray, kernel: np.ndarray, bias: np.ndarray):
    """A no-argument function computing the case with torch, NCHW, and a function giving NHWC numpy."""
    args = case.args
    strides = _pair(args.get("strides", 1))
    dilation = _pair(args.get("dilation_rate", 1))
    padding = args.get("padding", "valid")
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    bt = torch.from_numpy(bias)
    kh, kw = kernel.shape[:2]
    if not case.transpose:
        groups = args.get("groups", 1)
        wt = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))  # (out, in/groups, kh, kw)
        (top, bottom), (left, right) = (
            formulas.conv_padding(n, k, s, padding, d)
            for n, k, s, d in zip(x.shape[1:3], (kh, kw), strides, dilation)
        )
        pad = (left, right, top, bottom)  # F.pad: last axis first

        def run():
            xin = F.pad(xt, pad) if any(pad) else xt
            return F.conv2d(xin, wt, bt, stride=strides, dilation=dilation, groups=groups)
    else:
        wt = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))  # (in, out, kh, kw)
        op = _pair(args.get("output_padding"))
        pads = [
            formulas.conv_transpose_padding(k, s, padding, o, d) for k, s, o, d in zip((kh, kw), strides, op, dilation)
        ]
        # torch's padding p crops p from both sides of the full result; ours
        # crops ke-1-before at the start and leaves extra (output_padding) at the end.
        ke = [formulas.effective_kernel(k, d) for k, d in zip((kh, kw), dilation)]
        crop = [k - 1 - before for k, (before, _) in zip(ke, pads)]
        out_size = [
            formulas.conv_transpose_output_length(n, k, s, padding, o, d)
            for n, k, s, o, d in zip(x.shape[1:3], (kh, kw), strides, op, dilation)
        ]
        full = [(n - 1) * s + k for n, s, k in zip(x.shape[1:3], strides, ke)]

        def run():
            y = F.conv_transpose2d(xt, wt, bt, stride=strides, dilation=dilation)
            # crop the start, then pad or crop the end to the Keras length
            y = y[:, :, crop[0]:, crop[1]:]
            extra = [o - (f - c) for o, f, c in zip(out_size, full, crop)]
            return F.pad(y, (0, extra[1], 0, extra[0]))

    return run


# ---------------------------------------------------------------- timing


def run_times(functions, runs: int, rounds: int = 5):
    """(best, median) wall time of each function over ``rounds`` alternating blocks of runs.

    Not call-by-call alternation: after a call, OpenBLAS's threads spin for
    up to ~0.1 s (and OpenMP's for a while) waiting for more work, and on a
    2-core machine that steals the other library's cores.  So each library
    runs a block of calls, then sleeps until its threads are idle; blocks
    alternate so that slow drifts of the machine hit both alike.
    """
    return [(min(ts), statistics.median(ts)) for ts in timings(functions, runs, rounds)]


def timings(functions, runs: int, rounds: int = 5) -> list[list[float]]:
    """Every timed call of each function, as :func:`run_times` makes them."""
    times = [[] for _ in functions]
    per_block = max(1, -(-runs // rounds))
    for _ in range(rounds):
        for f, ts in zip(functions, times):
            f()  # warm-up: caches, thread pools, lazy allocations
            for _ in range(per_block):
                t0 = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t0)
            time.sleep(IDLE_SECONDS)
    return times


def geometric_mean(values) -> float:
    values = list(values)
    return math.exp(sum(map(math.log, values)) / len(values))


def arrays(case: Case, batch: int | None = None, seed: int = 0):
    rng = np.random.default_rng(seed)
    shape = case.x_shape if batch is None else (batch, *case.x_shape[1:])
    x = rng.standard_normal(shape, dtype=np.float32)
    kernel = rng.standard_normal(case.kernel_shape, dtype=np.float32)
    kernel *= 1 / math.sqrt(np.prod(case.kernel_shape[:3]))
    filters = case.kernel_shape[2] if case.transpose else case.kernel_shape[3]
    bias = rng.standard_normal(filters, dtype=np.float32)
    return x, kernel, bias


def fast_fn(case: Case):
    return kernels.conv2d_transpose if case.transpose else kernels.conv2d


def naive_fn(case: Case):
    return kernels.conv2d_transpose_naive if case.transpose else kernels.conv2d_naive


def memory_peak(case: Case) -> tuple[int, int, float]:
    """(measured scratch peak, estimated scratch, seconds) of one call, by tracemalloc."""
    x, kernel, bias = arrays(case)
    estimate = kernels.conv2d_scratch_bytes(x.shape, kernel.shape, **case.args)
    out_bytes = kernels.conv2d_memory(x.shape, kernel.shape, **case.args) - estimate
    kernels.release_scratch()  # the buffers kept from earlier calls would hide the allocations
    tracemalloc.start()
    t0 = time.perf_counter()
    y = kernels.conv2d(x, kernel, bias, **case.args)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert y.nbytes == out_bytes
    return peak - out_bytes, estimate, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per case and library")
    parser.add_argument("--rounds", type=int, default=5, help="alternating blocks the runs are split into")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: NumPy's BLAS threads)")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive reference")
    parser.add_argument("--only", default=None, help="run only the cases whose name contains this text")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure the whole suite this many times; the table pools every pass's calls")
    parser.add_argument("--random", type=int, default=0, metavar="N",
                        help="measure N random layers (see random_cases) instead of the suite")
    parser.add_argument("--seed", type=int, default=0, help="seed of --random")
    opts = parser.parse_args()

    numpy_threads = blas_threads()
    print(f"NumPy {np.__version__}, BLAS: {blas_info()}")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (other processes disturb the timings)")
    names = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
    env = {k: os.environ[k] for k in names if k in os.environ}
    print(f"BLAS environment: {env or 'none of ' + ', '.join(names) + ' set'}")
    if torch is None:
        print("torch: not installed; comparing with the naive reference only")
    else:
        torch.set_num_threads(opts.threads or numpy_threads)
        print(f"torch {torch.__version__}, threads: {torch.get_num_threads()}; NumPy's BLAS threads: {numpy_threads}")
    print()

    header = (
        f"{'case':50} {'convcalc':>9} {'torch':>9} {'ratio':>6} {'(median)':>8} {'naive/sample':>12} "
        f"{'x naive':>8} {'rel err':>8}"
    )
    suite = random_cases(opts.random, opts.seed) if opts.random else SUITE
    cases = [case for case in suite if not opts.only or opts.only in case.name]
    pooled: dict[str, tuple[list, list]] = {case.name: ([], []) for case in cases}  # every timed call
    failures, pass_means = [], []
    for repeat in range(opts.repeat):
        if opts.repeat > 1:
            print(f"pass {repeat + 1} of {opts.repeat}")
        print(header)
        print("-" * len(header))
        ratios = []
        for case in cases:
            x, kernel, bias = arrays(case)
            fast = fast_fn(case)
            y = fast(x, kernel, bias, **case.args)
            run_fast = lambda: fast(x, kernel, bias, **case.args)  # noqa: E731
            err = float("nan")
            fast_times, torch_times = pooled[case.name]
            if torch is not None:
                run_torch = torch_runner(case, x, kernel, bias)
                with torch.no_grad():
                    ref = run_torch().numpy().transpose(0, 2, 3, 1)
                    assert ref.shape == y.shape, (case.name, ref.shape, y.shape)
                    err = float(np.max(np.abs(ref - y)) / np.max(np.abs(ref)))
                    ours, theirs = timings([run_fast, run_torch], opts.runs, opts.rounds)
                fast_times += ours
                torch_times += theirs
                t_fast, t_torch = min(ours), min(theirs)
                ratio, median_ratio = t_torch / t_fast, statistics.median(theirs) / statistics.median(ours)
                ratios.append(ratio)
                if err > 1e-4:
                    failures.append(f"{case.name}: relative error {err:.1e} against torch")
            else:
                (ours,) = timings([run_fast], opts.runs, opts.rounds)
                fast_times += ours
                t_fast, t_torch = min(ours), float("nan")
                ratio = median_ratio = float("nan")
            naive_cell = speedup_cell = "-"
            if not opts.no_naive and repeat == 0:
                # One sample: the loops are slow.  Its result checks the fast one too.
                xs = x[:1]
                t0 = time.perf_counter()
                ref1 = naive_fn(case)(xs, kernel, bias, **case.args)
                t_naive = time.perf_counter() - t0
                if not np.allclose(ref1, y[:1], rtol=1e-4, atol=1e-4):
                    failures.append(f"{case.name}: fast differs from naive")
                per_sample_fast = t_fast / x.shape[0]
                naive_cell, speedup_cell = f"{t_naive * 1e3:10.0f}ms", f"{t_naive / per_sample_fast:7.0f}x"
            print(
                f"{case.name:50} {t_fast * 1e3:7.2f}ms {t_torch * 1e3:7.2f}ms {ratio:5.2f}x {median_ratio:7.2f}x "
                f"{naive_cell:>12} {speedup_cell:>8} {err:8.1e}"
            )
        if ratios:
            pass_means.append(geometric_mean(ratios))
            print(f"\ngeometric mean of this pass: {pass_means[-1]:.2f}x from best times\n")

    markdown, ratios, median_ratios = [], [], []
    for case in cases:
        fast_times, torch_times = pooled[case.name]
        t_fast = min(fast_times)
        if not torch_times:
            markdown.append(f"| {case.name} | {t_fast * 1e3:.2f} | - | - | - |")
            continue
        t_torch = min(torch_times)
        ratio = t_torch / t_fast
        median_ratio = statistics.median(torch_times) / statistics.median(fast_times)
        ratios.append(ratio)
        median_ratios.append(median_ratio)
        floor = DEPTHWISE_FLOOR if case.depthwise else FLOOR
        if ratio < floor:
            failures.append(f"{case.name}: {ratio:.2f}x torch < {floor}x")
        markdown.append(
            f"| {case.name} | {t_fast * 1e3:.2f} | {t_torch * 1e3:.2f} | {ratio:.2f}x | {median_ratio:.2f}x |"
        )
    if ratios:
        geomean, median_geomean = geometric_mean(ratios), geometric_mean(median_ratios)
        passes = "" if opts.repeat == 1 else (
            f" over {opts.repeat} passes (each pass alone: {min(pass_means):.2f}x to {max(pass_means):.2f}x)")
        print(
            f"\ngeometric mean of convcalc/torch throughput{passes}: {geomean:.2f}x from best times "
            f"({median_geomean:.2f}x from medians); target >= {GEOMEAN_TARGET}x"
        )
        if geomean < GEOMEAN_TARGET:
            failures.append(f"geometric mean {geomean:.2f}x < {GEOMEAN_TARGET}x")
        markdown.append(f"| **geometric mean** | | | **{geomean:.2f}x** | **{median_geomean:.2f}x** |")
    print("\n| case | convcalc ms (best) | torch ms (best) | ratio (best) | ratio (median) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print("\n".join(markdown) + "\n")

    scratch, estimate, seconds = memory_peak(MEMORY_CASE)
    print(
        f"scratch peak, {MEMORY_CASE.name}: {scratch / 2**20:.1f} MiB measured (tracemalloc, output excluded), "
        f"{estimate / 2**20:.1f} MiB estimated; limit {MEMORY_LIMIT / 2**20:.0f} MiB; {seconds:.2f} s"
    )
    if scratch >= MEMORY_LIMIT:
        failures.append(f"scratch peak {scratch / 2**20:.0f} MiB >= 512 MiB")

    print("\n" + ("targets met" if not failures else "targets NOT met:\n  " + "\n  ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
