"""The one list of layer names: which family module holds each Keras layer, and Keras's aliases.

Standard library only: the shape-only path, the golden scripts and the tests
all import it.  Adding a layer type: add its name to its family here, its
class to that family's module, and golden cases.
"""

from __future__ import annotations

# Which module holds each layer; a family is imported only when one of its layers is used,
# so that a Conv2D stack starts fast (tests check this table against the modules' LAYERS).
FAMILIES: dict[str, tuple[str, ...]] = {
    "convolution": ("Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
                    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"),
    "pooling": ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
                "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
                "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D"),
    "reshaping": ("ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D",
                  "UpSampling1D", "UpSampling2D", "UpSampling3D", "SpatialDropout1D", "SpatialDropout3D",
                  "Flatten", "Reshape", "Permute", "Resizing"),
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
    "attention": ("MultiHeadAttention",),
}
FAMILY_OF = {name: family for family, names in FAMILIES.items() for name in names}

# Keras's other names for the same classes, and Keras 1/2 spellings
ALIASES = {
    # Keras 3.15: every other name in dir(keras.layers) bound to the same class object
    "Convolution1D": "Conv1D",
    "Convolution2D": "Conv2D",
    "Convolution3D": "Conv3D",
    "Convolution1DTranspose": "Conv1DTranspose",
    "Convolution2DTranspose": "Conv2DTranspose",
    "Convolution3DTranspose": "Conv3DTranspose",
    "SeparableConvolution1D": "SeparableConv1D",
    "SeparableConvolution2D": "SeparableConv2D",
    "MaxPool1D": "MaxPooling1D",
    "MaxPool2D": "MaxPooling2D",
    "MaxPool3D": "MaxPooling3D",
    "AvgPool1D": "AveragePooling1D",
    "AvgPool2D": "AveragePooling2D",
    "AvgPool3D": "AveragePooling3D",
    "GlobalAvgPool1D": "GlobalAveragePooling1D",
    "GlobalAvgPool2D": "GlobalAveragePooling2D",
    "GlobalAvgPool3D": "GlobalAveragePooling3D",
    "GlobalMaxPool1D": "GlobalMaxPooling1D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D",
    "GlobalMaxPool3D": "GlobalMaxPooling3D",
    # Keras 1/2 spellings
    "Deconvolution2D": "Conv2DTranspose",
    "Deconv2D": "Conv2DTranspose",
    "Deconvolution3D": "Conv3DTranspose",
    "Deconv3D": "Conv3DTranspose",
    "AtrousConvolution2D": "Conv2D",
}
KERAS1_NAMES = frozenset({"Convolution2D", "Deconvolution2D", "AtrousConvolution2D"})

# PyTorch layers (SPEC 8, convcalc/torch_layers.py), written with one of these prefixes: nn.Conv2d, torch.nn.Conv2d
TORCH_LAYERS = ("Conv2d", "ConvTranspose2d", "ZeroPad2d")
TORCH_PREFIXES = frozenset({"nn", "torch.nn"})


def known_layer_names() -> list[str]:
    """Every layer name convcalc accepts, canonical names first."""
    return sorted(FAMILY_OF) + sorted(ALIASES)
