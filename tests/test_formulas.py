"""The formula module on known tables, the seed documents' examples, and properties."""

import math

import pytest
from hypothesis import given, strategies as st

from convcalc import formulas as f

# (n, k, strides, padding) -> (output, (before, after)); the 5x5 input through a 3x3 kernel.
CONV_5x5 = [
    (1, "valid", 3, (0, 0)),
    (2, "valid", 2, (0, 0)),
    (3, "valid", 1, (0, 0)),
    (1, "same", 5, (1, 1)),
    (2, "same", 3, (1, 1)),
    (3, "same", 2, (0, 1)),
]
TRANSPOSE_5x5 = [
    (1, "valid", 7, (2, 2)),
    (2, "valid", 11, (2, 2)),
    (3, "valid", 15, (2, 2)),
    (1, "same", 5, (1, 1)),
    (2, "same", 10, (2, 1)),
    (3, "same", 15, (2, 2)),
]


@pytest.mark.parametrize("strides,padding,out,pads", CONV_5x5, ids=[f"s{s}-{p}" for s, p, _, _ in CONV_5x5])
def test_conv2d_5x5_through_3x3(strides, padding, out, pads):
    assert f.conv_output_length(5, 3, strides, padding) == out
    assert f.conv_padding(5, 3, strides, padding) == pads


@pytest.mark.parametrize(
    "strides,padding,out,pads", TRANSPOSE_5x5, ids=[f"s{s}-{p}" for s, p, _, _ in TRANSPOSE_5x5]
)
def test_conv2d_transpose_5x5_through_3x3(strides, padding, out, pads):
    assert f.conv_transpose_output_length(5, 3, strides, padding) == out
    assert f.conv_transpose_padding(3, strides, padding) == pads


@pytest.mark.parametrize(
    "n,k,s,padding,op,d,out",
    [
        (4, 4, 2, "same", None, 1, 8),  # DCGAN upsampling
        (4, 4, 2, "same", 1, 1, 7),  # (n-1)*s + ke%2 + op = 6 + 0 + 1
        (7, 3, 2, "same", 1, 1, 14),
        (7, 3, 2, "valid", 1, 1, 16),
        (3, 2, 3, "valid", None, 1, 9),  # op None = max(ke, s) - ke = 1
        (5, 3, 1, "valid", None, 2, 9),  # dilated: ke = 5
        (1, 2, 2, "same", 0, 1, 0),  # degenerate: rejected by the layer, not by the formula
    ],
    ids=["dcgan", "even-k-op1", "odd-k-op1", "valid-op1", "k<s", "dilated", "zero"],
)
def test_conv_transpose_output_table(n, k, s, padding, op, d, out):
    assert f.conv_transpose_output_length(n, k, s, padding, op, d) == out


@pytest.mark.parametrize(
    "kernel,filters,use_bias,lora,expected",
    [
        ((2, 2, 3, 1), 1, True, None, (13, 0)),  # seed: RGB 3x3 through a 2x2 kernel
        ((8, 8, 32, 10), 10, True, None, (20490, 0)),  # seed: (1, 32, 32) read as channels_last
        ((8, 8, 1, 10), 10, True, None, (650, 0)),  # seed: (1, 32, 32) as channels_first
        ((3, 3, 1, 64), 64, False, None, (576, 0)),  # depthwise-like groups=64
        ((3, 3, 16, 32), 32, True, 4, (736, 4608)),
    ],
    ids=["rgb-2x2", "seed-channels-last", "seed-channels-first", "grouped-no-bias", "lora"],
)
def test_params(kernel, filters, use_bias, lora, expected):
    assert f.conv_params(kernel, filters, use_bias, lora) == expected


def test_kernel_layouts():
    assert f.conv_kernel_shape((3, 5), 12, 8, groups=4) == (3, 5, 3, 8)
    assert f.conv_transpose_kernel_shape((3, 5), 12, 8) == (3, 5, 8, 12)


sizes = st.integers(1, 300)
kernels = st.integers(1, 11)
strides = st.integers(1, 6)
dilations = st.integers(1, 4)
paddings = st.sampled_from(["valid", "same"])


@given(sizes, kernels, strides, dilations)
def test_same_output_is_ceil_n_over_s(n, k, s, d):
    assert f.conv_output_length(n, k, s, "same", d) == math.ceil(n / s)


@given(sizes, kernels, strides, dilations)
def test_same_split_puts_odd_pixel_after(n, k, s, d):
    before, after = f.conv_padding(n, k, s, "same", d)
    assert before >= 0
    assert 0 <= after - before <= 1


@given(sizes, kernels, strides, dilations, paddings)
def test_padded_length_reproduces_conv_output(n, k, s, d, padding):
    ke = f.effective_kernel(k, d)
    out = f.conv_output_length(n, k, s, padding, d)
    before, after = f.conv_padding(n, k, s, padding, d)
    if out > 0:
        assert (n + before + after - ke) // s + 1 == out


@given(sizes, kernels, strides, dilations, paddings, st.data())
def test_padded_length_reproduces_transpose_output(n, k, s, d, padding, data):
    op = data.draw(st.one_of(st.none(), st.integers(0, s - 1)))
    ke = f.effective_kernel(k, d)
    out = f.conv_transpose_output_length(n, k, s, padding, op, d)
    before, after = f.conv_transpose_padding(k, s, padding, op, d)
    dilated_input = (n - 1) * s + 1
    assert before >= 0 and after >= 0
    assert dilated_input + before + after - ke + 1 == out


@given(sizes, kernels, strides, dilations, paddings)
def test_conv_maps_transpose_output_back(n, k, s, d, padding):
    if s > 1:
        d = 1  # Keras forbids strides > 1 with dilation_rate > 1
    out = f.conv_transpose_output_length(n, k, s, padding, None, d)
    assert f.conv_output_length(out, k, s, padding, d) == n


# Unknown lengths (None), as Keras's compute_output_shape answers them (Keras 3.15).
@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
def test_unknown_length_gives_unknown_output(padding):
    assert f.conv_output_length(None, 3, 2, padding) is None
    assert f.conv_transpose_output_length(None, 3, 2, "same" if padding == "same" else "valid") is None


def test_unknown_length_padding_rules():
    # "same" splits depending on n: unknown; "valid" never pads
    assert f.conv_padding(None, 3, 2, "same", 1) is None
    assert f.conv_padding(None, 3, 2, "valid", 1) == (0, 0)
    # the transposed padding does not depend on n
    assert f.conv_transpose_padding(3, 2, "same") == (2, 1)


def test_unknown_sizes_in_size_formulas():
    assert f.padded_length(None, 2, 3) is None and f.padded_length(5, -1, -1) == 3
    assert f.upsampled_length(None, 3) is None
    assert f.flat_length((3, None, 2)) is None and f.flat_length(()) == 1
    assert f.inferred_length(48, 12) == 4
