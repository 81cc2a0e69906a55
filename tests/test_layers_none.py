"""Unknown sizes (None), as in ``keras.Input(shape=(None, None, 3))``: every layer of the
convolution, pooling and reshaping families propagates them as Keras's
``compute_output_shape`` does, and refuses what Keras refuses.

The expected outputs (batch excluded) and refusals below were recorded from
Keras 3.15.1 (TensorFlow 2.21 backend) by building each layer on
``keras.Input(shape=...)`` with ``image_data_format`` set to the case's format;
the comment of a refusal quotes Keras's error.
"""

import pytest

from convcalc import formulas
from convcalc.errors import ConvcalcError
from convcalc.layers import build_layer
from convcalc.parse import parse_call

REFUSED = "refused"

# (spec, input shape without batch, data format, Keras's output shape without batch or REFUSED)
# -- from Keras 3.15
CASES = [
    ('Conv2D(4, 3)', (None, None, 3), 'channels_last', (None, None, 4)),
    ("Conv2D(4, 3, padding='same', strides=2)", (None, 7, 3), 'channels_last', (None, 4, 4)),
    ('Conv2D(4, 3)', (5, 5, None), 'channels_last', REFUSED),  # Keras: TypeError: unsupported operand type(s) for %: 'NoneType' and 'int'
    ('Conv2D(4, 3)', (None, 5, 5), 'channels_first', REFUSED),  # Keras: TypeError: unsupported operand type(s) for %: 'NoneType' and 'int'
    ('Conv2D(4, 8)', (None, 5, 3), 'channels_last', REFUSED),  # Keras: ValueError: Computed output size would be zero or negative. Received `inputs shape=(None, None, 5, 3)`
    ('Conv2D(4, 8)', (None, 5, 3), 'channels_first', REFUSED),  # Keras: TypeError: unsupported operand type(s) for %: 'NoneType' and 'int'
    ("Conv1D(4, 3, padding='causal', dilation_rate=2)", (None, 3), 'channels_last', (None, 4)),
    ('Conv1D(4, 3)', (6, None), 'channels_last', REFUSED),  # Keras: TypeError: unsupported operand type(s) for %: 'NoneType' and 'int'
    ("Conv3D(2, 3, data_format='channels_first')", (3, None, 6, 6), 'channels_first', (2, None, 4, 4)),
    ('Conv3D(2, 3)', (None, 5, 5, None), 'channels_last', REFUSED),  # Keras: TypeError: unsupported operand type(s) for %: 'NoneType' and 'int'
    ('Conv2DTranspose(4, 3, strides=2)', (None, None, 3), 'channels_last', (None, None, 4)),
    ("Conv2DTranspose(4, 3, strides=2, padding='same', output_padding=1)", (None, 5, 3), 'channels_last', (None, 10, 4)),
    ('Conv2DTranspose(4, 3)', (5, 5, None), 'channels_last', REFUSED),  # Keras: ValueError: Shapes used to initialize variables must be fully-defined (no `None` dimensions). Received
    ("Conv1DTranspose(4, 3, padding='same')", (None, 3), 'channels_last', (None, 4)),
    ("Conv3DTranspose(4, 3, padding='same', output_padding=0)", (None, 4, 4, 3), 'channels_last', (None, 4, 4, 4)),
    ("DepthwiseConv2D(3, padding='same')", (None, 6, 2), 'channels_last', (None, 6, 2)),
    ('DepthwiseConv2D(3)', (5, 5, None), 'channels_last', REFUSED),  # Keras: TypeError: unsupported operand type(s) for *: 'int' and 'NoneType'
    ('DepthwiseConv1D(3, depth_multiplier=2)', (None, 3), 'channels_last', (None, 6)),
    ('SeparableConv1D(4, 3)', (5, None), 'channels_last', REFUSED),  # Keras: TypeError: unsupported operand type(s) for *: 'int' and 'NoneType'
    ("SeparableConv2D(4, 3, padding='same')", (None, None, 3), 'channels_last', (None, None, 4)),
    ('MaxPooling2D()', (None, None, 3), 'channels_last', (None, None, 3)),
    ('MaxPooling2D()', (4, 4, None), 'channels_last', (2, 2, None)),
    ("MaxPooling2D(3, padding='same')", (None, 5, 3), 'channels_last', (None, 2, 3)),
    ('MaxPooling2D(5)', (None, 4, 3), 'channels_last', REFUSED),  # Keras: ValueError: Computed output size would be zero or negative. Received: `inputs.shape=[None -1 4 3]`
    ('MaxPooling1D()', (None, 3), 'channels_last', (None, 3)),
    ('AveragePooling3D(2)', (None, 4, 4, 3), 'channels_last', (None, 2, 2, 3)),
    ('AveragePooling1D(2)', (3, None), 'channels_first', (3, None)),
    ('GlobalMaxPooling2D()', (None, None, 3), 'channels_last', (3,)),
    ('GlobalAveragePooling1D()', (None, None), 'channels_last', (None,)),
    ('GlobalAveragePooling3D(keepdims=True)', (None, None, None, 3), 'channels_last', (1, 1, 1, 3)),
    ('GlobalMaxPooling1D(keepdims=True)', (3, None), 'channels_first', (3, 1)),
    ('ZeroPadding2D(1)', (None, 4, 3), 'channels_last', (None, 6, 3)),
    ('ZeroPadding2D(1)', (4, 4, None), 'channels_last', (6, 6, None)),
    ('ZeroPadding2D(-1)', (None, 4, 3), 'channels_last', (None, 2, 3)),
    ('ZeroPadding1D((1, 2))', (None, 3), 'channels_last', (None, 3)),
    ('ZeroPadding3D(1)', (None, 4, 4, 3), 'channels_last', (None, 6, 6, 3)),
    ('Cropping2D(1)', (None, 4, 3), 'channels_last', (None, 2, 3)),
    ('Cropping2D(2)', (None, 4, 3), 'channels_last', REFUSED),  # Keras: ValueError: Values in `cropping` argument should be smaller than the corresponding spatial dimensi
    ('Cropping1D(5)', (None, 3), 'channels_last', (None, 3)),
    ('Cropping3D(1)', (None, 4, 4, 3), 'channels_last', (None, 2, 2, 3)),
    ('UpSampling1D(3)', (None, 3), 'channels_last', (None, 3)),
    ('UpSampling2D(2)', (None, 5, 3), 'channels_last', (None, 10, 3)),
    ('UpSampling2D(2)', (4, 4, None), 'channels_last', (8, 8, None)),
    ('UpSampling3D(2)', (None, 5, 5, 3), 'channels_last', (None, 10, 10, 3)),
    ('SpatialDropout1D(0.5)', (None, 3), 'channels_last', (None, 3)),
    ('SpatialDropout3D(0.5)', (None, 4, 4, 3), 'channels_last', (None, 4, 4, 3)),
    ('Flatten()', (None, 4, 3), 'channels_last', (None,)),
    ('Flatten()', (4, 4, None), 'channels_last', (None,)),
    ('Reshape((-1, 3))', (None, 4, 3), 'channels_last', (None, 3)),
    ('Reshape((4, -1))', (None, 4, 3), 'channels_last', (4, None)),
    ('Reshape((2, 6))', (None, 4, 3), 'channels_last', (2, 6)),
    ('Reshape((-1, 5))', (None, 4, 3), 'channels_last', (None, 5)),
    ('Permute((2, 1, 3))', (None, 4, 3), 'channels_last', (4, None, 3)),
    ('Permute((2, 1))', (None, 3), 'channels_last', (3, None)),
    ('Resizing(4, 4)', (None, None, 3), 'channels_last', (4, 4, 3)),
    ('Resizing(4, 4)', (None, None, None), 'channels_last', (4, 4, None)),
    ("Resizing(4, 5, data_format='channels_first')", (3, None, None), 'channels_first', (3, 4, 5)),
]


def compute(spec, shape, data_format):
    layer = build_layer(parse_call(spec))
    return layer.compute(shape, layer.data_format or data_format)


@pytest.mark.parametrize("spec,shape,data_format,expected", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_unknown_sizes_as_keras(spec, shape, data_format, expected):
    if expected == REFUSED:
        with pytest.raises(ConvcalcError):
            compute(spec, shape, data_format)
    else:
        assert tuple(compute(spec, shape, data_format).output_shape) == expected


@pytest.mark.parametrize("spec,shape", [
    ("Conv2D(4, 3)", (5, 5, None)),
    ("Conv3DTranspose(4, 3)", (4, 4, 4, None)),
    ("DepthwiseConv1D(3)", (5, None)),
    ("SeparableConv2D(4, 3)", (5, 5, None)),
])
def test_unknown_channels_are_refused_with_a_clear_message(spec, shape):
    with pytest.raises(ConvcalcError, match=r"needs a known number of input channels.*is None"):
        compute(spec, shape, "channels_last")


@pytest.mark.parametrize("spec,shape,padding", [
    ("Conv2D(4, 3, padding='same', strides=2)", (None, 7, 3), (None, (1, 1))),
    ("Conv2D(4, 3)", (None, 7, 3), ((0, 0), (0, 0))),
    ("Conv1D(4, 3, padding='causal', dilation_rate=2)", (None, 3), ((4, 0),)),
    ("MaxPooling2D(3, padding='same')", (None, 5, 3), (None, (0, 1))),
    ("Conv2DTranspose(4, 3, strides=2, padding='same')", (None, 5, 3), ((2, 1), (2, 1))),
    ("ZeroPadding3D(((1, 2), 0, 3))", (None, 4, 4, 3), ((1, 2), (0, 0), (3, 3))),
])
def test_per_side_padding_of_an_unknown_axis(spec, shape, padding):
    """'same' padding depends on the length, so it is unknown (None) with it; other rules do not."""
    assert compute(spec, shape, "channels_last").padding == padding


def test_unknown_sizes_in_formulas():
    assert formulas.conv_output_length(None, 3, 2, "same") is None
    assert formulas.conv_padding(None, 3, 2, "same") is None
    assert formulas.conv_padding(None, 3, 2, "valid") == (0, 0)
    assert formulas.conv_transpose_output_length(None, 3, 2, "same", 1) is None
    assert formulas.padded_length(None, -1, -1) is None
    assert formulas.upsampled_length(None, 2) is None
    assert formulas.flat_length((4, None)) is None
