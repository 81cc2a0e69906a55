"""NumPy kernels of Keras's feature layers at inference, for ``--run``: dense, normalization,
activation layers, and the layers that are the identity at inference.

Every array has the batch axis first.  :data:`RUNS` maps a layer type to its call
``(row, x, weights) -> y`` (the row holds the layer's arguments); :data:`REFUSALS` maps a
layer type to ``row -> reason or None`` for options ``--run`` does not execute.
:mod:`convcalc.execute` merges both tables into its own.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .activations import _elu, apply_activation

IDENTITY_AT_INFERENCE = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
                         "AlphaDropout")



def dense(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, activation) -> np.ndarray:
    """Dense on any rank. x : ndarray of shape (n, ..., d); kernel : (d, units); bias : (units,)."""
    y = np.matmul(x, kernel)
    if bias is not None:
        y += bias
    return apply_activation(activation, y)


def _broadcast(weight: np.ndarray, axes: Sequence[int], rank: int) -> np.ndarray:
    """A weight over ``axes`` (its shape their sizes), shaped to broadcast against a rank-``rank`` array."""
    shape = [1] * rank
    for axis, size in zip(sorted(axes), weight.shape if weight.ndim == len(axes) else weight.reshape(-1).shape):
        shape[axis] = size
    return weight.reshape(shape)


def _axes(axis, rank: int) -> tuple[int, ...]:
    axes = axis if isinstance(axis, (list, tuple)) else (axis,)
    return tuple(sorted(a % rank for a in axes))


def batch_normalization(x: np.ndarray, weights: dict, axis, epsilon: float) -> np.ndarray:
    """BatchNormalization at inference: ``(x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta``.

    x : ndarray of any rank; every weight has the shape of x's ``axis`` sizes; ``gamma`` and
    ``beta`` are absent when ``scale`` / ``center`` are off.
    """
    axes = _axes(axis, x.ndim)
    mean = _broadcast(weights["moving_mean"], axes, x.ndim)
    inverse = 1 / np.sqrt(_broadcast(weights["moving_variance"], axes, x.ndim) + np.asarray(epsilon, x.dtype))
    if "gamma" in weights:
        inverse = inverse * _broadcast(weights["gamma"], axes, x.ndim)
    shift = -mean * inverse
    if "beta" in weights:
        shift = shift + _broadcast(weights["beta"], axes, x.ndim)
    y = x * inverse
    y += shift
    return y


def layer_normalization(x: np.ndarray, weights: dict, axis, epsilon: float) -> np.ndarray:
    """LayerNormalization: each sample normalized over ``axis`` (mean and biased variance), then
    ``* gamma + beta``. x : ndarray of any rank; gamma, beta : the sizes of x's ``axis``."""
    axes = _axes(axis, x.ndim)
    centered = x - x.mean(axis=axes, keepdims=True)
    y = np.square(centered)
    inverse = 1 / np.sqrt(y.mean(axis=axes, keepdims=True) + np.asarray(epsilon, x.dtype))
    np.multiply(centered, inverse, out=y)
    if "gamma" in weights:
        y *= _broadcast(weights["gamma"], axes, x.ndim)
    if "beta" in weights:
        y += _broadcast(weights["beta"], axes, x.ndim)
    return y


def rescaling(x: np.ndarray, scale, offset) -> np.ndarray:
    """Rescaling: ``x * scale + offset``. x : ndarray of any rank."""
    return x * np.asarray(scale, x.dtype) + np.asarray(offset, x.dtype)


def relu(x: np.ndarray, max_value=None, negative_slope=0.0, threshold=0.0) -> np.ndarray:
    """ReLU layer, as ``keras.activations.relu``: ``x`` above ``threshold`` (else 0), capped at
    ``max_value``, minus ``negative_slope * relu(threshold - x)``. x : ndarray of any rank."""
    y = np.where(x > threshold, x, np.zeros((), x.dtype)) if threshold else np.maximum(x, 0)
    if max_value is not None:
        np.clip(y, 0, np.asarray(max_value, x.dtype), out=y)
    if negative_slope:
        negative = np.subtract(np.asarray(threshold, x.dtype), x)
        np.maximum(negative, 0, out=negative)
        negative *= np.asarray(negative_slope, x.dtype)
        y -= negative
    return y


def leaky_relu(x: np.ndarray, negative_slope: float) -> np.ndarray:
    """LeakyReLU: ``x`` where ``x >= 0``, else ``negative_slope * x``. x : ndarray of any rank."""
    return np.where(x >= 0, x, np.asarray(negative_slope, x.dtype) * x)


def elu(x: np.ndarray, alpha: float) -> np.ndarray:
    """ELU layer: ``x`` where positive, else ``alpha * (exp(x) - 1)``. x : ndarray of any rank."""
    return _elu(x, np.asarray(alpha, x.dtype))


def softmax(x: np.ndarray, axis) -> np.ndarray:
    """Softmax layer over ``axis`` (an int or several). x : ndarray of any rank."""
    axes = _axes(axis, x.ndim)
    e = np.exp(x - x.max(axis=axes, keepdims=True))
    e /= e.sum(axis=axes, keepdims=True)
    return e


def _leaky_slope(args: dict) -> float:
    return args["alpha"] if args.get("alpha") is not None else args["negative_slope"]



RUNS: dict[str, Callable] = {
    "Dense": lambda row, x, w: dense(x, w["kernel"], w.get("bias"), row.layer.args["activation"]),
    "BatchNormalization": lambda row, x, w: batch_normalization(
        x, w, row.layer.args["axis"], row.layer.args["epsilon"]),
    "LayerNormalization": lambda row, x, w: layer_normalization(
        x, w, row.layer.args["axis"], row.layer.args["epsilon"]),
    "Rescaling": lambda row, x, w: rescaling(x, row.layer.args["scale"], row.layer.args["offset"]),
    "Activation": lambda row, x, w: apply_activation(row.layer.args["activation"], x),
    "ReLU": lambda row, x, w: relu(
        x, row.layer.args["max_value"], row.layer.args["negative_slope"], row.layer.args["threshold"]),
    "LeakyReLU": lambda row, x, w: leaky_relu(x, _leaky_slope(row.layer.args)),
    "ELU": lambda row, x, w: elu(x, row.layer.args["alpha"]),
    "Softmax": lambda row, x, w: softmax(x, row.layer.args["axis"]),
    **{name: lambda row, x, w: x for name in IDENTITY_AT_INFERENCE},
}


REFUSALS: dict[str, Callable] = {
    "LayerNormalization": lambda row: (
        "--run does not execute LayerNormalization with rms_scaling=True yet" if row.layer.args.get("rms_scaling")
        else None),
    "BatchNormalization": lambda row: (
        "--run does not execute BatchNormalization with renorm=True yet" if row.layer.args.get("renorm") else None),
}
