"""Keras 3 weight initializers by name, for ``--run`` (seeded, NumPy).

``resolve`` maps what a spec says (``'he_normal'``, ``Constant(2.0)``,
``keras.initializers.RandomNormal(stddev=0.1, seed=3)``) to a canonical
class name and its arguments, with Keras's defaults; it is plain Python so
that specs are checked without NumPy.  ``initialize`` draws the values.
The numbers follow Keras's distributions, not its random streams.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ConvcalcError
from .parse import Call

# class name -> its arguments in Keras 3's order, with defaults
SIGNATURES: dict[str, tuple[tuple[str, Any], ...]] = {
    "Zeros": (),
    "Ones": (),
    "Constant": (("value", 0.0),),
    "RandomNormal": (("mean", 0.0), ("stddev", 0.05), ("seed", None)),
    "RandomUniform": (("minval", -0.05), ("maxval", 0.05), ("seed", None)),
    "TruncatedNormal": (("mean", 0.0), ("stddev", 0.05), ("seed", None)),
    "VarianceScaling": (
        ("scale", 1.0), ("mode", "fan_in"), ("distribution", "truncated_normal"), ("seed", None),
        ("input_axes", None), ("output_axes", None),
    ),
    "GlorotUniform": (("seed", None), ("input_axes", None), ("output_axes", None)),
    "GlorotNormal": (("seed", None), ("input_axes", None), ("output_axes", None)),
    "HeUniform": (("seed", None), ("input_axes", None), ("output_axes", None)),
    "HeNormal": (("seed", None), ("input_axes", None), ("output_axes", None)),
    "LecunUniform": (("seed", None), ("input_axes", None), ("output_axes", None)),
    "LecunNormal": (("seed", None), ("input_axes", None), ("output_axes", None)),
    "Orthogonal": (("gain", 1.0), ("seed", None)),
    "Identity": (("gain", 1.0),),
    "STFT": (("side", "real"), ("window", "hann"), ("scaling", "density"), ("periodic", False)),
}
# the variance-scaling family: (scale, mode, distribution)
VARIANCE_SCALING = {
    "GlorotUniform": (1.0, "fan_avg", "uniform"),
    "GlorotNormal": (1.0, "fan_avg", "truncated_normal"),
    "HeUniform": (2.0, "fan_in", "uniform"),
    "HeNormal": (2.0, "fan_in", "truncated_normal"),
    "LecunUniform": (1.0, "fan_in", "uniform"),
    "LecunNormal": (1.0, "fan_in", "truncated_normal"),
}
ALIASES = {
    "zeros": "Zeros", "zero": "Zeros", "ones": "Ones", "one": "Ones", "constant": "Constant",
    "random_normal": "RandomNormal", "normal": "RandomNormal", "random_uniform": "RandomUniform",
    "uniform": "RandomUniform", "truncated_normal": "TruncatedNormal", "variance_scaling": "VarianceScaling",
    "glorot_uniform": "GlorotUniform", "glorot_normal": "GlorotNormal", "he_uniform": "HeUniform",
    "he_normal": "HeNormal", "lecun_uniform": "LecunUniform", "lecun_normal": "LecunNormal",
    "orthogonal": "Orthogonal", "OrthogonalInitializer": "Orthogonal", "identity": "Identity",
    "IdentityInitializer": "Identity", "stft": "STFT", "STFTInitializer": "STFT",
}
NAMES = frozenset(SIGNATURES) | frozenset(ALIASES)


def resolve(value: str | Call, what: str = "initializer") -> tuple[str, dict[str, Any]]:
    """Canonical class name and arguments (Keras defaults filled in).

    >>> resolve("he_normal")
    ('HeNormal', {'seed': None, 'input_axes': None, 'output_axes': None})
    >>> from convcalc.parse import parse_call
    >>> resolve(parse_call("keras.initializers.Constant(2.0)"))
    ('Constant', {'value': 2.0})
    """
    short = value if isinstance(value, str) else value.short
    name = ALIASES.get(short, short)
    if name not in SIGNATURES:
        raise ConvcalcError(f"{what}={value!r} is not a Keras initializer.")
    signature = SIGNATURES[name]
    args = dict(signature)
    if isinstance(value, Call):
        if len(value.args) > len(signature):
            raise ConvcalcError(f"{what}={value!r}: {name} takes at most {len(signature)} positional arguments.")
        for (key, _), given in zip(signature, value.args):
            args[key] = given
        for key, given in value.kwargs:
            if key not in args:
                raise ConvcalcError(f"{what}={value!r}: {name} has no argument {key!r}.")
            args[key] = given
    for key, given in args.items():
        if key in ("value", "mean", "stddev", "minval", "maxval", "scale", "gain"):
            if isinstance(given, bool) or not isinstance(given, (int, float)):
                raise ConvcalcError(f"{what}={value!r}: {key} must be a number; got {given!r}.")
        if key == "seed" and given is not None and (isinstance(given, bool) or not isinstance(given, int)):
            raise ConvcalcError(f"{what}={value!r}: seed must be an integer or None; got {given!r}.")
    if name == "VarianceScaling":
        if args["mode"] not in ("fan_in", "fan_out", "fan_avg"):
            raise ConvcalcError(f"{what}={value!r}: mode must be fan_in, fan_out or fan_avg.")
        if args["distribution"] not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ConvcalcError(f"{what}={value!r}: distribution must be truncated_normal, untruncated_normal or uniform.")
    return name, args


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras's ``compute_fans`` for a conv kernel: the receptive field times the channel axes.

    >>> fans((3, 3, 16, 32))
    (144, 288)
    """
    if len(shape) < 2:
        size = shape[0] if shape else 1
        return size, size
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def initialize(value: str | Call, shape: tuple[int, ...], seed: Any, dtype: str = "float32"):
    """Draw a weight of ``shape``. ``seed`` seeds NumPy unless the initializer gives its own."""
    import numpy as np

    name, args = resolve(value)
    rng = np.random.default_rng(args["seed"] if args.get("seed") is not None else seed)
    if name == "Zeros":
        return np.zeros(shape, dtype)
    if name == "Ones":
        return np.ones(shape, dtype)
    if name == "Constant":
        return np.full(shape, args["value"], dtype)
    if name == "RandomNormal":
        return rng.normal(args["mean"], args["stddev"], shape).astype(dtype)
    if name == "RandomUniform":
        return rng.uniform(args["minval"], args["maxval"], shape).astype(dtype)
    if name == "TruncatedNormal":
        return (args["mean"] + args["stddev"] * _truncated(rng, shape)).astype(dtype)
    if name in VARIANCE_SCALING or name == "VarianceScaling":
        scale, mode, distribution = VARIANCE_SCALING.get(name) or (args["scale"], args["mode"], args["distribution"])
        fan_in, fan_out = fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        scale = scale / max(1.0, n)
        if distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            return rng.uniform(-limit, limit, shape).astype(dtype)
        if distribution == "truncated_normal":
            # 0.8796... is the stddev of a unit normal truncated to [-2, 2]
            return (math.sqrt(scale) / 0.87962566103423978 * _truncated(rng, shape)).astype(dtype)
        return (math.sqrt(scale) * rng.standard_normal(shape)).astype(dtype)
    if name == "Orthogonal":
        rows = math.prod(shape[:-1])
        cols = shape[-1]
        flat = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(flat)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (args["gain"] * q[:rows, :cols]).reshape(shape).astype(dtype)
    raise ConvcalcError(f"the {name} initializer cannot initialize a kernel of shape {shape} (Keras: 2-D only).")


def _truncated(rng, shape):
    """Standard normal values redrawn until they lie within two standard deviations."""
    values = rng.standard_normal(shape)
    outside = abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = abs(values) > 2
    return values
