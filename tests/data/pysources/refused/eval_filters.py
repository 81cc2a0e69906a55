"""A filter count computed by eval."""
import keras
from keras import layers

inputs = keras.Input(shape=(32, 32, 3))
x = layers.Conv2D(eval("3") * 8, 3)(inputs)
x = layers.GlobalMaxPooling2D()(x)
model = keras.Model(inputs, layers.Dense(2)(x))
