"""A stack of layers applied in order: the result behind every table and JSON.

:func:`compute_stack` parses the specs, resolves the input and the data
format, names the layers as Keras would, and runs each layer's geometry.
Every user mistake becomes a :class:`ConvcalcError` naming the layer by its
1-based index and spec.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from .config import DataFormat
from .result import LayerRow, StackResult  # noqa: F401 - the names other modules use
from .errors import ConvcalcError, Where
from .graph import Graph, InputSpec, Node, TensorRef, evaluate
from .layers import CHECKS, Layer, build_layer
from .arguments import is_int
from .parse import MAX_INT, MAX_INT_TEXT, Call, parse_call, shown, suggest

INPUT_NAMES = frozenset({"Input", "InputLayer"})


@dataclass(frozen=True)
class StackInput:
    """The input of a stack: its shape without the batch, and the batch size if known."""

    shape: tuple[int, ...] | None
    batch: int | None = None


# Keras 3's signatures: keras.Input(...) and keras.layers.InputLayer(...), in positional order.
INPUT_SIGNATURES = {
    "Input": ("shape", "batch_size", "dtype", "sparse", "ragged", "batch_shape", "name", "tensor", "optional"),
    "InputLayer": ("shape", "batch_size", "dtype", "sparse", "ragged", "batch_shape", "input_tensor", "optional",
                   "name"),
}
# InputLayer's **kwargs: the Keras 2 names it still reads.
INPUT_LAYER_LEGACY = {"input_shape": "shape", "batch_input_shape": "batch_shape"}


def parse_input_call(call: Call) -> StackInput:
    """``Input(shape=(32, 32, 3), batch_size=8)`` or ``Input(batch_shape=(8, 32, 32, 3))``.

    Every size must be a positive integer (or ``None``, unknown) and the batch size a positive
    integer: Keras accepts 0 and ``True`` (a bool is an int in Python), which would give
    a shape no model can be run with, so convcalc refuses them.
    """
    kind = "InputLayer" if call.short == "InputLayer" else "Input"
    allowed = INPUT_SIGNATURES[kind]
    if len(call.args) > len(allowed):
        raise ConvcalcError(f"{kind} takes at most {len(allowed)} positional arguments; got {len(call.args)}.")
    bound = dict(zip(allowed, call.args))
    for key, value in call.kwargs:
        if kind == "InputLayer" and key in INPUT_LAYER_LEGACY:
            key = INPUT_LAYER_LEGACY[key]
        elif key not in allowed:
            hint = suggest(key, allowed)
            raise ConvcalcError(f"{kind} got an unknown argument {shown(key)}{hint}; "
                                "give shape=(height, width, channels).")
        if key in bound:
            raise ConvcalcError(f"{kind} got argument {key!r} twice.")
        bound[key] = value
    for key in ("tensor", "input_tensor"):
        if bound.get(key) is not None:
            raise ConvcalcError(f"{kind}({key}=...) needs a tensor, which a spec cannot hold; give shape=(...).")
    shape, batch = bound.get("shape"), bound.get("batch_size")
    if bound.get("batch_shape") is not None:
        if shape is not None:
            raise ConvcalcError(f"{kind} cannot take both shape and batch_shape (Keras refuses it); give one.")
        if batch is not None:
            raise ConvcalcError(f"{kind} cannot take both batch_size and batch_shape; give one.")
        batch_shape = bound["batch_shape"]
        if not isinstance(batch_shape, tuple) or len(batch_shape) < 1:
            raise ConvcalcError(
                f"batch_shape must be a tuple (batch, ...sizes); got batch_shape={shown(batch_shape)}."
            )
        batch, shape = batch_shape[0], batch_shape[1:]
        _check_sizes(shape, "batch_shape", batch_shape)
        return StackInput(shape, _check_batch(batch, "batch_shape", batch_shape))
    if shape is None:
        raise ConvcalcError(f"{kind} needs shape=(height, width, channels).")
    if not isinstance(shape, tuple):
        shape = (shape,)
    _check_sizes(shape, "shape", shape)
    return StackInput(shape, _check_batch(batch, "batch_size", batch))


def _check_sizes(shape: tuple, name: str, given) -> None:
    """Sizes of an input without the batch: positive integers or None (unknown)."""
    for size in shape:
        if size is None:
            continue
        if not is_int(size) or size <= 0:
            what = " (True/False is not a size)" if isinstance(size, bool) else ""
            raise ConvcalcError(f"every size in {name} must be a positive integer or None{what}; "
                                f"got {name}={shown(given)}.")
        if size > MAX_INT:
            raise ConvcalcError(f"{name} has a size larger than {MAX_INT_TEXT}; got {name}={shown(given)}.")


def _check_batch(batch, name: str, given) -> int | None:
    """A batch size: a positive integer, or None (unknown)."""
    if batch is None:
        return None
    if not is_int(batch) or batch <= 0 or batch > MAX_INT:
        what = " (True/False is not a batch size)" if isinstance(batch, bool) else ""
        raise ConvcalcError(f"the batch size must be a positive integer or None{what}; got {name}={shown(given)}.")
    return batch


@dataclass(frozen=True)
class Spec:
    """One spec of a stack and where it is written (a stack file's line, else none)."""

    text: str
    line: int | None = None


def parse_layers(specs: list[Spec], file: str | None = None) -> tuple[list[StackInput], list[tuple[Layer, Spec]]]:
    """Parse every spec; ``Input(...)`` specs may open the stack (several feed a merge layer)."""
    inputs, layers = [], []
    built: dict[str, Layer] = {}  # a spec written again is parsed once (long stacks repeat their specs)
    for spec in specs:
        index = len(layers) + 1
        text = spec.text
        if layers and text in built:
            layers.append((copy.copy(built[text]), spec))  # the same arguments, but a layer of its own
            continue
        label = text.strip() if len(text) <= 80 else text.strip()[:77] + "..."
        try:
            call = parse_call(text)
            if call.short in INPUT_NAMES:
                if layers:
                    raise ConvcalcError("Input(...) may only open the stack, before every layer.")
                inputs.append(parse_input_call(call))
                continue
            layer = built[text] = build_layer(call)
            layers.append((layer, spec))
        except ConvcalcError as error:
            where = f"layer {index}" if layers or not label.startswith(tuple(INPUT_NAMES)) else "the input"
            raise error.at(Where(file, spec.line, f"{where} {label}")) from None
    return inputs, layers


def stack_graph(
    specs: list[str | Spec],
    data_format: DataFormat,
    input_shape: tuple[int, ...] | None = None,
    batch: int | None = None,
    input_label: str = "--input",
    file: str | None = None,
    input_line: int | None = None,
) -> Graph:
    """The graph of a stack: its input(s), then each layer reading the one before."""
    specs = [spec if isinstance(spec, Spec) else Spec(spec) for spec in specs]
    inputs, layers = parse_layers(specs, file)
    at_input = Where(file, input_line)
    try:
        if len(inputs) > 1:
            if input_shape is not None:
                raise ConvcalcError(f"{input_label} cannot be combined with several Input(...) specs.")
            if not layers or not layers[0][0].multiple_inputs:
                raise ConvcalcError("several Input(...) specs must be followed by a merge layer such as Add() or Concatenate().")
            batch = batch if batch is not None else inputs[0].batch
            shapes = [stack_input.shape for stack_input in inputs]
        else:
            shape, batch = _resolve_input(inputs[0] if inputs else None, [layer for layer, _ in layers],
                                          input_shape, batch, input_label)
            shapes = [shape]
    except ConvcalcError as error:
        raise error.at(at_input) from None
    names = _layer_names(layers, file)
    nodes = [Node(("input", i), "input", InputSpec((batch, *shape)), shown=False) for i, shape in enumerate(shapes)]
    previous = [TensorRef(node.key) for node in nodes]
    for index, ((layer, spec), name) in enumerate(zip(layers, names), start=1):
        key = ("layer", index)
        reads = previous if len(previous) > 1 else previous[0]
        where = Where(file, spec.line, f"layer {index} {layer.spec}")
        nodes.append(Node(key, name, layer, index=index, inputs=reads, where=where, spec=layer.spec, line=spec.line))
        previous = [TensorRef(key)]
    outputs = previous if len(previous) > 1 else previous[0]
    return Graph("stack", nodes, [node.key for node in nodes if isinstance(node.op, InputSpec)], outputs,
                 data_format, class_name="Sequential")


def compute_stack(
    specs: list[str | Spec],
    data_format: DataFormat,
    input_shape: tuple[int, ...] | None = None,
    batch: int | None = None,
    input_label: str = "--input",
    file: str | None = None,
    input_line: int | None = None,
) -> StackResult:
    """Parse and compute a whole stack.

    >>> from convcalc.config import DataFormat
    >>> r = compute_stack(["Conv2D(10, 8, padding='same')"], DataFormat("channels_last", "default"), (32, 32, 3))
    >>> r.output_shape, r.total_params
    ((None, 32, 32, 10), 1930)
    """
    graph = stack_graph(specs, data_format, input_shape, batch, input_label, file, input_line)
    result = evaluate(graph)
    layers = [node.op for node in graph.nodes if not isinstance(node.op, InputSpec)]
    source = data_format
    if layers and layers[0].data_format:
        source = DataFormat(layers[0].data_format, "layer")
    return replace(result, data_format=source)


def _resolve_input(
    stack_input: StackInput | None,
    layers: list[Layer],
    option: tuple[int, ...] | None,
    batch: int | None,
    label: str = "--input",
) -> tuple[tuple[int, ...], int | None]:
    candidates = []
    if option is not None:
        candidates.append((label, option))
    if stack_input is not None:
        candidates.append(("Input(shape=...)", stack_input.shape))
        if batch is None:
            batch = stack_input.batch
    if layers and layers[0].input_shape is not None:
        candidates.append(("input_shape= of layer 1", layers[0].input_shape))
    for layer_index, layer in enumerate(layers[1:], start=2):
        if layer.input_shape is not None:
            raise ConvcalcError("input_shape= is only meaningful on the first layer.", Where(what=f"layer {layer_index} {layer.spec}"))
    if not candidates:
        raise ConvcalcError(
            "no input shape: give --input 32x32x3 (input = \"32x32x3\" in a stack file), "
            "open the stack with Input(shape=(32, 32, 3)), "
            "or pass input_shape= to the first layer."
        )
    (first_source, first), *others = candidates
    for source, other in others:
        if other != first:
            raise ConvcalcError(f"the input shape is given twice and differs: {first_source} {first} and {source} {other}.")
    return first, batch


def _layer_names(layers: list[tuple[Layer, Spec]], file: str | None = None) -> list[str]:
    """Keras's default names (``conv2d``, ``conv2d_1``, ...) unless ``name=`` is given; all unique."""
    counters: dict[str, int] = {}
    names = []
    for layer, _ in layers:
        name = layer.name
        if name is None:
            base = layer.default_name()
            count = counters.get(base, 0)
            counters[base] = count + 1
            name = base if count == 0 else f"{base}_{count}"
        names.append(name)
    seen: dict[str, int] = {}
    for index, name in enumerate(names, start=1):
        if name in seen:
            layer, spec = layers[index - 1]
            raise ConvcalcError(
                f"the name {name!r} is already used by layer {seen[name]}; Keras requires unique layer names.",
                Where(file, spec.line, f"layer {index} {layer.spec}"),
            )
        seen[name] = index
    return names

