"""``--run``: execute a computed stack with convcalc's NumPy kernels (SPEC 4).

The memory a run needs is estimated from shapes alone, before anything is
allocated; a run over the limit is refused.  Each layer's measured output
shape is compared with the formula's: a difference is a bug in convcalc and
raises :class:`InconsistencyError` (exit 3).
"""

from __future__ import annotations

import ast
import ctypes
import os
import stat
import struct
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import initializers, keras_weights, run_graph
from .errors import ConvcalcError
from .execute import (  # noqa: F401 - importable from here too
    CONVOLUTIONS, LAYER_KERNELS, MERGES, RUNNABLE, InconsistencyError, execute_layer, layer_bytes, refusal,
)
from .formulas import weight_count
from .layer_base import Weight
from .outcome import LayerRun, RunOptions, RunResult  # noqa: F401  # plain data, NumPy-free; still importable from here
from .result import StackResult

MEMORY_SHARE = 0.5  # of the memory available when the run starts
RUN_CEILING = 2**50  # bytes (1 PiB): no run needs more, whatever --max-memory says; NumPy sizes stay in int64
MAX_SEED = 2**32 - 1  # keras.utils.set_random_seed: "Seed must be between 0 and 2**32 - 1"


# Keras's default initializer of a weight, by the weight's name, for weights declared without one
DEFAULT_INITIALIZERS = {
    "kernel": "glorot_uniform", "depthwise_kernel": "glorot_uniform", "pointwise_kernel": "glorot_uniform",
    "bias": "zeros", "beta": "zeros", "moving_mean": "zeros", "count": "zeros", "mean": "zeros",
    "gamma": "ones", "moving_variance": "ones", "variance": "ones",
    "lora_kernel_a": "he_uniform", "lora_kernel_b": "zeros",
}


def weight_initializer(weight: Weight):
    """The initializer a missing weight is drawn from: the declared one, else Keras's default for its name."""
    if weight.initializer is not None:
        return weight.initializer
    try:
        return DEFAULT_INITIALIZERS[weight.name]
    except KeyError:  # pragma: no cover - every layer --run executes declares known weight names
        raise InconsistencyError(f"--run knows no default initializer for a weight named {weight.name!r}.") from None


def available_memory() -> int:
    """MemAvailable from /proc/meminfo, else physical memory, in bytes."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4 * 2**30


def keep_freed_memory() -> None:
    """Ask glibc's malloc to keep freed blocks for reuse instead of unmapping them.

    A run allocates and frees the same large tensors layer after layer; with glibc's defaults each
    block over its (adaptive) mmap threshold is returned to the system and page-faults again when
    the next layer touches it.  Raising the mmap and trim thresholds made a MobileNetV2 run
    (224x224, batch 8) about 5-8% faster.  A process-wide setting: only the CLI calls it, for its own
    process, before a run; elsewhere (not glibc) it does nothing.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 512 * 2**20)
        libc.mallopt(M_TRIM_THRESHOLD, 1024 * 2**20)
    except (OSError, AttributeError):
        pass


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h


def default_max_memory() -> int:
    return int(available_memory() * MEMORY_SHARE)


# ---- .npy and .npz files, read from their headers first -------------------------------------------
#
# Nothing is decompressed or read in bulk before the header of every array has been checked: its
# name, dtype and shape, and the byte counts the file or the archive's directory declares.  Only
# regular files are opened (a FIFO or a device would block or never end), and what is read is
# capped by the shape the stack expects.

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK"
MAX_HEADER_BYTES = 10000  # NumPy's own limit on a .npy header (numpy.lib.format)
MAX_ITEMSIZE = 16  # the widest accepted dtype: long double
NUMBER_KINDS = "biuf"  # bool, signed and unsigned integers, floats: what a run can cast to its float dtype
ARCHIVE_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError,
                  RuntimeError, zlib.error, struct.error, OverflowError, RecursionError, MemoryError, KeyError)


@dataclass(frozen=True)
class NpyHeader:
    """What a ``.npy`` header declares, and where its data starts."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int  # bytes of magic and header before the data

    @property
    def data_bytes(self) -> int:
        return weight_count(self.shape) * self.dtype.itemsize


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a regular file"


def open_regular(path: Path, option: str):
    """``path`` opened for binary reading, if it is a regular file; it is checked before it is opened
    (a FIFO is never opened) and again once open (it cannot be swapped in between)."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISREG(mode):
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
            mode = os.fstat(fd).st_mode
            if stat.S_ISREG(mode):
                return os.fdopen(fd, "rb")
            os.close(fd)
    except FileNotFoundError:
        raise ConvcalcError(f"{option} {path}: no such file.") from None
    except (OSError, ValueError) as exc:
        raise ConvcalcError(f"{option} {path}: cannot open it ({_reason(exc)}).") from None
    raise ConvcalcError(f"{option} {path} is {_file_kind(mode)}; give a regular .npy/.npz file.")


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    text = " ".join(str(text).split())
    return text if len(text) <= 200 else text[:200] + "..."


def _read_exact(handle, count: int) -> bytes:
    """Up to ``count`` bytes (fewer only at the end of the data)."""
    chunks, left = [], count
    while left > 0:
        chunk = handle.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_npy_header(handle, what: str) -> NpyHeader:
    """The header of the ``.npy`` array at the handle's position, checked: a plain numeric dtype,
    a shape of non-negative integers, at most :data:`MAX_HEADER_BYTES` of header."""
    bad = f"{what} is not a readable NumPy .npy file"
    magic = _read_exact(handle, 8)
    if not magic:
        raise ConvcalcError(f"{bad}: it is empty.")
    if magic.startswith(ZIP_MAGIC):
        raise ConvcalcError(f"{bad}: it is a zip (.npz) archive of several arrays; give one .npy array.")
    if len(magic) < 8 or not magic.startswith(NPY_MAGIC):
        raise ConvcalcError(f"{bad}: it does not start with the .npy magic string.")
    major = magic[6]
    if major not in (1, 2, 3):
        raise ConvcalcError(f"{bad}: its format version {major}.{magic[7]} is not one NumPy defines.")
    size_format = "<H" if major == 1 else "<I"
    size_bytes = _read_exact(handle, struct.calcsize(size_format))
    if len(size_bytes) < struct.calcsize(size_format):
        raise ConvcalcError(f"{bad}: it ends inside its header.")
    (length,) = struct.unpack(size_format, size_bytes)
    if length > MAX_HEADER_BYTES:
        raise ConvcalcError(f"{bad}: it declares a header of {length} bytes, over the limit of {MAX_HEADER_BYTES} bytes.")
    raw = _read_exact(handle, length)
    if len(raw) < length:
        raise ConvcalcError(f"{bad}: it ends inside its header.")
    try:
        header = ast.literal_eval(raw.decode("utf8" if major == 3 else "latin1"))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError, UnicodeDecodeError):
        raise ConvcalcError(f"{bad}: its header is not a Python literal.") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise ConvcalcError(f"{bad}: its header lacks exactly the keys descr, fortran_order and shape.")
    shape, fortran = header["shape"], header["fortran_order"]
    if not isinstance(shape, tuple) or not all(type(n) is int for n in shape):
        raise ConvcalcError(f"{bad}: its header's shape is not a tuple of integers.")
    if not isinstance(fortran, bool):
        raise ConvcalcError(f"{bad}: its header's fortran_order is not True or False.")
    if any(n < 0 for n in shape):
        raise ConvcalcError(f"{bad}: its header declares a negative dimension, shape {_shape_text(shape)}.")
    try:
        dtype = np.lib.format.descr_to_dtype(header["descr"])
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError, OverflowError):
        raise ConvcalcError(f"{bad}: its header's descr is not a NumPy dtype.") from None
    if dtype.kind not in NUMBER_KINDS or dtype.fields is not None or dtype.subdtype is not None or dtype.itemsize > MAX_ITEMSIZE:
        raise ConvcalcError(
            f"{bad} for --run: its dtype is {_dtype_text(dtype)}; --run takes real numbers only (bool, integer or float), "
            "not complex, string, structured or object arrays."
        )
    return NpyHeader(shape, dtype, fortran, 8 + len(size_bytes) + length)


def _dtype_text(dtype: np.dtype) -> str:
    text = str(dtype)
    return text if len(text) <= 80 else text[:80] + "..."


def _shape_text(shape: tuple[int, ...]) -> str:
    """A shape as a tuple, with sizes past int64 as powers of ten and at most 8 dimensions shown.

    >>> _shape_text((1, 8)), _shape_text((10**40,)), _shape_text((1,) * 10)
    ('(1, 8)', '(~10^40,)', '(1, 1, 1, 1, 1, 1, 1, 1, ... 10 dimensions)')
    """
    def size(n: int) -> str:
        if n.bit_length() <= 64:
            return str(n)
        return f"~10^{len(str(n)) - 1 if n.bit_length() < 14000 else int(n.bit_length() * 0.30103)}"

    if len(shape) > 8:
        return f"({', '.join(size(n) for n in shape[:8])}, ... {len(shape)} dimensions)"
    return f"({', '.join(size(n) for n in shape)}{',' if len(shape) == 1 else ''})"


def _read_data(handle, header: NpyHeader, what: str) -> np.ndarray:
    """The array after ``header``: exactly its declared bytes, read into one preallocated array."""
    count = weight_count(header.shape)
    flat = np.empty(count, header.dtype)
    view = memoryview(flat.view(np.uint8).reshape(-1))
    done = 0
    while done < len(view):
        got = handle.readinto(view[done:])
        if not got:
            raise ConvcalcError(f"{what} is truncated: its header declares {header.data_bytes} bytes of data, "
                                f"the file holds {done}.")
        done += got
    return flat.reshape(header.shape, order="F" if header.fortran_order else "C")


def sample_header(path: Path) -> NpyHeader:
    """The header of a ``--sample`` file, checked against the file's size; no data is read."""
    what = f"--sample {path}"
    with open_regular(path, "--sample") as handle:
        try:
            header = read_npy_header(handle, what)
            size = os.fstat(handle.fileno()).st_size
        except OSError as exc:
            raise ConvcalcError(f"{what}: cannot read it ({_reason(exc)}).") from None
    if header.data_bytes > size - header.offset:
        raise ConvcalcError(
            f"{what} is truncated: its header declares {_size(header.data_bytes)} of data "
            f"(shape {_shape_text(header.shape)}, {header.dtype}), the file holds {_size(max(size - header.offset, 0))}."
        )
    if not header.shape:
        raise ConvcalcError(f"{what} holds a single number; give an array with the batch axis first.")
    if 0 in header.shape:
        raise ConvcalcError(f"{what} has shape {_shape_text(header.shape)}: it holds no values; "
                            "every size, the batch included, must be at least 1.")
    return header


def sample_shape(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of a ``.npy`` file, read from its header only."""
    header = sample_header(path)
    return header.shape, header.dtype


def read_sample(path: Path, expected: NpyHeader) -> np.ndarray:
    """The sample's data; the header must still be the one checked before the run."""
    what = f"--sample {path}"
    with open_regular(path, "--sample") as handle:
        try:
            header = read_npy_header(handle, what)
            if header != expected:
                raise ConvcalcError(f"{what} changed while convcalc was reading it.")
            return _read_data(handle, header, what)
        except OSError as exc:
            raise ConvcalcError(f"{what}: cannot read it ({_reason(exc)}).") from None


def filled_sample(shape: tuple[int, ...], values: tuple[float, ...], data_format: str, dtype) -> np.ndarray:
    """A batch whose channels are constants: ``(1, 100, 10000)`` is the seed threads' RGB image."""
    channel_axis = -1 if data_format == "channels_last" else 1
    channels = shape[channel_axis]
    if len(values) not in (1, channels):
        raise ConvcalcError(f"--fill gives {len(values)} values, but the input has {channels} channels; give 1 or {channels}.")
    per_channel = np.broadcast_to(np.asarray(values, dtype), (channels,))
    view = [1] * len(shape)
    view[channel_axis] = channels
    return np.broadcast_to(per_channel.reshape(view), shape).copy()


def run_dtype(sample_dtype: np.dtype | None) -> np.dtype:
    """float64 stays float64; everything else runs in float32."""
    return np.dtype(np.float64) if sample_dtype == np.float64 else np.dtype(np.float32)


def estimate_bytes(result: StackResult, dtype: np.dtype, batch: int) -> int:
    """Peak bytes of a run: every weight, the tensors alive at once (each is freed once no later
    layer reads it), and the worst layer's scratch as the kernels count it."""
    the_plan = run_graph.plan(result.graph, _inputs_at(result, batch), dtype.itemsize)
    return the_plan.weight_elements * dtype.itemsize + the_plan.peak_bytes


def _inputs_at(result: StackResult, batch: int) -> list[tuple]:
    """The model's input shapes with the run's batch (a fixed batch stays)."""
    return [(shape[0] if shape[0] is not None else batch, *shape[1:]) for shape in result.graph_inputs]


def check_memory(estimate: int, limit: int) -> None:
    """Refuse a run over ``limit``, or over :data:`RUN_CEILING` whatever the limit."""
    if estimate > RUN_CEILING:
        raise ConvcalcError(
            f"the run would need about {_size(estimate)} of memory, over the {_size(RUN_CEILING)} convcalc ever "
            "allocates; use a smaller --batch or input."
        )
    if estimate > limit:
        raise ConvcalcError(
            f"the run would need about {_size(estimate)} of memory, over the limit of {_size(limit)}; "
            "use a smaller --batch or input, or raise --max-memory."
        )


def _size(count: int) -> str:
    """``512 bytes``, ``1.5 KiB``, ..., ``3.0 TiB``; counts too large for a float as a power of ten.

    >>> _size(512), _size(1536), _size(10**400)
    ('512 bytes', '1.5 KiB', 'about 10^387 TiB')
    """
    count = int(count)
    if count < 1024:
        return f"{count} bytes"
    for unit, scale in (("KiB", 2**10), ("MiB", 2**20), ("GiB", 2**30)):
        if count < 1024 * scale:
            return f"{count / scale:.1f} {unit}"
    tib = count // 2**40
    if tib < 10**15:
        return f"{count / 2**40:.1f} TiB"
    # str() refuses ints of more than 4300 digits; past that the power is counted from the bits
    power = len(str(tib)) - 1 if tib.bit_length() < 14000 else int((tib.bit_length() - 1) * 0.30102999566398120)
    return f"about 10^{power} TiB"


def load_weights(path: Path, expected: dict | StackResult, dtype: np.dtype,
                 budget: Callable[[int], None] | None = None, ambiguous: dict | None = None) -> dict[str, np.ndarray]:
    """Arrays named ``<layer name>/<weight>``, checked against the layers' weights (``expected``:
    name -> (row, shape), as :func:`convcalc.run_graph.plan` collects them; or a stack's rows).

    Every member's name, declared sizes and ``.npy`` header are checked before any data is
    decompressed; ``budget`` is then called with the bytes the arrays take as stored.
    """
    if isinstance(expected, StackResult):
        expected = {f"{row.name}/{weight.name}": (row, weight.shape) for row in expected.layers for weight in row.weights}
    if keras_weights.is_keras_archive(path):
        return keras_weights.load_keras_weights(path, expected, dtype, budget)
    what = f"--weights {path}"
    with open_regular(path, "--weights") as handle:
        try:
            start = handle.read(len(NPY_MAGIC))
            handle.seek(0)
            if start == NPY_MAGIC:
                raise ConvcalcError(
                    f"{what} is one .npy array; --weights takes a .npz archive of arrays named '<layer name>/kernel' "
                    "and '<layer name>/bias' (np.savez)."
                )
            if not start.startswith(ZIP_MAGIC) and not zipfile.is_zipfile(handle):
                raise ConvcalcError(f"{what} is not a .npz archive (np.savez writes one).")
            handle.seek(0)
            archive_bytes = os.fstat(handle.fileno()).st_size
            _check_entry_count(handle, expected, what)
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                members = _weight_members(archive, expected, archive_bytes, what, ambiguous or {})
                if budget is not None:
                    budget(sum(header.data_bytes for _, _, header in members))
                arrays = {}
                for name, info, header in members:
                    with archive.open(info) as member:
                        read_npy_header(member, f"{what}: {name}")
                        arrays[name] = _read_data(member, header, f"{what}: {name}").astype(dtype, copy=False)
                return arrays
        except ConvcalcError:
            raise
        except ARCHIVE_ERRORS as exc:
            raise ConvcalcError(f"{what} is not a readable .npz archive ({_reason(exc)}).") from None


def _check_entry_count(handle, expected: dict, what: str) -> None:
    """Refuse an archive whose end record declares more members than the stack has weights,
    before its directory is read into memory."""
    try:
        end = zipfile._EndRecData(handle)  # the end-of-central-directory record, as ZipFile reads it
        total = end[zipfile._ECD_ENTRIES_TOTAL] if end else None
    except AttributeError:  # pragma: no cover - a Python without these internals: ZipFile counts below
        return
    if total is not None and total > len(expected):
        known = ", ".join(sorted(expected)) or "none"
        raise ConvcalcError(f"{what} declares {total} arrays, but this stack has {len(expected)} weights: {known}.")


def _weight_members(archive: zipfile.ZipFile, expected: dict, archive_bytes: int, what: str,
                    ambiguous: dict) -> list:
    """``(name, ZipInfo, NpyHeader)`` of every member, each checked from the archive's directory and
    its ``.npy`` header: a known weight name, once; sizes within what that weight's shape can take.
    ``ambiguous`` maps a short name that stands for several weights to their full names."""
    known = ", ".join(sorted(expected)) or "none"
    members, seen = [], set()
    infos = archive.infolist()
    if len(infos) > len(expected):
        raise ConvcalcError(f"{what} holds {len(infos)} arrays, but this stack has {len(expected)} weights: {known}.")
    for info in infos:
        name = info.filename.removesuffix(".npy")
        if name not in expected and name in ambiguous:
            raise ConvcalcError(
                f"{what}: {name!r} could be any of {len(ambiguous[name])} weights of a nested model "
                f"({', '.join(ambiguous[name])}); {{l.name}}/{{w.name}} over model.layers keeps only one of them: "
                "name each by its path, or give the model's .keras archive.")
        if name not in expected:
            raise ConvcalcError(f"{what}: {name!r} names no weight of this stack; its weights are: {known}.")
        if name in seen:
            raise ConvcalcError(f"{what} holds {name!r} twice.")
        seen.add(name)
        if not info.filename.endswith(".npy"):
            raise ConvcalcError(f"{what}: member {info.filename!r} is not a .npy array (its name lacks .npy).")
        if info.flag_bits & 0x1:
            raise ConvcalcError(f"{what}: member {info.filename!r} is encrypted.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
            raise ConvcalcError(f"{what}: member {info.filename!r} uses compression method {info.compress_type}, "
                                "which np.load cannot read.")
        row, shape = expected[name]
        limit = 8 + 4 + MAX_HEADER_BYTES + weight_count(shape) * MAX_ITEMSIZE
        if info.file_size > limit:
            raise ConvcalcError(
                f"{what}: member {info.filename!r} declares {_size(info.file_size)} uncompressed, more than the "
                f"{_size(limit)} an array of shape {shape} can take."
            )
        if info.compress_size > archive_bytes:
            raise ConvcalcError(f"{what}: member {info.filename!r} declares {_size(info.compress_size)} compressed, "
                                f"more than the whole archive ({_size(archive_bytes)}).")
        with archive.open(info) as member:
            header = read_npy_header(member, f"{what}: {name}")
        if header.shape != shape:
            raise ConvcalcError(
                f"{what}: layer {row.index} {row.name} ({row.spec}) needs {name} of shape {shape} "
                f"(Keras layout), but the file has shape {_shape_text(header.shape)}."
            )
        if header.offset + header.data_bytes > info.file_size:
            raise ConvcalcError(
                f"{what}: member {info.filename!r} is truncated: its header declares {_size(header.data_bytes)} "
                f"of data, the member holds {_size(max(info.file_size - header.offset, 0))}."
            )
        members.append((name, info, header))
    return members


def _layer_weights(call: run_graph.LayerCall, given: dict[str, np.ndarray], seed: int,
                   dtype: np.dtype) -> dict[str, np.ndarray]:
    """The layer's declared weights: from the file where given, else from their initializers, seeded
    by the layer's place (its index, and those of the nested models that hold it).

    With LoRA, ``kernel + (lora_alpha / rank) * lora_kernel_a @ lora_kernel_b`` is the kernel
    Keras's ``call`` uses; the rank is the adapters' inner size.
    """
    row = call.row
    weights = {}
    for position, (weight, name) in enumerate(zip(row.weights, call.weight_names)):
        if name in given:
            weights[weight.name] = given[name]
            continue
        stream = np.random.SeedSequence([seed, *(index for _, index in call.path), row.index, position])
        weights[weight.name] = initializers.initialize(weight_initializer(weight), weight.shape, stream, dtype.name)
    if "lora_kernel_a" in weights:
        a, b = weights.pop("lora_kernel_a"), weights.pop("lora_kernel_b")
        rank = a.shape[-1]
        # Keras 3.15's Dense.build calls enable_lora(rank) without the constructor's lora_alpha: its
        # scale is always 1; the convolutions pass lora_alpha on
        alpha = rank if row.type == "Dense" else row.layer.args.get("lora_alpha") or rank
        delta = (a.reshape(-1, rank) @ b).reshape(weights["kernel"].shape)
        weights["kernel"] = weights["kernel"] + (alpha / rank) * delta
    return weights


def check_seed(seed) -> None:
    """``--seed``: what ``keras.utils.set_random_seed`` takes, an integer from 0 to 2**32 - 1."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        shown = seed if not isinstance(seed, int) or seed.bit_length() < 128 else f"a {seed.bit_length()}-bit integer"
        raise ConvcalcError(f"--seed {shown}: a seed must be an integer from 0 to 2**32 - 1 ({MAX_SEED}), "
                            "as keras.utils.set_random_seed takes it.")


def run_stack(
    result: StackResult,
    options: RunOptions,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Execute the whole graph on the samples (or seeded standard normal batches).

    Everything is checked before anything is allocated: the layers, the seed, the --save target,
    the samples' and the weights' headers, then the memory the run needs.
    """
    check_seed(options.seed)
    inputs = list(result.graph_inputs)
    headers = _sample_headers(options.sample, inputs)
    fills = _fills(options.fill, inputs)
    batch = headers[0].shape[0] if headers else next((s[0] for s in inputs if s[0] is not None), None) or 1
    shapes = [header.shape for header in headers] if headers else _inputs_at(result, batch)
    dtype = run_dtype(headers[0].dtype if headers else None)
    the_plan = run_graph.plan(result.graph, shapes, dtype.itemsize)
    if options.save is not None:
        save_target(options.save)
    limit = options.max_memory if options.max_memory is not None else default_max_memory()
    cast = sum(h.data_bytes for h in headers if h.dtype != dtype)  # a sample as stored, next to its cast copy
    estimate = the_plan.weight_elements * dtype.itemsize + the_plan.peak_bytes + cast
    chunk = batch
    if estimate > limit and batch > 1 and not the_plan.operations:
        chunk, estimate = _chunk(result, shapes, dtype, the_plan, cast, limit, estimate)
    check_memory(estimate, limit)

    def weights_budget(stored: int) -> None:
        check_memory(estimate + stored, limit)

    with np.errstate(all="ignore"):  # overflow to inf, as float32 does in Keras: not a warning on stderr
        try:
            return _execute(result, options, the_plan, headers, fills, shapes, batch, dtype, estimate, limit,
                            weights_budget, progress, chunk)
        except MemoryError:
            raise ConvcalcError(
                f"the run ran out of memory (estimated {_size(estimate)}, limit {_size(limit)}); "
                "use a smaller --batch or input, or lower --max-memory."
            ) from None


def _chunk(result: StackResult, shapes: list[tuple], dtype: np.dtype, whole: run_graph.Plan, cast: int,
           limit: int, estimate: int) -> tuple[int, int]:
    """The largest part of the batch that runs within ``limit`` (layers treat each sample on its own, so
    the batch may run in parts), and its estimate: the weights, the whole inputs and outputs (the parts'
    outputs, then their concatenation), and the walk of one part.  ``(batch, estimate)`` when even
    one sample does not fit."""
    batch = shapes[0][0]
    fixed = whole.weight_elements * dtype.itemsize + cast + 2 * whole.output_bytes
    fixed += sum(weight_count(shape) for shape in shapes) * dtype.itemsize

    def cost(part: int) -> int:
        return fixed + run_graph.plan(result.graph, [(part, *s[1:]) for s in shapes], dtype.itemsize).peak_bytes

    if cost(1) > limit:
        return batch, estimate
    low, high = 1, batch - 1  # cost(low) fits
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if cost(middle) <= limit else (low, middle - 1)
    return low, cost(low)


def _sample_headers(samples: tuple[Path, ...], inputs: list[tuple]) -> list[NpyHeader]:
    """The headers of ``--sample`` files, one per model input in its order, checked against the inputs."""
    if not samples:
        return []
    if len(samples) != len(inputs):
        raise ConvcalcError(f"--sample is given {len(samples)} time(s), but the model has {len(inputs)} input(s); "
                            "give one --sample per input, in the model's input order.")
    headers = []
    for position, (path, expected) in enumerate(zip(samples, inputs)):
        header = sample_header(path)
        shape = header.shape
        which = f"input {position + 1}" if len(inputs) > 1 else "the stack's input"
        if len(shape) != len(expected) or shape[1:] != tuple(expected[1:]):
            raise ConvcalcError(
                f"--sample {path} has shape {_shape_text(shape)}, but {which} is "
                f"(batch, {', '.join(map(str, expected[1:]))})."
            )
        if expected[0] is not None and shape[0] != expected[0]:
            raise ConvcalcError(
                f"--sample {path} holds a batch of {shape[0]}, but {which} has a fixed batch of "
                f"{expected[0]}; give a sample of {expected[0]}."
            )
        if headers and shape[0] != headers[0].shape[0]:
            raise ConvcalcError(f"--sample {path} holds a batch of {shape[0]}, but --sample {samples[0]} holds "
                                f"{headers[0].shape[0]}; every input needs the same batch.")
        if headers and header.dtype != headers[0].dtype and np.float64 in (header.dtype, headers[0].dtype):
            raise ConvcalcError(f"--sample {path} is {header.dtype}, but --sample {samples[0]} is "
                                f"{headers[0].dtype}; give every input in the same precision.")
        headers.append(header)
    return headers


def _fills(fills: tuple, inputs: list[tuple]) -> list:
    """``--fill`` values per input: one --fill for every input, or one per input."""
    if not fills:
        return []
    if len(fills) not in (1, len(inputs)):
        raise ConvcalcError(f"--fill is given {len(fills)} times, but the model has {len(inputs)} input(s); "
                            "give one --fill for all inputs, or one per input in the model's input order.")
    return list(fills) * len(inputs) if len(fills) == 1 else list(fills)


def _execute(result, options, the_plan, headers, fills, shapes, batch, dtype, estimate, limit, weights_budget,
             progress, chunk):
    given = {}
    if options.weights is not None:
        expected = {**the_plan.weights, **{alias: the_plan.weights[name] for alias, name in the_plan.aliases.items()}}
        loaded = load_weights(options.weights, expected, dtype, weights_budget, the_plan.ambiguous)
        given = {the_plan.aliases.get(name, name): array for name, array in loaded.items()}
    fmt = result.data_format.value
    if headers:
        arrays = [read_sample(path, header).astype(dtype, copy=False) for path, header in zip(options.sample, headers)]
        sample = ", ".join(map(str, options.sample))
    elif fills:
        arrays = [filled_sample(shape, values, fmt, dtype) for shape, values in zip(shapes, fills)]
        sample = "; ".join("constant " + ", ".join(f"{v:g}" for v in values) + (" per channel" if len(values) > 1 else "")
                           for values in (fills if len(set(fills)) > 1 else fills[:1]))
    else:
        rng = np.random.default_rng(options.seed)
        arrays = [rng.standard_normal(shape, dtype=np.float32).astype(dtype, copy=False) for shape in shapes]
        sample = f"standard normal, seed {options.seed}"

    cache: dict[int, dict] = {}

    def weights(call: run_graph.LayerCall) -> dict:
        if call.owner not in cache:
            cache[call.owner] = _layer_weights(call, given, options.seed, dtype)
        return cache[call.owner]

    done = [0]
    parts = range(0, batch, chunk)
    total = len(the_plan.calls) * len(parts)

    def step() -> None:
        done[0] += 1
        progress(done[0], total)

    start = time.perf_counter()
    expanded = any(row.depth > 0 for row in result.layers)
    runs, pieces = None, []
    for first in parts:
        executed = run_graph.execute(result.graph, [a[first:first + chunk] for a in arrays], the_plan, weights,
                                     expanded, step if progress is not None else None)
        pieces.append(executed.outputs)
        runs = executed.runs if runs is None else [
            LayerRun(r.measured_shape, r.seconds + e.seconds, r.agrees) for r, e in zip(runs, executed.runs)]
    if len(pieces) > 1:
        runs = [LayerRun(_whole_batch(r.measured_shape, chunk, batch), r.seconds, r.agrees) for r in runs]
    total_seconds = time.perf_counter() - start
    names = _output_names(result.graph)
    outputs = pieces[0] if len(pieces) == 1 else [np.concatenate(part) for part in zip(*pieces)]
    saved = None
    if options.save is not None:
        saved = save_array(options.save, outputs[0] if len(outputs) == 1 else dict(zip(names, outputs)))
    return RunResult(
        layers=tuple(runs), output=outputs[0] if len(outputs) == 1 else dict(zip(names, outputs)),
        batch=batch, seed=options.seed, sample=sample,
        weights=str(options.weights) if options.weights is not None else None, dtype=dtype.name,
        estimated_bytes=estimate, max_memory_bytes=limit, seconds=total_seconds, saved=saved,
        part=chunk if chunk < batch else None,
    )


def _whole_batch(shape, chunk: int, batch: int):
    """A part's measured shape as the whole batch's."""
    if isinstance(shape, list):
        return [_whole_batch(s, chunk, batch) for s in shape]
    return (batch, *shape[1:]) if shape and shape[0] == chunk else shape


def _output_names(graph) -> list[str]:
    """The outputs' names, as Keras's ``model.output_names``: a dict's keys, else the producing layers'."""
    if isinstance(graph.outputs, dict):
        return [str(key) for key in graph.outputs]
    refs = graph.outputs if isinstance(graph.outputs, list) else [graph.outputs]
    names = [graph.by_key[ref.node].name if ref.node in graph.by_key else str(ref.node) for ref in refs]
    return [name if names.count(name) == 1 else f"{name}_{ref.output}" for name, ref in zip(names, refs)]


# ---- --save: whole or not at all, never through a link, never over anything but a regular file -----

TEMPORARY_NAME_CHARS = 64  # of the target's name kept in the temporary file's name


def save_target(path: Path) -> tuple[Path, os.stat_result | None]:
    """Check a ``--save`` target before anything runs: a file name in an existing directory, naming
    nothing or a regular file.  A symbolic link is refused, whatever it points to: replacing it
    would change what others see through the link's name (``/dev/stdout`` is one).
    Returns the path and the target's current status (``None`` when it does not exist)."""
    text = os.fspath(path)
    path = Path(text)
    if not text or path.name in ("", ".", "..") or text.endswith(os.sep):
        raise ConvcalcError(f"--save {text!r}: cannot write: it names no file; give a file name such as y.npy.")
    directory = path.parent
    try:
        if not stat.S_ISDIR(os.stat(directory).st_mode):
            raise ConvcalcError(f"--save {path}: cannot write: {directory} is not a directory.")
        current = os.lstat(path)  # the name itself, never what a link leads to
    except FileNotFoundError:
        if not os.path.isdir(directory):
            raise ConvcalcError(f"--save {path}: cannot write: the directory {directory} does not exist.") from None
        return path, None
    except (OSError, ValueError) as exc:
        raise ConvcalcError(f"--save {path}: cannot write ({_reason(exc)}).") from None
    if stat.S_ISLNK(current.st_mode):
        raise ConvcalcError(f"--save {path}: cannot write: it is a symbolic link, which convcalc never replaces "
                            "nor writes through; give a plain file name.")
    if not stat.S_ISREG(current.st_mode):
        raise ConvcalcError(f"--save {path}: cannot write: it exists and is {_file_kind(current.st_mode)}; "
                            "only a regular file is replaced.")
    return path, current


def save_array(path: Path, array: np.ndarray | dict) -> str:
    """Write ``array`` to ``path`` (.npy; a dict of arrays, a model's several outputs, as .npz) whole or
    not at all.

    The array goes to a new file created exclusively (``O_EXCL | O_NOFOLLOW``, a random name) in the
    target's directory, which then replaces the target atomically (``os.replace``).  On any failure the
    temporary file is removed and the target is left as it was.
    """
    path, current = save_target(path)
    name = f".{path.name[:TEMPORARY_NAME_CHARS]}.{os.urandom(8).hex()}.partial"
    temporary = path.parent / name
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(temporary, flags, 0o666)  # the umask applies, as for any new file
    except OSError as exc:
        raise ConvcalcError(f"--save {path}: cannot write ({_reason(exc)}).") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if current is not None:
                os.fchmod(handle.fileno(), stat.S_IMODE(current.st_mode))  # keep the replaced file's permissions
            if isinstance(array, dict):
                np.savez(handle, **array)
            else:
                np.save(handle, array, allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        save_target(path)  # still nothing, or a regular file, right before it is replaced
        os.replace(temporary, path)
    except BaseException as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(exc, ConvcalcError):
            raise
        if isinstance(exc, (OSError, ValueError)):
            raise ConvcalcError(f"--save {path}: cannot write ({_reason(exc)}).") from None
        raise
    return str(path)
