"""
Title: Image super-resolution, ESPCN-style (convolutions only)
Description: `**conv_args` dictionaries, `*TARGET_SIZE` unpacking and inputs with
unknown spatial sizes.
"""

import keras
from keras import layers

upscale_factor = 3
crop_size = 300
input_size = crop_size // upscale_factor
TARGET_SIZE = (96, 96)


def get_model(upscale_factor=3, channels=1):
    conv_args = {
        "activation": "relu",
        "kernel_initializer": "orthogonal",
        "padding": "same",
    }
    inputs = keras.Input(shape=(None, None, channels))
    x = layers.Conv2D(64, 5, **conv_args)(inputs)
    x = layers.Conv2D(64, 3, **conv_args)(x)
    x = layers.Conv2D(32, 3, **conv_args)(x)
    x = layers.Conv2D(channels * (upscale_factor**2), 3, **conv_args)(x)
    outputs = layers.UpSampling2D(upscale_factor, interpolation="nearest")(x)
    return keras.Model(inputs, outputs)


model = get_model(upscale_factor=upscale_factor, channels=1)
model.summary()

callbacks = [keras.callbacks.EarlyStopping(monitor="loss", patience=10)]
loss_fn = keras.losses.MeanSquaredError()
optimizer = keras.optimizers.Adam(learning_rate=0.001)


def resize_classifier(num_classes=5):
    block_args = dict(kernel_size=3, padding="same", use_bias=False)
    inputs = keras.Input(shape=(None, None, 3))
    x = layers.Resizing(*TARGET_SIZE)(inputs)
    x = layers.Rescaling(scale=1.0 / 127.5, offset=-1)(x)
    for filters in (32, 64):
        x = layers.Conv2D(filters, strides=2, **block_args)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
    x = layers.Reshape((TARGET_SIZE[0] // 2 * TARGET_SIZE[1] // 4, 64))(x)
    x = layers.GlobalMaxPooling1D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="resize_classifier")


classifier = resize_classifier()
classifier.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
assert classifier.output_shape == (None, 5)
