"""A MobileNet-flavoured classifier written with direct imports: a layer object
given as a default argument (one ReLU6 applied after every block), a head layer
created in one function and applied in another, grouped convolutions."""

from tensorflow.keras.layers import (
    BatchNormalization,
    Conv2D,
    DepthwiseConv2D,
    Dense,
    GlobalAveragePooling2D,
    Input,
    ReLU,
)
from tensorflow.keras.layers import Add, Dropout
from tensorflow.keras import Model

INPUT_SHAPE = (64, 64, 3)
ALPHA = 0.5


def make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def depthwise_block(x, filters, strides=1, act=ReLU(6.0)):
    x = DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False)(x)
    x = BatchNormalization()(x)
    x = act(x)
    x = Conv2D(filters, 1, use_bias=False)(x)
    x = BatchNormalization()(x)
    return act(x)


def grouped_block(x, filters, groups=4, residual=True):
    shortcut = x
    x = Conv2D(filters, 3, padding="same", groups=groups)(x)
    x = BatchNormalization()(x)
    if residual:
        x = Add()([x, shortcut])
    return x


def make_head(num_classes):
    return Dense(num_classes, activation="softmax", name="predictions")


def build(head, input_shape=INPUT_SHAPE):
    inputs = Input(shape=input_shape)
    first = make_divisible(32 * ALPHA)
    x = Conv2D(first, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = BatchNormalization()(x)
    x = ReLU(6.0)(x)
    for i, (filters, strides) in enumerate([(64, 1), (128, 2), (128, 1), (256, 2)]):
        x = depthwise_block(x, make_divisible(filters * ALPHA), strides=strides)
    x = grouped_block(x, make_divisible(256 * ALPHA))
    x = grouped_block(x, 96, groups=12, residual=False)
    x = GlobalAveragePooling2D(keepdims=False)(x)
    x = Dropout(1e-3)(x)
    return Model(inputs, head(x), name="mobilenet_ish")


head = make_head(10)
model = build(head)
