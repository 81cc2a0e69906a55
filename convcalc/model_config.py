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

from . import formulas
from .config import DataFormat
from .errors import ConvcalcError, Where
from .layers import build_layer
from .parse import Call
from .stack import LayerRow, StackResult

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


def compute_model_file(path: Path, data_format: DataFormat) -> StackResult:
    """Every layer of the model in ``path``, as Keras builds it (the caller names the file in errors)."""
    return compute_model(read_config(path), data_format)


def compute_model(data: dict, data_format: DataFormat) -> StackResult:
    model = _Model(data, data_format)
    inputs = model.input_shapes()
    outputs = model.run(inputs)
    return StackResult(
        data_format,
        inputs[0] if len(inputs) == 1 else list(inputs),
        tuple(model.rows),
        outputs[0] if len(outputs) == 1 else list(outputs),
    )


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


class _Model:
    """One (possibly nested) model: its layers in order and how they connect."""

    def __init__(self, data: dict, data_format: DataFormat, prefix: str = ""):
        self.class_name = data["class_name"]
        self.config = data.get("config") or {}
        self.data_format = data_format
        self.name = self.config.get("name", self.class_name.lower())
        self.layers = self.config.get("layers") or []
        if not isinstance(self.layers, list):
            raise ConvcalcError(f"model {self.name!r}: 'layers' must be a list.")
        self.rows: list[LayerRow] = []
        self.params = (0, 0)

    # -- inputs -------------------------------------------------------------------

    def input_shapes(self) -> list[Shape]:
        """Batch shapes of the model's inputs (InputLayer batch_shape, or build_input_shape)."""
        input_layers = {entry.get("config", {}).get("name", entry.get("name")): entry
                        for entry in self.layers if entry.get("class_name") == "InputLayer"}
        if self.class_name == "Sequential":
            if input_layers:
                return [_batch_shape(next(iter(input_layers.values())))]
            shape = self.config.get("build_input_shape")
            if shape is None:
                raise ConvcalcError(f"Sequential model {self.name!r} has no InputLayer and no build_input_shape.")
            return [_shape(shape, "build_input_shape")]
        names = [ref[0] for ref in _references(self.config.get("input_layers"))]
        missing = [n for n in names if n not in input_layers]
        if missing:
            raise ConvcalcError(f"model {self.name!r}: input layer {missing[0]!r} is not among its layers.")
        return [_batch_shape(input_layers[n]) for n in names]

    # -- evaluation ---------------------------------------------------------------

    def run(self, inputs: list[Shape]) -> list[Shape]:
        if self.class_name == "Sequential":
            return self._run_sequential(inputs)
        return self._run_functional(inputs)

    def _run_sequential(self, inputs: list[Shape]) -> list[Shape]:
        if len(inputs) != 1:
            raise ConvcalcError(f"Sequential model {self.name!r} takes one input; got {len(inputs)}.")
        current, previous = inputs[0], ()
        for index, entry in enumerate(self.layers, start=1):
            if entry.get("class_name") == "InputLayer":
                previous = (entry.get("config", {}).get("name", "input"),)
                continue
            current = self._apply(index, entry, current, previous)
            previous = (self.rows[-1].name,)
        return [current]

    def _run_functional(self, inputs: list[Shape]) -> list[Shape]:
        tensors: dict[tuple[str, int], list[Shape]] = {}
        input_refs = _references(self.config.get("input_layers"))
        for (name, node, _), shape in zip(input_refs, inputs):
            tensors[(name, node)] = [shape]
        pending = []
        for index, entry in enumerate(self.layers, start=1):
            if entry.get("class_name") == "InputLayer":
                name = entry.get("config", {}).get("name", entry.get("name"))
                shape = tensors.get((name, 0), [_batch_shape(entry)])[0]
                tensors[(name, 0)] = [shape]
                self.rows.append(_input_row(index, name, shape))
                continue
            for node, inbound in enumerate(entry.get("inbound_nodes") or []):
                pending.append((index, entry, node, inbound))
        # layers are listed in an order Keras can rebuild; a shared layer's later call may come after
        while pending:
            progressed = False
            for item in list(pending):
                index, entry, node, inbound = item
                refs = _tensor_refs(inbound.get("args", []))
                if not all((n, i) in tensors for n, i, _ in refs):
                    continue
                shapes = [tensors[(n, i)][t] for n, i, t in refs]
                argument = shapes if _is_list_call(inbound.get("args", [])) else shapes[0]
                name = _layer_name(entry)
                if node == 0:
                    output = self._apply(index, entry, argument, tuple(n for n, _, _ in refs))
                else:  # a shared layer called again: same weights, new shapes
                    output = self._apply(index, entry, argument, tuple(n for n, _, _ in refs), count=False)
                tensors[(name, node)] = output if isinstance(output, list) else [output]
                pending.remove(item)
                progressed = True
            if not progressed:
                name = _layer_name(pending[0][1])
                raise ConvcalcError(f"model {self.name!r}: layer {name!r} is connected to a tensor no layer produces.")
        classes = {_layer_name(entry): entry.get("class_name") for entry in self.layers}
        outputs = []
        for name, node, tensor in _references(self.config.get("output_layers")):
            if classes.get(name) in ("Functional", "Model"):
                node -= 1  # Keras counts a nested Functional model's own built-in node here
            if (name, node) not in tensors:
                raise ConvcalcError(f"model {self.name!r}: output layer {name!r} is not among its layers.")
            outputs.append(tensors[(name, node)][tensor])
        return outputs

    def _apply(self, index: int, entry: dict, shape, connected: tuple[str, ...], count: bool = True):
        class_name = entry.get("class_name")
        name = _layer_name(entry)
        where = f"layer {index} {name!r} ({class_name})"
        if class_name in MODEL_CLASSES:
            inner = _Model(entry, self.data_format)
            shapes = shape if isinstance(shape, list) else [shape]
            try:
                outputs = inner.run(shapes)
            except ConvcalcError as error:
                raise error.at(Where(what=where)) from None
            trainable, frozen = formulas.frozen(
                sum(r.trainable_params for r in inner.rows),
                sum(r.non_trainable_params for r in inner.rows),
                (entry.get("config") or {}).get("trainable", True),
            )
            output = outputs[0] if len(outputs) == 1 else outputs
            if count:
                self.rows.append(LayerRow(
                    index=index, name=name, type=class_name, spec=f"{class_name}(name={name!r})",
                    data_format=self.data_format.value, input_shape=shape, output_shape=output,
                    padding=None, kernel_shape=None, trainable_params=trainable, non_trainable_params=frozen,
                    connected_to=connected,
                ))
            return output
        config = entry.get("config") or {}
        call = Call(class_name or "?", (), tuple((k, literal(v)) for k, v in config.items()),
                    _short_spec(class_name, config))
        try:
            layer = build_layer(call)
            fmt = layer.data_format or self.data_format.value
            batch = shape[0][0] if isinstance(shape, list) else shape[0]
            unbatched = [s[1:] for s in shape] if isinstance(shape, list) else shape[1:]
            result = layer.compute(unbatched, fmt)
        except ConvcalcError as error:
            raise error.at(Where(what=where)) from None
        output = (batch, *result.output_shape)
        if count:
            self.rows.append(LayerRow(
                index=index, name=name, type=layer.type_name, spec=call.text, data_format=fmt,
                input_shape=shape, output_shape=output, padding=result.padding, kernel_shape=result.kernel_shape,
                trainable_params=result.trainable_params, non_trainable_params=result.non_trainable_params,
                layer=layer, cropping=result.cropping, connected_to=connected, weights=result.weights,
            ))
        return output


def _layer_name(entry: dict) -> str:
    return (entry.get("config") or {}).get("name") or entry.get("name") or "?"


def _shape(value: Any, what: str) -> Shape:
    if not isinstance(value, list) or not value or not all(v is None or isinstance(v, int) for v in value):
        raise ConvcalcError(f"{what} {value!r} is not a shape.")
    if any(v is None for v in value[1:]):
        raise ConvcalcError(f"{what} {value!r} has unknown sizes; convcalc needs every size but the batch.")
    return tuple(value)


def _batch_shape(entry: dict) -> Shape:
    config = entry.get("config") or {}
    if "batch_shape" in config:
        return _shape(config["batch_shape"], f"InputLayer {config.get('name')!r} batch_shape")
    if "batch_input_shape" in config:  # Keras 2 configs
        return _shape(config["batch_input_shape"], f"InputLayer {config.get('name')!r} batch_input_shape")
    raise ConvcalcError(f"InputLayer {config.get('name')!r} has no batch_shape.")


def _input_row(index: int, name: str, shape: Shape) -> LayerRow:
    return LayerRow(index=index, name=name, type="InputLayer", spec=f"Input(shape={tuple(shape[1:])!r})",
                    data_format="", input_shape=shape, output_shape=shape, padding=None, kernel_shape=None,
                    trainable_params=0, non_trainable_params=0)


def _references(value: Any) -> list[tuple[str, int, int]]:
    """``['img', 0, 0]`` or ``[['a', 0, 0], ['b', 0, 0]]`` as a list of (layer, node, tensor)."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        return [(value[0], value[1], value[2])]
    if isinstance(value, list):
        return [tuple(v) for v in value]
    raise ConvcalcError(f"cannot read the model's inputs or outputs from {value!r}.")


def _tensor_refs(args: Any) -> list[tuple[str, int, int]]:
    """Every ``__keras_tensor__`` in a node's arguments, in order."""
    found = []

    def visit(value):
        if isinstance(value, dict):
            if value.get("class_name") == "__keras_tensor__":
                history = value["config"]["keras_history"]
                found.append((history[0], history[1], history[2]))
            else:
                for v in value.values():
                    visit(v)
        elif isinstance(value, list):
            for v in value:
                visit(v)

    visit(args)
    return found


def _is_list_call(args: Any) -> bool:
    """A merge layer is called on a list of tensors: ``args == [[t1, t2]]``."""
    return bool(args) and isinstance(args[0], list)
