"""Keras model configs: what ``model.to_json()`` writes, or a ``.keras`` archive's ``config.json``.

Sequential and Functional models are read into the same
:class:`~convcalc.stack.StackResult` a stack of specs gives: one row per
layer with its inbound layers (``connected_to``), nested models as single
rows.  Layer configs become the same validated layer objects as specs do;
serialized values (initializers, dtype policies, tuples) become the literals
and calls a spec would hold.  No weights are read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import DataFormat
from .errors import ConvcalcError, Where
from .reading import archive_member, as_text, check_tree, is_archive, json_path, load_json, read_bytes
from .graph import TENSOR_OPTION, ArrayConstant, Constant, Graph, InputSpec, Node, TensorRef, evaluate, option_value
from .layers import build_layer
from .operations import build_operation, is_operation_entry
from .parse import Call
from .result import StackResult

MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})
Shape = tuple  # a shape with the batch axis first


def looks_like_model_config(data: Any) -> bool:
    return isinstance(data, dict) and data.get("class_name") in MODEL_CLASSES and "config" in data


def read_config(path: Path) -> dict:
    """The model config of a ``.keras`` archive or a JSON file (read once, bounded: see :mod:`convcalc.reading`)."""
    return config_from_bytes(path, read_bytes(path, "Keras model config"))


def config_from_bytes(path: Path, raw: bytes) -> dict:
    """The model config in a file's bytes: a ``.keras`` archive's ``config.json``, or JSON text."""
    name = str(path)
    if is_archive(path, raw):
        text = as_text(archive_member(raw, name), f"{name} (config.json)", "model config")
    else:
        text = as_text(raw, name, "model config")
    data = load_json(text, name)
    if not looks_like_model_config(data):
        raise ConvcalcError("not a Keras model config (no Sequential or Functional class_name at the top).", Where(name))
    return data


def compute_model_file(path: Path, data_format: DataFormat, input_shapes: list[tuple] | None = None,
                       expand_nested: bool = False, data: dict | None = None, batch: int | None = None) -> StackResult:
    """Every layer of the model in ``path``, as Keras builds it (errors are located in ``path``).

    ``data`` is the config when it has been read already (a file is read once);
    ``input_shapes`` (without the batch, one per model input) rebuild the model at that size;
    ``batch`` (``--batch``) fills the inputs' batch where the config leaves it None, as calling the
    model on a batch of that size does; a fixed batch that differs is Keras's refusal.
    """
    graph = model_graph(read_config(path) if data is None else data, data_format, str(path))
    if batch is not None:
        declared = [graph.by_key[key].op.shape for key in graph.inputs]
        fixed = next((shape[0] for shape in declared if shape[0] not in (None, batch)), None)
        if fixed is not None:
            raise ConvcalcError(f"--batch {batch}: the model's input has a fixed batch of {fixed} (its batch_shape); "
                                f"drop --batch, or give {fixed}.", Where(str(path)))
        input_shapes = input_shapes if input_shapes is not None else [shape[1:] for shape in declared]
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
            given.append((declared[0] if batch is None else batch, *shape))
    return evaluate(graph, given, expand_nested)


def compute_model(data: dict, data_format: DataFormat) -> StackResult:
    check_tree(data, "the model config")
    return evaluate(model_graph(data, data_format))


# ---------------------------------------------------------------- checked access to the config
#
# A config is the user's data: every value is checked before it is used, and a
# wrong one is named by its JSON path (``config.layers[3].inbound_nodes[0]``).


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    kinds = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)


def _bad(keys: tuple, detail: str, file: str | None = None) -> ConvcalcError:
    return ConvcalcError(f"{json_path(keys)} {detail}", Where(file) if file else None)


def _get(mapping: dict, key: str, kinds: tuple, what: str, keys: tuple, default: Any = None, file=None) -> Any:
    """``mapping[key]`` when it is one of ``kinds`` (``default`` when absent or null), else an error at its path."""
    value = mapping.get(key)
    if value is None:
        return default
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise _bad((*keys, key), f"must be {what}; got {_kind(value)}.", file)
    return value


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def literal(value: Any, keys: tuple = ()) -> Any:
    """A config value as a spec would hold it: lists become tuples, serialized objects become calls."""
    if isinstance(value, list):
        return tuple(literal(v, (*keys, i)) for i, v in enumerate(value))
    if isinstance(value, dict):
        if "class_name" in value:
            name = value["class_name"]
            if not isinstance(name, str):
                raise _bad((*keys, "class_name"), f"must be a string; got {_kind(name)}.")
            config = value.get("config")
            if name == "__tuple__":
                items = _get(config if isinstance(config, dict) else {}, "value", (list,), "a list", (*keys, "config"), [])
                if not isinstance(config, dict):
                    raise _bad((*keys, "config"), f"must be an object with a value list; got {_kind(config)}.")
                return tuple(literal(v, (*keys, "config", "value", i)) for i, v in enumerate(items))
            config = config if config is not None else {}
            if name in ("DTypePolicy", "FloatDTypePolicy", "Policy"):
                return config.get("name") if isinstance(config, dict) else config
            if not isinstance(config, dict):
                value = literal(config, (*keys, "config"))
                return Call(name, (value,), (), f"{name}({value!r})")
            kwargs = tuple((k, literal(v, (*keys, "config", k))) for k, v in config.items())
            text = f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in kwargs) + ")"
            return Call(name, (), kwargs, text)
        return {k: literal(v, (*keys, k)) for k, v in value.items()}
    return value


def _short_spec(class_name: str, values: dict) -> str:
    """A readable spec for a row: the call with the arguments that set the geometry."""
    keys = ("filters", "units", "kernel_size", "pool_size", "strides", "padding", "cropping", "size",
            "target_shape", "dims", "axis", "rate", "depth_multiplier", "dilation_rate", "output_padding",
            "groups", "activation", "height", "width")
    shown = [f"{key}={values[key]!r}" for key in keys if values.get(key) is not None]
    return f"{class_name}({', '.join(shown)})"


def model_graph(data: dict, data_format: DataFormat, file: str | None = None, at: tuple = ()) -> Graph:
    """The graph of a Sequential or Functional model config (nested models become nested graphs).

    ``at`` is the JSON path of ``data`` in the file, for messages.
    """
    if not isinstance(data, dict):
        raise _bad(at, f"must be a model config: an object with class_name and config; got {_kind(data)}.", file)
    class_name = data.get("class_name")
    if not isinstance(class_name, str):
        raise _bad((*at, "class_name"), f"must be a string; got {_kind(class_name)}.", file)
    config = _get(data, "config", (dict,), "an object", at, {}, file)
    at = (*at, "config")
    name = _get(config, "name", (str,), "a string", at, class_name.lower(), file)
    entries = _get(config, "layers", (list,), "a list of layers", at, [], file)
    for position, entry in enumerate(entries):
        keys = (*at, "layers", position)
        if not isinstance(entry, dict):
            raise _bad(keys, f"must be a layer: an object with class_name and config; got {_kind(entry)}.", file)
        if not isinstance(entry.get("class_name"), str):
            raise _bad((*keys, "class_name"), f"must be a string; got {_kind(entry.get('class_name'))}.", file)
        layer_config = _get(entry, "config", (dict,), "an object", keys, {}, file)
        _get(layer_config, "name", (str,), "a string", (*keys, "config"), None, file)
        _get(entry, "name", (str,), "a string", keys, None, file)
    trainable = config.get("trainable", True) is not False
    if class_name == "Sequential":
        graph = _sequential(name, config, entries, data_format, file, at)
    else:
        graph = _functional(name, config, entries, data_format, file, at)
    graph.class_name = class_name
    graph.trainable = trainable
    return graph


def _where(file: str | None, index: int, entry: dict) -> Where:
    return Where(file, None, f"layer {index} {_layer_name(entry)!r} ({entry.get('class_name')})")


def _op(entry: dict, index: int, data_format: DataFormat, file: str | None, keys: tuple):
    """What a config entry computes: a nested graph, a Keras operation, or a layer."""
    class_name = entry.get("class_name")
    try:
        if class_name in MODEL_CLASSES:
            return model_graph(entry, data_format, file, keys), f"{class_name}(name={_layer_name(entry)!r})"
        config = entry.get("config") or {}
        if is_operation_entry(entry):
            op = build_operation(class_name, config)
            return op, op.spec
        values = {k: literal(v, (*keys, "config", k)) for k, v in config.items()}
        call = Call(class_name, (), tuple(values.items()), _short_spec(class_name, values))
        return build_layer(call), call.text
    except ConvcalcError as error:
        raise error.at(_where(file, index, entry)) from None


def _sequential(name: str, config: dict, entries: list, data_format: DataFormat, file, at: tuple) -> Graph:
    nodes, previous = [], None
    for index, entry in enumerate(entries, start=1):
        keys = (*at, "layers", index - 1)
        if entry.get("class_name") == "InputLayer":
            if previous is None:
                nodes.append(Node(("input", 0), _layer_name(entry), InputSpec(_batch_shape(entry, keys, file)),
                                  index=index, where=_where(file, index, entry), spec=_input_spec(entry, keys, file),
                                  shown=False))
                previous = TensorRef(("input", 0))
            continue
        if previous is None:
            previous = _built_input(name, config, nodes, file, at)
        op, spec = _op(entry, index, data_format, file, keys)
        key = ("layer", index)
        nodes.append(Node(key, _layer_name(entry), op, index=index, inputs=previous, where=_where(file, index, entry),
                          spec=spec))
        previous = TensorRef(key)
    if previous is None:
        previous = _built_input(name, config, nodes, file, at)
    return Graph(name, nodes, [("input", 0)], previous, data_format)


def _built_input(name: str, config: dict, nodes: list, file, at: tuple) -> TensorRef:
    """A Sequential model without an InputLayer: its ``build_input_shape`` is the input."""
    shape = config.get("build_input_shape")
    if shape is None:
        raise ConvcalcError(f"Sequential model {name!r} has no InputLayer and no build_input_shape.", Where(file))
    nodes.append(Node(("input", 0), "input", InputSpec(_shape(shape, (*at, "build_input_shape"), file)), shown=False))
    return TensorRef(("input", 0))


def _functional(name: str, config: dict, entries: list, data_format: DataFormat, file, at: tuple) -> Graph:
    nodes = []
    nested = {_layer_name(e) for e in entries if e.get("class_name") in MODEL_CLASSES}
    for index, entry in enumerate(entries, start=1):
        keys = (*at, "layers", index - 1)
        layer_name = _layer_name(entry)
        where = _where(file, index, entry)
        if entry.get("class_name") == "InputLayer":
            nodes.append(Node((layer_name, 0), layer_name, InputSpec(_batch_shape(entry, keys, file)), index=index,
                              where=where, spec=_input_spec(entry, keys, file)))
            continue
        try:
            inbound = _get(entry, "inbound_nodes", (list,), "a list", keys, [])
        except ConvcalcError as error:
            raise error.at(where) from None
        op, spec = _op(entry, index, data_format, file, keys)
        for call, node in enumerate(inbound):
            try:
                args, kwargs = _call_arguments(node, (*keys, "inbound_nodes", call))
            except ConvcalcError as error:
                raise error.at(where) from None
            options = {}
            if getattr(op, "is_operation", False):
                inputs = list(args)
            else:
                # tensors given by keyword (``mha(query, value=v)``) follow the positional ones
                by_keyword = [kwargs[k] for k in ("query", "value", "key") if k in kwargs]
                tensors = [a for a in [*args, *by_keyword] if _has_tensor(a)]
                inputs = tensors[0] if len(tensors) == 1 else tensors
                if isinstance(inputs, list) and not inputs:
                    raise ConvcalcError(f"{json_path((*keys, 'inbound_nodes', call))}: the layer is called on no tensor.",
                                        where)
                # Tensors given by other keywords (``mask=``, ``attention_mask=``) are read too: their
                # nodes run first and --run sees their values; literal options stay options.
                # a literal arrives as a Constant: its plain value (``use_causal_mask=false`` stays False)
                options = {k: (TENSOR_OPTION if _has_tensor(v) else option_value(_plain(v))) for k, v in kwargs.items()
                           if k not in ("query", "value", "key")}
                options.update({f"argument {i + 1}": option_value(_plain(v)) for i, v in enumerate(args)
                                if i and not _has_tensor(v) and _plain(v) is not None})
                kwargs = {k: v for k, v in kwargs.items() if k not in ("query", "value", "key") and _has_tensor(v)}
            nodes.append(Node((layer_name, call), layer_name, op, index=index, inputs=inputs, where=where, spec=spec,
                              shown=call == 0, kwargs=kwargs, options=options))
    inputs_value = config.get("input_layers")
    structure = list(inputs_value) if isinstance(inputs_value, dict) else None
    input_keys = []
    for layer_name, node, tensor in _references(inputs_value, (*at, "input_layers"), file):
        if tensor != 0:
            raise _bad((*at, "input_layers"), f"names tensor {tensor} of input layer {layer_name!r}, "
                                              "which has only tensor 0.", file)
        input_keys.append((layer_name, node))
    known = {node.key for node in nodes if isinstance(node.op, InputSpec)}
    for position, key in enumerate(input_keys):
        if key not in known:
            raise ConvcalcError(f"{json_path((*at, 'input_layers'))}: model {name!r}: input layer {key[0]!r} "
                                f"(call {key[1]}) is not among its input layers.", Where(file))
    outputs_value = config.get("output_layers")
    keys = {node.key for node in nodes}
    refs = []
    for layer_name, node, tensor in _references(outputs_value, (*at, "output_layers"), file):
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


def _call_arguments(node: Any, keys: tuple) -> tuple[list, dict]:
    """A node's positional arguments and keyword arguments, tensors as TensorRefs, literals as Constants."""
    if isinstance(node, list):  # Keras 2: [[name, node, tensor, kwargs], ...]
        if not node:
            raise _bad(keys, "is an empty list; a Keras 2 inbound node lists [layer name, node, tensor, kwargs] items.")
        refs = [_keras2_ref(item, (*keys, i)) for i, item in enumerate(node)]
        return [refs] if len(refs) > 1 else refs, {}
    if not isinstance(node, dict):
        raise _bad(keys, f"must be an inbound node: an object with args and kwargs; got {_kind(node)}.")
    args = _get(node, "args", (list,), "a list", keys, [])
    kwargs = _get(node, "kwargs", (dict,), "an object", keys, {})
    return ([_argument(a, (*keys, "args", i)) for i, a in enumerate(args)],
            {k: _argument(v, (*keys, "kwargs", k)) for k, v in kwargs.items()})


def _keras2_ref(item: Any, keys: tuple) -> TensorRef:
    if (not isinstance(item, list) or len(item) < 3 or not isinstance(item[0], str)
            or not all(_is_index(v) for v in item[1:3])):
        raise _bad(keys, "must be [layer name, node index, tensor index, kwargs] with indices 0 or more.")
    return TensorRef((item[0], item[1]), item[2])


def _argument(value: Any, keys: tuple) -> Any:
    """A node argument: tensors as TensorRefs; everything else as a Constant of plain values
    (``__slice__`` a slice, ``__ellipsis__`` ``...``, ``__tuple__`` a tuple)."""
    if isinstance(value, dict):
        kind = value.get("class_name")
        if kind in ("__slice__", "__keras_tensor__", "__tuple__"):
            config = _get(value, "config", (dict,), "an object", keys, {})
            keys = (*keys, "config")
        if kind == "__slice__":
            parts = [_get(config, part, (int,), "a whole number or null", keys) for part in ("start", "stop", "step")]
            return Constant(slice(*parts))
        if kind == "__ellipsis__":
            return Constant(Ellipsis)
        if kind in ("__numpy__", "__tensor__"):
            return _array_constant(value, keys)
        if kind == "__keras_tensor__":
            history = config.get("keras_history")
            if (not isinstance(history, list) or len(history) != 3 or not isinstance(history[0], str)
                    or not all(_is_index(v) for v in history[1:])):
                raise _bad((*keys, "keras_history"), "must be [layer name, node index, tensor index] "
                                                     f"with indices 0 or more; got {_kind(history)}.")
            return TensorRef((history[0], history[1]), history[2])
        if kind == "__tuple__":
            values = _get(config, "value", (list,), "a list", keys, [])
            items = tuple(_argument(v, (*keys, "value", i)) for i, v in enumerate(values))
            return items if _has_tensor(items) else Constant(tuple(_plain(i) for i in items))
        return Constant(literal(value, keys))
    if isinstance(value, list):
        items = [_argument(v, (*keys, i)) for i, v in enumerate(value)]
        return items if _has_tensor(items) else Constant([_plain(i) for i in items])
    return Constant(value)


ARRAY_DTYPES = ("float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "bool")


def _array_constant(value: dict, keys: tuple) -> ArrayConstant:
    """An array captured by an operation: its nested list of numbers, its dtype, its shape (a ragged
    or non-numeric value is refused)."""
    config = _get(value, "config", (dict,), "an object", keys, {})
    keys = (*keys, "config")
    dtype = config.get("dtype", "float32")
    if dtype not in ARRAY_DTYPES:
        raise _bad((*keys, "dtype"), f"must be one of {', '.join(ARRAY_DTYPES)}; got {_kind(dtype)}.")
    numbers = config.get("value")

    def shape_of(item: Any, at: tuple) -> tuple:
        if isinstance(item, list):
            shapes = {shape_of(v, (*at, i)) for i, v in enumerate(item)}
            if len(shapes) > 1:
                raise _bad(at, "is a ragged array: its rows differ in shape.")
            return (len(item), *(shapes.pop() if shapes else ()))
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise _bad(at, f"must hold numbers; got {_kind(item)}.")
        return ()

    shape = shape_of(numbers, (*keys, "value"))
    return ArrayConstant(literal(numbers, (*keys, "value")), "float32" if dtype == "bfloat16" else dtype, shape)


def _plain(item: Any) -> Any:
    return item.value if isinstance(item, Constant) else item


def _has_tensor(value: Any) -> bool:
    if isinstance(value, TensorRef):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_tensor(v) for v in value)
    return False


def _input_spec(entry: dict, keys: tuple, file) -> str:
    shape = _batch_shape(entry, keys, file)
    return f"Input(shape={tuple(shape[1:])!r})"


def _layer_name(entry: dict) -> str:
    config = entry.get("config")
    name = (config.get("name") if isinstance(config, dict) else None) or entry.get("name") or "?"
    return name if isinstance(name, str) else "?"


def _shape(value: Any, keys: tuple, file=None) -> Shape:
    """A batch shape from a config: a list of sizes, each a positive int or null (unknown)."""
    if (not isinstance(value, list) or not value
            or not all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0) for v in value)):
        shown = repr(value) if len(repr(value)) <= 80 else _kind(value)
        raise _bad(keys, f"{shown} is not a shape (a list of positive sizes or null).", file)
    return tuple(value)


def _batch_shape(entry: dict, keys: tuple, file=None) -> Shape:
    config = entry.get("config") or {}
    keys = (*keys, "config")
    if "batch_shape" in config:
        return _shape(config["batch_shape"], (*keys, "batch_shape"), file)
    if "batch_input_shape" in config:  # Keras 2 configs
        return _shape(config["batch_input_shape"], (*keys, "batch_input_shape"), file)
    raise _bad(keys, f"InputLayer {_layer_name(entry)!r} has no batch_shape.", file)


def _is_single_reference(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)


def _references(value: Any, keys: tuple, file: str | None = None) -> list[tuple[str, int, int]]:
    """``['img', 0, 0]``, ``[['a', 0, 0], ['b', 0, 0]]`` or ``{"img": ['a', 0, 0]}`` as (layer, node, tensor)s."""
    if _is_single_reference(value):
        items = [(keys, value)]
    elif isinstance(value, dict):
        items = [((*keys, k), v) for k, v in value.items()]
    elif isinstance(value, list) and value:
        items = [((*keys, i), v) for i, v in enumerate(value)]
    else:
        got = "an empty list" if value == [] else _kind(value)
        raise _bad(keys, f"must be a list of [layer name, node index, tensor index]; got {got}.", file)
    refs = []
    for item_keys, item in items:
        if not _is_single_reference(item) or not all(_is_index(v) for v in item[1:]):
            raise _bad(item_keys, "must be [layer name, node index, tensor index] with indices 0 or more.", file)
        refs.append((item[0], item[1], item[2]))
    if not refs:
        raise _bad(keys, "is empty; a model has at least one input and one output.", file)
    return refs
