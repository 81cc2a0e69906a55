"""A filter count read from the environment."""
import os

import keras
from keras import layers

filters = int(os.environ["SIZE"])

model = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(filters, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10),
    ]
)
