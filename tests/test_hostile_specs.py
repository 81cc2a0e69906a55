"""Hostile and mistyped layer specs and input shapes (issue 9, families 6 and 7, everyday mistakes).

Every case must end as documented (SPEC 6): exit 2, one ``Error:`` sentence on
stderr naming the cause, no traceback, nothing on stdout.  The tables are
generated from the layers' sized arguments, so a new layer family gets the
same hostile values by adding one row.
"""

from __future__ import annotations

import pytest

from conftest import run

HUGE = "1" + "0" * 400  # 10**400 written out
HEX_HUGE = "0x" + "f" * 4000  # an int of ~4800 digits that ast accepts (decimal is capped at 4300 digits)
DEC_HUGE = "9" * 4400  # past Python's 4300-digit limit for int(str)
INT64_PLUS_1 = str(2**63)

# (spec template with {v} where the hostile value goes, --input, values it must refuse besides the common ones)
# Sizes: > 0.  Amounts (padding, cropping, output_padding): >= 0.
POSITIVE = ("0", "-1", "True", "False", "1.5", "'3'", "None", HUGE, INT64_PLUS_1, HEX_HUGE, "(3, 0)", "(True, 3)")
NON_NEGATIVE = ("-1", "True", "1.5", "'3'", HUGE, INT64_PLUS_1, "(1, -1)", "(True, 1)")

SIZED = {
    # convolutions
    "Conv1D.filters": ("Conv1D({v}, 3)", "16x3", POSITIVE),
    "Conv1D.kernel_size": ("Conv1D(8, {v})", "16x3", POSITIVE[:-2]),
    "Conv1D.strides": ("Conv1D(8, 3, strides={v})", "16x3", POSITIVE[:-2]),
    "Conv1D.dilation_rate": ("Conv1D(8, 3, dilation_rate={v})", "16x3", POSITIVE[:-2]),
    "Conv1D.groups": ("Conv1D(8, 3, groups={v})", "16x4", POSITIVE[:-2]),
    "Conv2D.filters": ("Conv2D({v}, 3)", "16x16x3", POSITIVE),
    "Conv2D.kernel_size": ("Conv2D(8, {v})", "16x16x3", POSITIVE),
    "Conv2D.strides": ("Conv2D(8, 3, strides={v})", "16x16x3", POSITIVE),
    "Conv2D.dilation_rate": ("Conv2D(8, 3, dilation_rate={v})", "16x16x3", POSITIVE),
    "Conv2D.groups": ("Conv2D(8, 3, groups={v})", "16x16x4", POSITIVE[:-2]),
    "Conv3D.filters": ("Conv3D({v}, 3)", "8x8x8x3", POSITIVE),
    "Conv3D.kernel_size": ("Conv3D(8, {v})", "8x8x8x3", POSITIVE[:-2]),
    "Conv3D.strides": ("Conv3D(8, 3, strides={v})", "8x8x8x3", POSITIVE[:-2]),
    "Conv1DTranspose.filters": ("Conv1DTranspose({v}, 3)", "16x3", POSITIVE),
    "Conv2DTranspose.filters": ("Conv2DTranspose({v}, 3)", "16x16x3", POSITIVE),
    "Conv2DTranspose.kernel_size": ("Conv2DTranspose(8, {v})", "16x16x3", POSITIVE),
    "Conv2DTranspose.strides": ("Conv2DTranspose(8, 3, strides={v})", "16x16x3", POSITIVE),
    "Conv2DTranspose.output_padding": ("Conv2DTranspose(8, 3, strides=3, output_padding={v})", "16x16x3", NON_NEGATIVE),
    "Conv3DTranspose.filters": ("Conv3DTranspose({v}, 3)", "8x8x8x3", POSITIVE),
    "DepthwiseConv1D.kernel_size": ("DepthwiseConv1D({v})", "16x3", POSITIVE[:-2]),
    "DepthwiseConv2D.kernel_size": ("DepthwiseConv2D({v})", "16x16x3", POSITIVE),
    "DepthwiseConv2D.depth_multiplier": ("DepthwiseConv2D(3, depth_multiplier={v})", "16x16x3", POSITIVE[:-2]),
    "SeparableConv1D.filters": ("SeparableConv1D({v}, 3)", "16x3", POSITIVE),
    "SeparableConv2D.filters": ("SeparableConv2D({v}, 3)", "16x16x3", POSITIVE),
    "SeparableConv2D.depth_multiplier": ("SeparableConv2D(8, 3, depth_multiplier={v})", "16x16x3", POSITIVE[:-2]),
    "Convolution2D.nb_filter": ("Convolution2D(nb_filter={v}, nb_row=3, nb_col=3)", "16x16x3", POSITIVE[:-2]),
    "Convolution2D.nb_row": ("Convolution2D(8, {v}, 3)", "16x16x3", POSITIVE[:-2]),
    # pooling
    "MaxPooling1D.pool_size": ("MaxPooling1D({v})", "16x3", POSITIVE[:-2]),
    "MaxPooling2D.pool_size": ("MaxPooling2D({v})", "16x16x3", POSITIVE[:7] + POSITIVE[8:]),  # None is Keras's default
    "MaxPooling2D.strides": ("MaxPooling2D(2, strides={v})", "16x16x3", POSITIVE[:6] + POSITIVE[7:]),
    "AveragePooling2D.pool_size": ("AveragePooling2D({v})", "16x16x3", POSITIVE[:6] + POSITIVE[7:]),
    "AveragePooling3D.pool_size": ("AveragePooling3D({v})", "8x8x8x3", POSITIVE[:6] + POSITIVE[7:-2]),
    # reshaping
    "UpSampling1D.size": ("UpSampling1D({v})", "16x3", POSITIVE[:-2]),
    "UpSampling2D.size": ("UpSampling2D({v})", "16x16x3", POSITIVE),
    "UpSampling3D.size": ("UpSampling3D({v})", "8x8x8x3", POSITIVE[:-2]),
    "ZeroPadding1D.padding": ("ZeroPadding1D({v})", "16x3", NON_NEGATIVE[:-2]),
    # Keras takes a single negative int for ZeroPadding2D/3D (it crops): only pairs must be >= 0
    "ZeroPadding2D.padding": ("ZeroPadding2D({v})", "16x16x3", NON_NEGATIVE[1:]),
    "ZeroPadding3D.padding": ("ZeroPadding3D({v})", "8x8x8x3", NON_NEGATIVE[1:-2]),
    "Cropping1D.cropping": ("Cropping1D({v})", "16x3", NON_NEGATIVE[:-2]),
    "Cropping2D.cropping": ("Cropping2D({v})", "16x16x3", NON_NEGATIVE),
    "Cropping3D.cropping": ("Cropping3D({v})", "8x8x8x3", NON_NEGATIVE[:-2]),
    "Reshape.target_shape": ("Reshape(({v}, 16))", "4x4", ("0", "-2", "True", "1.5", "'4'", HUGE, INT64_PLUS_1)),
    # Keras takes 0 and None as a resized or cropped size (an empty or unknown axis), so does convcalc
    "Resizing.height": ("Resizing({v}, 8)", "16x16x3", NON_NEGATIVE),
    "Resizing.width": ("Resizing(8, {v})", "16x16x3", NON_NEGATIVE),
    "CenterCrop.height": ("CenterCrop({v}, 4)", "16x16x3", NON_NEGATIVE),
    "RandomCrop.width": ("RandomCrop(4, {v})", "16x16x3", NON_NEGATIVE),
    # core
    "Dense.units": ("Dense({v})", "16", POSITIVE[:-2]),
    "Embedding.input_dim": ("Embedding({v}, 4)", "5", POSITIVE[:-2]),
    "Embedding.output_dim": ("Embedding(10, {v})", "5", POSITIVE[:-2]),
    "RepeatVector.n": ("RepeatVector({v})", "4", POSITIVE[:-2]),
    "GroupNormalization.groups": ("GroupNormalization(groups={v})", "8x8x4", ("0", "-2", "True", "1.5", "'2'", "None", HUGE)),
    "MaxNumBoundingBoxes.max_number": ("MaxNumBoundingBoxes({v})", "8x8x3", POSITIVE[:-2]),
}

def refused(result, *words):
    """Exit 2 with one clear error: no traceback, no partial output, the expected words."""
    assert result.exit_code == 2, (result.exit_code, result.stdout[:300], result.stderr[:300])
    assert result.stderr.startswith("Error:"), result.stderr[:300]
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    assert len(result.stderr) < 1200, result.stderr[:300]  # never a 5000-digit number echoed back
    for word in words:
        assert word.lower() in result.stderr.lower(), (word, result.stderr)
    return result.stderr


@pytest.mark.parametrize("key", SIZED)
def test_every_sized_argument_refuses_impossible_values(key):
    """One test per argument, looping over its values (one fixture setup instead of a dozen)."""
    template, shape, values = SIZED[key]
    for value in values:
        spec = template.format(v=value)
        try:
            refused(run("shape", "--input", shape, spec))
        except AssertionError as error:
            raise AssertionError(f"{spec[:80]}: {error}") from None
    good = run("shape", "--input", shape, template.format(v="2" if "Reshape" not in key else "1"))
    assert good.exit_code == 0, (key, good.stderr)  # the same spec with a sane value is accepted


# --- huge numbers: bounded where they enter, named limit, never str() of a huge int

HUGE_SPECS = {
    "decimal-400-digits": ("Conv2D(" + HUGE + ", 3)", ["2**63 - 1"]),
    "decimal-4400-digits": ("Conv2D(" + DEC_HUGE + ", 3)", ["4300 digits", "2**63 - 1"]),
    "hex-4800-digits": ("Conv2D(" + HEX_HUGE + ", 3)", ["digits", "2**63 - 1"]),
    "octal-huge": ("Dense(0o" + "7" * 3000 + ")", ["digits", "2**63 - 1"]),
    "binary-huge": ("Dense(0b" + "1" * 4000 + ")", ["digits", "2**63 - 1"]),
    "int64-plus-1": ("Dense(" + INT64_PLUS_1 + ")", ["2**63 - 1"]),
    "negative-huge": ("Dense(-" + HUGE + ")", ["2**63 - 1"]),
    "power-expression": ("Dense(2**4000)", ["not a literal"]),
    "power-expression-filters": ("Conv2D(10**400, 3)", ["not a literal"]),
    "huge-in-tuple": ("Conv2D(8, (3, " + HUGE + "))", ["2**63 - 1"]),
    "huge-in-nested-call": ("Conv2D(8, 3, kernel_initializer=initializers.Constant(" + HUGE + "))", ["2**63 - 1"]),
    "huge-seed": ("Dropout(0.5, seed=" + HUGE + ")", ["2**63 - 1"]),
    "huge-axis": ("Concatenate(axis=" + HUGE + ")", ["2**63 - 1"]),
    "float-overflow": ("Dense(8, lora_alpha=1e400)", ["too large for a float"]),
    "float-overflow-negative": ("LeakyReLU(negative_slope=-1e999)", ["too large for a float"]),
    "float-overflow-in-tuple": ("RandomZoom((0.1, 1e309))", ["too large for a float"]),
    "huge-reshape": ("Reshape((" + HUGE + ",))", ["2**63 - 1"]),
    "huge-input-shape-arg": ("Conv2D(8, 3, input_shape=(" + HUGE + ", 8, 3))", ["2**63 - 1"]),
    "spec-too-long": ("Conv2D(8, 3, name='" + "x" * 6000 + "')", ["limit is 5000"]),
}


@pytest.mark.parametrize("spec, words", HUGE_SPECS.values(), ids=HUGE_SPECS.keys())
def test_huge_numbers_are_refused_with_the_limit(spec, words):
    refused(run("shape", "--input", "16x16x3", spec), *words)


def test_the_largest_int64_is_still_a_size():
    result = run("shape", "--input", "1", "Dense(9223372036854775807)", "--format", "json")
    assert result.exit_code == 0, result.stderr


MAX = str(2**63 - 1)
TOO_LARGE = {
    "upsampling-output": ([MAX + "x3"], ["UpSampling1D(4)"], "output shape"),
    "upsampling-chain": (["4611686018427387904x3"], ["UpSampling1D(2)"], "output shape"),
    "transpose-output": ([MAX + "x3"], ["Conv1DTranspose(4, 3, strides=2)"], "output shape"),
    "zeropadding-output": ([MAX + "x3"], ["ZeroPadding1D(1)"], "output shape"),
    "dense-kernel": (["4"], ["Dense(4611686018427387904)"], "weight 'kernel'"),
    "conv-kernel": (["8x8x3"], ["Conv2D(" + MAX + ", 3)"], "weight 'kernel'"),
    "embedding": (["5"], ["Embedding(" + MAX + ", 2)"], "weight 'embeddings'"),
    "repeat-vector": (["4"], ["RepeatVector(" + MAX + ")", "Flatten()"], "output shape"),
    "flatten": ([MAX + "x2"], ["Flatten()"], "output shape"),
}


@pytest.mark.parametrize("shape, specs, words", TOO_LARGE.values(), ids=TOO_LARGE.keys())
def test_tensors_larger_than_int64_are_refused(shape, specs, words):
    refused(run("shape", "--input", *shape, *specs), words, "2**63 - 1")


# --- repeated keywords: Python refuses them, so does the spec parser

REPEATED = [
    "Conv2D(8, 3, padding='valid', padding='same')",
    "Conv2D(8, 3, strides=1, strides=2)",
    "Conv2D(filters=8, filters=8, kernel_size=3)",
    "Conv2D(8, kernel_size=3, kernel_size=3)",
    "Conv2D(8, 3, activation='relu', activation='relu')",
    "Conv2D(8, 3, name='a', name='b')",
    "Conv2D(8, 3, data_format='channels_last', data_format='channels_first')",
    "Conv2D(8, 3, use_bias=True, use_bias=False)",
    "Conv2DTranspose(8, 3, output_padding=0, output_padding=None)",
    "DepthwiseConv2D(3, depth_multiplier=1, depth_multiplier=2)",
    "SeparableConv2D(8, 3, padding='same', padding='same')",
    "Dense(4, units=4, units=5)",
    "Dense(4, use_bias=False, use_bias=False)",
    "MaxPooling2D(pool_size=2, pool_size=3)",
    "AveragePooling2D(2, strides=1, strides=2)",
    "ZeroPadding2D(padding=1, padding=2)",
    "Cropping2D(cropping=1, cropping=1)",
    "UpSampling2D(size=2, size=2)",
    "BatchNormalization(axis=-1, axis=1)",
    "Dropout(rate=0.1, rate=0.2)",
    "Activation('relu', activation='relu', activation='tanh')",
    "Flatten(data_format='channels_last', data_format='channels_last')",
    "Reshape(target_shape=(4, 4), target_shape=(16,))",
    "Conv2D(8, 3, kernel_initializer=initializers.Constant(value=1, value=2))",
    "Conv2D(8, 3, kernel_initializer=keras.initializers.RandomNormal(seed=1, seed=2))",
    "Convolution2D(nb_filter=8, nb_filter=8, nb_row=3, nb_col=3)",
    "Convolution2D(8, 3, 3, border_mode='same', border_mode='valid')",
    "keras.layers.Conv2D(8, 3, padding='same', padding='same')",
    "Conv2D(8, 3, padding='valid', padding='same')(x)",
]


@pytest.mark.parametrize("spec", REPEATED)
def test_repeated_keywords_are_refused_with_pythons_reason(spec):
    refused(run("shape", "--input", "16x16x3", spec), "keyword argument repeated", "twice")


@pytest.mark.parametrize("spec", [
    "Input(shape=(8, 8, 3), shape=(8, 8, 3))",
    "Input(shape=(8, 8, 3), batch_size=2, batch_size=3)",
    "InputLayer(shape=(8, 8, 3), name='a', name='b')",
])
def test_repeated_keywords_in_input(spec):
    refused(run("shape", spec, "Conv2D(4, 3)"), "keyword argument repeated")


# --- the input: zero, negative, bool and huge sizes and batch sizes

BAD_INPUT_CALLS = {
    "zero-size": ("Input(shape=(0, 8, 3))", ["positive integer"]),
    "negative-size": ("Input(shape=(-1, 8, 3))", ["positive integer"]),
    "negative-channels": ("Input(shape=(8, 8, -3))", ["positive integer"]),
    "true-size": ("Input(shape=(True, 8, 3))", ["True/False"]),
    "false-size": ("Input(shape=(8, False, 3))", ["True/False"]),
    "float-size": ("Input(shape=(8.0, 8, 3))", ["positive integer"]),
    "string-size": ("Input(shape=('8', 8, 3))", ["positive integer"]),
    "huge-size": ("Input(shape=(" + HUGE + ", 8, 3))", ["2**63 - 1"]),
    "hex-huge-size": ("Input(shape=(" + HEX_HUGE + ", 8, 3))", ["2**63 - 1"]),
    "batch-zero": ("Input(shape=(8, 8, 3), batch_size=0)", ["batch size", "positive"]),
    "batch-negative": ("Input(shape=(8, 8, 3), batch_size=-4)", ["batch size", "positive"]),
    "batch-true": ("Input(shape=(8, 8, 3), batch_size=True)", ["True/False"]),
    "batch-float": ("Input(shape=(8, 8, 3), batch_size=2.0)", ["batch size"]),
    "batch-string": ("Input(shape=(8, 8, 3), batch_size='2')", ["batch size"]),
    "batch-huge": ("Input(shape=(8, 8, 3), batch_size=" + HUGE + ")", ["2**63 - 1"]),
    "batch-positional-zero": ("Input((8, 8, 3), 0)", ["batch size"]),
    "batch-shape-zero": ("Input(batch_shape=(0, 8, 8, 3))", ["batch size"]),
    "batch-shape-negative": ("Input(batch_shape=(-1, 8, 8, 3))", ["batch size"]),
    "batch-shape-true": ("Input(batch_shape=(True, 8, 8, 3))", ["True/False"]),
    "batch-shape-negative-size": ("Input(batch_shape=(None, -5, -5, 3))", ["positive integer"]),
    "batch-shape-zero-size": ("Input(batch_shape=(2, 8, 0, 3))", ["positive integer"]),
    "batch-shape-true-size": ("Input(batch_shape=(2, True, 8, 3))", ["True/False"]),
    "batch-shape-empty": ("Input(batch_shape=())", ["batch_shape"]),
    "batch-shape-not-tuple": ("Input(batch_shape=8)", ["batch_shape"]),
    "shape-and-batch-shape": ("Input(shape=(8, 8, 3), batch_shape=(2, 8, 8, 3))", ["both"]),
    "inputlayer-zero": ("InputLayer(shape=(8, 0, 3))", ["positive integer"]),
    "inputlayer-true": ("InputLayer(shape=(8, True, 3))", ["True/False"]),
    "inputlayer-batch-zero": ("InputLayer(shape=(8, 8, 3), batch_size=0)", ["batch size"]),
    "inputlayer-batch-shape-negative": ("InputLayer(batch_shape=(None, -5, -5, 3))", ["positive integer"]),
    "inputlayer-legacy-negative": ("InputLayer(input_shape=(8, -8, 3))", ["positive integer"]),
    "inputlayer-legacy-batch-zero": ("InputLayer(batch_input_shape=(0, 8, 8, 3))", ["batch size"]),
    "keras-prefix-zero": ("keras.Input(shape=(8, 8, 0))", ["positive integer"]),
    "unknown-argument": ("Input(shap=(8, 8, 3))", ["did you mean 'shape'"]),
    "no-shape": ("Input(batch_size=2)", ["shape"]),
    "tensor": ("Input(tensor=x)", ["tensor"]),
}


@pytest.mark.parametrize("spec, words", BAD_INPUT_CALLS.values(), ids=BAD_INPUT_CALLS.keys())
def test_bad_input_calls(spec, words):
    refused(run("shape", spec, "Conv2D(4, 3)"), *words)


@pytest.mark.parametrize("spec, shape", [
    ("Input(shape=(None, None, 3))", [None, None, None, 4]),
    ("Input(batch_shape=(2, 8, 8, 3))", [2, 6, 6, 4]),
    ("Input(batch_shape=(None, 8, 8, 3))", [None, 6, 6, 4]),
    ("InputLayer(input_shape=(8, 8, 3))", [None, 6, 6, 4]),
    ("InputLayer(batch_input_shape=(2, 8, 8, 3))", [2, 6, 6, 4]),
    ("Input((8, 8, 3), 5)", [5, 6, 6, 4]),
])
def test_good_input_calls_still_work(spec, shape):
    import json

    result = run("shape", spec, "Conv2D(4, 3)", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["output_shape"] == shape


BAD_INPUT_OPTIONS = {
    "zero": ("0x32x3", ["size of 0"]),
    "zero-last": ("32x32x0", ["size of 0"]),
    "negative": ("-1x32x3", ["negative"]),
    "negative-commas": ("32,-32,3", ["negative"]),
    "negative-tuple": ("(32, 32, -3)", ["negative"]),
    "huge": ("1" + "0" * 30 + "x3", ["2**63 - 1"]),
    "huge-400-digits": (HUGE + "x3", ["limit is 200"]),
    "int64-plus-1": (INT64_PLUS_1 + "x3", ["2**63 - 1"]),
    "very-long": ("9" * 5000 + "x3", ["limit is 200"]),
    "true": ("truex32x3", ["True/False"]),
    "True-tuple": ("(True, 32, 3)", ["True/False"]),
    "float": ("32.5x32x3", ["not a shape"]),
    "spaces": ("32 32 3", ["spaces"]),
    "empty": ("", ["not a shape"]),
    "letters": ("axbxc", ["not a shape"]),
    "double-x": ("32xx3", ["not a shape"]),
    "cut-after": ("32x", ["split"]),
    "cut-before": ("x32x3", ["split"]),
    "cut-comma": ("32,32,", None),  # a trailing comma is Python's one-tuple: (32, 32)
}


@pytest.mark.parametrize("text, words", BAD_INPUT_OPTIONS.values(), ids=BAD_INPUT_OPTIONS.keys())
def test_bad_input_option(text, words):
    result = run("shape", "--input", text, "Dense(4)")
    if words is None:
        assert result.exit_code == 0, result.stderr
    else:
        refused(result, *words)


@pytest.mark.parametrize("batch", ["0", "-1", "-100"])
def test_bad_batch_option(batch):
    result = run("shape", "--input", "8x8x3", "--batch", batch, "Conv2D(4, 3)")
    assert result.exit_code == 2 and "Traceback" not in result.stderr


@pytest.mark.parametrize("size", [HUGE, "9" * 5000, "99999999999999999999TiB", "1" + "0" * 19, "1e400", "-1", "GiB", ""])
def test_bad_max_memory(size):
    refused(run("shape", "--input", "8x8x3", "Conv2D(4, 3)", "--run", "--max-memory", size), "--max-memory")


# --- suggestions: case and underscores first, then the closest spelling

LAYER_CASE = {
    "conv2d": "Conv2D", "CONV2D": "Conv2D", "conv1d": "Conv1D", "conv3d": "Conv3D",
    "conv2dtranspose": "Conv2DTranspose", "conv2d_transpose": "Conv2DTranspose",
    "dense": "Dense", "DENSE": "Dense", "flatten": "Flatten", "maxpooling2d": "MaxPooling2D",
    "max_pooling2d": "MaxPooling2D", "averagepooling2d": "AveragePooling2D", "batchnormalization": "BatchNormalization",
    "batch_normalization": "BatchNormalization", "layernormalization": "LayerNormalization", "dropout": "Dropout",
    "relu": "ReLU", "leakyrelu": "LeakyReLU", "prelu": "PReLU", "upsampling2d": "UpSampling2D",
    "zeropadding2d": "ZeroPadding2D", "depthwiseconv2d": "DepthwiseConv2D", "separableconv2d": "SeparableConv2D",
    "globalaveragepooling2d": "GlobalAveragePooling2D", "reshape": "Reshape", "embedding": "Embedding",
    "concatenate": "Concatenate", "add": "Add", "maxpool2d": "MaxPool2D", "Conv2d": "Conv2D",
    "Conv2dTranspose": "Conv2DTranspose", "layers.conv2d": "Conv2D", "keras.layers.dense": "Dense",
    "Conv4D": "Conv3D", "Dens": "Dense", "Conv2DTransose": "Conv2DTranspose",
}


@pytest.mark.parametrize("name, expected", LAYER_CASE.items(), ids=LAYER_CASE.keys())
def test_layer_name_suggestions(name, expected):
    args = "(8, 3)" if "conv" in name.lower() and "depthwise" not in name.lower() else "()"
    refused(run("shape", "--input", "16x16x3", f"{name}{args}"), f"did you mean {expected!r}")


ACTIVATION_CASE = {
    "Relu": "relu", "RELU": "relu", "ReLU": "relu", "Elu": "elu", "Sigmoid": "sigmoid", "TANH": "tanh",
    "Softmax": "softmax", "LeakyReLU": "leaky_relu", "leakyrelu": "leaky_relu", "Leaky_Relu": "leaky_relu",
    "Swish": "swish", "GELU": "gelu", "Gelu": "gelu", "HardSigmoid": "hard_sigmoid", "Linear": "linear",
    "SELU": "selu", "Softplus": "softplus", "Mish": "mish", "relux": "relu", "sigmod": "sigmoid",
    "logsoftmax": "log_softmax", "Relu6": "relu6",
}


@pytest.mark.parametrize("name, expected", ACTIVATION_CASE.items(), ids=ACTIVATION_CASE.keys())
def test_activation_suggestions(name, expected):
    refused(run("shape", "--input", "16x16x3", f"Conv2D(8, 3, activation={name!r})"), f"did you mean {expected!r}")


@pytest.mark.parametrize("spec, expected", [
    ("Dense(4, activation='Relu')", "relu"),
    ("Activation('Tanh')", "tanh"),
    ("Conv2D(8, 3, Padding='same')", "padding"),
    ("Conv2D(8, 3, Strides=2)", "strides"),
    ("Conv2D(8, 3, kernelSize=3)", "kernel_size"),
    ("Conv2D(8, 3, Kernel_Initializer='he_normal')", "kernel_initializer"),
    ("Conv2D(8, 3, kernel_initializer='He_Normal')", "he_normal"),
    ("Conv2D(8, 3, kernel_regularizer='L2')", None),  # L2 is a Keras name: accepted
    ("Conv2D(8, 3, kernel_constraint='maxnorm')", "MaxNorm"),
    ("Conv2D(8, 3, kernel_constraint='Max_Norm')", "max_norm"),
])
def test_other_suggestions_ignore_case(spec, expected):
    result = run("shape", "--input", "16x16x3", spec)
    if expected is None:
        assert result.exit_code == 0, result.stderr
    else:
        refused(result, f"did you mean {expected!r}")


# --- the shell ate the quotes, passed backslashes, or split the input

UNQUOTED = [
    ("Conv2D(8, 3, padding=same)", "padding='same'"),
    ("Conv2D(8, 3, padding=valid)", "padding='valid'"),
    ("Conv2D(8, 3, padding=SAME)", "padding='SAME'"),
    ("Conv2D(8, 3, data_format=channels_first)", "data_format='channels_first'"),
    ("Conv2D(8, 3, data_format=channels_last)", "data_format='channels_last'"),
    ("Conv2DTranspose(8, 3, padding=same)", "padding='same'"),
    ("DepthwiseConv2D(3, padding=same)", "padding='same'"),
    ("SeparableConv2D(8, 3, padding=same)", "padding='same'"),
    ("Conv1D(8, 3, padding=causal)", "padding='causal'"),
    ("MaxPooling2D(2, padding=same)", "padding='same'"),
    ("AveragePooling2D(2, padding=same)", "padding='same'"),
    ("UpSampling2D(2, interpolation=bilinear)", "interpolation='bilinear'"),
    ("Flatten(data_format=channels_first)", "data_format='channels_first'"),
    ("Conv2D(8, 3, name=conv1)", "name='conv1'"),
    ("Conv2D(8, 3, dtype=float32)", "dtype='float32'"),
    ("Conv2D(8, 3, kernel_regularizer=l2)", "kernel_regularizer='l2'"),
    ("Conv2D(8, 3, strides=(two, 2))", "quotes"),
    ("Dense(units=eight)", "units='eight'"),
]


@pytest.mark.parametrize("spec, words", UNQUOTED, ids=[s for s, _ in UNQUOTED])
def test_unquoted_strings_get_a_quoting_hint(spec, words):
    refused(run("shape", "--input", "16x16x3", spec), words, "quote the whole spec")


BACKSLASHED = [
    r"Conv2D\(8, 3\)",
    r"Conv2D\(8,\ 3\)",
    r"Conv2D(8, 3, padding=\'same\')",
    r"Conv2D(8, 3, padding=\"same\")",
    r"Dense\(4\)",
    r"MaxPooling2D\(2\)",
    r"keras.layers.Conv2D\(8, 3\)",
]


@pytest.mark.parametrize("spec", BACKSLASHED)
def test_backslashes_get_a_quoting_hint(spec):
    refused(run("shape", "--input", "16x16x3", spec), "backslash", "quote the whole spec")


SPLIT_SPECS = [
    ["Conv2D(8,", "3)"],
    ["Conv2D(8,", "3,", "padding='same')"],
    ["Conv2D(8,", "kernel_size=3)"],
    ["Dense(", "4)"],
    ["Conv2D((8,", "3)"],
]


@pytest.mark.parametrize("specs", SPLIT_SPECS, ids=[" ".join(s) for s in SPLIT_SPECS])
def test_specs_split_at_spaces_get_a_quoting_hint(specs):
    refused(run("shape", "--input", "16x16x3", *specs), "brackets do not match", "quote the whole spec")


SPLIT_INPUTS = [
    ["--input", "32", "32", "3", "Conv2D(8, 3)"],
    ["--input", "32", "32", "Conv2D(8, 3)"],
    ["-i", "32", "32", "3", "Conv2D(8, 3)"],
    ["--input", "32,", "32,", "3", "Conv2D(8, 3)"],
    ["--input", "(32,", "32,", "3)", "Conv2D(8, 3)"],
    ["Conv2D(8, 3)", "--input", "32", "32", "3"],
    ["--input", "32", "32x3", "Conv2D(8, 3)"],
    ["3", "Conv2D(8, 3)"],
    ["--", "-1", "Conv2D(8, 3)"],
    ["32x32x3"],
    ["(32, 32, 3)"],
]


@pytest.mark.parametrize("args", SPLIT_INPUTS, ids=[" ".join(a) for a in SPLIT_INPUTS])
def test_input_split_by_the_shell_gets_a_hint(args):
    refused(run("shape", *args), "--input 32x32x3", "split")


# --- other hostile spec text: never a traceback

ODD_SPECS = [
    "", "   ", "()", "Conv2D", "Conv2D(8, 3", "Conv2D(8, 3))", "Conv2D(*a)", "Conv2D(**k)",
    "Conv2D(8, 3, padding=f'same')", "Conv2D(8, 3, padding=b'same')", "Conv2D(8, 3j)", "Conv2D(8, ...)",
    "Conv2D(8, {3: 3})", "Conv2D(8, {3})", "Conv2D(8, lambda: 3)", "Conv2D(8, [i for i in x])",
    "Conv2D(8, 3)[0]", "Conv2D(8, 3).x", "Conv2D(8, 3) + 1", "Conv2D(8, 3); import os", "__import__('os')",
    "Conv2D(8, 3, padding='same'.upper())", "Conv2D(8, (((((((((((3,),),),),),),),),),),))",
    "Conv2D(8, " + "(" * 300 + "3" + ")" * 300 + ")", "Conv2D(8, 3)\x00", "Conv2D(8,\n3)\n\nDense(4)",
    "Conv2D(8, 3, padding=None)", "Conv2D(8, 3, activation=3)", "Conv2D(8, 3, name='')", "Conv2D(8, 3, name='a/b')",
    "os.system('x')(8, 3)", "Conv2D(8, 3, padding=-'same')", "Conv2D(-True, 3)", "Conv2D(+None, 3)",
    "Conv2D(8, 3)(x, y=1)", "Conv2D(8, 3)(1)", "nn.Conv2d(3, 8, 3)(x)(y)",
]


@pytest.mark.parametrize("spec", ODD_SPECS, ids=[repr(s[:30]) for s in ODD_SPECS])
def test_odd_specs_are_refused_cleanly(spec):
    refused(run("shape", "--input", "16x16x3", spec))
