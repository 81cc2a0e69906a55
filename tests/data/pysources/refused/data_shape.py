"""The input shape comes from the data (as in the FordA timeseries example)."""
import numpy as np
import keras


def readucr(filename):
    data = np.loadtxt(filename, delimiter="\t")
    y = data[:, 0]
    x = data[:, 1:]
    return x, y.astype(int)


x_train, y_train = readucr("FordA_TRAIN.tsv")
x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))


def make_model(input_shape):
    input_layer = keras.layers.Input(input_shape)
    conv = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(input_layer)
    gap = keras.layers.GlobalAveragePooling1D()(conv)
    return keras.models.Model(inputs=input_layer, outputs=keras.layers.Dense(2)(gap))


model = make_model(input_shape=x_train.shape[1:])
