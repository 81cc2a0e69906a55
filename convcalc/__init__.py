"""convcalc: Keras 3 Conv2D / Conv2DTranspose shapes, padding and parameters, without Keras."""

__version__ = "0.1.0"
