#!/usr/bin/env python
"""Generate tests/data/models/ from real Keras: whole models.

For every model the script writes ``tests/data/models/<name>.json.gz`` (gzip of
exactly the text ``model.to_json()`` returns) and records in
``tests/data/models/expected.json`` the model's class, input and output shapes,
total / trainable / non-trainable parameter counts and, for every layer of
``model.layers`` (in that order, keyed by layer name), its class, output shape
(the first inbound node's, for layers called several times) and parameter
counts. One small model is also saved as a real ``.keras`` archive.
tests/test_golden_models.py replays every model through ``convcalc shape
--file`` without TensorFlow. Single layers are written by
scripts/make_golden_layers.py.

Models:

* ``keras.applications`` built with ``weights=None`` (VGG16, ResNet50,
  MobileNetV2, DenseNet121, EfficientNetB0, Xception, NASNetMobile, plus a
  headless ResNet50 with average pooling at 160x160 and a headless MobileNetV2
  with alpha=0.5 at 96x96);
* hand-built: a DCGAN generator (Sequential), a small U-Net (Functional, also
  saved as ``small_unet.keras``), a channels_first autoencoder (built
  symbolically only: TensorFlow's CPU kernels cannot run channels_first
  convolutions, but building the graph works), models nesting others
  (a Sequential used twice inside a Functional model, a Functional model
  inside a Sequential one) and a "layer zoo" with the remaining layer types and
  every merge layer.

Each layer type of ``REQUIRED_LAYERS`` (convcalc's, as convcalc/registry.py
names them) must appear in at least one saved model; the script lists the
registry's other types, which no model uses.

Run it (only this script needs TensorFlow; the project and its tests do not):

    pip install tensorflow-cpu keras
    python scripts/make_golden_models.py
    python scripts/make_golden_models.py --out /tmp/models --only small_unet,vgg16

Run it with the current directory outside a Keras source tree. The configs are
deterministic for a given Keras version: the script re-executes itself with
``PYTHONHASHSEED=0`` and an empty ``KERAS_HOME`` (so ``~/.keras/keras.json``
cannot change the default data format), clears the Keras session before each
model (so default layer names restart) and seeds Keras's random generators
(the weights in the ``.keras`` archive). The ``.keras`` archive itself records
the date it was saved, so its bytes change on every run.
"""

import gzip
import json
import sys

import golden_common as common
from golden_common import REPO_ROOT, count_weights, shape_list

DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "models"
ARCHIVE_MODEL = "small_unet"  # also saved as <name>.keras (weights included: keep it tiny)
MAX_ARCHIVE_BYTES = 300_000
MAX_TOTAL_BYTES = 6_000_000

REGISTRY = common.load_registry()
MODEL_CLASSES = {"InputLayer", "Sequential", "Functional"}
# The layer types convcalc must read from model configs (issue 4), plus the convolutions it
# knew before; each must appear in at least one saved model. All are convcalc's layer types
# (convcalc/registry.py, checked); the types added since are covered by
# scripts/make_golden_layers_more.py and the applications, and listed when this script runs.
REQUIRED_LAYERS = MODEL_CLASSES | {
    "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D", "Conv1D",
    "Conv1DTranspose", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
    "GlobalMaxPooling2D", "ZeroPadding2D", "Cropping2D", "UpSampling2D",
    "BatchNormalization", "LayerNormalization", "Activation", "ReLU", "LeakyReLU",
    "PReLU", "ELU", "Softmax", "Dropout", "SpatialDropout2D", "GaussianNoise",
    "Flatten", "Dense", "Reshape", "Permute", "Rescaling", "Resizing", "Normalization",
    *REGISTRY.FAMILIES["merging"],
}

keras = None  # imported in main(), after the environment is prepared
layers = None

# --------------------------------------------------------------------------
# keras.applications
# --------------------------------------------------------------------------

def applications():
    """(file name, builder) for the keras.applications models, weights=None."""
    apps = keras.applications
    return [
        ("vgg16", lambda: apps.VGG16(weights=None)),
        ("resnet50", lambda: apps.ResNet50(weights=None)),
        ("mobilenet_v2", lambda: apps.MobileNetV2(weights=None)),
        ("densenet121", lambda: apps.DenseNet121(weights=None)),
        ("efficientnet_b0", lambda: apps.EfficientNetB0(weights=None)),
        ("xception", lambda: apps.Xception(weights=None)),
        ("nasnet_mobile", lambda: apps.NASNetMobile(weights=None)),
        ("resnet50_notop_avg_160", lambda: apps.ResNet50(
            weights=None, include_top=False, pooling="avg", input_shape=(160, 160, 3))),
        ("mobilenet_v2_a050_notop_96", lambda: apps.MobileNetV2(
            weights=None, alpha=0.5, input_shape=(96, 96, 3), include_top=False)),
    ]


# --------------------------------------------------------------------------
# Hand-built models
# --------------------------------------------------------------------------

def dcgan_generator():
    """The DCGAN generator of the TensorFlow tutorial, with a 32x32 RGB output."""
    return keras.Sequential([
        keras.Input((100,)),
        layers.Dense(4 * 4 * 256, use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Reshape((4, 4, 256)),
        layers.Conv2DTranspose(128, 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same"),
        layers.BatchNormalization(),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(3, 5, strides=2, padding="same", activation="tanh"),
    ], name="dcgan_generator")


def small_unet():
    """A two-level U-Net on 64x64x3 images: skip connections through Concatenate."""
    inputs = keras.Input((64, 64, 3), name="image")
    x, skips = inputs, []
    for filters in (8, 16):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        skips.append(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    for filters, skip in zip((16, 8), reversed(skips)):
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same")(x)
        x = layers.Concatenate()([x, skip])
        x = layers.Conv2D(filters, 3, padding="same")(x)
        x = layers.Activation("relu")(x)
    outputs = layers.Conv2D(1, 1, activation="sigmoid", name="mask")(x)
    return keras.Model(inputs, outputs, name="small_unet")


def channels_first_autoencoder():
    """A convolutional autoencoder on (1, 28, 28), every layer channels_first."""
    cf = {"data_format": "channels_first"}
    return keras.Sequential([
        keras.Input((1, 28, 28)),
        layers.Conv2D(16, 3, padding="same", activation="relu", **cf),
        layers.BatchNormalization(axis=1),
        layers.MaxPooling2D(2, **cf),                                   # 16x14x14
        layers.Conv2D(8, 3, padding="same", activation="relu", **cf),
        layers.MaxPooling2D(2, padding="same", **cf),                   # 8x7x7
        layers.ZeroPadding2D(((1, 0), (0, 1)), **cf),                   # 8x8x8
        layers.AveragePooling2D(3, strides=1, padding="same", **cf),
        layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu", **cf),  # 16
        layers.UpSampling2D(2, **cf),                                   # 8x32x32
        layers.Cropping2D(((1, 3), 2), **cf),                           # 8x28x28
        layers.Conv2DTranspose(4, (3, 1), **cf),                        # 4x30x28
        layers.ZeroPadding2D((0, 1), **cf),                             # 4x30x30
        layers.Conv2D(1, 3, activation="sigmoid", **cf),                # 1x28x28
    ], name="channels_first_autoencoder")


def nested_functional():
    """A Functional model using a Sequential feature extractor and a Functional
    projector on two inputs (shared weights: two inbound nodes each) and a
    Functional head as its output layer.

    Keras numbers a nested Functional model's nodes from 1 in the outer
    config's input_layers/output_layers (it counts the sub-model's own
    input-to-output node), but from 0 in inbound_nodes arguments."""
    features = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(8, 3, use_bias=False),
        layers.BatchNormalization(),
        layers.ReLU(),
        layers.MaxPooling2D(),
        layers.Conv2D(16, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
    ], name="features")
    proj_in = keras.Input((16,), name="embedding")
    projector = keras.Model(proj_in, layers.LayerNormalization()(layers.Dense(16)(proj_in)),
                            name="projector")
    head_in = keras.Input((32,), name="pair")
    h = layers.Dense(16, activation="relu")(head_in)
    h = layers.Dropout(0.5)(h)
    head = keras.Model(head_in, layers.Dense(1, activation="sigmoid")(h), name="head")
    left = keras.Input((32, 32, 3), name="left")
    right = keras.Input((32, 32, 3), name="right")
    joined = layers.Concatenate()([projector(features(left)), projector(features(right))])
    return keras.Model([left, right], head(joined), name="siamese")


def nested_sequential():
    """A Sequential model whose middle is a Functional residual block, itself
    holding a Sequential layer."""
    inner = keras.Sequential([
        keras.Input((16, 16, 8)),
        layers.Conv2D(8, 3, padding="same"),
        layers.BatchNormalization(),
    ], name="conv_bn")
    block_in = keras.Input((16, 16, 8))
    y = inner(block_in)
    y = layers.Add()([block_in, y])
    block = keras.Model(block_in, layers.ReLU()(y), name="residual_block")
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Rescaling(1 / 127.5, offset=-1),
        layers.Conv2D(8, 3, strides=2, padding="same"),
        block,
        layers.GlobalMaxPooling2D(),
        layers.Dense(10),
        layers.Softmax(),
    ], name="nested_sequential")


def layer_zoo():
    """Two inputs, two outputs; the layer types no other model has, and every merge."""
    image = keras.Input((32, 32, 3), name="image")
    x = layers.Rescaling(1 / 255.0)(image)
    x = layers.Normalization(mean=[0.485, 0.456, 0.406], variance=[0.052, 0.05, 0.057])(x)
    x = layers.Resizing(24, 24)(x)
    x = layers.SeparableConv2D(16, 3, padding="same", depth_multiplier=2)(x)
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False)(x)      # 22x22x32
    x = layers.PReLU(shared_axes=[1, 2])(x)
    x = layers.SpatialDropout2D(0.2)(x)
    x = layers.GaussianNoise(0.1)(x)
    x = layers.ELU()(x)
    a = layers.Conv2D(8, 1, name="branch_a")(x)
    b = layers.Conv2D(8, 1, name="branch_b")(x)
    s = layers.Subtract()([a, b])
    m = layers.Multiply()([a, b])
    av = layers.Average()([a, b, s])
    mx = layers.Maximum()([a, m])
    mn = layers.Minimum()([av, mx])
    x = layers.Add()([s, m, mn])
    x = layers.GlobalMaxPooling2D(keepdims=True)(x)                              # 1x1x8
    x = layers.Flatten()(x)
    x = layers.LayerNormalization()(x)
    x = layers.Dense(10)(x)
    class_out = layers.Softmax(name="classes")(x)

    series = keras.Input((16, 4), name="series")
    y = layers.Normalization()(series)                                          # not adapted
    y = layers.Conv1D(8, 3, padding="causal", dilation_rate=2, activation="relu")(y)
    y = layers.Conv1D(8, 5, strides=2, padding="same")(y)                          # 8x8
    y = layers.Conv1DTranspose(4, 3, strides=2)(y)                                 # 17x4
    y = layers.Permute((2, 1))(y)                                                  # 4x17
    y = layers.Reshape((-1,))(y)
    y = layers.Dense(6)(y)
    y = layers.Dense(3, activation="relu")(layers.Reshape((2, 3))(y))              # Dense on 3-D
    series_out = layers.Flatten(name="series_out")(y)
    return keras.Model([image, series], [class_out, series_out], name="layer_zoo")


HAND_BUILT = [
    ("dcgan_generator", dcgan_generator),
    ("small_unet", small_unet),
    ("channels_first_autoencoder", channels_first_autoencoder),
    ("nested_functional", nested_functional),
    ("nested_sequential", nested_sequential),
    ("layer_zoo", layer_zoo),
]


# --------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------

def one_or_many(tensors):
    """A shape for one tensor, a list of shapes for several (as the CLI prints them)."""
    shapes = [shape_list(t.shape) for t in tensors]
    return shapes[0] if len(shapes) == 1 else shapes


def own_nodes(model):
    """Keys of the graph nodes that belong to `model` (Sequential: its inner graph)."""
    graph = getattr(model, "_functional", None) or model
    return graph._nodes


def first_own_node(layer, model):
    """The layer's first call inside `model` (shared layers have several)."""
    from keras.src.ops.function import make_node_key
    own = own_nodes(model)
    for index, node in enumerate(layer._inbound_nodes):
        if make_node_key(layer, index) in own:
            return node
    raise RuntimeError(f"{layer.name} is not called in {model.name}")


def first_output_shape(layer, model):
    """The layer's output shape at its first call in the model."""
    return one_or_many(first_own_node(layer, model).output_tensors)


def inbound_tensors(layer, model):
    """The tensors feeding the layer's first call inside `model`, as
    "name[node][tensor]" (model.summary's "Connected to" spelling), in order.
    Node indices count only the inbound layer's calls that belong to the model,
    as the config's inbound_nodes arguments number them."""
    from keras.src.ops.function import make_node_key
    own = own_nodes(model)
    found = []
    for tensor in first_own_node(layer, model).input_tensors:
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            continue
        operation, index, tensor_index = history
        kept = sum(1 for i in range(index) if make_node_key(operation, i) in own)
        found.append(f"{operation.name}[{kept}][{tensor_index}]")
    return found


def model_inputs(model):
    inputs = model.inputs if isinstance(model.inputs, (list, tuple)) else [model.inputs]
    return list(inputs)


def model_outputs(model):
    outputs = model.outputs if isinstance(model.outputs, (list, tuple)) else [model.outputs]
    return list(outputs)


def layer_record(layer, model, functional):
    record = {"class_name": type(layer).__name__,
              "output_shape": first_output_shape(layer, model),
              "params": layer.count_params() if layer.built else 0,
              "trainable_params": count_weights(layer.trainable_weights),
              "non_trainable_params": count_weights(layer.non_trainable_weights)}
    if functional:
        tensors = inbound_tensors(layer, model)
        record["connected_to"] = tensors
    from keras.src.ops.function import make_node_key
    calls = sum(1 for i in range(len(layer._inbound_nodes))
                if make_node_key(layer, i) in own_nodes(model))
    if calls > 1:
        record["calls"] = calls
    return record


def model_record(file_name, model, source):
    config = json.loads(model.to_json())
    functional = config["class_name"] == "Functional"
    return {
        "file": file_name,
        "source": source,
        "class_name": config["class_name"],
        "input_shape": one_or_many(model_inputs(model)),
        "output_shape": one_or_many(model_outputs(model)),
        "n_inputs": len(model_inputs(model)),
        "n_outputs": len(model_outputs(model)),
        "total_params": model.count_params(),
        "trainable_params": count_weights(model.trainable_weights),
        "non_trainable_params": count_weights(model.non_trainable_weights),
        "layers": {layer.name: layer_record(layer, model, functional)
                   for layer in model.layers},
    }


def layer_types(config, found=None):
    """Every class_name in a model config, nested models included."""
    found = set() if found is None else found
    if isinstance(config, dict):
        if "class_name" in config and "config" in config and isinstance(config["config"], dict):
            if "layers" in config["config"] or "name" in config["config"]:
                found.add(config["class_name"])
        for value in config.values():
            layer_types(value, found)
    elif isinstance(config, list):
        for value in config:
            layer_types(value, found)
    return found


def write_expected(path, header, models):
    """Readable and diffable: one line per model header and per layer."""
    lines = ["{"]
    lines += [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in header.items()]
    lines.append(' "models": {')
    for i, (name, record) in enumerate(models.items()):
        lines.append(f"  {json.dumps(name)}: {{")
        for key, value in record.items():
            if key != "layers":
                lines.append(f"   {json.dumps(key)}: {json.dumps(value)},")
        lines.append('   "layers": {')
        rows = list(record["layers"].items())
        lines += [f"    {json.dumps(n)}: {json.dumps(r)}" + ("," if j < len(rows) - 1 else "")
                  for j, (n, r) in enumerate(rows)]
        lines.append("   }")
        lines.append("  }" + ("," if i < len(models) - 1 else ""))
    lines += [" }", "}"]
    path.write_text("\n".join(lines) + "\n")


def check_round_trip(name, model, text):
    """The saved config alone must rebuild the same model."""
    keras.backend.clear_session()
    rebuilt = keras.models.model_from_json(text)
    assert rebuilt.count_params() == model.count_params(), name
    assert [l.name for l in rebuilt.layers] == [l.name for l in model.layers], name


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def make_models(out, only, header):
    out.mkdir(parents=True, exist_ok=True)
    expected_path = out / "expected.json"
    models = {}
    if only and expected_path.exists():
        models = json.loads(expected_path.read_text())["models"]

    seen_types = set()
    builders = [(n, b, "keras.applications") for n, b in applications()]
    builders += [(n, b, "hand-built") for n, b in HAND_BUILT]
    for name, build, source in builders:
        if only and name not in only:
            continue
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        model = build()
        text = model.to_json()
        file_name = f"{name}.json.gz"
        # mtime=0 and no file name in the header: the bytes depend on the config only.
        with open(out / file_name, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                gz.write(text.encode("utf-8"))
        models[name] = model_record(file_name, model, source)
        seen_types |= layer_types(json.loads(text))
        if name == ARCHIVE_MODEL:
            archive = out / f"{name}.keras"
            model.save(archive)
            models[name]["archive"] = archive.name
            size = archive.stat().st_size
            assert size < MAX_ARCHIVE_BYTES, f"{archive} is {size} bytes"
        check_round_trip(name, model, text)
        print(f"{name}: {len(model.layers)} layers, {model.count_params()} params, "
              f"{(out / file_name).stat().st_size} bytes gzipped", file=sys.stderr)

    if not only:
        missing = REQUIRED_LAYERS - seen_types
        assert not missing, f"no saved model uses {sorted(missing)}"
        unused = set(REGISTRY.FAMILY_OF) - seen_types
        if unused:
            print(f"no saved model uses these convcalc layer types: {sorted(unused)}", file=sys.stderr)

    write_expected(expected_path, header, models)
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    assert total < MAX_TOTAL_BYTES, f"{out} holds {total} bytes"
    print(f"wrote {out}: {len(models)} models, {total} bytes", file=sys.stderr)


def main(argv=None):
    parser = common.golden_parser(__doc__, DEFAULT_OUT, "models directory", None)
    parser.add_argument("--only", default="",
                        help="comma-separated model names to (re)write; the others keep "
                             "their entries in expected.json")
    args = parser.parse_args(argv)
    unknown = REQUIRED_LAYERS - MODEL_CLASSES - set(REGISTRY.FAMILY_OF)
    assert not unknown, f"not convcalc layer types (convcalc/registry.py): {sorted(unknown)}"
    global keras, layers
    keras, tf = common.load_keras()
    layers = keras.layers
    header = common.header(keras, tf, "scripts/make_golden_models.py")
    make_models(args.out, {name for name in args.only.split(",") if name}, header)


if __name__ == "__main__":
    main()
