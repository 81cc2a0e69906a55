"""Random programs and specs through the newer commands: an answer or one error sentence, never a crash.

Hypothesis writes Python sources out of model-building fragments (some broken, some hostile) and
layer specs for `explain`; each must end with exit 0 or 2, an `Error:` sentence on stderr for 2,
and no traceback.
"""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run

FRAGMENTS = [
    "import keras", "from keras import layers", "import tensorflow as tf", "from tensorflow.keras.layers import *",
    "import os", "import numpy as np", "x = keras.Input((16, 16, 3))", "x = keras.Input(shape=(None, None, 3))",
    "x = layers.Conv2D(8, 3)(x)", "x = layers.Conv2D(8, 30)(x)", "x = layers.Dense(4)(x)", "x = layers.Flatten()(x)",
    "y = layers.Conv2D(8, 1)(x)", "x = layers.add([x, y])", "x = layers.concatenate([x, y])", "x = x + y",
    "x = x * 2.0", "n = len(os.environ)", "x = layers.Dense(n)(x)", "for i in range(3):\n    x = layers.Dense(4)(x)",
    "def f(t, k=3):\n    return layers.Conv2D(4, k, padding='same')(t)", "x = f(x)", "x = f(x, k=5)",
    "while True:\n    pass", "model = keras.Model(keras.Input((16, 16, 3)), x)", "model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])",
    "model.add(layers.Dense(3))", "class M(keras.Model):\n    pass", "m = M()", "model = M()", "s = x.shape",
    "x = layers.Reshape((-1,))(x)", "k = np.random.randint(3)", "x = layers.Conv2D(k, 3)(x)", "del x",
    "if x:\n    x = layers.ReLU()(x)", "x = [layers.Dense(2) for _ in range(2)]", "x = {'a': 1}['b']", "1/0",
    "x = layers.Conv2D(4, 3, padding='same', padding='valid')(x)", "assert model.count_params() == 10",
    "assert model.output_shape == (None, 2)", "import sys; sys.exit(1)", "x = eval('1')", "x = (", "\tx = 1",
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=10))
def test_random_sources_never_crash(tmp_path, fragments):
    path = tmp_path / "model.py"
    path.write_text("\n".join(fragments) + "\n")
    for args in (("shape", "--file", path, "--format", "json"), ("lint", path)):
        result = run(*args)
        assert result.exit_code in (0, 1, 2), result.output
        assert "Traceback" not in result.output
        if args[0] == "shape" and result.exit_code == 2:
            assert result.stderr.startswith("Error: ") and result.stdout == ""


spec = st.builds(
    lambda name, a, b, kw: f"{name}({a}, {b}{kw})",
    st.sampled_from(["Conv2D", "Conv2DTranspose", "Conv1D", "Conv3D", "DepthwiseConv2D", "Dense", "Foo"]),
    st.sampled_from(["1", "4", "0", "-1", "True", "'a'", "None", "10**30"]),
    st.sampled_from(["1", "3", "(2, 3)", "0", "99", "(1, 1, 1)"]),
    st.sampled_from(["", ", strides=2", ", padding='same'", ", dilation_rate=2", ", output_padding=1",
                     ", groups=2", ", strides=2, padding='same'", ", data_format='channels_first'"]),
)


@settings(max_examples=100, deadline=None)
@given(spec, st.sampled_from(["6x6x3", "1x1x1", "40x50x4", "3x224x224", "7", "5x5x5x2", "?x8x3"]))
def test_random_explains_never_crash(layer, shape):
    result = run("explain", layer, "--input", shape)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("Error: ")


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet=string.printable, max_size=200))
def test_random_text_as_a_source(text):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.py"
        path.write_text(text)
        result = run("shape", "--file", path)
    assert result.exit_code in (0, 2) and "Traceback" not in result.output
