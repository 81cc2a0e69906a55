#!/usr/bin/env python
"""Generate tests/data/golden_masks/ (models whose Keras masks reach MultiHeadAttention or
GlobalAveragePooling1D) from real Keras.

Each model sets a Keras mask with ``Embedding(mask_zero=True)`` or ``Masking``, carries it
through layers that keep it (Dense, merges, Concatenate, a nested model, attention) and
ends in a layer that reads it; every weight gets a random value. Recorded per model
``<id>``: ``<id>.json`` (``model.to_json()``), and in ``cases.npz``: ``<id>/x`` (the
input: integer ids with zeros, or floats with masked steps), ``<id>/w/<layer>/<weight>``
(by path: ``mha/query/kernel``, ``inner/dense/kernel`` in a nested model) and
``<id>/y`` (``model(x, training=False)``). ``index.json`` lists the models with their
weight names; ``masked_positions`` counts the masked steps of the input, so that a test
can tell a case where the mask changes the numbers. tests/test_golden_masks.py replays
them through ``convcalc shape --file <id>.json --run``.

Run it (only this script needs TensorFlow):

    /work/tfvenv/bin/python scripts/make_golden_masks.py [--seed N] [--out DIR]
"""

import numpy as np

import golden_common as common

DEFAULT_OUT = common.REPO_ROOT / "tests" / "data" / "golden_masks"
DEFAULT_SEED = 77
MAX_BYTES = 2**20


def models(keras):
    """(id, title, model, input kind) for every case."""
    layers = keras.layers
    out = []

    def ids_input(length=6):
        return keras.Input(shape=(length,), name="ids")

    x = ids_input()
    h = layers.Dense(3, name="dense")(layers.Embedding(10, 4, mask_zero=True, name="emb")(x))
    y = layers.Dense(2, name="head")(layers.GlobalAveragePooling1D(name="pool")(h))
    out.append(("emb-dense-gap", "Embedding(mask_zero) -> Dense -> GlobalAveragePooling1D", keras.Model(x, y), "ids"))

    x = ids_input()
    e = layers.Embedding(10, 8, mask_zero=True, name="emb")(x)
    a = layers.MultiHeadAttention(2, 4, name="mha")(e, e)
    out.append(("emb-mha-gap", "self-attention on a padding mask, then pooling",
                keras.Model(x, layers.GlobalAveragePooling1D(name="pool")(a)), "ids"))

    x = ids_input()
    e = layers.Embedding(10, 8, mask_zero=True, name="emb")(x)
    a = layers.MultiHeadAttention(2, 4, name="mha")(e, e, use_causal_mask=True)
    out.append(("emb-mha-causal", "causal self-attention with a padding mask", keras.Model(x, a), "ids"))

    x = keras.Input(shape=(5, 3), name="steps")
    h = layers.Dense(4, name="dense")(layers.Masking(0.0, name="masking")(x))
    out.append(("masking-dense-gap", "Masking -> Dense -> GlobalAveragePooling1D",
                keras.Model(x, layers.GlobalAveragePooling1D(name="pool")(h)), "steps"))

    x = ids_input()
    e = layers.Embedding(10, 4, mask_zero=True, name="emb")(x)
    f = layers.Embedding(12, 4, mask_zero=True, name="emb2")(x)
    out.append(("emb-add-gap", "two masked embeddings added (their masks OR-ed)",
                keras.Model(x, layers.GlobalAveragePooling1D(name="pool")(layers.Add(name="add")([e, f]))), "ids"))

    x = ids_input()
    e = layers.Embedding(10, 4, mask_zero=True, name="emb")(x)
    f = layers.Embedding(10, 4, mask_zero=True, name="emb2")(x)
    c = layers.Concatenate(axis=1, name="concat")([e, f])
    out.append(("emb-concat-steps-gap", "two masked embeddings concatenated along the steps",
                keras.Model(x, layers.GlobalAveragePooling1D(name="pool")(c)), "ids"))

    x = ids_input()
    e = layers.Embedding(10, 4, mask_zero=True, name="emb")(x)
    u = layers.Embedding(10, 3, name="plain")(x)
    c = layers.Concatenate(name="concat")([e, u])
    out.append(("emb-concat-features-gap", "a masked and an unmasked embedding concatenated along the features",
                keras.Model(x, layers.GlobalAveragePooling1D(name="pool")(c)), "ids"))

    inner_in = keras.Input(shape=(6, 4), name="inner_in")
    inner = keras.Model(inner_in, layers.GlobalAveragePooling1D(name="pool")(layers.Dense(4, name="dense")(inner_in)),
                        name="inner")
    x = ids_input()
    out.append(("nested-gap", "the mask enters a nested model that pools",
                keras.Model(x, inner(layers.Embedding(10, 4, mask_zero=True, name="emb")(x))), "ids"))

    inner_in = ids_input()
    inner = keras.Model(inner_in, layers.Embedding(10, 4, mask_zero=True, name="emb")(inner_in), name="inner")
    x = ids_input()
    out.append(("nested-out-gap", "the mask leaves a nested model",
                keras.Model(x, layers.GlobalAveragePooling1D(name="pool")(inner(x))), "ids"))

    x = keras.Input(shape=(5, 8), name="steps8")
    out.append(("mha-causal-only", "causal self-attention, no padding mask (the call's use_causal_mask=True)",
                keras.Model(x, layers.MultiHeadAttention(2, 4, name="mha")(x, x, use_causal_mask=True)), "steps8"))

    q = keras.Input(shape=(4, 8), name="query")
    x = ids_input()
    v = layers.Embedding(10, 8, mask_zero=True, name="emb")(x)
    a = layers.MultiHeadAttention(2, 4, name="mha")(q, v)
    out.append(("cross-attention-gap", "an unmasked query attends to masked values, then pooling",
                keras.Model([q, x], layers.GlobalAveragePooling1D(name="pool")(a)), "query+ids"))

    x = keras.Input(shape=(4, 8), name="steps48")
    m = keras.Input(shape=(4, 4), name="allowed")
    a = layers.MultiHeadAttention(2, 4, name="mha")(x, x, attention_mask=m)
    out.append(("mha-attention-mask", "an attention_mask given to the call (0/1 floats, cast to bool)",
                keras.Model([x, m], a), "steps48+allowed"))

    x = keras.Input(shape=(5,), name="ids5")
    e = layers.Embedding(7, 5, mask_zero=True, name="emb")(x)
    out.append(("emb-softmax-batch1", "Softmax reading a (1, 5) mask on a (1, 5, 5) input: broadcastable, so Keras "
                "applies it (along the last axis)", keras.Model(x, layers.Softmax(name="softmax")(e)), "ids5-batch1"))

    # The other merges: each keeps the OR of its inputs' masks, as Add does.
    for merge in ("Multiply", "Average", "Maximum", "Minimum", "Subtract"):
        x = ids_input()
        e = layers.Embedding(10, 4, mask_zero=True, name="emb")(x)
        f = layers.Embedding(12, 4, mask_zero=True, name="emb2")(x)
        m = getattr(layers, merge)(name=merge.lower())([e, f])
        out.append((f"emb-{merge.lower()}-gap", f"two masked embeddings merged by {merge} (masks OR-ed)",
                    keras.Model(x, layers.GlobalAveragePooling1D(name="pool")(m)), "ids"))

    q_ids, kv_ids = keras.Input(shape=(6,), name="q_ids"), keras.Input(shape=(6,), name="kv_ids")
    q = layers.Embedding(10, 8, mask_zero=True, name="q_emb")(q_ids)
    v = layers.Embedding(10, 8, mask_zero=True, name="v_emb")(kv_ids)
    k = layers.Embedding(10, 8, mask_zero=True, name="k_emb")(kv_ids)
    a = layers.MultiHeadAttention(2, 4, name="mha")(q, v, key=k)
    out.append(("mha-query-value-key-masks", "query, value and a separate key, each with its own padding mask",
                keras.Model([q_ids, kv_ids], layers.GlobalAveragePooling1D(name="pool")(a)), "ids+ids"))

    # Self-attention over two axes (attention_axes=(1, 2)) with a padding mask has no case: Keras 3.15
    # raises on it (its mask does not broadcast to the scores); tests/test_golden_masks.py checks that
    # --run refuses it too.

    x = keras.Input(shape=(5, 3), name="steps")
    h = layers.LayerNormalization(name="norm")(layers.Masking(0.0, name="masking")(x))
    h = layers.BatchNormalization(name="bn")(layers.Dense(4, name="dense")(h))
    out.append(("masking-norms-gap", "Masking -> LayerNormalization -> Dense -> BatchNormalization -> pooling "
                "(the normalizations keep the mask)",
                keras.Model(x, layers.GlobalAveragePooling1D(name="pool")(h)), "steps"))

    x = keras.Input(shape=(5, 3), name="steps")
    h = layers.Conv1D(4, 2, padding="same", name="conv")(layers.Masking(0.0, name="masking")(x))
    out.append(("masking-conv-gap", "Masking -> Conv1D -> pooling (a convolution drops the mask: every step pooled)",
                keras.Model(x, layers.GlobalAveragePooling1D(name="pool")(h)), "steps"))
    return out


def weight_dict(keras, model):
    """Every weight by its path, as ``convcalc --weights`` names them: ``mha/query/kernel`` for a
    layer's sublayers, ``<nested model>/<layer>/<weight>`` inside a nested model."""
    out = {}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            for w in layer.weights:
                out[f"{layer.name}/{w.path}"] = np.asarray(w.numpy())
        else:
            for w in layer.weights:
                out[w.path] = np.asarray(w.numpy())
    return out


def draw_input(kind, rng):
    """Batch-3 inputs: ids with zeros at the end and inside (never a sample of zeros only)."""
    if kind == "ids5-batch1":
        return [np.array([[3, 0, 6, 0, 1]], np.float32)]
    if kind == "steps48+allowed":
        allowed = (rng.random((3, 4, 4)) > 0.4).astype(np.float32)
        allowed[:, :, 0] = 1.0  # every query attends to something
        return [rng.standard_normal((3, 4, 8)).astype(np.float32), allowed]
    if kind == "steps8":
        return [rng.standard_normal((3, 5, 8)).astype(np.float32)]
    if kind == "steps":
        x = rng.standard_normal((3, 5, 3)).astype(np.float32)
        x[0, 3:] = 0.0
        x[1, 1] = 0.0
        x[2, 0, 0] = 0.0  # one zero feature: not masked
        return [x]
    ids = rng.integers(1, 10, (3, 6)).astype(np.float32)
    ids[0, 4:] = 0
    ids[1, 1] = 0
    ids[1, 5] = 0
    if kind == "query+ids":
        return [rng.standard_normal((3, 4, 8)).astype(np.float32), ids]
    if kind == "ids+ids":
        other = rng.integers(1, 10, (3, 6)).astype(np.float32)
        other[0, 2] = other[2, 3:] = 0
        return [ids, other]
    return [ids]


def main():
    parser = common.golden_parser(__doc__, DEFAULT_OUT, "output directory", DEFAULT_SEED)
    args = parser.parse_args()
    keras, tf = common.load_keras()
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    arrays, cases = {}, []
    for cid, title, model, kind in models(keras):
        for layer in model.layers:
            for weight in getattr(layer, "weights", []):
                weight.assign(rng.uniform(-0.6, 0.6, tuple(weight.shape)).astype(np.float32))
        inputs = draw_input(kind, rng)
        y = model(inputs if len(inputs) > 1 else inputs[0], training=False)
        y = np.asarray(y, np.float32)
        weights = weight_dict(keras, model)
        (args.out / f"{cid}.json").write_text(model.to_json())
        for i, x in enumerate(inputs):
            arrays[f"{cid}/x/{i}"] = x
        arrays[f"{cid}/y"] = y
        for name, value in weights.items():
            arrays[f"{cid}/w/{name}"] = value
        last = inputs[-1]
        masked = int(np.sum(last == 0) if kind == "steps48+allowed" else
                     np.sum(np.all(last == 0, axis=-1)) if last.ndim == 3 else np.sum(last == 0))
        cases.append({"id": cid, "title": title, "file": f"{cid}.json", "inputs": len(inputs),
                      "weights": list(weights), "masked_positions": masked, "output_shape": list(y.shape)})
        print(f"{cid}: output {y.shape}, {len(weights)} weights, {masked} masked positions")
    head = common.header(keras, tf, "scripts/make_golden_masks.py", seed=args.seed)
    size = common.write_cases(args.out, head, {"cases": cases}, arrays, MAX_BYTES, "mask")
    print(f"wrote {args.out}: {len(cases)} models, {size} bytes")


if __name__ == "__main__":
    main()
