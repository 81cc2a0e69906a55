"""What one ``convcalc shape`` call asks for, and the work it takes: the layers from
the command line or a file, the input, the data format, then an optional run.

The CLI only gathers the options into a :class:`ShapeRequest`; every rule
between them lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .config import resolve_data_format
from .errors import ConvcalcError
from .parse import MAX_INT, MAX_INT_TEXT, parse_numbers, parse_shape, parse_size
from .stack import StackResult, compute_stack


@dataclass(frozen=True)
class ShapeRequest:
    layers: tuple[str, ...] = ()
    file: Path | None = None
    input: tuple[str, ...] = ()  # one per model input (model configs); a stack takes one
    data_format: str | None = None
    batch: int | None = None
    run: bool = False
    sample: tuple[Path, ...] = ()  # one per model input
    fill: tuple[str, ...] = ()  # one for every input, or one per input
    weights: Path | None = None
    seed: int = 0
    save: Path | None = None
    show: bool = False
    max_memory: str | None = None
    expand_nested: bool = False
    model: str | None = None  # a Python source's model: a name, or a call of one of its functions

    @property
    def runs(self) -> bool:
        """``--sample``, ``--fill``, ``--weights``, ``--save`` and ``--show`` imply ``--run``."""
        return self.run or self.show or bool(self.sample or self.fill) or any(
            v is not None for v in (self.weights, self.save))


def compute_request(request: ShapeRequest, progress: Callable[[int, int], None] | None = None):
    """The stack's result, and the run's result when one is asked for (else ``None``)."""
    if request.file is not None and request.layers:
        raise ConvcalcError(
            f"give the layers either on the command line or in --file {request.file}, not both "
            f"({len(request.layers)} given on the command line)."
        )
    if not request.layers and request.file is None:
        raise ConvcalcError(
            "no layers given; type them as Keras calls, e.g. "
            "convcalc shape --input 32x32x3 \"Conv2D(10, 8, padding='same')\"."
        )
    if request.sample and request.fill:
        raise ConvcalcError("give either --sample or --fill, not both.")
    shapes = [parse_shape(text) for text in request.input]
    if len(shapes) > 1 and request.file is None:
        raise ConvcalcError(f"--input is given {len(shapes)} times; a stack of layers takes one input "
                            "(open it with several Input(...) specs to merge several).")
    input_shape = shapes if len(shapes) > 1 else shapes[0] if shapes else None
    limit = _max_memory(request.max_memory) if request.max_memory is not None else None
    fill = tuple(parse_numbers(text, "--fill") for text in request.fill)
    batch, input_label = _batch(request.batch), "--input"
    sample_batch = None
    if request.runs and request.sample:
        from .run import sample_shape

        headers = [sample_shape(path)[0] for path in request.sample]  # from the headers only; no data is read yet
        header, path = headers[0], request.sample[0]
        if batch is not None and batch != header[0]:
            raise ConvcalcError(
                f"--batch {batch} and --sample {path} disagree: the sample holds a batch of {header[0]} "
                f"(shape {header}); drop --batch, or give a sample of {batch}."
            )
        sample_batch = header[0]
        if len(headers) > 1 and request.file is None:
            raise ConvcalcError(f"--sample is given {len(headers)} times; a stack of layers takes one input.")
        if input_shape is None and all(len(h) > 1 for h in headers):
            input_shape = [h[1:] for h in headers] if len(headers) > 1 else header[1:]
            input_label = "--sample"
    if request.file is not None and _is_python(request.file):
        result = _python(request, input_shape, batch, input_label)
        if len(result.models) != 1 or not request.runs:
            if request.runs:
                raise ConvcalcError(f"{request.file} builds {len(result.models)} models; --run runs one: "
                                    "pick it with --model NAME.")
            return result, None
        result = result.models[0][1]
    else:
        if request.model is not None:
            raise ConvcalcError("--model picks a model of a Python source given with --file.")
        result = _stack(request, input_shape, batch, input_label, sample_batch)
    if not request.runs:
        return result, None
    _check_known_sizes(result)
    from .run import RunOptions, run_stack

    options = RunOptions(sample=request.sample, fill=fill, weights=request.weights, seed=request.seed,
                         max_memory=limit, save=request.save)
    return result, run_stack(result, options, progress)


def _batch(batch):
    """``--batch``: a whole number of samples, at least 1, at most an int64 (a tensor's dimension)."""
    if batch is None:
        return None
    if isinstance(batch, bool) or not isinstance(batch, int):
        raise ConvcalcError(f"--batch must be a whole number of samples; got {batch!r}.")
    if batch < 1:
        raise ConvcalcError(f"--batch {batch}: a batch holds at least 1 sample.")
    if batch > MAX_INT:
        raise ConvcalcError(f"--batch {_short(str(batch))} is out of range: a batch is at most {MAX_INT_TEXT}.")
    return batch


def _max_memory(text: str) -> int:
    """``--max-memory``: a size in bytes that an int64 holds (a larger limit means no limit)."""
    try:
        limit = parse_size(text)
    except (OverflowError, ValueError):  # digits beyond a float's range
        limit = None
    if limit is None or limit > MAX_INT:
        raise ConvcalcError(f"--max-memory {_short(text)!r} is out of range: a size is at most {MAX_INT_TEXT} bytes; "
                            "write it like 512MiB or 2GiB.")
    return limit


def _short(text: str, limit: int = 40) -> str:
    """``text``, or its start and its length when it is long."""
    return text if len(text) <= limit else f"{text[:20]}... ({len(text)} characters)"


def _stack(request: ShapeRequest, input_shape, batch, input_label, sample_batch=None) -> StackResult:
    """The stack at ``batch`` (--batch), else at the sample's batch, so that the shapes shown are the
    shapes run.  A model config keeps its own batch (its input layers give it, or None: any batch);
    :func:`convcalc.run.run_stack` refuses a sample whose batch differs from a fixed one."""
    if request.file is not None:
        from .stackfile import compute_stack_file, load_file

        loaded = load_file(request.file, request.data_format, input_shape, batch, input_label,
                           expand_nested=request.expand_nested)
        if loaded.stack is None or batch is not None or sample_batch is None:
            return loaded.result
        shape = input_shape[0] if isinstance(input_shape, list) else input_shape
        return compute_stack_file(loaded.stack, request.data_format, shape, sample_batch, input_label)
    fmt = resolve_data_format(request.data_format)
    return compute_stack(list(request.layers), fmt, input_shape, batch if batch is not None else sample_batch, input_label)


def _check_known_sizes(result: StackResult) -> None:
    """--run needs every size but the batch: unknown (None) sizes are refused before anything runs."""
    inputs = result.input_shape
    inputs = list(inputs.values()) if isinstance(inputs, dict) else inputs if isinstance(inputs, list) else [inputs]
    for shape in inputs:
        if any(size is None for size in shape[1:]):
            raise ConvcalcError(
                f"--run needs every input size; the input {'x'.join(str(n) for n in shape[1:])} has unknown (None) "
                "sizes: give --input with sizes, e.g. 64x64x3."
            )


def _is_python(path) -> bool:
    from .pysource import is_python

    return is_python(path)


def _python(request: ShapeRequest, input_shape, batch, input_label: str = "--input"):
    """The models a Python source builds (SPEC 9), read statically: ``--model`` picks one."""
    from dataclasses import replace

    from . import reading
    from .pysource import evaluate_model, models_of, read_source
    from .result import ModelResults

    name = str(request.file)
    text = reading.as_text(reading.read_bytes(request.file, "Python source"), name, "Python source")
    fmt = resolve_data_format(request.data_format)
    call = request.model if request.model is not None and "(" in request.model else None
    source = read_source(name, text, fmt, call)
    chosen = models_of(source, None if call is not None else request.model)
    models, notes, names = [], [], []
    for model in chosen:
        if model.skipped and request.model is None and len(chosen) > 1:
            notes.append(model.error.text)
            continue
        shapes = None
        if model.graph is not None and (input_shape is not None or batch is not None):
            declared = [model.graph.by_key[key].op.shape for key in model.graph.inputs]
            given = [d[1:] for d in declared] if input_shape is None else (
                input_shape if isinstance(input_shape, list) else [input_shape])
            if len(given) != len(declared):
                raise ConvcalcError(f"model {model.variable!r} of {name} has {len(declared)} input(s), but "
                                    f"{len(given)} {input_label} were given; give one per model input, in order.")
            shapes = [(batch if batch is not None else d[0], *g) for d, g in zip(declared, given)]
        result = replace(evaluate_model(model, shapes), source_lines=True)
        models.append((model.variable, result))
        names.append(model.name)
    if not models:
        raise ConvcalcError(f"no model of {name} can be read statically" + (f": {notes[0]}" if notes else
                            "; it builds no keras.Model or keras.Sequential bound to a module-level name."))
    return ModelResults(name, tuple(models), tuple(notes), tuple(names))
