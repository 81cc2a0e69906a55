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
MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1  # Keras's int64 seed tensor
FLOAT_MAX = 1.7976931348623157e308


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
            if isinstance(given, int) and not -FLOAT_MAX <= given <= FLOAT_MAX:
                raise ConvcalcError(f"{what}={value!r}: {key} is too large for a float (at most about 1.8e308).")
        if key == "seed" and given is not None:
            # Keras: SeedGenerator takes an int; draw_seed makes it an int64 tensor, which holds -2**63 .. 2**63-1
            if isinstance(given, bool) or not isinstance(given, int):
                raise ConvcalcError(f"{what}={value!r}: seed must be an integer or None; got {given!r}.")
            if not SEED_MIN <= given <= SEED_MAX:
                raise ConvcalcError(
                    f"{what}={value!r}: seed must lie between -2**63 and 2**63-1 (Keras cannot convert an "
                    "out-of-range integer to its int64 seed tensor)."
                )
    if name == "VarianceScaling":
        # the checks of keras.initializers.VarianceScaling.__init__, in its order, with its reasons
        if args["scale"] <= 0:
            raise ConvcalcError(f"{what}={value!r}: Keras refuses it: scale must be a positive float; got scale={args['scale']!r}.")
        if args["mode"] not in MODES:
            raise ConvcalcError(f"{what}={value!r}: Keras refuses it: mode must be fan_in, fan_out or fan_avg; got {args['mode']!r}.")
        distribution = args["distribution"]
        if not isinstance(distribution, str):
            raise ConvcalcError(f"{what}={value!r}: distribution must be a string; got {distribution!r}.")
        distribution = distribution.lower()
        args["distribution"] = "truncated_normal" if distribution == "normal" else distribution  # as Keras does
        if args["distribution"] not in DISTRIBUTIONS:
            raise ConvcalcError(
                f"{what}={value!r}: Keras refuses it: distribution must be truncated_normal, untruncated_normal "
                f"or uniform; got {distribution!r}."
            )
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
    own = args.get("seed")
    # Keras takes any int64 seed; NumPy only non-negative ones: the same 64 bits, read unsigned
    rng = np.random.default_rng(own % 2**64 if own is not None else seed)
    if name == "Zeros":
        return np.zeros(shape, dtype)
    if name == "Ones":
        return np.ones(shape, dtype)
    if name == "Constant":
        return np.full(shape, args["value"], dtype)
    # mean + stddev * z and minval + (maxval - minval) * u, as Keras computes them: a negative
    # stddev or minval > maxval is accepted by Keras, so it is not refused here either
    if name == "RandomNormal":
        return (args["mean"] + args["stddev"] * rng.standard_normal(shape)).astype(dtype)
    if name == "RandomUniform":
        return (args["minval"] + (args["maxval"] - args["minval"]) * rng.random(shape)).astype(dtype)
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
