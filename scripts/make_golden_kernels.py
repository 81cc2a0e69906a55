#!/usr/bin/env python
"""Generate tests/data/golden_kernels/ (numbers of Conv2D stacks) from real Keras.

Each case is a stack of 1-3 Conv2D / Conv2DTranspose layers with a random
input batch ``x`` and random weights, executed by Keras 3 (TensorFlow
backend); its output ``y`` is recorded. tests/test_golden_kernels.py replays
every case through ``convcalc shape ... --run --sample x.npy --weights w.npz
--save y.npy`` (SPEC 4) and through ``convcalc.kernels`` without TensorFlow.

Files written (together well under 3 MB):

- ``index.json``: one object per case: ``id``, ``specs`` (the layer specs as
  a user types them), ``input_shape`` (without batch, in the data format's
  order), ``data_format``, ``batch``, ``output_shape`` (with batch),
  ``weights`` (array names), ``layers`` (the arguments after Keras
  standardised them, for the kernels' Python API and coverage checks),
  ``activations``, ``features`` and ``method`` (how ``y`` was computed).
- ``cases.npz`` (compressed): ``<id>/x``, ``<id>/y`` and
  ``<id>/w/<layer name>/<kernel|bias>`` (SPEC 4 weight names, Keras layouts);
  for cases ending in ``sparsemax`` also ``<id>/y_sparsemax_fixed`` (see below).

How the numbers are obtained, and checked:

- Every stack is built with ``keras.Input`` + layer calls, its weights are set
  to random values (glorot-uniform kernels, small normal biases) and it is
  run layer by layer. channels_last: ``y`` is ``model(x)`` (equal to the
  layer-by-layer run). channels_first: TensorFlow 2.21's CPU (oneDNN) path
  runs NCHW convolutions but, for some shapes, gives wrong numbers once the
  bias is added (the bare NCHW convolution is right); without oneDNN it
  refuses NCHW. So each channels_first layer is computed as the same layer
  built channels_last with the same weights and no activation, run on its
  input transposed to NHWC, the result transposed back to NCHW and the
  activation applied by ``keras.activations.<name>`` to the NCHW tensor
  (softmax, log_softmax and sparsemax thus act on the last axis, the width,
  as Keras applies them). The native channels_first result is only compared
  (counted in ``generator_stats`` in index.json); ``method`` says how ``y`` was made.
- Every layer's pre-activation is checked against an independent NumPy
  reference (direct loops; Conv2D 'same' padding split as SPEC 1 says,
  Conv2DTranspose as the stride-1 correlation of the zero-inserted, padded
  input with the flipped kernel, padded as Keras's
  ``_convert_conv_transpose_padding_args_from_keras_to_jax``).
- Dilated Conv2DTranspose layers are included: TensorFlow 2.21 runs them on
  the CPU and agrees with the NumPy reference.
- TensorFlow cannot run a Conv2DTranspose with ``padding='same'`` and an
  explicit ``output_padding`` when Keras's output size is not one that
  TensorFlow's SAME rule maps back to the input size (``ceil(out/s) != n``):
  it raises at call time. Such draws are discarded and redrawn (counted in
  ``generator_stats``); there is no TensorFlow number to record.
- Keras 3.15.1's ``sparsemax`` is wrong whenever more than one element is in
  the support (it sums all cumulative sums in the support instead of taking
  the last one: keras-team/keras#23425, fixed by #23469 after 3.15.1), on
  every backend. ``y`` is what Keras 3.15.1 returns; ``y_sparsemax_fixed``
  applies the textbook sparsemax (Martins & Astudillo 2016) to the same
  pre-activation. ``sparsemax`` only ever appears on the last layer.
- ``hard_shrink`` is discontinuous at +-0.5: draws with a pre-activation
  within 1e-3 of the threshold are redrawn, so that rounding cannot flip it.

Run it (only this script needs TensorFlow; the project and its tests do not):

    pip install tensorflow-cpu keras
    python scripts/make_golden_kernels.py       # writes tests/data/golden_kernels/
    python scripts/make_golden_kernels.py --out /tmp/gk --seed 7

Run it with the current directory outside a Keras source tree. The output is
deterministic for a given seed and Keras/TensorFlow version (up to the last
bits of TensorFlow's float32 arithmetic): the script uses its own
``random.Random(seed)`` and ``numpy.random.default_rng(seed)``, sets
``KERAS_HOME`` to an empty temporary directory and re-executes itself with
``PYTHONHASHSEED=0``.
"""

import ast
import random
import sys
from functools import partial

import numpy as np

import golden_common as common
from golden_common import REPO_ROOT

DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "golden_kernels"
DEFAULT_SEED = 20240617
MAX_BYTES = 3_000_000

N_RANDOM = 46  # random stacks, after the coverage-driven ones
MAX_SPATIAL = 30  # no intermediate or final spatial size above this
MAX_ELEMENTS = 6000  # per y array (keeps the data small)

# Every activation the golden data must contain at least once.
ACTIVATIONS = [
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "sigmoid",
    "hard_sigmoid", "tanh", "softplus", "softsign", "silu", "swish", "mish",
    "exponential", "softmax", "celu", "hard_silu", "hard_swish", "hard_tanh",
    "log_sigmoid", "log_softmax", "soft_shrink", "hard_shrink", "tanh_shrink",
    "squareplus", "sparse_plus", "sparse_sigmoid", "sparsemax",
]
LAST_AXIS_ACTIVATIONS = {"softmax", "log_softmax", "sparsemax"}
LAST_LAYER_ONLY = {"sparsemax"}  # see the module docstring

keras = None  # imported in main(), after the environment is prepared


# --------------------------------------------------------------------------
# Spec strings
# --------------------------------------------------------------------------

def spell_pair(rng, pair):
    if pair[0] == pair[1] and rng.random() < 0.6:
        return pair[0]
    return list(pair) if rng.random() < 0.2 else tuple(pair)


class LayerDraft:
    """Canonical arguments of one layer, and how its spec spells them."""

    def __init__(self, cls, filters, kernel_size, strides=(1, 1), padding="valid",
                 dilation_rate=(1, 1), groups=1, output_padding=None,
                 activation=None, use_bias=True, name=None):
        self.cls = cls
        self.filters = filters
        self.kernel_size = tuple(kernel_size)
        self.strides = tuple(strides)
        self.padding = padding  # as spelt ('same', 'SAME', 'Valid', ...)
        self.dilation_rate = tuple(dilation_rate)
        self.groups = groups
        self.output_padding = None if output_padding is None else tuple(output_padding)
        self.activation = activation
        self.use_bias = use_bias
        self.name = name
        self.spelling = None  # [(keyword or None, value), ...] decided by spell()

    def kwargs(self, data_format, activation="keep"):
        kw = {"filters": self.filters, "kernel_size": self.kernel_size,
              "strides": self.strides, "padding": self.padding,
              "dilation_rate": self.dilation_rate, "use_bias": self.use_bias,
              "data_format": data_format,
              "activation": self.activation if activation == "keep" else activation}
        if self.cls == "Conv2D":
            kw["groups"] = self.groups
        else:
            kw["output_padding"] = self.output_padding
        if self.name:
            kw["name"] = self.name
        return kw

    def spell(self, rng, data_format, write_data_format):
        """Choose a spelling: filters and kernel_size usually positional."""
        args = []
        positional = rng.random() < 0.85
        args.append((None if positional else "filters", self.filters))
        args.append((None if positional and rng.random() < 0.9 else "kernel_size",
                     spell_pair(rng, self.kernel_size)))
        if args[1][0] == "kernel_size":
            args[0] = ("filters", self.filters)
        extra = []
        if self.strides != (1, 1) or rng.random() < 0.1:
            extra.append(("strides", spell_pair(rng, self.strides)))
        if self.padding.lower() != "valid" or rng.random() < 0.2:
            extra.append(("padding", self.padding))
        if self.dilation_rate != (1, 1):
            extra.append(("dilation_rate", spell_pair(rng, self.dilation_rate)))
        if self.cls == "Conv2D" and (self.groups != 1 or rng.random() < 0.05):
            extra.append(("groups", self.groups))
        if self.cls == "Conv2DTranspose" and self.output_padding is not None:
            extra.append(("output_padding", spell_pair(rng, self.output_padding)))
        if self.activation is not None:
            extra.append(("activation", self.activation))
        if not self.use_bias or rng.random() < 0.05:
            extra.append(("use_bias", self.use_bias))
        if write_data_format:
            extra.append(("data_format", data_format))
        if self.name:
            extra.append(("name", self.name))
        if rng.random() < 0.3:
            rng.shuffle(extra)
        self.spelling = args + extra
        self.quote = '"' if rng.random() < 0.15 else "'"

    @property
    def spec(self):
        # spell() puts the positional arguments (keyword None) first
        return common.spec_text(self.cls, [v for k, v in self.spelling if k is None],
                                [(k, v) for k, v in self.spelling if k is not None],
                                self.quote)

    def check_spec(self, data_format):
        """The spec text must parse back to exactly the values used to build."""
        call = ast.parse(self.spec, mode="eval").body
        order = ["filters", "kernel_size"]
        got = {order[i]: ast.literal_eval(a) for i, a in enumerate(call.args)}
        got.update({k.arg: ast.literal_eval(k.value) for k in call.keywords})

        def pair(v):
            return tuple(v) if isinstance(v, (tuple, list)) else (v, v)
        want = self.kwargs(data_format)
        for key, value in got.items():
            if key in ("kernel_size", "strides", "dilation_rate", "output_padding"):
                assert pair(value) == want[key], (self.spec, key)
            elif key == "data_format":
                assert value == data_format, self.spec
            else:
                assert value == want[key], (self.spec, key)

    def record(self, layer):
        """Arguments as Keras standardised them (lowercase padding, tuples)."""
        return {"class": self.cls, "name": layer.name, "filters": layer.filters,
                "kernel_size": list(layer.kernel_size), "strides": list(layer.strides),
                "padding": layer.padding, "dilation_rate": list(layer.dilation_rate),
                "groups": getattr(layer, "groups", 1),
                "output_padding": (None if getattr(layer, "output_padding", None) is None
                                   else list(layer.output_padding)),
                "activation": self.activation, "use_bias": layer.use_bias,
                "padding_spelling": self.padding}


# --------------------------------------------------------------------------
# Random layers
# --------------------------------------------------------------------------

rand_pair = partial(common.random_pair, square=0.5)


def rand_padding(rng):
    return rng.choice(["valid", "valid", "same", "same", "SAME", "Same", "VALID"])


def random_layer(rng, channels, want=None):
    """A random layer on `channels` input channels; `want` forces features:
    a set of 'conv', 'transpose', 'groups', 'depthwise', 'dilation',
    'strides', 'output_padding', 'no_activation'."""
    want = set(want or ())
    if "transpose" in want:
        cls = "Conv2DTranspose"
    elif want & {"conv", "groups", "depthwise"}:
        cls = "Conv2D"
    else:
        cls = rng.choice(["Conv2D", "Conv2D", "Conv2DTranspose"])
    layer = LayerDraft(cls, rng.randint(1, 6), rand_pair(rng, 1, 4, square=0.4),
                       padding=rand_padding(rng), use_bias=rng.random() < 0.75)
    roll = rng.random()
    if "dilation" in want or ("strides" not in want and "output_padding" not in want
                              and roll < 0.25):
        layer.dilation_rate = rand_pair(rng, 1, 3)
        if layer.dilation_rate == (1, 1):
            layer.dilation_rate = (rng.randint(2, 3), rng.randint(1, 3))
        if cls == "Conv2DTranspose" and "dilation" not in want and rng.random() < 0.5:
            layer.dilation_rate = (1, 1)
    elif "strides" in want or "output_padding" in want or roll < 0.7:
        layer.strides = rand_pair(rng, 1, 3)
        if layer.strides == (1, 1) and ("strides" in want or "output_padding" in want):
            layer.strides = (rng.randint(2, 3), rng.randint(1, 3))
    if cls == "Conv2D":
        divisors = [g for g in range(2, channels + 1) if channels % g == 0]
        if "depthwise" in want or (divisors and "groups" not in want and rng.random() < 0.1):
            if channels > 1:
                layer.groups = channels
                layer.filters = channels * rng.randint(1, 2)
        elif divisors and ("groups" in want or rng.random() < 0.2):
            layer.groups = rng.choice(divisors)
            layer.filters = layer.groups * rng.randint(1, 3)
    else:
        if "output_padding" in want or rng.random() < 0.4:
            layer.output_padding = tuple(rng.randint(0, s - 1) for s in layer.strides)
    if "no_activation" not in want:
        layer.activation = rng.choice([None, None, None, "linear"] + ACTIVATIONS)
        if layer.activation in LAST_LAYER_ONLY:
            layer.activation = None
    return layer


def channels_of(shape, data_format):
    return shape[-1] if data_format == "channels_last" else shape[0]


# --------------------------------------------------------------------------
# Executing with Keras
# --------------------------------------------------------------------------

def build(layers, input_shape, data_format):
    """(model, None) or (None, error message) when Keras rejects the stack."""
    keras.backend.clear_session()
    try:
        inputs = t = keras.Input(shape=tuple(input_shape))
        for draft in layers:
            t = getattr(keras.layers, draft.cls)(**draft.kwargs(data_format))(t)
            spatial = t.shape[1:3] if data_format == "channels_last" else t.shape[2:4]
            if min(spatial) <= 0 or max(spatial) > MAX_SPATIAL:
                return None, f"spatial size {tuple(spatial)}"
        return keras.Model(inputs, t), None
    except (ValueError, TypeError) as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def glorot(rng, shape, layer):
    kh, kw = shape[0], shape[1]
    if isinstance(layer, keras.layers.Conv2DTranspose):
        fan_in, fan_out = kh * kw * shape[3], kh * kw * shape[2]
    else:
        fan_in, fan_out = kh * kw * shape[2], kh * kw * shape[3]
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def set_random_weights(model, nrng):
    weights = {}
    for layer in model.layers[1:]:
        values = []
        for w in layer.weights:
            name = w.name.split("/")[-1]
            if name == "kernel":
                value = glorot(nrng, tuple(w.shape), layer)
            else:
                value = (nrng.standard_normal(tuple(w.shape)) * 0.2).astype(np.float32)
            values.append(value)
        layer.set_weights(values)
        for w in layer.weights:
            weights[f"{layer.name}/{w.name.split('/')[-1]}"] = np.asarray(w.numpy(), np.float32)
    return weights


def layer_without_activation(layer, data_format, input_shape):
    """A copy of a built layer with activation=None (same weights)."""
    config = layer.get_config()
    config.update(activation=None, data_format=data_format, name=layer.name + "_pre")
    clone = type(layer).from_config(config)
    clone.build(input_shape)
    clone.set_weights(layer.get_weights())
    return clone


def run_layers(model, x, data_format):
    """Layer by layer: (activations after each layer, pre-activations), channels_last.

    For channels_first, each layer is computed channels_last on x transposed
    to NHWC, transposed back to NCHW, and the activation applied there.
    """
    outs, pres = [], []
    t = x
    for layer in model.layers[1:]:
        if data_format == "channels_first":
            nhwc = np.transpose(t, (0, 2, 3, 1))
            clone = layer_without_activation(layer, "channels_last", nhwc.shape)
            pre = np.transpose(np.asarray(clone(nhwc)), (0, 3, 1, 2))
        else:
            clone = layer_without_activation(layer, "channels_last", t.shape)
            pre = np.asarray(clone(t))
        act = keras.activations.get(layer.get_config()["activation"])
        t = np.asarray(act(pre), np.float32)
        pres.append(pre)
        outs.append(t)
    return outs, pres


def sparsemax_fixed(z):
    """Textbook sparsemax along the last axis."""
    z = np.asarray(z, np.float64)
    s = -np.sort(-z, axis=-1)
    c = np.cumsum(s, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    support = (1 + k * s > c).sum(axis=-1, keepdims=True)
    tau = (np.take_along_axis(c, support - 1, axis=-1) - 1) / support
    return np.maximum(z - tau, 0).astype(np.float32)


# Independent NumPy references (channels_last, float64), used to check every
# number TensorFlow gives: a direct loop over kernel taps, with the padding
# from SPEC 1 (Conv2D 'same': TensorFlow's split) and Keras's own JAX
# conversion (Conv2DTranspose).
def _ref_correlate(x, k, strides, dilation, pads, groups=1):
    x = np.pad(np.asarray(x, np.float64), ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw, cin_g, cout = k.shape
    ke = [dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1]
    h = (x.shape[1] - ke[0]) // strides[0] + 1
    w = (x.shape[2] - ke[1]) // strides[1] + 1
    y = np.zeros((x.shape[0], h, w, cout))
    cout_g = cout // groups
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dilation[0], j * dilation[1]
            patch = x[:, r0:r0 + strides[0] * (h - 1) + 1:strides[0],
                      c0:c0 + strides[1] * (w - 1) + 1:strides[1], :]
            for g in range(groups):
                y[..., g * cout_g:(g + 1) * cout_g] += (
                    patch[..., g * cin_g:(g + 1) * cin_g] @ k[i, j, :, g * cout_g:(g + 1) * cout_g])
    return y


def ref_conv(x, kernel, bias, layer):
    pads = []
    for n, k, s, d in zip(x.shape[1:3], layer.kernel_size, layer.strides, layer.dilation_rate):
        if layer.padding == "valid":
            pads.append((0, 0))
            continue
        ke = d * (k - 1) + 1
        out = -(-n // s)
        total = max((out - 1) * s + ke - n, 0)
        pads.append((total // 2, total - total // 2))
    y = _ref_correlate(x, kernel, layer.strides, layer.dilation_rate, pads, layer.groups)
    return y if bias is None else y + bias


def ref_conv_transpose(x, kernel, bias, layer):
    n, h, w, c = x.shape
    s, d = layer.strides, layer.dilation_rate
    xd = np.zeros((n, (h - 1) * s[0] + 1, (w - 1) * s[1] + 1, c))
    xd[:, ::s[0], ::s[1]] = x
    pads = common.transpose_padding_sides(kernel.shape[:2], s, d, layer.padding,
                                          layer.output_padding)
    y = _ref_correlate(xd, kernel[::-1, ::-1].transpose(0, 1, 3, 2), (1, 1), d, pads)
    return y if bias is None else y + bias


def count(stats, key):
    stats[key] = stats.get(key, 0) + 1


def execute(model, layers, x, data_format, stats):
    """Run a built stack; returns (y, method, extras) or None (redraw).

    channels_last: y is the model's output (``model(x)``), which must equal
    the layer-by-layer run. channels_first: y is the layer-by-layer run
    through channels_last copies of the layers (see ``run_layers``), because
    TensorFlow 2.21's oneDNN CPU path gives wrong numbers for channels_first
    layers with a bias (the NCHW convolution is right, adding the reshaped
    bias to its result is not); the native result is only compared, for the
    record. Every layer's pre-activation is checked against the NumPy
    reference.
    """
    try:
        outs, pres = run_layers(model, x, data_format)
    except Exception as exc:  # TensorFlow runtime failures, see the docstring
        count(stats, f"tensorflow refused: {type(exc).__name__}")
        return None
    try:
        native = np.asarray(model(x, training=False), np.float32)
    except Exception as exc:
        count(stats, f"tensorflow refused natively ({data_format}): {type(exc).__name__}")
        native = None
    if data_format == "channels_last":
        if native is None:
            return None
        np.testing.assert_allclose(outs[-1], native, rtol=1e-5, atol=1e-6)
        y, method = native, "native"
    else:
        y, method = outs[-1], "channels_last per layer"
        if native is not None:
            scale = max(1.0, float(np.abs(y).max()))
            same = np.allclose(native, y, rtol=1e-4, atol=1e-5 * scale)
            count(stats, "channels_first native " + ("agrees" if same else "WRONG (oneDNN)"))
    # Every layer against the NumPy reference, in channels_last.
    to_cl = (lambda a: a) if data_format == "channels_last" else (
        lambda a: np.transpose(a, (0, 2, 3, 1)))
    t = to_cl(x)
    for layer, pre, out in zip(model.layers[1:], pres, outs):
        weights = layer.get_weights()
        bias = weights[1] if layer.use_bias else None
        if isinstance(layer, keras.layers.Conv2DTranspose):
            ref = ref_conv_transpose(t, weights[0], bias, layer)
        else:
            ref = ref_conv(t, weights[0], bias, layer)
        got = to_cl(pre)
        scale = max(1.0, float(np.abs(ref).max()))
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5 * scale,
                                   err_msg=f"{layer.name}: TensorFlow vs NumPy reference")
        count(stats, "layers checked against the NumPy reference")
        t = to_cl(out)
    # hard_shrink: no pre-activation near the discontinuity
    for draft, pre in zip(layers, pres):
        if draft.activation == "hard_shrink" and np.min(np.abs(np.abs(pre) - 0.5)) < 1e-3:
            count(stats, "hard_shrink too close to 0.5")
            return None
    if not np.all(np.isfinite(y)):
        count(stats, "not finite")
        return None
    extras = {}
    if layers[-1].activation == "sparsemax":
        extras["y_sparsemax_fixed"] = sparsemax_fixed(pres[-1])
    return np.asarray(y, np.float32), method, extras


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

def features_of(layers, data_format, model):
    f = {data_format, f"layers_{len(layers)}"}
    for draft, layer in zip(layers, model.layers[1:]):
        f.add(draft.cls)
        if draft.cls == "Conv2D" and draft.groups > 1:
            f.add("groups")
            in_ch = layer.input.shape[-1 if data_format == "channels_last" else 1]
            if draft.groups == in_ch:
                f.add("depthwise")
        if max(draft.strides) > 1:
            f.add("strides")
        if max(draft.strides) == 3:
            f.add("strides_3")
        if max(draft.dilation_rate) > 1:
            f.add("dilation" if draft.cls == "Conv2D" else "transpose_dilation")
        if max(draft.dilation_rate) == 3:
            f.add("dilation_3")
        if draft.output_padding is not None:
            f.add("output_padding")
            if max(draft.output_padding) > 0:
                f.add("output_padding_nonzero")
        f.add(f"padding_{draft.padding.lower()}")
        if draft.padding != draft.padding.lower():
            f.add("padding_" + draft.padding)
        if draft.kernel_size[0] != draft.kernel_size[1]:
            f.add("rectangular_kernel")
        f.add("bias" if draft.use_bias else "no_bias")
        if draft.name:
            f.add("explicit_name")
    return sorted(f)


# draw_case's `want` -> the feature (or alternatives, "a|b") the case must show
WANT_FEATURE = {"conv": "Conv2D", "transpose": "Conv2DTranspose", "groups": "groups",
                "depthwise": "depthwise", "dilation": "dilation|transpose_dilation",
                "strides": "strides", "output_padding": "output_padding"}


def random_input(rng, data_format, channels=None):
    h, w = rng.randint(3, 12), rng.randint(3, 12)
    if rng.random() < 0.3:
        w = h
    c = channels or rng.randint(1, 6)
    return [h, w, c] if data_format == "channels_last" else [c, h, w]


def draw_case(rng, nrng, stats, data_format=None, n_layers=None, activation=None,
              activation_layer=None, want=None, single_no_activation=False):
    """Draw until Keras builds and runs a stack with the requested features."""
    for _ in range(500):
        df = data_format or rng.choice(["channels_last", "channels_first"])
        n = n_layers or rng.choice([1, 1, 2, 2, 2, 3, 3])
        input_shape = random_input(rng, df, 6 if want and "depthwise" in want
                                   and rng.random() < 0.5 else None)
        channels = channels_of(input_shape, df)
        layers = []
        forced_at = rng.randint(0, n - 1)
        for i in range(n):
            forced = set(want or ()) if i == forced_at else set()
            if single_no_activation:
                forced.add("no_activation")
            layer = random_layer(rng, channels, forced)
            if single_no_activation:
                layer.activation = rng.choice([None, None, "linear"])
            layers.append(layer)
            channels = layer.filters
        if activation is not None:
            if activation in LAST_LAYER_ONLY or activation_layer in (None, "last") or n == 1:
                where = n - 1
            else:  # "middle": any layer but the last
                where = rng.randint(0, n - 2)
            layers[where].activation = activation
        if rng.random() < 0.06:
            layers[rng.randint(0, n - 1)].name = rng.choice(["enc", "up", "block"]) + "_1"
        model, error = build(layers, input_shape, df)
        if model is None:
            continue
        shown = set(features_of(layers, df, model))
        if any(not set(WANT_FEATURE[w].split("|")) & shown for w in (want or ())):
            continue
        total = 1
        for d in model.output.shape[1:]:
            total *= d
        batch = rng.randint(1, 3)
        if total * batch > MAX_ELEMENTS:
            continue
        weights = set_random_weights(model, nrng)
        x = (nrng.standard_normal((batch, *input_shape)) * 0.5).astype(np.float32)
        result = execute(model, layers, x, df, stats)
        if result is None:
            continue
        y, method, extras = result
        write_df = df == "channels_first" or rng.random() < 0.1
        for layer in layers:
            layer.spell(rng, df, write_df)
            layer.check_spec(df)
        return {"layers": layers, "model": model, "input_shape": input_shape,
                "data_format": df, "x": x, "y": y, "weights": weights,
                "method": method, "extras": extras}
    raise RuntimeError("could not draw a case")


def plan(rng):
    """Keyword arguments of draw_case for every case, coverage first."""
    jobs = []
    # single layers without activation (also used for the kernels' Python API)
    for df in ["channels_last", "channels_first"]:
        for want in [{"conv"}, {"conv", "strides"}, {"conv", "dilation"}, {"groups"},
                     {"depthwise"}, {"transpose"}, {"transpose", "output_padding"},
                     {"transpose", "strides"}, {"transpose", "dilation"}]:
            jobs.append(dict(data_format=df, n_layers=1, want=want, single_no_activation=True))
    # every activation at least once, alternately on the first/last layer
    for i, act in enumerate(ACTIVATIONS):
        jobs.append(dict(activation=act, activation_layer="last" if i % 2 else "middle"))
    # last-axis activations with channels_first (width axis), single and stacked
    for act in sorted(LAST_AXIS_ACTIVATIONS):
        jobs.append(dict(activation=act, data_format="channels_first", n_layers=1))
        jobs.append(dict(activation=act, data_format="channels_first", n_layers=rng.choice([2, 3])))
        jobs.append(dict(activation=act, data_format="channels_last", n_layers=2))
    jobs.append(dict(activation="softmax", data_format="channels_first", n_layers=3,
                     activation_layer="middle"))
    jobs.append(dict(activation="log_softmax", data_format="channels_first", n_layers=2,
                     activation_layer="middle"))
    # features inside stacks
    for want in [{"groups"}, {"depthwise"}, {"dilation"}, {"output_padding"},
                 {"transpose", "dilation"}, {"strides"}]:
        jobs.append(dict(want=want, n_layers=rng.choice([2, 3])))
    jobs += [dict() for _ in range(N_RANDOM)]
    return jobs


def generate(seed):
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    stats = {}
    cases, arrays = [], {}
    for job in plan(rng):
        drawn = draw_case(rng, nrng, stats, **job)
        cid = f"k{len(cases) + 1:03d}"
        model, layers = drawn["model"], drawn["layers"]
        arrays[f"{cid}/x"] = drawn["x"]
        arrays[f"{cid}/y"] = drawn["y"]
        for name, value in drawn["extras"].items():
            arrays[f"{cid}/{name}"] = value
        for name, value in drawn["weights"].items():
            arrays[f"{cid}/w/{name}"] = value
        cases.append({
            "id": cid,
            "specs": [layer.spec for layer in layers],
            "input_shape": drawn["input_shape"],
            "data_format": drawn["data_format"],
            "batch": int(drawn["x"].shape[0]),
            "output_shape": list(drawn["y"].shape),
            "weights": sorted(drawn["weights"]),
            "layers": [d.record(layer) for d, layer in zip(layers, model.layers[1:])],
            "activations": [d.activation for d in layers],
            "features": features_of(layers, drawn["data_format"], model),
            "method": drawn["method"],
            "extras": sorted(drawn["extras"]),
        })
    return cases, arrays, stats


def write(out, header, cases, arrays):
    return common.write_cases(out, header, {"cases": cases}, arrays, MAX_BYTES, "kernel")


def main(argv=None):
    args = common.golden_parser(__doc__, DEFAULT_OUT, "output directory",
                                DEFAULT_SEED).parse_args(argv)
    global keras
    keras, tf = common.load_keras()
    assert keras.backend.backend() == "tensorflow"
    keras.utils.set_random_seed(args.seed)

    cases, arrays, stats = generate(args.seed)
    header = common.header(keras, tf, "scripts/make_golden_kernels.py", seed=args.seed,
                           generator_stats=dict(sorted(stats.items())))
    size = write(args.out, header, cases, arrays)
    print(f"wrote {args.out}: {len(cases)} cases, {size} bytes; {stats}", file=sys.stderr)


if __name__ == "__main__":
    main()
