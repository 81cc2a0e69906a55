"""
Title: Conditional GAN
Description: Training a GAN conditioned on class labels to generate handwritten digits.
"""

import keras
from keras import layers
import numpy as np

batch_size = 64
num_channels = 1
num_classes = 10
image_size = 28
latent_dim = 128

# We'll use all the available examples from both the training and test sets.
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
all_digits = np.concatenate([x_train, x_test])
all_labels = np.concatenate([y_train, y_test])
all_digits = all_digits.astype("float32") / 255.0
all_digits = np.reshape(all_digits, (-1, 28, 28, 1))
all_labels = keras.utils.to_categorical(all_labels, 10)
print(f"Shape of training images: {all_digits.shape}")

generator_in_channels = latent_dim + num_classes
discriminator_in_channels = num_channels + num_classes
print(generator_in_channels, discriminator_in_channels)

# Create the discriminator.
discriminator = keras.Sequential(
    [
        keras.layers.InputLayer((28, 28, discriminator_in_channels)),
        layers.Conv2D(64, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(alpha=0.2),
        layers.Conv2D(128, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(alpha=0.2),
        layers.GlobalMaxPooling2D(),
        layers.Dense(1),
    ],
    name="discriminator",
)

# Create the generator.
generator = keras.Sequential(
    [
        keras.layers.InputLayer((generator_in_channels,)),
        # We want to generate 128 + num_classes coefficients to reshape into a
        # 7x7x(128 + num_classes) map.
        layers.Dense(7 * 7 * generator_in_channels),
        layers.LeakyReLU(alpha=0.2),
        layers.Reshape((7, 7, generator_in_channels)),
        layers.Conv2DTranspose(128, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(alpha=0.2),
        layers.Conv2DTranspose(128, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(alpha=0.2),
        layers.Conv2D(1, (7, 7), padding="same", activation="sigmoid"),
    ],
    name="generator",
)

assert discriminator.count_params() == 80385
assert generator.output_shape == (None, 28, 28, 1)

discriminator.compile(optimizer=keras.optimizers.Adam(learning_rate=0.0003), loss="binary_crossentropy")
generator.compile(optimizer=keras.optimizers.Adam(learning_rate=0.0003), loss="binary_crossentropy")

# Sample random points in the latent space and concatenate the labels.
random_latent_vectors = np.random.normal(size=(batch_size, latent_dim))
one_hot_labels = all_labels[:batch_size]
random_vector_labels = np.concatenate([random_latent_vectors, one_hot_labels], axis=1)
generated_images = generator.predict(random_vector_labels)
d_loss = discriminator.train_on_batch(np.zeros((batch_size, 28, 28, 11)), np.zeros((batch_size, 1)))
print("d_loss", d_loss)
