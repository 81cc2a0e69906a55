"""The graph and its one evaluator: order, errors with their place, operations, nested graphs.

The golden tests check the numbers against Keras; these check the walk itself
on small graphs built by hand.
"""

import json
import time

import pytest

from conftest import run
from convcalc.config import DataFormat
from convcalc.errors import ConvcalcError, Where
from convcalc.graph import Constant, Graph, InputSpec, Node, TensorRef, evaluate, order
from convcalc.layers import build_layer
from convcalc.operations import broadcast, build_operation
from convcalc.parse import parse_call

LAST = DataFormat("channels_last", "default")


def layer(spec):
    return build_layer(parse_call(spec))


def chain(n, reverse=False):
    """Input -> n Dense(4) layers, listed in order or in reverse."""
    nodes = [Node("in", "in", InputSpec((None, 8)), index=1)]
    for i in range(n):
        nodes.append(Node(i, f"d{i}", layer("Dense(4)"), index=i + 2, inputs=TensorRef("in" if i == 0 else i - 1)))
    if reverse:
        nodes = nodes[::-1]
    return Graph("chain", nodes, ["in"], TensorRef(n - 1), LAST)


def test_nodes_come_after_what_they_read_whatever_the_listing_order():
    forward, backward = evaluate(chain(5)), evaluate(chain(5, reverse=True))
    assert forward.output_shape == backward.output_shape == (None, 4)
    assert forward.total_params == backward.total_params == 36 + 4 * 20
    # rows keep the source's listing order
    assert [row.name for row in backward.layers] == ["d4", "d3", "d2", "d1", "d0", "in"]


def test_order_is_linear_in_the_graph():
    start = time.perf_counter()
    order(chain(20000, reverse=True))
    assert time.perf_counter() - start < 5  # quadratic would be ~minutes; this is a coarse guard, not a benchmark


def test_a_tensor_no_layer_produces_is_an_error_at_the_reading_node():
    graph = chain(2)
    graph.nodes[2].inputs = TensorRef("missing")
    with pytest.raises(ConvcalcError, match="connected to a tensor no layer produces") as caught:
        evaluate(Graph("g", graph.nodes, ["in"], TensorRef(1), LAST))
    assert caught.value.where is graph.nodes[2].where


def test_a_cycle_is_an_error():
    a = Node("a", "a", layer("Dense(4)"), inputs=TensorRef("b"))
    b = Node("b", "b", layer("Dense(4)"), inputs=TensorRef("a"))
    with pytest.raises(ConvcalcError, match="cycle"):
        evaluate(Graph("g", [Node("in", "in", InputSpec((None, 4))), a, b], ["in"], TensorRef("b"), LAST))


def test_layer_errors_carry_the_node_place():
    nodes = [Node("in", "in", InputSpec((None, 5, 5, 1))),
             Node("c", "conv", layer("Conv2D(8, 9)"), index=1, inputs=TensorRef("in"),
                  where=Where("m.json", 7, "layer 1 'conv' (Conv2D)"))]
    with pytest.raises(ConvcalcError) as caught:
        evaluate(Graph("g", nodes, ["in"], TensorRef("c"), LAST))
    assert caught.value.text.startswith("m.json:7: layer 1 'conv' (Conv2D): the output size would be")


def test_nested_graph_counts_once_and_expands_on_request():
    inner = chain(2)
    outer = Graph("outer", [Node("x", "x", InputSpec((None, 8))),
                            Node("m", "chain", inner, index=2, inputs=TensorRef("x"))], ["x"], TensorRef("m"), LAST)
    flat, expanded = evaluate(outer), evaluate(outer, expand_nested=True)
    assert flat.total_params == expanded.total_params == 36 + 20
    assert [(row.name, row.depth) for row in expanded.layers] == [("x", 0), ("chain", 0), ("in", 1), ("d0", 1), ("d1", 1)]
    assert [row.name for row in flat.layers] == ["x", "chain"]


def test_shared_layer_is_one_row_and_its_weights_count_once():
    dense = layer("Dense(8)")
    nodes = [Node("x", "x", InputSpec((None, 8))),
             Node(("d", 0), "d", dense, inputs=TensorRef("x")),
             Node(("d", 1), "d", dense, inputs=TensorRef(("d", 0)), shown=False)]
    result = evaluate(Graph("g", nodes, ["x"], TensorRef(("d", 1)), LAST))
    assert [row.name for row in result.layers] == ["x", "d"] and result.total_params == 72


@pytest.mark.parametrize("name,args,kwargs,config,expected", [
    ("Add", [(None, 8, 8, 3), 3.0], {}, {}, (None, 8, 8, 3)),
    ("Multiply", [(None, 1, 1, 16), (None, 7, 7, 16)], {}, {}, (None, 7, 7, 16)),
    ("Maximum", [(None, None, 4), (None, 5, 4)], {}, {}, (None, 5, 4)),
    ("Mean", [(None, 7, 7, 32)], {}, {"axis": [1, 2], "keepdims": False}, (None, 32)),
    ("Mean", [(None, 7, 7, 32)], {}, {"axis": [1, 2], "keepdims": True}, (None, 1, 1, 32)),
    ("Sum", [(None, 7, 7, 32)], {}, {"axis": None}, ()),
    ("Reshape", [(None, 8, 8, 6)], {}, {"newshape": [-1, 6]}, (None, 6)),
    ("Reshape", [(2, 8, 8, 6)], {}, {"newshape": [-1, 6]}, (128, 6)),
    ("Transpose", [(None, 3, 5)], {}, {"axes": [0, 2, 1]}, (None, 5, 3)),
    ("ExpandDims", [(None, 3)], {}, {"axis": -1}, (None, 3, 1)),
    ("Squeeze", [(None, 1, 3)], {}, {"axis": 1}, (None, 3)),
    ("Matmul", [(None, 4, 5), (5, 6)], {}, {}, (None, 4, 6)),
    ("Relu6", [(None, 4)], {}, {}, (None, 4)),
    ("GetItem", [(None, 8, 8, 3), [Ellipsis, None, slice(1, None)]], {}, {}, (None, 8, 8, 1, 2)),
    ("GetItem", [(None, 8, 8, 3), [slice(None), slice(None, None, 2), slice(None), 0]], {}, {}, (None, 4, 8)),
    ("Pad", [(None, 8, 3)], {}, {"pad_width": [[0, 0], [1, 2], [0, 0]]}, (None, 11, 3)),
    ("Tile", [(None, 4)], {}, {"repeats": [1, 3]}, (None, 12)),
    ("Einsum", [(None, 5, 8), (8, 3)], {}, {"subscripts": "bij,jk->bik"}, (None, 5, 3)),
    ("Take", [(None, 6, 4), [0, 1]], {}, {"axis": 1}, (None, 2, 4)),
    ("AveragePool", [(None, 9, 9, 3)], {}, {"pool_size": 2, "strides": 2, "padding": "same"}, (None, 5, 5, 3)),
    ("Resize", [(None, 9, 9, 3)], {}, {"size": [4, 5]}, (None, 4, 5, 3)),
    # Keras 3.15 on (None, 6, 4): argmax(axis=1), argmin(axis=-1, keepdims), repeat(2, axis=1), one_hot(5),
    # flip, norm(axis=-1), repeat(3) flattened
    ("Argmax", [(None, 6, 4)], {}, {"axis": 1}, (None, 4)),
    ("Argmin", [(None, 6, 4)], {}, {"axis": -1, "keepdims": True}, (None, 6, 1)),
    ("Repeat", [(None, 6, 4)], {}, {"repeats": 2, "axis": 1}, (None, 12, 4)),
    ("OneHot", [(None, 6)], {}, {"num_classes": 5}, (None, 6, 5)),
    ("Flip", [(None, 6, 4)], {}, {"axis": 1}, (None, 6, 4)),
    ("Norm", [(None, 6, 4)], {}, {"axis": -1}, (None, 6)),
    ("Repeat", [(None, 6, 4)], {}, {"repeats": 3, "axis": None}, (None,)),
])
def test_operations_shapes(name, args, kwargs, config, expected):
    from convcalc.operations import as_tensor

    wrapped = [as_tensor(a) if isinstance(a, tuple) else a for a in args]
    assert build_operation(name, config).compute(wrapped, kwargs) == expected


def test_split_and_unstack_give_several_outputs():
    from convcalc.operations import as_tensor

    x = as_tensor((None, 6, 4))
    assert build_operation("Split", {"indices_or_sections": 3, "axis": 1}).compute([x], {}) == [(None, 2, 4)] * 3
    assert build_operation("Split", {"indices_or_sections": [1, 4], "axis": 1}).compute([x], {}) == [
        (None, 1, 4), (None, 3, 4), (None, 2, 4)]
    assert build_operation("Unstack", {"num": None, "axis": 2}).compute([x], {}) == [(None, 6)] * 4
    assert build_operation("Moments", {"axes": [1]}).compute([x], {}) == [(None, 4), (None, 4)]


def test_concatenate_operation_takes_a_list():
    from convcalc.operations import as_tensor

    op = build_operation("Concatenate", {"axis": -1})
    assert op.compute([[as_tensor((None, 8, 8, 3)), as_tensor((None, 8, 8, 5))]], {}) == (None, 8, 8, 8)


def test_unknown_operation_is_named():
    with pytest.raises(ConvcalcError, match="Keras operation 'Fft2'"):
        build_operation("Fft2", {})


def test_broadcast_refuses_different_sizes():
    with pytest.raises(ConvcalcError, match="cannot broadcast"):
        broadcast((None, 4), (None, 5), "Add")


def _tensor(name, node=0, index=0, shape=(None, 8)):
    return {"class_name": "__keras_tensor__", "config": {"shape": list(shape), "dtype": "float32",
                                                          "keras_history": [name, node, index]}}


def _functional(layers, inputs, outputs):
    return {"class_name": "Functional", "config": {"name": "m", "trainable": True, "layers": layers,
                                                    "input_layers": inputs, "output_layers": outputs}}


def _input(name, shape):
    return {"module": "keras.layers", "class_name": "InputLayer", "name": name, "inbound_nodes": [],
            "config": {"batch_shape": [None, *shape], "name": name}}


def _dense(name, units, *args):
    return {"module": "keras.layers", "class_name": "Dense", "name": name,
            "config": {"name": name, "units": units},
            "inbound_nodes": [{"args": list(args), "kwargs": {}}]}


def _op(class_name, name, *args, **config):
    return {"module": "keras.src.ops.numpy", "class_name": class_name, "registered_name": class_name, "name": name,
            "config": {"name": name, **config}, "inbound_nodes": [{"args": list(args), "kwargs": {}}]}


def write_config(tmp_path, data, name="model.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_operation_entries_are_not_read_as_merge_layers(tmp_path):
    """``x + 3.0`` is an ops.Add with a tensor and a constant, not an Add layer with one input."""
    config = _functional(
        [_input("x", (8,)), _op("Add", "add", _tensor("x"), 3.0), _op("Multiply", "multiply", _tensor("add"), _tensor("x")),
         _dense("dense", 4, _tensor("multiply"))],
        [["x", 0, 0]], [["dense", 0, 0]])
    out = json.loads(run("shape", "--file", write_config(tmp_path, config), "--format", "json").stdout)
    rows = {row["name"]: row for row in out["layers"]}
    assert rows["add"]["type"] == "Add" and rows["add"]["output_shape"] == [None, 8] and rows["add"]["params"] == 0
    assert rows["multiply"]["connected_to"] == ["add", "x"]
    assert out["total_params"] == 36


def test_dict_inputs_and_outputs_keep_their_keys(tmp_path):
    config = _functional(
        [_input("a", (8,)), _input("b", (3,)), _dense("d1", 4, _tensor("a")), _dense("d2", 2, _tensor("b"))],
        {"img": ["a", 0, 0], "meta": ["b", 0, 0]}, {"cls": ["d1", 0, 0], "reg": ["d2", 0, 0]})
    path = write_config(tmp_path, config)
    out = json.loads(run("shape", "--file", path, "--format", "json").stdout)
    assert out["input_shape"] == {"img": [None, 8], "meta": [None, 3]}
    assert out["output_shape"] == {"cls": [None, 4], "reg": [None, 2]}
    resized = json.loads(run("shape", "--file", path, "-i", "16", "-i", "5", "--format", "json").stdout)
    assert resized["input_shape"] == {"img": [None, 16], "meta": [None, 5]} and resized["total_params"] == 68 + 12


def test_input_on_a_config_needs_one_per_input(tmp_path):
    config = _functional([_input("a", (8,)), _dense("d1", 4, _tensor("a"))], [["a", 0, 0]], [["d1", 0, 0]])
    path = write_config(tmp_path, config)
    result = run("shape", "--file", path, "-i", "8", "-i", "9")
    assert result.exit_code == 2 and "1 input(s), but 2 --input" in result.stderr
    result = run("shape", "--file", path, "-i", "8x8")
    assert result.exit_code == 2 and "has 2 sizes, but the model's input 'a' has 1" in result.stderr


def test_unknown_sizes_propagate_and_run_is_refused():
    out = json.loads(run("shape", "-i", "?x?x3", "Conv2D(8, 3, strides=2, padding='same')", "GlobalAveragePooling2D()",
                         "Dense(2)", "--format", "json").stdout)
    assert [row["output_shape"] for row in out["layers"]] == [[None, None, None, 8], [None, 8], [None, 2]]
    assert out["total_params"] == 224 + 18
    refused = run("shape", "-i", "Nonex8x3", "Conv2D(8, 3)", "--run")
    assert refused.exit_code == 2 and "unknown (None) sizes" in refused.stderr


def test_layers_listed_in_reverse_order_read_fast(tmp_path):
    """Functional configs in any order: 3000 layers listed backwards."""
    layers = [_input("x", (4,))]
    previous = "x"
    for i in range(3000):
        layers.append(_dense(f"d{i}", 4, _tensor(previous)))
        previous = f"d{i}"
    config = _functional([layers[0], *layers[:0:-1]], [["x", 0, 0]], [[previous, 0, 0]])
    out = json.loads(run("shape", "--file", write_config(tmp_path, config), "--format", "json").stdout)
    assert out["total_params"] == 3000 * 20 and out["output_shape"] == [None, 4]


def test_multi_head_attention_weights_as_keras_declares_them():
    """Keras 3.15: MultiHeadAttention(2, 4, use_gate=True, output_shape=7) on query (6, 8), value (10, 5)
    gives (None, 6, 7) with query/key/gate/value/attention_output kernels and biases (303 parameters)."""
    out = json.loads(run("shape", "Input(shape=(6, 8))", "Input(shape=(10, 5))",
                         "MultiHeadAttention(2, 4, use_gate=True, output_shape=7)", "--format", "json").stdout)
    row = out["layers"][0]
    assert row["output_shape"] == [None, 6, 7] and row["params"] == 303
    mha = build_layer(parse_call("MultiHeadAttention(2, 4, use_gate=True, output_shape=7)"))
    weights = mha.compute([(6, 8), (10, 5)], "channels_last").weights
    assert [(w.name, w.shape) for w in weights] == [
        ("query/kernel", (8, 2, 4)), ("query/bias", (2, 4)), ("key/kernel", (5, 2, 4)), ("key/bias", (2, 4)),
        ("gate/kernel", (8, 2, 4)), ("gate/bias", (2, 4)), ("value/kernel", (5, 2, 4)), ("value/bias", (2, 4)),
        ("attention_output/kernel", (2, 4, 7)), ("attention_output/bias", (7,))]


def test_a_custom_layer_in_a_config_is_named_with_its_place(tmp_path):
    config = _functional([_input("x", (8,)), {"module": "mypkg.layers", "class_name": "MyBlock", "name": "blk",
                                              "registered_name": "Custom>MyBlock", "config": {"name": "blk", "units": 3},
                                              "inbound_nodes": [{"args": [_tensor("x")], "kwargs": {}}]}],
                         [["x", 0, 0]], [["blk", 0, 0]])
    path = write_config(tmp_path, config)
    result = run("shape", "--file", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {path}: layer 2 'blk' (MyBlock): 'MyBlock' is not a layer convcalc knows")
    assert "output shape cannot be known without its code" in result.stderr
