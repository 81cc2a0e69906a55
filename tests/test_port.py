"""`convcalc port` (SPEC 8): Keras <-> PyTorch, checked against both real frameworks.

tests/data/golden_torch/ (scripts/make_golden_torch.py) holds random Keras layers ported to
PyTorch and random PyTorch layers ported to Keras by convcalc, each run by real Keras and real
PyTorch with the same weights (converted): the script already asserts the two agree; here
convcalc must print the same ports, reproduce both frameworks' outputs with its kernels, and
keep shapes through Keras -> PyTorch -> Keras.
"""

import json
import random

import numpy as np
import pytest

from conftest import run
from golden_helpers import DATA, load_json

from convcalc.config import DataFormat
from convcalc.errors import ConvcalcError
from convcalc.port import _relayout, check_port, port_stack

PORTS = load_json("golden_torch", "index.json")["ports"]
with np.load(DATA / "golden_torch" / "cases.npz") as _archive:
    ARRAYS = {key: _archive[key] for key in _archive.files if key.startswith("port")}
DEFAULT = DataFormat("channels_last", "default")
OTHER = {"keras": "torch", "torch": "keras"}


def port_problems(case):
    """How convcalc's port of one golden case differs from what the frameworks recorded."""
    try:
        port = port_stack(case["specs"], OTHER[case["from"]], tuple(case["input"]), DEFAULT)
    except ConvcalcError as error:
        return [] if error.message == case.get("refused") else [f"refused: {error.message}"]
    if "refused" in case:
        return [f"ported, but the script's port was refused: {case['refused']}"]
    problems = []
    for key, got in (("layers", list(port.layers)), ("kernel_transform", port.kernel_transform),
                     ("output_shape", list(port.output_shape)), ("target_output_shape", list(port.target_output_shape))):
        if got != case[key]:
            problems.append(f"{key}: {got} != {case[key]}")
    cid = case["id"]
    weights = {name: ARRAYS[f"{cid}/w/{name}"] for name in case["weights"]}
    _, y_source, y_target = check_port(port, x=ARRAYS[f"{cid}/x"], weights=weights)
    keras_side, torch_side = (y_source, y_target) if case["from"] == "keras" else (y_target, y_source)
    for framework, mine in (("keras", keras_side), ("torch", torch_side)):
        recorded = ARRAYS[f"{cid}/y_{framework}"]
        if mine.shape != recorded.shape or not np.allclose(mine, recorded, rtol=1e-4, atol=1e-4):
            problems.append(f"{framework} output differs")
    if case["from"] == "keras":
        back = port_stack(list(port.layers), "keras", port.target_input_shape, DEFAULT)
        if list(back.layers) != case["round_trip"] or list(back.target_output_shape) != case["round_trip_output"]:
            problems.append(f"round trip {back.layers} -> {back.target_output_shape}")
        if back.target_output_shape != _relayout(port.output_shape, port.source_format, "channels_last"):
            problems.append(f"round trip changes the shape: {port.output_shape} -> {back.target_output_shape}")
    return problems


def test_ports_match_both_frameworks():
    """Every golden port: the same layers, both real frameworks' outputs reproduced with the converted weights."""
    failures = [f"{case['id']} {case['specs']}: {problem}" for case in PORTS for problem in port_problems(case)]
    assert not failures, "\n".join(failures)
    assert sum("refused" not in case for case in PORTS) >= 60
    kinds = " ".join(layer for case in PORTS for layer in case.get("layers", ()))
    for kind in ("nn.ZeroPad2d((", "nn.ConvTranspose2d(", "output_padding=", "ZeroPadding2D(", "Cropping2D(",
                 "padding='same'", "groups="):
        assert kind in kinds, kind


def random_keras_spec(rng):
    cls = rng.choice(["Conv2D", "Conv2DTranspose"])
    k = (rng.randint(1, 6), rng.randint(1, 6))
    s = (rng.randint(1, 4), rng.randint(1, 4))
    parts = [str(rng.randint(1, 3)), str(k), f"strides={s}", f"padding={rng.choice(['same', 'valid'])!r}"]
    if cls == "Conv2DTranspose" and rng.random() < 0.5:
        parts.append(f"output_padding={(rng.randint(0, s[0] - 1), rng.randint(0, s[1] - 1))}")
    return f"{cls}({', '.join(parts)})"


def test_keras_to_torch_to_keras_keeps_shapes_and_numbers():
    """Random Keras layers (beyond the golden ones): the port and the port of the port give the source's
    shape, and convcalc's kernels give the same numbers on all three."""
    rng = random.Random(7)
    checked = 0
    while checked < 60:
        spec, shape = random_keras_spec(rng), (rng.randint(3, 9), rng.randint(3, 9), 2)
        try:
            port = port_stack([spec], "torch", shape, DEFAULT)
        except ConvcalcError:
            continue  # Keras refuses the layer itself (a non-positive output)
        back = port_stack(list(port.layers), "keras", port.target_input_shape, DEFAULT)
        assert back.target_output_shape == port.output_shape, (spec, port.layers, back.layers)
        for ported in (port, back):
            outcome = check_port(ported, seed=checked)[0]
            assert outcome.max_abs_diff <= 1e-4 * max(1.0, outcome.max_abs_output), (spec, ported.layers)
        checked += 1


def test_done_when_example(tmp_path):
    spec = "Conv2D(64, 7, strides=2, padding='same')"
    result = run("port", spec, "--to", "torch", "--input", "224x224x3", "--run")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "    nn.ZeroPad2d((2, 3, 2, 3))" in lines
    assert "    nn.Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2))" in lines
    assert "max abs difference 0 " in result.stdout
    out = json.loads(run("port", spec, "--to", "torch", "-i", "224x224x3", "--format", "json", "--run").stdout)
    assert out["layers"] == ["nn.ZeroPad2d((2, 3, 2, 3))", "nn.Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2))"]
    assert out["kernel_transform"].startswith("torch_weight = np.transpose(keras_kernel, (3, 2, 0, 1))")
    assert out["target_input_shape"] == [None, 3, 224, 224] and out["target_output_shape"] == [None, 64, 112, 112]
    assert out["run"]["max_abs_diff"] == 0.0 and out["run"]["max_abs_output"] > 1
    assert out["weights"][0] == {"source": "conv2d/kernel", "target": "conv2d/weight", "transpose": [3, 2, 0, 1]}


@pytest.mark.parametrize("args,layers", [
    (["Conv2D(8, 3, padding='same')", "-i", "9x9x4"], ["nn.Conv2d(4, 8, kernel_size=(3, 3), padding=1)"]),
    (["Conv2DTranspose(8, 3, strides=2, padding='same')", "-i", "5x5x4"],
     ["nn.ConvTranspose2d(4, 8, kernel_size=(3, 3), stride=(2, 2))", "nn.ZeroPad2d((0, -1, 0, -1))"]),
    (["Conv2D(4, 3, padding='same', data_format='channels_first')", "-i", "2x6x6"],
     ["nn.Conv2d(2, 4, kernel_size=(3, 3), padding=1)"]),
])
def test_keras_to_torch(args, layers):
    out = json.loads(run("port", *args, "--to", "torch", "--format", "json").stdout)
    assert out["layers"] == layers


@pytest.mark.parametrize("args,layers", [
    (["nn.Conv2d(3, 8, 3, 2, 1)"], ["ZeroPadding2D(1)", "Conv2D(8, (3, 3), strides=(2, 2))"]),
    (["nn.Conv2d(3, 8, 4, padding='same')"], ["Conv2D(8, (4, 4), padding='same')"]),
    (["nn.ConvTranspose2d(3, 8, 4, 2, 1)"], ["Conv2DTranspose(8, (4, 4), strides=(2, 2), padding='same')"]),
    (["nn.ConvTranspose2d(3, 8, 3, 2, 1, 1)"], ["Conv2DTranspose(8, (3, 3), strides=(2, 2))", "Cropping2D(((1, 0), (1, 0)))"]),
    (["nn.Conv2d(3, 8, 3, stride=(2, 3), dilation=2, padding=1)"],
     ["ZeroPadding2D(1)", "Conv2D(8, (3, 3), dilation_rate=2)", "MaxPooling2D(1, strides=(2, 3))"]),
    (["nn.Conv2d(3, 8, 3, 2, 1)", "--data-format", "channels_first"],
     ["ZeroPadding2D(1, data_format='channels_first')", "Conv2D(8, (3, 3), strides=(2, 2), data_format='channels_first')"]),
])
def test_torch_to_keras(args, layers):
    out = json.loads(run("port", *args, "--to", "keras", "-i", "3x8x8", "--format", "json", "--run").stdout)
    assert out["layers"] == layers
    assert out["run"]["max_abs_diff"] <= 1e-4 * max(1.0, out["run"]["max_abs_output"])


@pytest.mark.parametrize("args,words", [
    (["nn.Conv2d(3, 8, 3, padding=1, padding_mode='reflect')", "--to", "keras", "-i", "3x8x8"],
     "padding_mode='reflect' cannot be expressed with Keras layers"),
    (["nn.ConvTranspose2d(3, 8, 3, stride=2, dilation=2)", "--to", "keras", "-i", "3x8x8"],
     "Keras refuses strides > 1 together with dilation_rate > 1"),
    (["nn.ConvTranspose2d(4, 8, 3, groups=2)", "--to", "keras", "-i", "4x8x8"], "Conv2DTranspose has no groups"),
    (["Conv2D(8, 3, activation='relu')", "--to", "torch", "-i", "8x8x3"], "a separate module in PyTorch"),
    (["Conv2D(8, 3)", "--to", "keras", "-i", "8x8x3"], "already Keras layers"),
    (["Conv2D(8, 3)", "nn.Conv2d(8, 8, 3)", "--to", "torch", "-i", "8x8x3"], "layers of one framework"),
    (["Dense(8)", "--to", "torch", "-i", "8x8x3"], "port converts Conv2D"),
    (["Conv2D(8, 3)", "--to", "torch"], "port needs --input"),
    (["Conv2D(8, 3)", "-i", "8x8x3"], "port needs --to"),
    (["Conv2D(8, 3)", "--to", "torch", "-i", "?x8x3"], "unknown size"),
])
def test_what_cannot_be_ported_is_one_sentence(args, words):
    result = run("port", *args)
    assert result.exit_code == 2, result.stdout
    assert words in result.stderr and "Traceback" not in result.stderr


def test_a_stack_is_ported_layer_by_layer_with_its_weights():
    specs = ["Conv2D(8, 3, strides=2, padding='same')", "Conv2DTranspose(4, 3, strides=2, padding='same')",
             "ZeroPadding2D(((1, 0), (0, 2)))"]
    out = json.loads(run("port", *specs, "--to", "torch", "-i", "9x10x3", "--format", "json", "--run").stdout)
    assert out["layers"] == [
        "nn.ZeroPad2d((0, 1, 1, 1))", "nn.Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2))",
        "nn.ConvTranspose2d(8, 4, kernel_size=(3, 3), stride=(2, 2))", "nn.ZeroPad2d((0, -1, 0, -1))",
        "nn.ZeroPad2d((0, 2, 1, 0))",
    ]
    assert [(w["source"], w["target"]) for w in out["weights"]] == [
        ("conv2d/kernel", "conv2d/weight"), ("conv2d/bias", "conv2d/bias"),
        ("conv2d_transpose/kernel", "conv_transpose2d/weight"), ("conv2d_transpose/bias", "conv_transpose2d/bias"),
    ]
    assert out["output_shape"] == [None, 11, 12, 4] and out["target_output_shape"] == [None, 4, 11, 12]
    assert out["run"]["max_abs_diff"] <= 1e-4 * max(1.0, out["run"]["max_abs_output"])
