#!/usr/bin/env python
"""Generate tests/data/golden_whole_models/ (whole Keras models run at inference) from real Keras.

Each model is built with Keras 3, EVERY weight it declares gets a random value,
and what ``convcalc shape --file <id>.json --run`` needs to replay it is recorded;
tests/test_golden_whole_models.py is the replay.

Models (ids): ``classifier`` (Sequential: Conv2D, MaxPooling2D, BatchNormalization,
Dropout, Flatten, Dense softmax), ``residual`` (two residual blocks with batch
normalization, one with a strided projection shortcut, Add), ``unet`` and
``unet-channels-first`` (strided-down and Conv2DTranspose-up U-Net with
Concatenate skips; the second built under channels_first, which TensorFlow's CPU
runs), ``mobilenet-v2`` (``keras.applications.MobileNetV2(input_shape=(32, 32, 3),
alpha=0.35, weights=None, classes=10)``), ``dcgan-generator`` (Sequential: Dense,
Reshape, Conv2DTranspose + BatchNormalization + LeakyReLU, tanh), ``causal-1d``
(Conv1D padding='causal', dilation rates 1, 2, 4, GlobalAveragePooling1D, Dense),
``merges-two-inputs`` (two inputs, every merge, two outputs), ``layer-zoo``
(ZeroPadding2D, Cropping2D, UpSampling2D nearest and bilinear,
LayerNormalization, GroupNormalization, Reshape, Permute, DepthwiseConv2D,
SeparableConv2D, Dense on rank 3), ``shared-nested`` (a Conv2D and a Dense each
called on two tensors, a nested Sequential called twice, two inputs declared in
the reverse of their creation order) and ``nested-collision`` (a nested
Functional of two Dense layers, one named like an outer layer: the
weights-dict expression below loses weights for it, see ``weights_complete``).

Weights (``set_random_weights``): kernels (``kernel``, ``depthwise_kernel``,
``pointwise_kernel``) uniform in +-sqrt(3/fan_in) (unit gain: activations stay in
range), ``bias``/``beta`` 0.3*normal, ``gamma`` uniform(0.5, 1.5),
``moving_mean`` 0.5*normal, ``moving_variance`` uniform(0.5, 1.5). Every value
is rounded to a grid (a kernel's: the largest power of two at most bound/32;
biases 2**-12, the statistics and gamma 2**-8), so that float32 holds it exactly
and the files compress (MobileNetV2's 423k weights); a weight
name not in that list stops the script.

Per model ``<id>``, in the output directory:

- ``<id>.json``: exactly ``model.to_json()``;
- ``<id>.keras``: ``model.save`` (for ``mobilenet-v2`` the same archive re-zipped
  with ZIP_DEFLATED members, to stay small; Keras loads it, checked here);
- ``<id>.weights.npz``: exactly
  ``{f"{l.name}/{w.name}": w.numpy() for l in model.layers for w in l.weights}``
  (for a nested model ``l.weights`` holds every inner weight under its short
  name, so names repeat within it and the dict keeps the LAST one);
- ``<id>.io.npz``: ``input/<input name>`` (batch 2, standard normal float32, in
  the model's input order as ``inputs`` in index.json lists them),
  ``output/<output name>`` = ``model(inputs, training=False)``,
  ``fill_output/<output name>`` = the output on batch-1 inputs filled with
  ``FILL`` (what ``--fill 0.5`` per input gives).
- ``index.json``: a header, then per model: ``id``, ``title``, ``class_name``,
  ``data_format``, ``inputs`` ([{name, shape without batch}] in the model's
  input order; the name is the InputLayer's), ``outputs`` (the names of the
  output layers, in order: the config's ``output_layers``), ``output_shapes``,
  ``batch``, ``fill``, ``weights`` (the npz keys, in the dict's order),
  ``weights_complete`` (whether the dict holds every weight of
  ``model.weights``), ``weights_lost`` (the weights the dict drops, as
  "<nested model>/<inner layer>/<weight name>"), ``nested`` (per nested model:
  its weights so named, and which one each npz key holds), ``layer_shapes``
  (for every layer of ``model.layers``, the shape of its first call's output
  on the batch-2 inputs), ``types``, ``params``, ``float64_max_rel_error``
  (max |y32 - y64| / max(|y64|, 0.1) between the recorded output and the same
  model run by Keras in float64: the float32 noise floor, checked here to be
  under a tenth of the tests' rtol), ``data_bytes``.

Reproducible: with the same seed every file is byte-for-byte the same except the
``.keras`` archives, whose ``model.weights.h5`` is the same but whose
``metadata.json`` holds ``date_saved`` and whose ``config.json`` holds
``shared_object_id`` values (memory addresses) that ``model.to_json()`` leaves out.

Run it (only this script needs TensorFlow; the project and its tests do not):

    /work/tfvenv/bin/python scripts/make_golden_whole_models.py [--seed N] [--out DIR]
"""

import io
import sys
import zipfile
from contextlib import contextmanager

import numpy as np

import golden_common as common

DEFAULT_OUT = common.REPO_ROOT / "tests" / "data" / "golden_whole_models"
DEFAULT_SEED = 1212
MAX_BYTES = 3 * 2**20
BATCH = 2
FILL = 0.5
RTOL = 1e-4  # the tests' tolerance: Keras's own float32 noise must stay far below it
DEFLATED_ARCHIVES = {"mobilenet-v2"}
KERNELS = ("kernel", "depthwise_kernel", "pointwise_kernel")


# --------------------------------------------------------------------------
# The models
# --------------------------------------------------------------------------

def classifier(keras):
    """A Sequential image classifier: conv, pooling, batch norm, dropout, dense."""
    L = keras.layers
    return keras.Sequential([
        keras.Input((16, 16, 3)),
        L.Conv2D(8, 3, activation="relu"),
        L.MaxPooling2D(),
        L.BatchNormalization(),
        L.Conv2D(12, 3, padding="same", activation="relu"),
        L.MaxPooling2D(pool_size=3, strides=2, padding="same"),
        L.Dropout(0.25),
        L.Flatten(),
        L.Dense(16, activation="relu"),
        L.Dropout(0.5),
        L.Dense(10, activation="softmax"),
    ])


def residual(keras):
    """Two ResNet basic blocks (batch norm, Add), the second strided with a projection shortcut."""
    L = keras.layers
    x = inputs = keras.Input((8, 8, 4))
    x = L.Conv2D(8, 3, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu")(x)
    y = L.Conv2D(8, 3, padding="same", use_bias=False)(x)
    y = L.BatchNormalization()(y)
    y = L.ReLU()(y)
    y = L.Conv2D(8, 3, padding="same", use_bias=False)(y)
    y = L.BatchNormalization(epsilon=1e-5)(y)
    x = L.ReLU()(L.Add()([x, y]))
    y = L.Conv2D(12, 3, strides=2, padding="same", use_bias=False)(x)
    y = L.BatchNormalization()(y)
    y = L.ReLU()(y)
    y = L.Conv2D(12, 3, padding="same")(y)
    y = L.BatchNormalization(center=False)(y)
    shortcut = L.Conv2D(12, 1, strides=2)(x)
    shortcut = L.BatchNormalization(scale=False)(shortcut)
    x = L.ReLU()(L.Add()([shortcut, y]))
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, L.Dense(5)(x))


def unet(keras, data_format="channels_last"):
    """A two-level U-Net: strided conv / max pooling down, Conv2DTranspose up, Concatenate skips."""
    L = keras.layers
    axis = -1 if data_format == "channels_last" else 1
    shape = (16, 16, 3) if data_format == "channels_last" else (3, 16, 16)
    inputs = keras.Input(shape)
    e1 = L.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    e1 = L.Conv2D(8, 3, padding="same", activation="relu")(e1)
    e2 = L.MaxPooling2D()(e1)
    e2 = L.Conv2D(12, 3, padding="same", activation="relu")(e2)
    b = L.Conv2D(16, 3, strides=2, padding="same")(e2)
    b = L.BatchNormalization(axis=axis)(b)
    b = L.ReLU()(b)
    u2 = L.Conv2DTranspose(12, 2, strides=2)(b)
    u2 = L.Concatenate(axis=axis)([u2, e2])
    u2 = L.Conv2D(12, 3, padding="same", activation="relu")(u2)
    u1 = L.Conv2DTranspose(8, 3, strides=2, padding="same")(u2)
    u1 = L.Concatenate(axis=axis)([e1, u1])
    u1 = L.Conv2D(8, 3, padding="same", activation="relu")(u1)
    return keras.Model(inputs, L.Conv2D(2, 1, activation="softmax")(u1))


def unet_channels_first(keras):
    """The U-Net built under image_data_format channels_first (every layer stores it)."""
    keras.config.set_image_data_format("channels_first")
    return unet(keras, "channels_first")


def mobilenet_v2(keras):
    """keras.applications.MobileNetV2 at 32x32, alpha 0.35, 10 classes."""
    return keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=10)


def dcgan_generator(keras):
    """The TensorFlow DCGAN tutorial's generator, smaller: 8-d latent to a 16x16x3 tanh image."""
    L = keras.layers
    return keras.Sequential([
        keras.Input((8,)),
        L.Dense(4 * 4 * 16, use_bias=False),
        L.BatchNormalization(),
        L.LeakyReLU(),
        L.Reshape((4, 4, 16)),
        L.Conv2DTranspose(12, 5, strides=1, padding="same", use_bias=False),
        L.BatchNormalization(),
        L.LeakyReLU(negative_slope=0.2),
        L.Conv2DTranspose(8, 5, strides=2, padding="same", use_bias=False),
        L.BatchNormalization(),
        L.LeakyReLU(),
        L.Conv2DTranspose(3, 4, strides=2, padding="same", use_bias=False, activation="tanh"),
    ])


def causal_1d(keras):
    """A WaveNet-like stack: causal Conv1D with dilation rates 1, 2, 4, a residual Add, pooling, Dense."""
    L = keras.layers
    x = inputs = keras.Input((24, 2))
    x = L.Conv1D(8, 2, padding="causal", dilation_rate=1, activation="relu")(x)
    y = L.Conv1D(8, 3, padding="causal", dilation_rate=2, activation="tanh")(x)
    x = L.Add()([x, y])
    x = L.Conv1D(6, 3, padding="causal", dilation_rate=4, activation="relu")(x)
    x = L.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, L.Dense(3)(x))


def merges_two_inputs(keras):
    """Two inputs of different channels, every merge layer, two named outputs."""
    L = keras.layers
    image = keras.Input((6, 6, 3), name="image")
    mask = keras.Input((6, 6, 2), name="mask")
    a = L.Conv2D(4, 3, padding="same")(image)
    b = L.Conv2D(4, 1, activation="tanh")(mask)
    c = L.Conv2D(4, 2, padding="same")(image)
    merged = [L.Add()([a, b, c]), L.Subtract()([a, b]), L.Multiply()([a, b]), L.Average()([a, b, c]),
              L.Maximum()([a, b]), L.Minimum()([b, c])]
    y = L.Concatenate()(merged)
    both = L.Concatenate(axis=1)([y, L.Conv2D(24, 1)(y)])
    classes = L.Dense(4, activation="softmax", name="classes")(L.GlobalMaxPooling2D()(both))
    heatmap = L.Conv2D(1, 3, activation="sigmoid", name="heatmap")(both)
    return keras.Model([image, mask], [classes, heatmap])


def layer_zoo(keras):
    """Padding, cropping, upsampling (nearest, bilinear), normalizations, reshape, permute,
    depthwise and separable convolutions, Dense on a rank-3 tensor."""
    L = keras.layers
    x = inputs = keras.Input((6, 7, 3))
    x = L.ZeroPadding2D(((1, 2), (0, 1)))(x)
    x = L.Conv2D(4, 3)(x)
    x = L.Cropping2D(((1, 0), (0, 2)))(x)
    x = L.UpSampling2D((2, 1))(x)
    x = L.UpSampling2D((2, 3), interpolation="bilinear")(x)
    x = L.LayerNormalization()(x)
    x = L.GroupNormalization(groups=2)(x)
    x = L.DepthwiseConv2D(3, strides=2, depth_multiplier=2)(x)
    x = L.SeparableConv2D(6, 3, padding="same", depth_multiplier=2, activation="relu")(x)
    x = L.LayerNormalization(axis=(1, 2), epsilon=1e-2)(x)
    x = L.Permute((3, 1, 2))(x)
    x = L.Reshape((6, -1))(x)
    return keras.Model(inputs, L.Dense(4)(x))


def shared_nested(keras):
    """A Conv2D and a Dense each called on two tensors, a nested Sequential (conv, batch norm,
    relu) called on both branches; the inputs are declared right before left."""
    L = keras.layers
    left = keras.Input((8, 8, 3), name="left")
    right = keras.Input((8, 8, 3), name="right")
    shared_conv = L.Conv2D(4, 3, padding="same", activation="relu", name="shared_conv")
    encoder = keras.Sequential([
        keras.Input((8, 8, 4)),
        L.Conv2D(6, 3, strides=2),
        L.BatchNormalization(),
        L.ReLU(),
    ], name="encoder")
    shared_dense = L.Dense(5, activation="tanh", name="shared_dense")
    branches = []
    for tensor in (left, right):
        y = encoder(shared_conv(tensor))
        branches.append(shared_dense(L.GlobalAveragePooling2D()(y)))
    y = L.Concatenate()([L.Subtract()(branches), L.Multiply()(branches)])
    return keras.Model([right, left], L.Dense(3)(y))


def nested_collision(keras):
    """A nested Functional of two Dense layers (their weights share short names), one of them
    named "dense" like an outer layer: the weights-dict expression cannot hold it."""
    L = keras.layers
    inner_in = keras.Input((8,))
    hidden = L.Dense(6, activation="relu", name="dense")(inner_in)
    head = keras.Model(inner_in, L.Dense(4, name="proj")(hidden), name="head")
    x = inputs = keras.Input((10,))
    x = L.Dense(8, activation="relu", name="dense")(x)
    x = head(x)
    return keras.Model(inputs, L.Dense(3, name="logits")(x))


MODELS = [
    ("classifier", "Sequential classifier: Conv2D, MaxPooling2D, BatchNormalization, Dropout, Flatten, Dense(softmax)", classifier),
    ("residual", "two residual blocks with batch normalization (Add), strided projection shortcut", residual),
    ("unet", "small U-Net: Conv2DTranspose up, Concatenate skips, channels_last", unet),
    ("unet-channels-first", "the same U-Net built under channels_first", unet_channels_first),
    ("mobilenet-v2", "keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=10)", mobilenet_v2),
    ("dcgan-generator", "Sequential DCGAN generator: Dense, Reshape, Conv2DTranspose + BatchNormalization + LeakyReLU, tanh", dcgan_generator),
    ("causal-1d", "Conv1D padding='causal' with dilation rates 1, 2, 4, Add, GlobalAveragePooling1D, Dense", causal_1d),
    ("merges-two-inputs", "two inputs, Add/Subtract/Multiply/Average/Maximum/Minimum/Concatenate, two outputs", merges_two_inputs),
    ("layer-zoo", "ZeroPadding2D, Cropping2D, UpSampling2D nearest+bilinear, Layer/GroupNormalization, DepthwiseConv2D, SeparableConv2D, Permute, Reshape", layer_zoo),
    ("shared-nested", "shared Conv2D and Dense, a nested Sequential called twice, inputs declared [right, left]", shared_nested),
    ("nested-collision", "nested Functional whose weights share short names (the weights dict loses some)", nested_collision),
]


# --------------------------------------------------------------------------
# Weights, inputs, outputs
# --------------------------------------------------------------------------

def fan_in(layer, name, shape):
    """Inputs that reach one output of a kernel: Keras layouts (kh, kw, C_in, filters),
    transposed (kh, kw, filters, C_in), depthwise (kh, kw, C_in, multiplier)."""
    kind = type(layer).__name__
    if "Transpose" in kind:
        return int(np.prod(shape[:-2])) * shape[-1]
    if name == "depthwise_kernel" or kind.startswith("Depthwise"):
        return int(np.prod(shape[:-2]))
    return int(np.prod(shape[:-1]))


def quantize(value, step):
    """`value` rounded to a multiple of `step` (a power of two), as float32 (exact)."""
    return (np.round(value / step) * step).astype(np.float32)


def kernel_step(bound):
    """The grid of a kernel uniform in +-bound: the largest power of two at most bound/32
    (65 to 129 values in the range)."""
    return 2.0 ** np.floor(np.log2(bound / 32))


def random_weight(rng, layer, name, shape):
    """A random value for weight `name` of `layer`, by what the weight means."""
    if name in KERNELS:
        bound = np.sqrt(3.0 / fan_in(layer, name, shape))
        return quantize(rng.uniform(-bound, bound, shape), kernel_step(bound))
    if name in ("bias", "beta"):
        return quantize(0.3 * rng.standard_normal(shape), 2.0**-12)
    if name == "gamma":
        return quantize(rng.uniform(0.5, 1.5, shape), 2.0**-8)
    if name == "moving_mean":
        return quantize(0.5 * rng.standard_normal(shape), 2.0**-8)
    if name == "moving_variance":
        return quantize(rng.uniform(0.5, 1.5, shape), 2.0**-8)
    raise SystemExit(f"no random rule for weight {name!r} of {type(layer).__name__} {layer.name!r}")


def leaf_layers(model):
    """The layers that own weights, nested models opened (each layer once)."""
    leaves = []
    for layer in model.layers:
        leaves += leaf_layers(layer) if hasattr(layer, "layers") else [layer]
    return leaves


def set_random_weights(model, rng):
    """Give every weight of every (nested) layer a random value, layer by layer."""
    for layer in leaf_layers(model):
        if layer.weights:
            layer.set_weights([random_weight(rng, layer, w.name, tuple(w.shape)) for w in layer.weights])


def weights_dict(model):
    """Exactly SPEC 4's expression (later entries of a nested model overwrite earlier ones)."""
    return {f"{l.name}/{w.name}": w.numpy() for l in model.layers for w in l.weights}


def weight_names(model):
    """{id(weight): "<layer>/<inner layer>/.../<weight name>"} for every weight, nested models opened."""
    names = {}
    for layer in model.layers:
        if hasattr(layer, "layers"):
            names.update({key: f"{layer.name}/{name}" for key, name in weight_names(layer).items()})
        else:
            names.update({id(w): f"{layer.name}/{w.name}" for w in layer.weights})
    return names


def weights_record(model, weights):
    """Which weights the dict holds and which it lost, per nested model: every weight named
    "<nested model>/<inner layer>/<weight name>" (``w.path`` is no help: a nested Functional
    built on its own gives its weights paths without the model's name, e.g. "dense/kernel",
    the same as an outer layer named "dense")."""
    full = weight_names(model)
    lost, nested = [], {}
    for layer in model.layers:
        if not hasattr(layer, "layers"):
            continue
        holds = {}
        for w in layer.weights:
            holds[f"{layer.name}/{w.name}"] = full[id(w)]  # the dict keeps the last weight of a name
        lost += [full[id(w)] for w in layer.weights if holds[f"{layer.name}/{w.name}"] != full[id(w)]]
        nested[layer.name] = {"weights": [full[id(w)] for w in layer.weights], "key_holds": holds}
    assert len(weights) + len(lost) == len(model.weights), (len(weights), lost, len(model.weights))
    return {"weights_complete": not lost, "weights_lost": lost, "nested": nested}


def call(model, inputs, dtype=np.float32):
    """model(inputs, training=False) as a list of arrays, one per output."""
    out = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    out = out if isinstance(out, (list, tuple)) else [out]
    return [np.asarray(y, dtype) for y in out]


def output_names(model):
    """The names of the layers that make the model's outputs, in order: for a Functional model
    the config's ``output_layers`` (and ``model.output_names``), for a Sequential its last layer."""
    names = [t._keras_history.operation.name for t in model.outputs]
    config = model.get_config()
    if "output_layers" in config:
        listed = config["output_layers"]
        listed = [listed] if isinstance(listed[0], str) else listed
        assert [entry[0] for entry in listed] == names == list(model.output_names), (listed, names)
    else:
        assert names == [model.layers[-1].name], names
    return names


def input_specs(model):
    """[{name, shape}] of the model's inputs, in its input order (batch left out)."""
    return [{"name": t._keras_history.operation.name, "shape": common.shape_list(t.shape[1:])}
            for t in model.inputs]


def first_call_shapes(keras, model, inputs):
    """For every layer of model.layers, the shape of its first call's output on `inputs`."""
    layers = [l for l in model.layers if l._inbound_nodes]
    tensors = []
    for layer in layers:
        outs = layer._inbound_nodes[0].output_tensors
        tensors.append(list(outs))
    flat = [t for outs in tensors for t in outs]
    probe = keras.Model(model.inputs, flat)
    values = probe(inputs, training=False)
    values = values if isinstance(values, (list, tuple)) else [values]
    shapes, i = {}, 0
    for layer, outs in zip(layers, tensors):
        got = [list(np.shape(v)) for v in values[i:i + len(outs)]]
        shapes[layer.name] = got[0] if len(got) == 1 else got
        i += len(outs)
    return shapes


def float64_error(keras, make, model, inputs, outputs):
    """The largest error of the recorded outputs against Keras running the same model in
    float64: |y32 - y64| / max(|y64|, 0.1)."""
    with common.keras_session(keras), float64_policy(keras):
        twin = make(keras)
        twin.set_weights([w.numpy().astype(np.float64) for w in model.weights])
        twin_out = call(twin, [x.astype(np.float64) for x in inputs], np.float64)
    return relative_error(outputs, twin_out)


def relative_error(outputs, references):
    """max |y - ref| / max(|ref|, 0.1) over every output: relative where |ref| >= 0.1."""
    return max(float(np.max(np.abs(y - ref) / np.maximum(np.abs(ref), 0.1)))
               for y, ref in zip(outputs, references))


@contextmanager
def float64_policy(keras):
    """Layers built meanwhile compute in float64 (floatx too, for keras.Input)."""
    keras.config.set_dtype_policy("float64")
    keras.config.set_floatx("float64")
    try:
        yield
    finally:
        keras.config.set_dtype_policy("float32")
        keras.config.set_floatx("float32")


def channels_first_error(keras, model, inputs, outputs):
    """``float64_error`` for the channels_first U-Net, whose float64 twin TF's CPU cannot run
    (float64 Conv2D is NHWC only there): a channels_last twin in float64 with the same weights
    computes every layer but the last, channels moved to axis 1; the last is done here, since
    a layer's ``activation="softmax"`` normalizes over the LAST axis whatever the data_format:
    in channels_first it runs across the width, not the channels."""
    with common.keras_session(keras), float64_policy(keras):
        twin = unet(keras)
        twin.set_weights([w.numpy().astype(np.float64) for w in model.weights])
        twin_features = keras.Model(twin.inputs, twin.layers[-1].input)
        features = np.asarray(twin_features(np.moveaxis(inputs[0], 1, -1).astype(np.float64)), np.float64)
        kernel, bias = (np.asarray(w.numpy(), np.float64) for w in twin.layers[-1].weights)
    logits = np.moveaxis(features @ kernel[0, 0] + bias, -1, 1)  # the 1x1 conv, channels_first
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return relative_error(outputs, [shifted / shifted.sum(axis=-1, keepdims=True)])


def check_archive(keras, path, inputs, outputs):
    """keras.models.load_model(path) gives the recorded outputs exactly."""
    loaded = keras.models.load_model(path)
    for got, want in zip(call(loaded, inputs), outputs):
        np.testing.assert_array_equal(got, want)


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------

def deflate_archive(path):
    """Re-zip a .keras archive with ZIP_DEFLATED members (same names, same bytes)."""
    with zipfile.ZipFile(path) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def record_model(keras, out, cid, title, make, rng):
    """Build, randomize, run and save one model; its index.json record."""
    with common.keras_session(keras):
        model = make(keras)
        data_format = keras.config.image_data_format()
        set_random_weights(model, rng)
        specs = input_specs(model)
        inputs = [rng.standard_normal((BATCH, *s["shape"])).astype(np.float32) for s in specs]
        outputs = call(model, inputs)
        filled = call(model, [np.full((1, *s["shape"]), FILL, np.float32) for s in specs])
        names = output_names(model)
        assert len(names) == len(outputs) == len(set(names)), names
        weights = weights_dict(model)
        layer_shapes = first_call_shapes(keras, model, inputs)
        (out / f"{cid}.json").write_text(model.to_json() + "\n")
        model.save(out / f"{cid}.keras")
        record = {"id": cid, "title": title, "class_name": type(model).__name__, "data_format": data_format,
                  "inputs": specs, "outputs": names, "batch": BATCH, "fill": FILL,
                  "output_shapes": [list(y.shape) for y in outputs],
                  "weights": list(weights), **weights_record(model, weights),
                  "params": int(model.count_params()),
                  "types": sorted({type(l).__name__ for l in model.layers + leaf_layers(model)}),
                  "layer_shapes": layer_shapes}
    if cid in DEFLATED_ARCHIVES:
        deflate_archive(out / f"{cid}.keras")
    with common.keras_session(keras):
        check_archive(keras, out / f"{cid}.keras", inputs, outputs)
    if data_format == "channels_first":
        record["float64_max_rel_error"] = channels_first_error(keras, model, inputs, outputs)
    else:
        record["float64_max_rel_error"] = float64_error(keras, make, model, inputs, outputs)
    assert record["float64_max_rel_error"] < RTOL / 10, (cid, record["float64_max_rel_error"])
    io_arrays = {f"input/{s['name']}": x for s, x in zip(specs, inputs)}
    io_arrays.update({f"output/{n}": y for n, y in zip(names, outputs)})
    io_arrays.update({f"fill_output/{n}": y for n, y in zip(names, filled)})
    (out / f"{cid}.weights.npz").write_bytes(common.npz_bytes(weights))
    (out / f"{cid}.io.npz").write_bytes(common.npz_bytes(io_arrays))
    record["data_bytes"] = sum((out / f"{cid}{ext}").stat().st_size
                               for ext in (".json", ".keras", ".weights.npz", ".io.npz"))
    stats = ", ".join(f"{n}: std {y.std():.3g} max|y| {np.abs(y).max():.3g}" for n, y in zip(names, outputs))
    print(f"{cid}: {record['params']} params, {record['data_bytes']} bytes, "
          f"float64 error {record['float64_max_rel_error']:.2g}; {stats}", file=sys.stderr)
    return record


def main(argv=None):
    args = common.golden_parser(__doc__, DEFAULT_OUT, "output directory", DEFAULT_SEED).parse_args(argv)
    keras, tf = common.load_keras()
    assert keras.backend.backend() == "tensorflow"
    keras.utils.set_random_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    records = []
    for index, (cid, title, make) in enumerate(MODELS):
        rng = np.random.default_rng([args.seed, index])
        records.append(record_model(keras, args.out, cid, title, make, rng))
    head = common.header(keras, tf, "scripts/make_golden_whole_models.py", seed=args.seed,
                         weights_expression='{f"{l.name}/{w.name}": w.numpy() for l in model.layers for w in l.weights}',
                         note=("<id>.weights.npz holds exactly weights_expression: for a nested model, l.weights "
                               "lists every inner weight under its short name (kernel, bias, gamma, ...), so "
                               "inner layers with the same weight name collide and the dict keeps the last "
                               "one (weights_lost); the .keras archive holds every weight."))
    common.write_json(args.out / "index.json", head, {"models": records})
    size = sum(p.stat().st_size for p in args.out.iterdir())
    if size > MAX_BYTES:
        raise SystemExit(f"golden whole-model data is {size} bytes, over {MAX_BYTES}")
    print(f"wrote {args.out}: {len(records)} models, {size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
