"""NumPy kernels of Keras's feature layers at inference, for ``--run``: dense and embedding layers,
normalization, every activation layer, attention, the application layers, and the layers that are
the identity at inference.

Every array has the batch axis first.  :data:`RUNS` maps a layer type to its call
``(row, x, weights) -> y`` (the row holds the layer's arguments; ``x`` is a list of arrays when
the layer is called on a list, as MultiHeadAttention and CustomScaleLayer are); :data:`REFUSALS`
maps a layer type to ``row -> reason or None`` for options ``--run`` does not execute.
:mod:`convcalc.execute` merges both tables into its own.  Each function follows the ``call`` of
Keras 3.15 (``keras/src/layers``) in inference mode, TensorFlow backend.
"""

from __future__ import annotations

import math
import string
from typing import Callable, Sequence

import numpy as np

from .activations import ACTIVATIONS, _elu, _sigmoid, apply_activation
from .errors import ConvcalcError

IDENTITY_AT_INFERENCE = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
                         "GaussianDropout", "AlphaDropout", "Identity", "ActivityRegularization")
"""Layers whose ``call`` returns its input at inference (ActivityRegularization only adds a loss)."""

KERAS_EPSILON = 1e-7  # keras.config.epsilon(): Normalization's floor on the standard deviation
UNIT_NORM_EPSILON = 1e-12  # UnitNormalization: ops.normalize(x, order=2, epsilon=1e-12)
LARGE_NEGATIVE = -1e9  # Softmax and attention put masked logits here (keras/src/layers/activations/softmax.py)


def _axes(axis, rank: int) -> tuple[int, ...]:
    """A Keras ``axis`` (an int or several; negative counts from the end) as sorted non-negative axes."""
    axes = axis if isinstance(axis, (list, tuple)) else (axis,)
    return tuple(sorted({a % rank for a in axes}))


def _broadcast(weight: np.ndarray, axes: Sequence[int], rank: int) -> np.ndarray:
    """A weight over ``axes`` (its shape their sizes), shaped to broadcast against a rank-``rank`` array."""
    shape = [1] * rank
    for axis, size in zip(sorted(axes), weight.shape if weight.ndim == len(axes) else weight.reshape(-1).shape):
        shape[axis] = size
    return weight.reshape(shape)


def _scalar(value, x: np.ndarray) -> np.ndarray:
    return np.asarray(value, x.dtype)


# ---- core layers -------------------------------------------------------------------------------

def dense(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, activation) -> np.ndarray:
    """Dense on any rank: ``activation(x @ kernel + bias)``.

    x : ndarray of shape (n, ..., d); kernel : (d, units); bias : (units,).
    """
    y = np.matmul(x, kernel)
    if bias is not None:
        y += bias
    return apply_activation(activation, y, in_place=True)


def embedding_ids(x: np.ndarray, input_dim: int, name: str = "Embedding") -> np.ndarray:
    """The row indices an Embedding reads from ``x``, as Keras computes them.

    Keras casts a float input to int32, which truncates toward zero (2.7 -> 2, -0.5 -> 0), and
    ``ops.take`` wraps a negative index once (-1 is the last row).  An index outside
    ``[-input_dim, input_dim)`` makes TensorFlow's CPU gather fail, so it is refused here,
    naming it; so is NaN or infinity.
    """
    if not np.all(np.isfinite(x)):
        raise ConvcalcError(f"{name} reads integer ids, but the input holds NaN or infinity.")
    ids = np.trunc(x)
    bad = (ids < -input_dim) | (ids >= input_dim)
    if bad.any():
        first = ids[bad].flat[0]
        raise ConvcalcError(
            f"{name} has input_dim={input_dim}, so its ids must lie in [{-input_dim}, {input_dim - 1}] "
            f"(Keras casts them to int32; TensorFlow refuses others); the input holds {first:g}."
        )
    ids = ids.astype(np.int64)
    return np.where(ids < 0, ids + input_dim, ids)


def embedding(x: np.ndarray, weights: dict, name: str = "Embedding") -> np.ndarray:
    """Embedding: ``embeddings[ids]``; with LoRA the table is
    ``embeddings + lora_embeddings_a @ lora_embeddings_b``: Keras 3.15's ``build`` calls
    ``enable_lora(lora_rank)`` without the constructor's ``lora_alpha``, so the scale
    ``lora_alpha / rank`` is always 1.

    x : ndarray of shape (n, ...) holding ids; embeddings : (input_dim, output_dim);
    returns (n, ..., output_dim).
    """
    table = weights["embeddings"]
    if "lora_embeddings_a" in weights:
        table = table + weights["lora_embeddings_a"] @ weights["lora_embeddings_b"]
    return table[embedding_ids(x, table.shape[0], name)].astype(x.dtype, copy=False)


def repeat_vector(x: np.ndarray, n: int) -> np.ndarray:
    """RepeatVector: (batch, features) -> (batch, n, features)."""
    return np.repeat(x[:, np.newaxis, :], n, axis=1)


def masking(x: np.ndarray, mask_value) -> np.ndarray:
    """Masking: a position (all axes but the last) whose features all equal ``mask_value`` becomes
    zeros; every other value passes unchanged.  (The Keras mask it also sets: :func:`keras_mask`.)"""
    keep = np.any(x != _scalar(mask_value, x), axis=-1, keepdims=True)
    return np.where(keep, x, np.zeros((), x.dtype))


def keras_mask(row, x: np.ndarray) -> np.ndarray | None:
    """The Keras mask a layer sets on its output from its input ``x``, or None: Masking keeps the
    positions with a feature other than ``mask_value``; ``Embedding(mask_zero=True)`` keeps the ids
    other than 0 (as Keras compares them, before the int32 cast).  The layers that read masks
    take them through ``CALLS``; ``convcalc.masking`` says how the layers between pass them on, and
    ``run_graph`` carries them.  Returns a bool array shaped like
    ``x`` without its last axis (Masking) or like ``x`` (Embedding)."""
    args = row.layer.args
    if row.type == "Masking":
        return np.any(x != _scalar(args["mask_value"], x), axis=-1)
    if row.type == "Embedding" and args.get("mask_zero"):
        return x != 0
    return None


# ---- normalization -----------------------------------------------------------------------------

def batch_norm_affine(weights: dict, epsilon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BatchNormalization at inference as ``x * scale + shift``, in the weights' own shape:
    ``scale = gamma / sqrt(moving_variance + epsilon)``, ``shift = beta - moving_mean * scale``
    (``gamma`` and ``beta`` absent when ``scale`` / ``center`` are off).

    >>> [v.tolist() for v in batch_norm_affine({"moving_mean": np.array([1.0]), "moving_variance": np.array([3.0]),
    ...                                         "gamma": np.array([2.0])}, np.asarray(1.0))]
    [[1.0], [-1.0]]
    """
    scale = 1 / np.sqrt(weights["moving_variance"] + epsilon)
    if "gamma" in weights:
        scale = scale * weights["gamma"]
    shift = -weights["moving_mean"] * scale
    if "beta" in weights:
        shift = shift + weights["beta"]
    return scale, shift


def batch_normalization(x: np.ndarray, weights: dict, axis, epsilon: float) -> np.ndarray:
    """BatchNormalization at inference: ``(x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta``.

    The same with ``renorm=True``: at inference Keras uses the moving statistics and ignores
    ``moving_stddev``, ``renorm_mean`` and ``renorm_stddev``.
    x : ndarray of any rank; every weight has the shape of x's ``axis`` sizes; ``gamma`` and
    ``beta`` are absent when ``scale`` / ``center`` are off.
    """
    axes = _axes(axis, x.ndim)
    scale, shift = batch_norm_affine(weights, _scalar(epsilon, x))
    y = x * _broadcast(scale, axes, x.ndim)
    y += _broadcast(shift, axes, x.ndim)
    return y


def layer_normalization(x: np.ndarray, weights: dict, axis, epsilon: float, rms_scaling: bool = False) -> np.ndarray:
    """LayerNormalization: each sample normalized over ``axis`` (mean and biased variance), then
    ``* gamma + beta``.

    With ``rms_scaling=True`` Keras 3.15 (``ops.layer_normalization``) computes
    ``x * rsqrt(var(x) + epsilon) * gamma``: divided by the standard deviation (the *centered*
    variance) but not centered itself, and no beta.
    x : ndarray of any rank; gamma, beta : the sizes of x's ``axis``.
    """
    axes = _axes(axis, x.ndim)
    centered = x - x.mean(axis=axes, keepdims=True)
    y = np.square(centered)
    inverse = 1 / np.sqrt(y.mean(axis=axes, keepdims=True) + _scalar(epsilon, x))
    np.multiply(x if rms_scaling else centered, inverse, out=y)
    if "gamma" in weights:
        y *= _broadcast(weights["gamma"], axes, x.ndim)
    if "beta" in weights and not rms_scaling:
        y += _broadcast(weights["beta"], axes, x.ndim)
    return y


def group_normalization(x: np.ndarray, weights: dict, groups: int, axis: int, epsilon: float) -> np.ndarray:
    """GroupNormalization: the channels on ``axis`` split into ``groups`` (-1: one per channel);
    each sample's group is normalized over its channels and every other axis (biased variance),
    then ``* gamma + beta`` per channel.

    x : ndarray of any rank; gamma, beta : (channels,).
    """
    axis %= x.ndim
    channels = x.shape[axis]
    groups = channels if groups == -1 else groups
    grouped_shape = (*x.shape[:axis], groups, channels // groups, *x.shape[axis + 1:])
    grouped = x.reshape(grouped_shape)
    reduce = tuple(a for a in range(1, grouped.ndim) if a != axis)
    mean = grouped.mean(axis=reduce, keepdims=True)
    inverse = 1 / np.sqrt(np.square(grouped - mean).mean(axis=reduce, keepdims=True) + _scalar(epsilon, x))
    per_channel = [1] * grouped.ndim
    per_channel[axis], per_channel[axis + 1] = groups, channels // groups
    if "gamma" in weights:
        inverse = inverse * weights["gamma"].reshape(per_channel)
    shift = -mean * inverse
    if "beta" in weights:
        shift = shift + weights["beta"].reshape(per_channel)
    return (grouped * inverse + shift).reshape(x.shape)


def unit_normalization(x: np.ndarray, axis) -> np.ndarray:
    """UnitNormalization: ``x * min(rsqrt(sum(x**2)), 1e12)`` over ``axis``, as ``ops.normalize``
    computes the L2 case (a zero vector stays zero). x : ndarray of any rank."""
    square_sum = np.square(x).sum(axis=_axes(axis, x.ndim), keepdims=True)
    with np.errstate(divide="ignore"):
        inverse = np.minimum(1 / np.sqrt(square_sum), _scalar(1 / UNIT_NORM_EPSILON, x))
    return x * inverse


def normalization_statistic(value, keep: tuple[int, ...], shape: tuple[int, ...], dtype) -> np.ndarray:
    """A Normalization ``mean`` or ``variance`` (an argument or a weight) broadcast to the input's
    kept axes, as Keras's ``build`` aligns it: its axes map to the kept axes from the right."""
    array = np.asarray(value, dtype)
    target = [n if i in keep else 1 for i, n in enumerate(shape)]
    if array.ndim:
        if array.ndim > len(keep):
            raise ConvcalcError(f"Normalization's mean/variance has {array.ndim} axes, more than the "
                                f"{len(keep)} axes it keeps (axis={tuple(keep)}).")
        expanded = [1] * len(shape)
        for i in range(1, array.ndim + 1):
            expanded[keep[-i]] = array.shape[-i]
        array = array.reshape(expanded)
    try:
        return np.broadcast_to(array, target)
    except ValueError:
        raise ConvcalcError(f"Normalization's mean/variance of shape {np.shape(value)} does not broadcast to the "
                            f"kept axes {tuple(shape[i] for i in keep)}.") from None


def normalization(x: np.ndarray, mean, variance, axis, invert: bool) -> np.ndarray:
    """Normalization: ``(x - mean) / max(sqrt(variance), 1e-7)``; with ``invert=True``
    ``mean + x * max(sqrt(variance), 1e-7)``.  ``axis`` (an int, several, or None: none) are the
    axes that keep their own statistics. x : ndarray of any rank."""
    keep = () if axis is None else _axes(axis, x.ndim)
    mean = normalization_statistic(mean, keep, x.shape, x.dtype)
    deviation = np.maximum(np.sqrt(normalization_statistic(variance, keep, x.shape, x.dtype)),
                           _scalar(KERAS_EPSILON, x))
    return mean + x * deviation if invert else (x - mean) / deviation


def rescaling(x: np.ndarray, scale, offset, data_format: str = "channels_last") -> np.ndarray:
    """Rescaling: ``x * scale + offset``; a per-channel ``scale`` (a list) gets trailing axes of 1
    up to rank 3 under channels_first, as Keras reshapes it. x : ndarray of any rank."""
    scale = _scalar(scale, x)
    if scale.ndim and data_format == "channels_first":
        scale = scale.reshape(scale.shape + (1,) * (3 - scale.ndim))
    return x * scale + _scalar(offset, x)


# ---- activation layers -------------------------------------------------------------------------

def relu(x: np.ndarray, max_value=None, negative_slope=0.0, threshold=0.0) -> np.ndarray:
    """ReLU layer, as ``keras.activations.relu``: ``x`` above ``threshold`` (else 0), capped at
    ``max_value``, minus ``negative_slope * relu(threshold - x)``. x : ndarray of any rank."""
    if max_value is not None and not threshold and not negative_slope:
        return np.clip(x, 0, _scalar(max_value, x))  # ReLU6 and kin: one pass instead of two
    y = np.where(x > threshold, x, np.zeros((), x.dtype)) if threshold else np.maximum(x, 0)
    if max_value is not None:
        np.clip(y, 0, _scalar(max_value, x), out=y)
    if negative_slope:
        negative = np.subtract(_scalar(threshold, x), x)
        np.maximum(negative, 0, out=negative)
        negative *= _scalar(negative_slope, x)
        y -= negative
    return y


def leaky_relu(x: np.ndarray, negative_slope: float) -> np.ndarray:
    """LeakyReLU: ``x`` where ``x >= 0``, else ``negative_slope * x``. x : ndarray of any rank."""
    return np.where(x >= 0, x, _scalar(negative_slope, x) * x)


def prelu(x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """PReLU: ``relu(x) - alpha * relu(-x)``; alpha has x's shape without the batch, with 1 on the
    ``shared_axes``. x : ndarray of shape (n, ...)."""
    return np.maximum(x, 0) - alpha * np.maximum(-x, 0)


def elu(x: np.ndarray, alpha: float) -> np.ndarray:
    """ELU layer: ``x`` where positive, else ``alpha * (exp(x) - 1)``. x : ndarray of any rank."""
    return _elu(x, _scalar(alpha, x))


def softmax(x: np.ndarray, axis, mask: np.ndarray | None = None) -> np.ndarray:
    """Softmax layer over ``axis`` (an int or several). With a ``mask`` (broadcastable to x; true or
    above 0.5 keeps a value) Keras puts -1e9 at the masked logits and zeros at the masked outputs.
    x : ndarray of any rank."""
    if mask is not None:
        mask = mask if mask.dtype == bool else mask > 0.5
        x = np.where(mask, x, _scalar(LARGE_NEGATIVE, x))
    axes = _axes(axis, x.ndim)
    e = np.exp(x - x.max(axis=axes, keepdims=True))
    e /= e.sum(axis=axes, keepdims=True)
    return e if mask is None else np.where(mask, e, np.zeros((), e.dtype))


def _leaky_slope(args: dict) -> float:
    return args["alpha"] if args.get("alpha") is not None else args["negative_slope"]


def _activation_name(identifier) -> str | None:
    if identifier is None:
        return None
    return identifier if isinstance(identifier, str) else identifier.short


# ---- attention ---------------------------------------------------------------------------------

def _projection(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, bound: int = 1) -> np.ndarray:
    """An EinsumDense of MultiHeadAttention: x's last ``bound`` axes contracted with the kernel's
    first ones.  x : (n, ..., *bound axes); kernel : (*bound axes, *out); bias : out."""
    y = np.tensordot(x, kernel, axes=bound)
    return y + bias if bias is not None else y


def attention_equations(rank: int, attention_axes: tuple[int, ...]) -> tuple[str, str, int]:
    """Keras's ``_build_attention_equation``: the einsum of the scores (key, query -> scores) and of
    the combination (scores, value -> output) for projected tensors of ``rank`` axes
    ``(batch, <other>, <attention axes>, heads, channels)``, and the scores' rank.

    >>> attention_equations(4, (1,))
    ('aecd,abcd->acbe', 'acbe,aecd->abcd', 4)
    """
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch_dims = [i for i in range(rank) if i not in attention_axes and i != rank - 1]
    source, offset = "", rank
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += letters[offset]
            offset += 1
    product = "".join([target[i] for i in batch_dims] + [target[i] for i in attention_axes]
                      + [source[i] for i in attention_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


def multi_head_attention(query: np.ndarray, value: np.ndarray, key: np.ndarray | None, weights: dict, *,
                         key_dim: int, attention_axes=None, use_gate: bool = False, sliding_window=None,
                         dropout: float = 0.0, query_mask=None, value_mask=None, key_mask=None,
                         use_causal_mask: bool = False, attention_mask=None) -> np.ndarray:
    """MultiHeadAttention at inference, as Keras's ``call(query, value, key)``.

    Projections ``Q = query . query/kernel + query/bias`` (kernel ``(d_q, heads, key_dim)``),
    likewise ``K`` from key (default: value) and ``V`` from value; scores
    ``softmax(Q / sqrt(key_dim) . K)`` over the key's attention axes; the heads' outputs (times
    ``sigmoid(gate)`` with ``use_gate``) go through ``attention_output/kernel`` ``(heads,
    value_dim, *output_shape)``.  ``sliding_window`` w keeps the keys with ``|i - j| < w`` on axis
    1, ``use_causal_mask`` those with ``j <= i``; masks (``(n, T)`` / ``(n, S)``, true keeps) are
    the Keras masks of the inputs.  Where every
    key of a query is masked, Keras's rank-4 dot-product path (no dropout) averages every value
    (the logits are all -1e9), its other path gives zeros: both are followed.
    query : (n, *T, d_q); value : (n, *S, d_v); key : (n, *S, d_k) or None.
    """
    key = value if key is None else key
    w = weights
    q = _projection(query, w["query/kernel"], w.get("query/bias"))
    k = _projection(key, w["key/kernel"], w.get("key/bias"))
    v = _projection(value, w["value/kernel"], w.get("value/bias"))
    rank = q.ndim
    axes = tuple(range(1, rank - 2)) if attention_axes is None else tuple(
        a if a >= 0 else rank - 1 + a for a in ((attention_axes,) if isinstance(attention_axes, int) else attention_axes))
    dot, combine, scores_rank = attention_equations(rank, axes)
    scores = np.einsum(dot, k, q * _scalar(1 / math.sqrt(float(key_dim)), q), optimize=True)
    mask = _attention_mask(query, value, query_mask, value_mask, key_mask, sliding_window, use_causal_mask)
    if attention_mask is not None:  # the call's attention_mask (n, T, S), AND-ed with the masks above
        given = np.asarray(attention_mask).astype(bool)
        mask = given if mask is None else given & mask
    if mask is not None:
        for _ in range(scores.ndim - mask.ndim):  # from the heads axis, as Keras expands it
            mask = np.expand_dims(mask, -2 * len(axes) - 1)
        if not broadcasts(mask.shape, scores.shape):
            raise ConvcalcError(
                f"Keras fails on this call too: its attention mask, of shape {mask.shape} as Keras builds it "
                f"from the inputs' masks, does not broadcast to the attention scores, of shape {scores.shape} "
                "(Keras's Softmax raises 'The mask must be broadcastable'; padding masks fit one attention axis).")
        scores = np.where(mask, scores, _scalar(LARGE_NEGATIVE, scores))
    norm = tuple(range(scores_rank - len(axes), scores_rank))
    probabilities = np.exp(scores - scores.max(axis=norm, keepdims=True))
    probabilities /= probabilities.sum(axis=norm, keepdims=True)
    if mask is not None and (dropout > 0 or rank != 4):  # Keras's masked Softmax zeroes the masked keys
        probabilities = np.where(mask, probabilities, np.zeros((), probabilities.dtype))
    output = np.einsum(combine, probabilities, v, optimize=True)
    if use_gate:
        output = output * _sigmoid(_projection(query, w["gate/kernel"], w.get("gate/bias")))
    out = _projection(output, w["attention_output/kernel"], w.get("attention_output/bias"), bound=2)
    return out.astype(query.dtype, copy=False)


def _attention_mask(query, value, query_mask, value_mask, key_mask, sliding_window,
                    use_causal_mask: bool = False) -> np.ndarray | None:
    """Keras's ``_compute_attention_mask``: ``(n, T, 1) & (n, 1, S) & (1, T, S)`` of what is given
    (the causal mask keeps ``j <= i``, Keras's ``_compute_causal_mask``)."""
    masks = []
    if query_mask is not None:
        masks.append(np.asarray(query_mask, bool)[..., np.newaxis])
    for m in (value_mask, key_mask):
        if m is not None:
            masks.append(np.asarray(m, bool)[..., np.newaxis, :])
    rows = np.arange(query.shape[1]).reshape(1, -1, 1)
    columns = np.arange(value.shape[1]).reshape(1, 1, -1)
    if use_causal_mask:
        masks.append(rows >= columns)
    if sliding_window is not None:
        masks.append(np.abs(rows - columns) < sliding_window)
    if not masks:
        return None
    mask = masks[0]
    for m in masks[1:]:
        mask = mask & m
    return mask


def attention_bytes(row, batch: int, dtype: np.dtype) -> int:
    """Output plus scratch of :func:`multi_head_attention` at ``batch``, an upper bound: two copies
    of each projection (einsum's transposed operands), five score-sized arrays (scores, shifted,
    probabilities, a mask's ``where``, a copy), four of the heads' output (gate, product,
    tensordot's copy) and the output.  Scores are taken as ``heads * T * S``, T and S the query's
    and value's sizes between batch and features (exact for the default attention axes)."""
    a = row.layer.args
    shapes = row.input_shape if isinstance(row.input_shape, list) else [row.input_shape]
    query, value = shapes[0], shapes[1]  # the key's positions are the value's
    heads, key_dim = a["num_heads"], a["key_dim"]
    value_dim = a["value_dim"] or key_dim
    t, s = math.prod(query[1:-1]), math.prod(value[1:-1])
    values = (2 * heads * (t * key_dim + s * key_dim + s * value_dim) + 5 * heads * t * s + 4 * heads * t * value_dim
              + math.prod(row.output_shape[1:]))
    return batch * values * np.dtype(dtype).itemsize


def _mha(row, x, w, options=None, masks=None) -> np.ndarray:
    """A MultiHeadAttention call: ``options`` its keyword options (``use_causal_mask``), ``masks`` the
    Keras masks of its tensors (query, value[, key]), as Keras fills ``query_mask``, ``value_mask``
    and ``key_mask`` (the key's only when the key is given)."""
    a = row.layer.args
    options = options or {}
    query, value, *key = x
    masks = list(masks or []) + [None] * 3
    expected = (query.shape[0], *query.shape[1:-1], *value.shape[1:-1])
    named = (("query_mask", masks[0], query.shape[:-1]), ("value_mask", masks[1], value.shape[:-1]),
             ("key_mask", masks[2] if key else None, value.shape[:-1]),
             ("attention_mask", options.get("attention_mask"), expected))
    for name, mask, shape in named:
        if mask is not None and not broadcasts(np.shape(mask), shape):
            raise ConvcalcError(f"layer {row.index} {row.name} (MultiHeadAttention): its {name} has shape "
                                f"{tuple(np.shape(mask))}, which does not broadcast to {tuple(shape)}.")
    return multi_head_attention(query, value, key[0] if key else None, w, key_dim=a["key_dim"],
                                attention_axes=a["attention_axes"], use_gate=a["use_gate"],
                                sliding_window=a["sliding_window"], dropout=a["dropout"],
                                query_mask=masks[0], value_mask=masks[1], key_mask=masks[2] if key else None,
                                use_causal_mask=bool(options.get("use_causal_mask")),
                                attention_mask=options.get("attention_mask"))


def broadcasts(shape: tuple, target: tuple) -> bool:
    """Whether an array of ``shape`` broadcasts to ``target`` (NumPy's and TensorFlow's rule)."""
    if len(shape) > len(target):
        return False
    return all(m in (1, t) for m, t in zip(reversed(shape), reversed(target)))


def global_average_pooling_1d_masked(x: np.ndarray, mask: np.ndarray, data_format: str, keepdims: bool) -> np.ndarray:
    """GlobalAveragePooling1D with a Keras mask ``(n, steps)``: the mean of the kept steps, as Keras's
    ``call(inputs, mask)`` (masked steps set to 0, the sum divided by the count of kept steps)."""
    steps = 1 if data_format == "channels_last" else 2
    keep = np.expand_dims(np.asarray(mask, bool), 2 if data_format == "channels_last" else 1)
    total = np.where(keep, x, np.zeros((), x.dtype)).sum(axis=steps, keepdims=keepdims)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / keep.astype(x.dtype).sum(axis=steps, keepdims=keepdims)


# ---- application layers ------------------------------------------------------------------------

def layer_scale(x: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """LayerScale (ConvNeXt): ``x * gamma``, gamma (Keras names it ``variable``) of shape
    ``(projection_dim,)`` broadcast on the last axis."""
    return x * gamma


def custom_scale(inputs: Sequence[np.ndarray], scale) -> np.ndarray:
    """CustomScaleLayer (Inception-ResNet-v2): ``inputs[0] + inputs[1] * scale``; further inputs are
    ignored, as in Keras."""
    return inputs[0] + inputs[1] * _scalar(scale, inputs[1])


def _list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


# ---- the tables execute.py merges ----------------------------------------------------------------

RUNS: dict[str, Callable] = {
    "Dense": lambda row, x, w: dense(x, w["kernel"], w.get("bias"), row.layer.args["activation"]),
    "Embedding": lambda row, x, w: embedding(x, w, f"layer {row.index} {row.name} (Embedding)"),
    "RepeatVector": lambda row, x, w: repeat_vector(x, row.layer.args["n"]),
    "Masking": lambda row, x, w: masking(x, row.layer.args["mask_value"]),
    "BatchNormalization": lambda row, x, w: batch_normalization(
        x, w, row.layer.args["axis"], row.layer.args["epsilon"]),
    "LayerNormalization": lambda row, x, w: layer_normalization(
        x, w, row.layer.args["axis"], row.layer.args["epsilon"], row.layer.args["rms_scaling"]),
    "GroupNormalization": lambda row, x, w: group_normalization(
        x, w, row.layer.args["groups"], row.layer.args["axis"], row.layer.args["epsilon"]),
    "UnitNormalization": lambda row, x, w: unit_normalization(x, row.layer.args["axis"]),
    "Normalization": lambda row, x, w: normalization(
        x, w["mean"] if "mean" in w else row.layer.args["mean"],
        w["variance"] if "variance" in w else row.layer.args["variance"],
        row.layer.args["axis"], row.layer.args["invert"]),
    "Rescaling": lambda row, x, w: rescaling(x, row.layer.args["scale"], row.layer.args["offset"], row.data_format),
    "Activation": lambda row, x, w: apply_activation(row.layer.args["activation"], x),
    "ReLU": lambda row, x, w: relu(
        x, row.layer.args["max_value"], row.layer.args["negative_slope"], row.layer.args["threshold"]),
    "LeakyReLU": lambda row, x, w: leaky_relu(x, _leaky_slope(row.layer.args)),
    "PReLU": lambda row, x, w: prelu(x, w["alpha"]),
    "ELU": lambda row, x, w: elu(x, row.layer.args["alpha"]),
    "Softmax": lambda row, x, w: softmax(x, row.layer.args["axis"]),
    "MultiHeadAttention": lambda row, x, w: _mha(row, _list(x), w),
    "LayerScale": lambda row, x, w: layer_scale(x, w["variable"]),
    "CustomScaleLayer": lambda row, x, w: custom_scale(_list(x), row.layer.args["scale"]),
    **{name: lambda row, x, w: x for name in IDENTITY_AT_INFERENCE},
}


def _relu_in_place(row, x: np.ndarray, w) -> np.ndarray | None:
    """ReLU written into x (plain, or capped as ReLU6), else None (threshold or slope: the general path)."""
    args = row.layer.args
    if args["threshold"] or args["negative_slope"]:
        return None
    if args["max_value"] is None:
        return np.maximum(x, 0, out=x)
    return np.clip(x, 0, _scalar(args["max_value"], x), out=x)


IN_PLACE: dict[str, Callable] = {
    "Activation": lambda row, x, w: apply_activation(row.layer.args["activation"], x, in_place=True),
    "ReLU": _relu_in_place,
}
"""Layers that may write their result into their input, when the run no longer needs it
(``run_graph`` decides): ``(row, x, weights) -> x``, or None to take the usual kernel."""


def _softmax_call(row, x, w, options: dict, masks: list) -> np.ndarray | None:
    """Softmax given its input's Keras mask (None without one: the plain kernel). Keras takes the mask only
    where it broadcasts to the input, compared from the last axis, and raises elsewhere: so does this."""
    if not masks or masks[0] is None:
        return None
    shape, mask_shape = np.shape(x), tuple(np.shape(masks[0]))
    if not broadcasts(mask_shape, shape):
        raise ConvcalcError(
            f"layer {row.index} {row.name} (Softmax): Keras fails on this call too: the Keras mask it receives, "
            f"of shape {mask_shape}, must be broadcastable to its input, of shape {tuple(shape)} (Keras "
            "compares them from the last axis; a (batch, steps) mask only fits a batch of 1 or steps-wide "
            "features).")
    return softmax(x, row.layer.args["axis"], masks[0])


def _pooling_call(row, x, w, options: dict, masks: list) -> np.ndarray | None:
    """GlobalAveragePooling1D given its input's Keras mask, one value per step (None without one)."""
    if not masks or masks[0] is None:
        return None
    steps = x.shape[:2] if row.data_format == "channels_last" else (x.shape[0], x.shape[2])
    if tuple(np.shape(masks[0])) != tuple(steps):
        raise ConvcalcError(f"layer {row.index} {row.name} (GlobalAveragePooling1D): its mask has shape "
                            f"{tuple(np.shape(masks[0]))} where Keras needs one value per step, {tuple(steps)}.")
    return global_average_pooling_1d_masked(x, masks[0], row.data_format, row.layer.args["keepdims"])


CALLS: dict[str, Callable] = {
    "MultiHeadAttention": lambda row, x, w, options, masks: _mha(row, _list(x), w, options, masks),
    "Softmax": _softmax_call,
    "GlobalAveragePooling1D": _pooling_call,
}
"""Layers whose call reads the Keras masks of its tensors or its keyword options:
``(row, x, weights, options, masks) -> y``, or None to take the usual kernel."""


BYTES: dict[str, Callable] = {"MultiHeadAttention": attention_bytes}
"""Output plus scratch ``(row, batch, dtype) -> bytes`` of the layers whose scratch outgrows
their input and output (the general bound of :mod:`convcalc.execute` covers the others)."""


def _activation_refusal(row) -> str | None:
    name = _activation_name(row.layer.args.get("activation"))
    if name is None or name in ACTIVATIONS:  # glu and threshold are refused with the shapes already
        return None
    return f"--run does not execute activation={name!r}"


def _quantized(row) -> str | None:
    config = row.layer.args.get("quantization_config")
    if config is not None:
        return f"--run does not execute quantized weights (quantization_config={config!r})"
    return None


def _dense_refusal(row) -> str | None:
    return _quantized(row) or _activation_refusal(row)


def _mha_refusal(row) -> str | None:
    shapes = row.input_shape if isinstance(row.input_shape, list) else [row.input_shape]
    if len(shapes) > 3:
        return ("--run executes MultiHeadAttention called on query, value and key; "
                f"this call passes {len(shapes)} tensors (masks are not executed)")
    return None


REFUSALS: dict[str, Callable] = {
    "Dense": _dense_refusal,
    "Activation": _activation_refusal,
    "Embedding": _quantized,
    "MultiHeadAttention": _mha_refusal,
}
