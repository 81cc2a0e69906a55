"""--run on whole graphs: several inputs and outputs, shared layers, nested models, the memory
the walk keeps alive, and the progress it reports.  Numbers are checked with kernels of ones,
where every output is a sum that can be written down."""

import json

import numpy as np
import pytest

from conftest import run

from convcalc.request import ShapeRequest, compute_request
from convcalc.run import RunOptions, estimate_bytes, run_stack

TWO_INPUTS = """
import keras
from keras import layers

a = keras.Input(shape=(4, 4, 2), name="a")
b = keras.Input(shape=(4, 4, 2), name="b")
shared = layers.Conv2D(3, 1, kernel_initializer="ones", name="shared")
inner = keras.Sequential([layers.Conv2D(2, 1, kernel_initializer="ones", name="inner_conv")], name="inner")
x = shared(a)
y = shared(b)
s = layers.Add(name="sum")([x, y])
t = inner(s)
model = keras.Model([a, b], [s, t], name="two")
"""

SAME_WEIGHTS = """
import keras
from keras import layers

a = keras.Input(shape=(5, 5, 3))
conv = layers.Conv2D(4, 3, name="conv")
d = layers.Subtract(name="difference")([conv(a), conv(a)])
model = keras.Model(a, d)
"""


@pytest.fixture
def two_inputs(tmp_path):
    path = tmp_path / "two.py"
    path.write_text(TWO_INPUTS)
    return path


def test_two_inputs_two_outputs_shared_and_nested(two_inputs, tmp_path):
    # a = 1 everywhere, b = 2: shared sums 2 channels of ones -> 2 and 4; their sum 6; inner sums 3 channels -> 18
    result = run("shape", "--file", two_inputs, "--model", "model", "--fill", "1", "--fill", "2", "--save", tmp_path / "y.npz",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert [row["measured_shape"] for row in report["layers"]] == [
        [1, 4, 4, 2], [1, 4, 4, 2], [1, 4, 4, 3], [1, 4, 4, 3], [1, 4, 4, 2]]
    assert report["run"]["output_shape"] == [[1, 4, 4, 3], [1, 4, 4, 2]]
    with np.load(tmp_path / "y.npz") as saved:
        assert sorted(saved.files) == ["inner", "sum"]
        np.testing.assert_array_equal(saved["sum"], np.full((1, 4, 4, 3), 6, np.float32))
        np.testing.assert_array_equal(saved["inner"], np.full((1, 4, 4, 2), 18, np.float32))


def test_samples_are_read_in_the_models_input_order(two_inputs, tmp_path):
    a = np.random.default_rng(1).standard_normal((3, 4, 4, 2)).astype(np.float32)
    b = np.random.default_rng(2).standard_normal((3, 4, 4, 2)).astype(np.float32)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    kernel = np.random.default_rng(3).standard_normal((1, 1, 2, 3)).astype(np.float32)
    np.savez(tmp_path / "w.npz", **{"shared/kernel": kernel})
    result = run("shape", "--file", two_inputs, "--model", "model", "--sample", tmp_path / "a.npy", "--sample", tmp_path / "b.npy",
                 "--weights", tmp_path / "w.npz", "--save", tmp_path / "y.npz")
    assert result.exit_code == 0, result.stderr
    expected = (a @ kernel[0, 0]) + (b @ kernel[0, 0])
    with np.load(tmp_path / "y.npz") as saved:
        np.testing.assert_allclose(saved["sum"], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(saved["inner"], np.repeat(expected.sum(-1, keepdims=True), 2, -1),
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["inner/inner_conv/kernel", "inner_conv/kernel", "inner/kernel"])
def test_a_nested_models_layer_takes_its_weights_by_its_path_or_a_unique_short_name(two_inputs, tmp_path, name):
    np.savez(tmp_path / "w.npz", **{name: np.full((1, 1, 3, 2), 0.5, np.float32)})
    result = run("shape", "--file", two_inputs, "--model", "model", "--fill", "1", "--fill", "2", "--weights", tmp_path / "w.npz",
                 "--save", tmp_path / "y.npz")
    assert result.exit_code == 0, result.stderr
    with np.load(tmp_path / "y.npz") as saved:
        np.testing.assert_array_equal(saved["inner"], np.full((1, 4, 4, 2), 9, np.float32))


def test_a_layer_called_twice_runs_with_one_set_of_weights(tmp_path):
    path = tmp_path / "same.py"
    path.write_text(SAME_WEIGHTS)
    result = run("shape", "--file", path, "--seed", "5", "--save", tmp_path / "y.npy")
    assert result.exit_code == 0, result.stderr
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (1, 3, 3, 4) and not y.any()


@pytest.mark.parametrize("option, values, message", [
    ("--sample", 3, "has 2 input(s), but 3 --sample were given"),
    ("--fill", 3, "--fill is given 3 times, but the model has 2 input(s)"),
])
def test_one_sample_or_fill_per_input(two_inputs, tmp_path, option, values, message):
    np.save(tmp_path / "a.npy", np.zeros((1, 4, 4, 2), np.float32))
    given = [str(tmp_path / "a.npy")] * values if option == "--sample" else ["1"] * values
    result = run("shape", "--file", two_inputs, "--model", "model", *[part for value in given for part in (option, value)])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_samples_of_different_batches_are_refused(two_inputs, tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((1, 4, 4, 2), np.float32))
    np.save(tmp_path / "b.npy", np.zeros((2, 4, 4, 2), np.float32))
    result = run("shape", "--file", two_inputs, "--model", "model", "--sample", tmp_path / "a.npy", "--sample", tmp_path / "b.npy")
    assert result.exit_code == 2 and "every input needs the same batch" in result.stderr


def test_a_stack_opened_by_two_inputs_merges_them():
    result = run("shape", "Input(shape=(2, 2, 1))", "Input(shape=(2, 2, 2))", "Concatenate()",
                 "Conv2D(1, 1, kernel_initializer='ones')", "--fill", "1", "--fill", "10,100", "--show",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["run"]["output"] == [[[[111.0], [111.0]], [[111.0], [111.0]]]]


def test_a_stack_takes_one_sample(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((1, 4, 4, 2), np.float32))
    result = run("shape", "Conv2D(1, 1)", "--sample", tmp_path / "a.npy", "--sample", tmp_path / "a.npy")
    assert result.exit_code == 2 and "a stack of layers takes one input" in result.stderr


def _chain(depth):
    specs = tuple(["Conv2D(8, 3, padding='same')"] * depth)
    return compute_request(ShapeRequest(layers=specs, input=("32x32x8",)))[0]


def test_the_estimate_counts_tensors_alive_not_every_tensor():
    """A chain frees each tensor once the next layer has read it: the peak does not grow with depth."""
    weights = 8 * 3 * 3 * 8 + 8
    short, long = estimate_bytes(_chain(2), np.dtype(np.float32), 4), estimate_bytes(_chain(40), np.dtype(np.float32), 4)
    assert long - short == 38 * weights * 4


def test_progress_counts_every_call_of_the_whole_graph(two_inputs):
    result = compute_request(ShapeRequest(file=two_inputs, model="model"))[0].models[0][1]
    seen = []
    run_stack(result, RunOptions(fill=((1.0,), (2.0,))), lambda done, total: seen.append((done, total)))
    # shared twice, sum, and the nested model's one layer; inputs are not calls
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def _keras_archive(path, layers):
    """A .keras archive whose model.weights.h5 holds ``layers``: name -> list of arrays, laid out as
    Keras 3 saves them (``layers/<key>/vars/<i>``, the layer's name in the ``vars`` attribute)."""
    import io
    import zipfile

    h5py = pytest.importorskip("h5py")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        for position, (name, arrays) in enumerate(layers.items()):
            group = handle.create_group(f"layers/layer_{position}/vars")
            group.attrs["name"] = name
            for i, array in enumerate(arrays):
                group.create_dataset(str(i), data=array)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", buffer.getvalue())


def test_weights_from_a_keras_archive_by_layer_name(tmp_path):
    kernel = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)
    _keras_archive(tmp_path / "m.keras", {"conv": [kernel, np.array([1, 2, 3], np.float32)]})
    result = run("shape", "--input", "2x2x2", "Conv2D(3, 1, name='conv')", "--fill", "1",
                 "--weights", tmp_path / "m.keras", "--show", "--format", "json")
    assert result.exit_code == 0, result.stderr
    expected = (np.ones((1, 2, 2, 2), np.float32) @ kernel[0, 0] + [1, 2, 3]).tolist()
    assert json.loads(result.stdout)["run"]["output"] == expected


@pytest.mark.parametrize("layers, message", [
    ({"conv": [np.zeros((1, 1, 2, 4), np.float32), np.zeros(3, np.float32)]},
     "conv/kernel has shape (1, 1, 2, 4), but the layer needs (1, 1, 2, 3)"),
    ({"conv": [np.zeros((1, 1, 2, 3), np.float32)]}, "layer 'conv' holds 1 variables, but the model's layer declares 2"),
    ({"dense": [np.zeros((2, 3), np.float32)]}, "holds weights of layers this model does not have: dense"),
])
def test_a_keras_archive_that_does_not_fit_is_refused(tmp_path, layers, message):
    _keras_archive(tmp_path / "m.keras", layers)
    result = run("shape", "--input", "2x2x2", "Conv2D(3, 1, name='conv')", "--weights", tmp_path / "m.keras")
    assert result.exit_code == 2 and result.stdout == ""
    assert message in result.stderr


def test_without_h5py_a_keras_archive_says_how_to_install_it(tmp_path, monkeypatch):
    _keras_archive(tmp_path / "m.keras", {})
    monkeypatch.setitem(__import__("sys").modules, "h5py", None)
    result = run("shape", "--input", "2x2x2", "Conv2D(3, 1)", "--weights", tmp_path / "m.keras")
    assert result.exit_code == 2
    assert "pip install 'convcalc[h5]'" in result.stderr


def test_a_batch_over_the_limit_runs_in_parts_with_the_same_numbers(tmp_path):
    specs = ["Conv2D(16, 3, padding='same')", "Conv2D(64, 3, padding='same')", "MaxPooling2D()", "Conv2D(4, 3)"]
    whole = run("shape", "--input", "32x32x16", *specs, "--batch", "16", "--seed", "3", "--save", tmp_path / "a.npy",
                "--format", "json")
    assert whole.exit_code == 0, whole.stderr
    needed = json.loads(whole.stdout)["run"]["estimated_bytes"]
    parts = run("shape", "--input", "32x32x16", *specs, "--batch", "16", "--seed", "3", "--save", tmp_path / "b.npy",
                "--max-memory", str(needed * 3 // 4), "--format", "json")
    assert parts.exit_code == 0, parts.stderr
    report = json.loads(parts.stdout)
    assert 1 <= report["run"]["batch_part"] < 16
    assert report["run"]["estimated_bytes"] <= needed * 3 // 4
    assert [row["measured_shape"][0] for row in report["layers"]] == [16] * 4
    # BLAS blocks a smaller batch differently: the same sums, in another order
    np.testing.assert_allclose(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("between, refused", [("Dense(4)", True), ("Conv1D(4, 1)", False)])
def test_a_softmax_given_a_mask_that_does_not_broadcast_fails_as_in_keras(between, refused):
    """Dense passes Embedding(mask_zero=True)'s (1, 6) mask on to Softmax, whose (1, 6, 4) input it does not
    broadcast to: Keras raises, and so does the run, saying so; Conv1D drops the mask."""
    result = run("shape", "--input", "6", "Embedding(10, 4, mask_zero=True)", between, "Softmax()", "--fill", "1")
    assert result.exit_code == (2 if refused else 0), result.stderr
    if refused:
        assert "(Softmax): Keras fails on this call too" in result.stderr and "(1, 6)" in result.stderr


@pytest.mark.parametrize("between, masked", [("Dense(4)", True), ("Conv1D(4, 1)", False)])
def test_pooling_averages_the_steps_the_mask_keeps(between, masked, tmp_path):
    """GlobalAveragePooling1D after Embedding(mask_zero=True) and a layer that keeps the mask (Dense)
    averages only the non-zero ids' steps, as Keras does; after one that drops it (Conv1D), every step."""
    ids = np.array([[3, 1, 0, 2, 0, 0]], np.float32)
    np.save(tmp_path / "ids.npy", ids)
    table = np.arange(40, dtype=np.float32).reshape(10, 4)
    kernel = np.eye(4, dtype=np.float32)
    layer = "dense" if between.startswith("Dense") else "conv1d"
    weights = {"embedding/embeddings": table, f"{layer}/kernel": kernel if layer == "dense" else kernel[None],
               f"{layer}/bias": np.zeros(4, np.float32)}
    np.savez(tmp_path / "w.npz", **weights)
    result = run("shape", "--input", "6", "Embedding(10, 4, mask_zero=True)", between, "GlobalAveragePooling1D()",
                 "--sample", tmp_path / "ids.npy", "--weights", tmp_path / "w.npz", "--save", tmp_path / "y.npy")
    assert result.exit_code == 0, result.stderr
    rows = table[ids[0].astype(int)]
    expected = rows[ids[0] != 0].mean(axis=0) if masked else rows.mean(axis=0)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy")[0], expected, rtol=1e-6)


MASK_SOURCES = {
    # The mask enters a nested model (Keras passes it to the model's input) ...
    "into a nested model": """
inner_in = keras.Input(shape=(5, 5))
inner = keras.Model(inner_in, layers.Softmax()(inner_in), name="inner")
x = keras.Input(shape=(5,))
model = keras.Model(x, inner(layers.Embedding(7, 5, mask_zero=True, name="emb")(x)))
""",
    # ... and leaves one (the nested model's output carries it).
    "out of a nested model": """
inner_in = keras.Input(shape=(5,))
inner = keras.Model(inner_in, layers.Embedding(7, 5, mask_zero=True, name="emb")(inner_in), name="inner")
x = keras.Input(shape=(5,))
model = keras.Model(x, layers.Softmax()(inner(x)))
""",
    # Add keeps a mask only when every input carries one (Keras's Merge.compute_mask).
    "through Add of two masked": """
x = keras.Input(shape=(5,))
e = layers.Embedding(7, 5, mask_zero=True, name="emb")(x)
f = layers.Embedding(7, 5, mask_zero=True, name="other")(x)
model = keras.Model(x, layers.Softmax()(layers.Add()([e, f])))
""",
    "dropped by Add with an unmasked input": """
x = keras.Input(shape=(5,))
e = layers.Embedding(7, 5, mask_zero=True, name="emb")(x)
u = layers.Embedding(7, 5, name="plain")(x)
model = keras.Model(x, layers.Softmax()(layers.Add()([e, u])))
""",
}


@pytest.mark.parametrize("case", sorted(MASK_SOURCES))
def test_keras_masks_are_followed_through_nested_models_and_merges(case, tmp_path):
    """A batch of one: the (1, 5) mask of ids [3, 0, 6, 0, 1] broadcasts to the (1, 5, 5) embeddings, so
    Keras's Softmax applies it along the last axis (tests/data/golden_masks, emb-softmax-batch1, shows Keras
    doing so); it reaches the Softmax into and out of nested models and through Add of two masked inputs,
    and Add with an unmasked input drops it (Keras's Merge.compute_mask)."""
    source = tmp_path / "m.py"
    source.write_text("import keras\nfrom keras import layers\n" + MASK_SOURCES[case])
    ids = np.array([[3, 0, 6, 0, 1]], np.float32)
    np.save(tmp_path / "ids.npy", ids)
    rng = np.random.default_rng(5)
    tables = {name: rng.standard_normal((7, 5)).astype(np.float32) for name in ("emb", "other", "plain")}
    weights = {f"{name}/embeddings": table for name, table in tables.items() if f'name="{name}"' in MASK_SOURCES[case]}
    np.savez(tmp_path / "w.npz", **weights)
    result = run("shape", "--file", source, "--model", "model", "--sample", tmp_path / "ids.npy", "--weights",
                 tmp_path / "w.npz", "--save", tmp_path / "y.npy", "--format", "json")
    assert result.exit_code == 0, result.stderr
    logits = sum(table[ids[0].astype(int)] for name, table in tables.items() if f'name="{name}"' in MASK_SOURCES[case])
    keep = ids[0] != 0  # along the last axis, as (1, 5) broadcasts against (1, 5, 5)
    if case.startswith("dropped"):
        keep = np.ones(5, bool)
    masked = np.where(keep, logits, -1e9)
    expected = np.exp(masked - masked.max(-1, keepdims=True))
    expected = np.where(keep, expected / expected.sum(-1, keepdims=True), 0)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy")[0], expected, rtol=1e-5, atol=1e-6)


MHA = """
import keras
from keras import layers

q = keras.Input(shape=(5, 8))
model = keras.Model(q, layers.MultiHeadAttention(2, 4, name="mha")(q, q))
"""


def test_a_layers_sublayers_in_a_keras_archive_give_the_same_numbers_as_an_npz(tmp_path):
    """MultiHeadAttention saves its projections as sublayers (layers/multi_head_attention/query_dense/vars,
    named 'query'); they are its weights mha/query/kernel, ... as an .npz names them."""
    import io
    import zipfile

    h5py = pytest.importorskip("h5py")
    (tmp_path / "mha.py").write_text(MHA)
    rng = np.random.default_rng(4)
    shapes = {"query": [(8, 2, 4), (2, 4)], "key": [(8, 2, 4), (2, 4)], "value": [(8, 2, 4), (2, 4)],
              "attention_output": [(2, 4, 8), (8,)]}
    arrays = {part: [rng.standard_normal(shape).astype(np.float32) for shape in pair] for part, pair in shapes.items()}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        handle.create_group("layers/multi_head_attention/vars").attrs["name"] = "mha"
        for part, values in arrays.items():
            group = handle.create_group(f"layers/multi_head_attention/{part}_dense/vars")
            group.attrs["name"] = part
            for i, value in enumerate(values):
                group.create_dataset(str(i), data=value)
    with zipfile.ZipFile(tmp_path / "mha.keras", "w") as archive:
        archive.writestr("model.weights.h5", buffer.getvalue())
    np.savez(tmp_path / "w.npz", **{f"mha/{part}/{name}": value for part, values in arrays.items()
                                    for name, value in zip(("kernel", "bias"), values)})
    outputs = []
    for weights in ("mha.keras", "w.npz"):
        result = run("shape", "--file", tmp_path / "mha.py", "--seed", "1", "--weights", tmp_path / weights,
                     "--save", tmp_path / f"{weights}.npy")
        assert result.exit_code == 0, result.stderr
        outputs.append(np.load(tmp_path / f"{weights}.npy"))
    np.testing.assert_array_equal(*outputs)


def test_batch_fills_a_model_configs_open_batch_and_respects_a_fixed_one(tmp_path):
    import gzip

    import golden_helpers

    config = tmp_path / "m.json"
    config.write_bytes(gzip.decompress((golden_helpers.DATA / "models" / "dcgan_generator.json.gz").read_bytes()))
    report = json.loads(run("shape", "--file", config, "--batch", "3", "--run", "--format", "json").stdout)
    assert {row["output_shape"][0] for row in report["layers"]} == {3}
    assert {row["measured_shape"][0] for row in report["layers"]} == {3}
    fixed = json.loads(config.read_text().replace('"batch_shape": [null', '"batch_shape": [2'))
    config.write_text(json.dumps(fixed))
    refused = run("shape", "--file", config, "--batch", "3")
    assert refused.exit_code == 2 and "fixed batch of 2" in refused.stderr


def test_arrays_captured_by_operations_run_as_keras_runs_them(tmp_path):
    """__numpy__ and __tensor__ constants of a config (scripts/make_golden_constants.py)."""
    import golden_helpers

    data = golden_helpers.DATA / "golden_constants"
    with np.load(data / "io.npz") as saved:
        x, y = saved["x"], saved["y"]
    np.save(tmp_path / "x.npy", x)
    result = run("shape", "--file", data / "model.json", "--sample", tmp_path / "x.npy",
                 "--weights", data / "weights.npz", "--save", tmp_path / "y.npy")
    assert result.exit_code == 0, result.stderr
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), y, rtol=1e-4, atol=1e-6)


def test_a_ragged_captured_array_is_refused_naming_its_place(tmp_path):
    import golden_helpers

    text = (golden_helpers.DATA / "golden_constants" / "model.json").read_text()
    config = json.loads(text)
    for layer in config["config"]["layers"]:
        for node in layer.get("inbound_nodes", []):
            for arg in node.get("args", []):
                if isinstance(arg, dict) and arg.get("class_name") == "__numpy__":
                    arg["config"]["value"] = [[1.0], [1.0, 2.0]]
    (tmp_path / "m.json").write_text(json.dumps(config))
    result = run("shape", "--file", tmp_path / "m.json")
    assert result.exit_code == 2 and "ragged array" in result.stderr


def test_a_short_name_of_several_nested_weights_is_refused_as_ambiguous():
    """nested-collision's npz is the model.layers expression: head/kernel stood for two Dense kernels."""
    import golden_helpers

    data = golden_helpers.DATA / "golden_whole_models"
    result = run("shape", "--file", data / "nested-collision.json", "--weights", data / "nested-collision.weights.npz")
    assert result.exit_code == 2 and result.stdout == ""
    assert "'head/kernel' could be any of 2 weights of a nested model (head/dense/kernel, head/proj/kernel)" in result.stderr
