"""Keras model configs: what ``model.to_json()`` writes, or a ``.keras`` archive's ``config.json``.

Sequential and Functional models are read into the same
:class:`~convcalc.stack.StackResult` a stack of specs gives: one row per
layer with its inbound layers (``connected_to``), nested models as single
rows.  Layer configs become the same validated layer objects as specs do;
serialized values (initializers, dtype policies, tuples) become the literals
and calls a spec would hold.  No weights are read.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from .config import DataFormat
from .errors import ConvcalcError, Where
from .graph import Constant, Graph, InputSpec, Node, TensorRef, evaluate
from .layers import build_layer
from .operations import build_operation, is_operation_entry
from .parse import Call
from .result import StackResult

MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})
Shape = tuple  # a shape with the batch axis first


def looks_like_model_config(data: Any) -> bool:
    return isinstance(data, dict) and data.get("class_name") in MODEL_CLASSES and "config" in data


def read_config(path: Path) -> dict:
    """The model config of a ``.keras`` archive or a JSON file."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                text = archive.read("config.json").decode("utf-8")
        else:
            text = Path(path).read_text()
    except KeyError:
        raise ConvcalcError("the .keras archive has no config.json.") from None
    except (OSError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        raise ConvcalcError(f"cannot read the model config ({exc}).") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConvcalcError(f"line {exc.lineno}: not valid JSON ({exc.msg}).") from None
    if not looks_like_model_config(data):
        raise ConvcalcError("not a Keras model config (no Sequential or Functional class_name at the top).")
    return data


def compute_model_file(path: Path, data_format: DataFormat, input_shapes: list[tuple] | None = None,
                       expand_nested: bool = False) -> StackResult:
    """Every layer of the model in ``path``, as Keras builds it (errors are located in ``path``).

    ``input_shapes`` (without the batch, one per model input) rebuild the model at that size.
    """
    graph = model_graph(read_config(path), data_format, str(path))
    given = None
    if input_shapes is not None:
        if len(input_shapes) != len(graph.inputs):
            raise ConvcalcError(f"the model has {len(graph.inputs)} input(s), but {len(input_shapes)} --input were given; "
                                "give one --input per model input, in the model's order.", Where(str(path)))
        given = []
        for key, shape in zip(graph.inputs, input_shapes):
            declared = graph.by_key[key].op.shape
            if len(shape) != len(declared) - 1:
                raise ConvcalcError(f"--input {'x'.join(map(str, shape))} has {len(shape)} sizes, but the model's input "
                                    f"{graph.by_key[key].name!r} has {len(declared) - 1} besides the batch "
                                    f"({tuple(declared[1:])}).", Where(str(path)))
            given.append((declared[0], *shape))
    return evaluate(graph, given, expand_nested)


def compute_model(data: dict, data_format: DataFormat) -> StackResult:
    return evaluate(model_graph(data, data_format))


def literal(value: Any) -> Any:
    """A config value as a spec would hold it: lists become tuples, serialized objects become calls."""
    if isinstance(value, list):
        return tuple(literal(v) for v in value)
    if isinstance(value, dict):
        if value.get("class_name") == "__tuple__":
            return tuple(literal(v) for v in value["config"]["value"])
        if "class_name" in value:
            name, config = value["class_name"], value.get("config") or {}
            if name in ("DTypePolicy", "FloatDTypePolicy", "Policy"):
                return config.get("name")
            if not isinstance(config, dict):
                return Call(name, (literal(config),), (), f"{name}({config!r})")
            kwargs = tuple((k, literal(v)) for k, v in config.items())
            text = f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in kwargs) + ")"
            return Call(name, (), kwargs, text)
        return {k: literal(v) for k, v in value.items()}
    return value


def _short_spec(class_name: str, config: dict) -> str:
    """A readable spec for a row: the call with the arguments that set the geometry."""
    keys = ("filters", "units", "kernel_size", "pool_size", "strides", "padding", "cropping", "size",
            "target_shape", "dims", "axis", "rate", "depth_multiplier", "dilation_rate", "output_padding",
            "groups", "activation", "height", "width")
    shown = []
    for key in keys:
        if key in config and config[key] is not None:
            shown.append(f"{key}={literal(config[key])!r}")
    return f"{class_name}({', '.join(shown)})"


def model_graph(data: dict, data_format: DataFormat, file: str | None = None) -> Graph:
    """The graph of a Sequential or Functional model config (nested models become nested graphs)."""
    if not isinstance(data, dict) or not isinstance(data.get("config", {}), dict):
        raise ConvcalcError("a model config must be an object with class_name and config.", Where(file))
    config = data.get("config") or {}
    class_name = data.get("class_name")
    name = config.get("name") if isinstance(config.get("name"), str) else str(class_name).lower()
    entries = config.get("layers") or []
    if not isinstance(entries, list):
        raise ConvcalcError(f"model {name!r}: 'layers' must be a list.", Where(file))
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
            raise ConvcalcError(f"model {name!r}: layer entry {position} must be an object with a class_name string.",
                                Where(file))
    trainable = config.get("trainable", True) is not False
    if class_name == "Sequential":
        graph = _sequential(name, config, entries, data_format, file)
    else:
        graph = _functional(name, config, entries, data_format, file)
    graph.class_name = class_name
    graph.trainable = trainable
    return graph


def _where(file: str | None, index: int, entry: dict) -> Where:
    return Where(file, None, f"layer {index} {_layer_name(entry)!r} ({entry.get('class_name')})")


def _op(entry: dict, index: int, data_format: DataFormat, file: str | None):
    """What a config entry computes: a nested graph, a Keras operation, or a layer."""
    class_name = entry.get("class_name")
    try:
        if class_name in MODEL_CLASSES:
            return model_graph(entry, data_format, file), f"{class_name}(name={_layer_name(entry)!r})"
        config = entry.get("config") or {}
        if not isinstance(config, dict):
            raise ConvcalcError(f"its config must be an object; got {type(config).__name__}.")
        if is_operation_entry(entry):
            op = build_operation(class_name, config)
            return op, op.spec
        call = Call(class_name, (), tuple((k, literal(v)) for k, v in config.items()), _short_spec(class_name, config))
        return build_layer(call), call.text
    except ConvcalcError as error:
        raise error.at(_where(file, index, entry)) from None


def _sequential(name: str, config: dict, entries: list, data_format: DataFormat, file) -> Graph:
    nodes, previous = [], None
    for index, entry in enumerate(entries, start=1):
        if entry.get("class_name") == "InputLayer":
            if previous is None:
                nodes.append(Node(("input", 0), _layer_name(entry), InputSpec(_batch_shape(entry)), index=index,
                                  where=_where(file, index, entry), spec=_input_spec(entry), shown=False))
                previous = TensorRef(("input", 0))
            continue
        if previous is None:
            previous = _built_input(name, config, nodes, file)
        op, spec = _op(entry, index, data_format, file)
        key = ("layer", index)
        nodes.append(Node(key, _layer_name(entry), op, index=index, inputs=previous, where=_where(file, index, entry),
                          spec=spec))
        previous = TensorRef(key)
    if previous is None:
        previous = _built_input(name, config, nodes, file)
    return Graph(name, nodes, [("input", 0)], previous, data_format)


def _built_input(name: str, config: dict, nodes: list, file) -> TensorRef:
    """A Sequential model without an InputLayer: its ``build_input_shape`` is the input."""
    shape = config.get("build_input_shape")
    if shape is None:
        raise ConvcalcError(f"Sequential model {name!r} has no InputLayer and no build_input_shape.", Where(file))
    nodes.append(Node(("input", 0), "input", InputSpec(_shape(shape, "build_input_shape")), shown=False))
    return TensorRef(("input", 0))


def _functional(name: str, config: dict, entries: list, data_format: DataFormat, file) -> Graph:
    nodes = []
    nested = {_layer_name(e) for e in entries if e.get("class_name") in MODEL_CLASSES}
    for index, entry in enumerate(entries, start=1):
        layer_name = _layer_name(entry)
        where = _where(file, index, entry)
        if entry.get("class_name") == "InputLayer":
            nodes.append(Node((layer_name, 0), layer_name, InputSpec(_batch_shape(entry)), index=index, where=where,
                              spec=_input_spec(entry)))
            continue
        inbound = entry.get("inbound_nodes") or []
        if not isinstance(inbound, list):
            raise ConvcalcError("inbound_nodes must be a list.", where)
        op, spec = _op(entry, index, data_format, file)
        for call, node in enumerate(inbound):
            try:
                args, kwargs = _call_arguments(node)
            except ConvcalcError as error:
                raise error.at(where) from None
            if getattr(op, "is_operation", False):
                inputs = list(args)
            else:
                # tensors given by keyword (``mha(query, value=v)``) follow the positional ones
                by_keyword = [kwargs[k] for k in ("query", "value", "key") if k in kwargs]
                tensors = [a for a in [*args, *by_keyword] if _has_tensor(a)]
                inputs = tensors[0] if len(tensors) == 1 else tensors
                if isinstance(inputs, list) and not inputs:
                    raise ConvcalcError("the layer is called on no tensor.", where)
                kwargs = {}
            nodes.append(Node((layer_name, call), layer_name, op, index=index, inputs=inputs, where=where, spec=spec,
                              shown=call == 0, kwargs=kwargs))
    inputs_value = config.get("input_layers")
    structure = list(inputs_value) if isinstance(inputs_value, dict) else None
    input_keys = []
    for layer_name, node, _ in _references(inputs_value, f"model {name!r} input_layers", file):
        input_keys.append((layer_name, node))
    known = {node.key for node in nodes if isinstance(node.op, InputSpec)}
    for key in input_keys:
        if key not in known:
            raise ConvcalcError(f"model {name!r}: input layer {key[0]!r} is not among its layers.", Where(file))
    outputs_value = config.get("output_layers")
    keys = {node.key for node in nodes}
    refs = []
    for layer_name, node, tensor in _references(outputs_value, f"model {name!r} output_layers", file):
        if layer_name in nested and (layer_name, node) not in keys and (layer_name, node - 1) in keys:
            node -= 1  # Keras counts a nested model's own built-in node here, when it has one
        refs.append(TensorRef((layer_name, node), tensor))
    if isinstance(outputs_value, dict):
        outputs = dict(zip(outputs_value, refs))
    elif _is_single_reference(outputs_value):
        outputs = refs[0]
    else:
        outputs = refs
    graph = Graph(name, nodes, input_keys, outputs, data_format, input_structure=structure)
    return graph


def _call_arguments(node: Any) -> tuple[list, dict]:
    """A node's positional arguments and keyword arguments, tensors as TensorRefs, literals as Constants."""
    if isinstance(node, list):  # Keras 2: [[name, node, tensor, kwargs], ...]
        return [[_keras2_ref(item) for item in node]] if len(node) > 1 else [_keras2_ref(node[0])], {}
    if not isinstance(node, dict):
        raise ConvcalcError(f"an inbound node must be an object with args; got {type(node).__name__}.")
    args, kwargs = node.get("args", []), node.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ConvcalcError("an inbound node's args must be a list and its kwargs an object.")
    return [_argument(a) for a in args], {k: _argument(v) for k, v in kwargs.items()}


def _keras2_ref(item: Any) -> TensorRef:
    if not isinstance(item, list) or len(item) < 3 or not isinstance(item[0], str):
        raise ConvcalcError(f"cannot read the inbound tensor {item!r}.")
    return TensorRef((item[0], item[1]), item[2])


def _argument(value: Any) -> Any:
    """A node argument: tensors as TensorRefs; everything else as a Constant of plain values
    (``__slice__`` a slice, ``__ellipsis__`` ``...``, ``__tuple__`` a tuple)."""
    if isinstance(value, dict) and value.get("class_name") == "__slice__":
        config = value.get("config") or {}
        return Constant(slice(config.get("start"), config.get("stop"), config.get("step")))
    if isinstance(value, dict) and value.get("class_name") == "__ellipsis__":
        return Constant(Ellipsis)
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            history = (value.get("config") or {}).get("keras_history")
            if (not isinstance(history, list) or len(history) != 3 or not isinstance(history[0], str)
                    or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in history[1:])):
                raise ConvcalcError(f"a tensor's keras_history must be [layer name, node, tensor]; got {history!r}.")
            return TensorRef((history[0], history[1]), history[2])
        if value.get("class_name") == "__tuple__":
            items = tuple(_argument(v) for v in (value.get("config") or {}).get("value", []))
            return items if _has_tensor(items) else Constant(tuple(_plain(i) for i in items))
        return Constant(literal(value))
    if isinstance(value, list):
        items = [_argument(v) for v in value]
        return items if _has_tensor(items) else Constant([_plain(i) for i in items])
    return Constant(value)


def _plain(item: Any) -> Any:
    return item.value if isinstance(item, Constant) else item


def _has_tensor(value: Any) -> bool:
    if isinstance(value, TensorRef):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_tensor(v) for v in value)
    return False


def _input_spec(entry: dict) -> str:
    shape = _batch_shape(entry)
    return f"Input(shape={tuple(shape[1:])!r})"


def _layer_name(entry: dict) -> str:
    config = entry.get("config")
    name = (config.get("name") if isinstance(config, dict) else None) or entry.get("name") or "?"
    return name if isinstance(name, str) else str(name)


def _shape(value: Any, what: str) -> Shape:
    """A batch shape from a config: a list of sizes, each a positive int or null (unknown)."""
    if (not isinstance(value, list) or not value
            or not all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0) for v in value)):
        raise ConvcalcError(f"{what} {value!r} is not a shape (a list of positive sizes or null).")
    return tuple(value)


def _batch_shape(entry: dict) -> Shape:
    config = entry.get("config") or {}
    if "batch_shape" in config:
        return _shape(config["batch_shape"], f"InputLayer {config.get('name')!r} batch_shape")
    if "batch_input_shape" in config:  # Keras 2 configs
        return _shape(config["batch_input_shape"], f"InputLayer {config.get('name')!r} batch_input_shape")
    raise ConvcalcError(f"InputLayer {config.get('name')!r} has no batch_shape.")


def _is_single_reference(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)


def _references(value: Any, what: str, file: str | None = None) -> list[tuple[str, int, int]]:
    """``['img', 0, 0]``, ``[['a', 0, 0], ['b', 0, 0]]`` or ``{"img": ['a', 0, 0]}`` as (layer, node, tensor)s."""
    if _is_single_reference(value):
        items = [value]
    elif isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, list) and value:
        items = value
    else:
        raise ConvcalcError(f"cannot read {what} from {value!r}.", Where(file))
    refs = []
    for item in items:
        if (not _is_single_reference(item)
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in item[1:])):
            raise ConvcalcError(f"cannot read {what}: {item!r} is not [layer name, node, tensor].", Where(file))
        refs.append((item[0], item[1], item[2]))
    return refs
