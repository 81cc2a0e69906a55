"""A subclassed keras.Model and a custom Layer class next to an ordinary
functional model: the first two must be refused at their class statements."""

import keras
from keras import layers


class ResidualUnit(layers.Layer):
    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = layers.Conv2D(filters, 3, padding="same", activation="relu")
        self.conv2 = layers.Conv2D(filters, 3, padding="same")

    def call(self, inputs):
        return keras.ops.relu(inputs + self.conv2(self.conv1(inputs)))


class TinyResNet(keras.Model):
    def __init__(self, num_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.stem = layers.Conv2D(32, 3, padding="same")
        self.blocks = [ResidualUnit(32) for _ in range(2)]
        self.pool = layers.GlobalAveragePooling2D()
        self.classifier = layers.Dense(num_classes)

    def call(self, inputs):
        x = self.stem(inputs)
        for block in self.blocks:
            x = block(x)
        return self.classifier(self.pool(x))


subclassed = TinyResNet(num_classes=10)
subclassed.build((None, 32, 32, 3))

# A functional model that uses the custom layer: refused too.
inputs = keras.Input(shape=(32, 32, 32))
with_custom = keras.Model(inputs, ResidualUnit(32)(inputs), name="with_custom_layer")

# An ordinary functional model: readable.
image = keras.Input(shape=(32, 32, 3))
x = layers.Conv2D(32, 3, padding="same", activation="relu")(image)
x = layers.MaxPooling2D()(x)
x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
x = layers.GlobalAveragePooling2D()(x)
baseline = keras.Model(image, layers.Dense(10)(x), name="baseline")
