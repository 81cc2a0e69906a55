"""What the golden-data generators (scripts/make_golden*.py) share.

Each generator imports this module as ``golden_common``: Python puts a script's
own directory first on ``sys.path``, so ``python scripts/make_golden.py`` finds
it from any current directory. Nothing here imports Keras at module level: a
generator first calls ``load_keras()``, which prepares a deterministic
environment (re-executing the script if needed) and only then imports Keras.
"""

import argparse
import ast
import importlib.util
import inspect
import json
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------
# Environment, command line, output
# --------------------------------------------------------------------------

def prepare_environment():
    """Re-exec with PYTHONHASHSEED=0 and an empty KERAS_HOME, quiet TensorFlow."""
    if os.environ.get("PYTHONHASHSEED") != "0" or "CONVCALC_GOLDEN_KERAS_HOME" not in os.environ:
        env = dict(os.environ, PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="3",
                   CONVCALC_GOLDEN_KERAS_HOME="1",
                   KERAS_HOME=tempfile.mkdtemp(prefix="keras_home_"))
        env.setdefault("KERAS_BACKEND", "tensorflow")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def load_keras():
    """(keras, tensorflow), imported once the environment is prepared."""
    prepare_environment()
    import keras
    import tensorflow as tf
    assert keras.config.image_data_format() == "channels_last"
    return keras, tf


def golden_parser(doc, out_default, out_what, seed_default, seed_help=None):
    """An argument parser with --out (file or directory) and --seed (left out when
    ``seed_default`` is None: the output does not depend on a seed)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=out_default,
                        help=f"{out_what} (default: {out_default.relative_to(REPO_ROOT)})")
    if seed_default is not None:
        parser.add_argument("--seed", type=int, default=seed_default, help=seed_help)
    return parser


def load_registry():
    """convcalc/registry.py, the one list of convcalc's layer types (FAMILIES, FAMILY_OF),
    loaded by path: it is standard-library only, so Keras's Python needs no convcalc install."""
    spec = importlib.util.spec_from_file_location(
        "convcalc_registry", REPO_ROOT / "convcalc" / "registry.py")
    registry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(registry)
    return registry


def header(keras, tf, generated_by, **extra):
    """The golden files' header: who wrote them, with which Keras."""
    return {"generated_by": generated_by, "keras_version": keras.__version__,
            "tensorflow_version": tf.__version__, "keras_backend": keras.backend.backend(),
            **extra}


def write_json(path, head, lists):
    """Top-level keys on their own lines, then one item per line."""
    lines = ["{"]
    for key, value in head.items():
        lines.append(f" {json.dumps(key)}: {json.dumps(value)},")
    names = list(lists)
    for i, name in enumerate(names):
        items = lists[name]
        lines.append(f" {json.dumps(name)}: [")
        lines += [f"  {json.dumps(item)}" + ("," if j < len(items) - 1 else "")
                  for j, item in enumerate(items)]
        lines.append(" ]" + ("," if i < len(names) - 1 else ""))
    lines.append("}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def npz_bytes(arrays):
    """An .npz (ZIP_DEFLATED) of ``arrays``, keys sorted, byte-for-byte reproducible (fixed timestamps).

    ``np.array(order="C")`` keeps a 0-d array 0-d (``np.ascontiguousarray`` would make it a vector)."""
    import io
    import zipfile

    import numpy as np

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            data = io.BytesIO()
            np.lib.format.write_array(data, np.array(arrays[key], order="C"), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data.getvalue())
    return buffer.getvalue()


def write_cases(out, head, lists, arrays, max_bytes, what):
    """``out/cases.npz`` (the arrays) and ``out/index.json`` (``head`` and ``lists``); refuses to leave a
    directory over ``max_bytes``; returns its size."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "cases.npz").write_bytes(npz_bytes(arrays))
    write_json(out / "index.json", head, lists)
    size = sum(p.stat().st_size for p in out.iterdir())
    if size > max_bytes:
        raise SystemExit(f"golden {what} data is {size} bytes, over {max_bytes}")
    return size


# --------------------------------------------------------------------------
# Building layers with Keras
# --------------------------------------------------------------------------

@contextmanager
def keras_session(keras, data_format="channels_last"):
    """A cleared Keras session with this default image data format, reset afterwards."""
    keras.backend.clear_session()
    keras.config.set_image_data_format(data_format)
    try:
        yield
    finally:
        keras.config.set_image_data_format("channels_last")


def count_weights(weights):
    """How many numbers the weights hold."""
    total = 0
    for w in weights:
        n = 1
        for d in w.shape:
            n *= int(d)
        total += n
    return total


def shape_list(shape):
    """A Keras shape as a JSON list: None stays None, sizes become ints."""
    return [None if d is None else int(d) for d in shape]


def random_pair(rng, low, high, square):
    """(a, a) with probability `square`, else (a, b); a and b in [low, high]."""
    a = rng.randint(low, high)
    return (a, a) if rng.random() < square else (a, rng.randint(low, high))


# --------------------------------------------------------------------------
# Layer specs: one Python call, rendered as a string and built from the same values
# --------------------------------------------------------------------------

def render(value, quote="'"):
    """Python source for a literal value (ints, floats, bools, None, str, tuple, list)."""
    if isinstance(value, str):
        return f"{quote}{value}{quote}"
    if isinstance(value, tuple):
        inner = ", ".join(render(v, quote) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(render(v, quote) for v in value) + "]"
    return repr(value)


def spec_text(cls, positional, keywords, quote="'", prefix=""):
    """`prefix` `cls`(positional..., name=value...) as a user would type it."""
    parts = [render(v, quote) for v in positional]
    parts += [f"{k}={render(v, quote)}" for k, v in keywords]
    return f"{prefix}{cls}({', '.join(parts)})"


class LayerCall:
    """A layer constructor call: `spec` is its source text, `make()` runs it."""

    def __init__(self, cls, positional, keywords, prefix="", quote="'"):
        self.cls = cls
        self.positional = positional
        self.keywords = keywords  # [(name, value), ...]
        self.prefix = prefix
        self.quote = quote

    @property
    def spec(self):
        return spec_text(self.cls, self.positional, self.keywords, self.quote, self.prefix)

    def make(self):
        import keras
        return getattr(keras.layers, self.cls)(*self.positional, **dict(self.keywords))

    def check_spec(self):
        """The spec text must parse back to exactly the values used to build."""
        call = ast.parse(self.spec, mode="eval").body
        values = [ast.literal_eval(a) for a in call.args]
        keywords = [(k.arg, ast.literal_eval(k.value)) for k in call.keywords]
        same = (values == self.positional and keywords == self.keywords
                and [type(v) for v in values] == [type(v) for v in self.positional])
        assert same, f"spec {self.spec!r} does not match its values"


# Module prefixes a user may write, weighted: most specs have none.
PREFIXES = ["", "", "", "", "keras.layers.", "layers.", "tf.keras.layers."]


def signature_order(cls):
    """The names of a Keras layer's positional-or-keyword arguments, in order."""
    import keras
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


def spell(rng, cls, kwargs, check=False):
    """A LayerCall with a random spelling: how many leading arguments are positional,
    tuples as lists, a module prefix, the quote character. With `check`, the spec
    text must parse back to the values (LayerCall.check_spec)."""
    spelled = {}
    for name, value in kwargs.items():
        if isinstance(value, tuple) and rng.random() < 0.2 and name not in ("padding", "cropping"):
            value = list(value)
        spelled[name] = value
    n_positional = rng.choice([0, 1, 1, 1, 2, 2, 3])
    call = layer_call(cls, spelled, n_positional, rng.choice(PREFIXES),
                      '"' if rng.random() < 0.15 else "'")
    if check:
        call.check_spec()
    return call


def has_data_format(cls):
    """Whether a Keras layer takes a data_format argument."""
    import keras
    return "data_format" in inspect.signature(getattr(keras.layers, cls).__init__).parameters


def data_format_choice(rng, takes_data_format, index):
    """(data_format, via) of a single-layer case: via is 'option' (--data-format),
    'layer' (in the spec) or 'default' (neither given: channels_last). For a layer
    with a data_format, every combination comes first (index 0 to 4)."""
    if takes_data_format:
        choices = [("channels_last", "default"), ("channels_first", "option"),
                   ("channels_first", "layer"), ("channels_last", "option"),
                   ("channels_last", "layer"), ("channels_first", "layer")]
        return choices[index] if index < 5 else rng.choice(choices)
    if rng.random() < 0.12:  # --data-format must not change layers without one
        return "channels_first", "option"
    return "channels_last", "default"


def clean_message(exc):
    """Keras's message without ANSI codes and the 'Arguments received' appendix."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    text = text.split("\n\nArguments received")[0]
    text = text.replace("Exception encountered when calling", "In").strip()
    return " ".join(text.split())[:400]


# --------------------------------------------------------------------------
# Random layer arguments
# --------------------------------------------------------------------------

def maybe_int(rng, value):
    """(3, 3) is often written 3: a tuple of equal sizes becomes an int with p=0.6."""
    if isinstance(value, tuple) and len(set(value)) == 1 and rng.random() < 0.6:
        return value[0]
    return value


def any_shape(rng, min_rank=1, max_rank=3, high=12):
    """A random input shape (batch left out) of rank min_rank..max_rank, sizes 1..high."""
    return [rng.randint(1, high) for _ in range(rng.randint(min_rank, max_rank))]


def random_axis(rng, kwargs, rank, several):
    """Maybe set kwargs["axis"] of a normalization layer on a rank-`rank` input:
    one axis (or -1) with p=0.3, else several sorted axes with p=several-0.3."""
    axes = list(range(1, rank + 1))
    roll = rng.random()
    if roll < 0.3:
        kwargs["axis"] = rng.choice(axes + [-1])
    elif roll < several and len(axes) > 1:
        kwargs["axis"] = sorted(rng.sample(axes, rng.randint(2, len(axes))))


def normalization_axis(rng, kwargs, rank, single):
    """Maybe set kwargs["axis"] of a Normalization layer on a rank-`rank` input:
    None with p=0.2, two sorted axes as a tuple with p=0.2 (rank > 1), else one
    axis with p=single-0.4."""
    roll = rng.random()
    if roll < 0.2:
        kwargs["axis"] = None
    elif roll < 0.4 and rank > 1:
        kwargs["axis"] = tuple(sorted(rng.sample(range(1, rank + 1), 2)))
    elif roll < single:
        kwargs["axis"] = rng.choice(list(range(1, rank + 1)))


def rescaling_kwargs(rng):
    """Random Rescaling arguments: a scale, and an offset with p=0.5."""
    kwargs = {"scale": rng.choice([1 / 255.0, 1 / 127.5, 2.0, 0.5])}
    if rng.random() < 0.5:
        kwargs["offset"] = rng.choice([-1.0, 0.5, 0.0])
    return kwargs


def separable_options(rng, kwargs):
    """A separable convolution's optional arguments: padding (p=0.7), depth_multiplier
    (p=0.5), use_bias=False (p=0.3)."""
    if rng.random() < 0.7:
        kwargs["padding"] = rng.choice(["valid", "same"])
    if rng.random() < 0.5:
        kwargs["depth_multiplier"] = rng.choice([1, 2, 3])
    if rng.random() < 0.3:
        kwargs["use_bias"] = False


def center_scale(rng, kwargs, center, scale):
    """Set center=False with probability `center`, then scale=False with probability `scale`."""
    if rng.random() < center:
        kwargs["center"] = False
    if rng.random() < scale:
        kwargs["scale"] = False


# --------------------------------------------------------------------------
# Per-side padding, from Keras's own code
# --------------------------------------------------------------------------

# Copied verbatim from keras/src/backend/torch/nn.py (Keras 3.15.1); that
# module cannot be imported without torch installed. TF-style SAME split.
def _compute_padding_length(
    input_length, kernel_length, stride, dilation_rate=1
):
    """Compute padding length along one dimension with support
    for asymmetric padding."""
    effective_k_size = (kernel_length - 1) * dilation_rate + 1
    if stride == 1:
        # total padding is kernel_size - 1
        total_padding = effective_k_size - 1
    else:
        # calc. needed padding for case with stride involved
        output_size = (input_length + stride - 1) // stride
        total_padding = max(
            0, (output_size - 1) * stride + effective_k_size - input_length
        )

    # divide padding evenly, with extra pixel going at the end if needed
    left_padding = total_padding // 2
    right_padding = total_padding - left_padding
    return (left_padding, right_padding)



def padding_sides(padding, spatial, kernel_size, strides, dilation_rate):
    """(before, after) per spatial axis of a 'valid' or 'same' convolution or pooling."""
    if padding == "valid":
        return [(0, 0) for _ in spatial]
    return [_compute_padding_length(n, k, s, d)
            for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate)]


def transpose_padding_sides(kernel_size, strides, dilation_rate, padding, output_padding):
    """(before, after) per spatial axis of the direct convolution equivalent to a
    transposed one, as Keras's JAX backend pads it."""
    from keras.src.backend.common.backend_utils import (
        _convert_conv_transpose_padding_args_from_keras_to_jax as to_jax,
    )
    ops = output_padding or (None,) * len(kernel_size)
    return [to_jax(k, s, d, padding, op)
            for k, s, d, op in zip(kernel_size, strides, dilation_rate, ops)]


def sides_2d(sides):
    """[(top, bottom), (left, right)] -> {"top": .., "bottom": .., "left": .., "right": ..}."""
    (top, bottom), (left, right) = sides
    return {"top": top, "bottom": bottom, "left": left, "right": right}
