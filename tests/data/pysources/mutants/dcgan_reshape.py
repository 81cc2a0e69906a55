"""
Title: DCGAN to generate face images
Description: A simple DCGAN: generator and discriminator built by helper functions.
"""

import keras
from keras import layers
from keras import ops
import numpy as np
import matplotlib.pyplot as plt

latent_dim = 128
image_shape = (64, 64, 3)


def disc_block(x, filters, use_bn=False):
    x = layers.Conv2D(filters, kernel_size=4, strides=2, padding="same")(x)
    if use_bn:
        x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(alpha=0.2)(x)
    return x


def build_discriminator(shape=image_shape):
    inp = keras.Input(shape=shape)
    x = disc_block(inp, 64)
    for filters in (128, 128):
        x = disc_block(x, filters, use_bn=True)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.2)(x)
    out = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inp, out, name="discriminator")


def gen_block(x, filters):
    x = layers.Conv2DTranspose(filters, kernel_size=4, strides=2, padding="same")(x)
    x = layers.LeakyReLU(alpha=0.2)(x)
    return x


def build_generator(latent_dim):
    z = keras.Input(shape=(latent_dim,))
    x = layers.Dense(8 * 8 * 128)(z)
    x = layers.Reshape((8, 8, 64))(x)
    for filters in [128, 256, 512]:
        x = gen_block(x, filters)
    img = layers.Conv2D(3, kernel_size=5, padding="same", activation="sigmoid")(x)
    return keras.Model(z, img, name="generator")


discriminator = build_discriminator()
discriminator.summary()

generator = build_generator(latent_dim)
generator.summary()

# A quick look at what the untrained generator makes
random_latent_vectors = np.random.normal(size=(4, latent_dim))
generated_images = generator.predict(random_latent_vectors)
for i in range(4):
    plt.subplot(1, 4, i + 1)
    plt.imshow(generated_images[i])
plt.show()

assert discriminator.output_shape == (None, 1)
assert generator.output_shape == (None, 64, 64, 3)
