"""Keras models read from Python sources, statically (SPEC 9): the subset, names, lines, refusals.

The numbers are checked against real Keras by tests/test_golden_pysources.py; these tests
check the interpreter's mechanics on small files written here. Each expected value in the
comments was printed by Keras 3.15 running the same file.
"""

import json
import textwrap

import pytest

from conftest import run


def write(tmp_path, text, name="model.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def shape_json(path, *extra):
    result = run("shape", "--file", path, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


SEQUENTIAL = """\
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    """


def test_a_sequential_model_with_its_lines(tmp_path):
    out = shape_json(write(tmp_path, SEQUENTIAL))
    assert out["model"] == "model" and out["output_shape"] == [None, 10]
    assert [(row["name"], row["line"]) for row in out["layers"]] == [
        ("conv2d", 7), ("max_pooling2d", 8), ("flatten", 9), ("dense", 10)]
    assert out["total_params"] == 320 + 13 * 13 * 32 * 10 + 10


def test_the_table_has_a_line_column(tmp_path):
    result = run("shape", "--file", write(tmp_path, SEQUENTIAL))
    assert result.exit_code == 0 and "Line" in result.stdout and "Model: model" in result.stdout


FUNCTIONAL = """\
    from tensorflow import keras
    from tensorflow.keras import layers as L
    from tensorflow.keras.layers import Conv2D

    TARGET_SIZE = (32, 32)
    conv_args = {"padding": "same", "use_bias": False}


    def block(x, filters, activation=None, **kwargs):
        x = Conv2D(filters, 3, **kwargs)(x)
        x = L.BatchNormalization()(x)
        if activation:
            x = activation(x)
        return x


    def make_model(input_shape=(*TARGET_SIZE, 3), num_classes=10, shared=L.Dense(16)):
        inputs = keras.Input(shape=input_shape)
        x = inputs
        previous = x
        for i, filters in enumerate([8, 16]):
            x = block(x, filters, L.ReLU(), **conv_args)
            x = L.MaxPooling2D(2)(x)
            residual = L.Conv2D(filters, 1, strides=2, **conv_args)(previous)
            x = L.add([x, residual])
            previous = x
        for _ in range(len([]) - 1):
            x = L.Dense(1)(x)
        x = L.GlobalAveragePooling2D()(x)
        x = shared(x)
        x = shared(x)
        units = 1 if num_classes == 2 else num_classes
        outputs = L.Dense(units)(x)
        return keras.Model(inputs, outputs, name="net")


    model = make_model()
    print(model.summary())
    history = model.fit(x_train, y_train)
    model = keras.models.load_model("net.keras")
    """


def test_helpers_loops_conditions_defaults_and_unpacking(tmp_path):
    out = shape_json(write(tmp_path, FUNCTIONAL))
    rows = {row["name"]: row for row in out["layers"]}
    # Keras 3.15: names conv2d..conv2d_3, batch_normalization(_1), re_lu(_1), add(_1), dense (shared), dense_1
    assert out["model"] == "model" and out["output_shape"] == [None, 10]
    assert [row["name"] for row in out["layers"]] == [
        "input_layer", "conv2d", "batch_normalization", "re_lu", "max_pooling2d", "conv2d_1", "add",
        "conv2d_2", "batch_normalization_1", "re_lu_1", "max_pooling2d_1", "conv2d_3", "add_1",
        "global_average_pooling2d", "dense", "dense_1"]
    assert rows["conv2d"]["line"] == 10 and rows["add_1"]["line"] == 25
    assert rows["dense"]["params"] == 16 * 16 + 16  # a shared layer counts once
    assert out["total_params"] == 2058


def test_model_picked_by_name_or_by_calling_a_function(tmp_path):
    path = write(tmp_path, FUNCTIONAL)
    assert shape_json(path, "--model", "net")["output_shape"] == [None, 10]
    called = shape_json(path, "--model", "make_model(input_shape=(64, 64, 3), num_classes=2)")
    assert called["input_shape"] == [None, 64, 64, 3] and called["output_shape"] == [None, 1]
    missing = run("shape", "--file", path, "--model", "other")
    assert missing.exit_code == 2 and "names no model" in missing.stderr


def test_several_models_are_listed(tmp_path):
    path = write(tmp_path, textwrap.dedent(SEQUENTIAL) + "second = keras.Sequential([keras.Input((4,)), layers.Dense(2)])\n")
    out = shape_json(path)
    assert [m["model"] for m in out["models"]] == ["model", "second"]
    assert out["models"][1]["layers"][0]["name"] == "dense_1"  # Keras numbers names across the file


@pytest.mark.parametrize("code,line,words", [
    ("import os\nn = int(os.environ['UNITS'])\nmodel = keras.Sequential([keras.Input((4,)), layers.Dense(n)])\n",
     2, "os.environ['UNITS']"),
    ("from mylib import make_block\nmodel = keras.Sequential([keras.Input((4,)), make_block(3)])\n", 2, "make_block(3)"),
    ("n = eval('3')\nmodel = keras.Sequential([keras.Input((4,)), layers.Dense(n)])\n", 1, "eval('3')"),
    ("layer = getattr(layers, 'Dense')(3)\nmodel = keras.Sequential([keras.Input((4,)), layer])\n", 1, "getattr"),
    ("import numpy as np\nmodel = keras.Sequential([keras.Input((4,)), layers.Dense(np.random.randint(9))])\n", 2,
     "np.random.randint(9)"),
])
def test_what_the_subset_cannot_read_is_named_at_its_line(tmp_path, code, line, words):
    path = write(tmp_path, "import keras\nfrom keras import layers\n" + code)
    result = run("shape", "--file", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}:{line + 2}: cannot read model statically: ")
    assert words in result.stderr


def test_nothing_in_the_file_is_run(tmp_path):
    marker = tmp_path / "ran"
    path = write(tmp_path, f"""\
        import keras
        open({str(marker)!r}, "w").write("x")
        __import__("os").system("touch {marker}")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        """)
    assert shape_json(path)["total_params"] == 10
    assert not marker.exists()


def test_a_subclassed_model_is_refused_at_its_class(tmp_path):
    path = write(tmp_path, """\
        import keras

        class Net(keras.Model):
            def call(self, x):
                return x

        model = Net()
        """)
    result = run("shape", "--file", path)
    assert result.exit_code == 2 and f"{path}:3:" in result.stderr and "Net" in result.stderr


def test_lint_checks_asserts_and_places_shape_errors(tmp_path):
    good = write(tmp_path, textwrap.dedent(SEQUENTIAL) + "assert model.output_shape == (None, 10)\n"
                 "assert model.count_params() == 54410\n", "good.py")
    assert run("lint", good).exit_code == 0
    wrong = write(tmp_path, textwrap.dedent(SEQUENTIAL) + "assert model.count_params() == 1\n", "wrong.py")
    failed = run("lint", wrong)
    assert failed.exit_code == 1 and f"{wrong}:13: expected params 1, got 54410" in failed.stdout
    broken = write(tmp_path, SEQUENTIAL.replace("kernel_size=(3, 3)", "kernel_size=(30, 30)"), "broken.py")
    error = run("lint", broken)
    assert error.exit_code == 2 and f"{broken}:4: error: 'conv2d' (Conv2D): the output size would be" in error.stdout


def test_lint_notes_a_skipped_model_and_checks_the_others(tmp_path):
    path = write(tmp_path, """\
        import keras

        class Net(keras.Model):
            pass

        sub = Net()
        ok = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        """)
    result = run("lint", path)
    assert result.exit_code == 0 and f"{path}:3: note: skipped sub: cannot read Net" in result.stdout


def test_input_rebuilds_a_source_model(tmp_path):
    out = shape_json(write(tmp_path, FUNCTIONAL), "--input", "64x64x3")
    assert out["input_shape"] == [None, 64, 64, 3]


def test_non_ascii_and_tabs(tmp_path):
    path = tmp_path / "t.py"
    path.write_text("# modèle à deux couches\nimport keras\ndef f(n):\n\tx = keras.Input((n,))  # entrée\n"
                    "\treturn keras.Model(x, keras.layers.Dense(2, name='sortie_é')(x))\nmodel = f(4)\n")
    out = shape_json(path)
    assert out["layers"][-1]["name"] == "sortie_é" and out["total_params"] == 10


def test_lint_model_option(tmp_path):
    path = write(tmp_path, """\
        import keras

        class Net(keras.Model):
            pass

        def make(units, n=1):
            x = keras.Input((4,))
            return keras.Model(x, keras.layers.Dense(units)(x))

        sub = Net()
        ok = make(2)
        """)
    assert run("lint", path, "--model", "ok", "--params", "10").exit_code == 0
    assert run("lint", path, "--model", "make(3)", "--params", "15").exit_code == 0
    named = run("lint", path, "--model", "sub")
    assert named.exit_code == 2 and f"{path}:3: error: skipped sub" in named.stdout  # asked for, so not a note
    wrong_call = run("lint", path, "--model", "make()")
    assert wrong_call.exit_code == 2 and "make() is missing the argument 'units'" in wrong_call.stdout


def test_operations_on_tensors(tmp_path):
    """Keras 3.15 names and shapes: add, relu6, multiply, true_divide, conv2d_1, add_1, mean, ... (274 params)."""
    path = write(tmp_path, """\
        import keras
        from keras import layers, ops

        def hard_swish(x):
            return x * ops.relu6(x + 3.0) / 6.0

        inputs = keras.Input((16, 16, 3))
        x = layers.Conv2D(8, 3, padding="same")(inputs)
        x = hard_swish(x)
        y = layers.Conv2D(8, 1)(inputs)
        x = x + y
        z = ops.mean(x, axis=[1, 2])
        z = ops.expand_dims(z, 1)
        outputs = layers.Dense(2)(ops.squeeze(z, axis=1))
        model = keras.Model(inputs, outputs)
        """)
    out = shape_json(path)
    assert [(row["name"], row["output_shape"]) for row in out["layers"]] == [
        ("input_layer", [None, 16, 16, 3]), ("conv2d", [None, 16, 16, 8]), ("add", [None, 16, 16, 8]),
        ("relu6", [None, 16, 16, 8]), ("multiply", [None, 16, 16, 8]), ("true_divide", [None, 16, 16, 8]),
        ("conv2d_1", [None, 16, 16, 8]), ("add_1", [None, 16, 16, 8]), ("mean", [None, 8]),
        ("expand_dims", [None, 1, 8]), ("squeeze", [None, 8]), ("dense", [None, 2])]
    assert out["total_params"] == 274 and out["layers"][2]["line"] == 5


@pytest.mark.parametrize("code,words", [
    ("s = 'a'\nfor i in range(80):\n    s = s + s\n", None),  # grows past the cap: unknown, harmless
    ("x = 3\nfor i in range(40):\n    x = x * x\n", None),
    ("def f(n):\n    return f(n + 1)\nf(0)\n", None),  # unbounded recursion: unknown, harmless
    ("x = " + "(" * 5000 + "1" + ")" * 5000 + "\n", "not valid Python"),
    ("x = 1" + " + 1" * 100000 + "\n", "nested too deeply"),
    ("for i in range(1000000):\n    for j in range(1000000):\n        pass\n", "2,000,000 steps"),
    ("while True:\n    pass\n", None),
])
def test_hostile_sources_end_in_bounded_time(tmp_path, code, words):
    model = "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])\n"
    result = run("shape", "--file", write(tmp_path, "import keras\n" + code + model), "--format", "json")
    if words is None:
        assert result.exit_code == 0 and json.loads(result.stdout)["total_params"] == 10
    else:
        assert result.exit_code == 2 and words in result.stderr and "Traceback" not in result.output


def test_a_source_that_is_not_utf8(tmp_path):
    path = tmp_path / "m.py"
    path.write_bytes(b"\xff\xfe import keras\n")
    result = run("shape", "--file", path)
    assert result.exit_code == 2 and "is not UTF-8 text" in result.stderr and "Python text" in result.stderr


def test_partial_star_imports_plain_classes_and_main_guard(tmp_path):
    """Keras 3.15 on this file: conv2d, max_pooling2d, conv2d_1, flatten, dense; 327,946 parameters."""
    path = write(tmp_path, """\
        from functools import partial
        import tensorflow as tf
        from tensorflow.keras.layers import *


        class Config:
            IMG = 28
            FILTERS = [64, 128]


        DefaultConv2D = partial(tf.keras.layers.Conv2D, kernel_size=3, activation="relu", padding="SAME")


        def build():
            return tf.keras.Sequential([
                Input(shape=(Config.IMG, Config.IMG, 1)),
                DefaultConv2D(filters=Config.FILTERS[0], kernel_size=7),
                MaxPooling2D(pool_size=2),
                DefaultConv2D(filters=Config.FILTERS[1]),
                Flatten(),
                Dense(units=10, activation="softmax"),
            ])


        if __name__ == "__main__":
            model = build()
        """)
    out = shape_json(path)
    assert out["total_params"] == 327946
    assert [(row["name"], row["line"]) for row in out["layers"]] == [
        ("conv2d", 17), ("max_pooling2d", 18), ("conv2d_1", 19), ("flatten", 20), ("dense", 21)]


def test_tensor_shapes_are_known_where_keras_knows_them(tmp_path):
    """Keras 3.15 on this file: 115,804 parameters, conv2d_1 output (None, 1, 1, 8)."""
    path = write(tmp_path, """\
        import keras
        from keras import layers, ops


        def squeeze_excite(init, ratio=4):
            filters = init.shape[-1]
            se = layers.GlobalAveragePooling2D()(init)
            se = layers.Reshape((1, 1, filters))(se)
            se = layers.Dense(filters // ratio, activation="relu")(se)
            se = layers.Dense(filters, activation="sigmoid")(se)
            return layers.multiply([init, se])


        inputs = keras.Input((32, 32, 3))
        x = layers.Conv2D(16, 3)(inputs)
        x = squeeze_excite(x)
        h, w = ops.shape(x)[1:3]
        x = layers.Conv2D(8, (h, w))(x)
        model = keras.Model(inputs, x)
        """)
    out = shape_json(path)
    assert out["total_params"] == 115804 and out["output_shape"] == [None, 1, 1, 8]


def test_batch_and_run_on_a_source_model(tmp_path):
    path = write(tmp_path, "import keras\nmodel = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3)])\n")
    out = shape_json(path, "--batch", "2", "--run")
    assert out["output_shape"] == [2, 6, 6, 4] and out["run"]["batch"] == 2
    assert out["layers"][0]["measured_shape"] == [2, 6, 6, 4]
    several = write(tmp_path, "import keras\na = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])\n"
                    "b = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])\n", "two.py")
    refused = run("shape", "--file", several, "--run")
    assert refused.exit_code == 2 and "pick it with --model" in refused.stderr


@pytest.mark.parametrize("code,name", [
    # Keras 3.15: the name the next keras.Model(...) gets after each of these
    ("", "functional"),
    ("keras.Sequential([keras.Input((4,)), layers.Dense(2), layers.Dense(3)])", "functional_1"),
    ("keras.Sequential([layers.Dense(2), layers.Dense(3)])", "functional"),
    ("s = keras.Sequential()\ns.add(keras.Input((4,)))\ns.add(layers.Dense(2))\ns.add(layers.Dense(3))", "functional_2"),
    ("s = keras.Sequential()\ns.add(layers.Dense(2, input_shape=(4,)))\ns.add(layers.Dense(3))", "functional_2"),
    ("s = keras.Sequential()\ns.add(layers.Dense(2))\ns.add(layers.Dense(3))\ns.build((None, 4))", "functional_1"),
    ("s = keras.Sequential([layers.Dense(2)])\ns(keras.Input((4,)))\ns(keras.Input((4,)))", "functional_1"),
    ("s = keras.Sequential([keras.Input((4,)), layers.Dense(2)])\ns(keras.Input((4,)))", "functional_1"),
    ("keras.Sequential([layers.InputLayer((4,)), layers.Dense(2)])", "functional_1"),
])
def test_sequential_builds_use_functional_names_as_keras_does(tmp_path, code, name):
    path = write(tmp_path, "import keras\nfrom keras import layers\n" + code +
                 "\nx = keras.Input((4,))\nmodel = keras.Model(x, layers.Dense(1)(x))\n")
    out = shape_json(path, "--model", "model")
    assert out["name"] == name
