# -*- coding: utf-8 -*-
"""Réseau « à l'ancienne » : style Keras 2, tabulations, commentaires accentués.

Données : MNIST — chiffres manuscrits (0–9). Ünïcödé ☃.
"""
import tensorflow as tf
import numpy as np

# Hyperparamètres
TAILLE = (28, 28, 1)
CLASSES = 10


def construire_modele(pente=0.1):
	"""Construit le réseau séquentiel (ancienne API)."""
	modele = tf.keras.models.Sequential(name="réseau_séquentiel")
	modele.add(tf.keras.layers.InputLayer(TAILLE))
	modele.add(tf.keras.layers.Conv2D(16, (5, 5), padding="valid"))
	modele.add(tf.keras.layers.LeakyReLU(alpha=pente))
	modele.add(tf.keras.layers.MaxPooling2D())
	modele.add(tf.keras.layers.Conv2D(32, (13, 13), strides=(1, 1)))
	modele.add(tf.keras.layers.LeakyReLU(alpha=pente))
	modele.add(tf.keras.layers.AveragePooling2D(pool_size=2))
	modele.add(tf.keras.layers.Flatten())
	modele.add(tf.keras.layers.Dense(64, activation="relu"))
	modele.add(tf.keras.layers.Dense(CLASSES, activation="softmax"))
	return modele


(x_entr, y_entr), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_entr = x_entr[..., np.newaxis] / 255.0
print("Données chargées : %d exemples — prêt." % len(x_entr))

modele = construire_modele()
modele.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
historique = modele.fit(x_entr, y_entr, epochs=3)
print("Précision finale :", historique.history["accuracy"][-1])

assert modele.output_shape == (None, 10)
