#!/usr/bin/env python
"""Generate tests/data/golden_layers.json from real Keras: single layers.

For every layer type of issue 4 (names from convcalc/registry.py), random valid
layers on random inputs (both data formats where the layer has one; merges on
two or three Inputs), built symbolically on ``keras.Input`` and recorded with
Keras's output shape, parameter counts, default name, weight shapes and
per-side padding or cropping; and layers Keras refuses, with its message.
tests/test_golden_layers.py replays them through ``convcalc shape`` (merge
layers: one ``Input(shape=...)`` spec per input). Models are written by
scripts/make_golden_models.py.

Run it (only this script needs TensorFlow; the project and its tests do not):

    pip install tensorflow-cpu keras
    python scripts/make_golden_layers.py
    python scripts/make_golden_layers.py --seed 7 --out /tmp/layers.json

Run it with the current directory outside a Keras source tree. The script
re-executes itself with ``PYTHONHASHSEED=0`` and an empty ``KERAS_HOME`` (so
``~/.keras/keras.json`` cannot change the default data format); the cases are
deterministic for a given seed (the script's own random.Random) and Keras
version.
"""

import sys
from functools import partial

import golden_common as common
from golden_common import REPO_ROOT, count_weights, shape_list

DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "golden_layers.json"
DEFAULT_SEED = 20240604
REGISTRY = common.load_registry()

keras = None  # imported in main(), after the environment is prepared


CASES_PER_TYPE_DEFAULT = 10
CASES_PER_TYPE = {cls: 14 for cls in ("DepthwiseConv2D", "SeparableConv2D", "Conv1D",
                                      "Conv1DTranspose", "MaxPooling2D", "AveragePooling2D",
                                      "ZeroPadding2D", "Cropping2D", "Concatenate")}
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
# convcalc's merge layers, in the registry's order (every one gets cases)
MERGE_LAYERS = list(REGISTRY.FAMILIES["merging"])
# Single-layer cases of these types are written by scripts/make_golden.py, not here.
ELSEWHERE = {"Conv2D", "Conv2DTranspose"}


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


def check_layer_types():
    """Every type named here is a convcalc layer type (registry.py); say which registry
    types have no single-layer cases here (other generators may cover them)."""
    known = set(REGISTRY.FAMILY_OF)
    named = set(GENERATORS) | set(MERGE_LAYERS) | {cls for cls, _, _ in ERROR_CASES} | DATA_FORMAT_LAYERS
    unknown = named - known
    assert not unknown, f"not convcalc layer types (convcalc/registry.py): {sorted(unknown)}"
    uncovered = known - set(GENERATORS) - set(MERGE_LAYERS) - ELSEWHERE
    if uncovered:
        print(f"  no single-layer cases here for {sorted(uncovered)}", file=sys.stderr)


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
                data_format, via = common.data_format_choice(rng, cls in DATA_FORMAT_LAYERS, made)
                shape, kwargs = GENERATORS[cls](rng, data_format, made)
                inputs = [shape]
                if via == "layer":
                    kwargs["data_format"] = data_format
            if rng.random() < 0.06:
                kwargs["name"] = f"my_{cls.lower()}_{made + 1}"
            call = common.spell(rng, cls, kwargs)
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
        call = common.spell(rng, cls, dict(kwargs))
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
    common.write_json(path, {**header, "seed": seed}, {"cases": cases, "errors": errors})
    print(f"wrote {path}: {len(cases)} cases, {len(errors)} errors", file=sys.stderr)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main(argv=None):
    args = common.golden_parser(__doc__, DEFAULT_OUT, "single-layer golden file", DEFAULT_SEED,
                                seed_help="seed of the random cases").parse_args(argv)
    check_layer_types()
    global keras
    keras, tf = common.load_keras()
    make_layers(args.out, args.seed, common.header(keras, tf, "scripts/make_golden_layers.py"))


if __name__ == "__main__":
    main()
