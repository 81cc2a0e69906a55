"""The PyTorch dialect (SPEC 8): nn.Conv2d / nn.ConvTranspose2d / nn.ZeroPad2d against real PyTorch.

tests/data/golden_torch/ is written by scripts/make_golden_torch.py (which needs torch; these
tests do not): random configurations as a user types them, with PyTorch's output shape,
parameter count, weight shape, Conv2d's own per-side padding and output, or PyTorch's
exception.  Outputs are replayed through convcalc's kernels with PyTorch's weights.
"""

import json
import re

import numpy as np
import pytest

from conftest import run, run_json, traced_peak
from golden_helpers import DATA, load_json

from convcalc.config import DataFormat
from convcalc.errors import ConvcalcError
from convcalc.execute import execute_layer
from convcalc.stack import compute_stack

INDEX = load_json("golden_torch", "index.json")
with np.load(DATA / "golden_torch" / "cases.npz") as _archive:
    ARRAYS = {key: _archive[key] for key in _archive.files}
VALID = [case for case in INDEX["layers"] if "error" not in case]
ERRORS = [case for case in INDEX["layers"] if "error" in case]
FORMAT = DataFormat("channels_last", "default")  # PyTorch layers ignore it: always NCHW

# What each PyTorch refusal says; convcalc's message must say the same
PHRASES = (
    "output padding must be smaller than either stride or dilation",
    "in_channels must be divisible by groups",
    "out_channels must be divisible by groups",
    "padding='same' is not supported for strided convolutions",
    'Only "zeros" padding mode is supported for ConvTranspose2d',
    "Kernel size can't be greater than actual input size",
    "Output size is too small",
    "Padding size should be less than the corresponding input dimension",
    "Padding value causes wrapping around more than once",
    "argument 'padding'",
)
CHANNELS = re.compile(r"to have (\d+) channels, but got (\d+) channels instead")


def layer_row(spec, shape):
    return compute_stack([spec], FORMAT, tuple(shape)).layers[-1]


def test_the_golden_data_covers_every_rule_and_option():
    specs = " ".join(case["spec"] for case in VALID)
    for option in ("padding='same'", "padding='valid'", "reflect", "replicate", "circular", "groups=", "dilation=",
                   "output_padding=", "bias=False", "torch.nn.", "ConvTranspose2d"):
        assert option in specs, option
    messages = " ".join(case["error"]["message"] for case in ERRORS)
    for phrase in PHRASES[:8]:
        assert phrase in messages, phrase
    assert CHANNELS.search(messages)
    assert len(VALID) >= 100


def check_valid(case):
    """How convcalc differs from PyTorch on one valid case (empty: not at all)."""
    row = layer_row(case["spec"], case["input"])
    found = {"output": list(row.output_shape[1:]), "params": row.params, "weight": list(row.kernel_shape),
             "format": row.data_format}
    wanted = {"output": case["output_shape"], "params": case["params"], "weight": case["weight_shape"],
              "format": "channels_first"}
    if "torch_padding" in case:  # PyTorch's own per side: left, right, top, bottom
        left, right, top, bottom = case["torch_padding"]
        found["padding"], wanted["padding"] = row.padding, ((top, bottom), (left, right))
    problems = [f"{key}: {found[key]} != PyTorch's {wanted[key]}" for key in wanted if found[key] != wanted[key]]
    weights = {"weight": ARRAYS[f"{case['id']}/weight"]}
    if f"{case['id']}/bias" in ARRAYS:
        weights["bias"] = ARRAYS[f"{case['id']}/bias"]
    if [w.name for w in row.weights] != list(weights):
        problems.append(f"weights {[w.name for w in row.weights]}")
    y = execute_layer(row, ARRAYS[f"{case['id']}/x"], weights)
    want = ARRAYS[f"{case['id']}/y"]
    if y.shape != want.shape or not np.allclose(y, want, rtol=1e-4, atol=1e-4):
        problems.append(f"output differs (max {np.max(np.abs(y - want)) if y.shape == want.shape else y.shape})")
    return problems


def test_shapes_params_padding_and_outputs_match_pytorch():
    """Every valid golden case, one test: the output shape, parameters, weight layout, PyTorch's own
    per-side padding, and the output with PyTorch's weights (to 1e-4)."""
    failures = [f"{case['id']} {case['spec']} on {case['input']}: {problem}"
                for case in VALID for problem in check_valid(case)]
    assert not failures, "\n".join(failures)


def refusal_problem(case):
    try:
        layer_row(case["spec"], case["input"])
    except ConvcalcError as error:
        mine = error.message
    else:
        return "accepted"
    theirs = case["error"]["message"]
    channels = CHANNELS.search(theirs)
    if channels:
        found = CHANNELS.search(mine)
        return None if found and found.groups() == channels.groups() else f"says {mine!r}"
    phrase = next((p for p in PHRASES if p in theirs), None)
    if phrase is None:
        return f"a PyTorch rule these tests do not know: {theirs}"
    return None if phrase in mine else f"says {mine!r}, not {phrase!r}"


def test_pytorch_refusals_are_refused_with_pytorch_words():
    """Every golden case PyTorch refuses (on construction or in forward) is refused, naming the same rule."""
    failures = [f"{case['id']} {case['spec']} on {case['input']} (PyTorch: {case['error']['message']}): {problem}"
                for case in ERRORS if (problem := refusal_problem(case)) is not None]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("spec,words", [
    ("nn.Conv2d(3, 8)", "missing 1 required positional argument: 'kernel_size'"),
    ("nn.Conv2d(3, 8, 3, filters=2)", "unexpected keyword argument 'filters'"),
    ("nn.Conv2d(3, 8, 3, 1, 0, 1, 1, True, 'zeros', None, None, 1)", "at most 11 positional arguments"),
    ("nn.Conv2d(3, 8, 3, padding='SAME')", "Invalid padding string 'SAME'"),
    ("nn.Conv2d(3, 8, (3, 3, 3))", "expected kernel_size to be a single integer value or a list of 2 values"),
    ("nn.Conv2d(3, 8, 3, stride=0)", "non-positive stride is not supported"),
    ("nn.Conv2d(3, 8, 3, dilation=0)", "dilation should be greater than zero"),
    ("nn.Conv2d(3, 8, 3, padding=-1)", "negative padding is not supported"),
    ("nn.ConvTranspose2d(3, 8, 3, output_padding=-1)", "negative output_padding is not supported"),
    ("nn.Conv2d(0, 8, 3)", "in_channels must be a positive integer"),
    ("nn.Conv2d(3, 8, 3, bias=1)", "bias must be True or False"),
    ("nn.Linear(3, 8)", "not a PyTorch layer convcalc knows"),
    ("nn.ZeroPad2d((1, 2, 3))", "tuple of 4 integers (left, right, top, bottom)"),
])
def test_bad_specs_say_what_pytorch_says(spec, words):
    result = run("shape", "-i", "3x8x8", spec)
    assert result.exit_code == 2
    assert words in result.stderr and "Traceback" not in result.stderr


def test_positional_order_and_prefixes_follow_pytorch():
    conv = layer_row("torch.nn.Conv2d(4, 6, 3, 2, 1, 1, 2, False, 'reflect')", (4, 9, 9)).layer.args
    assert (conv["stride"], conv["padding"], conv["groups"], conv["bias"], conv["padding_mode"]) == \
        ((2, 2), (1, 1), 2, False, "reflect")
    transpose = layer_row("nn.ConvTranspose2d(4, 6, 3, 2, 1, 1, 2, False, 2)", (4, 5, 5)).layer.args
    assert (transpose["output_padding"], transpose["groups"], transpose["bias"], transpose["dilation"]) == \
        ((1, 1), 2, False, (2, 2))


def test_transposed_padding_is_the_equivalent_direct_convolutions():
    """SPEC 8: before = d*(k-1) - padding, after = before + output_padding."""
    row = layer_row("nn.ConvTranspose2d(2, 2, (3, 4), stride=2, padding=(1, 3), output_padding=(1, 0))", (2, 5, 6))
    assert row.padding == ((1, 2), (0, 0))
    assert row.output_shape == (None, 2, 10, 8)  # (5-1)*2 - 2 + 2 + 1 + 1, (6-1)*2 - 6 + 3 + 1


def test_zero_pad2d_pads_and_crops_like_pytorch():
    row = layer_row("nn.ZeroPad2d((1, -2, 0, 3))", (2, 4, 5))
    assert row.output_shape == (None, 2, 7, 4) and row.padding == ((0, 3), (1, -2))
    x = np.arange(40, dtype=np.float32).reshape(1, 2, 4, 5)
    y = execute_layer(row, x, {})
    np.testing.assert_array_equal(y[:, :, :4, 1:], x[:, :, :, :3])
    assert not y[:, :, 4:].any() and not y[:, :, :, 0].any()
    with pytest.raises(ConvcalcError, match="negative output size"):
        layer_row("nn.ZeroPad2d((0, 0, -2, -2))", (2, 4, 5))


def test_shape_json_uses_the_same_keys_and_names_weights_as_a_state_dict(tmp_path):
    out = run_json("shape", "-i", "3x9x9", "nn.Conv2d(3, 4, 4, padding='same')", "nn.ConvTranspose2d(4, 2, 3, 2)")
    assert out["data_format"] == "channels_first" and out["input_shape"] == [None, 3, 9, 9]
    first, second = out["layers"]
    assert (first["name"], first["type"], first["kernel_shape"], first["params"]) == ("conv2d", "Conv2d", [4, 3, 4, 4], 196)
    assert first["padding"] == {"top": 1, "bottom": 2, "left": 1, "right": 2}
    assert (second["name"], second["output_shape"], second["padding"]["top"]) == ("conv_transpose2d", [None, 2, 19, 19], 2)
    case = next(c for c in VALID if ".Conv2d(" in c["spec"])
    weights = {"conv2d/weight": ARRAYS[f"{case['id']}/weight"]}
    if f"{case['id']}/bias" in ARRAYS:
        weights["conv2d/bias"] = ARRAYS[f"{case['id']}/bias"]
    np.savez(tmp_path / "w.npz", **weights)
    np.save(tmp_path / "x.npy", ARRAYS[f"{case['id']}/x"])
    result = run("shape", "-i", "x".join(map(str, case["input"])), case["spec"], "--run", "--sample", tmp_path / "x.npy",
                 "--weights", tmp_path / "w.npz", "--save", tmp_path / "y.npy", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["run"]["all_shapes_agree"]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ARRAYS[f"{case['id']}/y"], rtol=1e-4, atol=1e-4)


def test_pytorch_layers_ignore_the_keras_data_format():
    out = run_json("shape", "-i", "3x8x8", "--data-format", "channels_last", "nn.Conv2d(3, 5, 3)")
    assert out["output_shape"] == [None, 5, 6, 6]
    result = run("shape", "-i", "8x8x3", "nn.Conv2d(3, 5, 3)")
    assert result.exit_code == 2 and "expected input to have 3 channels, but got 8 channels instead" in result.stderr
    assert "the input is 3x8x8, channels first" in result.stderr


def test_tab_after_nn_offers_the_pytorch_layers():
    from convcalc.cli import complete_layer

    assert complete_layer("nn.Co") == ["nn.Conv2d(", "nn.ConvTranspose2d("]
    assert complete_layer("torch.nn.Z") == ["torch.nn.ZeroPad2d("]
    assert "Conv2d(" not in complete_layer("Conv")


@pytest.mark.parametrize("spec,shape", [
    ("nn.Conv2d(8, 16, 3, 1, 1, padding_mode='reflect')", (8, 32, 32)),
    ("nn.Conv2d(8, 16, 3, 2, 2, dilation=2, groups=2)", (8, 32, 32)),
    ("nn.ConvTranspose2d(8, 6, 4, 2, 1, groups=2)", (8, 16, 16)),
    ("nn.ConvTranspose2d(8, 6, 3, 2, 1, 1, dilation=2)", (8, 16, 16)),
])
def test_memory_estimates_bound_what_the_run_allocates(spec, shape):

    from convcalc.torch_kernels import BYTES

    row = layer_row(spec, shape)
    x = np.ones((2, *shape), np.float32)
    weights = {w.name: np.ones(w.shape, np.float32) for w in row.weights}
    _, peak = traced_peak(lambda: execute_layer(row, x, weights))
    assert peak <= BYTES[row.type](row, 2, np.dtype(np.float32)) <= 4 * peak + 2**20
