#!/usr/bin/env python
"""Generate tests/data/golden_layer_runs/ (outputs of spatial layers and convolution variants) from real Keras.

Each case is one small stack, built with ``keras.Input`` and layer calls: 3-D
pooling, padding, cropping and upsampling; UpSampling2D and Resizing with every
interpolation TensorFlow's ``resize`` offers (aspect-ratio crop and pad,
antialias); CenterCrop; AutoContrast and CLAHE; the random augmentation layers
(and Equalization, Solarization, MaxNumBoundingBoxes, a RandomCrop of the
input's size, SpatialDropout3D), which are the identity at inference; Conv3D,
Conv3DTranspose, DepthwiseConv1D/2D, SeparableConv1D/2D, and Conv1D/Conv2D
with groups, causal padding and dilation.  Arguments are drawn at random
(seeded) for each family; a draw Keras rejects, or that TensorFlow cannot run,
is drawn again.  Every weight a layer declares is set to a random value, and
``model(x, training=False)`` on a random batch ``x`` is recorded.

Each draw is run in channels_last and, when TensorFlow's CPU kernels can, in
channels_first (the same specs under ``--data-format channels_first``; that
case's id ends in ``-cf``).  Keras 3.15 runs all of these in channels_first on
the CPU, but TensorFlow 2.21 gets a few channels_first convolutions wrong (its
output differs from its own channels_last output on the same numbers): such a
twin is not recorded, and the channels_last case is marked ``transpose``
instead (its layers follow the data format, so the test replays it in
channels_first with the channels of ``x`` and ``y`` moved to axis 1).

Files written (together well under 1 MB):

- ``index.json``: ``keras_channels_first_disagrees`` (the channels_first draws whose Keras
  output differs from Keras's own channels_last output on the same numbers: not recorded, their
  channels_last case is replayed transposed instead); per case ``id``, ``specs`` (as a user types them, which are
  also the Keras calls), ``input`` (without batch), ``data_format``,
  ``output_shape`` (with batch), ``weights`` (array names), ``types`` and
  ``transpose``.
- ``cases.npz`` (compressed): ``<id>/x``, ``<id>/y`` and ``<id>/w/<layer
  name>/<weight name>`` (SPEC 4 names, Keras layouts).

Run it (only this script needs TensorFlow; the project and its tests do not):

    /work/tfvenv/bin/python scripts/make_golden_layer_runs.py [--seed N] [--out DIR]
"""

import re
import sys

import numpy as np

import golden_common as common
from make_golden_runs import set_random_weights, write

DEFAULT_OUT = common.REPO_ROOT / "tests" / "data" / "golden_layer_runs"
DEFAULT_SEED = 1213
MAX_BYTES = 2**20
BATCH = 2
MAX_VALUES = 3000  # per array: keeps the data small

INTERPOLATIONS = ["bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5"]
ACTIVATIONS = [None, None, "relu", "tanh", "sigmoid"]
# The layers Keras 3.15 leaves as they are at inference (training=False), with arguments that build
IDENTITIES = [
    "RandomFlip()", "RandomRotation(0.2)", "RandomZoom(0.2)", "RandomTranslation(0.1, 0.2)", "RandomContrast(0.3)",
    "RandomBrightness(0.2)", "RandomHue(0.2)", "RandomSaturation(0.3)", "RandomSharpness(0.3)",
    "RandomPosterization(4)", "RandomColorDegeneration(0.3)", "RandomGrayscale()",
    "RandomColorJitter(brightness_factor=0.2, contrast_factor=0.3)", "RandAugment()", "AugMix()", "MixUp()",
    "CutMix()", "RandomErasing()", "RandomGaussianBlur()", "RandomInvert()", "RandomPerspective()",
    "RandomShear(0.2, 0.1)", "RandomElasticTransform()", "Equalization()", "Solarization(0.5, 0.5)",
    "MaxNumBoundingBoxes(5)",
]


class Draw:
    """Random arguments, as spec text."""

    def __init__(self, rng):
        self.rng = rng

    def int(self, low, high):
        return int(self.rng.integers(low, high + 1))

    def pick(self, options):
        return options[int(self.rng.integers(len(options)))]

    def coin(self, p=0.5):
        return bool(self.rng.random() < p)

    def sizes(self, rank, low, high):
        values = tuple(self.int(low, high) for _ in range(rank))
        return values[0] if rank > 1 and len(set(values)) == 1 and self.coin() else values

    def image(self, rank, low=4, high=9, channels=(1, 4)):
        return [self.int(low, high) for _ in range(rank)] + [self.int(*channels)]

    def activation(self):
        value = self.pick(ACTIVATIONS)
        return f", activation={value!r}" if value else ""


def spatial_3d(d):
    """3-D pooling, padding, cropping, upsampling and spatial dropout."""
    shape = d.image(3, 3, 6, (1, 3))
    pool = d.sizes(3, 1, 3)

    def pairs():
        return tuple((d.int(0, 2), d.int(0, 2)) for _ in range(3))

    choices = [
        lambda: f"MaxPooling3D({pool}, strides={d.sizes(3, 1, 3)}, padding={d.pick(['valid', 'same'])!r})",
        lambda: f"AveragePooling3D({pool}, strides={d.sizes(3, 1, 3)}, padding={d.pick(['valid', 'same'])!r})",
        lambda: f"{d.pick(['GlobalMaxPooling3D', 'GlobalAveragePooling3D'])}(keepdims={d.coin()})",
        lambda: f"ZeroPadding3D({d.pick([d.int(0, 2), d.sizes(3, 0, 2), pairs()])})",
        lambda: f"Cropping3D({tuple((d.int(0, 1), d.int(0, 1)) for _ in range(3))})",
        lambda: f"UpSampling3D({d.sizes(3, 1, 2)})",
        lambda: "SpatialDropout3D(0.3)",
    ]
    return shape, [d.pick(choices)()]


def resizing(d):
    """UpSampling2D and Resizing with every interpolation; CenterCrop."""
    shape = d.image(2, 3, 9)
    interpolation = d.pick(INTERPOLATIONS)
    kind = d.int(0, 2)
    if kind == 0:
        return shape, [f"UpSampling2D({d.sizes(2, 1, 3)}, interpolation={interpolation!r})"]
    if kind == 1:
        options = ""
        aspect = d.int(0, 2)
        if aspect == 1:
            options += ", crop_to_aspect_ratio=True"
        elif aspect == 2:
            options += f", pad_to_aspect_ratio=True, fill_value={d.pick([0.0, 0.5, -1.0])}"
        if d.coin():
            options += ", antialias=True"
        return shape, [f"Resizing({d.int(1, 12)}, {d.int(1, 12)}, interpolation={interpolation!r}{options})"]
    return shape, [f"CenterCrop({d.int(1, 11)}, {d.int(1, 11)})"]


def resize_grid(d):
    """Resizing with every interpolation, with and without antialias, plain, cropped or padded to
    the aspect ratio: once each, on small images, shrinking or growing at random."""
    for interpolation in INTERPOLATIONS:
        for antialias in (False, True):
            pad = f", pad_to_aspect_ratio=True, fill_value={d.pick([0.5, -1.0])}"
            for aspect in ("", ", crop_to_aspect_ratio=True", pad):
                options = aspect + (", antialias=True" if antialias else "")
                yield d.image(2, 3, 8, (1, 2)), [f"Resizing({d.int(1, 10)}, {d.int(1, 10)}, "
                                                 f"interpolation={interpolation!r}{options})"]


def image_layers(d):
    """AutoContrast and CLAHE, on inputs spread over their value range."""
    shape = d.image(2, 4, 10, (1, 3))
    if d.coin(0.4):
        return shape, [f"AutoContrast(value_range={d.pick([(0, 255), (0, 1), (-1, 1)])})"]
    grid = (d.int(1, 4), d.int(1, 4))
    return shape, [f"ContrastLimitedAdaptiveHistogramEqualization(value_range={d.pick([(0, 255), (0, 1)])}, "
                   f"clip_limit={d.pick([0.0, 1.0, 2.0, 4.0])}, tile_grid_size={grid})"]


def identities(d):
    """Every layer that is the identity at inference, once each, on small RGB images."""
    for spec in IDENTITIES:
        yield [d.int(3, 6), d.int(3, 6), 3], [spec]
    height, width = d.int(3, 6), d.int(3, 6)
    yield [height, width, 3], [f"RandomCrop({height}, {width})"]


def convolutions(d):
    """Conv3D, Conv3DTranspose, depthwise and separable convolutions, Conv1D/2D with groups,
    causal padding and dilation."""
    kind = d.int(0, 5)
    padding = d.pick(["valid", "same"])
    bias = "" if d.coin(0.8) else ", use_bias=False"
    if kind == 0:
        shape = d.image(3, 3, 6, (2, 4))
        groups = d.pick([1, 1, shape[-1]])
        filters = groups * d.int(1, 2)
        if d.coin():
            geometry = f", strides={d.sizes(3, 1, 2)}"
        else:
            geometry = f", dilation_rate={d.sizes(3, 1, 2)}"
        return shape, [f"Conv3D({filters}, {d.sizes(3, 1, 3)}{geometry}, padding={padding!r}, "
                       f"groups={groups}{d.activation()}{bias})"]
    if kind == 1:
        shape = d.image(3, 2, 4, (1, 3))
        strides = d.sizes(3, 1, 3)
        geometry = f", strides={strides}"
        if d.coin(0.3):
            geometry = f", dilation_rate={d.sizes(3, 1, 2)}"
        elif d.coin(0.4):
            flat = strides if isinstance(strides, tuple) else (strides,) * 3
            geometry += f", output_padding={tuple(d.int(0, s - 1) for s in flat)}"
        return shape, [f"Conv3DTranspose({d.int(1, 3)}, {d.sizes(3, 1, 3)}{geometry}, padding={padding!r}"
                       f"{d.activation()}{bias})"]
    if kind in (2, 3):
        one_d = kind == 2  # depthwise or separable, 1-D or 2-D
        rank = 1 if one_d else 2
        shape = d.image(rank, 5, 12 if one_d else 9, (1, 4))
        strides, dilation = d.sizes(rank, 1, 2), d.sizes(rank, 1, 2)
        name = "DepthwiseConv" if d.coin() else "SeparableConv"
        size = f"{d.int(1, 3) if one_d else d.sizes(2, 1, 3)}"
        multiplier = d.int(1, 3)
        head = f"{name}{rank}D({d.int(1, 4)}, {size}" if name == "SeparableConv" else f"{name}{rank}D({size}"
        return shape, [f"{head}, strides={strides}, padding={padding!r}, depth_multiplier={multiplier}, "
                       f"dilation_rate={dilation}{d.activation()}{bias})"]
    if kind == 4:
        shape = d.image(1, 6, 14, (2, 6))
        groups = d.pick([1, 2, shape[-1]]) if shape[-1] % 2 == 0 else d.pick([1, shape[-1]])
        padding = d.pick(["valid", "same", "causal"])
        geometry = f", dilation_rate={d.int(1, 3)}" if d.coin() else f", strides={d.int(1, 3)}"
        return shape, [f"Conv1D({groups * d.int(1, 2)}, {d.int(1, 4)}{geometry}, padding={padding!r}, "
                       f"groups={groups}{d.activation()}{bias})"]
    shape = d.image(2, 5, 9, (2, 6))
    groups = d.pick([1, 2, shape[-1]]) if shape[-1] % 2 == 0 else d.pick([1, shape[-1]])
    geometry = f", dilation_rate={d.sizes(2, 1, 3)}" if d.coin() else f", strides={d.sizes(2, 1, 2)}"
    return shape, [f"Conv2D({groups * d.int(1, 2)}, {d.sizes(2, 1, 3)}{geometry}, padding={padding!r}, "
                   f"groups={groups}{d.activation()}{bias})"]


FAMILIES = [("spatial3d", spatial_3d, 24), ("resize", resizing, 30), ("image", image_layers, 14),
            ("conv", convolutions, 40)]

# Cases every run keeps, whatever the draws: one of each option the random draws may miss
FIXED = [
    ("fixed-avg3d-same", [5, 4, 6, 2], ["AveragePooling3D((3, 2, 3), strides=(2, 1, 2), padding='same')"]),
    ("fixed-global3d", [3, 4, 5, 3], ["GlobalMaxPooling3D(keepdims=True)", "Conv3D(2, 1)", "GlobalAveragePooling3D()"]),
    ("fixed-conv3d-chain", [4, 5, 5, 2], ["Conv3D(3, 2, padding='same', activation='relu')", "MaxPooling3D(2)",
                                          "Conv3DTranspose(2, 3, strides=2, padding='same')"]),
    ("fixed-separable-dilated", [9, 9, 3], ["SeparableConv2D(4, 3, strides=2, dilation_rate=2, padding='same', "
                                            "depth_multiplier=2)"]),
    ("fixed-depthwise1d-dilated", [11, 2], ["DepthwiseConv1D(3, strides=2, dilation_rate=2, padding='same')"]),
    ("fixed-resize-pad", [4, 9, 2], ["Resizing(6, 6, pad_to_aspect_ratio=True, fill_value=0.25)"]),
    ("fixed-resize-crop", [9, 4, 2], ["Resizing(5, 5, interpolation='bicubic', crop_to_aspect_ratio=True)"]),
    ("fixed-center-crop-up", [5, 8, 2], ["CenterCrop(7, 6)"]),
    ("fixed-upsampling-bilinear", [3, 4, 2], ["UpSampling2D((2, 3), interpolation='bilinear')"]),
    ("fixed-causal", [10, 4], ["Conv1D(4, 3, padding='causal', dilation_rate=2, groups=2)"]),
    ("fixed-conv3d-transpose-output-padding", [3, 2, 3, 2], ["Conv3DTranspose(2, 3, strides=(2, 3, 2), "
                                                            "output_padding=(1, 2, 0), padding='same')"]),
    ("fixed-clahe-whole-padding", [4, 3, 2], ["ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(8, 6))"]),
    ("fixed-conv3d-transpose-dilated", [3, 3, 2, 2], ["Conv3DTranspose(2, (2, 3, 2), dilation_rate=(2, 1, 2), "
                                                      "padding='same')"]),
]
NOT_TRANSPOSABLE = ("AutoContrast",)  # reduces axes 1 and 2 whatever the data format


def build(keras, input_shape, specs):
    """The model, or None when Keras rejects the stack or a size reaches 0."""
    try:
        t = inputs = keras.Input(shape=tuple(input_shape))
        for spec in specs:
            t = eval("keras.layers." + spec, {"keras": keras})(t)
            if any(n is not None and n <= 0 for n in t.shape[1:]) or np.prod(t.shape[1:]) > MAX_VALUES:
                return None
        return keras.Model(inputs, t)
    except (ValueError, TypeError, NotImplementedError):
        return None


# Keras 3.15 cannot put Equalization in a functional model ("is part of a cycle": its symbolic call
# returns its input); the layer is called on its own instead
DIRECT = ("Equalization()",)


class Direct:
    """One layer called on its own, with the few attributes of a model this script reads."""

    def __init__(self, layer, shape):
        self.layers = [None, layer]
        self.output_shape = (None, *layer.compute_output_shape((None, *shape))[1:])

    def __call__(self, x, training=False):
        return self.layers[1](x, training=training)


def sample(rng, shape, specs):
    """A batch spread over the value range the image layers expect, else standard normal."""
    text = " ".join(specs)
    if any(name in text for name in ("AutoContrast", "Equalization", "ContrastLimited", "Solarization")):
        found = re.search(r"value_range=\((-?\d+), (-?\d+)\)", text)
        low, high = (int(found.group(1)), int(found.group(2))) if found else (0, 255)
        return rng.uniform(low, high, (BATCH, *shape)).astype(np.float32)
    return rng.standard_normal((BATCH, *shape)).astype(np.float32)


def record(keras, rng, cid, shape, specs, data_format):
    """(case, arrays) of one stack run by Keras in ``data_format``, or None when it cannot run."""
    with common.keras_session(keras, data_format):
        model = build(keras, shape, specs)
        if model is None and specs[0] in DIRECT:
            model = Direct(eval("keras.layers." + specs[0], {"keras": keras}), shape)
        if model is None:
            return None
        weights = set_random_weights(model, rng)
        x = sample(rng, shape, specs)
        try:
            y = np.asarray(model(x, training=False), np.float32)
        except Exception:  # noqa: BLE001 - TensorFlow's CPU kernels lack this layout or geometry
            return None
        if tuple(y.shape) != (BATCH, *model.output_shape[1:]) or not np.all(np.isfinite(y)):
            return None
        types = [type(layer).__name__ for layer in model.layers[1:]]
    arrays = {f"{cid}/x": x, f"{cid}/y": y, **{f"{cid}/w/{name}": v for name, v in weights.items()}}
    case = {"id": cid, "specs": specs, "input": [int(n) for n in shape], "data_format": data_format,
            "output_shape": list(y.shape), "weights": sorted(weights), "types": types, "transpose": False}
    return case, arrays


def channels_first_shape(shape):
    return [shape[-1], *shape[:-1]]


def keras_agrees_with_itself(keras, case, values):
    """Whether Keras's channels_last model, given the channels_first case's weights and its ``x``
    with the channels moved last, computes its ``y`` with the channels moved last.  TensorFlow
    2.21's CPU convolutions get some channels_first geometries wrong (grouped, small sizes)."""
    cid = case["id"]
    with common.keras_session(keras, "channels_last"):
        shape = [*case["input"][1:], case["input"][0]]
        model = build(keras, shape, case["specs"])
        if model is None:
            model = Direct(eval("keras.layers." + case["specs"][0], {"keras": keras}), shape)
        for layer in model.layers[1:]:
            layer.set_weights([values[f"{cid}/w/{layer.name}/{w.name.split('/')[-1]}"] for w in layer.weights])
        y = np.asarray(model(np.moveaxis(values[f"{cid}/x"], 1, -1), training=False), np.float32)
    want = values[f"{cid}/y"]
    return np.allclose(np.moveaxis(y, -1, 1) if y.ndim > 2 else y, want, rtol=1e-5, atol=1e-6)


def add(keras, rng, cid, shape, specs, cases, arrays, wrong):
    """The channels_last case, and its channels_first twin: recorded when TensorFlow computes it (and
    agrees with its own channels_last numbers), else the channels_last case is marked for transposing."""
    recorded = record(keras, rng, cid, shape, specs, "channels_last")
    if recorded is None:
        return False
    case, values = recorded
    twin = record(keras, rng, f"{cid}-cf", channels_first_shape(shape), specs, "channels_first")
    transposable = not any(name in " ".join(specs) for name in NOT_TRANSPOSABLE)
    if twin is not None and transposable and not keras_agrees_with_itself(keras, *twin):
        wrong.append({"id": twin[0]["id"], "specs": specs, "input": twin[0]["input"]})
        twin = None
    if twin is not None:
        cases.append(twin[0])
        arrays.update(twin[1])
    elif transposable:
        case["transpose"] = True
    cases.append(case)
    arrays.update(values)
    return True


def generate(keras, seed):
    rng = np.random.default_rng(seed)
    draw = Draw(rng)
    cases, arrays, wrong = [], {}, []
    for cid, shape, specs in FIXED:
        assert add(keras, rng, cid, shape, specs, cases, arrays, wrong), (cid, specs)
    for index, (shape, specs) in enumerate(identities(draw)):
        assert add(keras, rng, f"identity-{index:02d}", shape, specs, cases, arrays, wrong), specs
    for index, (shape, specs) in enumerate(resize_grid(draw)):
        assert add(keras, rng, f"resizing-{index:02d}", shape, specs, cases, arrays, wrong), specs
    for family, make, count in FAMILIES:
        made = 0
        while made < count:
            shape, specs = make(draw)
            if add(keras, rng, f"{family}-{made:02d}", shape, specs, cases, arrays, wrong):
                made += 1
    return cases, arrays, wrong


def main(argv=None):
    args = common.golden_parser(__doc__, DEFAULT_OUT, "output directory", DEFAULT_SEED).parse_args(argv)
    keras, tf = common.load_keras()
    assert keras.backend.backend() == "tensorflow"
    keras.utils.set_random_seed(args.seed)
    cases, arrays, wrong = generate(keras, args.seed)
    head = common.header(keras, tf, "scripts/make_golden_layer_runs.py", seed=args.seed,
                         keras_channels_first_disagrees=wrong)
    size = write(args.out, head, cases, arrays)
    if size > MAX_BYTES:
        raise SystemExit(f"golden layer run data is {size} bytes, over {MAX_BYTES}")
    print(f"wrote {args.out}: {len(cases)} cases, {size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
