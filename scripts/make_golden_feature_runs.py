#!/usr/bin/env python
"""Generate tests/data/golden_feature_runs/ (outputs of Keras's feature layers) from real Keras.

The layers ``convcalc.feature_kernels`` executes under ``--run``: Dense on every rank, Embedding,
RepeatVector, Masking, Identity, ActivityRegularization, the dropouts and noise layers,
BatchNormalization (renorm too), LayerNormalization (rms_scaling too), GroupNormalization,
UnitNormalization, Normalization, Rescaling, every activation layer and every activation name
Keras accepts, PReLU, Softmax, LayerScale, CustomScaleLayer and MultiHeadAttention.

Stacks (``cases`` in index.json): one input, built with ``keras.Input`` and layer calls; every
weight each layer declares is set to a random value (``moving_variance`` and ``variance``
positive), and ``model(x, training=False)`` on a random batch ``x`` is recorded.
tests/test_golden_feature_runs.py replays them through ``convcalc shape ... --run --sample x.npy
--weights w.npz --save y.npy``.  Embedding inputs are ids with a random fraction added away from
zero (Keras truncates them to int32) and negative ids (Keras wraps them once).

Masked (``masked``): MultiHeadAttention on the output of Masking or Embedding(mask_zero=True),
whose Keras mask becomes the attention's query and value masks; the mask layer's output and mask
are recorded too.

Graphs (``graphs``): models whose one layer is called on several inputs (MultiHeadAttention on
query, value and key; CustomScaleLayer), saved as their config ``<id>.json`` with ``x/<i>`` per
input in call order; the tests run the layer's NumPy kernel on that list.

Weight names are the weights' paths, ``{layer name}/{weight name}`` as
``{f"{l.name}/{w.name}": ...}`` writes them; MultiHeadAttention's weights belong to its
projections (``query``, ``key``, ``value``, ``attention_output``, ``gate``), whose name is part
of the path (``multi_head_attention/query/kernel``), as convcalc declares them.

Cases: a fixed list (``FIXED``, ``GRAPHS``) covering every layer and option, then random
stacks and random attention graphs (seeded).  Files: ``index.json`` and ``cases.npz``
(compressed, ``<id>/x``, ``<id>/y``, ``<id>/w/<weight name>``), together under 1 MB.

Run it (only this script needs TensorFlow; the project and its tests do not):

    /work/tfvenv/bin/python scripts/make_golden_feature_runs.py [--seed N] [--out DIR]
"""

import sys

import numpy as np

import golden_common as common

DEFAULT_OUT = common.REPO_ROOT / "tests" / "data" / "golden_feature_runs"
DEFAULT_SEED = 1213
MAX_BYTES = 2**20
N_RANDOM = 30
N_RANDOM_GRAPHS = 8

# Every name keras.activations.get accepts as a string, but glu (halves the last axis, which
# Activation declares unchanged: convcalc refuses it), threshold (it needs arguments) and
# sparsemax (Keras 3.15.1's is wrong and convcalc deliberately differs, see the README;
# tests/data/golden_kernels holds the corrected values)
ACTIVATION_NAMES = [
    "celu", "elu", "exponential", "gelu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh",
    "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu", "sigmoid", "silu",
    "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus", "sparse_sigmoid", "squareplus",
    "swish", "tanh", "tanh_shrink",
]

# (id, input shape without batch, specs, how x is drawn: "normal", "wide" (x3), "ids:N" or "mask:V")
FIXED = [
    ("dense-ranks", [4, 3, 5], ["Dense(6, activation='relu')", "Dense(4, use_bias=False, activation='gelu')",
                                "Dense(3, activation='softmax')"], "normal"),
    ("dense-vector", [7], ["Dense(5, activation='selu')", "RepeatVector(3)", "Dense(2, activation='tanh')"], "normal"),
    ("dense-lora", [3, 6], ["Dense(4, lora_rank=2)", "Dense(3, lora_rank=1, lora_alpha=3.0)"], "normal"),
    ("embedding", [6], ["Embedding(10, 4)", "Dense(3)"], "ids:10"),
    ("embedding-2d", [3, 4], ["Embedding(7, 5, mask_zero=True)", "LayerNormalization()"], "ids:7"),
    ("embedding-lora", [5], ["Embedding(9, 3, lora_rank=2, lora_alpha=4.0)"], "ids:9"),
    ("masking", [5, 3], ["Masking(mask_value=0.5)", "Dense(2)"], "mask:0.5"),
    ("masking-zero", [4, 2], ["Masking()"], "mask:0.0"),
    ("batchnorm", [4, 5], ["BatchNormalization(renorm=True)", "BatchNormalization(axis=1, center=False)",
                           "BatchNormalization(scale=False, epsilon=0.1)"], "normal"),
    ("batchnorm-image", [3, 3, 4], ["BatchNormalization(axis=-1, renorm=True, renorm_momentum=0.9)",
                                    "BatchNormalization(axis=2)"], "normal"),
    ("layernorm-rms", [3, 6], ["LayerNormalization(rms_scaling=True)",
                               "LayerNormalization(axis=[1, 2], rms_scaling=True, epsilon=0.1)",
                               "LayerNormalization(scale=False, rms_scaling=True)",
                               "LayerNormalization(axis=1, center=False)"], "normal"),
    ("groupnorm", [4, 4, 6], ["GroupNormalization(groups=3)", "GroupNormalization(groups=-1, center=False)",
                              "GroupNormalization(2, axis=1, scale=False)", "GroupNormalization(1, epsilon=0.01)"],
     "normal"),
    ("groupnorm-seq", [5, 4], ["GroupNormalization(groups=2, axis=-1)", "GroupNormalization(5, axis=1)"], "normal"),
    ("unitnorm", [3, 4], ["UnitNormalization()", "UnitNormalization(axis=[1, 2])", "UnitNormalization(axis=1)"],
     "normal"),
    ("normalization-args", [4, 3], ["Normalization(mean=[0.5, -1.0, 2.0], variance=[1.0, 4.0, 0.25])",
                                    "Normalization(axis=None, mean=2.0, variance=4.0, invert=True)",
                                    "Normalization(axis=1, mean=[0.1, 0.2, 0.3, 0.4], variance=[1.0, 2.0, 3.0, 4.0])",
                                    "Normalization(axis=(1, 2), mean=[[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], "
                                    "variance=[[0.5, 1.0, 2.0], [0.5, 1.0, 2.0], [0.5, 1.0, 2.0], [0.5, 1.0, 2.0]])"], "normal"),
    ("normalization-adapted", [3, 4], ["Normalization()", "Normalization(axis=(1, 2), invert=True)",
                                       "Normalization(axis=None)"], "normal"),
    ("rescaling", [2, 2, 3], ["Rescaling([0.5, 2.0, -1.0], offset=0.1)", "Rescaling(2.0, offset=[0.0, 1.0, -1.0])",
                              "Rescaling(0.00392156862745098)"], "wide"),
    ("relu-family", [3, 5], ["ReLU(max_value=1.5, negative_slope=0.2, threshold=0.3)", "LeakyReLU(alpha=0.1)",
                             "LeakyReLU()", "ELU(alpha=0.5)", "ReLU()"], "wide"),
    ("prelu", [3, 4, 2], ["PReLU()", "PReLU(shared_axes=[1, 2])", "PReLU(shared_axes=2)"], "wide"),
    ("softmax", [3, 4], ["Softmax(axis=[1, 2])", "Dense(4)", "Softmax(axis=1)", "Softmax()"], "wide"),
    ("identity", [4, 3], ["Identity()", "ActivityRegularization(l1=0.1, l2=0.01)", "Dropout(0.5)",
                          "GaussianNoise(1.0)", "GaussianDropout(0.3)", "AlphaDropout(0.2)", "SpatialDropout1D(0.4)",
                          "Dense(2)"], "normal"),
    ("spatial-dropouts", [3, 3, 2], ["SpatialDropout2D(0.5)", "Reshape((3, 3, 2, 1))", "SpatialDropout3D(0.5)"],
     "normal"),
    ("layer-scale", [2, 3, 4], ["LayerScale(0.1, 4)", "LayerNormalization(epsilon=1e-6)"], "normal"),
    *[(f"activation-{name}", [3, 8], [f"Activation({name!r})"], "wide") for name in ACTIVATION_NAMES],
]


def mha(q_shape, v_shape, k_shape=None, **kwargs):
    """A graph spec: MultiHeadAttention(**kwargs) called on query, value (and key) inputs."""
    return {"layer": "MultiHeadAttention", "kwargs": kwargs,
            "inputs": [q_shape, v_shape] + ([k_shape] if k_shape is not None else [])}


GRAPHS = [
    ("mha-self", mha([5, 6], [5, 6], num_heads=2, key_dim=3)),
    ("mha-cross-key", mha([4, 6], [7, 5], [7, 3], num_heads=3, key_dim=2, value_dim=4)),
    ("mha-output-shape", mha([4, 6], [3, 5], num_heads=2, key_dim=4, output_shape=(2, 3))),
    ("mha-no-bias-gate", mha([4, 6], [5, 6], num_heads=2, key_dim=3, use_bias=False, use_gate=True)),
    ("mha-gate", mha([3, 4], [3, 4], num_heads=1, key_dim=5, use_gate=True)),
    ("mha-axes-2d", mha([3, 4, 5], [3, 4, 5], num_heads=2, key_dim=3, attention_axes=(1, 2))),
    ("mha-axes-last", mha([3, 4, 5], [6, 4, 5], num_heads=2, key_dim=2, attention_axes=(-3,))),
    ("mha-rank4-default", mha([2, 3, 4], [2, 5, 4], num_heads=2, key_dim=2)),
    ("mha-dropout", mha([4, 6], [4, 6], num_heads=2, key_dim=3, dropout=0.3)),
    ("mha-sliding", mha([6, 4], [6, 4], num_heads=2, key_dim=2, sliding_window=2)),
    ("custom-scale", {"layer": "CustomScaleLayer", "kwargs": {"scale": 0.17}, "inputs": [[3, 3, 4], [3, 3, 4]]}),
    ("custom-scale-broadcast", {"layer": "CustomScaleLayer", "kwargs": {"scale": 2.5}, "inputs": [[4, 5], [1, 5]]}),
]


# Attention fed by a layer that sets a Keras mask: (id, mask layer spec, its input shape, MHA kwargs,
# whether the query is another input (cross attention, the query unmasked) or the masked tensor)
MASKED = [
    ("masked-embedding-self", "Embedding(6, 4, mask_zero=True)", [5], {"num_heads": 2, "key_dim": 3}, False),
    ("masked-masking-cross", "Masking(mask_value=0.0)", [6, 4], {"num_heads": 2, "key_dim": 2}, True),
    ("masked-embedding-dropout", "Embedding(5, 4, mask_zero=True)", [6], {"num_heads": 1, "key_dim": 4, "dropout": 0.2},
     False),
]


def namespace(keras):
    """What a spec may name: keras.layers and the application layers convcalc knows."""
    from keras.src.applications.convnext import LayerScale
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer
    names = {name: getattr(keras.layers, name) for name in dir(keras.layers) if not name.startswith("_")}
    return {**names, "LayerScale": LayerScale, "CustomScaleLayer": CustomScaleLayer}


def build(keras, input_shape, specs):
    """The model, or None when Keras rejects the stack."""
    keras.backend.clear_session()
    scope = namespace(keras)
    try:
        t = inputs = keras.Input(shape=tuple(input_shape))
        for spec in specs:
            t = eval(spec, scope)(t)
        return keras.Model(inputs, t)
    except (ValueError, TypeError):
        return None


def weight_value(rng, name, shape):
    """A random value for a weight named ``name``: variances positive, kernels scaled by fan-in."""
    if name in ("moving_variance", "variance", "moving_stddev", "renorm_stddev"):
        return rng.uniform(0.3, 2.0, shape)
    if name == "count":
        return np.asarray(rng.integers(1, 100), np.int64)
    if name.endswith("kernel") and len(shape) > 1:
        return rng.uniform(-1, 1, shape) * np.sqrt(3.0 / max(1, np.prod(shape[:-1])))
    if name == "gamma":
        return rng.uniform(0.5, 1.5, shape)
    return rng.standard_normal(shape) * 0.5


def set_random_weights(model, rng):
    """Every declared weight random; returns them by path (``layer/weight`` or
    ``layer/projection/weight``), float32."""
    weights = {}
    for layer in model.layers:
        if not layer.weights:
            continue
        values = [weight_value(rng, w.name, tuple(w.shape)) for w in layer.weights]
        layer.set_weights([np.asarray(v).astype(w.dtype) for v, w in zip(values, layer.weights)])
        if type(layer).__name__ == "Normalization":
            layer.finalize_state()  # what loading a saved model does; set_weights alone leaves the old statistics
        for w in layer.weights:
            if type(layer).__name__ != "MultiHeadAttention":
                assert w.path == f"{layer.name}/{w.name}", (w.path, layer.name, w.name)
            weights[w.path] = np.asarray(w.numpy(), np.float32)
    return weights


def draw_x(rng, kind, shape):
    """The input batch of a case."""
    x = rng.standard_normal(shape)
    if kind == "wide":
        x *= 3
    elif kind.startswith("ids:"):
        n = int(kind.split(":")[1])
        ids = rng.integers(-n, n, shape)
        x = ids + np.sign(ids) * rng.uniform(0, 0.95, shape)  # truncated toward zero by Keras
        x.flat[0] = -0.6  # -> id 0
    elif kind.startswith("mask:"):
        value = float(kind.split(":")[1])
        x[:, 1] = value  # a whole position masked
        x[0, -1, 0] = value  # one value equal to mask_value: not masked
    return x.astype(np.float32)


def random_layer(rng, shape):
    """One spec for an input of ``shape`` (batch excluded)."""
    rank = len(shape)
    size = lambda low, high: int(rng.integers(low, high + 1))  # noqa: E731
    pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
    axis = lambda: pick([-1, *range(1, rank + 1)])  # noqa: E731
    channels = shape[-1]
    divisors = [g for g in range(1, channels + 1) if channels % g == 0]
    choices = [
        lambda: f"Dense({size(2, 6)}" + (f", activation={a!r})" if (a := pick(ACTIVATION_NAMES + [None] * 5)) else ")"),
        lambda: f"BatchNormalization(axis={axis()}, epsilon={pick([0.001, 0.01, 0.1])})",
        lambda: f"LayerNormalization(axis={axis()}, rms_scaling={pick([True, False])})",
        lambda: f"GroupNormalization(groups={pick(divisors)})",
        lambda: f"UnitNormalization(axis={axis()})",
        lambda: f"Normalization(axis={pick([-1, None])}, invert={pick([True, False])})",
        lambda: f"Rescaling({rng.uniform(-2, 2):.3f}, offset={rng.uniform(-1, 1):.3f})",
        lambda: f"Activation({pick(ACTIVATION_NAMES)!r})",
        lambda: f"PReLU(shared_axes={pick([None, 1, [1] if rank == 1 else [1, 2]])})",
        lambda: f"ReLU(max_value={rng.uniform(0.5, 3):.2f}, negative_slope={rng.uniform(0, 0.5):.2f})",
        lambda: f"LeakyReLU(negative_slope={rng.uniform(0.05, 0.5):.2f})",
        lambda: f"ELU(alpha={rng.uniform(0.2, 2):.2f})",
        lambda: f"Softmax(axis={axis()})",
        lambda: pick(["Dropout(0.3)", "GaussianNoise(0.3)", "GaussianDropout(0.3)", "AlphaDropout(0.3)",
                      "ActivityRegularization(l2=0.3)", "Identity()"]),
        lambda: f"Masking(mask_value={pick([0.0, 1.0])})",
    ]
    if rank == 1:
        choices.append(lambda: f"RepeatVector({size(2, 3)})")
    return pick(choices)()


def random_case(keras, rng, index):
    """A random stack of 2 to 5 feature layers on a random shape, redrawn until Keras builds it."""
    while True:
        shape = [int(n) for n in rng.integers(1, 6, size=int(rng.integers(1, 4)))]
        shape[-1] = int(rng.integers(2, 7))
        specs, current = [], list(shape)
        for _ in range(int(rng.integers(2, 6))):
            spec = random_layer(rng, current)
            specs.append(spec)
            model = build(keras, shape, specs)
            if model is None:
                specs.pop()
                continue
            current = [int(n) for n in model.outputs[0].shape[1:]]
        if specs and build(keras, shape, specs) is not None:
            return (f"random-{index:02d}", shape, specs, "wide" if rng.random() < 0.3 else "normal")


def random_graph(rng, index):
    """A random MultiHeadAttention call."""
    heads, key_dim = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    t, s, d_q, d_v = (int(n) for n in rng.integers(1, 7, size=4))
    kwargs = {"num_heads": heads, "key_dim": key_dim}
    if rng.random() < 0.4:
        kwargs["value_dim"] = int(rng.integers(1, 5))
    if rng.random() < 0.3:
        kwargs["output_shape"] = int(rng.integers(1, 6))
    if rng.random() < 0.3:
        kwargs["use_bias"] = False
    if rng.random() < 0.3:
        kwargs["use_gate"] = True
    key = [s, int(rng.integers(1, 7))] if rng.random() < 0.4 else None
    return (f"mha-random-{index:02d}", mha([t, d_q], [s, d_v], key, **kwargs))


def generate_stacks(keras, rng):
    drafts = list(FIXED) + [random_case(keras, rng, i) for i in range(N_RANDOM)]
    cases, arrays = [], {}
    for cid, input_shape, specs, kind in drafts:
        with common.keras_session(keras):
            model = build(keras, input_shape, specs)
            assert model is not None, (cid, specs)
            weights = set_random_weights(model, rng)
            x = draw_x(rng, kind, (2, *input_shape))
            y = np.asarray(model(x, training=False), np.float32)
        arrays[f"{cid}/x"] = x
        arrays[f"{cid}/y"] = y
        for name, value in weights.items():
            arrays[f"{cid}/w/{name}"] = value
        cases.append({"id": cid, "specs": specs, "input": input_shape, "batch": 2,
                      "output_shape": list(y.shape), "weights": sorted(weights),
                      "types": [type(layer).__name__ for layer in model.layers[1:]]})
    return cases, arrays


def generate_graphs(keras, rng):
    drafts = list(GRAPHS) + [random_graph(rng, i) for i in range(N_RANDOM_GRAPHS)]
    cases, arrays, configs = [], {}, {}
    scope = namespace(keras)
    for cid, draft in drafts:
        with common.keras_session(keras):
            inputs = [keras.Input(tuple(shape)) for shape in draft["inputs"]]
            layer = scope[draft["layer"]](**draft["kwargs"])
            model = keras.Model(inputs, layer(*inputs) if draft["layer"] == "MultiHeadAttention" else layer(inputs))
            weights = set_random_weights(model, rng)
            xs = [rng.standard_normal((2, *shape)).astype(np.float32) for shape in draft["inputs"]]
            y = np.asarray(model(xs, training=False), np.float32)
            configs[cid] = model.to_json()
        for i, x in enumerate(xs):
            arrays[f"{cid}/x/{i}"] = x
        arrays[f"{cid}/y"] = y
        for name, value in weights.items():
            arrays[f"{cid}/w/{name}"] = value
        cases.append({"id": cid, "file": f"{cid}.json", "layer": layer.name, "inputs": [t._keras_history[0].name for t in inputs],
                      "input_shapes": draft["inputs"], "output_shape": list(y.shape), "weights": sorted(weights),
                      "types": [draft["layer"]]})
    return cases, arrays, configs


def generate_masked(keras, rng):
    """MultiHeadAttention on the output of Masking or Embedding(mask_zero=True): Keras passes their
    mask as the query's and value's masks.  Recorded: the mask layer's input ``x/0`` (with masked
    positions and, for cross attention, the query ``x/1``), the mask layer's output ``h``, its
    mask ``mask`` and the attention's output ``y``."""
    cases, arrays, configs = [], {}, {}
    scope = namespace(keras)
    for cid, spec, shape, kwargs, cross in MASKED:
        with common.keras_session(keras):
            source = keras.Input(tuple(shape))
            masker = eval(spec, scope)
            hidden = masker(source)
            inputs = [source]
            if cross:
                query = keras.Input((3, hidden.shape[-1]))
                inputs.append(query)
                attention = keras.layers.MultiHeadAttention(**kwargs)
                y = attention(query, hidden)
            else:
                attention = keras.layers.MultiHeadAttention(**kwargs)
                y = attention(hidden, hidden)
            model = keras.Model(inputs, y)
            weights = set_random_weights(model, rng)
            if spec.startswith("Embedding"):
                x = rng.integers(0, masker.input_dim, (2, *shape)).astype(np.float32)
                x[0, -2:] = 0  # padding at the end
                x[1, :] = 0  # a sample with every position masked
                x[1, 1] = 2.0
            else:
                x = rng.standard_normal((2, *shape)).astype(np.float32)
                x[:, 1] = 0.0
                x[0, -1] = 0.0
            xs = [x] + ([rng.standard_normal((2, 3, hidden.shape[-1])).astype(np.float32)] if cross else [])
            y = np.asarray(model(xs, training=False), np.float32)
            probe = keras.Model(source, hidden)
            h = probe(x)
            mask = np.asarray(masker.compute_mask(x), bool)
            configs[cid] = model.to_json()
        for i, value in enumerate(xs):
            arrays[f"{cid}/x/{i}"] = value
        arrays[f"{cid}/h"] = np.asarray(h, np.float32)
        arrays[f"{cid}/mask"] = mask
        arrays[f"{cid}/y"] = y
        for name, value in weights.items():
            arrays[f"{cid}/w/{name}"] = value
        cases.append({"id": cid, "file": f"{cid}.json", "mask_layer": masker.name, "layer": attention.name,
                      "inputs": [t._keras_history[0].name for t in inputs], "cross": cross,
                      "weights": sorted(weights), "types": [type(masker).__name__, "MultiHeadAttention"]})
    return cases, arrays, configs


def write(out, head, lists, arrays, configs):
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    for cid, text in configs.items():
        (out / f"{cid}.json").write_text(text + "\n")
    return common.write_cases(out, head, lists, arrays, MAX_BYTES, "feature run")


def main(argv=None):
    args = common.golden_parser(__doc__, DEFAULT_OUT, "output directory", DEFAULT_SEED).parse_args(argv)
    keras, tf = common.load_keras()
    assert keras.backend.backend() == "tensorflow"
    keras.utils.set_random_seed(args.seed)
    cases, arrays = generate_stacks(keras, np.random.default_rng(args.seed))
    graphs, graph_arrays, configs = generate_graphs(keras, np.random.default_rng(args.seed + 1))
    masked, masked_arrays, masked_configs = generate_masked(keras, np.random.default_rng(args.seed + 2))
    head = common.header(keras, tf, "scripts/make_golden_feature_runs.py", seed=args.seed)
    size = write(args.out, head, {"cases": cases, "graphs": graphs, "masked": masked},
                 {**arrays, **graph_arrays, **masked_arrays}, {**configs, **masked_configs})
    print(f"wrote {args.out}: {len(cases)} stacks, {len(graphs)} graphs, {size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
