"""Two models: one readable, one that depends on the environment. lint notes
the second as skipped and checks the first."""
import os

import keras
from keras import layers

readable = keras.Sequential(
    [keras.Input(shape=(8,)), layers.Dense(4, activation="relu"), layers.Dense(1)],
    name="readable",
)

inputs = keras.Input(shape=(8,))
outputs = layers.Dense(int(os.environ.get("UNITS", "4")))(inputs)
from_env = keras.Model(inputs, outputs, name="from_env")

assert readable.count_params() == 41
