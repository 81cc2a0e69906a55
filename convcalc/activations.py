"""Keras 3's string activations in NumPy, for ``--run``.

Each function follows the Keras 3 definition (``keras/src/activations``)
with Keras's default arguments. ``softmax`` and ``log_softmax`` act on the
last axis, as Keras applies them: that is the width axis for channels_first.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ConvcalcError

CHUNK_ELEMENTS = 2**18  # activations run on slices this size, so their temporaries stay small

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _erfc(z: np.ndarray) -> np.ndarray:
    """Complementary error function, relative error below 1.2e-7 everywhere.

    Chebyshev fit of Numerical Recipes (``erfcc``): accurate in the tails,
    which an ``erf`` approximation is not (GELU of large negative inputs).
    """
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.5 * a)
    poly = -a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    r = t * np.exp(poly)
    return np.where(z >= 0, r, 2.0 - r)


def _sigmoid(x):
    # exp of a non-positive number only, so large |x| never overflows
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(x):
    return np.logaddexp(0, x)


def _softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _relu6(x):
    return np.clip(x, 0, 6)


def _hard_sigmoid(x):
    return _relu6(x + 3) / 6


def _sparsemax(x):
    # Martins & Astudillo (2016): project onto the simplex along the last axis.
    z = np.sort(x, axis=-1)[..., ::-1]
    k = np.arange(1, x.shape[-1] + 1, dtype=x.dtype)
    cumulative = np.cumsum(z, axis=-1)
    support = (1 + k * z > cumulative).sum(axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumulative, support - 1, axis=-1) - 1) / support
    return np.maximum(x - tau, 0)


ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": _relu6,
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "elu": _elu,
    "selu": lambda x: SELU_SCALE * _elu(x, SELU_ALPHA),
    "celu": lambda x: np.maximum(x, 0) + np.minimum(0, np.expm1(np.minimum(x, 0))),
    "gelu": lambda x: 0.5 * x * _erfc(x * (-1 / math.sqrt(2.0))),
    "sigmoid": _sigmoid,
    "hard_sigmoid": _hard_sigmoid,
    "hard_silu": lambda x: x * _hard_sigmoid(x),
    "hard_swish": lambda x: x * _hard_sigmoid(x),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "tanh": np.tanh,
    "tanh_shrink": lambda x: x - np.tanh(x),
    "softplus": _softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "exponential": np.exp,
    "log_sigmoid": lambda x: -_softplus(-x),
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4)) / 2,
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "sparse_sigmoid": lambda x: np.clip((x + 1) / 2, 0, 1),
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "sparsemax": _sparsemax,
}


def apply_activation(identifier, x: np.ndarray, in_place: bool = False) -> np.ndarray:
    """Apply a layer's ``activation`` (a name, ``None``, or a dotted reference such as ``tf.nn.relu``).

    The work goes slice by slice of whole last-axis rows (softmax needs whole rows), so that the
    temporaries stay near ``CHUNK_ELEMENTS`` values however large ``x`` is.  With ``in_place``
    (x is the caller's own, e.g. a convolution's fresh output) each slice's result is written back
    into x: no second tensor, and none of its fresh pages to fault in.
    """
    if identifier is None:
        return x
    name = identifier if isinstance(identifier, str) else identifier.short
    function = ACTIVATIONS.get(name)
    if function is None:
        raise ConvcalcError(f"activation={name!r} is not implemented by convcalc's --run kernels.")
    if name == "linear":
        return x
    rows = x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1)
    writable = in_place and x.flags.writeable and x.flags.c_contiguous and x.ndim
    out = rows if writable else np.empty_like(rows)
    step = max(1, CHUNK_ELEMENTS // max(1, rows.shape[1]))
    for start in range(0, rows.shape[0], step):
        out[start:start + step] = function(rows[start:start + step])
    return out.reshape(x.shape)


def scratch_bytes(itemsize: int, last_axis: int) -> int:
    """Temporaries of one slice: GELU's polynomial keeps about 16 arrays of a slice alive."""
    return 16 * max(CHUNK_ELEMENTS, last_axis) * itemsize
