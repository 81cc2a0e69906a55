"""``--run``: execute a computed stack with convcalc's NumPy kernels (SPEC 4).

The memory a run needs is estimated from shapes alone, before anything is
allocated; a run over the limit is refused.  Each layer's measured output
shape is compared with the formula's: a difference is a bug in convcalc and
raises :class:`InconsistencyError` (exit 3).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

from . import initializers, kernels
from .activations import apply_activation
from .activations import scratch_bytes as activation_scratch
from .errors import ConvcalcError, ExitCode
from .formulas import weight_count
from .layer_base import Weight
from .outcome import LayerRun, RunOptions, RunResult  # plain data, NumPy-free; still importable from here
from .result import LayerRow, StackResult

MEMORY_SHARE = 0.5  # of the memory available when the run starts


class InconsistencyError(ConvcalcError):
    """A measured shape differs from the computed one: a bug in convcalc."""

    exit_code = ExitCode.INCONSISTENT


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


def default_max_memory() -> int:
    return int(available_memory() * MEMORY_SHARE)


def sample_shape(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of a ``.npy`` file, read from its header only."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise ConvcalcError(f"--sample {path}: no such file.") from None
    except (OSError, ValueError) as exc:
        raise ConvcalcError(f"--sample {path} is not a readable NumPy .npy file ({exc}).") from None
    if not isinstance(array, np.ndarray):
        raise ConvcalcError(f"--sample {path} holds several arrays; give one .npy array with the batch axis first.")
    if array.dtype.kind not in "biuf":
        raise ConvcalcError(f"--sample {path} has dtype {array.dtype}; it must hold numbers.")
    return tuple(array.shape), array.dtype


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
    """Peak bytes of a run: every weight, plus the worst layer's input, its output and
    scratch as the kernels count them, and the activation's temporaries."""
    size = dtype.itemsize
    weights = sum(weight.size for row in result.layers for weight in row.weights)
    peak = 0
    for row in result.layers:
        output = batch * weight_count(row.output_shape[1:]) * size
        layer = batch * weight_count(row.input_shape[1:]) * size + _kernel_bytes(row, batch, dtype)
        if row.layer.args.get("activation") not in (None, "linear"):
            layer += output + activation_scratch(size, row.output_shape[-1])
        peak = max(peak, layer)
    return weights * size + peak


def _kernel_bytes(row: LayerRow, batch: int, dtype: np.dtype) -> int:
    """Output plus scratch of one convolution, from the kernels' own accounting."""
    x_shape, geometry = _as_2d(row, (batch, *row.input_shape[1:]))
    kernel = row.kernel_shape if len(row.kernel_shape) == 4 else (1, *row.kernel_shape)
    if row.type.endswith("Transpose"):
        return kernels.conv2d_transpose_memory(x_shape, kernel, dtype=dtype.name, **geometry)
    return kernels.conv2d_memory(x_shape, kernel, groups=row.layer.args["groups"], dtype=dtype.name, **geometry)


def _as_2d(row: LayerRow, x_shape: tuple[int, ...]) -> tuple[tuple[int, ...], dict]:
    """The 2-D kernel call for a layer: Conv1D/Conv1DTranspose as a height of 1, and
    ``padding='causal'`` as the left padding (added to ``x_shape``) then ``'valid'``."""
    args = row.layer.args
    geometry = dict(strides=args["strides"], padding=args["padding"], dilation_rate=args["dilation_rate"],
                    data_format=row.data_format)
    if row.type.endswith("Transpose"):
        geometry["output_padding"] = args["output_padding"]
    if row.type not in ("Conv1D", "Conv1DTranspose"):
        return x_shape, geometry
    axis = 1 if row.data_format == "channels_last" else 2
    steps_axis = axis + 1  # the steps follow the new height axis in both data formats
    x_shape = (*x_shape[:axis], 1, *x_shape[axis:])
    if args["padding"] == "causal":
        (left, _), = row.padding
        x_shape = tuple(n + left if i == steps_axis else n for i, n in enumerate(x_shape))
        geometry["padding"] = "valid"
    geometry["strides"], geometry["dilation_rate"] = (1, *args["strides"]), (1, *args["dilation_rate"])
    if geometry.get("output_padding") is not None:
        geometry["output_padding"] = (0, *args["output_padding"])
    return x_shape, geometry


def check_memory(estimate: int, limit: int) -> None:
    if estimate > limit:
        raise ConvcalcError(
            f"the run would need about {_size(estimate)} of memory, over the limit of {_size(limit)}; "
            "use a smaller --batch or input, or raise --max-memory."
        )


def _size(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def load_weights(path: Path, result: StackResult, dtype: np.dtype) -> dict[str, np.ndarray]:
    """Arrays named ``<layer name>/<weight>``, checked against the stack's layers and shapes."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise ConvcalcError(f"--weights {path}: no such file.") from None
    except (OSError, ValueError, AttributeError) as exc:
        raise ConvcalcError(f"--weights {path} is not a readable .npz archive ({exc}).") from None
    expected = {f"{row.name}/{weight.name}": (row, weight.shape) for row in result.layers for weight in row.weights}
    for name, array in arrays.items():
        if name not in expected:
            known = ", ".join(sorted(expected)) or "none"
            raise ConvcalcError(f"--weights {path}: {name!r} names no weight of this stack; its weights are: {known}.")
        row, shape = expected[name]
        if tuple(array.shape) != shape:
            raise ConvcalcError(
                f"--weights {path}: layer {row.index} {row.name} ({row.spec}) needs {name} of shape {shape} "
                f"(Keras layout), but the file has shape {tuple(array.shape)}."
            )
    return {name: array.astype(dtype, copy=False) for name, array in arrays.items()}


def _layer_weights(row: LayerRow, given: dict[str, np.ndarray], seed: int, dtype: np.dtype) -> dict[str, np.ndarray]:
    """The layer's declared weights: from the file where given, else from their initializers (seeded).

    With LoRA, ``kernel + (lora_alpha / rank) * lora_kernel_a @ lora_kernel_b`` is the kernel
    Keras's ``call`` uses; the rank is the adapters' inner size.
    """
    weights = {}
    for position, weight in enumerate(row.weights):
        name = f"{row.name}/{weight.name}"
        if name in given:
            weights[weight.name] = given[name]
            continue
        stream = np.random.SeedSequence([seed, row.index, position])
        weights[weight.name] = initializers.initialize(weight_initializer(weight), weight.shape, stream, dtype.name)
    if "lora_kernel_a" in weights:
        a, b = weights.pop("lora_kernel_a"), weights.pop("lora_kernel_b")
        rank = a.shape[-1]
        alpha = row.layer.args.get("lora_alpha") or rank
        delta = (a.reshape(-1, rank) @ b).reshape(weights["kernel"].shape)
        weights["kernel"] = weights["kernel"] + (alpha / rank) * delta
    return weights


def execute_layer(row: LayerRow, x: np.ndarray, weights: dict[str, np.ndarray]) -> np.ndarray:
    """One layer of the stack, exactly as Keras's ``call``: convolution, bias, activation."""
    args = row.layer.args
    one_d = row.type in ("Conv1D", "Conv1DTranspose")
    x_shape, geometry = _as_2d(row, x.shape)
    height_axis = 1 if row.data_format == "channels_last" else 2
    kernel = weights["kernel"][np.newaxis] if one_d else weights["kernel"]
    if one_d:
        x = np.expand_dims(x, height_axis)
        if x.shape != x_shape:  # causal: all of the padding on the left
            x = np.pad(x, [(total - n, 0) for n, total in zip(x.shape, x_shape)])
    if row.type.endswith("Transpose"):
        y = kernels.conv2d_transpose(x, kernel, bias=weights.get("bias"), **geometry)
    elif row.type in RUNNABLE:
        y = kernels.conv2d(x, kernel, bias=weights.get("bias"), groups=args["groups"], **geometry)
    else:  # pragma: no cover - check_runnable refuses every other type before the run
        raise InconsistencyError(f"--run has no kernel for {row.type}.")
    if one_d:
        y = np.squeeze(y, height_axis)
    return apply_activation(args["activation"], y)


RUNNABLE = ("Conv1D", "Conv2D", "Conv1DTranspose", "Conv2DTranspose")


def check_runnable(result: StackResult) -> None:
    """--run executes convolutions; any other layer is refused before anything is allocated."""
    for row in result.layers:
        if row.type not in RUNNABLE:
            raise ConvcalcError(
                f"layer {row.index} {row.name} ({row.type}): --run executes {', '.join(RUNNABLE)} layers only; "
                "drop --run to compute the shapes."
            )


def run_stack(
    result: StackResult,
    options: RunOptions,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Execute every layer on the sample (or a seeded standard normal batch)."""
    batch = result.input_shape[0] or 1
    expected_input = (batch, *result.input_shape[1:])
    sample_dtype = None
    if options.sample is not None:
        shape, sample_dtype = sample_shape(options.sample)
        if len(shape) != len(expected_input) or shape[1:] != expected_input[1:]:
            raise ConvcalcError(
                f"--sample {options.sample} has shape {shape}, but the stack's input is "
                f"(batch, {', '.join(map(str, expected_input[1:]))}) in {result.data_format.value} order."
            )
        batch = shape[0]
        expected_input = shape
    check_runnable(result)
    dtype = run_dtype(sample_dtype)
    limit = options.max_memory if options.max_memory is not None else default_max_memory()
    estimate = estimate_bytes(result, dtype, batch)
    check_memory(estimate, limit)

    given = load_weights(options.weights, result, dtype) if options.weights is not None else {}
    if options.sample is not None:
        x = np.load(options.sample, allow_pickle=False).astype(dtype, copy=False)
        sample = str(options.sample)
    elif options.fill is not None:
        x = filled_sample(expected_input, options.fill, result.data_format.value, dtype)
        sample = "constant " + ", ".join(f"{v:g}" for v in options.fill) + (" per channel" if len(options.fill) > 1 else "")
    else:
        x = np.random.default_rng(options.seed).standard_normal(expected_input, dtype=np.float32).astype(dtype, copy=False)
        sample = f"standard normal, seed {options.seed}"

    runs = []
    start = time.perf_counter()
    for position, row in enumerate(result.layers):
        weights = _layer_weights(row, given, options.seed, dtype)
        began = time.perf_counter()
        y = execute_layer(row, x, weights)
        seconds = time.perf_counter() - began
        expected = (batch, *row.output_shape[1:])
        measured = tuple(y.shape)
        if measured != expected:
            raise InconsistencyError(
                f"layer {row.index} {row.spec}: the kernels produced shape {measured} but the formulas give "
                f"{expected}. This is a bug in convcalc; please report it."
            )
        runs.append(LayerRun(measured, seconds, True))
        x = y
        if progress is not None:
            progress(position + 1, len(result.layers))
    total = time.perf_counter() - start
    saved = None
    if options.save is not None:
        saved = save_array(options.save, x)
    return RunResult(
        layers=tuple(runs), output=x, batch=batch, seed=options.seed, sample=sample,
        weights=str(options.weights) if options.weights is not None else None, dtype=dtype.name,
        estimated_bytes=estimate, max_memory_bytes=limit, seconds=total, saved=saved,
    )


def save_array(path: Path, array: np.ndarray) -> str:
    """Write ``array`` to ``path`` (.npy) whole or not at all: a temporary file, then a rename."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.partial")
    try:
        with open(temporary, "wb") as handle:
            np.save(handle, array)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ConvcalcError(f"--save {path}: cannot write ({exc.strerror or exc}).") from None
    return str(path)

