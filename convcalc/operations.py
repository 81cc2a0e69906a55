"""Keras operations inside a model graph: ``x + 3.0``, ``ops.maximum(a, b)``, ``ops.reshape``...

``model.to_json()`` writes each ``keras.src.ops`` call of a Functional model as
its own entry (``{"module": "keras.src.ops.numpy", "class_name": "Add", ...}``)
whose tensors and constants are the node's arguments.  Operations work on the
whole shape, batch axis included, as in Keras, and have no weights.  The shape
rules follow ``compute_output_spec`` of each operation in Keras 3.
Standard library only.
"""

from __future__ import annotations

from math import prod
from typing import Any

from . import formulas
from .errors import ConvcalcError

OPERATION_MODULES = ("keras.src.ops", "keras.ops")


def is_operation_entry(entry: dict) -> bool:
    """A config entry written for a Keras operation rather than a layer."""
    module = entry.get("module")
    return isinstance(module, str) and module.startswith(OPERATION_MODULES)


def broadcast(a: tuple, b: tuple, what: str) -> tuple:
    """NumPy broadcasting with unknown sizes, as Keras's ``broadcast_shapes``.

    >>> broadcast((None, 8, 8, 3), (3,), "Add")
    (None, 8, 8, 3)
    """
    out = formulas.broadcast_shapes(tuple(a), tuple(b))
    if out is None:
        raise ConvcalcError(f"{what} cannot broadcast shapes {tuple(a)} and {tuple(b)}.")
    return out


def _axis(axis: int, rank: int, what: str) -> int:
    if not -rank <= axis < rank:
        raise ConvcalcError(f"{what}: axis {axis} is out of range for a tensor of rank {rank}.")
    return axis % rank


class Operation:
    """One Keras operation: its class name, its config, and the shape it gives."""

    is_operation = True
    multiple_inputs = True

    def __init__(self, type_name: str, config: dict):
        self.type_name = type_name
        self.config = config
        self.spec = f"ops.{type_name}"
        self.data_format = None
        self.args: dict = {}

    def compute(self, args: list, kwargs: dict):
        raise NotImplementedError


class _Tensor(tuple):
    """A tensor's shape among an operation's arguments (constants stay plain values)."""


class Elementwise(Operation):
    """Unary operations (``relu``, ``sigmoid``, ``cast``...): the shape of the first argument."""

    def compute(self, args, kwargs):
        tensor = next((a for a in list(args) + list(kwargs.values()) if isinstance(a, _Tensor)), None)
        if tensor is None:
            raise ConvcalcError(f"the operation {self.type_name} has no tensor argument.")
        if self.type_name == "Glu":  # the two halves of ``axis`` multiply each other
            axis = _axis(self.config.get("axis", -1), len(tensor), "glu")
            return tuple(n if i != axis or n is None else n // 2 for i, n in enumerate(tensor))
        if self.type_name in ("Cumsum", "Cumprod") and self.config.get("axis") is None:
            return (formulas.flat_length(tuple(tensor)),)  # axis=None runs along the flattened tensor
        return tuple(tensor)


class Binary(Operation):
    """Binary operations with broadcasting (``x + 3.0``, ``ops.maximum(a, b)``)."""

    def compute(self, args, kwargs):
        values = list(args) + [v for k, v in kwargs.items() if k in ("x1", "x2", "y", "x")]
        shapes = [tuple(v) if isinstance(v, _Tensor) else _constant_shape(v) for v in values]
        if not shapes:
            raise ConvcalcError(f"the operation {self.type_name} has no arguments.")
        out = shapes[0]
        for shape in shapes[1:]:
            out = broadcast(out, shape, self.type_name)
        return out


def _constant_shape(value: Any) -> tuple:
    if isinstance(value, (list, tuple)):
        return (len(value), *(_constant_shape(value[0]) if value else ()))
    return ()


def _tensor(args, kwargs, key: str = "x", position: int = 0) -> tuple:
    if key in kwargs and isinstance(kwargs[key], _Tensor):
        return tuple(kwargs[key])
    tensors = [a for a in args if isinstance(a, _Tensor)]
    if len(tensors) <= position:
        raise ConvcalcError("the operation has no tensor argument.")
    return tuple(tensors[position])


def _option(self: Operation, args, kwargs, key: str, position: int, default=None):
    """An argument given in the config, by keyword in the call, or by position."""
    if key in self.config:
        return self.config[key]
    if key in kwargs:
        return kwargs[key]
    if len(args) > position:
        return args[position]
    return default


class Reduction(Operation):
    """``mean``, ``sum``, ``max``...: ``axis`` (None: all) removed, or kept as 1 with ``keepdims``."""

    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        axis = _option(self, args, kwargs, "axis", 1)
        keepdims = bool(_option(self, args, kwargs, "keepdims", 2, False))
        axes = range(len(x)) if axis is None else (axis if isinstance(axis, (list, tuple)) else (axis,))
        axes = {_axis(a, len(x), self.type_name) for a in axes}
        return tuple(1 if i in axes else n for i, n in enumerate(x) if keepdims or i not in axes)


class Concatenate(Operation):
    def compute(self, args, kwargs):
        tensors = args[0] if args and isinstance(args[0], list) else kwargs.get("xs", args)
        axis = _option(self, args[1:], kwargs, "axis", 0, 0)
        shapes = [tuple(t) for t in tensors]
        rank = len(shapes[0])
        axis = _axis(axis, rank, "concatenate")
        out = list(shapes[0])
        for shape in shapes[1:]:
            if len(shape) != rank:
                raise ConvcalcError(f"concatenate needs tensors of the same rank; got {shapes}.")
            for i, (x, y) in enumerate(zip(out, shape)):
                if i == axis:
                    out[i] = None if x is None or y is None else x + y
                elif x is not None and y is not None and x != y:
                    raise ConvcalcError(f"concatenate needs matching sizes except along axis {axis}; got {shapes}.")
                elif x is None:
                    out[i] = y
        return tuple(out)


class Stack(Operation):
    def compute(self, args, kwargs):
        tensors = args[0] if args and isinstance(args[0], list) else args
        axis = _option(self, args[1:], kwargs, "axis", 0, 0)
        shape = list(tensors[0])
        shape.insert(_axis(axis, len(shape) + 1, "stack"), len(tensors))
        return tuple(shape)


class Reshape(Operation):
    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        new = _option(self, args[1:], kwargs, "newshape", 0) or _option(self, args[1:], kwargs, "new_shape", 0)
        new = tuple(new) if isinstance(new, (list, tuple)) else (new,)
        if new.count(-1) > 1:
            raise ConvcalcError(f"reshape: only one size may be -1; got {new}.")
        if -1 in new:
            if None in x:
                return tuple(None if n == -1 else n for n in new)
            known = prod(n for n in new if n != -1)
            total = prod(x)
            if known == 0 or total % known:
                raise ConvcalcError(f"reshape: cannot reshape {x} into {new}.")
            return tuple(total // known if n == -1 else n for n in new)
        if None not in x and prod(x) != prod(new):
            raise ConvcalcError(f"reshape: cannot reshape {x} ({prod(x)} values) into {new} ({prod(new)} values).")
        return new


class Transpose(Operation):
    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        axes = _option(self, args[1:], kwargs, "axes", 0)
        if axes is None:
            return tuple(reversed(x))
        return tuple(x[_axis(a, len(x), "transpose")] for a in axes)


class ExpandDims(Operation):
    def compute(self, args, kwargs):
        x = list(_tensor(args, kwargs))
        axis = _option(self, args[1:], kwargs, "axis", 0)
        for a in sorted(axis if isinstance(axis, (list, tuple)) else (axis,)):
            x.insert(_axis(a, len(x) + 1, "expand_dims"), 1)
        return tuple(x)


class Squeeze(Operation):
    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        axis = _option(self, args[1:], kwargs, "axis", 0)
        if axis is None:
            return tuple(n for n in x if n != 1)
        axes = {_axis(a, len(x), "squeeze") for a in (axis if isinstance(axis, (list, tuple)) else (axis,))}
        for a in axes:
            if x[a] not in (1, None):
                raise ConvcalcError(f"squeeze: axis {a} has size {x[a]}, not 1.")
        return tuple(n for i, n in enumerate(x) if i not in axes)


class Matmul(Operation):
    def compute(self, args, kwargs):
        a, b = _tensor(args, kwargs, "x1", 0), _tensor(args, kwargs, "x2", 1)
        if len(a) == 1 and len(b) == 1:
            return ()
        a2 = (1, *a) if len(a) == 1 else a
        b2 = (*b, 1) if len(b) == 1 else b
        if a2[-1] is not None and b2[-2] is not None and a2[-1] != b2[-2]:
            raise ConvcalcError(f"matmul: inner sizes differ: {a} and {b}.")
        batch = broadcast(a2[:-2], b2[:-2], "matmul")
        out = (*batch, a2[-2], b2[-1])
        if len(a) == 1:
            out = out[:-2] + out[-1:]
        if len(b) == 1:
            out = out[:-1]
        return out


class BroadcastTo(Operation):
    def compute(self, args, kwargs):
        return tuple(_option(self, args[1:], kwargs, "shape", 0))


class GetItem(Operation):
    """``x[...]``: NumPy basic indexing with ints, slices, ``...`` and ``None`` (a new axis)."""

    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        key = args[1] if len(args) > 1 else kwargs.get("key")
        keys = list(key) if isinstance(key, (list, tuple)) else [key]
        consuming = sum(1 for k in keys if k is not None and k is not Ellipsis)
        if consuming > len(x):
            raise ConvcalcError(f"GetItem: {consuming} indices for a tensor of rank {len(x)}.")
        if Ellipsis in keys:
            at = keys.index(Ellipsis)
            keys[at:at + 1] = [slice(None)] * (len(x) - consuming)
        keys += [slice(None)] * (len(x) - sum(1 for k in keys if k is not None))
        out, axis = [], 0
        for k in keys:
            if k is None:
                out.append(1)
                continue
            size = x[axis]
            axis += 1
            if isinstance(k, slice):
                if size is None:
                    out.append(None if (k.start, k.stop) == (None, None) or (k.start or 0) < 0 or k.stop is None
                               or k.stop < 0 else formulas.slice_length(k.stop, k))
                else:
                    out.append(formulas.slice_length(size, k))
            elif isinstance(k, int) and not isinstance(k, bool):
                if size is not None and not -size <= k < size:
                    raise ConvcalcError(f"GetItem: index {k} is out of range for an axis of size {size}.")
            else:
                raise ConvcalcError(f"GetItem: cannot index with {k!r}.")
        return tuple(out)


class Pad(Operation):
    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        width = _option(self, args[1:], kwargs, "pad_width", 0)
        if isinstance(width, int):
            width = [[width, width]] * len(x)
        width = [list(w) if isinstance(w, (list, tuple)) else [w, w] for w in width]
        if len(width) == 1:
            width = width * len(x)
        if len(width) != len(x):
            raise ConvcalcError(f"pad: pad_width has {len(width)} pairs for a tensor of rank {len(x)}.")
        return tuple(formulas.padded_length(n, b, a) for n, (b, a) in zip(x, width))


class Take(Operation):
    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        indices = args[1] if len(args) > 1 else kwargs.get("indices")
        index_shape = tuple(indices) if isinstance(indices, _Tensor) else _constant_shape(indices)
        axis = _option(self, args[2:], kwargs, "axis", 0)
        if axis is None:
            return index_shape
        axis = _axis(axis, len(x), "take")
        return (*x[:axis], *index_shape, *x[axis + 1:])


class Tile(Operation):
    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        repeats = _option(self, args[1:], kwargs, "repeats", 0)
        repeats = list(repeats) if isinstance(repeats, (list, tuple)) else [repeats]
        x = (1,) * (len(repeats) - len(x)) + tuple(x)
        repeats = [1] * (len(x) - len(repeats)) + repeats
        return tuple(None if n is None else n * r for n, r in zip(x, repeats))


class Split(Operation):
    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        parts = _option(self, args[1:], kwargs, "indices_or_sections", 0)
        axis = _axis(_option(self, args[2:], kwargs, "axis", 0, 0), len(x), "split")
        size = x[axis]
        if isinstance(parts, int):
            if size is not None and size % parts:
                raise ConvcalcError(f"split: an axis of size {size} cannot be split into {parts} equal parts.")
            lengths = [None if size is None else size // parts] * parts
        else:
            bounds = [0, *parts, size]
            lengths = [None if b is None or a is None else max(b - a, 0) for a, b in zip(bounds, bounds[1:])]
        return [tuple(n if i != axis else length for i, n in enumerate(x)) for length in lengths]


class Unstack(Operation):
    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        axis = _axis(_option(self, args[1:], kwargs, "axis", 1, 0), len(x), "unstack")
        num = _option(self, args[1:], kwargs, "num", 0) or x[axis]
        if num is None:
            raise ConvcalcError("unstack: the number of outputs is unknown (give num=).")
        return [tuple(n for i, n in enumerate(x) if i != axis)] * num


class Einsum(Operation):
    """``ops.einsum``: sizes by letter; the output's letters after ``->`` (else the letters seen once, sorted)."""

    def compute(self, args, kwargs):
        subscripts = self.config.get("subscripts") or (args[0] if args and isinstance(args[0], str) else None)
        operands = [tuple(a) for a in args if isinstance(a, _Tensor)]
        if not isinstance(subscripts, str) or "." in subscripts:
            raise ConvcalcError(f"einsum: cannot read the subscripts {subscripts!r}.")
        inputs, _, output = subscripts.replace(" ", "").partition("->")
        terms = inputs.split(",")
        if len(terms) != len(operands):
            raise ConvcalcError(f"einsum: {len(terms)} terms for {len(operands)} tensors.")
        sizes: dict[str, int | None] = {}
        for term, shape in zip(terms, operands):
            if len(term) != len(shape):
                raise ConvcalcError(f"einsum: term {term!r} does not match a tensor of rank {len(shape)}.")
            for letter, n in zip(term, shape):
                known = sizes.get(letter)
                if known is None or known == 1:
                    sizes[letter] = n if n is not None else known
                elif n not in (None, 1, known):
                    raise ConvcalcError(f"einsum: {letter!r} has sizes {known} and {n}.")
        if not _:
            output = "".join(sorted(letter for letter in sizes if inputs.count(letter) == 1))
        return tuple(sizes[letter] for letter in output)


class Pool(Operation):
    """``ops.average_pool`` / ``ops.max_pool`` on a batched tensor."""

    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        rank = len(x) - 2
        first = (self.config.get("data_format") or "channels_last") == "channels_first"
        pool = _option(self, args[1:], kwargs, "pool_size", 0)
        strides = _option(self, args[2:], kwargs, "strides", 0) or pool
        padding = (_option(self, args[3:], kwargs, "padding", 0, "valid") or "valid").lower()
        pool = (pool,) * rank if isinstance(pool, int) else tuple(pool)
        strides = (strides,) * rank if isinstance(strides, int) else tuple(strides)
        spatial = x[2:] if first else x[1:-1]
        out = tuple(formulas.conv_output_length(n, k, s, padding) for n, k, s in zip(spatial, pool, strides))
        return (x[0], x[1], *out) if first else (x[0], *out, x[-1])


class Resize(Operation):
    """``ops.image.resize``: the spatial axes become ``size``."""

    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        size = tuple(_option(self, args[1:], kwargs, "size", 0))
        first = (self.config.get("data_format") or "channels_last") == "channels_first"
        if len(x) not in (3, 4):
            raise ConvcalcError(f"resize needs a tensor of rank 3 or 4; got {x}.")
        if first:
            return (*x[:-2], *size)
        return (*x[:-3], *size, x[-1])


class ArgReduction(Operation):
    """``argmax``/``argmin``: one axis removed (or kept as 1); ``axis=None`` gives a scalar."""

    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        axis = _option(self, args[1:], kwargs, "axis", 0)
        keepdims = bool(_option(self, args[2:], kwargs, "keepdims", 0, False))
        if axis is None:
            return (1,) * len(x) if keepdims else ()
        axis = _axis(axis, len(x), self.type_name)
        return tuple(1 if i == axis else n for i, n in enumerate(x) if keepdims or i != axis)


class Repeat(Operation):
    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        repeats = _option(self, args[1:], kwargs, "repeats", 0)
        axis = _option(self, args[2:], kwargs, "axis", 0)
        if not isinstance(repeats, int):
            return (None,) if axis is None else tuple(None if i == _axis(axis, len(x), "repeat") else n
                                                       for i, n in enumerate(x))
        if axis is None:
            total = None if None in x else repeats * formulas.flat_length(x)
            return (total,)
        axis = _axis(axis, len(x), "repeat")
        return tuple(None if i == axis and n is None else n * repeats if i == axis else n for i, n in enumerate(x))


class OneHot(Operation):
    def compute(self, args, kwargs):
        x = list(_tensor(args, kwargs))
        classes = _option(self, args[1:], kwargs, "num_classes", 0)
        axis = _option(self, args[2:], kwargs, "axis", 0, -1)
        x.insert(axis % (len(x) + 1), classes)
        return tuple(x)


class Moments(Operation):
    """``ops.moments``: mean and variance, reduced over ``axes``."""

    def compute(self, args, kwargs):
        x = _tensor(args, kwargs)
        axes = _option(self, args[1:], kwargs, "axes", 0)
        keepdims = bool(_option(self, args[2:], kwargs, "keepdims", 0, False))
        axes = {_axis(a, len(x), "moments") for a in (axes if isinstance(axes, (list, tuple)) else (axes,))}
        out = tuple(1 if i in axes else n for i, n in enumerate(x) if keepdims or i not in axes)
        return [out, out]


ELEMENTWISE = (
    "Abs Absolute Cast Ceil Clip Cos Cosh Celu Elu Erf Exp Expm1 Floor Gelu Glu HardShrink HardSigmoid HardSilu "
    "HardSwish HardTanh LeakyRelu Log Log1p LogSigmoid LogSoftmax Mish Negative Reciprocal Relu Relu6 Round "
    "Rsqrt Selu Sigmoid Sign Silu Sin Sinh Softmax SoftShrink Softplus Softsign SparsePlus SparseSigmoid Sqrt "
    "Square Squareplus StopGradient Swish Tan Tanh TanhShrink Threshold LogicalNot Trunc IsNan IsInf IsFinite "
    "NanToNum Copy Conjugate Real Imag Sort Cumsum Cumprod Flip Roll Normalize Argsort Erfinv Log10 Log2 "
    "Tril Triu Sinc Arcsin Arccos Arctan Arcsinh Arccosh Arctanh Deg2rad Rad2deg Exp2 Sign Signbit "
    "Isnan Isinf Isfinite"
).split()
BINARY = (
    "Add Subtract Multiply Divide TrueDivide FloorDivide Power Maximum Minimum Mod Equal NotEqual Greater "
    "GreaterEqual Less LessEqual LogicalAnd LogicalOr LogicalXor Arctan2 Hypot Where DivideNoNan"
).split()
REDUCTIONS = "Mean Sum Max Min Prod Std Var Any All Amax Amin Logsumexp Norm Median Nanmean Nansum".split()
OTHERS = {"Concatenate": Concatenate, "Stack": Stack, "Reshape": Reshape, "Transpose": Transpose,
          "ExpandDims": ExpandDims, "Squeeze": Squeeze, "Matmul": Matmul, "BroadcastTo": BroadcastTo,
          "GetItem": GetItem, "Pad": Pad, "Take": Take, "Tile": Tile, "Split": Split, "Unstack": Unstack,
          "Einsum": Einsum, "AveragePool": Pool, "MaxPool": Pool, "Resize": Resize, "Argmax": ArgReduction,
          "Argmin": ArgReduction, "Repeat": Repeat, "OneHot": OneHot, "Moments": Moments,
          # the shape of their argument, like ELEMENTWISE (listed here, after the older ones, so that
          # scripts/make_golden_op_runs.py draws their cases after every older case)
          "ZerosLike": Elementwise, "OnesLike": Elementwise}


def build_operation(class_name: str, config: dict) -> Operation:
    """The operation a config entry names; an unknown one is an error naming it."""
    if class_name in ELEMENTWISE:
        return Elementwise(class_name, config)
    if class_name in BINARY:
        return Binary(class_name, config)
    if class_name in REDUCTIONS:
        return Reduction(class_name, config)
    if class_name in OTHERS:
        return OTHERS[class_name](class_name, config)
    raise ConvcalcError(f"convcalc does not know the Keras operation {class_name!r}, so its output shape cannot be computed.")


def as_tensor(shape: tuple) -> _Tensor:
    return _Tensor(shape)
