"""Attention layers: MultiHeadAttention, with its four (or five, gated) projections."""

from __future__ import annotations

from .arguments import check_any_literal, check_bool, check_optional_positive_int, check_positive_int, check_rate
from .convolution import INIT_TAIL
from .errors import ConvcalcError
from .layer_base import REQUIRED, Layer, LayerShape


class MultiHeadAttention(Layer):
    """``mha(query, value, key=None)``: the output has the query's shape, its last axis
    ``output_shape`` (default: the query's). Weights as Keras's EinsumDense projections declare them:
    ``query``, ``key``, (``gate``), ``value`` then ``attention_output``, each a kernel and a bias."""

    signature = (
        ("num_heads", REQUIRED), ("key_dim", REQUIRED), ("value_dim", None), ("dropout", 0.0), ("use_bias", True),
        ("output_shape", None), ("attention_axes", None), ("sliding_window", None), ("flash_attention", None),
        *(item for item in INIT_TAIL if item[0] != "activity_regularizer"), ("use_gate", False), ("seed", None),
    )
    checks = {
        "num_heads": check_positive_int, "key_dim": check_positive_int, "value_dim": check_optional_positive_int,
        "dropout": check_rate, "output_shape": check_any_literal, "attention_axes": check_any_literal,
        "sliding_window": check_any_literal, "flash_attention": check_any_literal, "use_gate": check_bool,
    }
    multiple_inputs = True

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        shapes = list(input_shape) if isinstance(input_shape, list) else [input_shape]
        if len(shapes) < 2:
            raise ConvcalcError("MultiHeadAttention is called on a query and a value (and optionally a key); got one input.")
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) > 2 else value
        for what, shape in (("query", query), ("value", value), ("key", key)):
            if not shape or shape[-1] is None:
                raise ConvcalcError(f"the {what}'s last axis must be known to build MultiHeadAttention; got {shape}.")
        heads, key_dim = a["num_heads"], a["key_dim"]
        value_dim = a["value_dim"] or key_dim
        out = a["output_shape"]
        out = tuple(out) if isinstance(out, tuple) else (out,) if out is not None else (query[-1],)
        weights = []

        def projection(name, kernel, bias):
            weights.append(self.weight(f"{name}/kernel", kernel, initializer="kernel"))
            if a["use_bias"]:
                weights.append(self.weight(f"{name}/bias", bias, initializer="bias"))

        projection("query", (query[-1], heads, key_dim), (heads, key_dim))
        projection("key", (key[-1], heads, key_dim), (heads, key_dim))
        if a["use_gate"]:
            projection("gate", (query[-1], heads, value_dim), (heads, value_dim))
        projection("value", (value[-1], heads, value_dim), (heads, value_dim))
        projection("attention_output", (heads, value_dim, *out), out)
        return self.shape((*query[:-1], *out), weights=weights)


LAYERS = (MultiHeadAttention,)
