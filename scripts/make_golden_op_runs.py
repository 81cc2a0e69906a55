#!/usr/bin/env python
"""Generate tests/data/golden_op_runs/ (values of Keras operation nodes) from real Keras.

For every operation convcalc/operations.py knows (``ELEMENTWISE``,
``BINARY``, ``REDUCTIONS``, ``OTHERS``), several cases with random options
(axes, keepdims, shapes, paddings, interpolations...): each case is a tiny
Functional model whose only non-input entry is the op node (``x + 3.0``,
``ops.mean(x, axis=1)``...), so the entry is exactly what ``model.to_json()``
writes. The case records that entry's ``class_name``, ``config`` and inbound
node (``args``/``kwargs`` as JSON, tensors as ``__keras_tensor__`` of the
model's inputs), the random inputs (batch 2; float32 unless the case is about
integer or bool tensors) and the model's outputs on them.
tests/test_op_kernels.py rebuilds each op with ``operations.build_operation``,
reads the node's arguments as convcalc's model-config reader does, and
compares ``op_kernels.run_operation`` with the outputs.

Names convcalc accepts that Keras never writes as an op class (``Swish``,
``HardSwish``, ``Mish``, ``IsNan``, ``IsInf``, ``IsFinite``) are recorded from
the Keras function they stand for (``ops.silu``, ``ops.hard_silu``,
``keras.activations.mish``, ``ops.isnan``...), called eagerly, with an
empty config and the tensor as the one argument (``"eager": true``).

Files written (well under 500 KB):

- ``index.json``: per case ``id``, ``class_name``, ``config``, ``args``,
  ``kwargs``, ``inputs`` (input layer names, in order), ``outputs`` (dtype
  per output).
- ``cases.npz`` (compressed): ``<id>/in/<input name>`` and ``<id>/out/<i>``; ``graph/w/<layer>/<weight>``
  and ``graph/y`` for ``graph.json``.
- ``graph.json``: a model mixing layers and op nodes whose bool and int results flow on
  (``mask = mean(y) > 0.2`` into ``where`` and ``cast``, ``argmax`` into ``one_hot``), replayed
  through the CLI: ``convcalc shape --file graph.json --run --weights w.npz --save y.npy``.

Run it (only this script needs TensorFlow; the project and its tests do not):

    /work/tfvenv/bin/python scripts/make_golden_op_runs.py [--seed N] [--out DIR]
"""

import json
import sys

import numpy as np

import golden_common as common

DEFAULT_OUT = common.REPO_ROOT / "tests" / "data" / "golden_op_runs"
DEFAULT_SEED = 1312
MAX_BYTES = 500 * 1024
VARIANTS = 3  # random cases per op
PLAIN_VARIANTS = 2  # random cases per op without options (only the shape varies)
BATCH = 2
# ops with many options get more random cases
MORE_VARIANTS = {"Cast": 8, "Resize": 12, "GetItem": 8, "Norm": 8, "AveragePool": 6, "MaxPool": 6, "Pad": 5,
                 "Take": 5, "Einsum": 5, "Split": 4, "Reshape": 4, "Round": 4}
CAST_TARGETS = ["int32", "bool", "float16", "bfloat16", "uint8", "float64", "int64", "int8"]

# input domains: how random values are drawn for an op that needs them in a range
DOMAINS = {
    "normal": lambda rng, shape: rng.standard_normal(shape),
    "positive": lambda rng, shape: rng.uniform(0.1, 3.0, shape),
    "unit": lambda rng, shape: rng.uniform(-0.95, 0.95, shape),
    "above1": lambda rng, shape: rng.uniform(1.05, 4.0, shape),
    "ints": lambda rng, shape: rng.integers(-6, 7, shape),
    "smallints": lambda rng, shape: rng.integers(1, 4, shape),
    "classes": lambda rng, shape: rng.integers(-1, 5, shape),
    "bools": lambda rng, shape: rng.random(shape) < 0.5,
    "special": lambda rng, shape: rng.choice(np.array([0.0, 1.5, -2.0, np.nan, np.inf, -np.inf]), shape),
    "halves": lambda rng, shape: rng.integers(-8, 9, shape) / 2,
}


def pick(rng, options):
    """One of ``options`` as a plain Python value (not a NumPy scalar)."""
    value = options[int(rng.integers(len(options)))]
    return value.item() if hasattr(value, "item") else value


def shape(rng, low=1, high=3, sizes=(1, 5)):
    """A random shape without the batch."""
    return tuple(int(rng.integers(sizes[0], sizes[1] + 1)) for _ in range(int(rng.integers(low, high + 1))))


def random_axis(rng, rank, none=True, several=True):
    """An axis of a batched tensor of ``rank`` axes: None, one (maybe negative), or a sorted list."""
    roll = rng.random()
    if none and roll < 0.2:
        return None
    if several and roll > 0.75 and rank > 2:
        return sorted(int(a) for a in rng.choice(np.arange(rank), 2, replace=False))
    axis = int(rng.integers(0, rank))
    return axis - rank if rng.random() < 0.3 else axis


# ---------------------------------------------------------------- the cases, by op class name
#
# Each maker: (keras, ops, rng) -> (inputs, function, eager): inputs is [(shape, dtype, domain)],
# function builds the op from Keras tensors.

def unary(name, domain="normal", **options):
    def make(keras, ops, rng):
        values = {k: (v(rng) if callable(v) else v) for k, v in options.items()}
        fn = getattr(ops, name)
        return [(shape(rng), "float32", domain)], lambda x: fn(x, **values)
    make.plain = not options  # no option to vary: fewer cases
    return make


def with_dtype(maker, dtype, domain):
    """The same op on an integer or bool input."""
    def make(keras, ops, rng):
        inputs, fn = maker(keras, ops, rng)
        return [(s, dtype, domain) for s, _, _ in inputs], fn
    return make


def binary(name, domain="normal", dtypes=("float32", "float32")):
    def make(keras, ops, rng):
        fn = getattr(ops, name)
        a = shape(rng, 1, 3)
        roll = rng.random()
        if roll < 0.3:  # a Python constant
            constant = pick(rng, [3.0, -0.5, 2.0, 1]) if dtypes[0] != "bool" else True
            if domain == "positive":
                constant = abs(constant) or 1.5
            return [(a, dtypes[0], domain)], lambda x: fn(x, constant)
        b = a[-int(rng.integers(0, len(a) + 1)):] if rng.random() < 0.5 else a
        b = tuple(1 if rng.random() < 0.2 else n for n in b)
        if rng.random() < 0.5 and dtypes[0] == dtypes[1]:
            a, b = b, a
        return [(a, dtypes[0], domain), (b, dtypes[1], domain)], lambda x, y: fn(x, y)
    return make


def operator(symbol):
    """``x <symbol> y`` written with Python's operators, as models do."""
    functions = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
                 "/": lambda x, y: x / y, ">": lambda x, y: x > y, "**": lambda x, y: x ** y}

    def make(keras, ops, rng):
        a = shape(rng, 1, 3)
        if symbol == "**":
            return [(a, "float32", "positive")], lambda x: functions[symbol](x, 2.0)
        if rng.random() < 0.5:
            constant = pick(rng, [3.0, 0.5, 2, -1.0])
            return [(a, "float32", "normal")], lambda x: functions[symbol](x, constant)
        return [(a, "float32", "normal"), (a, "float32", "normal")], functions[symbol]
    return make


def reduction(name, domain="normal", dtype="float32", extra=None):
    def make(keras, ops, rng):
        s = shape(rng, 1, 3)
        axis = random_axis(rng, len(s) + 1)
        keepdims = bool(rng.random() < 0.4)
        options = {"axis": axis, "keepdims": keepdims, **(extra(rng) if extra else {})}
        fn = getattr(ops, name)
        return [(s, dtype, domain)], lambda x: fn(x, **options)
    return make


def activation(name, domain="normal", **options):
    """``ops.<name>`` with random option values (each option: a function of rng)."""
    return unary(name, domain, **options)


def softmax_like(name):
    def make(keras, ops, rng):
        s = shape(rng, 1, 3, (2, 5))
        axis = random_axis(rng, len(s) + 1, none=False, several=False)
        fn = getattr(ops, name)
        return [(s, "float32", "normal")], lambda x: fn(x, axis=axis)
    return make


def glu(keras, ops, rng):
    s = list(shape(rng, 1, 3))
    axis = int(rng.integers(1, len(s) + 1))
    s[axis - 1] = 2 * int(rng.integers(1, 4))
    axis = axis if rng.random() < 0.5 else axis - len(s) - 1
    return [(tuple(s), "float32", "normal")], lambda x: ops.glu(x, axis=axis)


def normalize(keras, ops, rng):
    s = shape(rng, 1, 3, (2, 5))
    axis = random_axis(rng, len(s) + 1, none=False, several=False)
    order = pick(rng, [2, 2, 1, 3])
    return [(s, "float32", "normal")], lambda x: ops.normalize(x, axis=axis, order=order)


def cast(dtype, domain="halves"):
    def make(keras, ops, rng):
        return [(shape(rng), "float32", domain)], lambda x: ops.cast(x, dtype)
    return make


def axis_op(name, none=True, extra=None, sizes=(1, 5)):
    def make(keras, ops, rng):
        s = shape(rng, 1, 3, sizes)
        options = {"axis": random_axis(rng, len(s) + 1, none=none, several=False), **(extra(rng) if extra else {})}
        fn = getattr(ops, name)
        return [(s, "float32", "normal")], lambda x: fn(x, **options)
    return make


def roll(keras, ops, rng):
    s = shape(rng, 1, 3)
    axis = random_axis(rng, len(s) + 1, several=False)
    shift = int(rng.integers(-3, 4))
    return [(s, "float32", "normal")], lambda x: ops.roll(x, shift, axis=axis)


def triangle(name):
    def make(keras, ops, rng):
        s = shape(rng, 1, 2, (2, 5))
        k = int(rng.integers(-2, 3))
        fn = getattr(ops, name)
        return [(s, "float32", "normal")], lambda x: fn(x, k=k)
    return make


def clip(keras, ops, rng):
    low = pick(rng, [-1.0, -0.5, 0.0])
    return [(shape(rng), "float32", "normal")], lambda x: ops.clip(x, low, low + pick(rng, [0.5, 1.0, 2.0]))


def nan_to_num(keras, ops, rng):
    options = {"nan": pick(rng, [0.0, 1.5])}
    if rng.random() < 0.5:
        options.update(posinf=9.0, neginf=-9.0)
    return [(shape(rng), "float32", "special")], lambda x: ops.nan_to_num(x, **options)


def where(keras, ops, rng):
    s = shape(rng, 1, 3)
    if rng.random() < 0.4:
        return [(s, "bool", "bools"), (s, "float32", "normal")], lambda c, x: ops.where(c, x, 0.0)
    return [(s, "bool", "bools"), (s, "float32", "normal"), (s, "float32", "normal")], ops.where


def concatenate(keras, ops, rng):
    s = list(shape(rng, 1, 3))
    axis = int(rng.integers(0, len(s) + 1))
    count = int(rng.integers(2, 4))
    shapes = []
    for _ in range(count):
        t = list(s)
        if axis:
            t[axis - 1] = int(rng.integers(1, 4))
        shapes.append(tuple(t))
    axis = axis if rng.random() < 0.6 else axis - len(s) - 1
    inputs = [(t, "float32", "normal") for t in shapes]
    return inputs, lambda *xs: ops.concatenate(list(xs), axis=axis)


def stack(keras, ops, rng):
    s = shape(rng, 1, 2)
    axis = int(rng.integers(0, len(s) + 2))
    count = int(rng.integers(2, 4))
    return [(s, "float32", "normal")] * count, lambda *xs: ops.stack(list(xs), axis=axis)


def reshape(keras, ops, rng):
    s = shape(rng, 1, 3, (1, 4))
    total = int(np.prod(s))
    new = pick(rng, [(-1, total), (-1, *s[::-1]), (-1, 1, total), (BATCH, -1)])
    return [(s, "float32", "normal")], lambda x: ops.reshape(x, new)


def transpose(keras, ops, rng):
    s = shape(rng, 1, 3)
    axes = None if rng.random() < 0.25 else [int(a) for a in rng.permutation(len(s) + 1)]
    return [(s, "float32", "normal")], lambda x: ops.transpose(x, axes)


def expand_dims(keras, ops, rng):
    s = shape(rng, 1, 3)
    axis = int(rng.integers(-len(s) - 2, len(s) + 2))
    return [(s, "float32", "normal")], lambda x: ops.expand_dims(x, axis)


def squeeze(keras, ops, rng):
    s = list(shape(rng, 2, 3, (2, 4)))
    at = int(rng.integers(0, len(s)))
    s[at] = 1
    axis = None if rng.random() < 0.3 else at + 1 if rng.random() < 0.6 else at - len(s)
    return [(tuple(s), "float32", "normal")], lambda x: ops.squeeze(x, axis)


def matmul(keras, ops, rng):
    m, k, n = (int(rng.integers(1, 5)) for _ in range(3))
    lead = shape(rng, 0, 1)
    b = (*lead, k, n) if rng.random() < 0.7 else (k,)
    return [((*lead, m, k), "float32", "normal"), (b, "float32", "normal")], ops.matmul


def broadcast_to(keras, ops, rng):
    s = (1, int(rng.integers(1, 4)))
    return [(s, "float32", "normal")], lambda x: ops.broadcast_to(x, (BATCH, 3, s[1]))


def get_item(keras, ops, rng):
    s = shape(rng, 2, 3, (3, 6))
    keys = [
        lambda x: x[:, 1:],
        lambda x: x[:, ::2, ...],
        lambda x: x[..., 0],
        lambda x: x[:, -1],
        lambda x: x[:, None, 1:3],
        lambda x: x[0],
        lambda x: x[:, ::-1],
    ]
    return [(s, "float32", "normal")], keys[int(rng.integers(len(keys)))]


def pad(keras, ops, rng):
    s = shape(rng, 1, 2, (2, 4))
    mode = pick(rng, ["constant", "constant", "reflect", "symmetric"])
    width = [[0, 0]] + [[int(rng.integers(0, 2)), int(rng.integers(0, 2))] for _ in s]
    options = {"mode": mode}
    if mode == "constant" and rng.random() < 0.5:
        options["constant_values"] = 1.5
    return [(s, "float32", "normal")], lambda x: ops.pad(x, width, **options)


def take(keras, ops, rng):
    s = shape(rng, 1, 2, (2, 5))
    axis = pick(rng, [None, 1, -1])
    size = int(np.prod(s)) * BATCH if axis is None else s[axis]
    indices = [int(i) for i in rng.integers(-size, size, int(rng.integers(1, 4)))]
    if rng.random() < 0.3:
        return ([(s, "float32", "normal"), ((2,), "int32", "smallints")],
                lambda x, i: ops.take(x, i, axis=1 if axis is not None else None))
    return [(s, "float32", "normal")], lambda x: ops.take(x, indices, axis=axis)


def tile(keras, ops, rng):
    s = shape(rng, 1, 2, (1, 3))
    repeats = [int(rng.integers(1, 3)) for _ in range(int(rng.integers(1, len(s) + 2)))]
    return [(s, "float32", "normal")], lambda x: ops.tile(x, repeats)


def split(keras, ops, rng):
    s = list(shape(rng, 1, 3, (2, 4)))
    axis = int(rng.integers(1, len(s) + 1))
    if rng.random() < 0.5:
        parts = int(rng.integers(2, 4))
        s[axis - 1] = parts * int(rng.integers(1, 3))
    else:
        s[axis - 1] = 5
        parts = sorted(int(i) for i in rng.choice(np.arange(1, 5), 2, replace=False))
    return [(tuple(s), "float32", "normal")], lambda x: ops.split(x, parts, axis=axis)


def unstack(keras, ops, rng):
    s = shape(rng, 1, 2, (2, 3))
    axis = int(rng.integers(1, len(s) + 1))
    return [(s, "float32", "normal")], lambda x: ops.unstack(x, axis=axis)


def einsum(keras, ops, rng):
    # not a tensor constant (``ops.einsum("bij,jk->bik", x, kernel)``): the config writes it as a
    # ``__tensor__`` value, which convcalc's shape rules do not read
    case = pick(rng, ["bij,bjk->bik", "bij->bji", "bi,bi->b", "bij,bkj->bik", "bij->b", "bij,bi->bj"])
    i, j, k = (int(rng.integers(1, 5)) for _ in range(3))
    shapes = {"bij,bjk->bik": [(i, j), (j, k)], "bij->bji": [(i, j)], "bi,bi->b": [(i,), (i,)],
              "bij,bkj->bik": [(i, j), (k, j)], "bij->b": [(i, j)], "bij,bi->bj": [(i, j), (i,)]}[case]
    return [(s, "float32", "normal") for s in shapes], lambda *xs: ops.einsum(case, *xs)


def pool(name):
    def make(keras, ops, rng):
        rank = pick(rng, [1, 2, 2, 3])
        data_format = pick(rng, ["channels_last", "channels_first"])
        spatial = tuple(int(rng.integers(3, 7)) for _ in range(rank))
        channels = int(rng.integers(1, 3))
        s = (channels, *spatial) if data_format == "channels_first" else (*spatial, channels)
        pool_size = pick(rng, [2, 3]) if rng.random() < 0.5 else tuple(int(rng.integers(1, 4)) for _ in range(rank))
        strides = pick(rng, [None, 1, 2])
        padding = pick(rng, ["valid", "same"])
        fn = getattr(ops, name)
        return [(s, "float32", "normal")], lambda x: fn(x, pool_size, strides=strides, padding=padding,
                                                          data_format=data_format)
    return make


def resize(keras, ops, rng):
    data_format = pick(rng, ["channels_last", "channels_first"])
    h, w, c = int(rng.integers(2, 8)), int(rng.integers(2, 8)), int(rng.integers(1, 3))
    s = (c, h, w) if data_format == "channels_first" else (h, w, c)
    size = (int(rng.integers(1, 10)), int(rng.integers(1, 10)))
    options = {"interpolation": pick(rng, ["bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5"]),
               "data_format": data_format}
    roll = rng.random()
    if roll < 0.3:
        options["antialias"] = True
    elif roll < 0.45:
        options["crop_to_aspect_ratio"] = True
    elif roll < 0.6:
        options.update(pad_to_aspect_ratio=True, fill_value=pick(rng, [0.0, 0.5]))
    return [(s, "float32", "normal")], lambda x: ops.image.resize(x, size, **options)


def arg_reduction(name):
    def make(keras, ops, rng):
        s = shape(rng, 1, 3, (2, 5))
        axis = random_axis(rng, len(s) + 1, several=False)
        keepdims = bool(rng.random() < 0.4)
        fn = getattr(ops, name)
        return [(s, "float32", "normal")], lambda x: fn(x, axis=axis, keepdims=keepdims)
    return make


def repeat(keras, ops, rng):
    s = shape(rng, 1, 2, (1, 3))
    axis = random_axis(rng, len(s) + 1, several=False)
    repeats = int(rng.integers(1, 4))
    return [(s, "float32", "normal")], lambda x: ops.repeat(x, repeats, axis=axis)


def one_hot(keras, ops, rng):
    s = shape(rng, 1, 2)
    options = {"axis": pick(rng, [-1, -1, 1]), "dtype": pick(rng, [None, "float32", "int32"])}
    return [(s, "int32", "classes")], lambda x: ops.one_hot(x, 4, **options)


def moments(keras, ops, rng):
    s = shape(rng, 1, 3, (2, 5))
    axes = sorted({int(a) for a in rng.choice(np.arange(len(s) + 1), int(rng.integers(1, len(s) + 1)), replace=False)})
    keepdims = bool(rng.random() < 0.4)
    return [(s, "float32", "normal")], lambda x: ops.moments(x, axes, keepdims=keepdims)


def cumulative(name):
    def make(keras, ops, rng):
        s = shape(rng, 1, 3, (1, 4))
        axis = random_axis(rng, len(s) + 1, several=False)
        return [(s, "float32", "normal")], lambda x: getattr(ops, name)(x, axis=axis)
    return make


def opt(function):
    """A random option value: ``function(rng)``."""
    return function


def like(name):
    """ops.zeros_like / ops.ones_like, with a dtype or without (the input's)."""
    def make(keras, ops, rng):
        dtype = pick(rng, [None, "bool", "int32", "float32"])
        fn = getattr(ops, name)
        return [(shape(rng), "float32", "normal")], lambda x: fn(x, dtype=dtype)
    return make


MAKERS = {
    "ZerosLike": like("zeros_like"), "OnesLike": like("ones_like"),
    # elementwise, float
    **{name: unary(key) for name, key in [
        ("Abs", "abs"), ("Absolute", "absolute"), ("Ceil", "ceil"), ("Cos", "cos"), ("Cosh", "cosh"),
        ("Exp", "exp"), ("Expm1", "expm1"), ("Floor", "floor"), ("Negative", "negative"), ("Sign", "sign"),
        ("Sin", "sin"), ("Sinh", "sinh"), ("Square", "square"), ("Tan", "tan"), ("Tanh", "tanh"),
        ("Trunc", "trunc"), ("Copy", "copy"), ("Conjugate", "conjugate"), ("Real", "real"), ("Imag", "imag"),
        ("Sinc", "sinc"), ("Arctan", "arctan"), ("Arcsinh", "arcsinh"), ("Deg2rad", "deg2rad"),
        ("Rad2deg", "rad2deg"), ("Exp2", "exp2"), ("Signbit", "signbit"), ("Erf", "erf"),
        ("Relu", "relu"), ("Relu6", "relu6"), ("Sigmoid", "sigmoid"), ("HardSigmoid", "hard_sigmoid"),
        ("HardSilu", "hard_silu"), ("Silu", "silu"), ("Selu", "selu"), ("Softplus", "softplus"),
        ("Softsign", "softsign"), ("LogSigmoid", "log_sigmoid"), ("TanhShrink", "tanh_shrink"),
        ("SparsePlus", "sparse_plus"), ("SparseSigmoid", "sparse_sigmoid"), ("HardTanh", "hard_tanh"),
        ("StopGradient", "stop_gradient"), ("LogicalNot", "logical_not")]},
    **{name: unary(key, "positive") for name, key in [
        ("Log", "log"), ("Log1p", "log1p"), ("Log2", "log2"), ("Log10", "log10"), ("Sqrt", "sqrt"),
        ("Rsqrt", "rsqrt"), ("Reciprocal", "reciprocal")]},
    **{name: unary(key, "unit") for name, key in [
        ("Arcsin", "arcsin"), ("Arccos", "arccos"), ("Arctanh", "arctanh"), ("Erfinv", "erfinv")]},
    "Arccosh": unary("arccosh", "above1"),
    **{name: unary(key, "special") for name, key in [("Isnan", "isnan"), ("Isinf", "isinf"), ("Isfinite", "isfinite")]},
    "Round": unary("round", "halves", decimals=opt(lambda rng: pick(rng, [0, 0, 1, -1]))),
    "Celu": activation("celu", alpha=opt(lambda rng: pick(rng, [1.0, 0.5, 2.0]))),
    "Elu": activation("elu", alpha=opt(lambda rng: pick(rng, [1.0, 0.3]))),
    "Gelu": activation("gelu", approximate=opt(lambda rng: bool(rng.random() < 0.5))),
    "LeakyRelu": activation("leaky_relu", negative_slope=opt(lambda rng: pick(rng, [0.2, 0.05]))),
    "HardShrink": activation("hard_shrink", threshold=opt(lambda rng: pick(rng, [0.5, 1.0]))),
    "SoftShrink": activation("soft_shrink", threshold=opt(lambda rng: pick(rng, [0.5, 0.2]))),
    "Squareplus": activation("squareplus", b=opt(lambda rng: pick(rng, [4, 1, 0.5]))),
    "Threshold": lambda keras, ops, rng: ([(shape(rng), "float32", "normal")],
                                          lambda x: ops.threshold(x, pick(rng, [0.0, 0.5]), pick(rng, [0.0, -1.0]))),
    "Glu": glu, "Normalize": normalize,
    "Softmax": softmax_like("softmax"), "LogSoftmax": softmax_like("log_softmax"),
    "Cast": lambda keras, ops, rng: cast(pick(rng, CAST_TARGETS), "halves")(keras, ops, rng),
    "Clip": clip, "NanToNum": nan_to_num,
    "Sort": axis_op("sort", none=False), "Argsort": axis_op("argsort", none=False),
    "Flip": axis_op("flip"), "Roll": roll, "Tril": triangle("tril"), "Triu": triangle("triu"),
    "Cumsum": cumulative("cumsum"), "Cumprod": cumulative("cumprod"),
    # binary
    **{name: binary(key) for name, key in [
        ("Add", "add"), ("Subtract", "subtract"), ("Multiply", "multiply"), ("Divide", "divide"),
        ("TrueDivide", "true_divide"), ("FloorDivide", "floor_divide"), ("Maximum", "maximum"),
        ("Minimum", "minimum"), ("Mod", "mod"), ("Equal", "equal"), ("NotEqual", "not_equal"),
        ("Greater", "greater"), ("GreaterEqual", "greater_equal"), ("Less", "less"), ("LessEqual", "less_equal"),
        ("Arctan2", "arctan2"), ("Hypot", "hypot"), ("DivideNoNan", "divide_no_nan")]},
    "Power": binary("power", "positive"),
    **{name: binary(key, "bools", ("bool", "bool")) for name, key in [
        ("LogicalAnd", "logical_and"), ("LogicalOr", "logical_or"), ("LogicalXor", "logical_xor")]},
    "Where": where,
    # reductions
    **{name: reduction(key) for name, key in [
        ("Mean", "mean"), ("Sum", "sum"), ("Max", "max"), ("Min", "min"), ("Prod", "prod"), ("Std", "std"),
        ("Var", "var"), ("Amax", "amax"), ("Amin", "amin"), ("Logsumexp", "logsumexp"), ("Median", "median"),
        ("Nanmean", "nanmean"), ("Nansum", "nansum")]},
    "Any": reduction("any", "bools", "bool"), "All": reduction("all", "bools", "bool"),
    "Norm": lambda keras, ops, rng: norm(ops, rng),
    # others
    "Concatenate": concatenate, "Stack": stack, "Reshape": reshape, "Transpose": transpose,
    "ExpandDims": expand_dims, "Squeeze": squeeze, "Matmul": matmul, "BroadcastTo": broadcast_to,
    "GetItem": get_item, "Pad": pad, "Take": take, "Tile": tile, "Split": split, "Unstack": unstack,
    "Einsum": einsum, "AveragePool": pool("average_pool"), "MaxPool": pool("max_pool"), "Resize": resize,
    "Argmax": arg_reduction("argmax"), "Argmin": arg_reduction("argmin"), "Repeat": repeat, "OneHot": one_hot,
    "Moments": moments,
}


def norm(ops, rng):
    s = shape(rng, 1, 3, (2, 4))
    rank = len(s) + 1
    if rng.random() < 0.4 and rank >= 3:
        axis = sorted(int(a) for a in rng.choice(np.arange(1, rank), 2, replace=False))
        order = pick(rng, [None, "fro", 1, -1, np.inf, 2, "nuc"])
    else:
        axis = pick(rng, [None, -1, 1])
        order = None if axis is None else pick(rng, [None, 1, 2, 3, np.inf, -np.inf, 0])
    keepdims = bool(rng.random() < 0.4)
    return [(s, "float32", "normal")], lambda x: ops.norm(x, ord=order, axis=axis, keepdims=keepdims)


# ops on integer and bool tensors: how non-float values flow
INTEGER_CASES = {
    "Abs": with_dtype(unary("abs"), "int32", "ints"), "Square": with_dtype(unary("square"), "int32", "ints"),
    "Sign": with_dtype(unary("sign"), "int32", "ints"), "Floor": with_dtype(unary("floor"), "int32", "ints"),
    "Sqrt": with_dtype(unary("sqrt"), "int32", "smallints"), "Negative": with_dtype(unary("negative"), "int32", "ints"),
    "Add": binary("add", "ints", ("int32", "int32")), "Divide": binary("divide", "smallints", ("int32", "int32")),
    "FloorDivide": binary("floor_divide", "smallints", ("int32", "int32")),
    "Mod": binary("mod", "smallints", ("int32", "int32")), "Maximum": binary("maximum", "ints", ("int32", "int32")),
    "Multiply": binary("multiply", "ints", ("int32", "float32")),
    "Sum": reduction("sum", "bools", "bool"), "Mean": reduction("mean", "ints", "int32"),
    "Prod": reduction("prod", "smallints", "int32"), "Max": reduction("max", "ints", "int32"),
    "Cumsum": with_dtype(cumulative("cumsum"), "bool", "bools"),
    "Clip": with_dtype(lambda keras, ops, rng: ([(shape(rng), "float32", "ints")], lambda x: ops.clip(x, -2, 3)),
                       "int32", "ints"),
    "Equal": binary("equal", "ints", ("int32", "int32")),
    "Concatenate": lambda keras, ops, rng: ([((3,), "int32", "ints"), ((2,), "int32", "ints")],
                                            lambda a, b: ops.concatenate([a, b], axis=1)),
}

# names convcalc accepts that Keras writes under another class (or not as an op): the Keras function
ALIASES = {"Abs": "abs", "Swish": "silu", "HardSwish": "hard_silu", "Mish": None, "IsNan": "isnan", "IsInf": "isinf",
           "IsFinite": "isfinite"}


def build_case(keras, ops, maker, rng):
    """(entry, inputs {name: array}, outputs [arrays]) of one tiny model, or None when Keras refuses it."""
    specs, function = maker(keras, ops, rng)
    keras.backend.clear_session()
    tensors, arrays = [], {}
    for index, (s, dtype, domain) in enumerate(specs):
        name = f"in{index}"
        tensors.append(keras.Input(shape=s, dtype=dtype, batch_size=None, name=name))
        arrays[name] = np.asarray(DOMAINS[domain](rng, (BATCH, *s))).astype(dtype)
    try:
        output = function(*tensors)
        model = keras.Model(tensors, output)
        values = model([arrays[f"in{i}"] for i in range(len(specs))], training=False)
    except Exception as error:  # noqa: BLE001 - a combination Keras refuses is simply redrawn
        return None, str(error)[:200]
    entries = [e for e in json.loads(model.to_json())["config"]["layers"] if e["class_name"] != "InputLayer"]
    if len(entries) != 1:
        return None, f"{len(entries)} op entries"
    outputs = values if isinstance(values, (list, tuple)) else [values]
    symbolic = output if isinstance(output, (list, tuple)) else [output]
    # a Functional model returns a scalar output as shape (1,): the op's own value is the scalar
    outputs = [np.asarray(v).reshape(()) if len(t.shape) == 0 else np.asarray(v) for v, t in zip(outputs, symbolic)]
    return (entries[0], arrays, outputs), None


def eager_case(keras, ops, name, key, rng):
    s = shape(rng)
    domain = "special" if name.startswith("Is") else "normal"
    x = DOMAINS[domain](rng, (BATCH, *s)).astype("float32")
    function = keras.activations.mish if key is None else getattr(ops, key)
    y = np.asarray(function(x))
    entry = {"class_name": name, "config": {},
             "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
                 "shape": [None, *s], "dtype": "float32", "keras_history": ["in0", 0, 0]}}], "kwargs": {}}]}
    return entry, {"in0": x}, [y]


def record(cases, arrays, cid, entry, inputs, outputs, eager=False):
    node = entry["inbound_nodes"][0]
    cases.append({"id": cid, "class_name": entry["class_name"], "config": entry["config"], "args": node["args"],
                  "kwargs": node["kwargs"], "inputs": list(inputs), "outputs": [str(o.dtype) for o in outputs],
                  **({"eager": True} if eager else {})})
    for name, value in inputs.items():
        arrays[f"{cid}/in/{name}"] = value
    for i, value in enumerate(outputs):
        # NumPy has no bfloat16 (ml_dtypes's would be saved as raw bytes): its values, in float32
        arrays[f"{cid}/out/{i}"] = value.astype(np.float32) if str(value.dtype) == "bfloat16" else value


def generate(keras, seed):
    from keras import ops
    registry = load_operations()
    names = list(dict.fromkeys(registry.ELEMENTWISE + registry.BINARY + registry.REDUCTIONS + list(registry.OTHERS)))
    rng = np.random.default_rng(seed)
    cases, arrays, skipped = [], {}, []
    for name in names:
        if name in ALIASES:
            for variant in range(2):
                record(cases, arrays, f"{name}-{variant}", *eager_case(keras, ops, name, ALIASES[name], rng), eager=True)
            continue
        for label, maker in (("", MAKERS[name]), ("int-", INTEGER_CASES.get(name))):
            if maker is None:
                continue
            wanted = PLAIN_VARIANTS if getattr(maker, "plain", False) else MORE_VARIANTS.get(name, VARIANTS)
            made, tries = 0, 0
            while made < wanted and tries < 6 * wanted:
                tries += 1
                case, why = build_case(keras, ops, maker, rng)
                if case is None:
                    skipped.append(f"{name}: {why}")
                    continue
                entry, inputs, outputs = case
                if entry["class_name"] != name:
                    raise SystemExit(f"Keras writes {name} as {entry['class_name']}: make it an alias")
                record(cases, arrays, f"{label}{name}-{made}", entry, inputs, outputs)
                made += 1
            assert made, f"no case of {name}: {skipped[-3:]}"
    return cases, arrays, skipped


def load_operations():
    """convcalc/operations.py (standard library only; its relative imports need the package): by path."""
    sys.path.insert(0, str(common.REPO_ROOT))
    from convcalc import operations
    return operations


def graph_case(keras, ops, seed):
    """A model mixing layers and op nodes whose bool and int results flow on (a comparison into ``where``
    and ``cast``, ``argmax`` into ``one_hot``): its config, its weights, and its output on the sample
    ``convcalc shape --file graph.json --run`` draws (seed 0, batch 1)."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    x = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(4, 3, padding="same")(x)
    y = ops.relu(y) + 0.5 * ops.sigmoid(y)
    mask = ops.mean(y, axis=-1, keepdims=True) > 0.2
    y = ops.where(mask, y, -y)
    y = ops.concatenate([y, ops.cast(mask, "float32")], axis=-1)
    y = ops.image.resize(y, (5, 6), interpolation="bicubic")
    y = ops.max_pool(y, 2, padding="same")
    y = ops.reshape(y, (-1, 3 * 3 * 5))
    y = keras.layers.Dense(7)(y)
    hot = ops.one_hot(ops.argmax(y, axis=-1), 7)
    y = ops.softmax(y[:, 1:], axis=-1) + hot[:, 1:]
    model = keras.Model(x, y)
    weights = {f"{layer.name}/{w.name}": w.numpy() for layer in model.layers for w in layer.weights}
    sample = np.random.default_rng(0).standard_normal((1, 8, 8, 3), dtype=np.float32)
    return model.to_json(), weights, np.asarray(model(sample, training=False))


def write(out, head, cases, arrays):
    return common.write_cases(out, head, {"cases": cases}, arrays, MAX_BYTES, "op")


def main(argv=None):
    args = common.golden_parser(__doc__, DEFAULT_OUT, "output directory", DEFAULT_SEED).parse_args(argv)
    keras, tf = common.load_keras()
    assert keras.backend.backend() == "tensorflow"
    keras.utils.set_random_seed(args.seed)
    cases, arrays, skipped = generate(keras, args.seed)
    from keras import ops
    config, weights, output = graph_case(keras, ops, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "graph.json").write_text(config + "\n")
    arrays.update({f"graph/w/{name}": value for name, value in weights.items()})
    arrays["graph/y"] = output
    head = common.header(keras, tf, "scripts/make_golden_op_runs.py", seed=args.seed, batch=BATCH)
    size = write(args.out, head, cases, arrays)
    for reason in skipped:
        print(f"redrawn: {reason}", file=sys.stderr)
    print(f"wrote {args.out}: {len(cases)} cases, {size} bytes; {len(skipped)} draws Keras refused", file=sys.stderr)


if __name__ == "__main__":
    main()
