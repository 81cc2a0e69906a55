"""SPEC 7's figures (issue 11): receptive fields proven by running the kernels, MACs against the
products the kernels compute, and the JSON, table, CSV and Markdown views."""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from convcalc import kernels
from convcalc.cli import app
from convcalc.config import DataFormat
from convcalc.details import compute_details, field_text, receptive_maps
from convcalc.errors import ConvcalcError
from convcalc.stack import compute_stack

LAST = DataFormat("channels_last", "default")
runner = CliRunner()


def shape_json(*args: str) -> dict:
    result = runner.invoke(app, ["shape", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --------------------------------------------------------------------------
# Receptive fields, proven by the kernels
# --------------------------------------------------------------------------


@st.composite
def conv_layer(draw):
    transposed = draw(st.booleans())
    k = draw(st.integers(1, 4))
    s = draw(st.integers(1, 3))
    d = 1 if s > 1 else draw(st.integers(1, 2))
    padding = draw(st.sampled_from(["valid", "same"]))
    kind = "Conv2DTranspose" if transposed else "Conv2D"
    return f"{kind}(1, ({k}, {k}), strides=({s}, {s}), padding='{padding}', dilation_rate=({d}, {d}))"


def run_impulses(result, n: int) -> np.ndarray:
    """The stack run with all-ones kernels on every single-pixel input: ``out[py*n + px, y, x]``."""
    x = np.zeros((n * n, n, n, 1))
    for p in range(n * n):
        x[p, p // n, p % n, 0] = 1.0
    for row in result.layers:
        a = row.layer.args
        kernel = np.ones(row.kernel_shape)
        if row.type == "Conv2DTranspose":
            x = kernels.conv2d_transpose(x, kernel, None, a["strides"], a["padding"], a["output_padding"],
                                         a["dilation_rate"])
        else:
            x = kernels.conv2d(x, kernel, None, a["strides"], a["padding"], a["dilation_rate"])
        assert x.shape[1:] == row.output_shape[1:]
    return x[..., 0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=st.lists(conv_layer(), min_size=1, max_size=3), n=st.integers(6, 11))
def test_receptive_field_is_what_reaches_each_output(layers, n):
    try:
        result = compute_stack(layers, LAST, (n, n, 1))
    except ConvcalcError:  # an output of size 0 or less: no such stack
        return
    out = run_impulses(result, n)
    axes = receptive_maps(result)[1][-1]
    _, oh, ow = out.shape
    for o in range(oh):
        reached = sorted({p // n for p in range(n * n) if np.any(out[p, o, :] != 0)})
        if axes[0].at(o) is None:  # only inserted zeros reach this output
            assert reached == [], (layers, o, reached)
            continue
        lo, hi = axes[0].at(o)
        assert all(lo <= p <= hi for p in reached), (layers, o, reached, (lo, hi))
        if 0 <= lo and hi < n:  # the receptive field lies inside the input: nothing is cut by its edges
            assert (reached[0], reached[-1]) == (lo, hi), (layers, o, reached, (lo, hi))
    # the other axis reads the same kernels: its map is the same
    assert [axes[1].at(o) for o in range(ow)] == [axes[0].at(o) for o in range(ow)]
    # what the views print: size over a period, the jump between neighbours, output 0's start
    field = compute_details(result).rows[-1].receptive_field
    axis = axes[0]
    spans = [axis.at(o) for o in range(axis.period) if axis.at(o) is not None]
    assert field.size[0] == max(h - l + 1 for l, h in spans)
    assert field.start[0] == (None if axis.at(0) is None else axis.at(0)[0])
    first = next(o for o in range(axis.period) if axis.at(o) is not None)
    assert field.jump[0] == Fraction(axis.at(first + axis.period)[0] - axis.at(first)[0], axis.period)


@settings(max_examples=40, deadline=None)
@given(layers=st.lists(conv_layer().filter(lambda spec: spec.startswith("Conv2D(")), min_size=1, max_size=3),
       n=st.integers(8, 12))
def test_conv_chains_read_a_window_of_size_at_start_plus_o_times_jump(layers, n):
    try:
        result = compute_stack(layers, LAST, (n, n, 1))
    except ConvcalcError:
        return
    out = run_impulses(result, n)
    field = compute_details(result).rows[-1].receptive_field
    size, jump, start = field.size[0], field.jump[0], field.start[0]
    assert jump.denominator == 1
    for o in range(out.shape[1]):
        lo, hi = start + o * int(jump), start + o * int(jump) + size - 1
        reached = {p // n for p in range(n * n) if np.any(out[p, o, :] != 0)}
        assert all(lo <= p <= hi for p in reached)
        if 0 <= lo and hi < n:
            assert min(reached) == lo and max(reached) == hi


@pytest.mark.parametrize("specs,size,jump,start", [
    (["Conv2D(8, 7, strides=2, padding='same')"], 7, 2, -2),  # SPEC 7's example on 224x224
    (["Conv2D(8, 7, strides=2, padding='same')", "MaxPooling2D(3, 2, padding='same')"], 11, 4, -2),
    (["Conv2DTranspose(4, 3, strides=2, padding='same')"], 2, "1/2", -1),
    (["Conv2DTranspose(4, 1, strides=2)"], 1, "1/2", 0),
    (["Conv2D(4, 3, strides=2)", "Conv2DTranspose(4, 3, strides=2)"], 5, 1, -2),  # output 0 reads inputs -1, 0
    (["UpSampling2D()", "Conv2D(4, 3, padding='same')"], 2, "1/2", -1),
    (["ZeroPadding2D(2)", "Conv2D(4, 3)"], 3, 1, -2),
    (["Cropping2D(1)", "Conv2D(4, 3)"], 3, 1, 1),
], ids=["stem", "stem-pool", "transpose-same", "transpose-1x1", "down-up", "upsample", "zero-pad", "crop"])
def test_known_receptive_fields(specs, size, jump, start):
    layer = shape_json("-i", "224x224x3", *specs)["layers"][-1]
    assert layer["receptive_field"] == {"size": [size, size], "jump": [jump, jump], "start": [start, start]}


def test_flatten_and_dense_see_the_whole_input():
    layers = shape_json("-i", "9x7x3", "Conv2D(4, 3)", "Flatten()", "Dense(2)")["layers"]
    assert layers[1]["receptive_field"] == {"size": [9, 7], "jump": [None, None], "start": [0, 0]}
    assert layers[2]["receptive_field"]["size"] == [9, 7]


def test_a_chain_adds_its_kernels():
    spec = ["Input(shape=(32, 32, 3), name='x')"]
    result = compute_stack(spec + ["Conv2D(4, 3, padding='same')", "Conv2D(4, 5, padding='same')"], LAST)
    assert compute_details(result).rows[-1].receptive_field.size == (7, 7)


MERGES = """
import keras
from keras import layers

x = keras.Input(shape=(32, 32, 3))
a = layers.Conv2D(8, 3, padding="same")(x)
b = layers.Conv2D(8, 5, strides=1, padding="same")(x)
c = layers.Add()([a, b])
d = layers.Concatenate()([c, a])
e = layers.Conv2DTranspose(4, 3, strides=2, padding="same")(d)
f = layers.Concatenate(axis=1)([e, e])
model = keras.Model(x, f)
"""


def test_graph_merges_take_the_union_of_their_inputs(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(MERGES)
    layers = {layer["name"]: layer for layer in shape_json("--file", str(path))["layers"]}
    assert layers["input_layer"]["receptive_field"]["size"] == [1, 1]
    assert layers["add"]["receptive_field"] == {"size": [5, 5], "jump": [1, 1], "start": [-2, -2]}
    assert layers["concatenate"]["receptive_field"]["size"] == [5, 5] and layers["add"]["macs"] is None
    # output 0 of the transposed conv reads its inputs -1 and 0: [-1-2, 0+2]
    assert layers["conv2d_transpose"]["receptive_field"] == {"size": [6, 6], "jump": ["1/2", "1/2"],
                                                             "start": [-3, -3]}
    # joined along a spatial axis: a position of the result may come from anywhere
    assert layers["concatenate_1"]["receptive_field"] == {"size": [32, 32], "jump": [None, None], "start": [0, 0]}


def test_channels_first_and_one_axis():
    data = shape_json("-i", "3x16x16", "--data-format", "channels_first", "Conv2D(4, 3, strides=2)", "Dense(5)")
    conv, dense = data["layers"]
    assert conv["macs"] == 7 * 7 * 4 * 9 * 3 and conv["receptive_field"]["size"] == [3, 3]
    assert dense["receptive_field"]["size"] == [16, 16]  # Dense reads the last axis: a spatial one here
    causal = shape_json("-i", "20x2", "Conv1D(4, 3, padding='causal', dilation_rate=2)")["layers"][0]
    assert causal["receptive_field"] == {"size": [5], "jump": [1], "start": [-4]}
    assert causal["macs"] == 20 * 4 * 3 * 2


def test_no_spatial_axes_means_no_receptive_field():
    layer = shape_json("-i", "10", "Dense(4)")["layers"][0]
    assert layer["receptive_field"] is None and layer["macs"] == 40


def test_field_text():
    result = compute_stack(["Conv2DTranspose(4, 3, strides=2, padding='same')"], LAST, (8, 8, 1))
    assert field_text(compute_details(result).rows[0].receptive_field) == "2x2 /1/2 @-1"


# --------------------------------------------------------------------------
# MACs: the products the kernels compute, counted by running them on ones
# --------------------------------------------------------------------------


@st.composite
def macs_case(draw):
    kind = draw(st.sampled_from(["Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"]))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = draw(st.integers(1, 3))
    d = 1 if s > 1 else draw(st.integers(1, 2))
    padding = draw(st.sampled_from(["valid", "same"]))
    groups = draw(st.sampled_from([1, 2])) if kind == "Conv2D" else 1
    c_in = 2 * draw(st.integers(1, 2))
    filters = groups * draw(st.integers(1, 3))
    dm = draw(st.integers(1, 2))
    n = (draw(st.integers(5, 9)), draw(st.integers(5, 9)))
    return kind, k, s, d, padding, groups, c_in, filters, dm, n


def counted_products(row, kind, c_in, filters, dm, groups) -> int:
    """Every product of the layer's definition, counted: the sum of its output on an all-ones input
    with all-ones kernels, run so that nothing is lost to padding or cropping (padding zeros made ones
    for direct convs; the uncropped 'valid' output for transposed convs)."""
    a = row.layer.args
    (top, bottom), (left, right) = row.padding
    h, w = row.input_shape[1:3]
    if kind == "Conv2DTranspose":
        x = np.ones((1, h, w, c_in))
        y = kernels.conv2d_transpose(x, np.ones(row.kernel_shape), None, a["strides"], "valid", None, a["dilation_rate"])
        return int(y.sum())
    x = np.ones((1, h + top + bottom, w + left + right, c_in))
    if kind == "Conv2D":
        y = kernels.conv2d(x, np.ones(row.kernel_shape), None, a["strides"], "valid", a["dilation_rate"], groups)
        return int(y.sum())
    depthwise = kernels.conv2d(x, np.ones((*a["kernel_size"], 1, c_in * dm)), None, a["strides"], "valid",
                               a["dilation_rate"], c_in)
    count = int(depthwise.sum())
    if kind == "SeparableConv2D":  # then a 1x1 conv over c_in*dm channels, on ones
        count += int(np.prod(depthwise.shape[1:3])) * c_in * dm * filters
    return count


@settings(max_examples=60, deadline=None)
@given(case=macs_case())
def test_macs_are_the_products_the_kernels_compute(case):
    kind, k, s, d, padding, groups, c_in, filters, dm, n = case
    if kind == "Conv2D":
        spec = f"Conv2D({filters}, {k}, strides={s}, padding='{padding}', dilation_rate={d}, groups={groups})"
    elif kind == "Conv2DTranspose":
        spec = f"Conv2DTranspose({filters}, {k}, strides={s}, padding='{padding}', dilation_rate={d})"
    elif kind == "DepthwiseConv2D":
        spec = f"DepthwiseConv2D({k}, strides={s}, padding='{padding}', dilation_rate={d}, depth_multiplier={dm})"
    else:
        spec = (f"SeparableConv2D({filters}, {k}, strides={s}, padding='{padding}', dilation_rate={d}, "
                f"depth_multiplier={dm})")
    try:
        result = compute_stack([spec], LAST, (*n, c_in))
    except ConvcalcError:
        return
    row = result.layers[0]
    details = compute_details(result).rows[0]
    assert details.macs == counted_products(row, kind, c_in, filters, dm, groups)
    assert details.flops == 2 * details.macs


def test_dense_macs_are_a_matrix_product():
    result = compute_stack(["Dense(5)"], LAST, (4, 3, 7))
    x = np.ones((1, 4, 3, 7))
    assert compute_details(result).rows[0].macs == int((x @ np.ones((7, 5))).sum()) == 4 * 3 * 7 * 5


def test_transposed_macs_count_the_input_not_the_output():
    # torchinfo & co. have counted the output positions: 10*10*3*3*3*2 = 5400 here; each input pixel
    # stamps the kernel once: 5*5*3*3*3*2 = 1350
    assert shape_json("-i", "5x5x3", "Conv2DTranspose(2, 3, strides=2, padding='same')")["total_macs"] == 1350


# --------------------------------------------------------------------------
# JSON, totals, --dtype, null where not defined
# --------------------------------------------------------------------------

KEYS = {"macs", "flops", "receptive_field", "activation_bytes", "param_bytes", "trainable", "params_percent"}


def test_json_carries_the_figures_per_layer_and_totals():
    data = shape_json("-i", "32x32x3", "Conv2D(10, 8, padding='same')", "MaxPooling2D()", "Flatten()", "Dense(4)")
    assert all(KEYS <= set(layer) for layer in data["layers"])
    conv, pool, flat, dense = data["layers"]
    assert (conv["macs"], conv["flops"]) == (32 * 32 * 10 * 8 * 8 * 3, 2 * 32 * 32 * 10 * 8 * 8 * 3)
    assert pool["macs"] is None and pool["flops"] is None and flat["macs"] is None  # not defined, never 0
    assert dense["macs"] == 16 * 16 * 10 * 4
    assert data["total_macs"] == conv["macs"] + dense["macs"]
    assert data["total_flops"] == 2 * data["total_macs"]
    assert conv["activation_bytes"] == 32 * 32 * 10 * 4 and conv["param_bytes"] == 1930 * 4
    assert data["total_activation_bytes"] == sum(layer["activation_bytes"] for layer in data["layers"])
    assert data["param_bytes"] == data["total_param_bytes"] == data["total_params"] * 4
    assert conv["trainable"] is True and pool["trainable"] is True
    assert conv["params_percent"] == round(100 * 1930 / data["total_params"], 2)
    assert data["total_params"] == 1930 + dense["params"]


def test_dtype_and_batch_scale_the_memory():
    data = shape_json("-i", "8x8x3", "Conv2D(4, 3)", "--dtype", "float16", "--batch", "5")
    layer = data["layers"][0]
    assert data["dtype"] == "float16"
    assert layer["activation_bytes"] == 5 * 6 * 6 * 4 * 2 and layer["param_bytes"] == 112 * 2
    assert data["total_param_bytes"] == 224 and data["param_bytes"] == 448  # Keras's summary: float32
    assert shape_json("-i", "8x8x3", "Conv2D(4, 3)", "--dtype", "int8")["layers"][0]["param_bytes"] == 112


def test_unknown_sizes_give_null_not_zero():
    data = shape_json("-i", "None,None,3", "Conv2D(4, 3)", "MaxPooling2D()")
    conv, pool = data["layers"]
    assert conv["macs"] is None and conv["activation_bytes"] is None
    assert data["total_macs"] is None and data["total_flops"] is None and data["total_activation_bytes"] is None
    assert conv["receptive_field"] == {"size": [3, 3], "jump": [1, 1], "start": [0, 0]}
    assert pool["receptive_field"]["size"] == [4, 4]


def test_a_stack_without_multiply_adds_has_total_zero():
    data = shape_json("-i", "8x8x3", "MaxPooling2D()")
    assert data["layers"][0]["macs"] is None and data["total_macs"] == 0


def test_trainable_marker_and_share():
    data = shape_json("-i", "8x8x3", "Conv2D(4, 3, trainable=False)", "BatchNormalization()", "Flatten()")
    conv, norm, flat = data["layers"]
    assert conv["trainable"] is False and norm["trainable"] == "partly" and flat["trainable"] is True
    assert conv["params_percent"] + norm["params_percent"] == pytest.approx(100)
    assert flat["params_percent"] == 0
    assert shape_json("-i", "8x8x3", "MaxPooling2D()")["layers"][0]["params_percent"] is None


# --------------------------------------------------------------------------
# Table, CSV, Markdown
# --------------------------------------------------------------------------

STACK = ["-i", "32x32x3", "Conv2D(10, 8, strides=2, padding='same')", "Conv2DTranspose(4, 3, strides=2)"]


def test_table_always_has_share_train_and_totals():
    result = runner.invoke(app, ["shape", *STACK])
    assert result.exit_code == 0, result.output
    assert "Train" in result.stdout and "%" in result.stdout and "Receptive field" not in result.stdout
    assert "Total mult-adds (M): " in result.stdout
    assert "Activation memory (float32" in result.stdout and "Params size (float32): " in result.stdout


def test_details_adds_the_columns_to_every_text_format():
    table = runner.invoke(app, ["shape", *STACK, "--details", "--dtype", "float64"]).stdout
    for header in ("MACs", "Receptive field", "Act. memory", "Param memory"):
        assert header in table
    assert "Params size (float64)" in table
    upsampling = runner.invoke(app, ["shape", "-i", "8x8x3", "Conv2DTranspose(4, 3, strides=2)", "--details"]).stdout
    assert "/1/2 @" in upsampling  # the jump, as a fraction
    markdown = runner.invoke(app, ["shape", *STACK, "--details", "--format", "markdown"]).stdout
    assert "| MACs | Receptive field | Act. memory | Param memory |" in markdown
    assert "- Total mult-adds (M): " in markdown
    text = runner.invoke(app, ["shape", *STACK, "--details", "--format", "csv"]).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["macs"] == str(16 * 16 * 10 * 8 * 8 * 3) and rows[0]["flops"] == str(2 * 16 * 16 * 10 * 8 * 8 * 3)
    assert rows[1]["receptive_field"] == field_text(compute_details(compute_stack(STACK[2:], LAST, (32, 32, 3))).rows[1]
                                                    .receptive_field)
    assert rows[0]["trainable"] == "true" and rows[0]["params_percent"]
    plain = runner.invoke(app, ["shape", *STACK, "--format", "csv"]).stdout
    assert "macs" not in plain.splitlines()[0] and "trainable" in plain.splitlines()[0]


def test_bad_dtype_is_a_usage_error():
    result = runner.invoke(app, ["shape", *STACK, "--dtype", "float8"])
    assert result.exit_code == 2


@pytest.mark.parametrize("keras, torch", [
    (["Conv2D(64, 7, strides=2, padding='same')"], ["nn.ZeroPad2d((2, 3, 2, 3))", "nn.Conv2d(3, 64, 7, stride=2)"]),
    (["Conv2D(8, 3, dilation_rate=2, groups=1)"], ["nn.Conv2d(3, 8, 3, dilation=2)"]),
    (["Conv2DTranspose(4, 4, strides=2, padding='same')"], ["nn.ConvTranspose2d(3, 4, 4, stride=2, padding=1)"]),
])
def test_pytorch_layers_have_the_cost_and_receptive_field_of_their_keras_equivalent(keras, torch):
    from conftest import run_json

    k = run_json("shape", "--input", "32x32x3", *keras)
    t = run_json("shape", "--input", "3x32x32", *torch)
    assert t["total_macs"] == k["total_macs"] and k["total_macs"] > 0
    assert t["layers"][-1]["receptive_field"] == k["layers"][-1]["receptive_field"]


def test_pytorch_grouped_transposed_macs_split_the_filters():
    from conftest import run_json

    one = run_json("shape", "--input", "8x16x16", "nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)")
    two = run_json("shape", "--input", "8x16x16", "nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, groups=2)")
    assert one["total_macs"] == 16 * 16 * 8 * 16 * 4 and two["total_macs"] * 2 == one["total_macs"]
