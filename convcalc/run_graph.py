"""The walk of ``--run`` over a whole graph: every node once, in an order where its inputs come
first, nested models entered, shared layers run with one set of weights, tensors freed once no
later node reads them.

:func:`plan` walks the graph on shapes alone, at the run's batch: it computes every call's row
(with :func:`convcalc.graph._node`, the evaluator's own rule), refuses a layer that cannot run,
collects the weights every layer declares and the peak memory the walk needs. Nothing is
allocated.  :func:`execute` then walks it again on arrays.  Both walks share one traversal
(:class:`_Walk`), so the plan is the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import fold, masking
from . import graph as graph_module
from . import layer_kernels
from .activations import scratch_bytes as activation_scratch
from .errors import ConvcalcError
from .execute import (MERGES, MHA_TENSOR_OPTIONS, RUNNABLE, InconsistencyError, call_refusal, execute_layer,
                      layer_bytes, refusal)
from .formulas import weight_count
from .graph import Graph, InputSpec, Node, order, refs_in
from .outcome import LayerRun
from .result import LayerRow

Path_ = tuple  # (node name, node index) of each nested model that holds a node, outermost first


@dataclass
class LayerCall:
    """One call of a layer or operation: its row at the run's batch, and where its weights are."""

    row: LayerRow
    path: Path_
    owner: int  # id() of the layer object: a shared layer's calls share their weights

    @property
    def layer_name(self) -> str:
        """The layer's name, after the names of the nested models that hold it: ``encoder/conv``."""
        return "/".join([*(name for name, _ in self.path), self.row.name])

    @property
    def weight_names(self) -> list[str]:
        """``<layer name>/<weight name>``, as ``{f"{l.name}/{w.name}" ...}`` writes the weights; a layer of a
        nested model is named after that model too (``encoder/conv/kernel``): names are unique only
        within one model."""
        return [f"{self.layer_name}/{weight.name}" for weight in self.row.weights]


@dataclass
class Plan:
    """What the run will do: every call, the distinct layers' weights, and the memory peak."""

    calls: list[LayerCall] = field(default_factory=list)
    weights: dict[str, tuple[LayerRow, tuple]] = field(default_factory=dict)  # name -> (row, shape)
    aliases: dict[str, str] = field(default_factory=dict)  # a nested layer's weight by its own name, when unique
    ambiguous: dict[str, list] = field(default_factory=dict)  # a short name that stands for several weights
    owners: dict[int, LayerCall] = field(default_factory=dict)  # the first call of each layer with weights
    weight_elements: int = 0
    peak_bytes: int = 0  # tensors alive at once, plus the worst call's own scratch
    operations: int = 0  # Keras operation nodes: they may mix the samples of a batch
    output_bytes: int = 0  # the graph's outputs


def _tensor_bytes(shape, itemsize: int) -> int:
    shapes = shape if isinstance(shape, list) else [shape]
    return sum(weight_count(s) * itemsize for s in shapes)


def _readers(graph: Graph) -> dict[Any, int]:
    """How many times each node's outputs are read (by nodes, and once more if the graph returns them)."""
    count: dict[Any, int] = {}
    for node in graph.nodes:
        for ref in refs_in(node.inputs) + refs_in(node.kwargs):
            count[ref.node] = count.get(ref.node, 0) + 1
    for ref in graph_module._output_refs(graph.outputs):
        count[ref.node] = count.get(ref.node, 0) + 1
    return count


def _sole_readers(graph: Graph, readers: dict) -> dict[Any, Node]:
    """The node that alone reads a node's outputs (the graph not returning them), by the read node's key."""
    sole = {}
    for node in graph.nodes:
        for ref in refs_in(node.inputs) + refs_in(node.kwargs):
            if readers.get(ref.node) == 1:
                sole[ref.node] = node
    return sole


@dataclass
class _Held:
    """A convolution's call held back, to be computed with the BatchNormalization that alone reads it
    folded in (see :mod:`convcalc.fold`)."""

    key: Any
    row: LayerRow
    shapes: list
    x: Any
    weights: dict


def _folds_into(node: Node, reader: Node | None) -> bool:
    """Whether ``reader`` is a BatchNormalization called on ``node``'s one output and nothing else."""
    return (reader is not None and getattr(reader.op, "type_name", None) == "BatchNormalization"
            and not getattr(reader.op, "is_operation", False) and reader.inputs == graph_module.TensorRef(node.key, 0)
            and not refs_in(reader.kwargs))


def _explicit_masks(masks: list, explicit: dict) -> list:
    """The masks a layer call reads: its inputs' Keras masks, replaced by the ones it is given by keyword
    (``mask=`` for its input, or MultiHeadAttention's ``query_mask=``, ``value_mask=``, ``key_mask=``)."""
    masks = list(masks)
    if explicit.get("mask") is not None:
        given = explicit["mask"]
        given = list(given) if isinstance(given, (list, tuple)) else [given]
        masks[:len(given)] = given
    for i, key in enumerate(MHA_TENSOR_OPTIONS[:3]):  # query_mask, value_mask, key_mask
        if explicit.get(key) is not None and i < len(masks):
            masks[i] = explicit[key]
    return masks


def _values(value: Any, tensors: dict) -> Any:
    """A node's argument structure with each TensorRef replaced by its array, each Constant by its value,
    each captured array by a NumPy array."""
    return graph_module._substitute(value, tensors, array=lambda c: np.array(c.value, dtype=c.dtype))


class _Walk:
    """One traversal, on shapes (``arrays`` None: planning) or on arrays (running)."""

    def __init__(self, itemsize: int, plan: Plan | None = None, weights: Callable | None = None,
                 owners: dict | None = None, progress: Callable[[], None] | None = None):
        self.itemsize = itemsize
        self.plan = plan
        self.weights = weights  # call -> dict of arrays (running only)
        self.owners = owners or {}  # id() of a layer -> its first call (running only)
        self.progress = progress
        self.live = 0  # bytes of the tensors alive (planning)
        self.measured: dict[tuple, tuple] = {}  # (path, node key) -> (shape(s), seconds)
        self.folded: tuple | None = None  # (key, seconds) of the held convolution the last node computed
        self.protected: list[list] = []  # the input arrays of each graph being walked, outermost first
        self.mask_arrays: dict[tuple, Any] = {}  # (path, node key) -> the Keras mask its output carries (running)
        self._mask_arrays_in: list = []

    def graph(self, graph: Graph, path: Path_, inputs: list, arrays: list | None,
              input_mask_arrays: list | None = None) -> tuple[list, list | None]:
        """The graph's output shapes (and arrays) given its inputs'. ``input_mask_arrays``: the Keras mask
        each input carries (or None), when running: Keras passes masks into nested models."""
        self._mask_arrays_in = input_mask_arrays or []
        shapes: dict[Any, list] = {}
        values: dict[Any, list] | None = {} if arrays is not None else None
        readers = _readers(graph)
        sole = _sole_readers(graph, readers) if arrays is not None else {}
        given = dict(zip(graph.inputs, range(len(inputs))))
        self.protected.append(arrays or [])  # this graph's inputs are its caller's: never written in place
        try:
            return self._walk(graph, path, inputs, arrays, shapes, values, readers, sole, given)
        finally:
            self.protected.pop()

    def _walk(self, graph: Graph, path: Path_, inputs: list, arrays: list | None, shapes: dict, values: dict | None,
              readers: dict, sole: dict, given: dict) -> tuple[list, list | None]:
        mask_arrays_in = self._mask_arrays_in
        for node in order(graph):
            began = time.perf_counter()
            try:
                if isinstance(node.op, InputSpec):
                    out_shapes = [inputs[given[node.key]]]
                    out_values = [arrays[given[node.key]]] if arrays is not None else None
                    if given[node.key] < len(mask_arrays_in) and mask_arrays_in[given[node.key]] is not None:
                        self.mask_arrays[(path, node.key)] = mask_arrays_in[given[node.key]]
                elif isinstance(node.op, Graph):
                    argument = graph_module._substitute(node.inputs, shapes)
                    inner = _flat(argument)
                    inner_values = _flat(_values(node.inputs, values)) if values is not None else None
                    inner_path = (*path, (node.name, node.index))
                    entering_arrays = [self.mask_arrays.get((path, ref.node)) for ref in refs_in(node.inputs)]
                    if "mask" in node.kwargs and values is not None:  # mask=: Keras sets it on the model's inputs
                        entering_arrays = _flat(_values(node.kwargs["mask"], values))
                    out_shapes, out_values = self.graph(node.op, inner_path, inner, inner_values, entering_arrays)
                    out_refs = graph_module._output_refs(node.op.outputs)
                    leaving_arrays = [self.mask_arrays.get((inner_path, ref.node)) for ref in out_refs]
                    if leaving_arrays and leaving_arrays[0] is not None:
                        self.mask_arrays[(path, node.key)] = leaving_arrays[0]
                else:
                    out_shapes, out_values = self.call(node, graph, path, shapes, values, sole.get(node.key), readers)
            except ConvcalcError as error:
                raise error.at(node.where) from None
            seconds = time.perf_counter() - began
            if self.folded is not None:
                # The held convolution ran here, with this BatchNormalization folded in: its time is the convolution's.
                key, spent = self.folded
                held_shapes, held_seconds = self.measured[(path, key)]
                self.measured[(path, key)] = (held_shapes, held_seconds + spent)
                seconds = max(seconds - spent, 0.0)
                self.folded = None
            shapes[node.key] = out_shapes
            if values is not None:
                values[node.key] = out_values
            self.measured[(path, node.key)] = (out_shapes, seconds)
            self._release(node, readers, shapes, values, graph)
        refs = graph_module._output_refs(graph.outputs)
        out = [shapes[ref.node][ref.output] for ref in refs]
        return out, ([values[ref.node][ref.output] for ref in refs] if values is not None else None)

    def _release(self, node: Node, readers: dict, shapes: dict, values: dict | None, graph: Graph) -> None:
        """Forget the tensors no later node reads (the graph's outputs are read once more, at the end)."""
        if not isinstance(node.op, (InputSpec, Graph)) and self.plan is not None:
            self.live += _tensor_bytes(shapes[node.key], self.itemsize)
        for ref in refs_in(node.inputs) + refs_in(node.kwargs):
            readers[ref.node] -= 1
            if readers[ref.node] == 0:
                if self.plan is not None and not isinstance(graph.by_key[ref.node].op, InputSpec):
                    self.live -= _tensor_bytes(shapes[ref.node], self.itemsize)
                if values is not None:
                    values.pop(ref.node, None)

    def call(self, node: Node, graph: Graph, path: Path_, shapes: dict, values: dict | None,
             reader: Node | None = None, readers: dict | None = None):
        """One layer or operation: its row from the shapes; its arrays when running.

        ``reader`` is the node that alone reads this one's outputs, if any: a convolution read only by a
        BatchNormalization is held back and computed with the normalization folded in."""
        out_shapes, rows = graph_module._node(node, shapes, {}, graph, False, len(path))
        row = rows[0]
        if self.plan is not None:
            self._plan_call(node, row, path)
            return out_shapes, None
        arguments = _values(node.inputs, values)
        if isinstance(arguments, _Held):
            outputs = self._fold(arguments, row, self.weights(self._owner_call(node, row, path)))
            _check_shapes(row, out_shapes, outputs)
            if self.progress is not None:
                self.progress()
            return out_shapes, outputs
        if fold.may_fold(row) and _folds_into(node, reader):
            held = _Held(node.key, row, out_shapes, arguments, self.weights(self._owner_call(node, row, path)))
            if self.progress is not None:
                self.progress()
            return out_shapes, [held]
        if getattr(node.op, "is_operation", False):
            from .op_kernels import run_operation

            result = run_operation(node.op, arguments, _values(node.kwargs, values))
            outputs = result if isinstance(result, list) else [result]
        else:
            weights = self.weights(self._owner_call(node, row, path))
            refs = node.inputs if isinstance(node.inputs, (list, tuple)) else [node.inputs]
            masks = [self.mask_arrays.get((path, ref.node)) if isinstance(ref, graph_module.TensorRef) else None
                     for ref in refs]
            explicit = _values(node.kwargs, values) if node.kwargs else {}
            masks = _explicit_masks(masks, explicit)
            options = {**node.options, **{k: v for k, v in explicit.items() if k == "attention_mask"}}
            free = [self._consumable(ref, graph, values, readers) for ref in refs]
            if row.type in MERGES:
                into_first = bool(free) and free[0] and row.type in layer_kernels.IN_PLACE_MERGES and all(
                    a.shape == arguments[0].shape and a.dtype == arguments[0].dtype for a in arguments)
                outputs = [layer_kernels.merge(row.type, arguments, row.layer.args.get("axis", -1), into_first)]
            else:
                result = execute_layer(row, arguments, weights, consumable=len(free) == 1 and free[0] and not any(
                    m is not None for m in masks), options=options, masks=masks)
                outputs = result if isinstance(result, list) else [result]
            output_mask = masking.output_mask(row, arguments, masks)
            if output_mask is not None:
                self.mask_arrays[(path, node.key)] = output_mask
        _check_shapes(row, out_shapes, outputs)
        if self.progress is not None:
            self.progress()
        return out_shapes, outputs

    def _consumable(self, ref, graph: Graph, values: dict, readers: dict | None) -> bool:
        """Whether the tensor ``ref`` may be overwritten by the node reading it now: the last read of a tensor
        a layer of this graph made, sharing no memory with any tensor still alive or any graph's input."""
        if readers is None or not isinstance(ref, graph_module.TensorRef) or readers.get(ref.node) != 1:
            return False
        if isinstance(graph.by_key[ref.node].op, (InputSpec, Graph)):
            return False
        array = values[ref.node][ref.output]
        if not isinstance(array, np.ndarray):
            return False
        others = [a for key, outs in values.items() for i, a in enumerate(outs) if (key, i) != (ref.node, ref.output)]
        others = [a.x if isinstance(a, _Held) else a for a in others]  # a held convolution still reads its input
        others += [a for given in self.protected for a in given]
        return not any(isinstance(a, np.ndarray) and np.may_share_memory(array, a) for a in others)

    def _fold(self, held: _Held, row: LayerRow, weights: dict) -> list:
        """The held convolution with this BatchNormalization folded into its weights (or, when the pair does
        not fold, the convolution then the normalization)."""
        began = time.perf_counter()
        dtype = np.dtype(np.float64 if held.x.dtype == np.float64 else np.float32)
        folded = fold.folded_weights(held.row, held.weights, row, weights, dtype)
        if folded is not None:
            y = execute_layer(held.row, held.x, folded)
            self.folded = (held.key, time.perf_counter() - began)
            return [y]
        x = execute_layer(held.row, held.x, held.weights)
        _check_shapes(held.row, held.shapes, [x])
        self.folded = (held.key, time.perf_counter() - began)
        return [execute_layer(row, x, weights)]

    def _owner_call(self, node: Node, row: LayerRow, path: Path_) -> LayerCall:
        return self.owners.get(id(node.op)) or LayerCall(row, path, id(node.op))

    def _plan_call(self, node: Node, row: LayerRow, path: Path_) -> None:
        plan = self.plan
        call = LayerCall(row, path, id(node.op))
        plan.calls.append(call)
        if getattr(node.op, "is_operation", False):
            from .op_kernels import operation_refusal

            plan.operations += 1
            reason = operation_refusal(node.op)
            if reason is not None:
                raise ConvcalcError(f"{reason}. Drop --run to compute the shapes.")
            scratch = 2 * _tensor_bytes(row.output_shape, self.itemsize)
        else:
            reason = refusal(row) or call_refusal(row, node.options)
            if reason is not None:
                known = f"; it executes {', '.join(RUNNABLE)}" if "does not execute" in reason else ""
                raise ConvcalcError(f"layer {row.index} {row.name} ({row.type}): {reason}{known}. "
                                    "Drop --run to compute the shapes.")
            batch = _flat(row.input_shape)[0][0]
            scratch = layer_bytes(row, batch, np.dtype(f"f{self.itemsize}")) if row.type not in MERGES else \
                2 * _tensor_bytes(row.output_shape, self.itemsize)
            if row.layer is not None and row.layer.args.get("activation") not in (None, "linear"):
                output = _tensor_bytes(row.output_shape, self.itemsize)
                scratch += output + activation_scratch(self.itemsize, _flat(row.output_shape)[0][-1])
            if row.weights and id(node.op) not in plan.owners:
                plan.owners[id(node.op)] = call
                plan.weight_elements += sum(weight.size for weight in row.weights)
                for name, weight in zip(call.weight_names, row.weights):
                    plan.weights.setdefault(name, (row, weight.shape))
        plan.peak_bytes = max(plan.peak_bytes, self.live + scratch)


def _flat(argument: Any) -> list:
    """A nested model's arguments as its list of inputs (a dict's values, in order)."""
    if isinstance(argument, dict):
        return list(argument.values())
    if isinstance(argument, list):
        return list(argument)
    return [argument]


def _check_shapes(row: LayerRow, expected: list, outputs: list) -> None:
    measured = [tuple(np.shape(y)) for y in outputs]
    wanted = [tuple(s) for s in expected]
    if measured != wanted:
        shown = measured[0] if len(measured) == 1 else measured
        formula = wanted[0] if len(wanted) == 1 else wanted
        raise InconsistencyError(
            f"layer {row.index} {row.spec}: the kernels produced shape {shown} but the formulas give "
            f"{formula}. This is a bug in convcalc; please report it."
        )


def plan(graph: Graph, input_shapes: list[tuple], itemsize: int) -> Plan:
    """Walk the graph on shapes (batch included): every call's row, the weights, the memory peak.

    Refuses, before anything is allocated, a layer or an operation that --run cannot execute."""
    result = Plan()
    walk = _Walk(itemsize, plan=result)
    walk.live = _tensor_bytes(list(input_shapes), itemsize)  # the samples stay alive for the whole run
    outputs = walk.graph(graph, (), list(input_shapes), None)[0]
    result.output_bytes = _tensor_bytes(list(outputs), itemsize)
    result.aliases, result.ambiguous = _aliases(result.weights)
    return result


def _aliases(names: dict) -> tuple[dict[str, str], dict[str, list]]:
    """Shorter names of a nested layer's weights: the layer's own (``conv/kernel``), and the nested
    model's as ``model.layers`` lists it (``encoder/kernel``, as ``{f"{l.name}/{w.name}" for l in
    model.layers for w in l.weights}`` writes it).  Returns those that name one weight only, and those
    that could be several (each with the full names it could be)."""
    short: dict[str, list[str]] = {}
    for name in names:
        parts = name.split("/")
        if len(parts) > 2:
            for alias in {"/".join(parts[-2:]), f"{parts[0]}/{parts[-1]}"}:
                short.setdefault(alias, []).append(name)
    short = {alias: found for alias, found in short.items() if alias not in names}
    return ({alias: found[0] for alias, found in short.items() if len(found) == 1},
            {alias: found for alias, found in short.items() if len(found) > 1})


@dataclass
class Executed:
    outputs: list  # the graph's output arrays, in its outputs' order
    runs: list[LayerRun]  # one per row of the evaluated result, in its order


def execute(graph: Graph, arrays: list[np.ndarray], the_plan: Plan, weights: Callable[[LayerCall], dict],
            expanded: bool, progress: Callable[[], None] | None = None) -> Executed:
    """Run the graph on ``arrays`` (one per input). ``weights(call)`` gives a layer's arrays by name;
    it is called with each layer's first call, so a shared layer runs with one set of weights."""
    walk = _Walk(arrays[0].dtype.itemsize if arrays else 4, weights=weights, owners=the_plan.owners,
                 progress=progress)
    outputs = walk.graph(graph, (), [tuple(a.shape) for a in arrays], list(arrays))[1]
    return Executed(outputs, _report(graph, (), walk.measured, expanded))


def _report(graph: Graph, path: Path_, measured: dict, expanded: bool) -> list[LayerRun]:
    """One LayerRun per row, in the order :func:`convcalc.graph.evaluate` lists the rows."""
    runs = []
    for node in graph.nodes:
        if not node.shown:
            continue
        shapes, seconds = measured[(path, node.key)]
        shape = tuple(shapes[0]) if len(shapes) == 1 else [tuple(s) for s in shapes]
        inner = []
        if isinstance(node.op, Graph):
            inner = _report(node.op, (*path, (node.name, node.index)), measured, expanded)
        runs.append(LayerRun(shape, seconds, True))
        if expanded:
            runs.extend(inner)
    return runs
