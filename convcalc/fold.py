"""BatchNormalization folded into the convolution that feeds it, as TensorFlow's graph optimizer does.

At inference a BatchNormalization is ``y * s + t`` per channel, with
``s = gamma / sqrt(moving_variance + epsilon)`` and ``t = beta - moving_mean * s``.
After a convolution with no activation, ``conv(x, kernel) + bias`` then ``* s + t``
equals ``conv(x, kernel * s) + (bias * s + t)``: the normalization costs nothing more
than the convolution's own bias, and no tensor is made in between.  The numbers differ
from the two steps by float32 rounding only (a few ulps of the output).

``run_graph`` folds a BatchNormalization that is the only reader of such a convolution's
output, normalizing its channel axis; :func:`folded_weights` says whether the pair folds
and gives the convolution's new weights.
"""

from __future__ import annotations

import numpy as np

from . import feature_kernels
from .result import LayerRow

# Layers whose output channel is the last axis of the named kernel (depthwise: its last two,
# channel c*M + m, as TensorFlow orders them).
KERNELS = {
    "Conv1D": "kernel", "Conv2D": "kernel", "Conv3D": "kernel",
    "DepthwiseConv1D": "kernel", "DepthwiseConv2D": "kernel",
    "SeparableConv1D": "pointwise_kernel", "SeparableConv2D": "pointwise_kernel",
}


def may_fold(conv: LayerRow) -> bool:
    """Whether a BatchNormalization after this layer could fold into it (a convolution, no activation)."""
    return conv.type in KERNELS and conv.layer is not None and conv.layer.args.get("activation") in (None, "linear")


def folded_weights(conv: LayerRow, weights: dict, norm: LayerRow, norm_weights: dict, dtype: np.dtype) -> dict | None:
    """The convolution's weights with the BatchNormalization folded in, or None when the pair does not fold.

    It folds when the normalization acts on the convolution's channel axis alone (the last axis
    for channels_last, axis 1 for channels_first).  The scale is computed as the layer computes
    it, in the run's dtype; the kernel and bias are rescaled in that dtype too.
    """
    if not may_fold(conv) or norm.type != "BatchNormalization" or norm.layer is None:
        return None
    rank = len(conv.output_shape)
    channel_axis = rank - 1 if conv.data_format != "channels_first" else 1
    if feature_kernels._axes(norm.layer.args["axis"], rank) != (channel_axis,):
        return None
    name = KERNELS[conv.type]
    kernel = np.asarray(weights[name], dtype=dtype)
    filters = conv.output_shape[channel_axis]
    scale, shift = feature_kernels.batch_norm_affine(
        {key: np.asarray(value, dtype=dtype).reshape(-1) for key, value in norm_weights.items()},
        np.asarray(norm.layer.args["epsilon"], dtype=dtype))
    if scale.shape != (filters,) or shift.shape != (filters,):
        return None
    scaled = kernel * (scale.reshape(kernel.shape[-2:]) if conv.type.startswith("Depthwise") else scale)
    bias = weights.get("bias")
    folded = dict(weights)
    folded[name] = scaled
    folded["bias"] = shift if bias is None else np.asarray(bias, dtype=dtype) * scale + shift
    return folded
