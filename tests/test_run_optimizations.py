"""The run's two graph optimizations change no number: on random functional models (branches, shared
tensors, identity layers, views, merges, convolutions followed by BatchNormalization), the run with
BatchNormalization folding and writing in place equals the run with both turned off, to float32
rounding (folding reorders a multiply-add; writing in place must not change a single bit)."""

from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run

from convcalc import fold, run_graph

# Layers that keep the (6, 6, 4) shape, so that any tensor can feed any of them (and any two an Add).
LAYERS = [
    "layers.Conv2D(4, 3, padding='same')",
    "layers.Conv2D(4, 1, use_bias=False)",
    "layers.DepthwiseConv2D(3, padding='same')",
    "layers.BatchNormalization()",
    "layers.ReLU()",
    "layers.ReLU(6.0)",
    "layers.Activation('tanh')",
    "layers.Activation('relu')",
    "layers.Dropout(0.3)",
    "layers.Reshape((6, 6, 4))",
    "layers.Identity()",
]


@st.composite
def models(draw):
    """A Python source: tensors t0 (the input) .. tn, each a layer of an earlier tensor or an Add of two;
    BatchNormalization mostly right after a convolution; one or two outputs."""
    lines = ["x0 = keras.Input(shape=(6, 6, 4))"]
    count = draw(st.integers(3, 9))
    for i in range(1, count + 1):
        if i > 1 and draw(st.integers(0, 4)) == 0:
            a, b = draw(st.integers(0, i - 1)), draw(st.integers(0, i - 1))
            lines.append(f"x{i} = layers.Add()([x{a}, x{b}])")
            continue
        source = draw(st.integers(max(0, i - 3), i - 1))
        layer = draw(st.sampled_from(LAYERS))
        lines.append(f"x{i} = {layer}(x{source})")
        if "Conv2D" in layer and draw(st.integers(0, 2)) > 0:
            lines.append(f"x{i} = layers.BatchNormalization()(x{i})")
    outputs = sorted({count, draw(st.integers(1, count))})
    lines.append(f"model = keras.Model(x0, [{', '.join(f'x{o}' for o in outputs)}])")
    return "import keras\nfrom keras import layers\n" + "\n".join(lines) + "\n"


def _run(source, tmp_path, name, optimized: bool):
    out = tmp_path / f"{name}.npz"
    patches = [] if optimized else [mock.patch.object(fold, "may_fold", lambda row: False),
                                    mock.patch.object(run_graph._Walk, "_consumable", lambda *args: False)]
    for patch in patches:
        patch.start()
    try:
        result = run("shape", "--file", source, "--model", "model", "--run", "--batch", "2", "--seed", "4",
                     "--save", out, "--format", "json")
    finally:
        for patch in patches:
            patch.stop()
    assert result.exit_code == 0, result.stderr
    saved = np.load(out)  # one output: an array; several: an archive keyed by output name
    if isinstance(saved, np.ndarray):
        return {"output": saved}
    with saved:
        return {key: saved[key] for key in saved.files}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(text=models())
def test_folding_and_writing_in_place_change_no_number(tmp_path, text):
    source = tmp_path / "m.py"
    source.write_text(text)
    optimized = _run(source, tmp_path, "optimized", True)
    plain = _run(source, tmp_path, "plain", False)
    assert optimized.keys() == plain.keys()
    for key in plain:
        scale = max(1.0, float(np.abs(plain[key]).max()))
        np.testing.assert_allclose(optimized[key], plain[key], rtol=1e-5, atol=1e-5 * scale, err_msg=text)
