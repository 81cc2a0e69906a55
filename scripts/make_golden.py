#!/usr/bin/env python
"""Generate tests/data/golden_shapes.json from real Keras.

The golden file holds randomly generated Conv2D / Conv2DTranspose stacks and
what Keras 3 says about them: output shapes, parameter counts, kernel shapes,
layer names and per-side padding (valid cases), the exception message and the
failing layer (error cases), and stacks Keras accepts although a spatial
dimension becomes 0 (``keras_zero_size``). tests/test_golden_shapes.py
replays every case through ``convcalc shape`` without TensorFlow.

Shapes are computed symbolically (``keras.Input`` + layer calls + a functional
``keras.Model``); no convolution is ever run. Per-side padding is taken from
Keras's own helpers (see ``conv_padding`` and ``conv_transpose_padding``).

Run it (only this script needs TensorFlow; the project and its tests do not):

    pip install tensorflow-cpu keras
    python scripts/make_golden.py            # writes tests/data/golden_shapes.json
    python scripts/make_golden.py --out /tmp/golden.json --seed 7

Run it with the current directory outside a Keras source tree. The output is
deterministic for a given seed and Keras version: the script uses its own
``random.Random(seed)``, sets ``KERAS_HOME`` to an empty temporary directory
(so ``~/.keras/keras.json`` cannot change the default data format) and
re-executes itself with ``PYTHONHASHSEED=0`` (some Keras messages print sets).
"""

import random
import sys
from dataclasses import dataclass, field
from functools import partial

import golden_common as common
from golden_common import REPO_ROOT, LayerCall, count_weights

DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "golden_shapes.json"
DEFAULT_SEED = 20240601

N_SINGLE = 150  # valid single-layer cases
N_MULTI = 270  # valid stacks of 2-5 layers
ERRORS_PER_CATEGORY = 5
N_ZERO_SIZE = 10

# Keras's positional argument order (keras/src/layers/convolutional/*.py).
POSITIONAL = {
    "Conv2D": ["filters", "kernel_size", "strides", "padding", "data_format",
               "dilation_rate", "groups", "activation", "use_bias"],
    "Conv2DTranspose": ["filters", "kernel_size", "strides", "padding",
                        "output_padding", "data_format", "dilation_rate",
                        "activation", "use_bias"],
}
DEFAULTS = {"strides": (1, 1), "padding": "valid", "output_padding": None,
            "data_format": None, "dilation_rate": (1, 1), "groups": 1,
            "activation": None, "use_bias": True}
PREFIXES = ["", "", "", "keras.layers.", "keras.layers.", "layers.", "tf.keras.layers."]
FILTERS = [1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32]
CHANNELS = [1, 2, 3, 4, 6, 8, 12, 16]
MAX_SPATIAL = 1024  # keep generated stacks from growing without bound

random_pair = partial(common.random_pair, square=0.65)

keras = None  # imported in main(), after the environment is prepared


# --------------------------------------------------------------------------
# Per-side padding, from Keras's own code (see golden_common)
# --------------------------------------------------------------------------

def conv_padding(layer, spatial):
    """Per-side padding of a built Conv2D layer whose input has `spatial` (h, w)."""
    return common.sides_2d(common.padding_sides(layer.padding, spatial, layer.kernel_size,
                                                layer.strides, layer.dilation_rate))


def conv_transpose_padding(layer):
    """Per-side padding of the direct convolution equivalent to a Conv2DTranspose."""
    return common.sides_2d(common.transpose_padding_sides(
        layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding,
        layer.output_padding))


# --------------------------------------------------------------------------
# Layer specs: a LayerCall (golden_common) with a randomly chosen spelling
# --------------------------------------------------------------------------

def spell_value(rng, name, value):
    """Vary how a value is written: 3 vs (3, 3) vs [3, 3]; 'same' vs 'SAME'."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
        roll = rng.random()
        if roll < 0.5:
            return value[0]
        return list(value) if roll < 0.65 else value
    if isinstance(value, tuple):
        return list(value) if rng.random() < 0.3 else value
    if name == "padding" and value in ("valid", "same"):
        roll = rng.random()
        if roll < 0.15:
            return value.upper()
        return value.capitalize() if roll < 0.22 else value
    return value


def positional_count(rng, order, present, allow_none_data_format):
    """How many leading arguments to write positionally (Keras's order)."""
    longest = 0
    while longest < len(order) and order[longest] in present:
        longest += 1
    if rng.random() < 0.15:  # sometimes spell defaults to reach further
        while longest < len(order) and rng.random() < 0.6:
            name = order[longest]
            if name not in present:
                if name == "data_format" and not allow_none_data_format:
                    break
                present[name] = DEFAULTS[name]
            longest += 1
    roll = rng.random()
    if roll < 0.1:
        return 0
    if roll < 0.25:
        return min(1, longest)
    if roll < 0.75:
        return min(2, longest)
    return rng.randint(min(2, longest), longest)


def spell(rng, cls, args, extra=(), allow_none_data_format=False):
    """Turn canonical arguments into a LayerCall with a randomly chosen spelling.

    `args` maps Keras argument names to values; arguments equal to their
    default are usually left out. `extra` are keyword-only (name, value) pairs
    written last (name=, lora_rank=, misspelt arguments, ...).
    """
    order = POSITIONAL[cls]
    present = {}
    for name, value in args.items():
        if name in DEFAULTS and value == DEFAULTS[name] and rng.random() < 0.8:
            continue
        present[name] = value
    n_pos = positional_count(rng, order, present, allow_none_data_format)
    positional = [spell_value(rng, n, present[n]) for n in order[:n_pos]]
    rest = [n for n in order[n_pos:] if n in present]
    rest += [n for n in present if n not in order]
    if rng.random() < 0.25:
        rng.shuffle(rest)
    keywords = [(n, spell_value(rng, n, present[n])) for n in rest] + list(extra)
    call = LayerCall(cls, positional, keywords, rng.choice(PREFIXES),
                     '"' if rng.random() < 0.15 else "'")
    call.check_spec()
    return call


# --------------------------------------------------------------------------
# Random valid layers
# --------------------------------------------------------------------------

def spatial_of(shape, data_format):
    return tuple(shape[1:3]) if data_format == "channels_last" else tuple(shape[2:4])


def channels_of(shape, data_format):
    return shape[-1] if data_format == "channels_last" else shape[1]


def random_layer_args(rng, cls, channels):
    """Canonical arguments of a random, probably valid layer."""
    args = {"filters": rng.choice(FILTERS),
            "kernel_size": random_pair(rng, 1, 7, square=0.6),
            "strides": (1, 1), "padding": rng.choice(["valid", "same"]),
            "dilation_rate": (1, 1)}
    roll = rng.random()
    if roll < 0.5:
        args["strides"] = random_pair(rng, 1, 4)
    elif roll < 0.75:
        args["dilation_rate"] = random_pair(rng, 1, 3)
    if cls == "Conv2D":
        args["groups"] = 1
        divisors = [g for g in range(2, channels + 1) if channels % g == 0]
        if divisors and rng.random() < 0.2:
            args["groups"] = rng.choice(divisors)
            args["filters"] = args["groups"] * rng.randint(1, 4)
    else:
        args["output_padding"] = None
        if rng.random() < 0.35:
            args["output_padding"] = tuple(rng.randint(0, s - 1) for s in args["strides"])
    args["activation"] = rng.choice([None] * 6 + ["relu", "sigmoid", "tanh", "linear"])
    args["use_bias"] = rng.random() >= 0.25
    return args


def probe(x, cls, args, data_format, extra=()):
    """Apply a candidate layer to the symbolic tensor x; None if Keras rejects it."""
    kwargs = {**args, **dict(extra)}
    kwargs.setdefault("data_format", data_format)
    kwargs.pop("name", None)
    try:
        y = getattr(keras.layers, cls)(**kwargs)(x)
    except (ValueError, TypeError):
        return None
    spatial = spatial_of(y.shape, data_format)
    if min(spatial) <= 0 or max(spatial) > MAX_SPATIAL:
        return None
    return y


def random_valid_layer(rng, x, data_format, cls=None):
    """Draw layers until Keras accepts one on x; returns (cls, args, extra, y)."""
    for _ in range(50):
        kind = cls or rng.choice(["Conv2D", "Conv2DTranspose"])
        args = random_layer_args(rng, kind, channels_of(x.shape, data_format))
        extra = []
        if kind == "Conv2D" and rng.random() < 0.03:
            extra.append(("lora_rank", rng.choice([1, 2, 4])))
        y = probe(x, kind, args, data_format, extra)
        if y is not None:
            return kind, args, extra, y
    raise RuntimeError("could not draw a valid layer")


def random_input(rng, data_format):
    roll = rng.random()
    if roll < 0.2:
        h, w = rng.randint(1, 5), rng.randint(1, 5)
    elif roll < 0.6:
        h = w = rng.randint(1, 64)
    else:
        h, w = rng.randint(1, 64), rng.randint(1, 64)
    c = rng.choice(CHANNELS)
    return [h, w, c] if data_format == "channels_last" else [c, h, w]


def random_data_format(rng):
    """(data_format, via): via is 'option' (--data-format), 'layer' (in every
    spec) or 'default' (channels_last, neither given)."""
    return rng.choice([("channels_last", "default"), ("channels_last", "default"),
                       ("channels_last", "option"), ("channels_last", "layer"),
                       ("channels_first", "option"), ("channels_first", "option"),
                       ("channels_first", "layer"), ("channels_first", "layer")])


@dataclass
class Draft:
    """A stack being generated: input, data format and the layers' arguments."""
    input: list
    data_format: str
    via: str
    layers: list = field(default_factory=list)  # [(cls, args, extra), ...]

    def start(self):
        keras.backend.clear_session()
        return keras.Input(shape=self.input)

    def calls(self, rng):
        result = []
        for cls, args, extra in self.layers:
            args = dict(args)
            if self.via == "layer" and "data_format" not in args:
                args["data_format"] = self.data_format
            result.append(spell(rng, cls, args, extra,
                                allow_none_data_format=self.via == "default"))
        return result


def add_random_names(rng, draft):
    """Sometimes give a layer an explicit name= (unique within the stack)."""
    for i, (cls, args, extra) in enumerate(draft.layers):
        if rng.random() < 0.08:
            name = rng.choice(["my_conv", "enc", "up", "block"]) + f"_{i + 1}"
            draft.layers[i] = (cls, args, extra + [("name", name)])


def random_prefix(rng, n_layers):
    """A random valid stack of n_layers and its symbolic output: (draft, x)."""
    data_format, via = random_data_format(rng)
    draft = Draft(random_input(rng, data_format), data_format, via)
    x = draft.start()
    for _ in range(n_layers):
        cls, args, extra, x = random_valid_layer(rng, x, data_format)
        draft.layers.append((cls, args, extra))
    return draft, x


def random_valid_draft(rng, n_layers):
    draft, _ = random_prefix(rng, n_layers)
    add_random_names(rng, draft)
    return draft


# --------------------------------------------------------------------------
# Building a stack with Keras and recording what it says
# --------------------------------------------------------------------------

def build(draft, calls):
    """Build the stack as a user would. Returns (model, None) or (None, error dict)."""
    option = draft.data_format if draft.via == "option" else "channels_last"
    with common.keras_session(keras, option):
        inputs = x = keras.Input(shape=draft.input)
        for index, call in enumerate(calls, 1):
            stage = "constructor"
            try:
                layer = call.make()
                stage = "build"
                x = layer(x)
            except (ValueError, TypeError) as exc:
                return None, {"error": str(exc), "error_layer": index,
                              "error_type": type(exc).__name__, "error_stage": stage}
        return keras.Model(inputs, x), None


def layer_record(layer):
    data_format = layer.data_format
    in_shape = list(layer.input.shape)
    if type(layer).__name__ == "Conv2D":
        padding = conv_padding(layer, spatial_of(in_shape, data_format))
        kernel = layer._kernel  # the stored kernel, also when LoRA is enabled
    else:
        padding = conv_transpose_padding(layer)
        kernel = layer.kernel
    return {"name": layer.name, "type": type(layer).__name__,
            "input_shape": in_shape, "output_shape": list(layer.output.shape),
            "params": layer.count_params(), "kernel_shape": list(kernel.shape),
            "padding": padding}


def keras_args(layer):
    """The layer's arguments after Keras standardised them (for coverage checks)."""
    record = {"filters": layer.filters, "kernel_size": list(layer.kernel_size),
              "strides": list(layer.strides), "padding": layer.padding,
              "data_format": layer.data_format,
              "dilation_rate": list(layer.dilation_rate), "use_bias": layer.use_bias}
    if type(layer).__name__ == "Conv2D":
        record["groups"] = layer.groups
        record["lora_rank"] = layer.lora_rank
    else:
        op = layer.output_padding
        record["output_padding"] = None if op is None else list(op)
    return record


def model_record(model):
    layers = model.layers[1:]
    return {"output_shape": list(model.output.shape),
            "total_params": model.count_params(),
            "trainable_params": count_weights(model.trainable_weights),
            "non_trainable_params": count_weights(model.non_trainable_weights),
            "layers": [layer_record(layer) for layer in layers]}


def has_zero_size(model):
    return any(d is not None and d <= 0
               for layer in model.layers[1:] for d in layer.output.shape)


def case_header(case_id, draft, calls):
    return {"id": case_id, "input": list(draft.input), "data_format": draft.data_format,
            "data_format_via": draft.via, "specs": [c.spec for c in calls]}


# --------------------------------------------------------------------------
# Error cases: a valid prefix, then one broken layer
# --------------------------------------------------------------------------

def break_strides_with_dilation(rng, cls, args, shape, df):
    args["strides"] = rng.choice([(2, 2), (1, 2), (3, 1), (2, 4)])
    args["dilation_rate"] = rng.choice([(2, 2), (2, 1), (1, 3)])
    args.pop("output_padding", None)


def break_output_padding_ge_strides(rng, cls, args, shape, df):
    strides = random_pair(rng, 1, 3)
    op = [rng.randint(0, s - 1) for s in strides]
    axis = rng.randint(0, 1)
    op[axis] = strides[axis] + rng.randint(0, 1)
    args.update(strides=strides, dilation_rate=(1, 1), output_padding=tuple(op))


def break_output_padding_negative(rng, cls, args, shape, df):
    args.update(strides=(2, 2), dilation_rate=(1, 1),
                output_padding=rng.choice([-1, (0, -1), (-2, 1)]))


def break_groups_filters(rng, cls, args, shape, df):
    groups = rng.choice([2, 3, 4])
    args["groups"] = groups
    args["filters"] = groups * rng.randint(1, 3) + rng.randint(1, groups - 1)


def break_groups_channels(rng, cls, args, shape, df):
    channels = channels_of(shape, df)
    groups = rng.choice([g for g in range(2, 9) if channels % g != 0])
    args["groups"] = groups
    args["filters"] = groups * rng.randint(1, 3)


def break_groups_nonpositive(rng, cls, args, shape, df):
    args["groups"] = rng.choice([0, -1, -2])


def break_filters_nonpositive(rng, cls, args, shape, df):
    args["filters"] = rng.choice([0, -1, -8])


def break_kernel_nonpositive(rng, cls, args, shape, df):
    args["kernel_size"] = rng.choice([0, -3, (3, 0), (0, 2), (-1, 3)])


def break_strides_nonpositive(rng, cls, args, shape, df):
    args["strides"] = rng.choice([0, -1, (1, 0), (-2, 2)])
    args["dilation_rate"] = (1, 1)
    args.pop("output_padding", None)


def break_dilation_nonpositive(rng, cls, args, shape, df):
    args["dilation_rate"] = rng.choice([0, -2, (1, 0)])
    args["strides"] = (1, 1)
    args.pop("output_padding", None)


def break_kernel_larger_than_input(rng, cls, args, shape, df):
    h, w = spatial_of(shape, df)
    kernel = [min(h, rng.randint(1, 3)), min(w, rng.randint(1, 3))]
    axis = rng.randint(0, 1)
    dilation = [1, 1]
    if rng.random() < 0.3:  # too large only once dilated
        dilation[axis] = 2
        kernel[axis] = (spatial_of(shape, df)[axis] + 1) // 2 + 1
    else:
        kernel[axis] = spatial_of(shape, df)[axis] + rng.randint(1, 3)
    args.update(kernel_size=tuple(kernel), padding="valid",
                strides=(1, 1), dilation_rate=tuple(dilation))


def break_padding(rng, cls, args, shape, df):
    args["padding"] = rng.choice(["full", "causal", "zeros", "reflect", "Sam", "same "])


def break_data_format(rng, cls, args, shape, df):
    args["data_format"] = rng.choice(["nhwc", "NCHW", "channels", "th", "tf",
                                      "channel_last", "channels-first"])


def break_tuple_length(rng, cls, args, shape, df):
    name = rng.choice(["kernel_size", "strides", "dilation_rate"]
                      + (["output_padding"] if cls == "Conv2DTranspose" else []))
    bad = rng.choice([(3,), (1, 1, 1), [2, 2, 2], (1, 1, 1, 1)])
    if name == "output_padding":
        args["strides"] = (2, 2)
        bad = rng.choice([(1,), (0, 0, 0), [1, 1, 1]])
    args[name] = bad


ERROR_CATEGORIES = {
    # name: (layer classes it applies to, mutation of the canonical arguments)
    "strides_with_dilation": (["Conv2D", "Conv2DTranspose"], break_strides_with_dilation),
    "output_padding_ge_strides": (["Conv2DTranspose"], break_output_padding_ge_strides),
    "output_padding_negative": (["Conv2DTranspose"], break_output_padding_negative),
    "groups_not_dividing_filters": (["Conv2D"], break_groups_filters),
    "groups_not_dividing_channels": (["Conv2D"], break_groups_channels),
    "groups_nonpositive": (["Conv2D"], break_groups_nonpositive),
    "filters_nonpositive": (["Conv2D", "Conv2DTranspose"], break_filters_nonpositive),
    "kernel_nonpositive": (["Conv2D", "Conv2DTranspose"], break_kernel_nonpositive),
    "strides_nonpositive": (["Conv2D", "Conv2DTranspose"], break_strides_nonpositive),
    "dilation_nonpositive": (["Conv2D", "Conv2DTranspose"], break_dilation_nonpositive),
    "kernel_larger_than_input": (["Conv2D"], break_kernel_larger_than_input),
    "bad_padding": (["Conv2D", "Conv2DTranspose"], break_padding),
    "bad_data_format": (["Conv2D", "Conv2DTranspose"], break_data_format),
    "wrong_tuple_length": (["Conv2D", "Conv2DTranspose"], break_tuple_length),
}

# Keyword arguments Keras does not know: (layer class, [(name, value), ...]).
UNKNOWN_KEYWORDS = [
    ("Conv2DTranspose", [("groups", 2)]), ("Conv2DTranspose", [("groups", 1)]),
    ("Conv2DTranspose", [("lora_rank", 2)]), ("Conv2D", [("output_padding", 1)]),
    ("Conv2D", [("stride", 2)]), ("Conv2D", [("filter", 8)]),
    ("Conv2D", [("padding_mode", "zeros")]), ("Conv2DTranspose", [("dilation", 2)]),
    ("Conv2D", [("bias", False)]), ("Conv2DTranspose", [("foo", 1)]),
]


def broken_draft(rng, category):
    """A stack whose layer `len(prefix)+1` breaks the rule `category`."""
    n_prefix = rng.choice([0, 0, 1, 1, 2])
    draft, x = random_prefix(rng, n_prefix)
    if category == "bad_data_format":
        draft.via = "layer"  # the bad value is in the spec, the others spell theirs
    if category == "unknown_keyword":
        cls, extra = rng.choice(UNKNOWN_KEYWORDS)
        args = random_layer_args(rng, cls, channels_of(x.shape, draft.data_format))
    else:
        classes, mutate = ERROR_CATEGORIES[category]
        cls = rng.choice(classes)
        args = random_layer_args(rng, cls, channels_of(x.shape, draft.data_format))
        extra = []
        mutate(rng, cls, args, x.shape, draft.data_format)
    draft.layers.append((cls, args, list(extra)))
    if rng.random() < 0.3:  # a layer after the failing one is never reached
        draft.layers.append(("Conv2D", {"filters": 4, "kernel_size": (3, 3),
                                        "padding": "same"}, []))
    return draft, n_prefix + 1


def shrinking_draft(rng):
    """Conv2D 'valid' layers that shrink the input until one has no room left."""
    while True:
        data_format, via = random_data_format(rng)
        n = rng.randint(6, 24)
        shape = [n, rng.choice([n, rng.randint(6, 24)]), rng.choice(CHANNELS)]
        if data_format == "channels_first":
            shape = [shape[2], shape[0], shape[1]]
        draft = Draft(shape, data_format, via)
        x = draft.start()
        while len(draft.layers) < 5:
            args = random_layer_args(rng, "Conv2D", channels_of(x.shape, data_format))
            args.update(padding="valid", kernel_size=random_pair(rng, 3, 7),
                        strides=random_pair(rng, 1, 3), dilation_rate=(1, 1))
            draft.layers.append(("Conv2D", args, []))
            y = probe(x, "Conv2D", args, data_format)
            if y is None:
                if len(draft.layers) >= 2:
                    return draft, len(draft.layers)
                break
            x = y


def error_drafts(rng):
    categories = list(ERROR_CATEGORIES) + ["unknown_keyword"]
    for category in categories:
        for _ in range(ERRORS_PER_CATEGORY):
            yield category, broken_draft(rng, category)
    for _ in range(ERRORS_PER_CATEGORY + 1):
        yield "size_nonpositive_later_layer", shrinking_draft(rng)


# --------------------------------------------------------------------------
# Zero-size cases: Conv2DTranspose 'same' with output_padding on 1-pixel inputs
# --------------------------------------------------------------------------

def zero_size_draft(rng):
    data_format, via = random_data_format(rng)
    h, w, c = rng.choice([1, rng.randint(2, 9)]), rng.randint(1, 9), rng.choice(CHANNELS)
    if rng.random() < 0.3:
        h, w = 1, 1
    elif h != 1:
        w = 1
    if rng.random() < 0.3:  # reach the 1-pixel size through a first layer
        shape = (rng.randint(3, 9), rng.randint(3, 9))
        prefix = [("Conv2D", {"filters": c, "kernel_size": (shape[0] - h + 1, shape[1] - w + 1),
                              "padding": "valid"}, [])]
    else:
        shape, prefix = (h, w), []
    dims = [shape[0], shape[1], rng.choice(CHANNELS)]
    if data_format == "channels_first":
        dims = [dims[2], dims[0], dims[1]]
    draft = Draft(dims, data_format, via, list(prefix))
    strides = random_pair(rng, 1, 3)
    kernel = [rng.choice([2, 4]) if n == 1 else rng.randint(1, 5) for n in (h, w)]
    op = [0 if n == 1 else rng.randint(0, s - 1) for n, s in zip((h, w), strides)]
    args = {"filters": rng.choice(FILTERS), "kernel_size": tuple(kernel), "strides": strides,
            "padding": "same", "output_padding": tuple(op)}
    draft.layers.append(("Conv2DTranspose", args, []))
    follow = rng.choice([None, "same", "valid", "transpose"])
    if follow == "same":
        draft.layers.append(("Conv2D", {"filters": 2, "kernel_size": (3, 3), "padding": "same"}, []))
    elif follow == "valid":
        draft.layers.append(("Conv2D", {"filters": 2, "kernel_size": (1, 1)}, []))
    elif follow == "transpose":
        draft.layers.append(("Conv2DTranspose", {"filters": 2, "kernel_size": (3, 3)}, []))
    return draft


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def generate(seed):
    rng = random.Random(seed)
    cases, errors, zero = [], [], []
    sizes = [1] * N_SINGLE + [rng.randint(2, 5) for _ in range(N_MULTI)]
    rng.shuffle(sizes)
    for n_layers in sizes:
        draft = random_valid_draft(rng, n_layers)
        calls = draft.calls(rng)
        model, error = build(draft, calls)
        if error is not None:
            raise RuntimeError(f"Keras rejected a generated valid stack: {error}")
        case = case_header(f"c{len(cases) + 1:04d}", draft, calls)
        if has_zero_size(model):
            zero.append({**case, "id": f"z{len(zero) + 1:04d}", "expected": model_record(model)})
            continue
        case["expected"] = model_record(model)
        case["keras_args"] = [keras_args(layer) for layer in model.layers[1:]]
        cases.append(case)

    for category, (draft, failing) in error_drafts(rng):
        calls = draft.calls(rng)
        model, error = build(draft, calls)
        if error is None or error["error_layer"] != failing:
            print(f"skipped {category}: {[c.spec for c in calls]} -> {error}", file=sys.stderr)
            continue
        errors.append({**case_header(f"e{len(errors) + 1:04d}", draft, calls),
                       "category": category, **error})

    for _ in range(N_ZERO_SIZE):
        draft = zero_size_draft(rng)
        calls = draft.calls(rng)
        model, error = build(draft, calls)
        record = case_header(f"z{len(zero) + 1:04d}", draft, calls)
        if error is not None:
            record.update(keras_result="error", **error)
        else:
            record.update(keras_result="accepted", expected=model_record(model))
        zero.append(record)
    return cases, errors, zero


def main(argv=None):
    args = common.golden_parser(__doc__, DEFAULT_OUT, "output file",
                                DEFAULT_SEED).parse_args(argv)
    global keras
    keras, tf = common.load_keras()

    cases, errors, zero = generate(args.seed)
    header = common.header(keras, tf, "scripts/make_golden.py", seed=args.seed)
    common.write_json(args.out, header,
                      {"cases": cases, "errors": errors, "keras_zero_size": zero})
    print(f"wrote {args.out}: {len(cases)} cases, {len(errors)} errors, "
          f"{len(zero)} keras_zero_size", file=sys.stderr)


if __name__ == "__main__":
    main()
