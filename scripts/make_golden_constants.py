#!/usr/bin/env python
"""Generate tests/data/golden_constants/: Keras operations on arrays a model captured.

A functional model whose operations take NumPy arrays (``ops.einsum(..., x, array)``,
``x * array``, ``ops.add(x, keras.ops.convert_to_tensor(...))``) writes each array into
its config as ``{"class_name": "__numpy__", "config": {"value": [...], "dtype": ...}}``
(``__tensor__`` for a backend tensor). tests/test_run_graph.py replays the config with
``convcalc shape --file model.json --run --sample x.npy --save y.npy`` and compares.

Files: ``model.json`` (``model.to_json()``), ``io.npz`` (``x``, ``y`` = ``model(x)``),
``weights.npz`` (the Dense layer's, ``<layer name>/<weight name>``).

    /work/tfvenv/bin/python scripts/make_golden_constants.py [--seed N] [--out DIR]
"""

import numpy as np

import golden_common as common

DEFAULT_OUT = common.REPO_ROOT / "tests" / "data" / "golden_constants"
DEFAULT_SEED = 1414


def build(keras, rng):
    from keras import ops

    x = keras.Input((3, 4), name="x")
    matrix = rng.standard_normal((4, 5)).astype("float32")
    y = ops.einsum("bij,jk->bik", x, matrix)
    y = y * rng.standard_normal((5,)).astype("float32")
    y = ops.add(y, ops.convert_to_tensor(rng.standard_normal((3, 1)).astype("float32")))
    y = keras.layers.Dense(2, name="dense")(y)
    return keras.Model(x, ops.maximum(y, np.zeros((2,), "float32")), name="constants")


def main(argv=None):
    args = common.golden_parser(__doc__, DEFAULT_OUT, "output directory", DEFAULT_SEED).parse_args(argv)
    keras, tf = common.load_keras()
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = build(keras, rng)
    x = rng.standard_normal((2, 3, 4)).astype("float32")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "model.json").write_text(model.to_json() + "\n")
    (args.out / "io.npz").write_bytes(common.npz_bytes({"x": x, "y": np.asarray(model(x, training=False))}))
    weights = {f"{layer.name}/{w.name}": np.asarray(w) for layer in model.layers for w in layer.weights}
    (args.out / "weights.npz").write_bytes(common.npz_bytes(weights))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
