"""What the PyTorch layers compute under ``--run`` (``convcalc.torch_layers``), with convcalc's own kernels.

Everything is NCHW.  A PyTorch weight is permuted to the Keras layout the
kernels take: ``(out, in/groups, kh, kw) -> (kh, kw, in/groups, out)`` for
Conv2d and ``(in, out/groups, kh, kw) -> (kh, kw, out/groups, in)`` for each
group of ConvTranspose2d: the same permutation, ``(2, 3, 1, 0)``.
:data:`RUNS` maps each layer type to ``(row, x, weights) -> y`` for
``convcalc.execute.LAYER_KERNELS``.
"""

from __future__ import annotations

import numpy as np

from . import kernels

# padding_mode -> np.pad's mode (PyTorch's F.pad modes: reflect leaves the edge out, replicate repeats it)
NP_PAD_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
TORCH_TO_KERAS = (2, 3, 1, 0)  # np.transpose axes: PyTorch weight -> Keras kernel, both layer kinds


def pad_nchw(x: np.ndarray, pads, mode: str = "zeros") -> np.ndarray:
    """``F.pad`` of height and width: ``pads`` is ``((top, bottom), (left, right))``; a negative amount crops.

    x : ndarray of shape (n, c, h, w)
    """
    crop = [slice(None)] * 2 + [slice(max(-b, 0), x.shape[axis] - max(-e, 0)) for axis, (b, e) in
                                zip((2, 3), pads)]
    x = x[tuple(crop)]
    widths = ((0, 0), (0, 0), *((max(b, 0), max(e, 0)) for b, e in pads))
    if not any(b or e for b, e in widths):
        return x
    return np.pad(x, widths, mode=NP_PAD_MODES[mode])


def conv2d(x: np.ndarray, weight: np.ndarray, bias, stride, pads, dilation, groups: int,
           padding_mode: str = "zeros") -> np.ndarray:
    """``torch.nn.functional.conv2d`` after ``F.pad``: x (n, c, h, w), weight (out, c/groups, kh, kw).

    Keras refuses strides > 1 with dilation > 1, which PyTorch allows: that case runs at stride 1 and
    keeps every ``stride``-th output (output ``o`` reads input ``o*s + t*d`` either way).
    """
    x = pad_nchw(x, pads, padding_mode)
    kernel = np.transpose(weight, TORCH_TO_KERAS)
    both = max(stride) > 1 and max(dilation) > 1
    y = kernels.conv2d(x, kernel, bias, strides=(1, 1) if both else stride, padding="valid", dilation_rate=dilation,
                       groups=groups, data_format="channels_first")
    return y[:, :, ::stride[0], ::stride[1]] if both else y


def conv_transpose2d(x: np.ndarray, weight: np.ndarray, bias, stride, padding, output_padding, dilation,
                     groups: int) -> np.ndarray:
    """``torch.nn.functional.conv_transpose2d``: x (n, c, h, w), weight (c, out/groups, kh, kw).

    The full result (``(n-1)*s + d*(k-1) + 1`` per axis, Keras's "valid" with output_padding 0) gets
    ``output_padding`` rows of zeros after it, then ``padding`` is cropped from both sides; bias last
    (the added rows hold the bias alone, as in PyTorch).  Groups run one at a time.
    """
    stride, dilation = tuple(stride), tuple(dilation)
    if max(stride) > 1 and max(dilation) > 1:  # Keras refuses both: spread the input by hand, then stride 1
        spread = np.zeros((*x.shape[:2], (x.shape[2] - 1) * stride[0] + 1, (x.shape[3] - 1) * stride[1] + 1),
                          dtype=x.dtype)
        spread[:, :, ::stride[0], ::stride[1]] = x
        x, stride = spread, (1, 1)
    per_group = x.shape[1] // groups
    parts = []
    for g in range(groups):
        kernel = np.transpose(weight[g * per_group:(g + 1) * per_group], TORCH_TO_KERAS)
        parts.append(kernels.conv2d_transpose(x[:, g * per_group:(g + 1) * per_group], kernel, strides=stride,
                                              padding="valid", output_padding=(0, 0), dilation_rate=dilation,
                                              data_format="channels_first"))
    y = np.concatenate(parts, axis=1) if groups > 1 else parts[0]
    y = pad_nchw(y, tuple((-p, op - p) for p, op in zip(padding, output_padding)))
    if bias is not None:
        y = y + bias.astype(y.dtype).reshape(1, -1, 1, 1)
    return y


def _conv2d(row, x, weights):
    a = row.layer.args
    return conv2d(x, weights["weight"], weights.get("bias"), a["stride"], row.padding, a["dilation"], a["groups"],
                  a["padding_mode"])


def _conv_transpose2d(row, x, weights):
    a = row.layer.args
    return conv_transpose2d(x, weights["weight"], weights.get("bias"), a["stride"], a["padding"],
                            a["output_padding"], a["dilation"], a["groups"])


RUNS = {
    "Conv2d": _conv2d,
    "ConvTranspose2d": _conv_transpose2d,
    "ZeroPad2d": lambda row, x, weights: pad_nchw(x, row.padding),
}


# --------------------------------------------------------------------------
# Memory: what each call allocates, from the kernels' own accounting
# --------------------------------------------------------------------------


def _padded_shape(row, batch: int) -> tuple[int, ...]:
    channels, *spatial = row.input_shape[1:]
    return (batch, channels, *(n + b + e for n, (b, e) in zip(spatial, row.padding)))


def conv2d_bytes(row, batch: int, dtype: np.dtype) -> int:
    """nn.Conv2d: the padded copy of the input, then conv2d's output and scratch (at stride 1, before
    subsampling, when stride and dilation are both > 1)."""
    a = row.layer.args
    padded = _padded_shape(row, batch)
    out, cin_g, kh, kw = row.kernel_shape
    both = max(a["stride"]) > 1 and max(a["dilation"]) > 1
    copy = int(np.prod(padded)) * dtype.itemsize if any(b or e for b, e in row.padding) else 0
    return copy + kernels.conv2d_memory(padded, (kh, kw, cin_g, out), (1, 1) if both else a["stride"], "valid",
                                        a["dilation"], a["groups"], "channels_first", dtype=dtype.name)


def conv_transpose2d_bytes(row, batch: int, dtype: np.dtype) -> int:
    """nn.ConvTranspose2d: per group, conv2d_transpose's full result and scratch (all groups' results
    are kept for the concatenation), the stride-spread input when needed, then the cropped copy."""
    a = row.layer.args
    cin, out_g, kh, kw = row.kernel_shape
    channels, h, w = row.input_shape[1:]
    stride, spread = a["stride"], 0
    if max(stride) > 1 and max(a["dilation"]) > 1:
        h, w = (h - 1) * stride[0] + 1, (w - 1) * stride[1] + 1
        spread, stride = batch * channels * h * w * dtype.itemsize, (1, 1)
    groups = a["groups"]
    one = kernels.conv2d_transpose_memory((batch, cin // groups, h, w), (kh, kw, out_g, cin // groups), stride,
                                          "valid", (0, 0), a["dilation"], "channels_first", dtype=dtype.name)
    final = batch * int(np.prod(row.output_shape[1:])) * dtype.itemsize
    return spread + groups * one + 2 * final


BYTES = {"Conv2d": conv2d_bytes, "ConvTranspose2d": conv_transpose2d_bytes,
         "ZeroPad2d": lambda row, batch, dtype: batch * int(np.prod(row.output_shape[1:])) * dtype.itemsize}
