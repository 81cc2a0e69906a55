"""SPEC 7's figures per row of an evaluated graph: MACs, FLOPs, receptive field, memory; and the
trainable marker and share of parameters (issue 11).

Standard library only; the equations live in :mod:`convcalc.formulas`.  ``None`` means "not
defined" for the layer (pooling has no multiply-adds) or "unknown" (a size is None); totals tell
the two apart: an unknown figure makes its total unknown, an undefined one adds nothing.

The receptive field is computed per spatial axis, exactly, transposed convolutions included: for
each tensor, the smallest and largest input position reaching output position ``o`` are periodic
in ``o`` up to a shift (``lo(o + P) = lo(o) + shift``), so one period of ``o`` is enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import gcd, prod
from typing import Any, Callable, Iterable

from . import formulas
from .result import LayerRow, StackResult

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}

# layers with multiply-adds that convcalc does not count yet: their MACs are unknown, not undefined
UNCOUNTED = frozenset({"MultiHeadAttention", "Lambda", "matmul", "dot", "einsum", "tensordot", "conv",
                       "conv_transpose", "depthwise_conv", "separable_conv"})
# layers that work on each position alone: the receptive field passes through
POSITIONWISE = frozenset({
    "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU", "Dropout", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "Rescaling",
    "Identity", "ActivityRegularization", "Masking", "BatchNormalization", "Normalization", "LayerScale",
    "InputLayer",
})
CHANNEL_AXIS_LAYERS = frozenset({"LayerNormalization", "UnitNormalization", "Dense", "Softmax"})
WHOLE = frozenset({"Flatten", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
                   "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GroupNormalization"})
MAX_PERIOD = 1024  # a longer period (many stacked upsamplings) is reported as unknown
MAX_WORK = 200_000  # positions times taps per layer and axis; beyond, unknown


@dataclass(frozen=True)
class ReceptiveField:
    """Per spatial axis: ``size`` (largest span), ``jump`` (an int, or a Fraction below 1's grid),
    ``start`` (first input position of output 0); None where unknown or not defined."""

    size: tuple[int | None, ...]
    jump: tuple[Fraction | None, ...]
    start: tuple[int | None, ...]


@dataclass(frozen=True)
class RowDetails:
    macs: int | None
    flops: int | None
    receptive_field: ReceptiveField | None
    activation_bytes: int | None
    param_bytes: int
    trainable: bool | str  # True, False or "partly"
    params_percent: float | None
    macs_defined: bool = True  # False: the layer computes no multiply-adds (null, adds nothing to totals)


@dataclass(frozen=True)
class Details:
    dtype: str
    rows: tuple[RowDetails, ...]
    total_macs: int | None
    total_activation_bytes: int | None
    total_param_bytes: int

    @property
    def total_flops(self) -> int | None:
        return None if self.total_macs is None else 2 * self.total_macs


def compute_details(result: StackResult, dtype: str = "float32") -> Details:
    """Every row's figures and the totals, at ``dtype``.

    >>> from convcalc.stack import compute_stack
    >>> from convcalc.config import DataFormat
    >>> r = compute_stack(["Conv2D(10, 8, padding='same')"], DataFormat("channels_last", "default"), (32, 32, 3))
    >>> d = compute_details(r)
    >>> d.total_macs, d.rows[0].receptive_field.size, d.rows[0].activation_bytes
    (1966080, (8, 8), 40960)
    """
    size = DTYPE_BYTES[dtype]
    total = result.total_params
    fields = _receptive_fields(result)
    rows = []
    for row, field in zip(result.layers, fields):
        defined, macs = row_macs(row)
        rows.append(RowDetails(
            macs=macs, flops=None if macs is None else 2 * macs, receptive_field=field,
            activation_bytes=_activation_bytes(row.output_shape, size), param_bytes=row.params * size,
            trainable=_trainable(row), params_percent=None if total == 0 else round(100 * row.params / total, 2),
            macs_defined=defined,
        ))
    top = [d for row, d in zip(result.layers, rows) if row.depth == 0]
    total_macs: int | None = 0
    for d in top:
        if d.macs_defined:
            total_macs = None if d.macs is None or total_macs is None else total_macs + d.macs
    activations: int | None = 0
    for row, d in zip(result.layers, rows):
        if row.depth == 0 and row.type != "InputLayer":
            activations = None if d.activation_bytes is None or activations is None else activations + d.activation_bytes
    return Details(dtype, tuple(rows), total_macs, activations, result.total_params * size)


def _trainable(row: LayerRow) -> bool | str:
    if row.params == 0:
        return bool(row.layer.args.get("trainable", True)) if row.layer is not None and hasattr(row.layer, "args") else True
    if row.non_trainable_params == 0:
        return True
    return False if row.trainable_params == 0 else "partly"


def _activation_bytes(shape, size: int) -> int | None:
    """One output's bytes (the batch, or 1 when unknown); several outputs add up."""
    if isinstance(shape, dict):
        shape = list(shape.values())
    if isinstance(shape, list):
        parts = [_activation_bytes(s, size) for s in shape]
        return None if None in parts else sum(parts)
    if not isinstance(shape, tuple) or not shape:
        return None
    batch, rest = shape[0], shape[1:]
    if None in rest or not all(isinstance(n, int) for n in rest):
        return None
    return (batch if isinstance(batch, int) else 1) * prod(rest) * size


# --------------------------------------------------------------------------
# MACs
# --------------------------------------------------------------------------


def _spatial(shape, data_format: str, rank: int):
    """``(spatial sizes, channels)`` of a batched shape; None when a spatial size is unknown."""
    body = shape[1:]
    spatial, channels = (body[:-1], body[-1]) if data_format != "channels_first" else (body[1:], body[0])
    if len(spatial) != rank or None in spatial:
        return None, channels
    return tuple(spatial), channels


def row_macs(row: LayerRow) -> tuple[bool, int | None]:
    """``(defined, macs)`` per sample: ``(False, None)`` for layers without multiply-adds, ``(True, None)``
    when they depend on an unknown size."""
    layer, kind = row.layer, row.type
    if layer is None:  # an input, or a nested model (its MACs are its rows', shown with --expand-nested)
        return (kind != "InputLayer", None)
    if kind in UNCOUNTED:
        return (True, None)
    args = _conv_args(layer)
    family = _family(layer)
    if family is None and kind != "Dense":
        return (False, None)
    if not isinstance(row.input_shape, tuple) or not isinstance(row.output_shape, tuple):
        return (True, None)
    if kind == "Dense":
        leading, features = row.output_shape[1:-1], row.input_shape[-1]
        if None in leading or features is None:
            return (True, None)
        return (True, formulas.dense_macs(tuple(leading), features, args["units"]))
    rank = len(args["kernel_size"])
    out, _ = _spatial(row.output_shape, row.data_format, rank)
    inp, channels = _spatial(row.input_shape, row.data_format, rank)
    if channels is None:
        return (True, None)
    if family == "transpose":  # groups (PyTorch's) split the filters among the input channels
        return (True, None if inp is None else
                formulas.conv_transpose_macs(inp, channels, args["kernel_size"], args["filters"] // args.get("groups", 1)))
    if out is None:
        return (True, None)
    if family == "conv":
        return (True, formulas.conv_macs(out, args["filters"], args["kernel_size"], channels, args["groups"]))
    depthwise = formulas.depthwise_macs(out, channels, args["depth_multiplier"], args["kernel_size"])
    if family == "depthwise":
        return (True, depthwise)
    return (True, depthwise + formulas.pointwise_macs(out, channels * args["depth_multiplier"], args["filters"]))


def _conv_args(layer) -> dict:
    """The layer's arguments under Keras's names (a PyTorch layer maps its own: ``conv_args``)."""
    return getattr(layer, "conv_args", None) or getattr(layer, "args", None) or {}


def _family(layer) -> str | None:
    if getattr(layer, "conv_family", None):
        return layer.conv_family
    names = [cls.__name__ for cls in type(layer).__mro__]
    for base, family in (("_Transpose", "transpose"), ("_Convolution", "conv"), ("_Depthwise", "depthwise"),
                         ("_Separable", "separable")):
        if base in names:
            return family
    return None


# --------------------------------------------------------------------------
# Receptive field
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Axis:
    """For one spatial axis of a tensor: ``lo(o)``, ``hi(o)``, the first and last model-input position
    reaching position ``o``, as ``lo(q*period + r) = lo[r] + q*shift`` (None: no input position)."""

    period: int
    shift: int
    lo: tuple[int | None, ...]
    hi: tuple[int | None, ...]

    def at(self, o: int) -> tuple[int, int] | None:
        q, r = divmod(o, self.period)
        if self.lo[r] is None:
            return None
        return self.lo[r] + q * self.shift, self.hi[r] + q * self.shift

    def field(self) -> tuple[int | None, Fraction, int | None]:
        spans = [h - l + 1 for l, h in zip(self.lo, self.hi) if l is not None]
        return (max(spans) if spans else None), Fraction(self.shift, self.period), self.lo[0]


IDENTITY = _Axis(1, 1, (0,), (0,))
# an axis state is an _Axis, "whole" (every input position: after Flatten, global pooling) or None (unknown)


def _step(axes: list, period: int, m: int, taps: Callable[[int], Iterable[int]]):
    """The next layer's axis from its input's: output ``o`` reads input positions ``taps(o)``, and
    ``taps(o + period*new) = taps(o) + m*period_in``."""
    if not isinstance(axes, _Axis):
        return axes
    new_period = period
    if new_period > MAX_PERIOD:
        return None
    lo, hi = [], []
    for o in range(new_period):
        reached = [axes.at(p) for p in taps(o)]
        reached = [pair for pair in reached if pair is not None]
        lo.append(min(a for a, _ in reached) if reached else None)
        hi.append(max(b for _, b in reached) if reached else None)
    return _reduced(_Axis(new_period, m * axes.shift, tuple(lo), tuple(hi)))


def _reduced(axis: _Axis) -> _Axis:
    """The same map with its smallest period."""
    p = axis.period
    for q in range(1, p):
        if p % q or (axis.shift * q) % p:
            continue
        d = axis.shift * q // p
        if all(_shifted(axis.lo[r], d) == axis.lo[r + q] and _shifted(axis.hi[r], d) == axis.hi[r + q]
               for r in range(p - q)):
            return _Axis(q, d, axis.lo[:q], axis.hi[:q])
    return axis


def _shifted(value, d):
    return None if value is None else value + d


def _merge(states: list) -> Any:
    """Several inputs (Add, Concatenate on channels): the union of their receptive fields."""
    if any(s is None for s in states):
        return None
    if any(s == "whole" for s in states):
        return "whole"
    jumps = {Fraction(s.shift, s.period) for s in states}
    if len(jumps) != 1:
        return None
    period = 1
    for s in states:
        period = period * s.period // gcd(period, s.period)
    if period > MAX_PERIOD:
        return None
    lo, hi = [], []
    for o in range(period):
        pairs = [p for p in (s.at(o) for s in states) if p is not None]
        lo.append(min(a for a, _ in pairs) if pairs else None)
        hi.append(max(b for _, b in pairs) if pairs else None)
    shift = jumps.pop() * period
    return _reduced(_Axis(period, int(shift), tuple(lo), tuple(hi)))


def _layer_axes(row: LayerRow, states: list, rank: int, model_rank: int) -> list:
    """The row's output axes from its input's (``states``: per input, a list of axis states)."""
    kind, layer = row.type, row.layer
    args = _conv_args(layer)
    out = row.output_shape
    if not states or isinstance(out, (list, dict)) or not isinstance(out, tuple):
        return [None] * rank
    if kind in WHOLE or len(out) != model_rank:
        return ["whole"] * rank
    if len(states) > 1 or getattr(layer, "multiple_inputs", False):
        if kind == "Concatenate" and (args.get("axis", -1) % model_rank) != _channel_axis(row, model_rank):
            return ["whole"] * rank
        return [_merge([s[axis] for s in states]) for axis in range(rank)]
    axes = states[0]
    if kind in CHANNEL_AXIS_LAYERS:
        axis = args.get("axis", -1)
        return list(axes) if _is_channel(axis, row, model_rank) else ["whole"] * rank
    if kind in POSITIONWISE:
        return list(axes)
    family = _family(layer) if layer is not None else None
    pads = row.padding
    result = []
    for axis in range(rank):
        state = axes[axis]
        if not isinstance(state, _Axis):
            result.append(state)
            continue
        if family is not None or kind.startswith(("MaxPooling", "AveragePooling")):
            if pads is None or pads[axis] is None:
                result.append(None)
                continue
            before = pads[axis][0]
            if family is not None:
                k, s, d = args["kernel_size"][axis], args["strides"][axis], args["dilation_rate"][axis]
            else:
                k = args["pool_size"][axis]
                s, d = (args["strides"] or args["pool_size"])[axis], 1
            if family == "transpose":
                result.append(_work(state, k, s * state.period, lambda o, k=k, s=s, b=before, d=d:
                                    formulas.conv_transpose_taps(o, k, s, b, d), 1))
            else:
                g = gcd(state.period, s)
                result.append(_work(state, k, state.period // g, lambda o, k=k, s=s, b=before, d=d:
                                    formulas.conv_taps(o, k, s, b, d), s // g))
        elif kind.startswith("UpSampling"):
            u = args["size"][axis]
            bilinear = args.get("interpolation", "nearest") == "bilinear"
            result.append(_work(state, 2, u * state.period, lambda o, u=u, b=bilinear:
                                formulas.upsampling_taps(o, u, b), 1))
        elif kind.startswith("ZeroPad"):  # ZeroPadding1D/2D/3D, and PyTorch's ZeroPad2d
            before = row.padding[axis][0] if kind == "ZeroPad2d" else args["padding"][axis][0]
            result.append(_step(state, state.period, 1, lambda o, b=before: (o - b,)))
        elif kind.startswith("Cropping"):
            before = args["cropping"][axis][0]
            result.append(_step(state, state.period, 1, lambda o, b=before: (o + b,)))
        else:
            result.append(None)
    return result


def _work(state: _Axis, taps: int, period: int, function, m: int):
    if period > MAX_PERIOD or period * taps > MAX_WORK:
        return None
    return _step(state, period, m, function)


def _channel_axis(row: LayerRow, model_rank: int) -> int:
    return 1 if row.data_format == "channels_first" else model_rank - 1


def _is_channel(axis, row: LayerRow, model_rank: int) -> bool:
    if isinstance(axis, (list, tuple)):
        return len(axis) == 1 and _is_channel(axis[0], row, model_rank)
    return isinstance(axis, int) and axis % model_rank == _channel_axis(row, model_rank)


def _input_shapes(result: StackResult) -> list:
    shape = result.input_shape
    if isinstance(shape, dict):
        return list(shape.values())
    return list(shape) if isinstance(shape, list) else [shape]


def _receptive_fields(result: StackResult) -> list[ReceptiveField | None]:
    """Each row's receptive field relative to the model's input, or None (no spatial axes, nested rows)."""
    spatial, maps = receptive_maps(result)
    return [None if axes is None else _field(axes, spatial) for axes in maps]


def receptive_maps(result: StackResult) -> tuple[tuple, list]:
    """The model input's spatial sizes, and per row its axes' maps: an ``_Axis`` (``.at(o)`` gives the
    first and last input position reaching output ``o``), ``"whole"``, or None (unknown); a row
    without spatial axes to follow (nested rows, models without spatial input) is None."""
    inputs = _input_shapes(result)
    first = inputs[0] if inputs and isinstance(inputs[0], tuple) else None
    if first is None or len(first) < 3:
        return (), [None] * len(result.layers)
    model_rank, rank = len(first), len(first) - 2
    fmt = result.data_format.value
    spatial = first[1:-1] if fmt != "channels_first" else first[2:]
    by_name: dict[str, list] = {}
    previous = [IDENTITY] * rank
    fields: list = []
    for row in result.layers:
        if row.depth:
            fields.append(None)
            continue
        if row.type == "InputLayer":
            states = [[IDENTITY] * rank]
        elif row.connected_to:
            states = [by_name.get(name) for name in row.connected_to]
            states = [s if s is not None else [None] * rank for s in states]
        else:
            states = [previous]
        axes = _layer_axes(row, states, rank, model_rank)
        by_name[row.name] = axes
        previous = axes
        fields.append(axes)
    return spatial, fields


def _field(axes: list, spatial) -> ReceptiveField:
    size, jump, start = [], [], []
    for axis, n in zip(axes, spatial):
        if axis == "whole":
            size.append(n)
            jump.append(None)
            start.append(0)
        elif axis is None:
            size.append(None)
            jump.append(None)
            start.append(None)
        else:
            s, j, b = axis.field()
            size.append(s)
            jump.append(j)
            start.append(b)
    return ReceptiveField(tuple(size), tuple(jump), tuple(start))


def jump_value(jump: Fraction | None):
    """A jump for JSON: an int, or ``"a/b"`` when it is not whole.

    >>> jump_value(Fraction(2)), jump_value(Fraction(1, 2)), jump_value(None)
    (2, '1/2', None)
    """
    if jump is None:
        return None
    return int(jump) if jump.denominator == 1 else f"{jump.numerator}/{jump.denominator}"


def field_dict(field: ReceptiveField | None) -> dict[str, list] | None:
    if field is None:
        return None
    return {"size": list(field.size), "jump": [jump_value(j) for j in field.jump], "start": list(field.start)}


def field_text(field: ReceptiveField | None) -> str:
    """Compact text for tables: ``7x7 /2 @-2`` (size, jump, start per axis, axes joined by ``x``
    where they differ), ``-`` when undefined.

    >>> field_text(ReceptiveField((7, 7), (Fraction(2), Fraction(2)), (-2, -2)))
    '7x7 /2 @-2'
    >>> field_text(ReceptiveField((3, 5), (Fraction(1, 2), Fraction(1)), (0, -1)))
    '3x5 /1/2x1 @0x-1'
    """
    if field is None:
        return "-"
    if all(j is None for j in field.jump) and all(b == 0 for b in field.start):  # after Flatten, global pooling
        return "x".join("?" if v is None else str(v) for v in field.size) + " (all)"

    def axes(values, text=str) -> str:
        shown = ["?" if v is None else text(v) for v in values]
        return shown[0] if len(set(shown)) == 1 else "x".join(shown)

    size = "x".join("?" if v is None else str(v) for v in field.size)
    return f"{size} /{axes(field.jump, lambda j: str(jump_value(j)))} @{axes(field.start)}"
