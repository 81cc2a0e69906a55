#!/usr/bin/env python
"""Generate tests/data/applications/ from real Keras: every keras.applications
model, and small Functional graphs with operation nodes, dict inputs, None
sizes and nested models.

Everything goes into ``tests/data/applications/``:

* ``<name>.json.gz``: gzip (level 9, mtime 0, no file name) of exactly the
  text ``model.to_json()`` returns;
* ``expected.json``: a header (generated_by, Keras / TensorFlow versions) and
  the sections below, one line per record field and per layer;
* ``OPS_NOTES.md``: how Keras serializes operation nodes (``x + 3.0``,
  ``keras.ops.*``) in a Functional config, written from the configs
  themselves.

Section ``models`` of expected.json: one record per model, in the layout of
tests/data/models/expected.json (file, class_name, input/output shapes,
total/trainable/non-trainable params, per layer of ``model.layers`` its class,
output shape at its first call and params) plus ``kind``, ``constructor``,
``data_format`` and ``replay``. Shapes have the batch axis first, as null.
``replay.input`` is null when the config is replayed as saved, else the shape
(without batch axis) to rebuild it with (``replay.input_arg``, the CLI's
``--input HxWxC``). Records of kind:

1. ``application``: every model of ``dir(keras.applications)`` with
   ``weights=None`` and otherwise default arguments (MobileNetV3 keeps its
   default (None, None, 3) input).
2. ``application_resized``: the same constructor with ``input_shape`` = one of
   RESIZED_SHAPES (plus, when one of those is skipped as below, a non-square
   size congruent to the default one modulo 32, e.g. 176x208 for
   EfficientNetB1's 240x240, with which the padding matches); the record replays the DEFAULT config (``file``) with
   ``--input`` set to that shape, and holds what Keras builds at that size.
   The script checks that both configs are identical once the shape-dependent
   fields are ignored (InputLayer ``batch_shape``, ``build_config``, a nested
   Sequential's ``build_input_shape`` (ConvNeXt's stem), the
   ``shape`` of tensors in ``inbound_nodes`` and the model's own name, which
   MobileNet/MobileNetV2 derive from the size). When something else differs
   (e.g. the ZeroPadding2D of ``correct_pad`` depends on the parity of the
   size), the pair goes to section ``skipped`` with the differing paths.
3. ``application_channels_first``: built under
   ``keras.config.set_image_data_format("channels_first")`` (symbolically
   only), saved as ``<name>_cf.json.gz``; ``self_contained`` says whether the
   config rebuilds to the same output shape under the default channels_last
   (i.e. every layer stores its data_format). Models Keras refuses to build
   that way go to ``skipped`` with Keras's message.
4. ``application_channels_first_resized``: for every model with a
   channels_first record, the channels_first constructor again with
   ``input_shape`` = one of CF_RESIZED_SHAPES (channels first, e.g.
   (3, 160, 160); plus, when it is skipped as below, the channels-first
   counterpart of the size congruent to the default one modulo 32); the
   record replays ``<name>_cf.json.gz`` with ``--input CxHxW`` set to that
   shape (``replay.input`` e.g. [3, 160, 160], ``input_arg`` "3x160x160"),
   and holds what Keras builds at that size. The pair is checked like the
   ``application_resized`` ones against the ``_cf`` config; pairs that differ
   in more than the shape fields go to ``skipped`` (variant
   ``channels_first_resized``) with the differing paths.
5. ``graph``: hand-built models: operation nodes (records also hold
   ``operations``: every entry of ``model.operations`` with name, class,
   config ``module``, output shape(s), params), dict and list inputs/outputs
   (``input_shape``/``output_shape`` are then dicts keyed like the model's
   structure, or lists in order), None spatial sizes, and nested models.

Section ``refusals``: layer stacks on None sizes that Keras refuses at build
time: input shape (a list with null for unknown sizes), the layers as spec
strings (``"Conv2D(8, 3)"``), Keras's exception type and message. No config
exists for them. Stacks Keras ACCEPTS despite None sizes are saved as graph
models instead (their ids start with ``none_``).

Section ``summaries``: for two nested models, the rows
``model.summary(expand_nested=True)`` prints: name, class, nesting depth (0 at
top level, +1 per ``└`` level), output shape, params and (for graphs that
are not a chain) "Connected to", as printed (rendered 250 columns wide, so no
cell wraps), and the totals.

Section ``skipped``: model variants not recorded, with the reason.

Run it (only this script needs TensorFlow; the project and its tests do not):

    python scripts/make_golden_applications.py                      # everything
    python scripts/make_golden_applications.py --only ResNet50,graphs
    python scripts/make_golden_applications.py --out /tmp/apps --no-resized
    python scripts/make_golden_applications.py --kinds application_channels_first_resized

``--only`` takes application names (as in keras.applications) and/or
``graphs``; the other entries of an existing expected.json are kept.
``--kinds`` takes record kinds (the five above); only records of those kinds
are (re)built and replaced, for the ``--only`` applications (every one when
``--only`` is not given; graphs only with kind ``graph``), and every other
entry of an existing expected.json is kept. Configs a kind needs but does not
write (the default config for ``application_resized``, ``<name>_cf.json.gz``
for ``application_channels_first_resized``) are then read from the output
directory. The
output is deterministic for a given Keras version: the script re-executes
itself with ``PYTHONHASHSEED=0`` and an empty ``KERAS_HOME`` and clears the
Keras session before each model, so default layer names restart.
Building all the applications takes a few minutes (the largest, e.g.
ConvNeXtXLarge, EfficientNetB7, NASNetLarge, take ~10 s each).

Size: all applications, at both resized shapes, channels_first and
channels_first resized, fit the budget (MAX_TOTAL_BYTES, ~12.9 MB of 15 MB
written); nothing is dropped for size.
"""

import gzip
import json
import re
import sys
import time
from pathlib import Path

import golden_common as common
from golden_common import REPO_ROOT, LayerCall, count_weights

DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "applications"
MAX_TOTAL_BYTES = 15_000_000
# Other sizes each application is rebuilt at (H, W, C): an even square one and
# an odd non-square one (the latter changes correct_pad's padding in some).
RESIZED_SHAPES = [(160, 160, 3), (199, 211, 3)]
# The size (C, H, W) each channels_first application is rebuilt at.
CF_RESIZED_SHAPES = [(3, 160, 160)]
# Record kinds, in the order of a full run (and of the records of one model).
KINDS = ("application", "application_resized", "application_channels_first",
         "application_channels_first_resized", "graph")
# The `variant` of a kind's entries in section skipped.
SKIPPED_VARIANT = {"application_resized": "resized", "application_channels_first": "channels_first",
                   "application_channels_first_resized": "channels_first_resized"}
# The applications Keras 3.15 documents; dir(keras.applications) must hold
# them all (any extra one found is built too).
KNOWN_APPLICATIONS = {
    "ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge",
    "DenseNet121", "DenseNet169", "DenseNet201",
    *(f"EfficientNetB{i}" for i in range(8)),
    *(f"EfficientNetV2{v}" for v in ("B0", "B1", "B2", "B3", "S", "M", "L")),
    "InceptionResNetV2", "InceptionV3", "MobileNet", "MobileNetV2",
    "MobileNetV3Small", "MobileNetV3Large", "NASNetLarge", "NASNetMobile",
    "ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2", "ResNet152V2",
    "VGG16", "VGG19", "Xception",
}

keras = None  # imported in main(), after the environment is prepared
layers = None
ops = None


# --------------------------------------------------------------------------
# Recording (the layout of tests/data/models/expected.json)
# --------------------------------------------------------------------------

def shape_list(shape):
    return [None if d is None else int(d) for d in shape]


def one_or_many(tensors):
    """A shape for one tensor, a list of shapes for several."""
    shapes = [shape_list(t.shape) for t in tensors]
    return shapes[0] if len(shapes) == 1 else shapes


def structure_shapes(struct):
    """Shapes in the structure the model was built with: a dict keyed like it,
    a list for several tensors, a single shape for one."""
    if isinstance(struct, dict):
        return {k: structure_shapes(v) for k, v in struct.items()}
    if isinstance(struct, (list, tuple)):
        if len(struct) == 1:
            return structure_shapes(struct[0])
        return [structure_shapes(v) for v in struct]
    return shape_list(struct.shape)


def own_nodes(model):
    graph = getattr(model, "_functional", None) or model
    return graph._nodes


def first_own_node(operation, model):
    """The operation's first call inside `model` (shared layers have several)."""
    from keras.src.ops.function import make_node_key
    own = own_nodes(model)
    for index, node in enumerate(operation._inbound_nodes):
        if make_node_key(operation, index) in own:
            return node
    raise RuntimeError(f"{operation.name} is not called in {model.name}")


def calls_in(operation, model):
    from keras.src.ops.function import make_node_key
    own = own_nodes(model)
    return sum(1 for i in range(len(operation._inbound_nodes))
               if make_node_key(operation, i) in own)


def inbound_tensors(operation, model):
    """"name[node][tensor]" of the tensors feeding the first call (as
    tests/data/models/expected.json's connected_to)."""
    from keras.src.ops.function import make_node_key
    own = own_nodes(model)
    found = []
    for tensor in first_own_node(operation, model).input_tensors:
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            continue
        op, index, tensor_index = history
        kept = sum(1 for i in range(index) if make_node_key(op, i) in own)
        found.append(f"{op.name}[{kept}][{tensor_index}]")
    return found


def weights_of(operation):
    """(params, trainable, non-trainable) of a layer; 0s for a plain operation."""
    if not hasattr(operation, "trainable_weights"):
        return 0, 0, 0
    params = operation.count_params() if getattr(operation, "built", True) else 0
    return (params, count_weights(operation.trainable_weights),
            count_weights(operation.non_trainable_weights))


def layer_record(layer, model, connected):
    params, trainable, non_trainable = weights_of(layer)
    record = {"class_name": type(layer).__name__,
              "output_shape": one_or_many(first_own_node(layer, model).output_tensors),
              "params": params, "trainable_params": trainable,
              "non_trainable_params": non_trainable}
    if connected:
        record["connected_to"] = inbound_tensors(layer, model)
    calls = calls_in(layer, model)
    if calls > 1:
        record["calls"] = calls
    return record


def operation_records(model, config):
    """Every entry of model.operations (layers and keras.ops nodes alike)."""
    modules = {entry["name"]: entry.get("module")
               for entry in config.get("config", {}).get("layers", [])}
    records = {}
    for op in model.operations:
        params, _, _ = weights_of(op)
        node = first_own_node(op, model)
        records[op.name] = {"class_name": type(op).__name__, "module": modules.get(op.name),
                            "output_shape": one_or_many(node.output_tensors),
                            "n_outputs": len(node.output_tensors), "params": params,
                            "connected_to": inbound_tensors(op, model)}
    return records


def has_operation_nodes(config):
    """Does the (top-level) graph hold keras.ops nodes (e.g. MobileNetV3's
    `x * (1.0 / 6.0)`), whose shapes model.layers does not show?"""
    return any(entry.get("module", "").startswith("keras.src.ops")
               for entry in config.get("config", {}).get("layers", []))


def model_record(file_name, model, text, kind, source, constructor=None,
                 data_format="channels_last", replay=None, connected=False,
                 operations=False):
    config = json.loads(text)
    inputs_struct = getattr(model, "_inputs_struct", model.inputs)
    outputs_struct = getattr(model, "_outputs_struct", model.outputs)
    record = {"file": file_name, "kind": kind, "source": source}
    if constructor:
        record["constructor"] = constructor
    record.update({
        "data_format": data_format,
        "class_name": config["class_name"],
        "input_shape": structure_shapes(inputs_struct),
        "output_shape": structure_shapes(outputs_struct),
        "n_inputs": len(model.inputs),
        "n_outputs": len(model.outputs),
        "total_params": model.count_params(),
        "trainable_params": count_weights(model.trainable_weights),
        "non_trainable_params": count_weights(model.non_trainable_weights),
        "replay": {"input": list(replay) if replay else None,
                   "input_arg": "x".join(str(d) for d in replay) if replay else None},
        "layers": {layer.name: layer_record(layer, model, connected) for layer in model.layers},
    })
    if operations or has_operation_nodes(config):
        record["operations"] = operation_records(model, config)
    return record


def save_config(out, file_name, text):
    # mtime=0 and no file name in the header: the bytes depend on the config only.
    with open(out / file_name, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                           compresslevel=9) as gz:
            gz.write(text.encode("utf-8"))


def clean_message(exc):
    """Keras's message without ANSI codes and the 'Arguments received' appendix."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    text = text.split("\n\nArguments received")[0]
    text = text.replace("Exception encountered when calling", "In").strip()
    return " ".join(text.split())[:400]


# --------------------------------------------------------------------------
# keras.applications
# --------------------------------------------------------------------------

def application_names():
    found = {n for n in dir(keras.applications)
             if n[:1].isupper() and callable(getattr(keras.applications, n))}
    missing = KNOWN_APPLICATIONS - found
    assert not missing, f"keras.applications lacks {sorted(missing)}"
    return sorted(found, key=str.lower)


def constructor_text(name, kwargs):
    return common.spec_text(name, [], list(kwargs.items()))


def build_application(name, data_format="channels_last", **extra):
    kwargs = {"weights": None, **extra}
    keras.backend.clear_session()
    keras.config.set_image_data_format(data_format)
    try:
        model = getattr(keras.applications, name)(**kwargs)
    finally:
        keras.config.set_image_data_format("channels_last")
    return model, constructor_text(name, kwargs)


def without_shapes(value):
    """A config with its input-shape-dependent fields removed."""
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            inner = {k: v for k, v in value["config"].items() if k != "shape"}
            return {"class_name": "__keras_tensor__", "config": without_shapes(inner)}
        return {k: without_shapes(v) for k, v in value.items()
                if k not in ("batch_shape", "batch_input_shape", "build_config",
                             "build_input_shape")}
    if isinstance(value, list):
        return [without_shapes(v) for v in value]
    return value


def config_differences(a, b, path="", found=None, limit=8):
    """Paths (with both values) where two JSON values differ, at most `limit`."""
    found = [] if found is None else found
    if len(found) >= limit:
        return found
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                found.append({"path": f"{path}/{key}", "default": a.get(key), "resized": b.get(key)})
            else:
                config_differences(a[key], b[key], f"{path}/{key}", found, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            # name layer entries by their name, not their index
            step = x.get("name", i) if isinstance(x, dict) else i
            config_differences(x, y, f"{path}/{step}", found, limit)
    elif a != b:
        short = lambda v: v if len(json.dumps(v)) <= 120 else json.dumps(v)[:117] + "..."
        found.append({"path": path or "/", "default": short(a), "resized": short(b)})
    return found


def same_apart_from_shapes(default_config, resized_config):
    a, b = without_shapes(default_config), without_shapes(resized_config)
    for c in (a, b):  # the model's own name may carry its size (mobilenet_1.00_224)
        c.pop("name", None)
        c.get("config", {}).pop("name", None)
    return config_differences(a, b)


def parity_matched_shape(config, channels_first=False):
    """A smaller non-square size congruent to the default one modulo 32 (the
    applications' total stride): every stride-2 step then sees sizes of the
    same parity as at the default size, so correct_pad pads the same way.
    (C, H, W) for a channels_first config. None when the default size is
    unknown."""
    batch_shape = config["config"]["layers"][0]["config"]["batch_shape"]
    rows, cols = batch_shape[2:4] if channels_first else batch_shape[1:3]
    if rows is None or cols is None:
        return None
    rows, cols = 160 + rows % 32, 192 + cols % 32
    return (batch_shape[1], rows, cols) if channels_first else (rows, cols, batch_shape[3])


def read_config_text(out, file_name):
    return gzip.decompress((out / file_name).read_bytes()).decode("utf-8")


def resized_records(name, stem, file_name, base_config, shapes, models, skipped,
                    data_format="channels_last"):
    """Rebuild `name` at each of `shapes`; a record replaying `file_name` (whose
    config is `base_config`) when the configs agree apart from the shapes,
    else an entry of `skipped` (and then the size congruent modulo 32)."""
    channels_first = data_format == "channels_first"
    kind, variant = (("application_channels_first_resized", "channels_first_resized")
                     if channels_first else ("application_resized", "resized"))
    prefix = f"{stem}_cf" if channels_first else stem
    shapes = list(shapes)
    for shape in shapes:
        key = f"{prefix}@{'x'.join(map(str, shape))}"
        try:
            model, constructor = build_application(name, data_format, input_shape=shape)
        except Exception as exc:
            skipped.append({"id": key, "model": name, "variant": variant,
                            "input": list(shape), "reason": "Keras refuses to build it",
                            "error_type": type(exc).__name__, "error": clean_message(exc)})
            continue
        text = model.to_json()
        differences = same_apart_from_shapes(base_config, json.loads(text))
        if differences:
            skipped.append({"id": key, "model": name, "variant": variant, "input": list(shape),
                            "reason": ("the config built at this size differs from the "
                                       "channels_first config" if channels_first else
                                       "the config built at this size differs from the default "
                                       "config") + " in more than the input shape",
                            "differences": differences})
            print(f"  {key}: config differs, skipped ({differences[0]['path']})", file=sys.stderr)
            matched = parity_matched_shape(base_config, channels_first)
            if matched and matched not in shapes:
                shapes.append(matched)
        else:
            if channels_first:
                constructor = f"set_image_data_format('channels_first'); {constructor}"
            models[key] = model_record(file_name, model, text, kind, "keras.applications",
                                       constructor, data_format=data_format, replay=shape)
        del model


def make_application(name, out, models, skipped, kinds=KINDS, existing=None):
    """The records of `kinds` for application `name`. Configs not rebuilt here
    but needed (the default one, the channels_first one) are read from `out`;
    `existing` (the models of the expected.json kept) says whether a
    channels_first record exists."""
    stem = name.lower()
    started = time.time()
    file_name = f"{stem}.json.gz"
    default_config = None
    if "application" in kinds:
        model, constructor = build_application(name)
        text = model.to_json()
        save_config(out, file_name, text)
        models[stem] = model_record(file_name, model, text, "application", "keras.applications",
                                    constructor)
        default_config = json.loads(text)
        del model
        print(f"{name}: {len(models[stem]['layers'])} layers, {models[stem]['total_params']} "
              f"params, {(out / file_name).stat().st_size} bytes gzipped", file=sys.stderr)
    elif "application_resized" in kinds:
        default_config = json.loads(read_config_text(out, file_name))

    if "application_resized" in kinds:
        resized_records(name, stem, file_name, default_config, RESIZED_SHAPES, models, skipped)

    key = f"{stem}_cf"
    cf_file = f"{key}.json.gz"
    cf_text = None
    if "application_channels_first" in kinds:
        try:
            model, constructor = build_application(name, "channels_first")
        except Exception as exc:
            skipped.append({"id": key, "model": name, "variant": "channels_first",
                            "reason": "Keras refuses to build it with the channels_first "
                                      "default data format",
                            "error_type": type(exc).__name__, "error": clean_message(exc)})
            print(f"  {key}: refused: {clean_message(exc)[:100]}", file=sys.stderr)
        else:
            text = model.to_json()
            save_config(out, cf_file, text)
            record = model_record(cf_file, model, text, "application_channels_first",
                                  "keras.applications",
                                  f"set_image_data_format('channels_first'); {constructor}",
                                  data_format="channels_first")
            del model
            record["self_contained"] = rebuilds_alike(text, record)
            models[key] = record
            cf_text = text
    elif "application_channels_first_resized" in kinds and key in (existing or {}):
        cf_text = read_config_text(out, cf_file)

    if "application_channels_first_resized" in kinds and cf_text is not None:
        resized_records(name, stem, cf_file, json.loads(cf_text), CF_RESIZED_SHAPES, models,
                        skipped, data_format="channels_first")
    print(f"  {name} done in {time.time() - started:.0f} s", file=sys.stderr)


def rebuilds_alike(text, record):
    """Does the config alone (under the default channels_last) rebuild the
    same output shape and parameter count?"""
    keras.backend.clear_session()
    try:
        rebuilt = keras.models.model_from_json(text)
    except Exception as exc:
        return f"no: {type(exc).__name__}: {clean_message(exc)[:200]}"
    same = (structure_shapes(rebuilt.outputs) == record["output_shape"]
            and rebuilt.count_params() == record["total_params"])
    return True if same else False


# --------------------------------------------------------------------------
# Hand-built graphs
# --------------------------------------------------------------------------

def ops_arithmetic():
    """Python operators and keras.ops on KerasTensors: operation nodes."""
    a = keras.Input((8, 8, 4), name="a")
    b = keras.Input((8, 8, 4), name="b")
    x = layers.Conv2D(4, 1, name="conv")(a)
    x = x + 3.0                         # Add(tensor, 3.0)
    y = x * b                           # Multiply(tensor, tensor)
    z = y - 1                           # Subtract(tensor, 1)
    w = 3.0 * z                         # Multiply(3.0, tensor): constant first
    v = w / 6.0                         # TrueDivide
    m = ops.maximum(v, b)
    r = ops.relu6(m)
    h = ops.hard_sigmoid(r)
    c = ops.concatenate([h, a], axis=-1)                 # list of tensors, axis in config
    flat = ops.reshape(c, (-1, 8))                       # (None, 64, 8)
    pooled = ops.mean(c, axis=(1, 2))                    # (None, 8)
    total = ops.sum(c, axis=-1, keepdims=True)           # (None, 8, 8, 1)
    chw = ops.transpose(c, (0, 3, 1, 2))                 # (None, 8, 8, 8)
    e = ops.expand_dims(pooled, 1)                       # (None, 1, 8)
    gram = ops.matmul(ops.transpose(e, (0, 2, 1)), e)    # (None, 8, 8)
    q = ops.squeeze(e, axis=1)                           # (None, 8)
    cl = ops.clip(q, 0.0, 6.0)
    swish = ops.sigmoid(cl) * cl
    dense = layers.Dense(3, name="head")(swish)
    return keras.Model([a, b], [dense, flat, total, chw, gram], name="ops_arithmetic")


def ops_hard_swish_block():
    """A MobileNetV3-like block: hard-swish as x * relu6(x + 3) / 6 and a
    squeeze-excite branch ending in hard_sigmoid, mixed with layers."""
    inputs = keras.Input((32, 32, 3), name="image")
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="stem")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = x * ops.relu6(x + 3.0) / 6.0
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(x)
    se = ops.mean(x, axis=(1, 2), keepdims=True)
    se = layers.Conv2D(8, 1, name="se_reduce")(se)
    se = ops.relu(se)
    se = layers.Conv2D(16, 1, name="se_expand")(se)
    se = ops.hard_sigmoid(se)
    x = x * se
    x = ops.hard_silu(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.2, name="drop")(x, training=False)   # a keyword argument in the node
    return keras.Model(inputs, layers.Dense(10, name="logits")(x), name="ops_hard_swish_block")


def ops_misc():
    """Indexing, multi-output ops, constants of every kind, keyword arguments."""
    a = keras.Input((8, 8, 4), name="a")
    outs = [
        a[:, 1:5, ::2, 0],                               # GetItem with slices and an int
        a[..., None, :2],                                # Ellipsis and None (newaxis)
        *ops.split(a, 2, axis=-1),                       # 2 outputs
        ops.stack([a, a], axis=1),
        ops.cast(a, "float16"),
        a ** 2,
        -a,
        abs(a),
        ops.image.resize(a, (16, 12)),
        ops.softmax(a, axis=1),
        ops.where(a > 0, a, 0.0),
        ops.pad(a, [[0, 0], [1, 1], [2, 2], [0, 0]]),   # kwargs: constant_values
        ops.einsum("bhwc,bhwc->bc", a, a),
        ops.add(a, a),
        ops.max(a, axis=[1, 2]),
        ops.average_pool(a, 2, 2),
        ops.take(a, [0, 1], axis=3),                     # a list constant
        ops.tile(a, (1, 2, 1, 1)),
        *ops.unstack(a, axis=3)[:2],                     # 4 outputs, 2 used
        ops.silu(a),
        ops.gelu(a, approximate=False),
        ops.shape(a)[1] * a,                             # the static 8 becomes a constant
    ]
    return keras.Model(a, outs, name="ops_misc")


def dict_io():
    """Dict inputs and dict outputs."""
    img = keras.Input((32, 32, 3), name="img")
    meta = keras.Input((4,), name="meta")
    x = layers.Conv2D(8, 3, strides=2, activation="relu")(img)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Concatenate()([x, layers.Dense(8, activation="relu")(meta)])
    cls = layers.Dense(10, activation="softmax", name="cls_head")(x)
    reg = layers.Dense(1, name="reg_head")(x)
    return keras.Model({"img": img, "meta": meta}, {"cls": cls, "reg": reg}, name="dict_io")


def list_io():
    """A list of three inputs (one through keyword tensors), a list of outputs."""
    query = keras.Input((6, 8), name="query")
    value = keras.Input((10, 8), name="value")
    extra = keras.Input((3,), name="extra")
    att = layers.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(query, value=value)
    pooled = layers.GlobalAveragePooling1D()(att)
    joined = layers.Concatenate()([pooled, extra])
    out_a = layers.Dense(5, name="out_a")(joined)
    out_b = layers.Dense(2, name="out_b")(pooled)
    return keras.Model([query, value, extra], [out_a, out_b], name="list_io")


def none_unet():
    """A small U-Net on (None, None, 3): convs, pooling, upsampling, concats."""
    inputs = keras.Input((None, None, 3), name="image")
    x, skips = inputs, []
    for filters in (8, 16):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        skips.append(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    for filters, skip in zip((16, 8), reversed(skips)):
        x = layers.UpSampling2D()(x)
        x = layers.Concatenate()([x, skip])
        x = layers.Conv2D(filters, 3, padding="same")(x)
    x = layers.Conv2DTranspose(4, 3, strides=2, padding="same")(x)
    return keras.Model(inputs, layers.Conv2D(1, 1, name="mask")(x), name="none_unet")


def none_conv1d():
    """(None, 16) sequences through Conv1D, pooling and a global pooling."""
    inputs = keras.Input((None, 16), name="series")
    x = layers.Conv1D(8, 3, padding="causal", activation="relu")(inputs)
    x = layers.Conv1D(8, 5, strides=2)(x)
    x = layers.MaxPooling1D(2)(x)
    seq = layers.Conv1D(4, 1, name="per_step")(x)
    pooled = layers.Dense(2, name="pooled")(layers.GlobalMaxPooling1D()(x))
    return keras.Model(inputs, [seq, pooled], name="none_conv1d")


def none_gap_dense():
    """None sizes, then GlobalAveragePooling2D, then Dense: Keras builds it."""
    inputs = keras.Input((None, None, 3), name="image")
    x = layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(5)(x), name="none_gap_dense")


def nested_functional():
    """A Functional model holding a Sequential and a Functional model that
    itself holds a Functional model (three levels)."""
    features = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(8, 3),
        layers.BatchNormalization(),
        layers.GlobalAveragePooling2D(),
    ], name="features")
    inner_in = keras.Input((8,), name="inner_in")
    inner = keras.Model(inner_in, layers.Dense(4, name="inner_dense")(inner_in), name="inner")
    mid_in = keras.Input((8,), name="mid_in")
    mid = keras.Model(mid_in, inner(layers.Dense(8, name="mid_dense")(mid_in)), name="mid")
    image = keras.Input((32, 32, 3), name="img")
    return keras.Model(image, layers.Dense(2, name="out")(mid(features(image))),
                       name="nested_functional")


def nested_sequential():
    """A Sequential model used inside a two-input Functional model, shared."""
    tower = keras.Sequential([
        keras.Input((16, 16, 3)),
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(8),
    ], name="tower")
    left = keras.Input((16, 16, 3), name="left")
    right = keras.Input((16, 16, 3), name="right")
    joined = layers.Concatenate()([tower(left), tower(right)])
    return keras.Model([left, right], layers.Dense(1, name="score")(joined),
                       name="nested_sequential")


# (name, builder, record operations?)
GRAPHS = [
    ("ops_arithmetic", ops_arithmetic, True),
    ("ops_hard_swish_block", ops_hard_swish_block, True),
    ("ops_misc", ops_misc, True),
    ("dict_io", dict_io, True),
    ("list_io", list_io, True),
    ("none_unet", none_unet, False),
    ("none_conv1d", none_conv1d, False),
    ("none_gap_dense", none_gap_dense, False),
    ("nested_functional", nested_functional, False),
    ("nested_sequential", nested_sequential, False),
]
SUMMARIZED = ["nested_functional", "nested_sequential"]

# Layer stacks on inputs with None sizes: (id, input shape, [(class, positional,
# keywords)]). Keras builds them as a chain; refusals go to `refusals`, the
# stacks it accepts become graph models named after the id.
NONE_STACKS = [
    ("flatten_dense", [None, None, 3],
     [("Conv2D", [8, 3], []), ("Flatten", [], []), ("Dense", [4], [])]),
    ("dense_on_unknown_last", [None], [("Dense", [3], [])]),
    ("conv_unknown_channels", [None, None, None], [("Conv2D", [8, 3], [])]),
    ("depthwise_unknown_channels", [None, None, None], [("DepthwiseConv2D", [3], [])]),
    ("batchnorm_unknown_channels", [None, None, None], [("BatchNormalization", [], [])]),
    ("layernorm_unknown_axis", [None, None, 3],
     [("LayerNormalization", [], [("axis", 1)])]),
    ("global_pool_unknown_channels_dense", [None, None, None],
     [("GlobalAveragePooling2D", [], []), ("Dense", [4], [])]),
    ("conv1d_unknown_channels", [None, None], [("Conv1D", [4, 3], [])]),
    # accepted by Keras (the unknown sizes stay None or the target is trusted):
    ("none_reshape_flat", [None, None, 3], [("Reshape", [(-1,)], [])]),
    ("none_reshape_partial", [None, None, 3], [("Reshape", [(4, 4, -1)], [])]),
    ("none_reshape_fixed", [None, None, 3], [("Reshape", [(8, 8, 3)], [])]),
    ("none_reshape_dense", [None, None, 3],
     [("Conv2D", [4, 3], []), ("Reshape", [(-1, 4)], []), ("Dense", [3], [])]),
    ("none_flatten", [None, None, 3], [("Conv2D", [4, 3], []), ("Flatten", [], [])]),
    ("none_dense_last_known", [None, None, 3], [("Dense", [4], [])]),
    ("none_resizing_flatten_dense", [None, None, 3],
     [("Resizing", [8, 8], []), ("Flatten", [], []), ("Dense", [2], [])]),
]


def none_stacks(out, models, refusals):
    for case_id, shape, specs in NONE_STACKS:
        calls = [LayerCall(cls, pos, kw) for cls, pos, kw in specs]
        for call in calls:
            call.check_spec()
        keras.backend.clear_session()
        try:
            inputs = keras.Input(tuple(shape), name="input")
            x = inputs
            for call in calls:
                x = call.make()(x)
            model = keras.Model(inputs, x, name=case_id)
        except Exception as exc:
            refusals.append({"id": case_id, "input": shape,
                             "layers": [c.spec for c in calls],
                             "error_type": type(exc).__name__, "error": clean_message(exc)})
            continue
        assert case_id.startswith("none_"), f"Keras accepts {case_id}: rename it none_..."
        text = model.to_json()
        file_name = f"{case_id}.json.gz"
        save_config(out, file_name, text)
        record = model_record(file_name, model, text, "graph", "hand-built", connected=True)
        record["stack"] = {"input": shape, "layers": [c.spec for c in calls]}
        models[case_id] = record


def summary_rows(model):
    """The rows model.summary(expand_nested=True) prints."""
    import os
    captured = []
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "250"  # rich renders to the terminal width, else 80 columns
    try:
        model.summary(expand_nested=True, line_length=250,
                      print_fn=lambda text, line_break=True: captured.append(text))
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(captured))
    lines = text.splitlines()
    header = next(l for l in lines if l.startswith("┃"))
    columns = [c.strip() for c in header.strip("┃").split("┃")]
    rows, current = [], None
    for line in lines:
        if line.startswith("│"):
            cells = [c.rstrip() for c in line.strip().strip("│").split("│")]
            if current is None:
                current = cells
            else:  # a wrapped continuation line
                current = [a + (" " + b.strip() if b.strip() else "") for a, b in zip(current, cells)]
        elif current is not None:
            rows.append(current)
            current = None
    records = []
    for cells in rows:
        first = cells[0]
        match = re.match(r"^(\s*)(└ )?(\S+) \((\w+)\)\s*$", first.rstrip())
        assert match, f"cannot read summary row {first!r}"
        indent, tree, name, cls = match.groups()
        depth = (len(indent) - 1) // 3 if tree else 0  # one space of cell padding
        row = {"name": name, "class_name": cls, "depth": depth}
        for column, cell in zip(columns[1:], cells[1:]):
            key = {"Output Shape": "output_shape", "Param #": "params",
                   "Connected to": "connected_to"}.get(column, column)
            row[key] = " ".join(cell.split())
        records.append(row)
    totals = {}
    for line in lines:
        m = re.match(r"^\s*(Total|Trainable|Non-trainable) params: ([\d,]+)", line)
        if m:
            totals[m.group(1).lower().replace("-", "_") + "_params"] = int(m.group(2).replace(",", ""))
    return {"columns": columns, "rows": records, **totals}


def make_graphs(out, models, refusals, summaries):
    for name, build, with_ops in GRAPHS:
        keras.backend.clear_session()
        model = build()
        text = model.to_json()
        file_name = f"{name}.json.gz"
        save_config(out, file_name, text)
        models[name] = model_record(file_name, model, text, "graph", "hand-built",
                                    connected=True, operations=with_ops)
        check_round_trip(name, model, text)
        if name in SUMMARIZED:
            summaries[name] = {"file": file_name, **summary_rows(model)}
        print(f"{name}: {len(model.operations)} operations, {model.count_params()} params",
              file=sys.stderr)
    none_stacks(out, models, refusals)


def check_round_trip(name, model, text):
    """The saved config alone must rebuild the same graph."""
    keras.backend.clear_session()
    rebuilt = keras.models.model_from_json(text)
    assert rebuilt.count_params() == model.count_params(), name
    assert [o.name for o in rebuilt.operations] == [o.name for o in model.operations], name
    assert ([shape_list(t.shape) for t in rebuilt.outputs]
            == [shape_list(t.shape) for t in model.outputs]), name


# --------------------------------------------------------------------------
# OPS_NOTES.md: how operation nodes look in a config
# --------------------------------------------------------------------------

def describe_arg(value):
    if isinstance(value, dict):
        cls = value.get("class_name")
        if cls == "__keras_tensor__":
            return "T"
        if cls in ("__slice__", "__ellipsis__"):
            return cls
        return "{" + ", ".join(f"{k}: {describe_arg(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(describe_arg(v) for v in value) + "]"
    return json.dumps(value)


OPS_NOTES_HEAD = """\
# Operation nodes in Keras 3 Functional configs

Written by `scripts/make_golden_applications.py` (Keras {keras_version}) from
the configs it saves here (channels_last ones): the hand-built `ops_*`
models, and applications whose graphs hold operation nodes too (MobileNetV3
writes its hard sigmoid as `ReLU(6.0)(x + 3.0) * (1.0 / 6.0)`: `Add` and
`Multiply` nodes of `keras.src.ops.numpy`). Models in `expected.json` with an
`operations` field (every model whose top-level graph holds operation nodes)
list every entry of `model.operations` (layers and operations) with its
output shape(s), output count, params and inputs (`connected_to`).

## What an operation entry looks like

An operation applied to KerasTensors (`x + 3.0`, `keras.ops.mean(x, ...)`,
`x[:, 1:5]`) is an entry of `config.layers` just like a layer:

```json
{example}
```

* `module` is `keras.src.ops.numpy`, `keras.src.ops.nn`, `keras.src.ops.core`
  or `keras.src.ops.image` (layers say `keras.layers`); `registered_name`
  equals `class_name`. Several class names collide with layer classes
  (`Add`, `Multiply`, `Subtract`, `Maximum`, `Concatenate`, `Reshape`,
  `Softmax`...): tell them apart by `module`.
* `config` holds `name` plus the operation's non-tensor parameters under the
  names of its constructor (`axis`, `keepdims`, `axes`, `newshape`, `x_min`,
  `x_max`, `pad_width`, `size`, `dtype`, ...). Tuples become lists.
* `build_config` is absent (operations have no weights).
* `inbound_nodes` has one node: `{{"args": [...], "kwargs": {{...}}}}`. The
  call's positional arguments are in `args`, in order:
  * a tensor is `{{"class_name": "__keras_tensor__", "config": {{"shape": [...],
    "dtype": ..., "keras_history": [operation name, node index, tensor index]}}}}`;
    `shape` is the shape when the model was built (batch axis null);
  * a Python scalar constant is a bare JSON number (`3.0`, `1`, `8`), kept at
    its position: `3.0 * x` gives `args: [3.0, T]`, `x - 1` gives `[T, 1]`;
    integer and float constants keep their JSON type;
  * a list of tensors (ops.concatenate, ops.stack) is ONE argument that is a
    JSON list: `args: [[T, T]]`;
  * a list constant (ops.take indices) is a plain JSON list of numbers;
  * indexing (`x[...]`, class `GetItem`) has `args: [T, [key, ...]]` whose keys
    are `{{"class_name": "__slice__", "config": {{"start", "stop", "step"}}}}`,
    `{{"class_name": "__ellipsis__", "config": {{}}}}`, `null` (newaxis) or an int.
* `kwargs` holds call keyword arguments that are not constructor parameters
  (`ops.pad`'s `constant_values: null`; a layer called as
  `Dropout(...)(x, training=False)` gets `training: false`; a layer called as
  `mha(query, value=v)` gets a tensor `value: T` in kwargs).
* Operations with several outputs (`Split`, `Unstack`) are consumed as
  `keras_history: [name, 0, i]`, and `output_layers` lists each used output.
* A static dimension read from `ops.shape(x)` is folded into a constant at
  build time (`ops.shape(a)[1] * a` is `Multiply` with `args: [8, T]`).

## Every operation class seen

`args`: T = tensor; constants as JSON. `config keys` besides `name`.

| class_name | module | config keys | args | kwargs | seen in |
|---|---|---|---|---|---|
"""


def ops_notes(out, keras_version):
    rows, example = {}, None
    for path in sorted(out.glob("*.json.gz")):
        if path.name.endswith("_cf.json.gz"):
            continue
        config = json.loads(gzip.decompress(path.read_bytes()))
        for entry in config.get("config", {}).get("layers", []):
            module = entry.get("module", "")
            if not module.startswith("keras.src.ops"):
                continue
            node = entry["inbound_nodes"][0]
            args = ", ".join(describe_arg(a) for a in node["args"])
            kwargs = ", ".join(f"{k}: {describe_arg(v)}" for k, v in node["kwargs"].items())
            keys = ", ".join(k for k in entry["config"] if k != "name")
            row = (entry["class_name"], module, keys, args, kwargs)
            rows.setdefault(row, []).append(path.name.removesuffix(".json.gz"))
            if example is None and entry["class_name"] == "Add" and len(node["args"]) == 2 \
                    and not isinstance(node["args"][1], dict):
                example = entry
    def seen(files):
        files = sorted(set(files))
        return ", ".join(files[:3]) + (f" (+{len(files) - 3})" if len(files) > 3 else "")
    table = [f"| {c} | `{m}` | {k} | `{a}` | `{kw}` | {seen(rows[(c, m, k, a, kw)])} |"
             .replace("``", "") for c, m, k, a, kw in sorted(rows)]
    text = OPS_NOTES_HEAD.format(keras_version=keras_version,
                                 example=json.dumps(example, indent=1)) + "\n".join(table) + "\n"
    text += """
Layers, for comparison: `module` is `keras.layers`, `build_config` holds
`input_shape`, `inbound_nodes` `args` hold the tensors (a list of tensors for
merge layers), one node per call of a shared layer. A layer's `kwargs` can
hold call options (`Dropout(...)(x, training=False)` in ops_hard_swish_block
gives `"kwargs": {"training": false}`) and tensors passed by keyword
(`MultiHeadAttention(...)(query, value=v)` in list_io gives `"args": [T],
"kwargs": {"value": T}`).

## Inputs and outputs

`config.input_layers` / `output_layers` are lists of `[name, node, tensor]`
for list (or single) inputs and outputs, and dicts of them keyed like the
model's structure for dict inputs/outputs (dict_io:
`{"img": ["img", 0, 0], "meta": ["meta", 0, 0]}`). expected.json's
`input_shape` / `output_shape` follow the same structure.

## None sizes in configs

Unknown sizes are JSON `null` everywhere: in an InputLayer's `batch_shape`
(`[null, null, null, 3]`), in tensor `shape`s and in `build_config`. Reshape
and Flatten of unknown sizes build (their unknown output sizes are null too);
Keras refuses only when a weight would need an unknown size (Dense after
Flatten of None sizes, convolutions or normalizations on an unknown channel
axis): see `refusals` in expected.json.
"""
    (out / "OPS_NOTES.md").write_text(text)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def write_expected(path, head, sections):
    """Readable and diffable: one line per record field, per layer and per list item."""
    lines = ["{"]
    lines += [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    names = list(sections)
    for s, section in enumerate(names):
        value = sections[section]
        last = s == len(names) - 1
        if isinstance(value, list):
            lines.append(f" {json.dumps(section)}: [")
            lines += [f"  {json.dumps(item)}" + ("," if j < len(value) - 1 else "")
                      for j, item in enumerate(value)]
            lines.append(" ]" + ("" if last else ","))
            continue
        lines.append(f" {json.dumps(section)}: {{")
        for i, (name, record) in enumerate(value.items()):
            lines.append(f"  {json.dumps(name)}: {{")
            fields = list(record.items())
            for j, (key, field) in enumerate(fields):
                comma = "," if j < len(fields) - 1 else ""
                if key in ("layers", "operations") or (key == "rows" and isinstance(field, list)):
                    if isinstance(field, dict):
                        rows = [f"    {json.dumps(n)}: {json.dumps(r)}" for n, r in field.items()]
                        open_, close = "{", "}"
                    else:
                        rows = [f"    {json.dumps(r)}" for r in field]
                        open_, close = "[", "]"
                    lines.append(f"   {json.dumps(key)}: {open_}")
                    lines += [r + ("," if k < len(rows) - 1 else "") for k, r in enumerate(rows)]
                    lines.append(f"   {close}{comma}")
                else:
                    lines.append(f"   {json.dumps(key)}: {json.dumps(field)}{comma}")
            lines.append("  }" + ("," if i < len(value) - 1 else ""))
        lines.append(" }" + ("" if last else ","))
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def parse_args(argv=None):
    parser = common.golden_parser(__doc__, DEFAULT_OUT, "output directory", 0,
                                  seed_help="unused (nothing here is random)")
    parser.add_argument("--only", default="",
                        help="comma-separated application names and/or 'graphs' to (re)write; "
                             "the other entries of expected.json are kept")
    parser.add_argument("--kinds", default="",
                        help="comma-separated record kinds to (re)build (" + ", ".join(KINDS)
                             + "); the other entries of expected.json are kept")
    parser.add_argument("--no-resized", action="store_true",
                        help="skip the resized builds (channels_last and channels_first)")
    parser.add_argument("--no-channels-first", action="store_true",
                        help="skip the channels_first builds (default size and resized)")
    args = parser.parse_args(argv)
    args.kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(args.kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown --kinds {sorted(unknown)}; kinds are {', '.join(KINDS)}")
    return args


def summary_check(out, sections):
    """Test-independent sanity checks and a summary of what was written."""
    models = sections["models"]
    kinds = {}
    for record in models.values():
        kinds[record["kind"]] = kinds.get(record["kind"], 0) + 1
        assert (out / record["file"]).exists(), record["file"]
        assert record["total_params"] == record["trainable_params"] + record["non_trainable_params"]
        if record["kind"].startswith("application") and record["class_name"] == "Functional":
            assert sum(l["params"] for l in record["layers"].values()) == record["total_params"]
    print("records by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())),
          file=sys.stderr)
    print(f"refusals: {len(sections['refusals'])}, summaries: {len(sections['summaries'])}, "
          f"skipped: {len(sections['skipped'])}", file=sys.stderr)
    for item in sections["skipped"]:
        print(f"  skipped {item['id']}: {item['reason']}", file=sys.stderr)
    files = sorted(p for p in out.iterdir() if p.is_file())
    total = sum(p.stat().st_size for p in files)
    for p in sorted(files, key=lambda p: -p.stat().st_size)[:8]:
        print(f"  {p.name}: {p.stat().st_size} bytes", file=sys.stderr)
    print(f"wrote {out}: {len(files)} files, {total} bytes", file=sys.stderr)
    assert total < MAX_TOTAL_BYTES, f"{out} holds {total} bytes"


def main(argv=None):
    args = parse_args(argv)
    global keras, layers, ops
    keras, tf = common.load_keras()
    layers, ops = keras.layers, keras.ops
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    only = {name for name in args.only.split(",") if name}
    # replaced: the kinds whose records of the models redone are dropped;
    # built: those (re)built (--no-* leave theirs out).
    replaced = set(args.kinds or KINDS)
    built = set(replaced)
    if args.no_resized:
        built -= {"application_resized", "application_channels_first_resized"}
    if args.no_channels_first:
        built -= {"application_channels_first", "application_channels_first_resized"}
    partial = bool(only) or replaced != set(KINDS)
    expected_path = out / "expected.json"
    sections = {"models": {}, "refusals": [], "summaries": {}, "skipped": []}
    if partial and expected_path.exists():
        sections.update(json.loads(expected_path.read_text()))
        for key in list(sections):
            if key not in ("models", "refusals", "summaries", "skipped"):
                del sections[key]

    names = application_names()
    unknown = only - set(names) - {"graphs"}
    assert not unknown, f"unknown --only names {sorted(unknown)}"
    new = {"models": {}, "refusals": [], "summaries": {}, "skipped": []}
    redone = set()
    for name in names:
        if only and name not in only:
            continue
        if not replaced & set(KINDS[:4]):
            continue
        redone.add(name.lower())
        make_application(name, out, new["models"], new["skipped"], kinds=built,
                         existing=sections["models"])
    if "graph" in replaced and (not only or "graphs" in only):
        if "graph" in built:
            make_graphs(out, new["models"], new["refusals"], new["summaries"])
        sections["models"] = {k: v for k, v in sections["models"].items()
                              if v["kind"] != "graph"}
        sections["refusals"] = new["refusals"]
        sections["summaries"] = new["summaries"]
    # Drop the replaced kinds of the models redone, keep the order of a full run:
    # applications (each: default, resized, channels_first, channels_first
    # resized), then graphs.
    replaced_variants = {SKIPPED_VARIANT[k] for k in replaced if k in SKIPPED_VARIANT}
    stem_of = lambda key: key.split("@")[0].removesuffix("_cf")
    stale = lambda key, record: stem_of(key) in redone and record["kind"] in replaced
    sections["models"] = {k: v for k, v in sections["models"].items() if not stale(k, v)}
    sections["skipped"] = [s for s in sections["skipped"]
                           if not (s["model"].lower() in redone
                                   and s["variant"] in replaced_variants)]
    merged = {**sections["models"], **new["models"]}
    order = {n.lower(): i for i, n in enumerate(names)}
    rank = lambda item: (order.get(stem_of(item[0]), len(order)),
                         KINDS.index(item[1]["kind"]) if item[1]["kind"] in KINDS else len(KINDS))
    sections["models"] = dict(sorted(merged.items(), key=rank))
    sections["skipped"] = sorted(sections["skipped"] + new["skipped"],
                                 key=lambda s: (order.get(s["model"].lower(), 0), s["id"]))

    head = common.header(keras, tf, "scripts/make_golden_applications.py",
                         resized_shapes=[list(s) for s in RESIZED_SHAPES],
                         channels_first_resized_shapes=[list(s) for s in CF_RESIZED_SHAPES])
    write_expected(expected_path, head, sections)
    ops_notes(out, keras.__version__)
    summary_check(out, sections)


if __name__ == "__main__":
    main()
