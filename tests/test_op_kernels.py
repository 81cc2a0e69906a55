"""The values of Keras operation nodes (``x + 3.0``, ``ops.mean``...) against real Keras 3.

tests/data/golden_op_runs/ is written by scripts/make_golden_op_runs.py (which needs
TensorFlow; these tests do not): for each operation convcalc/operations.py knows, tiny
Functional models whose one op node is recorded as ``model.to_json()`` writes it, with
random inputs and the outputs Keras computed. Each case is replayed in-process the way a
model config is read: the op from ``build_operation``, the node's arguments from the
config reader (tensors as arrays, constants as the config gives them), then
``run_operation``; its output shape must also be the one ``Operation.compute`` gives.
"""

import numpy as np
import pytest

import golden_helpers
from conftest import run
from golden_helpers import load_json

from convcalc.errors import ConvcalcError
from convcalc.graph import _substitute
from convcalc.model_config import _call_arguments
from convcalc.operations import BINARY, ELEMENTWISE, OTHERS, REDUCTIONS, as_tensor, build_operation
from convcalc.op_kernels import operation_refusal, run_operation

DATA = golden_helpers.DATA / "golden_op_runs"
CASES = load_json("golden_op_runs", "index.json")["cases"]
with np.load(DATA / "cases.npz") as _archive:
    ARRAYS = {key: _archive[key] for key in _archive.files}
KNOWN = set(ELEMENTWISE) | set(BINARY) | set(REDUCTIONS) | set(OTHERS)


def _node(case):
    """The op and its arguments as the graph executor holds them: tensors as arrays, constants as values."""
    op = build_operation(case["class_name"], case["config"])
    args, kwargs = _call_arguments({"args": case["args"], "kwargs": case["kwargs"]}, ())
    tensors = {(name, 0): [ARRAYS[f"{case['id']}/in/{name}"]] for name in case["inputs"]}
    return op, args, kwargs, tensors


def _check(cid, got, want, dtype):
    if dtype in ("bool",) or dtype.startswith(("int", "uint")):
        assert got.dtype == np.dtype(dtype), f"{cid}: dtype {got.dtype}, Keras {dtype}"
        np.testing.assert_array_equal(got, want, err_msg=cid)
        return
    assert got.dtype.kind == "f", f"{cid}: dtype {got.dtype}, Keras {dtype}"
    if dtype in ("float16", "float64"):
        assert got.dtype == np.dtype(dtype), f"{cid}: dtype {got.dtype}, Keras {dtype}"
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-4, atol=1e-6,
                               equal_nan=True, err_msg=cid)


BY_OPERATION: dict = {}
for _case in CASES:
    BY_OPERATION.setdefault(_case["class_name"], []).append(_case)


@pytest.mark.parametrize("name", sorted(BY_OPERATION))
def test_operation_matches_keras(name):
    for case in BY_OPERATION[name]:
        _replay(case)


def _replay(case):
    cid = case["id"]
    op, args, kwargs, tensors = _node(case)
    assert operation_refusal(op) is None
    result = run_operation(op, _substitute(args, tensors), _substitute(kwargs, tensors))
    outputs = result if isinstance(result, list) else [result]
    assert len(outputs) == len(case["outputs"]), cid
    wants = [ARRAYS[f"{cid}/out/{i}"] for i in range(len(outputs))]
    for got, want, dtype in zip(outputs, wants, case["outputs"]):
        assert isinstance(got, np.ndarray), f"{cid}: {type(got)}"
        assert got.shape == want.shape, f"{cid}: shape {got.shape}, Keras {want.shape}"
        _check(cid, got, want, dtype)
    # the shape rule convcalc prints must be the shape the kernel gives (--run checks it, exit 3)
    shapes = op.compute(_substitute(args, tensors, lambda a: as_tensor(a.shape)),
                        _substitute(kwargs, tensors, lambda a: as_tensor(a.shape)))
    shapes = shapes if isinstance(shapes, list) else [shapes]
    assert [tuple(s) for s in shapes] == [w.shape for w in wants], cid


def test_model_with_op_nodes_runs_through_the_cli(tmp_path):
    """Layers and op nodes in one graph; a comparison feeds ``where`` and ``cast``, ``argmax`` feeds ``one_hot``."""
    np.savez(tmp_path / "w.npz", **{key[len("graph/w/"):]: value for key, value in ARRAYS.items()
                                    if key.startswith("graph/w/")})
    result = run("shape", "--file", DATA / "graph.json", "--run", "--weights", tmp_path / "w.npz",
                 "--save", tmp_path / "y.npy", "--format", "json")
    assert result.exit_code == 0, result.stderr
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), ARRAYS["graph/y"], rtol=1e-4, atol=1e-6)


def test_every_known_operation_has_golden_cases():
    covered = {case["class_name"] for case in CASES}
    assert sorted(KNOWN - covered) == []


def test_every_known_operation_has_a_kernel():
    refused = [name for name in sorted(KNOWN)
               if "does not execute the Keras operation" in (operation_refusal(build_operation(name, {})) or "")]
    assert refused == []


def test_non_float_results_flow_on_as_keras_types():
    x = np.array([[1.5, -2.0, 3.0]], np.float32)
    greater = run_operation(build_operation("Greater", {}), [x, 0], {})
    assert greater.dtype == bool and greater.tolist() == [[True, False, True]]
    index = run_operation(build_operation("Argmax", {"axis": -1, "keepdims": False}), [x], {})
    assert index.dtype == np.int32 and index.tolist() == [2]
    hot = run_operation(build_operation("OneHot", {"num_classes": 3}), [index], {})
    assert hot.dtype == np.float32 and hot.tolist() == [[0, 0, 1]]
    picked = run_operation(build_operation("Where", {}), [greater, x, 0.0], {})
    assert picked.dtype == np.float32 and picked.tolist() == [[1.5, 0.0, 3.0]]
    counted = run_operation(build_operation("Sum", {"axis": -1}), [greater], {})
    assert counted.dtype == np.int32 and counted.tolist() == [2]


def test_unary_ops_keep_keras_dtypes():
    flags = np.array([[True, False]])
    assert run_operation(build_operation("Absolute", {}), [flags], {}).dtype == bool
    assert run_operation(build_operation("Negative", {}), [flags], {}).dtype == np.int32
    assert run_operation(build_operation("Floor", {}), [np.array([[3, -2]], np.int32)], {}).dtype == np.float32
    half = np.array([[0.5, -0.25]], np.float16)
    assert run_operation(build_operation("Erf", {}), [half], {}).dtype == np.float16


def test_float64_runs_stay_float64():
    x = np.linspace(-1, 1, 6).reshape(1, 6)
    for name, args in [("Add", [x, 3.0]), ("Sigmoid", [x]), ("Mean", [x]), ("Divide", [x, 2])]:
        assert run_operation(build_operation(name, {}), args, {}).dtype == np.float64, name


@pytest.mark.parametrize("name, config, words", [
    ("Cast", {"dtype": "complex64"}, ["Cast", "complex64"]),
    ("OneHot", {"num_classes": 3, "sparse": True}, ["OneHot", "sparse"]),
    ("Resize", {"size": [4, 4], "interpolation": "gaussian"}, ["resize", "gaussian"]),
    ("Resize", {"size": [4, 4], "fill_mode": "reflect"}, ["resize", "reflect"]),
    ("Pad", {"pad_width": [[0, 0], [1, 1]], "mode": "circular"}, ["pad", "circular"]),
    ("Norm", {"ord": "max"}, ["norm", "max"]),
], ids=["cast-complex", "sparse-one-hot", "resize-gaussian", "resize-fill", "pad-mode", "norm-ord"])
def test_refused_before_the_run(name, config, words):
    op = build_operation(name, config)
    reason = operation_refusal(op)
    assert reason is not None and all(word in reason for word in words), reason
    with pytest.raises(ConvcalcError) as error:
        run_operation(op, [np.zeros((1, 4, 4, 1), np.float32)], {})
    assert str(error.value).startswith(reason)


def test_unknown_operation_is_refused_by_name():
    from convcalc.operations import Elementwise

    reason = operation_refusal(Elementwise("Bartlett", {}))
    assert reason is not None and "Bartlett" in reason


def test_values_the_shape_rules_cannot_see_are_errors_not_tracebacks():
    x = np.zeros((1, 3), np.float32)
    with pytest.raises(ConvcalcError, match="where"):
        run_operation(build_operation("Where", {}), [x > 0], {})
    with pytest.raises(ConvcalcError, match="out of range"):
        run_operation(build_operation("Take", {"axis": 1}), [x, [5]], {})
    with pytest.raises(ConvcalcError, match="Reshape"):
        run_operation(build_operation("Reshape", {"newshape": [-1, 2]}), [x], {})
