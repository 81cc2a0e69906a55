"""Several models in one file: an encoder, a decoder, an autoencoder nesting
both, a classifier reusing the encoder, a siamese model with a shared layer
and a Sequential built with model.add."""

import keras
from keras import layers as L

IMAGE_SHAPE = (28, 28, 1)
CODE_SIZE = 16


def dense_stack(x, units, n_layers=1, dropout=0.0):
    # The loop runs n_layers - 1 times: zero times with the default.
    for i in range(n_layers - 1):
        x = L.Dense(units, activation="relu")(x)
        if dropout:
            x = L.Dropout(dropout)(x)
    return L.Dense(units)(x)


def build_encoder():
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
    x = L.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    x = L.Flatten()(x)
    code = dense_stack(x, CODE_SIZE)
    return keras.Model(inputs, code, name="encoder")


def build_decoder():
    code = keras.Input(shape=(CODE_SIZE,), name="code")
    x = dense_stack(code, 7 * 7 * 32, n_layers=1)
    x = L.Reshape((7, 7, 32))(x)
    x = L.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)
    x = L.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(x)
    outputs = L.Conv2D(1, 3, padding="same", activation="sigmoid")(x)
    return keras.Model(code, outputs, name="decoder")


encoder = build_encoder()
decoder = build_decoder()

# The autoencoder applies both models to a tensor: they are nested models.
ae_input = keras.Input(shape=IMAGE_SHAPE)
autoencoder = keras.Model(ae_input, decoder(encoder(ae_input)), name="autoencoder")

# A classifier on top of the (shared) encoder, with a deeper head.
clf_input = keras.Input(shape=IMAGE_SHAPE)
features = encoder(clf_input)
head = dense_stack(features, 64, n_layers=3, dropout=0.1)
classifier = keras.Model(
    clf_input,
    L.Dense(10, activation="softmax")(head),
    name="classifier",
)

# Siamese: one Dense layer object applied to two inputs (shared weights).
left = keras.Input(shape=(32,))
right = keras.Input(shape=(16,))
shared = L.Dense(8, activation="tanh")
distance = L.subtract([shared(left), shared(right)])
siamese = keras.Model([left, right], L.Dense(1, activation="sigmoid")(distance))

# A Sequential model built with add().
mlp = keras.Sequential(name="mlp")
mlp.add(keras.Input(shape=(20,)))
for units in [64, 32]:
    mlp.add(L.Dense(units, activation="relu"))
mlp.add(L.Dense(1))

same_model = autoencoder  # a second name for the same model

assert autoencoder.output_shape == (None, 28, 28, 1)
assert siamese.count_params() == 273
