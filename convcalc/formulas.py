"""Every shape, padding and parameter formula of convcalc, in one place.

Pure integer functions of one spatial axis (or of a whole kernel), standard
library only, so that the shape-only path stays fast and the kernels in
``convcalc.kernels`` use the very same numbers.  Keras 3 is the reference:
the equations follow ``keras/src/ops/operation_utils.py`` and
``keras/src/backend/common/backend_utils.py``, kept in integers.

Invalid arguments are not checked here (``convcalc.layers`` does that with
messages that name the layer); the functions assume positive sizes.  A length
may be ``None`` (unknown until run time, as in ``keras.Input(shape=(None, 3))``):
every length formula then answers ``None``, as Keras's ``compute_output_shape`` does.
"""

from __future__ import annotations

from math import prod


def effective_kernel(kernel_size: int, dilation_rate: int = 1) -> int:
    """Span of a dilated kernel: ``ke = dilation_rate*(kernel_size-1) + 1``.

    >>> effective_kernel(3, 2)
    5
    """
    return dilation_rate * (kernel_size - 1) + 1


def conv_output_length(
    length: int | None, kernel_size: int, strides: int = 1, padding: str = "valid", dilation_rate: int = 1
) -> int | None:
    """Conv2D output length along one axis (pooling too, with ``kernel_size = pool_size``).

    valid: ``floor((n - ke) / s) + 1``; same (and causal): ``ceil(n / s)``; unknown ``n``: None.
    The result may be zero or negative for "valid": the caller rejects it.

    >>> conv_output_length(32, 8, padding="same")
    32
    >>> conv_output_length(5, 3, strides=2)
    2
    >>> conv_output_length(5, 3, strides=3, padding="same")
    2
    >>> conv_output_length(None, 3) is None
    True
    """
    if length is None:
        return None
    if padding in ("same", "causal"):
        return -(-length // strides)
    return (length - effective_kernel(kernel_size, dilation_rate)) // strides + 1


def conv_padding(
    length: int | None, kernel_size: int, strides: int = 1, padding: str = "valid", dilation_rate: int = 1
) -> tuple[int, int] | None:
    """Conv2D padding (before, after) along one axis, as TensorFlow splits it.

    same: ``total = max((out-1)*s + ke - n, 0)``, ``before = total // 2``,
    ``after = total - before``: the odd pixel goes to the bottom/right.
    valid: ``(0, 0)``.  same on an unknown length: None (the split depends on ``n``).

    >>> conv_padding(32, 8, padding="same")
    (3, 4)
    >>> conv_padding(5, 3, strides=2, padding="same")
    (1, 1)
    >>> conv_padding(6, 3, strides=2, padding="same")
    (0, 1)
    >>> conv_padding(None, 3, padding="same") is None, conv_padding(None, 3)
    (True, (0, 0))
    """
    if padding != "same":
        return (0, 0)
    if length is None:
        return None
    out = conv_output_length(length, kernel_size, strides, padding, dilation_rate)
    total = max((out - 1) * strides + effective_kernel(kernel_size, dilation_rate) - length, 0)
    return (total // 2, total - total // 2)


def default_output_padding(kernel_size: int, strides: int = 1, dilation_rate: int = 1) -> int:
    """Conv2DTranspose "valid" with ``output_padding=None``: ``op = max(ke, s) - ke``.

    >>> default_output_padding(2, 3), default_output_padding(3, 2)
    (1, 0)
    """
    ke = effective_kernel(kernel_size, dilation_rate)
    return max(ke, strides) - ke


def stretched_length(length: int, strides: int = 1) -> int:
    """A transposed convolution's input with ``s-1`` zeros between pixels: ``n + (n-1)*(s-1)``.

    >>> stretched_length(5, 2), stretched_length(1, 4)
    (9, 1)
    """
    return length + (length - 1) * (strides - 1)


def conv_transpose_output_length(
    length: int | None,
    kernel_size: int,
    strides: int = 1,
    padding: str = "valid",
    output_padding: int | None = None,
    dilation_rate: int = 1,
) -> int | None:
    """Conv2DTranspose output length along one axis.

    valid: ``(n-1)*s + ke + op`` where ``op=None`` means ``max(ke, s) - ke``;
    same: ``n*s`` when ``op`` is None, else ``(n-1)*s + ke%2 + op``; unknown ``n``: None.

    >>> conv_transpose_output_length(5, 3, strides=2)
    11
    >>> conv_transpose_output_length(5, 3, strides=2, padding="same")
    10
    >>> conv_transpose_output_length(5, 3, strides=2, padding="same", output_padding=0)
    9
    >>> conv_transpose_output_length(1, 2, strides=2, padding="same", output_padding=0)
    0
    >>> conv_transpose_output_length(None, 3, strides=2) is None
    True
    """
    if length is None:
        return None
    ke = effective_kernel(kernel_size, dilation_rate)
    if padding == "same":
        if output_padding is None:
            return length * strides
        return (length - 1) * strides + ke % 2 + output_padding
    if output_padding is None:
        output_padding = default_output_padding(kernel_size, strides, dilation_rate)
    return (length - 1) * strides + ke + output_padding


def output_padding_for(
    length: int, target: int, kernel_size: int, strides: int = 1, padding: str = "valid", dilation_rate: int = 1
) -> int:
    """The ``output_padding`` that makes a Conv2DTranspose map ``length`` to ``target`` along one axis.

    :func:`conv_transpose_output_length` with ``op`` given, solved for ``op``: valid
    ``target - (n-1)*s - ke``; same ``target - (n-1)*s - ke%2``.  Keras accepts it only when
    ``0 <= op < strides``; the caller checks that (a value outside says no ``output_padding`` can).

    >>> output_padding_for(38, 75, 3, strides=2, padding="same"), output_padding_for(37, 75, 2, strides=2)
    (0, 1)
    >>> output_padding_for(38, 77, 3, strides=2, padding="same")
    2
    """
    ke = effective_kernel(kernel_size, dilation_rate)
    return target - (length - 1) * strides - (ke % 2 if padding == "same" else ke)


def unread_length(
    length: int, kernel_size: int, strides: int = 1, padding: str = "valid", dilation_rate: int = 1
) -> int:
    """Input pixels at the end of an axis that no window of a Conv2D (or pooling) reads: the pixels
    the floor drops.  The last window ends at ``(out-1)*s - before + ke``, so it is
    ``max(n - ((out-1)*s - before + ke), 0)``; for "valid" that is ``(n - ke) % s``.

    >>> unread_length(75, 3, strides=2), unread_length(76, 3, strides=2), unread_length(6, 1, 3, "same")
    (0, 1, 2)
    """
    out = conv_output_length(length, kernel_size, strides, padding, dilation_rate)
    before = conv_padding(length, kernel_size, strides, padding, dilation_rate)[0]
    return max(length - ((out - 1) * strides - before + effective_kernel(kernel_size, dilation_rate)), 0)


def conv_transpose_padding(
    kernel_size: int,
    strides: int = 1,
    padding: str = "valid",
    output_padding: int | None = None,
    dilation_rate: int = 1,
) -> tuple[int, int]:
    """Conv2DTranspose padding (before, after) along one axis.

    The padding of the equivalent direct convolution (stride 1, kernel
    flipped) over the input with ``s-1`` zeros inserted between pixels, as
    Keras computes it for JAX. valid: ``(ke-1, ke-1+op)``; same:
    ``pad_len = s+ke-2`` (op None) or ``ke + ke%2 - 2 + op``,
    ``before = min(pad_len//2 + pad_len%2, ke-1)``, ``after = pad_len - before``.

    >>> conv_transpose_padding(3, strides=2)
    (2, 2)
    >>> conv_transpose_padding(2, strides=3)
    (1, 2)
    >>> conv_transpose_padding(3, strides=2, padding="same")
    (2, 1)
    >>> conv_transpose_padding(4, strides=2, padding="same", output_padding=1)
    (2, 1)
    """
    ke = effective_kernel(kernel_size, dilation_rate)
    if padding != "same":
        if output_padding is None:
            output_padding = default_output_padding(kernel_size, strides, dilation_rate)
        return (ke - 1, ke - 1 + output_padding)
    if output_padding is None:
        pad_len = strides + ke - 2
    else:
        pad_len = ke + ke % 2 - 2 + output_padding
    before = min(pad_len // 2 + pad_len % 2, ke - 1)
    return (before, pad_len - before)


def conv_kernel_shape(
    kernel_size: tuple[int, ...], in_channels: int, filters: int, groups: int = 1
) -> tuple[int, ...]:
    """Keras Conv kernel layout: ``(*kernel_size, in_channels/groups, filters)``.

    >>> conv_kernel_shape((2, 2), 3, 1)
    (2, 2, 3, 1)
    >>> conv_kernel_shape((3, 3), 64, 64, groups=64)
    (3, 3, 1, 64)
    """
    return (*kernel_size, in_channels // groups, filters)


def conv_transpose_kernel_shape(
    kernel_size: tuple[int, ...], in_channels: int, filters: int
) -> tuple[int, ...]:
    """Keras ConvTranspose kernel layout: ``(*kernel_size, filters, in_channels)``.

    >>> conv_transpose_kernel_shape((4, 4), 128, 64)
    (4, 4, 64, 128)
    """
    return (*kernel_size, filters, in_channels)


def lora_shapes(kernel_shape: tuple[int, ...], lora_rank: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shapes of the two LoRA factors Keras adds to a conv kernel.

    ``lora_kernel_a``: ``kernel_shape[:-1] + (r,)``; ``lora_kernel_b``: ``(r, filters)``.

    >>> lora_shapes((3, 3, 16, 32), 4)
    ((3, 3, 16, 4), (4, 32))
    """
    return ((*kernel_shape[:-1], lora_rank), (lora_rank, kernel_shape[-1]))


def weight_count(shape: tuple[int, ...]) -> int:
    """Number of scalars in a weight of this shape: the product of its sizes.

    >>> weight_count((2, 2, 3, 1))
    12
    """
    return prod(shape)


def conv_params(
    kernel_shape: tuple[int, ...], filters: int, use_bias: bool = True, lora_rank: int | None = None
) -> tuple[int, int]:
    """(trainable, non_trainable) parameters of a Conv2D or Conv2DTranspose.

    ``kh*kw*(C_in/groups)*filters (+filters)`` for Conv2D and
    ``kh*kw*filters*C_in (+filters)`` for Conv2DTranspose, that is
    ``prod(kernel_shape) + filters*use_bias``. With ``lora_rank`` (Conv2D) the
    kernel becomes non-trainable and the two LoRA factors are trainable.

    >>> conv_params((2, 2, 3, 1), 1)
    (13, 0)
    >>> conv_params((8, 8, 1, 10), 10, use_bias=False)
    (640, 0)
    >>> conv_params((4, 4, 64, 128), 64)
    (131136, 0)
    >>> conv_params((3, 3, 16, 32), 32, lora_rank=4)
    (736, 4608)
    """
    kernel = weight_count(kernel_shape)
    bias = filters if use_bias else 0
    if lora_rank:
        a, b = lora_shapes(kernel_shape, lora_rank)
        return (weight_count(a) + weight_count(b) + bias, kernel)
    return (kernel + bias, 0)


def depthwise_kernel_shape(kernel_size: tuple[int, ...], in_channels: int, depth_multiplier: int) -> tuple[int, ...]:
    """Keras depthwise kernel layout: ``(*kernel_size, in_channels, depth_multiplier)``.

    >>> depthwise_kernel_shape((3, 3), 32, 1)
    (3, 3, 32, 1)
    """
    return (*kernel_size, in_channels, depth_multiplier)


def pointwise_kernel_shape(in_channels: int, depth_multiplier: int, filters: int, rank: int = 2) -> tuple[int, ...]:
    """SeparableConv's 1x1 kernel: ``(1, 1, in_channels*depth_multiplier, filters)``.

    >>> pointwise_kernel_shape(32, 1, 64)
    (1, 1, 32, 64)
    """
    return (*(1,) * rank, in_channels * depth_multiplier, filters)


def padded_length(length: int | None, before: int, after: int) -> int | None:
    """ZeroPadding: ``n + before + after``; Cropping is the same with negative amounts; unknown ``n``: None.

    >>> padded_length(224, 3, 3), padded_length(28, -1, -2), padded_length(None, 1, 1)
    (230, 25, None)
    """
    return None if length is None else length + before + after


def upsampled_length(length: int | None, size: int) -> int | None:
    """UpSampling: ``n * size``; unknown ``n``: None.

    >>> upsampled_length(7, 2), upsampled_length(None, 2)
    (14, None)
    """
    return None if length is None else length * size


def dense_kernel_shape(in_features: int, units: int) -> tuple[int, int]:
    """Dense kernel layout: ``(in_features, units)``.

    >>> dense_kernel_shape(1024, 10)
    (1024, 10)
    """
    return (in_features, units)


def frozen(trainable: int, non_trainable: int, is_trainable: bool = True) -> tuple[int, int]:
    """Keras's ``trainable=False``: every weight of the layer (or model) becomes non-trainable.

    >>> frozen(10, 2, False), frozen(10, 2)
    ((0, 12), (10, 2))
    """
    return (trainable, non_trainable) if is_trainable else (0, trainable + non_trainable)


def flat_length(shape: tuple[int | None, ...]) -> int | None:
    """Flatten: the product of every axis but the batch; None if any of them is unknown.

    >>> flat_length((7, 7, 512)), flat_length((None, 7, 512))
    (25088, None)
    """
    return None if None in shape else prod(shape)


def inferred_length(total: int, known: int) -> int:
    """Reshape's ``-1``: ``total // known``, the size the other target sizes leave (Keras checks divisibility).

    >>> inferred_length(60, 4)
    15
    """
    return total // known


def broadcast_shapes(a: tuple, b: tuple, unknown_wins: bool = False) -> tuple | None:
    """NumPy broadcasting of two shapes, aligned right: equal sizes, or a size 1 that stretches.

    An unknown size (None) against a known one: Keras's merge layers give None
    (``unknown_wins``); ``keras.ops`` and TensorFlow give the known size.
    ``None`` when the shapes cannot broadcast (the caller says why).

    >>> broadcast_shapes((None, 1, 1, 16), (7, 7, 16)), broadcast_shapes((4,), (5,))
    ((None, 7, 7, 16), None)
    >>> broadcast_shapes((None, 5), (3, 1)), broadcast_shapes((None, 5), (3, 1), unknown_wins=True)
    ((3, 5), (None, 5))
    """
    if len(a) < len(b):
        a, b = b, a
    b = (1,) * (len(a) - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x is None or y is None:
            out.append(None if unknown_wins or (x in (None, 1) and y in (None, 1)) else x if y is None else y)
        elif x == 1 or y == 1:
            out.append(y if x == 1 else x)
        elif x != y:
            return None
        else:
            out.append(x)
    return tuple(out)


def causal_padding(kernel_size: int, dilation_rate: int = 1) -> tuple[int, int]:
    """Conv1D ``padding='causal'``: the whole span but one on the left, ``(ke - 1, 0)``.

    >>> causal_padding(3, 2)
    (4, 0)
    """
    return (effective_kernel(kernel_size, dilation_rate) - 1, 0)


def slice_length(length: int, key: slice) -> int:
    """Size of ``x[start:stop:step]`` along an axis of ``length``: ``len(range(*key.indices(length)))``.

    >>> slice_length(10, slice(2, None)), slice_length(10, slice(None, None, 3)), slice_length(4, slice(-1, None))
    (8, 4, 1)
    """
    return len(range(*key.indices(length)))


# --------------------------------------------------------------------------
# Cost (SPEC 7): multiply-adds per sample, every product of the definition,
# padding zeros and inserted zeros included
# --------------------------------------------------------------------------


def conv_macs(out_spatial: tuple[int, ...], filters: int, kernel_size: tuple[int, ...], in_channels: int,
              groups: int = 1) -> int:
    """Conv MACs per sample: ``prod(out_spatial) * filters * prod(kernel_size) * in_channels/groups``.

    >>> conv_macs((32, 32), 10, (8, 8), 3)
    1966080
    >>> conv_macs((4,), 8, (3,), 8, groups=4)
    192
    """
    return prod(out_spatial) * filters * prod(kernel_size) * (in_channels // groups)


def conv_transpose_macs(in_spatial: tuple[int, ...], in_channels: int, kernel_size: tuple[int, ...],
                        filters: int) -> int:
    """Transposed-conv MACs per sample, counted over the input: ``prod(in_spatial) * C_in * prod(kernel) * filters``.

    Each input pixel stamps the whole kernel once; the zeros a stride inserts are not products.

    >>> conv_transpose_macs((5, 5), 3, (3, 3), 2)
    1350
    """
    return prod(in_spatial) * in_channels * prod(kernel_size) * filters


def depthwise_macs(out_spatial: tuple[int, ...], in_channels: int, depth_multiplier: int,
                   kernel_size: tuple[int, ...]) -> int:
    """Depthwise MACs per sample: ``prod(out_spatial) * C_in * depth_multiplier * prod(kernel_size)``.

    >>> depthwise_macs((16, 16), 32, 1, (3, 3))
    73728
    """
    return prod(out_spatial) * in_channels * depth_multiplier * prod(kernel_size)


def pointwise_macs(out_spatial: tuple[int, ...], in_channels: int, filters: int) -> int:
    """A 1x1 convolution's MACs per sample (a SeparableConv's second step): ``prod(out_spatial) * C_in * filters``.

    >>> pointwise_macs((16, 16), 32, 64)
    524288
    """
    return prod(out_spatial) * in_channels * filters


def dense_macs(leading: tuple[int, ...], in_features: int, units: int) -> int:
    """Dense MACs per sample: ``prod(leading) * in_features * units`` (``leading``: the output's axes
    between the batch and the last, empty for a flat input).

    >>> dense_macs((), 3136, 128), dense_macs((7, 7), 64, 10)
    (401408, 31360)
    """
    return prod(leading) * in_features * units


# --------------------------------------------------------------------------
# Receptive field: which positions of a layer's input reach output position o
# (one spatial axis, the input taken as unbounded)
# --------------------------------------------------------------------------


def conv_taps(o: int, kernel_size: int, strides: int = 1, pad_before: int = 0, dilation_rate: int = 1) -> range:
    """Input positions output ``o`` of a conv (or pooling) window reads: ``o*s - pad_before + t*d``, t < k.

    >>> list(conv_taps(1, 3, strides=2, pad_before=1))
    [1, 2, 3]
    >>> list(conv_taps(0, 2, dilation_rate=3))
    [0, 3]
    """
    first = o * strides - pad_before
    return range(first, first + (kernel_size - 1) * dilation_rate + 1, dilation_rate)


def taps_inside(count: int, length: int, pad_before: int, offset: int, strides: int = 1) -> tuple[int, int]:
    """The outputs [first, end) of ``count`` whose tap at ``offset`` reads inside the input: input position
    ``o*s + offset - pad_before`` in ``[0, length)`` (the others read the padding).

    >>> taps_inside(5, 5, 1, 0)  # the first tap of a 3-wide "same" kernel misses output 0
    (1, 5)
    >>> taps_inside(4, 7, 0, 1, strides=2)  # positions 1, 3, 5 are inside, 7 is not
    (0, 3)
    """
    first = min(max(-(-(pad_before - offset) // strides), 0), count)
    return first, max(min(-(-(length + pad_before - offset) // strides), count), first)


def conv_transpose_taps(o: int, kernel_size: int, strides: int = 1, pad_before: int = 0,
                        dilation_rate: int = 1) -> list[int]:
    """Input positions output ``o`` of a transposed conv reads, as the equivalent direct convolution
    does: it reads positions ``o - pad_before + t*d`` of the stride-dilated input, of which only the
    multiples of ``s`` are input pixels (``i = position / s``); the others are inserted zeros.

    >>> conv_transpose_taps(0, 3, strides=2, pad_before=2), conv_transpose_taps(1, 3, strides=2, pad_before=2)
    ([-1, 0], [0])
    >>> conv_transpose_taps(1, 1, strides=2)
    []
    """
    return [p // strides for p in conv_taps(o, kernel_size, 1, pad_before, dilation_rate) if p % strides == 0]


def upsampling_taps(o: int, size: int, bilinear: bool = False) -> tuple[int, ...]:
    """Input positions UpSampling output ``o`` reads: ``o // size`` (nearest); bilinear (half-pixel
    centres) reads the two neighbours of ``(o + 1/2)/size - 1/2``, one when it falls on a pixel.

    >>> upsampling_taps(5, 2), upsampling_taps(0, 2, bilinear=True), upsampling_taps(1, 3, bilinear=True)
    ((2,), (-1, 0), (0,))
    """
    if not bilinear:
        return (o // size,)
    numerator, denominator = 2 * o + 1 - size, 2 * size
    low, high = numerator // denominator, -(-numerator // denominator)
    return (low,) if low == high else (low, high)


# --------------------------------------------------------------------------
# PyTorch's nn.Conv2d / nn.ConvTranspose2d (SPEC 8): explicit padding, NCHW layouts
# --------------------------------------------------------------------------


def torch_same_padding(kernel_size: int, dilation: int = 1) -> tuple[int, int]:
    """PyTorch ``padding='same'`` (stride 1 only): ``total = d*(k-1)``, ``before = total // 2``,
    ``after = total - before``: like TensorFlow, the odd pixel goes to the bottom/right.

    >>> torch_same_padding(4), torch_same_padding(3, dilation=2)
    ((1, 2), (2, 2))
    """
    total = dilation * (kernel_size - 1)
    return (total // 2, total - total // 2)


def torch_conv_output_length(length: int | None, kernel_size: int, stride: int, before: int, after: int,
                             dilation: int = 1) -> int | None:
    """nn.Conv2d output length: ``floor((n + before + after - d*(k-1) - 1) / s) + 1``, a "valid"
    convolution over the padded input (may be zero or negative: the caller rejects it).

    >>> torch_conv_output_length(224, 7, 2, 3, 3), torch_conv_output_length(5, 3, 2, 0, 0, dilation=2)
    (112, 1)
    """
    return conv_output_length(padded_length(length, before, after), kernel_size, stride, "valid", dilation)


def torch_conv_transpose_output_length(length: int | None, kernel_size: int, stride: int = 1, padding: int = 0,
                                       output_padding: int = 0, dilation: int = 1) -> int | None:
    """nn.ConvTranspose2d output length: ``(n-1)*s - 2*padding + d*(k-1) + output_padding + 1``.

    >>> torch_conv_transpose_output_length(5, 3, 2, 1, 1), torch_conv_transpose_output_length(4, 4, 2, 1)
    (10, 8)
    """
    if length is None:
        return None
    return (length - 1) * stride - 2 * padding + effective_kernel(kernel_size, dilation) + output_padding


def torch_conv_transpose_padding(kernel_size: int, padding: int = 0, output_padding: int = 0,
                                 dilation: int = 1) -> tuple[int, int]:
    """nn.ConvTranspose2d per-side padding of the equivalent direct convolution over the stride-dilated
    input (as SPEC 1 for Keras): ``before = d*(k-1) - padding``, ``after = before + output_padding``
    (negative: that many rows of the full result are cropped).

    >>> torch_conv_transpose_padding(3, 1, 1), torch_conv_transpose_padding(3, 3)
    ((1, 2), (-1, -1))
    """
    before = effective_kernel(kernel_size, dilation) - 1 - padding
    return (before, before + output_padding)


def torch_conv_transpose_arguments(kernel_size: int, before: int, after: int, dilation: int = 1) -> tuple[int, int]:
    """The inverse of :func:`torch_conv_transpose_padding`: the ``(padding, output_padding)`` giving the
    per-side padding ``(before, after)``; either may come out negative, which PyTorch refuses.

    >>> torch_conv_transpose_arguments(3, 2, 1), torch_conv_transpose_arguments(3, 1, 2)
    ((0, -1), (1, 1))
    """
    return (effective_kernel(kernel_size, dilation) - 1 - before, after - before)


def torch_conv_kernel_shape(kernel_size: tuple[int, ...], in_channels: int, out_channels: int,
                            groups: int = 1) -> tuple[int, ...]:
    """nn.Conv2d weight layout: ``(out_channels, in_channels/groups, kh, kw)``.

    >>> torch_conv_kernel_shape((7, 7), 3, 64)
    (64, 3, 7, 7)
    """
    return (out_channels, in_channels // groups, *kernel_size)


def torch_conv_transpose_kernel_shape(kernel_size: tuple[int, ...], in_channels: int, out_channels: int,
                                      groups: int = 1) -> tuple[int, ...]:
    """nn.ConvTranspose2d weight layout: ``(in_channels, out_channels/groups, kh, kw)``.

    >>> torch_conv_transpose_kernel_shape((4, 4), 8, 6, groups=2)
    (8, 3, 4, 4)
    """
    return (in_channels, out_channels // groups, *kernel_size)
