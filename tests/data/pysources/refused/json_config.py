"""Layer sizes read from a JSON file at run time."""
import json

import keras
from keras import layers

with open("config.json") as f:
    config = json.load(f)

inputs = keras.Input(shape=(64,))
x = layers.Dense(config["units"], activation="relu")(inputs)
outputs = layers.Dense(1)(x)
model = keras.Model(inputs, outputs)
