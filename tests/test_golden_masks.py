"""--run carries Keras masks (Embedding(mask_zero=True), Masking) through the layers that keep them
(normalizations, Dense; a convolution drops them), nested models and every merge to MultiHeadAttention
(query, value and key masks) and GlobalAveragePooling1D, and executes
MultiHeadAttention's use_causal_mask: every model of tests/data/golden_masks (made by
scripts/make_golden_masks.py with Keras 3.15) replayed through the CLI against Keras's output."""

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import run

DATA = Path(__file__).parent / "data" / "golden_masks"
INDEX = json.loads((DATA / "index.json").read_text())
ARRAYS = dict(np.load(DATA / "cases.npz"))
RTOL, ATOL = 1e-4, 1e-5


def _replay(cid: str, tmp_path, *source) -> np.ndarray:
    """The case's weights and inputs written out, ``convcalc shape <source> --run`` on them, its output."""
    case = next(c for c in INDEX["cases"] if c["id"] == cid)
    np.savez(tmp_path / "w.npz", **{name: ARRAYS[f"{cid}/w/{name}"] for name in case["weights"]})
    samples = []
    for i in range(case["inputs"]):
        np.save(tmp_path / f"x{i}.npy", ARRAYS[f"{cid}/x/{i}"])
        samples += ["--sample", tmp_path / f"x{i}.npy"]
    result = run("shape", *source, "--run", *samples, "--weights", tmp_path / "w.npz", "--save", tmp_path / "y.npy",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    return np.load(tmp_path / "y.npy")


def _assert_keras(got: np.ndarray, cid: str) -> None:
    expected = ARRAYS[f"{cid}/y"]
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL * max(1.0, float(np.abs(expected).max())))


@pytest.mark.parametrize("case", INDEX["cases"], ids=[c["id"] for c in INDEX["cases"]])
def test_masked_model_matches_keras(case, tmp_path):
    _assert_keras(_replay(case["id"], tmp_path, "--file", DATA / case["file"]), case["id"])


def test_the_masks_change_the_numbers():
    """The cases are not vacuous: without its mask, a masked model's output would differ (the padding
    steps are counted by the pooling and attended to by the attention)."""
    by_id = {c["id"]: c for c in INDEX["cases"]}
    assert all(by_id[cid]["masked_positions"] > 0 for cid in by_id if cid != "mha-causal-only")


@pytest.mark.parametrize("option, words", [
    ("training=True", "called with training=True"),
    ("return_attention_scores=True", "return_attention_scores=True"),
    ("None, None, None, None, None, True", "argument 8 (by position)"),
])
def test_call_options_that_change_the_numbers_are_refused(option, words, tmp_path):
    source = tmp_path / "m.py"
    source.write_text(f"""
import keras
from keras import layers
x = keras.Input(shape=(4, 8))
m = keras.Input(shape=(4, 4))
y = layers.MultiHeadAttention(2, 4, name="mha")(x, x, {option})
model = keras.Model([x, m], y)
""")
    result = run("shape", "--file", source, "--model", "model", "--run", "--format", "json")
    assert result.exit_code == 2
    assert words in result.stderr and "Drop --run" in result.stderr
    shapes = run("shape", "--file", source, "--model", "model", "--format", "json")
    assert shapes.exit_code == 0, shapes.stderr


SOURCES = {
    # The same models written as Python sources: there the masks are implicit (no mask= in the calls).
    "emb-mha-gap": """
x = keras.Input(shape=(6,), name="ids")
e = layers.Embedding(10, 8, mask_zero=True, name="emb")(x)
a = layers.MultiHeadAttention(2, 4, name="mha")(e, e)
model = keras.Model(x, layers.GlobalAveragePooling1D(name="pool")(a))
""",
    "emb-mha-causal": """
x = keras.Input(shape=(6,), name="ids")
e = layers.Embedding(10, 8, mask_zero=True, name="emb")(x)
model = keras.Model(x, layers.MultiHeadAttention(2, 4, name="mha")(e, e, use_causal_mask=True))
""",
    "emb-dense-gap": """
x = keras.Input(shape=(6,), name="ids")
h = layers.Dense(3, name="dense")(layers.Embedding(10, 4, mask_zero=True, name="emb")(x))
model = keras.Model(x, layers.Dense(2, name="head")(layers.GlobalAveragePooling1D(name="pool")(h)))
""",
    # query and value by keyword
    "mha-causal-only": """
x = keras.Input(shape=(5, 8), name="steps8")
model = keras.Model(x, layers.MultiHeadAttention(2, 4, name="mha")(query=x, value=x, use_causal_mask=True))
""",
    "nested-gap": """
inner_in = keras.Input(shape=(6, 4), name="inner_in")
inner = keras.Model(inner_in, layers.GlobalAveragePooling1D(name="pool")(layers.Dense(4, name="dense")(inner_in)),
                    name="inner")
x = keras.Input(shape=(6,), name="ids")
model = keras.Model(x, inner(layers.Embedding(10, 4, mask_zero=True, name="emb")(x)))
""",
}


@pytest.mark.parametrize("cid", sorted(SOURCES))
def test_the_same_models_as_python_sources_match_keras(cid, tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import keras\nfrom keras import layers\n" + SOURCES[cid])
    _assert_keras(_replay(cid, tmp_path, "--file", source, "--model", "model"), cid)


@pytest.mark.parametrize("call, words", [
    ("layers.MultiHeadAttention(2, 4, name='mha')(x, x, attention_mask=m)", "its attention_mask has shape (1, 3, 5)"),
    ("layers.GlobalAveragePooling1D(name='pool')(x, mask=m)", "its mask has shape (1, 3, 5)"),
])
def test_a_mask_of_the_wrong_shape_is_one_clear_error(call, words, tmp_path):
    source = tmp_path / "m.py"
    source.write_text(f"""
import keras
from keras import layers
x = keras.Input(shape=(4, 8))
m = keras.Input(shape=(3, 5))
model = keras.Model([x, m], {call})
""")
    result = run("shape", "--file", source, "--model", "model", "--run", "--fill", "1", "--format", "json")
    assert result.exit_code == 2
    assert words in result.stderr and "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_false_options_in_a_config_are_false(tmp_path):
    """``use_causal_mask: false`` and ``training: false`` in a config's call kwargs read as False (they
    are JSON literals): the same numbers as without them, and not those of the causal call."""
    config = json.loads((DATA / "mha-causal-only.json").read_text())
    outputs = {}
    for label, kwargs in (("causal", {"use_causal_mask": True}), ("false", {"use_causal_mask": False, "training": False}),
                          ("none", {})):
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "MultiHeadAttention":
                layer["inbound_nodes"][0]["kwargs"] = kwargs
        path = tmp_path / f"{label}.json"
        path.write_text(json.dumps(config))
        outputs[label] = _replay("mha-causal-only", tmp_path, "--file", path)
    np.testing.assert_allclose(outputs["causal"], ARRAYS["mha-causal-only/y"], rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(outputs["false"], outputs["none"])
    assert np.abs(outputs["false"] - outputs["causal"]).max() > 1e-2


def test_padding_masks_over_two_attention_axes_fail_as_in_keras(tmp_path):
    """Keras 3.15 raises on self-attention over two axes with a padding mask (its Softmax: 'The mask must be
    broadcastable'); the run says so, with exit 2, instead of numbers Keras never gives."""
    source = tmp_path / "m.py"
    source.write_text("""
import keras
from keras import layers
x = keras.Input(shape=(3, 4), name="grid")
e = layers.Embedding(10, 8, mask_zero=True, name="emb")(x)
model = keras.Model(x, layers.MultiHeadAttention(2, 4, attention_axes=(1, 2), name="mha")(e, e))
""")
    grid = np.random.default_rng(0).integers(0, 10, (3, 3, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", grid)
    result = run("shape", "--file", source, "--model", "model", "--run", "--sample", tmp_path / "x.npy",
                 "--save", tmp_path / "y.npy", "--format", "json")
    assert result.exit_code == 2
    assert "Keras fails on this call too" in result.stderr and "attention scores" in result.stderr
    assert "internal error" not in result.stderr and not (tmp_path / "y.npy").exists()
    grid[grid == 0] = 1  # nothing masked: the mask's shape is what fails, in Keras 3.15 as here
    np.save(tmp_path / "x.npy", grid)
    unmasked = run("shape", "--file", source, "--model", "model", "--run", "--sample", tmp_path / "x.npy",
                   "--format", "json")
    assert unmasked.exit_code == 2 and "Keras fails on this call too" in unmasked.stderr
