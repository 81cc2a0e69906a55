"""The blocks come from another module: convcalc must not import it."""
import keras
from keras import layers
from mylib import make_block

inputs = keras.Input(shape=(32, 32, 3))
x = layers.Conv2D(16, 3, padding="same")(inputs)
x = make_block(x, 32)
outputs = layers.Dense(10)(layers.Flatten()(x))
model = keras.Model(inputs, outputs)
