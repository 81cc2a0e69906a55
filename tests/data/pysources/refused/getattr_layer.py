"""Layers looked up by name with getattr."""
import keras
from keras import layers


def block(x, activations=("ReLU", "ELU")):
    for name in activations:
        x = layers.Dense(32)(x)
        x = getattr(layers, name)()(x)
    return x


inputs = keras.Input(shape=(16,))
model = keras.Model(inputs, layers.Dense(1)(block(inputs)))
