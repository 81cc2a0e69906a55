"""--run writes an activation's or a merge's result into its input when nothing else reads that input
(run_graph._Walk._consumable).  Every model here is run twice, with writing in place allowed and
forbidden; the outputs must be identical, bit for bit, and the models are built so that a wrong
write would change them: tensors that alias each other (an identity layer returns its input, Reshape
a view of it), a convolution held back for a BatchNormalization, nested models, the model's own
inputs."""

from unittest import mock

import numpy as np
import pytest

from conftest import run

from convcalc import run_graph

HEADER = """
import keras
from keras import layers
"""

MODELS = {
    # The Dropout's output is the conv's own array; the conv's output is read again by the Add.
    "identity alias": """
x = keras.Input(shape=(6, 6, 2))
c = layers.Conv2D(3, 3, padding="same", name="c")(x)
d = layers.Dropout(0.5)(c)
r = layers.ReLU(max_value=0.2)(d)
model = keras.Model(x, layers.Add()([c, r]))
""",
    # A Reshape is a view of the conv's output, which the Concatenate reads later.
    "view alias": """
x = keras.Input(shape=(4, 4, 2))
c = layers.Conv2D(4, 1, name="c")(x)
v = layers.Reshape((4, 16))(c)
r = layers.Activation("relu")(v)
back = layers.Reshape((4, 4, 4))(r)
model = keras.Model(x, layers.Concatenate()([c, back]))
""",
    # conv1 is held back for the BatchNormalization; the ReLU is the last layer to read conv1's input.
    "held convolution": """
x = keras.Input(shape=(5, 5, 2))
c0 = layers.Conv2D(2, 1, name="c0")(x)
c1 = layers.Conv2D(2, 3, padding="same", name="c1")(c0)
r = layers.ReLU()(c0)
b = layers.BatchNormalization(name="bn")(c1)
model = keras.Model(x, layers.Add()([b, r]))
""",
    # A nested model's ReLU reads the outer tensor that the outer Add reads afterwards.
    "nested": """
inner_in = keras.Input(shape=(4, 4, 3))
inner = keras.Model(inner_in, layers.ReLU()(inner_in), name="inner")
x = keras.Input(shape=(4, 4, 3))
c = layers.Conv2D(3, 1, name="c")(x)
model = keras.Model(x, layers.Add()([inner(c), c]))
""",
    # The model's input goes straight into an activation and a merge: never written.
    "model input": """
x = keras.Input(shape=(3, 3, 2))
r = layers.Activation("tanh")(x)
model = keras.Model(x, layers.Maximum()([x, r]))
""",
    # A chain where every write in place is allowed: conv (relu fused), ReLU, Add of two fresh tensors.
    "chain": """
x = keras.Input(shape=(6, 6, 2))
a = layers.Conv2D(4, 3, padding="same", activation="relu", name="a")(x)
b = layers.Conv2D(4, 3, padding="same", name="b")(x)
r = layers.ReLU(6.0)(b)
s = layers.Add()([a, r])
t = layers.Multiply()([s, layers.Activation("sigmoid")(s)])
model = keras.Model(x, t)
""",
}


def _run_model(source, tmp_path, name, allow: bool):
    out = tmp_path / f"{name}.npy"
    consumed = []
    original = run_graph._Walk._consumable

    def consumable(self, ref, graph, *args):
        answer = original(self, ref, graph, *args) if allow else False
        consumed.append((graph.by_key[ref.node].name, answer))
        return answer

    with mock.patch.object(run_graph._Walk, "_consumable", consumable):
        result = run("shape", "--file", source, "--model", "model", "--run", "--batch", "2", "--save", out,
                     "--format", "json")
    assert result.exit_code == 0, result.stderr
    return np.load(out), consumed


@pytest.mark.parametrize("name", sorted(MODELS))
def test_writing_in_place_changes_no_number(name, tmp_path):
    source = tmp_path / "m.py"
    source.write_text(HEADER + MODELS[name])
    allowed, consumed = _run_model(source, tmp_path, "allowed", True)
    forbidden, _ = _run_model(source, tmp_path, "forbidden", False)
    np.testing.assert_array_equal(allowed, forbidden)
    written = {producer for producer, answer in consumed if answer}
    # The tensors that alias a live one, or are the model's input, are never written ...
    assert not written & {"dropout", "reshape", "input_layer", "c0"}
    # ... and where nothing aliases, the activations and merges do write in place.
    expected = {"chain": {"a", "b", "re_lu", "add", "activation"}, "identity alias": {"c", "re_lu"},
                "held convolution": {"bn", "re_lu"}}
    assert written == expected.get(name, written)


def test_a_samples_array_is_never_written(tmp_path):
    """The sample file's array goes through a ReLU and an Add that could have written into it."""
    source = tmp_path / "m.py"
    source.write_text(HEADER + """
x = keras.Input(shape=(3, 3, 2))
model = keras.Model(x, layers.Add()([layers.ReLU()(x), x]))
""")
    sample = np.random.default_rng(0).standard_normal((2, 3, 3, 2)).astype(np.float32)
    np.save(tmp_path / "x.npy", sample)
    result = run("shape", "--file", source, "--model", "model", "--sample", tmp_path / "x.npy", "--save",
                 tmp_path / "y.npy", "--format", "json")
    assert result.exit_code == 0, result.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), np.maximum(sample, 0) + sample)
