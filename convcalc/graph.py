"""One graph of layers, built by every source, and the one walk that evaluates it.

Layer specs, stack files and Keras model configs each build a :class:`Graph`:
nodes that hold a layer (or an input, a Keras operation, a nested graph), the
tensors they read, and where they came from (:class:`~convcalc.errors.Where`:
file, line, what).  :func:`evaluate` computes every node once, in an order
where each node's inputs come first (Kahn's algorithm: linear in the size of
the graph), and returns the :class:`~convcalc.result.StackResult` that every
view reads.  Standard library only.

Tensors carry the batch axis first; layers compute on the shape without it,
Keras operations (``x + 3.0``, ``ops.reshape``) on the whole shape, as in Keras.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import formulas
from .config import DataFormat
from .errors import ConvcalcError, Where
from .result import LayerRow, StackResult

Shape = tuple  # batch axis first; sizes may be None


@dataclass(frozen=True)
class TensorRef:
    """Output ``output`` of node ``node`` (a node key)."""

    node: Any
    output: int = 0


@dataclass(frozen=True)
class Constant:
    """A literal argument of a Keras operation (``3.0`` in ``x + 3.0``)."""

    value: Any


@dataclass(frozen=True)
class ArrayConstant:
    """An array a Keras operation captured (``x * np.array([1., 2.])``: ``__numpy__`` in a config): an
    operand with a shape, of no batch; ``value`` holds its numbers as nested tuples."""

    value: Any
    dtype: str
    shape: tuple


@dataclass
class InputSpec:
    """A model input: its shape with the batch axis first."""

    shape: Shape


@dataclass
class Node:
    """One call of a layer (or an input, an operation, a nested graph).

    ``inputs`` is a :class:`TensorRef`, or a list/tuple/dict of them (merge
    layers take a list), as the layer is called.  ``shown`` is False for the
    later calls of a shared layer: Keras lists a layer once, with its first call.
    """

    key: Any
    name: str
    op: Any  # Layer | InputSpec | Operation | Graph
    index: int = 0  # 1-based, as messages count layers
    inputs: Any = None
    where: Where = field(default_factory=Where)
    spec: str = ""
    shown: bool = True
    line: int | None = None
    data_format: str | None = None  # the layer's own, else the graph's
    kwargs: dict = field(default_factory=dict)  # an operation's keyword tensors/constants
    # A layer call's keyword options (``use_causal_mask=True``, ``training=False``): literals as they
    # are written, a tensor as TENSOR_OPTION, anything else as UNKNOWN_OPTION.  --run reads them.
    options: dict = field(default_factory=dict)


TENSOR_OPTION, UNKNOWN_OPTION = "<tensor>", "<unknown>"


def option_value(value: Any) -> Any:
    """A layer call's literal option as :attr:`Node.options` keeps it: None, a bool, a number or a string
    as it is, anything else UNKNOWN_OPTION (the sources turn their tensors into TENSOR_OPTION first)."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else UNKNOWN_OPTION


@dataclass
class Graph:
    """Nodes (in the source's order), the graph's inputs and outputs (TensorRefs, a list or a dict)."""

    name: str
    nodes: list[Node]
    inputs: list[Any]  # node keys of InputSpec nodes, in the model's input order
    outputs: Any  # TensorRef | list[TensorRef] | dict[str, TensorRef]
    data_format: DataFormat
    class_name: str = "Functional"
    trainable: bool = True
    input_structure: Any = None  # dict keys when the model takes a dict

    def __post_init__(self) -> None:
        self.by_key = {node.key: node for node in self.nodes}


@dataclass(frozen=True)
class Evaluated:
    """A graph's outputs and rows, for a graph nested in another."""

    outputs: list
    rows: list[LayerRow]
    trainable_params: int
    non_trainable_params: int


def refs_in(value: Any) -> list[TensorRef]:
    """Every TensorRef in a (nested) structure of inputs."""
    if isinstance(value, TensorRef):
        return [value]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in refs_in(item)]
    if isinstance(value, (list, tuple)):
        return [ref for item in value for ref in refs_in(item)]
    return []


def _substitute(value: Any, tensors: dict, wrap=lambda shape: shape, array=None) -> Any:
    """The structure of inputs with each TensorRef replaced by its tensor (``wrap``-ped), each Constant
    by its value, and each ArrayConstant by ``array(constant)`` (default: its shape, ``wrap``-ped).
    ``tensors`` holds each node's outputs: shapes when evaluating, arrays when running."""
    if isinstance(value, TensorRef):
        outputs = tensors[value.node]
        if value.output >= len(outputs):
            raise ConvcalcError(f"it reads output {value.output} of {_key_text(value.node)}, which has "
                                f"{len(outputs)} output(s).")
        return wrap(outputs[value.output])
    if isinstance(value, Constant):
        return value.value
    if isinstance(value, ArrayConstant):
        return wrap(value.shape) if array is None else array(value)
    if isinstance(value, dict):
        return {k: _substitute(v, tensors, wrap, array) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, tensors, wrap, array) for v in value]
    if isinstance(value, tuple):
        return tuple(_substitute(v, tensors, wrap, array) for v in value)
    return value


def order(graph: Graph) -> list[Node]:
    """The nodes in an order where every node comes after the nodes it reads (Kahn's algorithm).

    Among ready nodes the source's order is kept.  A node that reads a tensor no
    node produces, or a cycle, is an error naming the node.
    """
    position = {node.key: i for i, node in enumerate(graph.nodes)}
    waiting: dict[Any, int] = {}
    readers: dict[Any, list[Any]] = {}
    for node in graph.nodes:
        needed = {ref.node for ref in refs_in(node.inputs) + refs_in(node.kwargs)}
        for key in needed:
            if key not in position:
                raise ConvcalcError(
                    f"model {graph.name!r}: layer {node.name!r} is connected to a tensor no layer produces "
                    f"({_key_text(key)}).", node.where)
            readers.setdefault(key, []).append(node.key)
        waiting[node.key] = len(needed)
    import heapq

    ready = [position[k] for k, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    result = []
    while ready:
        node = graph.nodes[heapq.heappop(ready)]
        result.append(node)
        for reader in readers.get(node.key, ()):
            waiting[reader] -= 1
            if waiting[reader] == 0:
                heapq.heappush(ready, position[reader])
    if len(result) != len(graph.nodes):
        stuck = next(node for node in graph.nodes if waiting[node.key] > 0)
        raise ConvcalcError(f"model {graph.name!r}: layer {stuck.name!r} is part of a cycle of layers.", stuck.where)
    return result


def _key_text(key: Any) -> str:
    if isinstance(key, tuple) and len(key) == 2:
        return f"{key[0]!r}, call {key[1]}"
    return repr(key)


def evaluate(graph: Graph, input_shapes: list[Shape] | None = None, expand_nested: bool = False) -> StackResult:
    """Every node's shapes, padding and weights, computed once.

    ``input_shapes`` (batch first) replace the inputs' declared shapes, as
    building the model again on other inputs would.
    """
    evaluated = _evaluate(graph, input_shapes, expand_nested, depth=0)
    inputs = [graph.by_key[key].op.shape for key in graph.inputs] if input_shapes is None else list(input_shapes)
    if graph.input_structure is not None:
        input_shape = dict(zip(graph.input_structure, inputs))
    else:
        input_shape = inputs[0] if len(inputs) == 1 else inputs
    outputs = evaluated.outputs
    if isinstance(graph.outputs, dict):
        output_shape = dict(zip(graph.outputs, outputs))
    elif isinstance(graph.outputs, list) and len(outputs) != 1:
        output_shape = list(outputs)
    else:
        output_shape = outputs[0]
    return StackResult(graph.data_format, input_shape, tuple(evaluated.rows), output_shape,
                       graph=graph, graph_inputs=tuple(inputs))


def _evaluate(graph: Graph, input_shapes, expand_nested: bool, depth: int) -> Evaluated:
    if input_shapes is not None and len(input_shapes) != len(graph.inputs):
        raise ConvcalcError(f"model {graph.name!r} takes {len(graph.inputs)} input(s); got {len(input_shapes)}.")
    given = dict(zip(graph.inputs, input_shapes)) if input_shapes is not None else {}
    tensors: dict[Any, list[Shape]] = {}
    rows: dict[Any, list[LayerRow]] = {}
    trainable = frozen = 0
    built: dict[int, tuple] = {}  # a shared layer's weights, from the call that built them
    for node in order(graph):
        try:
            outputs, node_rows = _node(node, tensors, given, graph, expand_nested, depth)
            _check_shared(node, node_rows, built)
        except ConvcalcError as error:
            raise error.at(node.where) from None
        tensors[node.key] = outputs
        if node.shown:
            rows[node.key] = node_rows
            for row in node_rows:
                if row.depth == depth:
                    trainable += row.trainable_params
                    frozen += row.non_trainable_params
    ordered = [row for node in graph.nodes if node.key in rows for row in rows[node.key]]
    outputs = []
    for ref in _output_refs(graph.outputs):
        if ref.node not in tensors or ref.output >= len(tensors[ref.node]):
            raise ConvcalcError(f"model {graph.name!r}: output {_key_text(ref.node)} is not a tensor of its layers.")
        outputs.append(tensors[ref.node][ref.output])
    trainable, frozen = formulas.frozen(trainable, frozen, graph.trainable)
    return Evaluated(outputs, ordered, trainable, frozen)


def _check_shared(node: Node, rows: list[LayerRow], built: dict[int, tuple]) -> None:
    """A layer called again reuses its weights: the new input must give the same weight shapes (Keras
    refuses the call otherwise, as its input_spec does)."""
    if not rows or not rows[0].weights:
        return
    row = rows[0]
    shapes = tuple((w.name, w.shape) for w in row.weights)
    first = built.setdefault(id(node.op), (shapes, row.input_shape))
    if first[0] != shapes:
        raise ConvcalcError(
            f"the layer is called again on an input of shape {row.input_shape}, but its weights were built for "
            f"{first[1]} ({', '.join(f'{n} {s}' for n, s in first[0])}); Keras refuses an incompatible input."
        )


def _output_refs(outputs: Any) -> list[TensorRef]:
    if isinstance(outputs, TensorRef):
        return [outputs]
    if isinstance(outputs, dict):
        return list(outputs.values())
    return list(outputs)


def _node(node: Node, tensors: dict, given: dict, graph: Graph, expand_nested: bool, depth: int):
    """The node's output shapes and its rows (one, or more for an expanded nested model)."""
    op = node.op
    argument = _substitute(node.inputs, tensors)
    base = dict(index=node.index, name=node.name, spec=node.spec, line=node.line, depth=depth,
                connected_to=() if graph.class_name == "Sequential" else
                tuple(_producer_name(graph, ref) for ref in refs_in(node.inputs)))
    if isinstance(op, InputSpec):
        shape = given.get(node.key, op.shape)
        row = LayerRow(type="InputLayer", data_format="", input_shape=shape, output_shape=shape, padding=None,
                       kernel_shape=None, trainable_params=0, non_trainable_params=0, **base)
        return [shape], [row]
    if isinstance(op, Graph):
        shapes = argument if isinstance(argument, list) else list(argument.values()) if isinstance(argument, dict) else [argument]
        inner = _evaluate(op, shapes, expand_nested, depth + 1)
        output = inner.outputs[0] if len(inner.outputs) == 1 else list(inner.outputs)
        row = LayerRow(type=op.class_name, data_format=graph.data_format.value, input_shape=argument,
                       output_shape=output, padding=None, kernel_shape=None, trainable_params=inner.trainable_params,
                       non_trainable_params=inner.non_trainable_params, **base)
        return list(inner.outputs), [row] + (inner.rows if expand_nested else [])
    if getattr(op, "is_operation", False):
        from .operations import as_tensor

        output = op.compute(_substitute(node.inputs, tensors, as_tensor), _substitute(node.kwargs, tensors, as_tensor))
        outputs = output if isinstance(output, list) else [output]
        read = [_substitute(ref, tensors) for ref in refs_in(node.inputs) + refs_in(node.kwargs)]
        row = LayerRow(type=op.type_name, data_format="", input_shape=read[0] if len(read) == 1 else read,
                       output_shape=output,
                       padding=None, kernel_shape=None, trainable_params=0, non_trainable_params=0, layer=op, **base)
        return outputs, [row]
    fmt = node.data_format or op.data_format or graph.data_format.value
    shapes = argument if isinstance(argument, list) else [argument]
    if not all(isinstance(s, tuple) and s for s in shapes):
        raise ConvcalcError(f"{op.type_name} cannot be called on {argument!r}.")
    batch = shapes[0][0]
    unbatched = [s[1:] for s in shapes] if isinstance(argument, list) else argument[1:]
    result = op.compute(unbatched, fmt)
    _check_range(result)
    if result.includes_batch:
        output = result.output_shape
    elif isinstance(result.output_shape, list):
        output = [(batch, *s) for s in result.output_shape]
    else:
        output = (batch, *result.output_shape)
    row = LayerRow(type=op.type_name, data_format=fmt, input_shape=argument, output_shape=output,
                   padding=result.padding, kernel_shape=result.kernel_shape,
                   trainable_params=result.trainable_params, non_trainable_params=result.non_trainable_params,
                   layer=op, cropping=result.cropping, weights=result.weights, **base)
    return (output if isinstance(output, list) else [output]), [row]


def _check_range(result) -> None:
    """No tensor or weight larger than int64 can exist: refuse it rather than print its shape."""
    from .parse import MAX_INT, MAX_INT_TEXT, shown

    shapes = result.output_shape if isinstance(result.output_shape, list) else [result.output_shape]
    for shape in shapes:
        if any(isinstance(size, int) and size > MAX_INT for size in shape):
            raise ConvcalcError(f"the output shape {shown(tuple(shape))} has a size larger than {MAX_INT_TEXT}; "
                                "no tensor can be that large.")
    for weight in result.weights:
        if weight.size > MAX_INT:
            raise ConvcalcError(f"the weight {weight.name!r} of shape {shown(weight.shape)} would hold more than "
                                f"{MAX_INT_TEXT} numbers; no tensor can be that large.")


def _producer_name(graph: Graph, ref: TensorRef) -> str:
    node = graph.by_key.get(ref.node)
    return node.name if node is not None else str(ref.node)
