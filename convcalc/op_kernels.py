"""NumPy kernels of the Keras operation nodes of model configs (``x + 3.0``, ``ops.mean``...), for ``--run``.

:mod:`convcalc.operations` reads each node and computes its shape; this module
computes its values.  ``run_operation(op, args, kwargs)`` takes the node's
arguments as the graph holds them (``node.inputs`` and ``node.kwargs``), with
every tensor replaced by an ``ndarray`` (batch axis first) and every constant
by its plain value, and returns what the Keras op returns: one array, or a
list of arrays for ``Split``, ``Unstack`` and ``Moments``.  Options come from
the op's config as ``model.to_json()`` writes it (``axis``, ``keepdims``,
``newshape``...), with Keras's defaults when absent.

Data types, as they flow on to the next node:

- Float results keep the float precision of their tensor arguments (a
  float64 run stays float64; float32 stays float32); Python constants never
  widen a tensor (``x + 3.0`` on float32 is float32), as in Keras.
- Non-float results have Keras's dtype and are passed on as such, so the
  next op sees what Keras's would: comparisons, ``logical_*``, ``isnan``,
  ``signbit``, ``any``/``all`` give ``bool``; ``argmax``, ``argmin``,
  ``argsort`` give ``int32``; ``cast`` gives the dtype it names;
  ``one_hot`` its ``dtype`` (float32 when none); integer tensors stay
  integers through ``add``, ``maximum``, ``reshape``... and become float32
  (Keras's ``floatx``) in ``mean``, ``divide``, ``sqrt``, ``floor``... (Keras's
  ``result_type`` with Python scalars as weak types).  ``bfloat16``, which
  NumPy lacks, is carried as float32 holding bfloat16-rounded values.
- A layer after such an op receives the array as it is; the caller decides
  how a layer treats a non-float input (Keras layers cast it to their
  compute dtype).

``operation_refusal(op)`` names, before a run starts, what these kernels do
not compute: an op whose values are not defined here (every name
:mod:`convcalc.operations` knows is), or an option Keras itself refuses or
NumPy cannot give (``sparse=True``, a complex ``cast``, an unknown resize
interpolation).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from . import activations, feature_kernels, formulas, image_kernels, layer_kernels
from .errors import ConvcalcError
from .operations import REDUCTIONS, Operation

FLOATX = np.dtype(np.float32)  # Keras's default float type: what integer inputs become in float ops
INT = np.dtype(np.int32)  # Keras's argmax/argsort index type and its default integer
EPSILON = 1e-7  # keras.config.epsilon()
BOOL = np.dtype(bool)

# dtype names ``cast`` (and ``one_hot``, ``cumsum``...) may give; bfloat16 is emulated in float32
DTYPES = {name: np.dtype(name) for name in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64")}
DTYPES["bfloat16"] = FLOATX
DTYPES["half"], DTYPES["float"], DTYPES["double"] = np.dtype("float16"), FLOATX, np.dtype("float64")


# ---------------------------------------------------------------- dtypes, as Keras's result_type gives them


def _dtype_name(value: Any) -> str | None:
    """The dtype name a ``dtype`` option holds (a string, or a serialized DTypePolicy)."""
    if isinstance(value, dict):
        value = (value.get("config") or {}).get("name")
    if hasattr(value, "kwargs"):  # a parse.Call (DTypePolicy(name=...))
        value = dict(value.kwargs).get("name")
    return value if value is None or isinstance(value, str) else str(value)


def _promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """Two tensors' common dtype: bool < integers < floats; floats take the wider one."""
    if a == b:
        return a
    if a.kind == "f" and b.kind == "f":
        return a if a.itemsize >= b.itemsize else b
    if a.kind == "f" or b.kind == "f":
        return a if a.kind == "f" else b
    if a.kind == "b" or b.kind == "b":
        return b if a.kind == "b" else a
    return np.promote_types(a, b)


def _constant_dtype(value: Any) -> np.dtype:
    """A list constant becomes a tensor the way Keras converts it (float32, int32 or bool)."""
    flat = np.asarray(value)
    return BOOL if flat.dtype.kind == "b" else INT if flat.dtype.kind in "iu" else FLOATX


def result_dtype(values: list, floating: bool = False) -> np.dtype:
    """Keras's ``result_type`` of an op's arguments: tensors decide, Python scalars are weak.

    A Python float makes an integer or bool result float32; a Python int makes a bool result int32.
    ``floating``: the op computes in floats (``divide``, ``sqrt``...), so an integer result is float32.

    >>> result_dtype([np.zeros(2, np.float32), 3.0]), result_dtype([np.zeros(2, np.int32), 0.5])
    (dtype('float32'), dtype('float32'))
    >>> result_dtype([np.zeros(2, bool), 1]), result_dtype([np.zeros(2, np.int32)], floating=True)
    (dtype('int32'), dtype('float32'))
    """
    dtype = None
    for value in values:
        if isinstance(value, np.ndarray):
            dtype = value.dtype if dtype is None else _promote(dtype, value.dtype)
        elif isinstance(value, (list, tuple)):
            dtype = _constant_dtype(value) if dtype is None else _promote(dtype, _constant_dtype(value))
    scalars = [v for v in values if isinstance(v, (bool, int, float, np.number, np.bool_))]
    if dtype is None:
        kinds = {type(v) for v in scalars}
        dtype = FLOATX if float in kinds else INT if int in kinds else BOOL
    for value in scalars:
        if isinstance(value, (float, np.floating)) and dtype.kind != "f":
            dtype = FLOATX
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool) and dtype.kind == "b":
            dtype = INT
    if floating and dtype.kind != "f":
        dtype = FLOATX
    return dtype


def _as(value: Any, dtype: np.dtype) -> np.ndarray:
    return np.asarray(value).astype(dtype, copy=False)


def _bfloat16(x: np.ndarray) -> np.ndarray:
    """Values rounded to bfloat16 (nearest, ties to even), kept in float32."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))) & np.uint32(0xFFFF0000)
    rounded = np.where(np.isnan(x), bits, rounded)
    return rounded.view(np.float32)


def cast(x: np.ndarray, name: str) -> np.ndarray:
    """``ops.cast``: floats to integers truncate toward zero, anything nonzero is True, as ``tf.cast``."""
    target = DTYPES[name]
    if target.kind == "b":
        return np.asarray(x) != 0
    with np.errstate(invalid="ignore", over="ignore"):
        if target.kind in "iu" and np.asarray(x).dtype.kind == "f":
            x = np.trunc(x)
        y = np.asarray(x).astype(target)
    return _bfloat16(y) if name == "bfloat16" else y


# ---------------------------------------------------------------- arguments


def _bind(args: list, kwargs: dict, names: tuple) -> list:
    """The call's arguments in the order of Keras's ``call`` signature (positional, then by name)."""
    values = list(args[:len(names)])
    values += [kwargs.get(name) for name in names[len(values):]]
    return values


def _option(op: Operation, key: str, kwargs: dict, default: Any = None) -> Any:
    """An op option: from the op's config (where Keras 3 writes it), else the call's keywords."""
    if key in op.config:
        return op.config[key]
    return kwargs.get(key, default)


def _first(args: list, kwargs: dict, name: str = "x") -> np.ndarray:
    value = _bind(args, kwargs, (name,))[0]
    if value is None:
        value = next((v for v in kwargs.values() if isinstance(v, np.ndarray)), None)
    if not isinstance(value, np.ndarray):
        value = np.asarray(value)
    return value


def _axes(axis: Any) -> Any:
    """A config axis as NumPy takes it: None, an int, or a tuple of ints."""
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


# ---------------------------------------------------------------- elementwise


def _erf(x: np.ndarray) -> np.ndarray:
    """``erf``: its Taylor series near 0 (where ``1 - erfc`` loses digits), ``1 - erfc`` elsewhere."""
    z = np.asarray(x, dtype=np.float64)
    squared = z * z
    term, total = z.copy(), z.copy()
    for n in range(1, 14):  # |z| < 0.5: the terms fall below 1e-17
        term *= -squared / n
        total += term / (2 * n + 1)
    series = total * (2 / math.sqrt(math.pi))
    return np.where(np.abs(z) < 0.5, series, 1.0 - activations._erfc(z))


def _erfinv(x: np.ndarray) -> np.ndarray:
    """Inverse ``erf``: Giles's approximation (XLA's), refined by Newton steps on :func:`_erf`."""
    z = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log((1.0 - z) * (1.0 + z))
        low = w - 2.5
        p_low = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                  -0.00417768164, 0.246640727, 1.50140941):
            p_low = c + p_low * low
        high = np.sqrt(w) - 3.0
        p_high = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                  0.00943887047, 1.00167406, 2.83297682):
            p_high = c + p_high * high
        y = np.where(w < 5.0, p_low, p_high) * z
        finite = np.abs(z) < 1
        for _ in range(2):
            step = (_erf(y) - z) / (2 / math.sqrt(math.pi) * np.exp(-y * y))
            y = np.where(finite, y - np.where(finite, step, 0.0), y)
        y = np.where(np.abs(z) == 1, np.copysign(np.inf, z), y)
        return np.where(np.abs(z) > 1, np.nan, y)


def _gelu(x: np.ndarray, approximate: bool) -> np.ndarray:
    if approximate:
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return activations.ACTIVATIONS["gelu"](x)


def _log_softmax(x: np.ndarray, axis: Any) -> np.ndarray:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _glu(x: np.ndarray, axis: int) -> np.ndarray:
    a, b = np.split(x, 2, axis=axis)
    return a * activations.ACTIVATIONS["sigmoid"](b)


def _normalize(x: np.ndarray, axis: Any, order: int, epsilon: float | None) -> np.ndarray:
    """``ops.normalize``: ``x * min(rsqrt(sum(x**2)), 1/eps)`` for order 2, else ``x / max(norm, eps)``."""
    epsilon = EPSILON if epsilon is None else epsilon
    if order == 2:
        with np.errstate(divide="ignore"):
            inverse = 1.0 / np.sqrt(np.sum(np.square(x), axis=axis, keepdims=True))
        return x * np.minimum(inverse, np.asarray(1.0 / epsilon, x.dtype))
    norm = np.sum(np.abs(x) ** order, axis=axis, keepdims=True) ** (1.0 / order)
    return x / np.maximum(norm, epsilon)


def _act(name: str) -> Callable:
    return lambda op, x: activations.ACTIVATIONS[name](x)


def _c(op: Operation, key: str, default: Any) -> Any:
    """A config option, ``default`` when absent or null (as Keras's constructor defaults it)."""
    value = op.config.get(key)
    return default if value is None else value


# name -> (op, x) -> y, computed in floats (an integer input becomes float32 first)
FLOAT_UNARY: dict[str, Callable] = {
    "Cos": lambda op, x: np.cos(x), "Cosh": lambda op, x: np.cosh(x), "Sin": lambda op, x: np.sin(x),
    "Sinh": lambda op, x: np.sinh(x), "Tan": lambda op, x: np.tan(x), "Tanh": lambda op, x: np.tanh(x),
    "Arcsin": lambda op, x: np.arcsin(x), "Arccos": lambda op, x: np.arccos(x),
    "Arctan": lambda op, x: np.arctan(x), "Arcsinh": lambda op, x: np.arcsinh(x),
    "Arccosh": lambda op, x: np.arccosh(x), "Arctanh": lambda op, x: np.arctanh(x),
    "Exp": lambda op, x: np.exp(x), "Expm1": lambda op, x: np.expm1(x), "Exp2": lambda op, x: np.exp2(x),
    "Log": lambda op, x: np.log(x), "Log1p": lambda op, x: np.log1p(x), "Log2": lambda op, x: np.log2(x),
    "Log10": lambda op, x: np.log10(x), "Sqrt": lambda op, x: np.sqrt(x),
    "Rsqrt": lambda op, x: 1 / np.sqrt(x), "Reciprocal": lambda op, x: 1 / x,
    "Erf": lambda op, x: _erf(x), "Erfinv": lambda op, x: _erfinv(x), "Sinc": lambda op, x: np.sinc(x),
    "Deg2rad": lambda op, x: np.deg2rad(x), "Rad2deg": lambda op, x: np.rad2deg(x),
    "Ceil": lambda op, x: np.ceil(x), "Floor": lambda op, x: np.floor(x),
    # keras.ops.nn
    **{name: _act(key) for name, key in (
        ("Sigmoid", "sigmoid"), ("HardSigmoid", "hard_sigmoid"), ("HardSilu", "hard_silu"),
        ("HardSwish", "hard_silu"), ("Silu", "silu"), ("Swish", "silu"), ("Softplus", "softplus"),
        ("Softsign", "softsign"), ("Selu", "selu"), ("LogSigmoid", "log_sigmoid"), ("TanhShrink", "tanh_shrink"),
        ("SparsePlus", "sparse_plus"), ("SparseSigmoid", "sparse_sigmoid"), ("Mish", "mish"),
        ("HardTanh", "hard_tanh"))},
    "Celu": lambda op, x: np.maximum(x, 0) + _c(op, "alpha", 1.0) * np.expm1(np.minimum(x, 0) / _c(op, "alpha", 1.0)),
    "Elu": lambda op, x: np.where(x > 0, x, _c(op, "alpha", 1.0) * np.expm1(np.minimum(x, 0))),
    "Gelu": lambda op, x: _gelu(x, op.config.get("approximate", True)),
    "Glu": lambda op, x: _glu(x, _c(op, "axis", -1)),
    "HardShrink": lambda op, x: np.where(np.abs(x) > _c(op, "threshold", 0.5), x, 0),
    "SoftShrink": lambda op, x: np.where(x > _c(op, "threshold", 0.5), x - _c(op, "threshold", 0.5),
                                         np.where(x < -_c(op, "threshold", 0.5), x + _c(op, "threshold", 0.5), 0)),
    "LeakyRelu": lambda op, x: np.where(x >= 0, x, _c(op, "negative_slope", 0.2) * x),
    "Softmax": lambda op, x: feature_kernels.softmax(x, _c(op, "axis", -1)),
    "LogSoftmax": lambda op, x: _log_softmax(x, _axes(_c(op, "axis", -1))),
    "Squareplus": lambda op, x: (x + np.sqrt(x * x + _c(op, "b", 4))) / 2,
    "Threshold": lambda op, x: np.where(x > op.config["threshold"], x, op.config["default_value"]),
    "Normalize": lambda op, x: _normalize(x, _axes(_c(op, "axis", -1)), _c(op, "order", 2), op.config.get("epsilon")),
}

# name -> (op, x) -> y in the input's own dtype (bool inputs of the arithmetic ones become int32 first)
SAME_UNARY: dict[str, Callable] = {
    "Abs": lambda op, x: np.abs(x), "Absolute": lambda op, x: np.abs(x),
    "Negative": lambda op, x: np.negative(x), "Square": lambda op, x: np.square(x),
    "Sign": lambda op, x: np.sign(x), "Trunc": lambda op, x: np.trunc(x) if x.dtype.kind == "f" else x,
    "Relu": lambda op, x: np.maximum(x, 0), "Relu6": lambda op, x: np.clip(x, 0, 6),
    "Copy": lambda op, x: x.copy(), "Conjugate": lambda op, x: x, "Real": lambda op, x: x,
    "Imag": lambda op, x: np.zeros_like(x), "StopGradient": lambda op, x: x,
    "Clip": lambda op, x: np.clip(x, op.config["x_min"], op.config["x_max"]).astype(x.dtype, copy=False),
    "Sort": lambda op, x: np.sort(x, axis=_c(op, "axis", -1)),
    "Flip": lambda op, x: np.flip(x, axis=_axes(op.config.get("axis"))),
    "Roll": lambda op, x: np.roll(x, _axes(op.config["shift"]), axis=_axes(op.config.get("axis"))),
    "Tril": lambda op, x: np.tril(x, _c(op, "k", 0)), "Triu": lambda op, x: np.triu(x, _c(op, "k", 0)),
    "NanToNum": lambda op, x: np.nan_to_num(x, nan=_c(op, "nan", 0.0), posinf=op.config.get("posinf"),
                                            neginf=op.config.get("neginf")),
}

BOOL_UNARY: dict[str, Callable] = {
    "LogicalNot": lambda x: ~_as(x, BOOL), "IsNan": np.isnan, "IsInf": np.isinf, "IsFinite": np.isfinite,
    "Isnan": np.isnan, "Isinf": np.isinf, "Isfinite": np.isfinite,
    "Signbit": lambda x: np.signbit(x) if x.dtype.kind != "b" else np.zeros(x.shape, bool),
}


def _round(op: Operation, x: np.ndarray) -> np.ndarray:
    """``ops.round``: half to even; with ``decimals``, ``round(x * 10**d) / 10**d`` (integers: only d < 0)."""
    decimals = _c(op, "decimals", 0)
    if decimals == 0:
        return np.round(x)
    if x.dtype.kind != "f":
        if decimals > 0:
            return x
        factor = np.asarray(10.0 ** decimals, FLOATX)
        return cast(np.round(x.astype(FLOATX) * factor) / factor, x.dtype.name)
    factor = np.asarray(10.0 ** decimals, x.dtype)
    return np.round(x * factor) / factor


def _cumulative(op: Operation, x: np.ndarray) -> np.ndarray:
    """``cumsum``/``cumprod`` along ``axis`` (None: the flattened tensor), in ``dtype`` if given."""
    name = _dtype_name(op.config.get("dtype"))
    dtype = DTYPES[name] if name else INT if x.dtype.kind == "b" else x.dtype
    function = np.cumsum if op.type_name == "Cumsum" else np.cumprod
    axis = op.config.get("axis")
    return function(x.reshape(-1) if axis is None else x, axis=0 if axis is None else axis, dtype=dtype)


def _elementwise(op: Operation, args: list, kwargs: dict):
    name = op.type_name
    x = _first(args, kwargs, "variable" if name == "StopGradient" else "x")
    if name == "Cast":
        return cast(x, _dtype_name(op.config["dtype"]))
    if name in ("ZerosLike", "OnesLike"):  # ops.zeros_like / ones_like: x's shape, the given dtype or x's
        dtype_name = _dtype_name(op.config.get("dtype"))
        return (np.zeros if name == "ZerosLike" else np.ones)(np.shape(x), DTYPES[dtype_name] if dtype_name
                                                                else np.asarray(x).dtype)
    if name in BOOL_UNARY:
        return BOOL_UNARY[name](x)
    if name == "Argsort":
        return np.argsort(x, axis=_c(op, "axis", -1), kind="stable").astype(INT)
    if name in ("Cumsum", "Cumprod"):
        return _cumulative(op, x)
    if name == "Round":
        return _round(op, x)
    if name in FLOAT_UNARY:
        # TF's floor and ceil give floatx for int64; every other integer follows result_type: float32
        x = _as(x, result_dtype([x], floating=True))
        return _as(FLOAT_UNARY[name](op, x), x.dtype)
    if x.dtype.kind == "b" and name not in ("Abs", "Absolute", "Trunc", "NanToNum", "Copy", "Conjugate", "Real",
                                           "StopGradient", "Flip", "Roll", "Tril", "Triu", "Sort", "Imag"):
        x = x.astype(INT)
    return SAME_UNARY[name](op, x)


# ---------------------------------------------------------------- binary


def _floor_divide(a, b):
    # TF's floordiv of floats is floor(a / b); NumPy's float // differs on inexact quotients
    return np.floor(a / b) if a.dtype.kind == "f" else np.floor_divide(a, b)


def _divide_no_nan(a, b):
    safe = np.where(b == 0, np.ones_like(b), b)
    return np.where(b == 0, np.zeros_like(a / safe), a / safe)


def _power(a, b):
    if a.dtype.kind in "iu":  # an integer to a negative integer power is 0 in TF (1 for 1, +-1 for -1)
        return np.where(b >= 0, a ** np.abs(b), np.where(np.abs(a) == 1, a ** (np.abs(b) % 2 + 2) // a, 0))
    return np.power(a, b)


# name -> (function, kind): "same" computes in the common dtype, "float" in floats, "bool" gives bool
BINARY_KERNELS: dict[str, tuple[Callable, str]] = {
    "Add": (np.add, "same"), "Subtract": (np.subtract, "same"), "Multiply": (np.multiply, "same"),
    "Divide": (np.divide, "float"), "TrueDivide": (np.divide, "float"), "FloorDivide": (_floor_divide, "same"),
    "Power": (_power, "same"), "Maximum": (np.maximum, "same"), "Minimum": (np.minimum, "same"),
    "Mod": (np.mod, "same"), "Arctan2": (np.arctan2, "float"), "Hypot": (np.hypot, "float"),
    "DivideNoNan": (_divide_no_nan, "float"),
    "Equal": (np.equal, "bool"), "NotEqual": (np.not_equal, "bool"), "Greater": (np.greater, "bool"),
    "GreaterEqual": (np.greater_equal, "bool"), "Less": (np.less, "bool"), "LessEqual": (np.less_equal, "bool"),
    "LogicalAnd": (np.logical_and, "logical"), "LogicalOr": (np.logical_or, "logical"),
    "LogicalXor": (np.logical_xor, "logical"),
}


def _binary(op: Operation, args: list, kwargs: dict):
    if op.type_name == "Where":
        condition, a, b = _bind(args, kwargs, ("condition", "x1", "x2"))
        if a is None or b is None:
            raise ConvcalcError("--run cannot execute ops.where with a condition alone: its output shape depends on "
                                "the values (the indices of the nonzero elements).")
        dtype = result_dtype([a, b])
        return np.where(_as(condition, BOOL), _as(a, dtype), _as(b, dtype))
    a, b = _bind(args, kwargs, ("x1", "x2"))
    if a is None and b is None:
        a, b = kwargs.get("x"), kwargs.get("y")
    function, kind = BINARY_KERNELS[op.type_name]
    if kind == "logical":
        return function(_as(a, BOOL), _as(b, BOOL))
    dtype = result_dtype([a, b], floating=kind == "float")
    if dtype.kind == "b" and kind == "same" and op.type_name not in ("Maximum", "Minimum", "Multiply"):
        dtype = INT
    return function(_as(a, dtype), _as(b, dtype))


# ---------------------------------------------------------------- reductions


def _norm(x: np.ndarray, ord: Any, axis: Any, keepdims: bool) -> np.ndarray:
    """``ops.norm``: NumPy's vector and matrix norms; ``axis=None`` with no ``ord`` is the 2-norm of all values."""
    if axis is None and ord is None:
        y = np.sqrt(np.sum(np.square(x)))
        return y.reshape((1,) * x.ndim) if keepdims else y
    if ord in ("fro", "nuc") or isinstance(ord, (int, float)) or ord is None:
        return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    raise ConvcalcError(f"ops.norm: ord={ord!r} is not a norm Keras knows.")


def _reduction(op: Operation, args: list, kwargs: dict) -> np.ndarray:
    name = op.type_name
    x = _first(args, kwargs)
    axis = _axes(_option(op, "axis", kwargs))
    keepdims = bool(_option(op, "keepdims", kwargs, False))
    if name in ("Any", "All"):
        return (np.any if name == "Any" else np.all)(_as(x, BOOL), axis=axis, keepdims=keepdims)
    if name == "Norm":
        return _norm(_as(x, result_dtype([x], floating=True)), _option(op, "ord", kwargs), axis, keepdims)
    if name in ("Max", "Min", "Amax", "Amin"):
        function = np.max if name in ("Max", "Amax") else np.min
        initial = op.config.get("initial")
        extra = {} if initial is None else {"initial": initial}
        return function(x, axis=axis, keepdims=keepdims, **extra)
    if name in ("Sum", "Nansum", "Prod"):
        requested = _dtype_name(op.config.get("dtype"))
        dtype = DTYPES[requested] if requested else {
            "b": INT, "i": INT if x.dtype.itemsize < 4 else x.dtype,
            "u": np.dtype(np.uint32) if x.dtype.itemsize < 4 else x.dtype}.get(x.dtype.kind, x.dtype)
        function = {"Sum": np.sum, "Nansum": np.nansum, "Prod": np.prod}[name]
        return function(_as(x, dtype), axis=axis, keepdims=keepdims, dtype=dtype)
    x = _as(x, result_dtype([x], floating=True))
    if name == "Logsumexp":
        top = np.max(x, axis=axis, keepdims=True)
        top = np.where(np.isfinite(top), top, 0)
        y = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
        return y if keepdims else np.squeeze(y, axis=axis if axis is not None else tuple(range(x.ndim)))
    function = {"Mean": np.mean, "Std": np.std, "Var": np.var, "Median": np.median, "Nanmean": np.nanmean}[name]
    return function(x, axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------- shapes and indexing


def _tensors_of(args: list, kwargs: dict, name: str) -> list:
    value = args[0] if args else kwargs.get(name)
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _concatenate(op, args, kwargs):
    xs = _tensors_of(args, kwargs, "xs")
    dtype = result_dtype(xs)
    return np.concatenate([_as(x, dtype) for x in xs], axis=_c(op, "axis", 0))


def _stack(op, args, kwargs):
    xs = _tensors_of(args, kwargs, "x")
    dtype = result_dtype(xs)
    return np.stack([_as(x, dtype) for x in xs], axis=_c(op, "axis", 0))


def _reshape(op, args, kwargs):
    new = op.config.get("newshape", op.config.get("new_shape", kwargs.get("newshape")))
    return _first(args, kwargs).reshape(tuple(new) if isinstance(new, (list, tuple)) else (new,))


def _expand_dims(op, args, kwargs):
    return np.expand_dims(_first(args, kwargs), _axes(op.config["axis"]))


def _squeeze(op, args, kwargs):
    x = _first(args, kwargs)
    axis = _axes(op.config.get("axis"))
    return np.squeeze(x) if axis is None else np.squeeze(x, axis=axis)


def _matmul(op, args, kwargs):
    a, b = _bind(args, kwargs, ("x1", "x2"))
    dtype = result_dtype([a, b])
    if dtype.kind == "b":
        dtype = INT
    return np.matmul(_as(a, dtype), _as(b, dtype))


def _index_key(key: Any) -> Any:
    """``GetItem``'s key as NumPy reads it: a list of indices is one multi-axis key (a tuple)."""
    keys = tuple(key) if isinstance(key, list) else key
    for k in keys if isinstance(keys, tuple) else (keys,):
        if not (k is None or k is Ellipsis or isinstance(k, slice) or isinstance(k, int)):
            raise ConvcalcError(f"--run executes x[...] with integers, slices, ... and None only; got {k!r}.")
    return keys


def _get_item(op, args, kwargs):
    x, key = _bind(args, kwargs, ("x", "key"))
    return np.asarray(x[_index_key(key)])


def _pad(op, args, kwargs):
    x, constant = _bind(args, kwargs, ("x", "constant_values"))
    width = op.config["pad_width"]
    width = [[width, width]] * x.ndim if isinstance(width, int) else [
        list(w) if isinstance(w, (list, tuple)) else [w, w] for w in width]
    if len(width) == 1:
        width = width * x.ndim
    mode = _c(op, "mode", "constant")
    if mode == "constant":
        return np.pad(x, width, mode="constant", constant_values=0 if constant is None else constant)
    return np.pad(x, width, mode=mode)


def _take(op, args, kwargs):
    x, indices = _bind(args, kwargs, ("x", "indices"))
    axis = op.config.get("axis")
    indices = np.asarray(indices)
    if indices.dtype.kind == "f":
        indices = indices.astype(INT)
    if axis is None:
        x, axis = x.reshape(-1), 0
    size = x.shape[axis]
    if np.any((indices < -size) | (indices >= size)):
        raise ConvcalcError(f"ops.take: an index is out of range for an axis of size {size}.")
    return np.take(x, indices, axis=axis)


def _tile(op, args, kwargs):
    return np.tile(_first(args, kwargs), _axes(op.config["repeats"]))


def _split(op, args, kwargs):
    parts = op.config["indices_or_sections"]
    return np.split(_first(args, kwargs), _axes(parts) if isinstance(parts, list) else parts,
                    axis=_c(op, "axis", 0))


def _unstack(op, args, kwargs):
    x = _first(args, kwargs)
    return list(np.moveaxis(x, _c(op, "axis", 0), 0))


def _einsum(op, args, kwargs):
    subscripts = op.config.get("subscripts")
    operands = [a for a in args if isinstance(a, np.ndarray)]
    if subscripts is None:
        subscripts = args[0]
    dtype = result_dtype(operands)
    return np.einsum(subscripts, *[_as(a, dtype) for a in operands], optimize=True)


def _broadcast_to(op, args, kwargs):
    return np.broadcast_to(_first(args, kwargs), tuple(op.config["shape"])).copy()


def _transpose(op, args, kwargs):
    return np.transpose(_first(args, kwargs), _axes(op.config.get("axes")))


def _arg_reduction(op, args, kwargs):
    x = _first(args, kwargs)
    axis = op.config.get("axis")
    keepdims = bool(op.config.get("keepdims", False))
    function = np.argmax if op.type_name == "Argmax" else np.argmin
    if axis is None:
        y = function(x.reshape(-1))
        return np.asarray(y, INT).reshape((1,) * x.ndim if keepdims else ())
    return function(x, axis=axis, keepdims=keepdims).astype(INT)


def _repeat(op, args, kwargs):
    repeats = op.config["repeats"]
    return np.repeat(_first(args, kwargs), _axes(repeats), axis=op.config.get("axis"))


def _one_hot(op, args, kwargs):
    """``ops.one_hot``: a new axis of ``num_classes``; negative or too large indices give all zeros."""
    x = _first(args, kwargs).astype(np.int64)
    classes = op.config["num_classes"]
    axis = _c(op, "axis", -1)
    dtype = DTYPES[_dtype_name(op.config.get("dtype")) or "float32"]
    y = (x[..., None] == np.arange(classes)).astype(dtype)
    return np.moveaxis(y, -1, axis if axis >= 0 else x.ndim + 1 + axis)


def _moments(op, args, kwargs):
    """``ops.moments``: mean, and variance about it (``tf.nn.moments``), over ``axes``."""
    x = _first(args, kwargs)
    x = _as(x, result_dtype([x], floating=True))
    axes = _axes(op.config["axes"])
    keepdims = bool(op.config.get("keepdims", False))
    mean = np.mean(x, axis=axes, keepdims=True)
    variance = np.mean(np.square(x - mean), axis=axes, keepdims=keepdims)
    return [mean if keepdims else np.squeeze(mean, axis=axes), variance]


def _pool(op, args, kwargs):
    """``ops.max_pool``/``ops.average_pool`` over every spatial axis; ``same`` padding as TF splits it."""
    x = _first(args, kwargs, "inputs")
    data_format = op.config.get("data_format") or "channels_last"
    rank = x.ndim - 2
    pool = op.config["pool_size"]
    strides = op.config.get("strides") or pool
    pool = (pool,) * rank if isinstance(pool, int) else tuple(pool)
    strides = (strides,) * rank if isinstance(strides, int) else tuple(strides)
    padding = (op.config.get("padding") or "valid").lower()
    axes = layer_kernels.spatial_axes(x.ndim, data_format)
    sides = [formulas.conv_padding(x.shape[a], k, s, padding) for a, k, s in zip(axes, pool, strides)]
    x = _as(x, result_dtype([x], floating=True))
    if op.type_name == "MaxPool":
        return layer_kernels.max_pool(x, pool, strides, sides, data_format)
    return layer_kernels.average_pool(x, pool, strides, sides, data_format)


# ---------------------------------------------------------------- image resize


def _resize(op, args, kwargs):
    """``ops.image.resize``: :func:`convcalc.image_kernels.resize` (the Resizing layer's kernel too); integer
    images become float32 first, except for ``nearest``, as ``tf.image.resize`` does. A rank-3 tensor is
    one image."""
    images = _first(args, kwargs, "images")
    c = op.config
    interpolation = _c(op, "interpolation", "bilinear")
    if interpolation != "nearest":
        images = _as(images, result_dtype([images], floating=True))
    single = images.ndim == 3
    y = image_kernels.resize(images[None] if single else images, tuple(c["size"]), interpolation,
                             bool(c.get("antialias", False)), c.get("data_format") or "channels_last",
                             bool(c.get("crop_to_aspect_ratio", False)), bool(c.get("pad_to_aspect_ratio", False)),
                             _c(op, "fill_value", 0.0))
    return y[0] if single else y


# ---------------------------------------------------------------- the table, refusals, entry point


OTHER_KERNELS: dict[str, Callable] = {
    "Concatenate": _concatenate, "Stack": _stack, "Reshape": _reshape, "Transpose": _transpose,
    "ExpandDims": _expand_dims, "Squeeze": _squeeze, "Matmul": _matmul, "BroadcastTo": _broadcast_to,
    "GetItem": _get_item, "Pad": _pad, "Take": _take, "Tile": _tile, "Split": _split, "Unstack": _unstack,
    "Einsum": _einsum, "AveragePool": _pool, "MaxPool": _pool, "Resize": _resize, "Argmax": _arg_reduction,
    "Argmin": _arg_reduction, "Repeat": _repeat, "OneHot": _one_hot, "Moments": _moments,
}
UNARY_NAMES = frozenset(FLOAT_UNARY) | frozenset(SAME_UNARY) | frozenset(BOOL_UNARY) | {
    "Cast", "Argsort", "Cumsum", "Cumprod", "Round", "ZerosLike", "OnesLike"}
PAD_MODES = ("constant", "edge", "linear_ramp", "maximum", "mean", "median", "minimum", "reflect", "symmetric",
             "wrap", "empty")


def _kernel(name: str) -> Callable | None:
    if name in UNARY_NAMES:
        return _elementwise
    if name in BINARY_KERNELS or name == "Where":
        return _binary
    if name in REDUCTIONS:
        return _reduction
    return OTHER_KERNELS.get(name)


def _dtype_refusal(op: Operation, key: str) -> str | None:
    name = _dtype_name(op.config.get(key))
    if name is not None and name not in DTYPES:
        return f"--run cannot execute ops.{op.type_name} with {key}={name!r}: NumPy kernels have no such dtype"
    return None


def operation_refusal(op: Operation) -> str | None:
    """Why ``--run`` cannot execute this operation node (said before the run starts), or None."""
    name, config = op.type_name, op.config
    if _kernel(name) is None:
        return f"--run does not execute the Keras operation {name} (ops.{name})"
    if name in ("Cast", "OneHot", "Cumsum", "Cumprod", "Prod", "Sum", "ZerosLike", "OnesLike"):
        reason = _dtype_refusal(op, "dtype")
        if reason or (name == "Cast" and _dtype_name(config.get("dtype")) is None):
            return reason or "--run cannot execute ops.cast without a dtype"
    if config.get("sparse"):
        return f"--run does not execute ops.{name} with sparse=True (a sparse tensor)"
    if config.get("synchronized"):
        return None  # synchronized moments only differ under a distribution strategy
    if name == "Resize":
        interpolation = config.get("interpolation") or "bilinear"
        if interpolation not in image_kernels.RESIZE_INTERPOLATIONS:
            return f"--run cannot execute ops.image.resize with interpolation={interpolation!r}"
        if (config.get("fill_mode") or "constant") != "constant":
            return f"--run cannot execute ops.image.resize with fill_mode={config.get('fill_mode')!r}"
    if name == "Pad" and (config.get("mode") or "constant") not in PAD_MODES:
        return f"--run cannot execute ops.pad with mode={config.get('mode')!r}"
    if name == "Norm" and config.get("ord") not in (None, "fro", "nuc") and not isinstance(config.get("ord"), (int, float)):
        return f"--run cannot execute ops.norm with ord={config.get('ord')!r}"
    if name == "Threshold" and not {"threshold", "default_value"} <= set(config):
        return "--run cannot execute ops.threshold without threshold and default_value in its config"
    if name == "Einsum" and not isinstance(config.get("subscripts"), str):
        return "--run cannot execute ops.einsum without its subscripts"
    return None


def run_operation(op: Operation, args: list, kwargs: dict) -> np.ndarray | list[np.ndarray]:
    """The values of one operation node: ``args``/``kwargs`` are the node's arguments with tensors as arrays.

    >>> from convcalc.operations import build_operation
    >>> run_operation(build_operation("Add", {}), [np.ones((1, 2), np.float32), 3.0], {})
    array([[4., 4.]], dtype=float32)
    >>> run_operation(build_operation("Argmax", {"axis": -1}), [np.array([[1., 5., 2.]])], {})
    array([1], dtype=int32)
    """
    reason = operation_refusal(op)
    if reason:
        raise ConvcalcError(reason + ".")
    try:
        with np.errstate(all="ignore"):  # overflow to inf and 0/0 to nan, as in TensorFlow: no warnings
            result = _kernel(op.type_name)(op, list(args), dict(kwargs))
    except (ValueError, IndexError, TypeError, np.exceptions.AxisError) as error:
        raise ConvcalcError(f"ops.{op.type_name} cannot run on these arguments: {error}.") from None
    # NumPy reductions to a scalar give NumPy scalars: every output is an array
    return [np.asarray(y) for y in result] if isinstance(result, list) else np.asarray(result)
