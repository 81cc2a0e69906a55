#!/usr/bin/env python
"""Generate tests/data/models/ and tests/data/golden_layers.json from real Keras.

Part 1, models (``--models`` alone):

For every model the script writes ``tests/data/models/<name>.json.gz`` (gzip of
exactly the text ``model.to_json()`` returns) and records in
``tests/data/models/expected.json`` the model's class, input and output shapes,
total / trainable / non-trainable parameter counts and, for every layer of
``model.layers`` (in that order, keyed by layer name), its class, output shape
(the first inbound node's, for layers called several times) and parameter
counts. One small model is also saved as a real ``.keras`` archive.
tests/test_golden_models.py replays every model through ``convcalc shape
--file`` without TensorFlow.

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

Part 2, single layers (``--layers`` alone): tests/data/golden_layers.json
holds random valid layers of every type issue 4 lists (both data formats
where the layer has one; merges on two or three Inputs) with Keras's output
shape, parameter counts, default name, weight shapes and per-side padding or
cropping, and layers Keras refuses with its message.
tests/test_golden_layers.py replays them through ``convcalc shape``.

Run it (only this script needs TensorFlow; the project and its tests do not):

    pip install tensorflow-cpu keras
    python scripts/make_golden_models.py                 # writes both
    python scripts/make_golden_models.py --layers --seed 7 --layers-out /tmp/layers.json
    python scripts/make_golden_models.py --models --out /tmp/models --only small_unet,vgg16

Run it with the current directory outside a Keras source tree. The configs are
deterministic for a given Keras version: the script re-executes itself with
``PYTHONHASHSEED=0`` and an empty ``KERAS_HOME`` (so ``~/.keras/keras.json``
cannot change the default data format), clears the Keras session before each
model (so default layer names restart) and seeds Keras's random generators
(the weights in the ``.keras`` archive). The ``.keras`` archive itself records
the date it was saved, so its bytes change on every run. The single-layer
cases are deterministic for a given seed (the script's own random.Random).
"""

import gzip
import json
import sys
from functools import partial
from pathlib import Path

import golden_common as common
from golden_common import REPO_ROOT, LayerCall, count_weights

DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "models"
DEFAULT_LAYERS_OUT = REPO_ROOT / "tests" / "data" / "golden_layers.json"
DEFAULT_SEED = 20240604
ARCHIVE_MODEL = "small_unet"  # also saved as <name>.keras (weights included: keep it tiny)
MAX_ARCHIVE_BYTES = 300_000
MAX_TOTAL_BYTES = 6_000_000

# Every layer type convcalc must read from model configs (issue 4), plus the
# convolutions it already knows. Each must appear in at least one saved model.
REQUIRED_LAYERS = {
    "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D", "Conv1D",
    "Conv1DTranspose", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
    "GlobalMaxPooling2D", "ZeroPadding2D", "Cropping2D", "UpSampling2D",
    "BatchNormalization", "LayerNormalization", "Activation", "ReLU", "LeakyReLU",
    "PReLU", "ELU", "Softmax", "Dropout", "SpatialDropout2D", "GaussianNoise",
    "Flatten", "Dense", "Reshape", "Permute", "Rescaling", "Resizing", "Normalization",
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
    "InputLayer", "Sequential", "Functional",
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

def shape_list(shape):
    return [None if d is None else int(d) for d in shape]


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


# ==========================================================================
# Single-layer golden cases: tests/data/golden_layers.json
# ==========================================================================
#
# For every layer type of issue 4, random valid layers on random inputs (both
# data formats where the layer has one), built symbolically on keras.Input and
# recorded with Keras's output shape, parameter counts, default name and
# per-side padding (or cropping); merge layers on two or three Inputs; and
# error cases Keras rejects. tests/test_golden_layers.py replays them through
# `convcalc shape` (merge layers: one `Input(shape=...)` spec per input).

CASES_PER_TYPE_DEFAULT = 10
CASES_PER_TYPE = {cls: 14 for cls in ("DepthwiseConv2D", "SeparableConv2D", "Conv1D",
                                      "Conv1DTranspose", "MaxPooling2D", "AveragePooling2D",
                                      "ZeroPadding2D", "Cropping2D", "Concatenate")}
PREFIXES = ["", "", "", "", "keras.layers.", "layers.", "tf.keras.layers."]
CHANNELS = [1, 2, 3, 4, 6, 8, 12, 16]
# Activations both Keras and convcalc know.
ACTIVATION_NAMES = ["relu", "sigmoid", "tanh", "softmax", "linear", "elu", "selu",
                    "gelu", "swish", "silu", "softplus", "softsign", "relu6",
                    "hard_sigmoid", "leaky_relu", "mish", "exponential", "log_softmax"]
DATA_FORMAT_LAYERS = {
    "DepthwiseConv2D", "SeparableConv2D", "Conv1D", "Conv1DTranspose", "MaxPooling2D",
    "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D",
    "Cropping2D", "UpSampling2D", "SpatialDropout2D", "Flatten", "Resizing",
}
MERGE_LAYERS = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]


def signature_order(cls):
    import inspect
    params = inspect.signature(getattr(keras.layers, cls).__init__).parameters
    return [n for n, p in params.items()
            if n != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def layer_call(cls, kwargs, n_positional=0, prefix="", quote="'"):
    """A LayerCall whose first (at most) `n_positional` arguments are written
    positionally, in Keras's order."""
    order = signature_order(cls)
    n = 0
    while n < n_positional and n < len(order) and order[n] in kwargs:
        n += 1
    return LayerCall(cls, [kwargs[name] for name in order[:n]],
                     [(k, v) for k, v in kwargs.items() if k not in order[:n]], prefix, quote)


def spell(rng, cls, kwargs):
    """A LayerCall with a random spelling: how many leading arguments are positional,
    tuples as lists, a module prefix, the quote character."""
    spelled = {}
    for name, value in kwargs.items():
        if isinstance(value, tuple) and rng.random() < 0.2 and name not in ("padding", "cropping"):
            value = list(value)
        spelled[name] = value
    n_positional = rng.choice([0, 1, 1, 1, 2, 2, 3])
    return layer_call(cls, spelled, n_positional, rng.choice(PREFIXES),
                      '"' if rng.random() < 0.15 else "'")


pair = partial(common.random_pair, square=0.6)


def maybe_int(rng, value):
    """(3, 3) is often written 3."""
    if isinstance(value, tuple) and len(set(value)) == 1 and rng.random() < 0.6:
        return value[0]
    return value


def image_shape(rng, df, low=1, high=40):
    h, w = rng.randint(low, high), rng.randint(low, high)
    if rng.random() < 0.4:
        w = h
    c = rng.choice(CHANNELS)
    return [h, w, c] if df == "channels_last" else [c, h, w]


def seq_shape(rng, df, low=1, high=40):
    n, c = rng.randint(low, high), rng.choice(CHANNELS)
    return [n, c] if df == "channels_last" else [c, n]


def any_shape(rng, min_rank=1, max_rank=3, high=12):
    return [rng.randint(1, high) for _ in range(rng.randint(min_rank, max_rank))]


def strides_or_dilation(rng, kwargs, dims=2, dilation=True):
    roll = rng.random()
    make = (lambda lo, hi: pair(rng, lo, hi)) if dims == 2 else (lambda lo, hi: rng.randint(lo, hi))
    if roll < 0.45:
        kwargs["strides"] = maybe_int(rng, make(1, 3))
    elif roll < 0.7 and dilation:
        kwargs["dilation_rate"] = maybe_int(rng, make(1, 3))


# --- generators: (rng, data_format) -> (input shape, kwargs in Keras's order) ---

def strides_and_dilation(rng, kwargs):
    """Keras accepts strides > 1 with dilation > 1 in DepthwiseConv2D and
    SeparableConv2D (not in Conv1D/Conv2D): sometimes draw both."""
    if rng.random() < 0.12:
        kwargs["strides"] = maybe_int(rng, pair(rng, 2, 3))
        kwargs["dilation_rate"] = maybe_int(rng, pair(rng, 2, 3))
    else:
        strides_or_dilation(rng, kwargs)


def gen_depthwise(rng, df, index=0):
    kwargs = {"kernel_size": maybe_int(rng, pair(rng, 1, 5))}
    strides_and_dilation(rng, kwargs)
    if rng.random() < 0.6:
        kwargs["padding"] = rng.choice(["valid", "same"])
    kwargs["depth_multiplier"] = rng.choice([1, 2, 2, 3, 4])
    if rng.random() < 0.3:
        kwargs["activation"] = rng.choice(ACTIVATION_NAMES)
    if rng.random() < 0.3:
        kwargs["use_bias"] = False
    return image_shape(rng, df, 3), kwargs


def gen_separable(rng, df, index=0):
    kwargs = {"filters": rng.choice([1, 2, 4, 8, 16, 24]),
              "kernel_size": maybe_int(rng, pair(rng, 1, 5))}
    strides_and_dilation(rng, kwargs)
    if rng.random() < 0.7:
        kwargs["padding"] = rng.choice(["valid", "same"])
    if rng.random() < 0.5:
        kwargs["depth_multiplier"] = rng.choice([1, 2, 3])
    if rng.random() < 0.3:
        kwargs["use_bias"] = False
    return image_shape(rng, df, 3), kwargs


def gen_conv1d(rng, df, index=0):
    shape = seq_shape(rng, df, 3)
    channels = shape[-1] if df == "channels_last" else shape[0]
    kwargs = {"filters": rng.choice([1, 2, 4, 8, 16]), "kernel_size": rng.randint(1, 6)}
    strides_or_dilation(rng, kwargs, dims=1)
    kwargs["padding"] = rng.choice(["valid", "same", "causal"])
    divisors = [g for g in range(2, channels + 1) if channels % g == 0]
    if divisors and rng.random() < 0.2:
        groups = rng.choice(divisors)
        kwargs["filters"] = groups * rng.randint(1, 3)
        kwargs["groups"] = groups
    if rng.random() < 0.3:
        kwargs["use_bias"] = False
    return shape, kwargs


def gen_conv1d_transpose(rng, df, index=0):
    kwargs = {"filters": rng.choice([1, 2, 4, 8, 16]), "kernel_size": rng.randint(1, 6)}
    strides_or_dilation(rng, kwargs, dims=1)
    kwargs["padding"] = rng.choice(["valid", "same"])
    strides = kwargs.get("strides", 1)
    if strides > 1 and rng.random() < 0.4:
        kwargs["output_padding"] = rng.randint(0, strides - 1)
    if rng.random() < 0.3:
        kwargs["use_bias"] = False
    return seq_shape(rng, df, 1, 24), kwargs


def gen_pooling(rng, df, index=0):
    kwargs = {}
    if rng.random() < 0.85:
        kwargs["pool_size"] = maybe_int(rng, pair(rng, 1, 4))
    roll = rng.random()
    if roll < 0.4:
        kwargs["strides"] = maybe_int(rng, pair(rng, 1, 3))
    elif roll < 0.5:
        kwargs["strides"] = None
    if rng.random() < 0.7:
        kwargs["padding"] = rng.choice(["valid", "same"])  # pooling refuses 'SAME
    return image_shape(rng, df, 1, 32), kwargs


def gen_global_pooling(rng, df, index=0):
    kwargs = {}
    if rng.random() < 0.6:
        kwargs["keepdims"] = rng.choice([True, False])
    return image_shape(rng, df, 1, 16), kwargs


def gen_zero_padding(rng, df, index=0):
    styles = ["int", "sym", "full", "default"]
    style = styles[index] if index < len(styles) else rng.choice(styles)
    if style == "int":
        padding = rng.randint(0, 4)
    elif style == "sym":
        padding = (rng.randint(0, 4), rng.randint(0, 4))
    elif style == "full":
        padding = ((rng.randint(0, 3), rng.randint(0, 3)), (rng.randint(0, 3), rng.randint(0, 3)))
        if rng.random() < 0.2:
            padding = [list(padding[0]), list(padding[1])]
    else:
        return image_shape(rng, df, 1, 20), {}
    return image_shape(rng, df, 1, 20), {"padding": padding}


def gen_cropping(rng, df, index=0):
    shape = image_shape(rng, df, 3, 24)
    h, w = (shape[0], shape[1]) if df == "channels_last" else (shape[1], shape[2])
    styles = ["int", "sym", "full", "full"]
    style = styles[index] if index < len(styles) else rng.choice(styles)

    def split(n):  # top + bottom < n
        total = rng.randint(0, n - 1)
        top = rng.randint(0, total)
        return (top, total - top)

    if style == "int":
        cropping = rng.randint(0, (min(h, w) - 1) // 2)
    elif style == "sym":
        cropping = (rng.randint(0, (h - 1) // 2), rng.randint(0, (w - 1) // 2))
    else:
        cropping = (split(h), split(w))
    return shape, {"cropping": cropping}


def gen_upsampling(rng, df, index=0):
    kwargs = {}
    if rng.random() < 0.85:
        kwargs["size"] = maybe_int(rng, pair(rng, 1, 4))
    if rng.random() < 0.3:
        kwargs["interpolation"] = rng.choice(["nearest", "bilinear"])
    return image_shape(rng, df, 1, 20), kwargs


def gen_batch_norm(rng, df, index=0):
    shape = any_shape(rng, 1, 3)
    kwargs = {}
    if rng.random() < 0.6:
        kwargs["axis"] = rng.choice([-1] + list(range(1, len(shape) + 1))
                                    + [-k for k in range(1, len(shape) + 1)])
    if rng.random() < 0.25:
        kwargs["center"] = False
    if rng.random() < 0.25:
        kwargs["scale"] = False
    return shape, kwargs


def gen_layer_norm(rng, df, index=0):
    shape = any_shape(rng, 1, 3)
    kwargs = {}
    axes = list(range(1, len(shape) + 1))
    roll = rng.random()
    if roll < 0.3:
        kwargs["axis"] = rng.choice(axes + [-1])
    elif roll < 0.55 and len(axes) > 1:
        kwargs["axis"] = sorted(rng.sample(axes, rng.randint(2, len(axes))))
    if rng.random() < 0.2:
        kwargs["center"] = False
    if rng.random() < 0.2:
        kwargs["scale"] = False
    return shape, kwargs


def gen_activation(rng, df, index=0):
    return any_shape(rng, 1, 3), {"activation": rng.choice(ACTIVATION_NAMES)}


def gen_relu(rng, df, index=0):
    kwargs = {}
    if rng.random() < 0.4:
        kwargs["max_value"] = rng.choice([6.0, 1.0, 6])
    if rng.random() < 0.3:
        kwargs["negative_slope"] = rng.choice([0.1, 0.2])
    if rng.random() < 0.2:
        kwargs["threshold"] = 0.5
    return any_shape(rng, 1, 3), kwargs


def gen_leaky_relu(rng, df, index=0):
    kwargs = {"negative_slope": rng.choice([0.01, 0.1, 0.2, 0.3])} if rng.random() < 0.6 else {}
    return any_shape(rng, 1, 3), kwargs


def gen_prelu(rng, df, index=0):
    shape = any_shape(rng, 1, 3)
    kwargs = {}
    axes = list(range(1, len(shape) + 1))
    if rng.random() < 0.6 and len(axes) > 1:
        kwargs["shared_axes"] = sorted(rng.sample(axes, rng.randint(1, len(axes) - 1)))
    return shape, kwargs


def gen_elu(rng, df, index=0):
    return any_shape(rng, 1, 3), ({"alpha": rng.choice([0.5, 1.0, 2.0])} if rng.random() < 0.5 else {})


def gen_softmax(rng, df, index=0):
    shape = any_shape(rng, 1, 3)
    kwargs = {}
    if rng.random() < 0.5:
        kwargs["axis"] = rng.choice([-1] + list(range(1, len(shape) + 1)))
    return shape, kwargs


def gen_dropout(rng, df, index=0):
    kwargs = {"rate": rng.choice([0.0, 0.1, 0.25, 0.5, 0.9])}
    if rng.random() < 0.2:
        kwargs["seed"] = rng.randint(0, 100)
    return any_shape(rng, 1, 3), kwargs


def gen_spatial_dropout(rng, df, index=0):
    return image_shape(rng, df, 1, 16), {"rate": rng.choice([0.1, 0.2, 0.5])}


def gen_gaussian_noise(rng, df, index=0):
    kwargs = {"stddev": rng.choice([0.01, 0.1, 0.5, 1.0])}
    if rng.random() < 0.2:
        kwargs["seed"] = rng.randint(0, 100)
    return any_shape(rng, 1, 3), kwargs


def gen_flatten(rng, df, index=0):
    if rng.random() < 0.7:
        return image_shape(rng, df, 1, 16), {}
    return any_shape(rng, 1, 3), {}


def gen_dense(rng, df, index=0):
    shape = any_shape(rng, 1, 1, 64) if rng.random() < 0.5 else any_shape(rng, 2, 3, 10)
    kwargs = {"units": rng.choice([1, 2, 8, 10, 32, 64])}
    if rng.random() < 0.4:
        kwargs["activation"] = rng.choice(ACTIVATION_NAMES)
    if rng.random() < 0.3:
        kwargs["use_bias"] = False
    return shape, kwargs


def factorizations(n, parts, rng):
    """A random tuple of `parts` positive ints whose product is n."""
    dims = []
    for _ in range(parts - 1):
        divisors = [d for d in range(1, n + 1) if n % d == 0]
        d = rng.choice(divisors)
        dims.append(d)
        n //= d
    dims.append(n)
    rng.shuffle(dims)
    return dims


def gen_reshape(rng, df, index=0):
    shape = any_shape(rng, 1, 3, 8)
    size = 1
    for d in shape:
        size *= d
    target = factorizations(size, rng.randint(1, 4), rng)
    if rng.random() < 0.5:
        target[rng.randrange(len(target))] = -1
    return shape, {"target_shape": tuple(target)}


def gen_permute(rng, df, index=0):
    shape = any_shape(rng, 2, 4, 8)
    dims = list(range(1, len(shape) + 1))
    while dims == sorted(dims) and rng.random() < 0.9:
        rng.shuffle(dims)
    return shape, {"dims": tuple(dims)}


def gen_rescaling(rng, df, index=0):
    kwargs = {"scale": rng.choice([1 / 255.0, 1 / 127.5, 2.0, 0.5])}
    if rng.random() < 0.5:
        kwargs["offset"] = rng.choice([-1.0, 0.5, 0.0])
    return any_shape(rng, 1, 3), kwargs


def gen_resizing(rng, df, index=0):
    kwargs = {"height": rng.randint(1, 48), "width": rng.randint(1, 48)}
    if rng.random() < 0.3:
        kwargs["interpolation"] = rng.choice(["nearest", "bilinear", "bicubic", "area"])
    if rng.random() < 0.2:
        kwargs["crop_to_aspect_ratio"] = True
    elif rng.random() < 0.2:
        kwargs["pad_to_aspect_ratio"] = True
    return image_shape(rng, df, 1, 40), kwargs


def gen_normalization(rng, df, index=0):
    shape = any_shape(rng, 1, 3, 6)
    kwargs = {}
    roll = rng.random()
    if roll < 0.2:
        kwargs["axis"] = None
    elif roll < 0.4 and len(shape) > 1:
        kwargs["axis"] = tuple(sorted(rng.sample(range(1, len(shape) + 1), 2)))
    elif roll < 0.55:
        kwargs["axis"] = rng.choice(list(range(1, len(shape) + 1)))
    if rng.random() < 0.5:
        axis = kwargs.get("axis", -1)
        if axis is None or rng.random() < 0.3:
            mean, variance = round(rng.uniform(-1, 1), 2), round(rng.uniform(0.1, 2), 2)
        else:
            axes = axis if isinstance(axis, tuple) else (axis,)
            n = 1
            for a in axes:
                n *= shape[a if a < 0 else a - 1] if a > 0 else shape[a]
            mean = [round(rng.uniform(-1, 1), 2) for _ in range(n)]
            variance = [round(rng.uniform(0.1, 2), 2) for _ in range(n)]
            if len(axes) > 1:  # the shape of the kept axes
                kept = [shape[a - 1] for a in axes]
                mean = [mean[i:i + kept[1]] for i in range(0, n, kept[1])]
                variance = [variance[i:i + kept[1]] for i in range(0, n, kept[1])]
        kwargs["mean"], kwargs["variance"] = mean, variance
    return shape, kwargs


GENERATORS = {
    "DepthwiseConv2D": gen_depthwise, "SeparableConv2D": gen_separable,
    "Conv1D": gen_conv1d, "Conv1DTranspose": gen_conv1d_transpose,
    "MaxPooling2D": gen_pooling, "AveragePooling2D": gen_pooling,
    "GlobalAveragePooling2D": gen_global_pooling, "GlobalMaxPooling2D": gen_global_pooling,
    "ZeroPadding2D": gen_zero_padding, "Cropping2D": gen_cropping, "UpSampling2D": gen_upsampling,
    "BatchNormalization": gen_batch_norm, "LayerNormalization": gen_layer_norm,
    "Activation": gen_activation, "ReLU": gen_relu, "LeakyReLU": gen_leaky_relu,
    "PReLU": gen_prelu, "ELU": gen_elu, "Softmax": gen_softmax, "Dropout": gen_dropout,
    "SpatialDropout2D": gen_spatial_dropout, "GaussianNoise": gen_gaussian_noise,
    "Flatten": gen_flatten, "Dense": gen_dense, "Reshape": gen_reshape, "Permute": gen_permute,
    "Rescaling": gen_rescaling, "Resizing": gen_resizing, "Normalization": gen_normalization,
}


def gen_merge(rng, cls):
    """(input shapes, kwargs) for a merge layer; element-wise merges sometimes
    broadcast a dimension of 1, as Keras allows."""
    rank = rng.randint(1, 3)
    shape = [rng.randint(2, 12) for _ in range(rank)]
    n = 2 if cls == "Subtract" else rng.choice([2, 2, 3])
    kwargs = {}
    if cls == "Concatenate":
        axis = rng.choice([-1, -1] + list(range(1, rank + 1)) + [-k for k in range(1, rank + 1)])
        if axis != -1 or rng.random() < 0.5:
            kwargs["axis"] = axis
        index = axis - 1 if axis > 0 else axis
        shapes = []
        for _ in range(n):
            s = list(shape)
            s[index] = rng.randint(1, 12)
            shapes.append(s)
        return shapes, kwargs
    shapes = [list(shape) for _ in range(n)]
    if rng.random() < 0.2:
        shapes[rng.randrange(n)][rng.randrange(rank)] = 1
    return shapes, kwargs


# --- recording ---

def data_format_choice(rng, cls, index):
    """(data_format, via): via is 'option' (--data-format), 'layer' (in the spec)
    or 'default' (neither given: channels_last). Every combination comes first."""
    if cls in DATA_FORMAT_LAYERS:
        choices = [("channels_last", "default"), ("channels_first", "option"),
                   ("channels_first", "layer"), ("channels_last", "option"),
                   ("channels_last", "layer"), ("channels_first", "layer")]
        return choices[index] if index < 5 else rng.choice(choices)
    if rng.random() < 0.12:  # --data-format must not change layers without one
        return "channels_first", "option"
    return "channels_last", "default"


def padding_record(layer, in_shape):
    """Per-side padding (or cropping) of a built layer, where it is defined."""
    cls = type(layer).__name__
    if cls == "ZeroPadding2D":
        return {"padding": common.sides_2d(layer.padding)}
    if cls == "Cropping2D":
        return {"cropping": common.sides_2d(layer.cropping)}
    if cls in ("MaxPooling2D", "AveragePooling2D", "DepthwiseConv2D", "SeparableConv2D"):
        df = layer.data_format
        spatial = in_shape[1:3] if df == "channels_last" else in_shape[2:4]
        if cls.endswith("Pooling2D"):
            kernel, strides, dilation = layer.pool_size, layer.strides, (1, 1)
        else:
            kernel, strides, dilation = layer.kernel_size, layer.strides, layer.dilation_rate
        return {"padding": common.sides_2d(
            common.padding_sides(layer.padding, spatial, kernel, strides, dilation))}
    if cls == "Conv1D":
        df = layer.data_format
        n = in_shape[1] if df == "channels_last" else in_shape[2]
        k, s, d = layer.kernel_size[0], layer.strides[0], layer.dilation_rate[0]
        if layer.padding == "causal":
            side = (d * (k - 1), 0)
        else:
            [side] = common.padding_sides(layer.padding, [n], [k], [s], [d])
        return {"padding": {"left": side[0], "right": side[1]}}
    if cls == "Conv1DTranspose":
        [side] = common.transpose_padding_sides(layer.kernel_size, layer.strides,
                                                layer.dilation_rate, layer.padding,
                                                layer.output_padding)
        return {"padding": {"left": side[0], "right": side[1]}}
    return {}


def clean_message(exc):
    """Keras's message without ANSI codes and the 'Arguments received' appendix."""
    import re
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    text = text.split("\n\nArguments received")[0]
    text = text.replace("Exception encountered when calling", "In").strip()
    return " ".join(text.split())[:400]


def build_layer(inputs, call, data_format, via):
    """Build the layer on Inputs as a user would. (layer, model) or raises."""
    with common.keras_session(keras, data_format if via == "option" else "channels_last"):
        tensors = [keras.Input(shape=tuple(s)) for s in inputs]
        layer = call.make()
        y = layer(tensors if call.cls in MERGE_LAYERS else tensors[0])
        return layer, keras.Model(tensors, y)


def expected_record(layer, model, inputs):
    in_shape = [None, *inputs[0]]
    record = {"output_shape": shape_list(model.output.shape),
              "params": layer.count_params(),
              "trainable_params": count_weights(layer.trainable_weights),
              "non_trainable_params": count_weights(layer.non_trainable_weights),
              "name": layer.name}
    record.update(padding_record(layer, in_shape))
    record["weights"] = {w.name: list(w.shape) for w in layer.weights}
    return record


def layer_cases(rng):
    cases = []
    for cls in list(GENERATORS) + MERGE_LAYERS:
        made, attempts = 0, 0
        while made < CASES_PER_TYPE.get(cls, CASES_PER_TYPE_DEFAULT):
            attempts += 1
            assert attempts < 500, f"cannot draw valid {cls} layers"
            if cls in MERGE_LAYERS:
                data_format, via = "channels_last", "default"
                inputs, kwargs = gen_merge(rng, cls)
            else:
                data_format, via = data_format_choice(rng, cls, made)
                shape, kwargs = GENERATORS[cls](rng, data_format, made)
                inputs = [shape]
                if via == "layer":
                    kwargs["data_format"] = data_format
            if rng.random() < 0.06:
                kwargs["name"] = f"my_{cls.lower()}_{made + 1}"
            call = spell(rng, cls, kwargs)
            try:
                layer, model = build_layer(inputs, call, data_format, via)
            except Exception as exc:  # a random draw Keras rejects: draw again
                print(f"  redraw {call.spec} on {inputs}: {clean_message(exc)[:100]}",
                      file=sys.stderr)
                continue
            out = shape_list(model.output.shape)
            if any(d is not None and d <= 0 for d in out):
                continue
            made += 1
            case = {"id": f"{cls}-{made:02d}", "type": cls}
            if cls in MERGE_LAYERS:
                case["inputs"] = inputs
            else:
                case["input"] = inputs[0]
            case.update(data_format_via=via, data_format=data_format, spec=call.spec,
                        expected=expected_record(layer, model, inputs))
            cases.append(case)
    return cases


# Error cases: (layer class, input shape or list of input shapes for merges,
# keyword arguments). Each must be rejected by Keras (the script checks).
# Keras 3.15.1 ACCEPTS, so these are not here: DepthwiseConv2D/SeparableConv2D
# with strides > 1 and dilation > 1 (only Conv1D/2D/Transpose refuse), Conv1D
# 'causal' with channels_first, ZeroPadding2D with negative padding (it crops),
# Resizing/UpSampling2D with an unknown interpolation and Softmax with an axis
# out of range (only checked when run), Resizing to a 0 size, merges whose
# shapes differ in a dimension that is 1 in one of them (broadcast), Add on a
# single input, Concatenate(axis=0).
ERROR_CASES = [
    ("MaxPooling2D", [8, 8, 3], {"pool_size": 0}),
    ("MaxPooling2D", [8, 8, 3], {"pool_size": (2, -1)}),
    ("MaxPooling2D", [4, 5, 3], {"pool_size": 5}),
    ("AveragePooling2D", [2, 9, 3], {"pool_size": (3, 3)}),
    ("MaxPooling2D", [8, 8, 3], {"pool_size": 2, "strides": 0}),
    ("AveragePooling2D", [8, 8, 3], {"pool_size": 2, "padding": "causal"}),
    ("MaxPooling2D", [8, 8, 3], {"pool_size": 2, "padding": "full"}),
    ("MaxPooling2D", [8, 8, 3], {"pool_size": 2, "padding": "SAME"}),
    ("AveragePooling2D", [8, 8, 3], {"pool_size": 2, "padding": "Valid"}),
    ("AveragePooling2D", [8, 8, 3], {}),
    ("MaxPooling2D", [8, 8, 3], {"pool_size": 2, "data_format": "nhwc"}),
    ("AveragePooling2D", [8, 8, 3], {"pool_size": (2, 2, 2)}),
    ("MaxPooling2D", [8, 3], {"pool_size": 2}),
    ("Cropping2D", [4, 5, 3], {"cropping": 2}),
    ("Cropping2D", [3, 8, 3], {"cropping": ((1, 2), (0, 0))}),
    ("Cropping2D", [3, 8, 6], {"cropping": ((0, 0), (3, 3)), "data_format": "channels_first"}),
    ("Cropping2D", [8, 8, 3], {"cropping": -1}),
    ("Cropping2D", [8, 8, 3], {"cropping": (1, 2, 3)}),
    ("ZeroPadding2D", [8, 8, 3], {"padding": (1, 2, 3)}),
    ("ZeroPadding2D", [8, 3], {"padding": 1}),
    ("UpSampling2D", [8, 8, 3], {"size": 0}),
    ("UpSampling2D", [8, 8, 3], {"size": (2, 2, 2)}),
    ("DepthwiseConv2D", [8, 8, 3], {"kernel_size": 3, "depth_multiplier": 0}),
    ("DepthwiseConv2D", [3, 8, 4], {"kernel_size": 5}),
    ("DepthwiseConv2D", [8, 8, 3], {"kernel_size": 0}),
    ("SeparableConv2D", [8, 8, 3], {"filters": 0, "kernel_size": 3}),
    ("SeparableConv2D", [8, 8, 3], {"filters": 8, "kernel_size": 3, "depth_multiplier": 0}),
    ("SeparableConv2D", [8, 8, 3], {"filters": 8, "kernel_size": 3, "padding": "causal"}),
    ("SeparableConv2D", [2, 8, 3], {"filters": 4, "kernel_size": 3}),
    ("Conv1D", [20, 3], {"filters": 8, "kernel_size": 3, "strides": 2, "dilation_rate": 2}),
    ("Conv1D", [5, 3], {"filters": 8, "kernel_size": 7}),
    ("Conv1D", [8, 8, 3], {"filters": 8, "kernel_size": 3}),
    ("Conv1D", [10, 8], {"filters": 6, "kernel_size": 3, "groups": 4}),
    ("Conv1D", [10, 6], {"filters": 8, "kernel_size": 3, "groups": 4}),
    ("Conv1DTranspose", [10, 3], {"filters": 4, "kernel_size": 3, "padding": "causal"}),
    ("Conv1DTranspose", [10, 3], {"filters": 4, "kernel_size": 3, "strides": 2,
                                  "output_padding": 2}),
    ("Conv1DTranspose", [10], {"filters": 4, "kernel_size": 3}),
    ("Conv1DTranspose", [10, 3], {"filters": 4, "kernel_size": 3, "strides": 2,
                                  "dilation_rate": 2}),
    ("BatchNormalization", [4, 5, 3], {"axis": 4}),
    ("BatchNormalization", [4, 5, 3], {"axis": -5}),
    ("LayerNormalization", [4, 5], {"axis": 3}),
    ("Activation", [4, 5], {"activation": "foo"}),
    ("Dense", [16], {"units": 8, "activation": "rleu"}),
    ("ReLU", [4, 5], {"max_value": -1.0}),
    ("ReLU", [4, 5], {"negative_slope": -0.5}),
    ("LeakyReLU", [4, 5], {"negative_slope": -0.1}),
    ("PReLU", [4, 5, 3], {"shared_axes": [4]}),
    ("Dropout", [4, 5], {"rate": 1.5}),
    ("Dropout", [4, 5], {"rate": -0.1}),
    ("SpatialDropout2D", [8, 8], {"rate": 0.5}),
    ("SpatialDropout2D", [8, 8, 3], {"rate": 1.2}),
    ("GaussianNoise", [4, 5], {"stddev": -1.0}),
    ("Flatten", [4, 5, 3], {"data_format": "foo"}),
    ("Dense", [16], {"units": 0}),
    ("Dense", [4, 4], {"units": -4}),
    ("Reshape", [4, 5, 3], {"target_shape": (7, -1)}),
    ("Reshape", [4, 5, 3], {"target_shape": (-1, -1)}),
    ("Reshape", [4, 5, 3], {"target_shape": (7, 9)}),
    ("Reshape", [4, 5, 3], {"target_shape": (0, 60)}),
    ("Permute", [4, 5, 3], {"dims": (1, 1, 2)}),
    ("Permute", [4, 5, 3], {"dims": (0, 1, 2)}),
    ("Permute", [4, 5, 3], {"dims": (2, 1)}),
    ("Permute", [4, 5, 3], {"dims": (1, 2, 4)}),
    ("Normalization", [4, 4, 3], {"mean": 1.0}),
    ("Normalization", [4, 4, 3], {"variance": [1.0, 1.0, 1.0]}),
    ("Normalization", [4, 4, 3], {"mean": [1.0, 2.0], "variance": [1.0, 1.0]}),
    ("Normalization", [4, 4, 3], {"axis": 5}),
    ("Resizing", [8, 8, 3], {"height": 4, "width": 4, "data_format": "nchw"}),
    ("GlobalAveragePooling2D", [3], {}),
    ("GlobalMaxPooling2D", [8, 8, 3], {"data_format": "channels_middle"}),
    ("Add", [[8, 8, 3], [8, 8, 2]], {}),
    ("Multiply", [[4], [5]], {}),
    ("Subtract", [[8, 3], [8, 3], [8, 3]], {}),
    ("Subtract", [[8, 3]], {}),
    ("Average", [[6, 4], [4, 6]], {}),
    ("Maximum", [[2, 3, 4], [2, 3, 5]], {}),
    ("Minimum", [[5, 5], [5, 2]], {}),
    ("Concatenate", [[8, 8, 3], [8, 7, 3]], {}),
    ("Concatenate", [[8, 8, 3], [8, 3]], {}),
    ("Concatenate", [[4, 3], [5, 4]], {"axis": 1}),
    ("Concatenate", [[4, 3], [4, 3]], {"axis": 5}),
]


def error_cases(rng):
    errors = []
    for cls, shape, kwargs in ERROR_CASES:
        merge = cls in MERGE_LAYERS
        inputs = shape if merge else [shape]
        data_format = kwargs.get("data_format", "channels_last")
        if data_format not in ("channels_last", "channels_first"):
            data_format = "channels_last"
        via = "layer" if "data_format" in kwargs else "default"
        call = spell(rng, cls, dict(kwargs))
        try:
            build_layer(inputs, call, data_format, via)
        except Exception as exc:
            case = {"id": f"error-{len(errors) + 1:02d}", "type": cls}
            if merge:
                case["inputs"] = inputs
            else:
                case["input"] = shape
            case.update(data_format_via=via, data_format=data_format, spec=call.spec,
                        error=clean_message(exc), error_type=type(exc).__name__)
            errors.append(case)
        else:
            print(f"  Keras accepts {call.spec} on {inputs}: not an error case", file=sys.stderr)
    return errors


def make_layers(path, seed, header):
    import random
    rng = random.Random(seed)
    cases = layer_cases(rng)
    errors = error_cases(rng)
    common.write_json(path, {**header, "generated_by": "scripts/make_golden_models.py --layers",
                             "seed": seed}, {"cases": cases, "errors": errors})
    print(f"wrote {path}: {len(cases)} cases, {len(errors)} errors", file=sys.stderr)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_args(argv=None):
    parser = common.golden_parser(__doc__, DEFAULT_OUT, "models directory", DEFAULT_SEED,
                                  seed_help="seed of the single-layer cases")
    parser.add_argument("--layers-out", type=Path, default=DEFAULT_LAYERS_OUT,
                        help="single-layer golden file (default: "
                             f"{DEFAULT_LAYERS_OUT.relative_to(REPO_ROOT)})")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--models", action="store_true", help="only write the models")
    what.add_argument("--layers", action="store_true", help="only write the single-layer cases")
    parser.add_argument("--only", default="",
                        help="comma-separated model names to (re)write; the others keep "
                             "their entries in expected.json")
    return parser.parse_args(argv)


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

    write_expected(expected_path, header, models)
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    assert total < MAX_TOTAL_BYTES, f"{out} holds {total} bytes"
    print(f"wrote {out}: {len(models)} models, {total} bytes", file=sys.stderr)


def main(argv=None):
    args = parse_args(argv)
    global keras, layers
    keras, tf = common.load_keras()
    layers = keras.layers

    header = common.header(keras, tf, "scripts/make_golden_models.py")
    if not args.layers:
        make_models(args.out, {name for name in args.only.split(",") if name}, header)
    if not args.models:
        make_layers(args.layers_out, args.seed, header)


if __name__ == "__main__":
    main()
