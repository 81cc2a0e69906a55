#!/usr/bin/env python
"""Generate tests/data/golden_runs/ (outputs of mixed layer stacks) from real Keras.

Each case is a stack of layers that ``--run`` executes with
``convcalc.layer_kernels`` (pooling, padding, cropping, upsampling,
normalization, activation layers, dropouts, reshaping, Dense) mixed with
Conv2D / Conv1D, channels_last. The stack is built with ``keras.Input`` and
layer calls, every weight each layer declares is set to a random value
(``moving_variance`` positive), and ``model(x, training=False)`` on a random
batch ``x`` is recorded. tests/test_golden_runs.py replays every case through
``convcalc shape ... --run --sample x.npy --weights w.npz --save y.npy``.

Graphs (``graphs`` in index.json): functional models of one input (a residual
block with batch normalization, a small U-Net with concatenation, every
merge), each saved as its config ``<id>.json``; ``y`` is the model's output on
the sample ``convcalc shape --file <id>.json --run --seed 7`` draws
(``np.random.default_rng(7).standard_normal``, batch 1).

Cases: a fixed list (``FIXED``) that covers every layer type and option the
kernels handle, then random stacks drawn from ``random_layer`` (seeded; a
stack Keras rejects or that shrinks to nothing is redrawn).

Files written (together well under 2 MB):

- ``index.json``: per case ``id``, ``specs`` (as a user types them, which are
  also the Keras calls), ``input`` (without batch), ``batch``,
  ``output_shape`` (with batch), ``weights`` (array names) and ``types``.
- ``cases.npz`` (compressed): ``<id>/x``, ``<id>/y`` and ``<id>/w/<layer
  name>/<weight name>`` (SPEC 4 names, Keras layouts).

Run it (only this script needs TensorFlow; the project and its tests do not):

    /work/tfvenv/bin/python scripts/make_golden_runs.py [--seed N] [--out DIR]
"""

import sys

import numpy as np

import golden_common as common

DEFAULT_OUT = common.REPO_ROOT / "tests" / "data" / "golden_runs"
DEFAULT_SEED = 1212
MAX_BYTES = 2 * 2**20
N_RANDOM = 40

IMAGE = [8, 8, 3]
FIXED = [
    ("pool-valid", IMAGE, ["Conv2D(4, 3, padding='same')", "MaxPooling2D(2)", "AveragePooling2D((2, 1), strides=(1, 2))"]),
    ("pool-same", [7, 9, 3], ["MaxPooling2D(3, strides=2, padding='same')", "AveragePooling2D(3, strides=2, padding='same')"]),
    ("avg-same-s1", [5, 6, 2], ["AveragePooling2D((3, 2), strides=1, padding='same')", "Conv2D(3, 2)"]),
    ("pool1d", [11, 3], ["Conv1D(4, 3, padding='same')", "MaxPooling1D(2, padding='same')", "AveragePooling1D(3, strides=1, padding='same')", "AveragePooling1D(2)"]),
    ("global2d", IMAGE, ["Conv2D(5, 3)", "GlobalAveragePooling2D(keepdims=True)", "Conv2D(2, 1)", "GlobalMaxPooling2D()"]),
    ("global1d", [9, 4], ["GlobalMaxPooling1D(keepdims=True)", "Conv1D(3, 1)", "GlobalAveragePooling1D()"]),
    ("pad-crop-up-2d", [5, 6, 2], ["ZeroPadding2D(((1, 2), (0, 3)))", "Conv2D(3, 3)", "Cropping2D(((1, 0), (2, 1)))", "UpSampling2D((2, 3))", "Conv2D(2, 2, strides=2)"]),
    ("pad-crop-up-1d", [7, 2], ["ZeroPadding1D((2, 1))", "Conv1D(3, 2)", "Cropping1D((1, 2))", "UpSampling1D(3)"]),
    ("batchnorm", IMAGE, ["Conv2D(4, 3)", "BatchNormalization()", "ReLU()", "BatchNormalization(axis=1, epsilon=0.01, center=False)", "BatchNormalization(scale=False)"]),
    ("layernorm", IMAGE, ["Conv2D(4, 3)", "LayerNormalization()", "LayerNormalization(axis=[1, 2], center=False, epsilon=0.1)", "LayerNormalization(axis=(1, 2, 3), scale=False)"]),
    ("activations", IMAGE, ["Rescaling(0.5, offset=-0.2)", "Conv2D(4, 3)", "ReLU(max_value=0.8, negative_slope=0.1, threshold=0.05)", "Conv2D(4, 1)", "LeakyReLU(negative_slope=0.2)", "ELU(alpha=0.7)", "Activation('tanh')", "Softmax(axis=1)", "Softmax()"]),
    ("relu-variants", IMAGE, ["Conv2D(4, 3)", "ReLU(max_value=6)", "Conv2D(4, 1)", "ReLU(negative_slope=0.3)", "Conv2D(4, 1)", "ReLU(threshold=0.1)", "Conv2D(3, 1)", "ReLU(max_value=0.5)"]),
    ("dropouts", IMAGE, ["Dropout(0.5)", "SpatialDropout2D(0.3)", "Conv2D(3, 3)", "GaussianNoise(1.0)", "GaussianDropout(0.4)", "AlphaDropout(0.2)"]),
    ("reshape-dense", IMAGE, ["Conv2D(4, 3, activation='relu')", "Permute((2, 1, 3))", "Dense(5)", "Reshape((-1, 5))", "Dense(3, activation='tanh', use_bias=False)", "Flatten()", "Dense(4, activation='softmax')"]),
    ("classifier", [12, 12, 3], ["Conv2D(6, 3, padding='same', activation='relu')", "MaxPooling2D()", "BatchNormalization()", "Conv2D(8, 3, activation='relu')", "MaxPooling2D()", "Dropout(0.25)", "Flatten()", "Dense(10, activation='relu')", "Dense(3, activation='softmax')"]),
]

ACTIVATIONS = ["relu", "tanh", "sigmoid", "elu", "gelu", "swish", None]


def random_layer(rng, rank):
    """One spec for an input of ``rank`` sizes besides the batch (2: steps, channels; 3: image)."""
    d = rank - 1
    pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731 - plain str, not np.str_
    ones = "1D" if d == 1 else "2D"
    size = lambda low, high: int(rng.integers(low, high + 1))
    choices = [
        lambda: f"Conv{ones}({size(2, 5)}, {size(1, 3)}, padding={pick(['valid', 'same'])!r}"
                + (f", activation={a!r})" if (a := pick(ACTIVATIONS)) else ")"),
        lambda: f"MaxPooling{ones}({size(1, 3)}, strides={size(1, 3)}, padding={pick(['valid', 'same'])!r})",
        lambda: f"AveragePooling{ones}({size(1, 3)}, strides={size(1, 3)}, padding={pick(['valid', 'same'])!r})",
        lambda: f"ZeroPadding{ones}({size(0, 2)})",
        lambda: f"Cropping{ones}({size(0, 1)})",
        lambda: f"UpSampling{ones}({size(1, 2)})",
        lambda: "BatchNormalization()",
        lambda: f"LayerNormalization(axis={pick(['-1', '[1, 2]' if d == 2 else '1'])})",
        lambda: f"Rescaling({rng.uniform(0.2, 2):.3f}, offset={rng.uniform(-1, 1):.3f})",
        lambda: f"ReLU(max_value={rng.uniform(0.5, 3):.2f}, negative_slope={rng.uniform(0, 0.5):.2f})",
        lambda: f"LeakyReLU(negative_slope={rng.uniform(0.05, 0.5):.2f})",
        lambda: f"ELU(alpha={rng.uniform(0.2, 2):.2f})",
        lambda: f"Softmax(axis={pick([-1, 1])})",
        lambda: f"Activation({pick(ACTIVATIONS[:-1])!r})",
        lambda: f"{pick(['Dropout', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', f'SpatialDropout{ones}'])}(0.3)",
        lambda: f"Dense({size(2, 5)})",
    ]
    return choices[int(rng.integers(len(choices)))]()


def random_case(rng, index):
    pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
    rank = int(pick([2, 3]))
    shape = [size for size in rng.integers(4, 11, size=rank - 1)] + [int(rng.integers(1, 4))]
    specs = [random_layer(rng, rank) for _ in range(int(rng.integers(2, 6)))]
    ending = int(rng.integers(4))
    if ending == 1:
        specs += ["Flatten()", f"Dense({int(rng.integers(2, 6))})"]
    elif ending == 2:
        specs += [f"Global{pick(['Average', 'Max'])}Pooling{rank - 1}D()"]
    return (f"random-{index:02d}", [int(n) for n in shape], specs)


def build(keras, input_shape, specs):
    """The model, or None when Keras rejects the stack or a size reaches 0."""
    keras.backend.clear_session()
    try:
        t = inputs = keras.Input(shape=tuple(input_shape))
        for spec in specs:
            t = eval("keras.layers." + spec, {"keras": keras})(t)
            if any(n is not None and n <= 0 for n in t.shape[1:]) or np.prod(t.shape[1:]) > 4096:
                return None
        return keras.Model(inputs, t)
    except (ValueError, TypeError):
        return None


def set_random_weights(model, rng):
    """Every declared weight random: kernels uniform, moving_variance positive, the rest normal."""
    weights = {}
    for layer in model.layers[1:]:
        values = []
        for w in layer.weights:
            name = w.name.split("/")[-1]
            shape = tuple(w.shape)
            if name == "moving_variance":
                value = rng.uniform(0.3, 2.0, shape)
            elif name.endswith("kernel"):
                fan = np.prod(shape[:-1])
                value = rng.uniform(-1, 1, shape) * np.sqrt(3.0 / fan)
            elif name == "gamma":
                value = rng.uniform(0.5, 1.5, shape)
            else:
                value = rng.standard_normal(shape) * 0.3
            values.append(value.astype(np.float32))
        layer.set_weights(values)
        for w in layer.weights:
            weights[f"{layer.name}/{w.name.split('/')[-1]}"] = np.asarray(w.numpy(), np.float32)
    return weights


def generate(keras, seed):
    rng = np.random.default_rng(seed)
    drafts = list(FIXED)
    index = 0
    while len(drafts) < len(FIXED) + N_RANDOM:
        draft = random_case(rng, index)
        if build(keras, draft[1], draft[2]) is not None:
            drafts.append(draft)
            index += 1
    cases, arrays = [], {}
    for cid, input_shape, specs in drafts:
        with common.keras_session(keras):
            model = build(keras, input_shape, specs)
            assert model is not None, (cid, specs)
            weights = set_random_weights(model, rng)
            batch = 2
            x = rng.standard_normal((batch, *input_shape)).astype(np.float32)
            y = np.asarray(model(x, training=False), np.float32)
        arrays[f"{cid}/x"] = x
        arrays[f"{cid}/y"] = y
        for name, value in weights.items():
            arrays[f"{cid}/w/{name}"] = value
        cases.append({"id": cid, "specs": specs, "input": input_shape, "batch": batch,
                      "output_shape": list(y.shape), "weights": sorted(weights),
                      "types": [type(layer).__name__ for layer in model.layers[1:]]})
    return cases, arrays


RUN_SEED = 7  # convcalc's default sample for --seed 7: np.random.default_rng(7).standard_normal, batch 1


def graph_models(keras):
    """Functional models of one input and one output: branches and every merge."""
    L = keras.layers

    def residual():
        x = inputs = keras.Input((8, 8, 3))
        y = L.Conv2D(4, 3, padding="same")(x)
        y = L.BatchNormalization()(y)
        y = L.ReLU()(y)
        y = L.Conv2D(4, 3, padding="same")(y)
        y = L.BatchNormalization()(y)
        shortcut = L.Conv2D(4, 1)(x)
        y = L.Add()([y, shortcut])
        y = L.ReLU()(y)
        y = L.GlobalAveragePooling2D()(y)
        return keras.Model(inputs, L.Dense(3, activation="softmax")(y))

    def unet():
        x = inputs = keras.Input((8, 8, 2))
        d1 = L.Conv2D(4, 3, padding="same", activation="relu")(x)
        p1 = L.MaxPooling2D()(d1)
        d2 = L.Conv2D(6, 3, padding="same", activation="relu")(p1)
        u1 = L.UpSampling2D()(d2)
        c1 = L.Concatenate()([u1, d1])
        y = L.Conv2D(3, 3, padding="same")(c1)
        return keras.Model(inputs, L.Conv2D(1, 1, activation="sigmoid")(y))

    def merges():
        x = inputs = keras.Input((6, 6, 3))
        a = L.Conv2D(4, 3, padding="same")(x)
        b = L.Conv2D(4, 1)(x)
        c = L.Conv2D(4, 2, padding="same", activation="tanh")(x)
        merged = [L.Add()([a, b, c]), L.Subtract()([a, b]), L.Multiply()([b, c]), L.Average()([a, b, c]),
                  L.Maximum()([a, c]), L.Minimum()([b, c])]
        y = L.Concatenate(axis=-1)(merged)
        y = L.Concatenate(axis=1)([y, L.Conv2D(24, 1)(y)])
        return keras.Model(inputs, L.Flatten()(y))

    return [("graph-residual", residual), ("graph-unet", unet), ("graph-merges", merges)]


def generate_graphs(keras, rng):
    """Cases replayed with ``--file <id>.json --seed RUN_SEED``: the config, weights and output."""
    cases, arrays, configs = [], {}, {}
    for cid, make in graph_models(keras):
        with common.keras_session(keras):
            model = make()
            weights = set_random_weights(model, rng)
            input_shape = [int(n) for n in model.inputs[0].shape[1:]]
            x = np.random.default_rng(RUN_SEED).standard_normal((1, *input_shape), dtype=np.float32)
            y = np.asarray(model(x, training=False), np.float32)
            configs[cid] = model.to_json()
        arrays[f"{cid}/y"] = y
        for name, value in weights.items():
            arrays[f"{cid}/w/{name}"] = value
        cases.append({"id": cid, "file": f"{cid}.json", "seed": RUN_SEED, "input": input_shape,
                      "output_shape": list(y.shape), "weights": sorted(weights),
                      "types": [type(layer).__name__ for layer in model.layers[1:]]})
    return cases, arrays, configs


def write(out, head, cases, arrays):
    return common.write_cases(out, head, {"cases": cases}, arrays, MAX_BYTES, "run")


def main(argv=None):
    args = common.golden_parser(__doc__, DEFAULT_OUT, "output directory", DEFAULT_SEED).parse_args(argv)
    keras, tf = common.load_keras()
    assert keras.backend.backend() == "tensorflow"
    keras.utils.set_random_seed(args.seed)
    cases, arrays = generate(keras, args.seed)
    graphs, graph_arrays, configs = generate_graphs(keras, np.random.default_rng(args.seed + 1))
    args.out.mkdir(parents=True, exist_ok=True)
    for cid, text in configs.items():
        (args.out / f"{cid}.json").write_text(text + "\n")
    head = common.header(keras, tf, "scripts/make_golden_runs.py", seed=args.seed)
    size = write(args.out, {**head, "graphs": graphs}, cases, {**arrays, **graph_arrays})
    print(f"wrote {args.out}: {len(cases)} cases, {size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
