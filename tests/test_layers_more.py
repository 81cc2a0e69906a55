"""Layers added with None sizes: every expected answer below comes from Keras 3.15.1 (TensorFlow 2.21)."""

from __future__ import annotations

import pytest

from convcalc.errors import ConvcalcError
from convcalc.layers import build_layer
from convcalc.parse import parse_call
from tests.conftest import run_json

N = None

# (spec, input shape(s) without batch, data format, Keras output shape without batch, Keras count_params())
CASES = [
    ("GroupNormalization(32)", (4, 64), "channels_last", (4, 64), 128),
    ("GroupNormalization(-1)", (8, 6), "channels_last", (8, 6), 12),
    ("GroupNormalization(1, scale=False)", (2,), "channels_last", (2,), 2),
    ("UnitNormalization()", (4, N), "channels_last", (4, N), 0),
    ("UnitNormalization(axis=0)", (8, 6), "channels_last", (8, 6), 0),
    ("Embedding(10, 4)", (N,), "channels_last", (N, 4), 40),
    ("Embedding(10, 4)", (N, N), "channels_last", (N, N, 4), 40),
    ("Embedding(10, 4)", (), "channels_last", (4,), 40),
    ("Embedding(10, 4, lora_rank=2)", (5,), "channels_last", (5, 4), 68),
    ("Embedding(100, 4, mask_zero=True, input_length=11)", (11,), "channels_last", (11, 4), 400),
    ("Dense(4)", (N, 3), "channels_last", (N, 4), 16),
    ("BatchNormalization()", (N, N, 3), "channels_last", (N, N, 3), 12),
    ("Normalization()", (N, 3), "channels_last", (N, 3), 7),
    ("LayerNormalization(center=True, scale=False, rms_scaling=True)", (4, 3), "channels_last", (4, 3), 3),
    ("PReLU(shared_axes=[1])", (N, 3), "channels_last", (N, 3), 3),
    ("SpatialDropout2D(0.5)", (N, N, 3), "channels_last", (N, N, 3), 0),
    ("RepeatVector(3)", (4,), "channels_last", (3, 4), 0),
    ("RepeatVector(3)", (N,), "channels_last", (3, N), 0),
    ("Masking()", (4, 3), "channels_last", (4, 3), 0),
    ("ActivityRegularization(l1=0.1)", (4, 3), "channels_last", (4, 3), 0),
    ("AlphaDropout(0.1)", (4, 3), "channels_last", (4, 3), 0),
    ("GaussianDropout(0.1)", (4, 3), "channels_last", (4, 3), 0),
    ("Identity()", (4, 3), "channels_last", (4, 3), 0),
    ("Lambda(None, output_shape=(2, 3))", (4, 3), "channels_last", (2, 3), 0),
    ("Softmax(axis=5)", (4, 3), "channels_last", (4, 3), 0),
    ("Add()", [(N, 3), (4, 3)], "channels_last", (N, 3), 0),
    ("Add()", [(4, 3), (1, 3)], "channels_last", (4, 3), 0),
    ("Add()", [(4, 3), (3,)], "channels_last", (4, 3), 0),
    ("Add()", [(3,), (4, 3)], "channels_last", (4, 3), 0),
    ("Add()", [(1, 3), (N, 3)], "channels_last", (N, 3), 0),
    ("Add()", [(4, 3)], "channels_last", (4, 3), 0),
    ("Concatenate()", [(4, 3)], "channels_last", (4, 3), 0),
    ("Concatenate(0)", [(4, 3), (4, 3)], "channels_last", (4, 3), 0),
    ("Concatenate(-3)", [(4, 3), (4, 3)], "channels_last", (4, 3), 0),
    ("Concatenate()", [(4, N), (4, 3)], "channels_last", (4, N), 0),
    ("Concatenate(1)", [(N, 3), (4, 3)], "channels_last", (N, 3), 0),
    ("CenterCrop(4, 4)", (N, N, 3), "channels_last", (4, 4, 3), 0),
    ("CenterCrop(4, 4)", (3, N, N), "channels_last", (4, 4, N), 0),
    ("CenterCrop(4, 4)", (8, 8), "channels_first", (4, 4), 0),
    ("CenterCrop(4, 4, data_format='channels_first')", (N, N, 3), "channels_first", (N, 4, 4), 0),
    ("CenterCrop(0, 4)", (8, 8, 3), "channels_last", (0, 4, 3), 0),
    ("RandomCrop(4, 4)", (2, 8, 8, 3), "channels_last", (2, 4, 4, 3), 0),
    ("RandomCrop(4, 4)", (2, 8, 8, 3), "channels_first", (2, 8, 4, 4), 0),
    ("RandomCrop(4, 4)", (8, 8), "channels_first", (4, 4), 0),
    ("RandomFlip()", (8,), "channels_last", (8,), 0),
    ("RandomRotation(0.2)", (N, N, 3), "channels_last", (N, N, 3), 0),
    ("RandomColorDegeneration(0.2)", (8, 8), "channels_first", (8, 8), 0),
    ("RandomColorDegeneration(0.2)", (N, N, 3), "channels_first", (N, N, 3), 0),
    ("RandomGrayscale()", (8, 8, 4), "channels_last", (8, 8, 4), 0),
    ("Equalization()", (9, 3, 3, 3), "channels_last", (9, 3, 3, 3), 0),
    ("MaxNumBoundingBoxes(2)", (8, 8, 3), "channels_last", (8, 8, 3), 0),
    ("Solarization(addition_factor=(0.1, 0.5))", (8, 8, 3), "channels_last", (8, 8, 3), 0),
    ("RandomZoom((-0.5, 1.0))", (8, 8, 3), "channels_last", (8, 8, 3), 0),
    ("LayerScale(1e-06, 3)", (N, N, 3), "channels_last", (N, N, 3), 3),
    ("LayerScale(1e-06, 3)", (N, N, 1), "channels_last", (N, N, 3), 3),
    ("LayerScale(1e-06, 3)", (N, N, N), "channels_last", (N, N, 3), 3),
    ("CustomScaleLayer(0.1)", [(N, N, 3), (4, 4, 3)], "channels_last", (4, 4, 3), 0),
    ("CustomScaleLayer(0.1)", [(4, 4, 1), (4, 4, 3)], "channels_last", (4, 4, 3), 0),
    ("CustomScaleLayer(0.1)", [(4, 4, 3), (4, 4, 3), (4, 4, 3)], "channels_last", (4, 4, 3), 0),
    ("CustomScaleLayer(0.1)", [(4, 3), (4, 4, 3)], "channels_last", (4, 4, 3), 0),
]

# (spec, input, data format, words of the refusal): Keras 3.15 refuses each of these too.
REFUSALS = [
    ("GroupNormalization(4)", (8, 6), "channels_last", "must divide"),
    ("GroupNormalization(12)", (8, 6), "channels_last", "cannot be more than"),
    ("GroupNormalization(0)", (8, 6), "channels_last", "groups"),
    ("GroupNormalization(1)", (4, N), "channels_last", "None"),
    ("GroupNormalization(1, axis=0)", (4, 3), "channels_last", "None"),
    ("GroupNormalization(2, 3)", (8, 6), "channels_last", "out of range"),
    ("UnitNormalization(axis=5)", (8, 6), "channels_last", "out of range"),
    ("Embedding(0, 4)", (5,), "channels_last", "input_dim"),
    ("Dense(4)", (3, N), "channels_last", "None"),
    ("BatchNormalization()", (3, N), "channels_last", "None"),
    ("LayerNormalization()", (3, N), "channels_last", "None"),
    ("LayerNormalization([1, 2])", (4, N), "channels_last", "None"),
    ("Normalization()", (4, N), "channels_last", "None"),
    ("PReLU()", (N, 3), "channels_last", "None"),
    ("RepeatVector(3)", (4, 3), "channels_last", "1 sizes"),
    ("RepeatVector(0)", (4,), "channels_last", "n"),
    ("Lambda(None)", (4, 3), "channels_last", "cannot be known"),
    ("Add()", [(4, 3), (5, 3)], "channels_last", "same shape"),
    ("Add()", (4, 3), "channels_last", "list"),
    ("Subtract()", [(4, 3)] * 3, "channels_last", "exactly 2"),
    ("Concatenate(0)", [(4, 3), (5, 3)], "channels_last", "matching shapes"),
    ("Concatenate(1)", [(N, 2), (4, 3)], "channels_last", "matching shapes"),
    ("Concatenate()", [(4, 3), (3,)], "channels_last", "same rank"),
    ("Concatenate(3)", [(4, 3), (4, 3)], "channels_last", "out of range"),
    ("CenterCrop(4, 4)", (8,), "channels_last", "2 or 3 sizes"),
    ("CenterCrop(4, 4)", (2, 8, 8, 3), "channels_last", "2 or 3 sizes"),
    ("CenterCrop(-1, 4)", (8, 8, 3), "channels_last", "height"),
    ("RandomCrop(2.5, 4)", (8, 8, 3), "channels_last", "height"),
    ("RandomColorDegeneration(0.2)", (8, 8, 4), "channels_last", "3 channels"),
    ("RandomColorDegeneration(0.2)", (2, 8, 8, 3), "channels_last", "2 or 3 sizes"),
    ("RandomContrast(1.5)", (8, 8, 3), "channels_last", "factor"),
    ("RandomBrightness(1.5)", (8, 8, 3), "channels_last", "factor"),
    ("RandomZoom(1.5)", (8, 8, 3), "channels_last", "height_factor"),
    ("RandomZoom(-1.0)", (8, 8, 3), "channels_last", "height_factor"),
    ("RandomTranslation(1.5, 0.1)", (8, 8, 3), "channels_last", "height_factor"),
    ("RandomRotation(0.2, fill_mode='mirror')", (8, 8, 3), "channels_last", "fill_mode"),
    ("RandomGrayscale(factor=(0.1, 0.2))", (8, 8, 3), "channels_last", "factor"),
    ("Solarization(addition_factor=1.5)", (8, 8, 3), "channels_last", "addition_factor"),
    ("LayerScale(1e-06, 8)", (7, 7, 4), "channels_last", "broadcast"),
    ("CustomScaleLayer(0.1)", [(5, 5, 16), (5, 5, 8)], "channels_last", "broadcast"),
]

# Where Keras changes the batch axis (it reads a rank-3 tensor as one unbatched image): convcalc refuses.
# Keras reads an input of two sizes as one unbatched image and writes height and width
# over the batch axis: the whole output shape, batch axis first, is Keras's.
BATCH_CHANGING = [
    ("CenterCrop(5, 6)", (9, 12), "channels_last", (5, 6, 12)),
    ("RandomCrop(5, 6)", (9, 12), "channels_last", (5, 6, 12)),
    ("Resizing(4, 5)", (8, 8), "channels_last", (4, 5, 8)),
    ("Resizing(4, 5)", (2, 8, 8, 3), "channels_last", (4, 5, 8, 8, 3)),
]


def compute(spec, shape, data_format):
    shape = [tuple(s) for s in shape] if isinstance(shape, list) else tuple(shape)
    return build_layer(parse_call(spec)).compute(shape, data_format)


@pytest.mark.parametrize("spec, shape, data_format, output, params", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_output_shape_and_params_equal_keras(spec, shape, data_format, output, params):
    result = compute(spec, shape, data_format)
    assert tuple(result.output_shape) == output
    assert result.params == params


@pytest.mark.parametrize("spec, shape, data_format, words", REFUSALS, ids=[f"{c[0]}-{c[1]}" for c in REFUSALS])
def test_keras_refusals_are_refused(spec, shape, data_format, words):
    with pytest.raises(ConvcalcError, match=None) as error:
        compute(spec, shape, data_format)
    assert words in str(error.value)


@pytest.mark.parametrize("spec, shape, data_format, output", BATCH_CHANGING, ids=[f"{c[0]}-{c[1]}" for c in BATCH_CHANGING])
def test_keras_writes_over_the_batch_axis(spec, shape, data_format, output):
    result = compute(spec, shape, data_format)
    assert result.includes_batch and tuple(result.output_shape) == output
    out = run_json("shape", "--input", "x".join(map(str, shape)), spec)
    assert out["output_shape"] == list(output)


def test_random_crop_of_one_axis_is_refused():
    """Keras 3.15 fails with an IndexError here."""
    with pytest.raises(ConvcalcError, match="cannot place the height and width"):
        compute("RandomCrop(4, 4)", (8,), "channels_last")


def test_weight_names_as_keras_declares_them():
    names = lambda spec, shape: [(w.name, w.shape, w.trainable) for w in compute(spec, shape, "channels_last").weights]
    assert names("Embedding(10, 4, lora_rank=2)", (5,)) == [
        ("embeddings", (10, 4), False), ("lora_embeddings_a", (10, 2), True), ("lora_embeddings_b", (2, 4), True)]
    assert names("GroupNormalization(2)", (4, 6)) == [("gamma", (6,), True), ("beta", (6,), True)]
    assert names("LayerScale(1e-06, 8)", (7, 7, 8)) == [("variable", (8,), True)]
    assert names("RandomRotation(0.2)", (8, 8, 3)) == []  # the seed generator state is not counted


def test_new_layers_through_the_cli():
    data = run_json("shape", "-i", "32x32x3", "CenterCrop(24, 24)", "RandomFlip()", "GroupNormalization(3)",
                    "--format", "json")
    assert data["output_shape"] == [None, 24, 24, 3]
    assert data["total_params"] == 6
    assert [layer["type"] for layer in data["layers"]] == ["CenterCrop", "RandomFlip", "GroupNormalization"]


@pytest.mark.parametrize("axis, mean, accepted", [
    ("(1, 2)", "(1., 2., 3.)", False),  # Keras: Incompatible shapes [1,1,3,1] vs. [1,4,4,1]
    ("(1, 2)", "(" + ", ".join(["1."] * 16) + ")", False),  # 16 flat values do not broadcast to (4, 4)
    ("(1, 2)", "(" + ", ".join(["(1., 1., 1., 1.)"] * 4) + ")", True),
    ("(1, 2, 3)", "(1., 2., 3.)", True),  # broadcasts to (4, 4, 3)
    ("-1", "2.0", True),
    ("-1", "(1., 2.)", False),
])
def test_normalization_mean_broadcasts_to_the_kept_axes_as_keras_does(axis, mean, accepted):
    """Checked against Keras 3.15: Normalization(axis, mean, variance) on an input (4, 4, 3)."""
    from conftest import run

    result = run("shape", "--input", "4x4x3", f"Normalization(axis={axis}, mean={mean}, variance={mean})")
    assert (result.exit_code == 0) == accepted, result.stderr
    if not accepted:
        assert "cannot broadcast to the normalized axes' sizes" in result.stderr
