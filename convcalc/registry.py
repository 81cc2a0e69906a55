"""The one list of layer names: which family module holds each Keras layer, and Keras's aliases.

Standard library only: the shape-only path, the golden scripts and the tests
all import it.  Adding a layer type: add its name to its family here, its
class to that family's module, and golden cases.
"""

from __future__ import annotations

# Which module holds each layer; a family is imported only when one of its layers is used,
# so that a Conv2D stack starts fast (tests check this table against the modules' LAYERS).
FAMILIES: dict[str, tuple[str, ...]] = {
    "convolution": ("Conv1D", "Conv2D", "Conv1DTranspose", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"),
    "pooling": ("MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D"),
    "reshaping": ("ZeroPadding2D", "Cropping2D", "UpSampling2D", "Flatten", "Reshape", "Permute", "Resizing"),
    "normalization": ("BatchNormalization", "LayerNormalization", "Normalization", "GroupNormalization",
                      "UnitNormalization"),
    "core_layers": ("Dense", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU", "Dropout",
                    "SpatialDropout2D", "GaussianNoise", "Rescaling", "Embedding", "Identity",
                    "ActivityRegularization", "AlphaDropout", "GaussianDropout", "Masking", "RepeatVector", "Lambda"),
    "preprocessing": ("CenterCrop", "RandomCrop", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
                      "RandomContrast", "RandomBrightness", "RandomHue", "RandomSaturation", "RandomSharpness",
                      "RandomPosterization", "RandomColorDegeneration", "RandomGrayscale", "RandomColorJitter",
                      "AutoContrast", "Solarization", "Equalization", "ContrastLimitedAdaptiveHistogramEqualization",
                      "RandAugment", "AugMix", "MixUp", "CutMix", "RandomErasing", "RandomGaussianBlur",
                      "RandomInvert", "RandomPerspective", "RandomShear", "RandomElasticTransform",
                      "MaxNumBoundingBoxes"),
    "application_layers": ("LayerScale", "CustomScaleLayer"),
    "merging": ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"),
}
FAMILY_OF = {name: family for family, names in FAMILIES.items() for name in names}

# Keras's other names for the same classes, and Keras 1/2 spellings
ALIASES = {
    "Convolution1D": "Conv1D",
    "Convolution2D": "Conv2D",
    "Convolution1DTranspose": "Conv1DTranspose",
    "Convolution2DTranspose": "Conv2DTranspose",
    "Deconvolution2D": "Conv2DTranspose",
    "Deconv2D": "Conv2DTranspose",
    "AtrousConvolution2D": "Conv2D",
    "SeparableConvolution2D": "SeparableConv2D",
    "MaxPool2D": "MaxPooling2D",
    "AvgPool2D": "AveragePooling2D",
    "GlobalAvgPool2D": "GlobalAveragePooling2D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D",
}
KERAS1_NAMES = frozenset({"Convolution2D", "Deconvolution2D", "AtrousConvolution2D"})


def known_layer_names() -> list[str]:
    """Every layer name convcalc accepts, canonical names first."""
    return sorted(FAMILY_OF) + sorted(ALIASES)
