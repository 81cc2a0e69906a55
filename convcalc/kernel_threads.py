"""Threads and scratch buffers of the fast kernels.

A pool of threads (NumPy releases the GIL in its loops, BLAS has its own threads), how many
threads this process may use, work split over them, and scratch buffers reused from chunk to
chunk and kept from call to call in each thread (``release_scratch`` frees them).
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

# Scratch buffers totalling at most this are kept from one call to the next
# in the same thread (release_scratch() frees them): fresh memory costs a page
# fault per 4 KiB on first touch, more than the arithmetic of a small layer.
_KEEP_SCRATCH_BYTES = 64 * 2**20


def _thread_count() -> int:
    """Threads for element-wise work: the CPUs this process may use, or fewer if
    ``OMP_NUM_THREADS``/``OPENBLAS_NUM_THREADS`` asks for fewer.

    Read once per process (and again when those variables change): asking the
    kernel for the affinity on every call costs more than a small layer.
    """
    key = (os.getpid(), os.environ.get("OMP_NUM_THREADS"), os.environ.get("OPENBLAS_NUM_THREADS"))
    if _threads_known[0] != key:
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cpus = os.cpu_count() or 1
        for value in key[1:]:
            try:
                cpus = min(cpus, max(1, int(value)))
            except (TypeError, ValueError):
                pass
        _threads_known[:] = [key, cpus]
    return _threads_known[1]


_threads_known: list = [None, 1]  # [(pid, OMP_NUM_THREADS, OPENBLAS_NUM_THREADS), threads]


# (process id, workers, pool): made on first use, again after a fork or if more threads are wanted.
_pool: tuple[int, int, ThreadPoolExecutor] | None = None


def _executor(threads: int) -> ThreadPoolExecutor:
    """The pool, with at least ``threads`` workers (as many as this process may use, so it is rarely replaced:
    a replaced pool's threads would keep their scratch buffers)."""
    global _pool
    if _pool is None or _pool[0] != os.getpid() or _pool[1] < threads:
        if _pool is not None and _pool[0] == os.getpid():
            _pool[2].shutdown(wait=False)
        threads = max(threads, _thread_count())
        _pool = (os.getpid(), threads, ThreadPoolExecutor(max_workers=threads, thread_name_prefix="convcalc"))
    return _pool[2]


def _in_parallel(
    function: Callable[[slice, slice], None], samples: int, rows: int, items: int, min_items: int
) -> None:
    """Call ``function(samples_slice, rows_slice)`` on disjoint parts of a chunk, in threads.

    The chunk (``samples`` x ``rows``, ``items`` numbers in all) is cut
    along its longer axis, into parts of at least ``min_items`` numbers;
    each part must touch only its own output.
    """
    threads = min(_thread_count(), items // min_items, max(samples, rows))
    if threads <= 1 or getattr(_worker, "active", False):  # chunk workers already fill the threads
        function(slice(0, samples), slice(0, rows))
        return
    length = samples if samples >= rows else rows
    bounds = [length * i // threads for i in range(threads + 1)]
    if samples >= rows:
        parts = [(slice(a, b), slice(0, rows)) for a, b in zip(bounds, bounds[1:])]
    else:
        parts = [(slice(0, samples), slice(a, b)) for a, b in zip(bounds, bounds[1:])]
    pool = _executor(threads)
    for future in [pool.submit(function, *part) for part in parts]:
        future.result()


_worker = threading.local()  # .active: this thread computes chunks of a call shared among threads


def _run_chunks(chunks: list, work: Callable[[tuple, "_Scratch"], None], workers: int, scratch: "_Scratch") -> None:
    """``work(chunk, scratch)`` for every chunk; with several workers, worker k takes chunks k, k + workers, ...

    This thread is worker 0 and uses ``scratch``; the others run in the
    pool, each with its own buffers (kept in that thread for its next call).
    Chunks must write disjoint parts of the output.
    """
    if workers <= 1:
        for chunk in chunks:
            work(chunk, scratch)
        return

    def run(k: int, buffers: _Scratch | None) -> None:
        _worker.active = True
        try:
            if buffers is None:
                with _Scratch(scratch.dtype) as own:
                    for chunk in chunks[k::workers]:
                        work(chunk, own)
            else:
                for chunk in chunks[k::workers]:
                    work(chunk, buffers)
        finally:
            _worker.active = False

    pool = _executor(workers - 1)
    futures = [pool.submit(run, k, None) for k in range(1, workers)]
    try:
        run(0, scratch)
    finally:
        for future in futures:
            future.result()


class _Scratch:
    """Buffers reused from chunk to chunk, and kept from call to call (up to ``_KEEP_SCRATCH_BYTES``).

    ``get(name, shape)`` returns a view of the named buffer; a buffer is
    replaced (the old one released first) only if a later chunk needs more.
    Used as a context manager: at the end of the call the buffers, smallest
    first, are kept for the next call in this thread while they total at most
    ``_KEEP_SCRATCH_BYTES``.  Fresh memory costs a page fault per 4 KiB on
    first touch, which on small layers takes longer than the convolution.
    """

    def __init__(self, dtype: np.dtype):
        self.dtype = np.dtype(dtype)
        # Raw bytes, so that a float32 call can reuse a float64 call's buffers.
        self._buffers: dict[str, np.ndarray] = getattr(_kept, "buffers", {})
        _kept.buffers = {}  # a call made while this one runs starts afresh

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        nbytes = math.prod(shape) * self.dtype.itemsize
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < nbytes:
            self._buffers.pop(name, None)
            del buffer  # release before allocating: the plan counts one of each
            buffer = self._buffers[name] = np.empty(max(nbytes, 1), dtype=np.uint8)
        return buffer[:nbytes].view(self.dtype).reshape(shape)

    def __enter__(self) -> _Scratch:
        return self

    def __exit__(self, *exc) -> None:
        kept, total = {}, 0
        for name, buffer in sorted(self._buffers.items(), key=lambda item: item[1].size):
            if total + buffer.size <= _KEEP_SCRATCH_BYTES:
                kept[name] = buffer
                total += buffer.size
        self._buffers = {}
        _kept.buffers = kept


_kept = threading.local()  # .buffers: what the last call in this thread kept


def release_scratch() -> None:
    """Free the scratch buffers kept for the next call in this thread (see ``_KEEP_SCRATCH_BYTES``)."""
    _kept.buffers = {}
