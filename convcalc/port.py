"""``convcalc port``: the same layers in the other framework, Keras <-> PyTorch (SPEC 8).

:func:`port_stack` reads a stack of Keras layers (Conv2D, Conv2DTranspose,
ZeroPadding2D, Cropping2D) or of PyTorch layers (nn.Conv2d, nn.ConvTranspose2d,
nn.ZeroPad2d) and writes the layers of the other framework that give the same
output shape and, with each kernel permuted as ``kernel_transform`` says, the
same numbers.  Both sides are computed by convcalc's own layers and compared:
a port whose shapes disagree is a bug (exit 3).  The rules:

- Padding is compared per side, as the padding of the equivalent direct
  convolution (SPEC 1 and 8).  Keras ``padding='same'`` pads the odd pixel
  bottom/right; PyTorch's integer padding is symmetric, so an asymmetric split
  becomes ``nn.ZeroPad2d((left, right, top, bottom))`` before ``nn.Conv2d``,
  and PyTorch padding Keras's "same" does not give becomes ``ZeroPadding2D``
  before a "valid" ``Conv2D``.
- A transposed layer's ``(padding, output_padding)`` follow from its per-side
  padding; what PyTorch cannot crop is cropped after it (``nn.ZeroPad2d`` with
  negative amounts), what Keras cannot is cropped by ``Cropping2D``.
- PyTorch's stride with dilation, which Keras refuses, becomes a stride-1 ``Conv2D`` then
  ``MaxPooling2D(1, strides=...)``, which keeps every stride-th output.
- PyTorch is NCHW: a channels_last Keras input ``HxWxC`` is ``CxHxW`` there.

:func:`check_port` runs both sides on a random input with convcalc's kernels
(NumPy, imported only then).  Standard library only otherwise; the views are in
``convcalc.port_view``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import formulas
from .config import DataFormat
from .errors import ConvcalcError, ExitCode
from .registry import TORCH_PREFIXES

KERAS, TORCH = "keras", "torch"
FRAMEWORKS = {KERAS: "Keras", TORCH: "PyTorch"}
KERAS_TYPES = ("Conv2D", "Conv2DTranspose", "ZeroPadding2D", "Cropping2D")
TORCH_TYPES = ("Conv2d", "ConvTranspose2d", "ZeroPad2d")
# np.transpose axes between the layouts: Keras (kh, kw, in/groups, out) and (kh, kw, out, in) <->
# PyTorch (out, in/groups, kh, kw) and (in, out/groups, kh, kw): one permutation each way for both kinds
KERAS_TO_TORCH = (3, 2, 0, 1)
TORCH_TO_KERAS = (2, 3, 1, 0)


class PortMismatch(ConvcalcError):
    """The ported layers do not give the source's shape: a bug in convcalc."""

    exit_code = ExitCode.INCONSISTENT


@dataclass(frozen=True)
class WeightMap:
    """One source weight and where it goes: ``target_layer/target_weight = np.transpose(source, axes)``."""

    source: str  # "<layer name>/<weight name>"
    target: str
    axes: tuple[int, ...] | None  # None: the same array (a bias)


@dataclass(frozen=True)
class Port:
    """A stack and its port: specs, shapes (without the batch) in each framework's layout, weights."""

    source: str
    target: str
    specs: tuple[str, ...]
    layers: tuple[str, ...]
    kernel_transform: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    target_input_shape: tuple[int, ...]
    target_output_shape: tuple[int, ...]
    source_format: str
    target_format: str
    notes: tuple[str, ...] = ()
    weights: tuple[WeightMap, ...] = ()
    results: tuple = field(default=(), compare=False, repr=False)  # (source StackResult, target StackResult)


def framework_of(spec: str) -> str:
    """``torch`` for ``nn.``/``torch.nn.`` calls, else ``keras``."""
    from .parse import parse_call

    return TORCH if parse_call(spec).prefix in TORCH_PREFIXES else KERAS


def port_stack(specs: list[str], to: str, input_shape: tuple[int, ...], data_format: DataFormat) -> Port:
    """Port ``specs`` (all Keras or all PyTorch) to ``to``; ``input_shape`` without the batch, in the
    source's layout (``data_format`` decides a Keras source's; a Keras target is channels_last unless
    ``data_format`` came from ``--data-format channels_first``).

    >>> from convcalc.config import DataFormat
    >>> port = port_stack(["Conv2D(64, 7, strides=2, padding='same')"], "torch", (224, 224, 3),
    ...                   DataFormat("channels_last", "default"))
    >>> port.layers, port.target_output_shape
    (('nn.ZeroPad2d((2, 3, 2, 3))', 'nn.Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2))'), (64, 112, 112))
    """
    from .stack import compute_stack

    if to not in FRAMEWORKS:
        raise ConvcalcError(f"--to must be torch or keras; got {to!r}.")
    if not specs:
        raise ConvcalcError("port needs a layer spec, such as \"Conv2D(64, 7, strides=2, padding='same')\".")
    kinds = {framework_of(spec) for spec in specs}
    if len(kinds) > 1:
        raise ConvcalcError("port takes layers of one framework: every spec Keras, or every spec PyTorch (nn.*).")
    source = kinds.pop()
    if source == to:
        raise ConvcalcError(f"the specs are already {FRAMEWORKS[to]} layers; --to {to} ports nothing "
                            f"(use --to {KERAS if to == TORCH else TORCH}).")
    result = compute_stack(list(specs), data_format, tuple(input_shape))
    rows = [row for row in result.layers if row.type != "InputLayer"]
    known = KERAS_TYPES if source == KERAS else TORCH_TYPES
    for row in rows:
        if row.type not in known:
            raise ConvcalcError(f"layer {row.index} {row.spec}: port converts {', '.join(known)}; "
                                f"not {row.type}.")
    keras_format = "channels_first" if (to == KERAS and data_format.value == "channels_first"
                                        and data_format.source == "--data-format") else "channels_last"
    convert = _to_torch if to == TORCH else lambda row: _to_keras(row, keras_format)
    layers, owners = [], []
    for row in rows:
        try:
            ported, conv_at = convert(row)
        except ConvcalcError as error:
            raise ConvcalcError(f"layer {row.index} {row.spec}: {error.message}") from None
        owners.append((row, len(layers) + conv_at if conv_at is not None else None))
        layers.extend(ported)
    source_format = rows[0].data_format if rows else data_format.value
    target_format = "channels_first" if to == TORCH else keras_format
    target_input = _relayout(tuple(input_shape), source_format, target_format)
    target = compute_stack(layers, DataFormat(target_format, "port"), target_input)
    output = tuple(result.output_shape[1:])
    target_output = tuple(target.output_shape[1:])
    if _relayout(output, source_format, target_format) != target_output:
        raise PortMismatch(f"the ported layers give {target_output} but the source gives {output}; "
                           "this is a bug in convcalc, please report it.")
    target_rows = [row for row in target.layers if row.type != "InputLayer"]
    weights = tuple(_weight_maps(owners, target_rows, to))
    notes = _notes(source, source_format, target_format, tuple(input_shape), target_input)
    return Port(source, to, tuple(specs), tuple(layers), kernel_transform(owners, to), tuple(input_shape), output,
                target_input, target_output, source_format, target_format, notes, weights, (result, target))


def _relayout(shape: tuple, source_format: str, target_format: str) -> tuple:
    """A (height, width, channels) shape as (channels, height, width) or back."""
    if source_format == target_format:
        return shape
    if target_format == "channels_first":
        return (shape[-1], *shape[:-1])
    return (*shape[1:], shape[0])


def _notes(source: str, source_format: str, target_format: str, shape: tuple, target_shape: tuple) -> tuple[str, ...]:
    if source_format == target_format:
        return ()
    text = "x".join(map(str, shape))
    target_text = "x".join(map(str, target_shape))
    if target_format == "channels_first":
        return (f"PyTorch is NCHW: the channels_last input {text} is {target_text} there "
                "(x_torch = np.transpose(x_keras, (0, 3, 1, 2)), and the output back with (0, 2, 3, 1)).",)
    return (f"the Keras layers are channels_last: the NCHW input {text} is {target_text} there "
            "(x_keras = np.transpose(x_torch, (0, 2, 3, 1)), and the output back with (0, 3, 1, 2)).",)


# --------------------------------------------------------------------------
# Writing specs
# --------------------------------------------------------------------------


def _pair_text(pair: tuple[int, int]) -> str:
    return f"({pair[0]}, {pair[1]})"


def _argument(pair: tuple[int, int]) -> str:
    """``3`` for (3, 3), else ``(3, 1)``."""
    return str(pair[0]) if pair[0] == pair[1] else _pair_text(pair)


def zero_pad2d(pads) -> str:
    """``nn.ZeroPad2d((left, right, top, bottom))`` from ``((top, bottom), (left, right))``."""
    (top, bottom), (left, right) = pads
    return f"nn.ZeroPad2d(({left}, {right}, {top}, {bottom}))"


def _sides_text(pads) -> str:
    """Keras's ZeroPadding2D/Cropping2D argument, in its shortest exact form."""
    (top, bottom), (left, right) = pads
    if top == bottom and left == right:
        return _argument((top, left))
    return f"(({top}, {bottom}), ({left}, {right}))"


# --------------------------------------------------------------------------
# Keras -> PyTorch
# --------------------------------------------------------------------------


def _to_torch(row) -> tuple[list[str], int | None]:
    """The PyTorch layers of one Keras row, and the position of the one holding its weights."""
    a = row.layer.args
    if row.type == "ZeroPadding2D":
        return [zero_pad2d(row.padding)], None
    if row.type == "Cropping2D":
        return [zero_pad2d(tuple((-b, -e) for b, e in row.cropping))], None
    _plain_convolution(row)
    channels = row.input_shape[1] if row.data_format == "channels_first" else row.input_shape[-1]
    common = [f"kernel_size={_pair_text(a['kernel_size'])}"]
    if a["strides"] != (1, 1):
        common.append(f"stride={_pair_text(a['strides'])}")
    if row.type == "Conv2D":
        return _conv_to_torch(row, channels, common)
    return _transpose_to_torch(row, channels, common)


def _plain_convolution(row) -> None:
    """What nn.Conv2d has no place for: an activation, LoRA adapters."""
    a = row.layer.args
    if a.get("activation") not in (None, "linear"):
        raise ConvcalcError(f"activation={a['activation']!r} is a separate module in PyTorch; port the layer "
                            "without activation= and apply the activation after it (nn.ReLU() for 'relu').")
    if a.get("lora_rank"):
        raise ConvcalcError("a LoRA layer's kernel is kernel + lora_kernel_a @ lora_kernel_b; merge it and port "
                            "the layer without lora_rank=.")


def _tail(a) -> list[str]:
    """Dilation, groups and bias as PyTorch keywords, when not their defaults."""
    parts = []
    if a["dilation_rate"] != (1, 1):
        parts.append(f"dilation={_argument(a['dilation_rate'])}")
    if a.get("groups", 1) != 1:
        parts.append(f"groups={a['groups']}")
    if not a["use_bias"]:
        parts.append("bias=False")
    return parts


def _conv_to_torch(row, channels: int, common: list[str]) -> tuple[list[str], int]:
    """Symmetric padding is nn.Conv2d's ``padding``; an asymmetric split ("same", odd total) a ZeroPad2d before."""
    a = row.layer.args
    pads = row.padding
    layers = []
    if any(b != e for b, e in pads):
        layers.append(zero_pad2d(pads))
    elif any(b for b, _ in pads):
        common.append(f"padding={_argument(tuple(b for b, _ in pads))}")
    layers.append(f"nn.Conv2d({channels}, {a['filters']}, {', '.join(common + _tail(a))})")
    return layers, len(layers) - 1


def _transpose_to_torch(row, channels: int, common: list[str]) -> tuple[list[str], int]:
    """``(padding, output_padding)`` from the per-side padding; a negative output_padding (Keras pads less
    after than before) becomes a crop after the layer: ``nn.ZeroPad2d`` with negative amounts."""
    a = row.layer.args
    paddings, extras, crops = [], [], []
    for k, s, d, (before, after) in zip(a["kernel_size"], a["strides"], a["dilation_rate"], row.padding):
        padding, extra = formulas.torch_conv_transpose_arguments(k, before, after, d)
        crop = max(-extra, 0)
        extra = max(extra, 0)
        if padding < 0 or extra >= max(s, d):  # pragma: no cover - Keras's own rules keep both in range
            raise PortMismatch(f"no PyTorch padding gives the per-side padding ({before}, {after}); "
                               "this is a bug in convcalc, please report it.")
        paddings.append(padding)
        extras.append(extra)
        crops.append(crop)
    if any(paddings):
        common.append(f"padding={_argument(tuple(paddings))}")
    if any(extras):
        common.append(f"output_padding={_argument(tuple(extras))}")
    layers = [f"nn.ConvTranspose2d({channels}, {a['filters']}, {', '.join(common + _tail(a))})"]
    if any(crops):
        layers.append(zero_pad2d(((0, -crops[0]), (0, -crops[1]))))
    return layers, 0


# --------------------------------------------------------------------------
# PyTorch -> Keras
# --------------------------------------------------------------------------


def _to_keras(row, keras_format: str) -> tuple[list[str], int | None]:
    """The Keras layers of one PyTorch row, and the position of the one holding its weights."""
    a = row.layer.args
    fmt = ", data_format='channels_first'" if keras_format == "channels_first" else ""
    if row.type == "ZeroPad2d":
        return _keras_sides(row.padding, fmt), None
    both = max(a["stride"]) > 1 and max(a["dilation"]) > 1
    if both and row.type != "Conv2d":
        raise ConvcalcError(f"Keras refuses strides > 1 together with dilation_rate > 1, so stride={a['stride']} "
                            f"with dilation={a['dilation']} has no Keras equivalent.")
    stride = (1, 1) if both else a["stride"]
    common = [f"{a['out_channels']}", _pair_text(a["kernel_size"])]
    if stride != (1, 1):
        common.append(f"strides={_pair_text(stride)}")
    tail = []
    if a["dilation"] != (1, 1):
        tail.append(f"dilation_rate={_argument(a['dilation'])}")
    if a["groups"] != 1:
        tail.append(f"groups={a['groups']}")
    if not a["bias"]:
        tail.append("use_bias=False")
    if fmt:
        tail.append(fmt.lstrip(", "))
    if row.type == "Conv2d":
        layers, at = _conv_to_keras(row, common, tail, fmt, stride)
        if both:  # Keras refuses strides with dilation: stride 1, then keep every stride-th output
            layers.append(f"MaxPooling2D(1, strides={_pair_text(a['stride'])}{fmt})")
        return layers, at
    return _transpose_to_keras(row, common, tail, fmt)


def _keras_sides(pads, fmt: str) -> list[str]:
    """ZeroPadding2D for the positive amounts, Cropping2D for the negative ones."""
    grow = tuple((max(b, 0), max(e, 0)) for b, e in pads)
    cut = tuple((max(-b, 0), max(-e, 0)) for b, e in pads)
    layers = []
    if any(b or e for b, e in cut):
        layers.append(f"Cropping2D({_sides_text(cut)}{fmt})")
    if any(b or e for b, e in grow) or not layers:
        layers.append(f"ZeroPadding2D({_sides_text(grow)}{fmt})")
    return layers


def _conv_to_keras(row, common: list[str], tail: list[str], fmt: str, stride: tuple[int, int]) -> tuple[list[str], int]:
    """'valid' without padding; 'same' where Keras's split equals PyTorch's at stride 1 (then for every
    input size); else ZeroPadding2D then 'valid'.  Keras pads with zeros only."""
    a = row.layer.args
    pads = row.padding
    padded = any(b or e for b, e in pads)
    if padded and a["padding_mode"] != "zeros":
        raise ConvcalcError(f"padding_mode={a['padding_mode']!r} cannot be expressed with Keras layers: Keras pads "
                            "with zeros only (ZeroPadding2D, padding='same').")
    spatial = row.input_shape[2:]
    same = all(formulas.conv_padding(n, k, 1, "same", d) == pad
               for n, k, d, pad in zip(spatial, a["kernel_size"], a["dilation"], pads))
    layers = []
    if padded and stride == (1, 1) and same:
        common.append("padding='same'")
    elif padded:
        layers.append(f"ZeroPadding2D({_sides_text(pads)}{fmt})")
    layers.append(f"Conv2D({', '.join(common + tail)})")
    return layers, len(layers) - 1


def _transpose_to_keras(row, common: list[str], tail: list[str], fmt: str) -> tuple[list[str], int]:
    """A Keras padding/output_padding with the same per-side padding, else 'valid' then Cropping2D."""
    a = row.layer.args
    if a["groups"] != 1:
        raise ConvcalcError(f"Keras's Conv2DTranspose has no groups, so groups={a['groups']} has no Keras "
                            "equivalent.")
    tail = [t for t in tail if not t.startswith("groups=")]
    axes = list(zip(a["kernel_size"], a["stride"], a["dilation"], row.padding))
    for padding in ("valid", "same"):
        choices = [_keras_output_padding(k, s, d, padding, pad) for k, s, d, pad in axes]
        if all(choice is not False for choice in choices):
            extra = [] if padding == "valid" else ["padding='same'"]
            if any(choice is not None for choice in choices):
                defaults = [formulas.default_output_padding(k, s, d) if padding == "valid" else None
                            for k, s, d, _ in axes]
                values = tuple(c if c is not None else defaults[i] for i, c in enumerate(choices))
                if None not in values:
                    extra.append(f"output_padding={_argument(values)}")
                else:
                    continue  # one axis needs None, the other a number: Keras takes one or the other
            return [f"Conv2DTranspose({', '.join(common + extra + tail)})"], 0
    # 'valid' with output_padding, then crop: PyTorch crops `padding` before and `padding - output_padding` after
    extras, crops = [], []
    for (k, s, d, (before, after)), p, op in zip(axes, a["padding"], a["output_padding"]):
        extra = max(op - p, 0)
        if extra >= s:
            raise ConvcalcError(f"output_padding={a['output_padding']} reaches past what Keras can add: its "
                                "output_padding must be smaller than strides.")
        extras.append(extra)
        crops.append((p, p - op + extra))
    defaults = tuple(formulas.default_output_padding(k, s, d) for k, s, d, _ in axes)
    extra = [] if tuple(extras) == defaults else [f"output_padding={_argument(tuple(extras))}"]
    layers = [f"Conv2DTranspose({', '.join(common + extra + tail)})"]
    if any(b or e for b, e in crops):
        layers.append(f"Cropping2D({_sides_text(crops)}{fmt})")
    return layers, 0


def _keras_output_padding(k: int, s: int, d: int, padding: str, pads: tuple[int, int]):
    """The Keras ``output_padding`` (None: the default) giving per-side padding ``pads``, or False."""
    if s > 1 and d > 1:
        return False
    for op in (None, *range(s)):
        if padding == "same" and op is not None and formulas.effective_kernel(k, d) % 2 + op == 0:
            continue  # Keras builds it, but TensorFlow's call refuses it: its output is one stride short
        if formulas.conv_transpose_padding(k, s, padding, op, d) == tuple(pads):
            return op
    return False


# --------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------


def _weight_maps(owners, target_rows, to: str):
    """Each source weight and its target: kernels permuted, biases as they are."""
    source_kernel, target_kernel = ("kernel", "weight") if to == TORCH else ("weight", "kernel")
    axes = KERAS_TO_TORCH if to == TORCH else TORCH_TO_KERAS
    for row, position in owners:
        if position is None:
            continue
        target = target_rows[position]
        for weight in row.weights:
            if weight.name == source_kernel:
                yield WeightMap(f"{row.name}/{weight.name}", f"{target.name}/{target_kernel}", axes)
            else:
                yield WeightMap(f"{row.name}/{weight.name}", f"{target.name}/{weight.name}", None)


def kernel_transform(owners, to: str) -> str:
    """How to convert the kernels, as one sentence a user can paste the expression of."""
    kinds = {row.type for row, position in owners if position is not None}
    if not kinds:
        return "no weights: the layers only pad or crop."
    if to == TORCH:
        layouts = {"Conv2D": "Conv2D's (kh, kw, in/groups, out) to nn.Conv2d's (out, in/groups, kh, kw)",
                   "Conv2DTranspose": "Conv2DTranspose's (kh, kw, out, in) to nn.ConvTranspose2d's (in, out, kh, kw)"}
        expression = "torch_weight = np.transpose(keras_kernel, (3, 2, 0, 1))"
    else:
        layouts = {"Conv2d": "nn.Conv2d's (out, in/groups, kh, kw) to Conv2D's (kh, kw, in/groups, out)",
                   "ConvTranspose2d": "nn.ConvTranspose2d's (in, out, kh, kw) to Conv2DTranspose's (kh, kw, out, in)"}
        expression = "keras_kernel = np.transpose(torch_weight, (2, 3, 1, 0))"
    which = " and ".join(layouts[kind] for kind in sorted(kinds))
    return f"{expression} (from {which}, no flip); the bias is the same vector."


# --------------------------------------------------------------------------
# --run: both sides on one random input
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PortRun:
    """Both sides run on one input: the largest absolute difference of their outputs (same layout)."""

    max_abs_diff: float
    max_abs_output: float
    seed: int
    output_shape: tuple[int, ...]


def check_port(port: Port, seed: int = 0, weights: dict | None = None, x=None):
    """Run the source stack and the port with convcalc's kernels on one input (standard normal from
    ``seed`` unless ``x``, batch first, in the source's layout) and the same weights (standard normal
    unless given by source names), converted as ``port.weights`` says. Returns ``(PortRun, source
    output, target output)``, both outputs in their own layouts."""
    import numpy as np

    from .execute import execute_layer

    source, target = port.results
    rng = np.random.default_rng(seed)
    if x is None:
        x = rng.standard_normal((1, *port.input_shape)).astype(np.float32)
    given = dict(weights or {})
    for row in source.layers:
        for weight in row.weights:
            given.setdefault(f"{row.name}/{weight.name}", rng.standard_normal(weight.shape).astype(np.float32))
    converted = {m.target: given[m.source] if m.axes is None else np.transpose(given[m.source], m.axes)
                 for m in port.weights}
    y_source = _run_rows(source, x, given, execute_layer)
    x_target = _relayout_array(np, x, port.source_format, port.target_format)
    y_target = _run_rows(target, x_target, converted, execute_layer)
    back = _relayout_array(np, y_target, port.target_format, port.source_format)
    diff = float(np.max(np.abs(back.astype(np.float64) - y_source))) if y_source.size else 0.0
    scale = float(np.max(np.abs(y_source))) if y_source.size else 0.0
    return PortRun(diff, scale, seed, tuple(y_source.shape[1:])), y_source, y_target


def _run_rows(result, x, weights: dict, execute_layer):
    for row in result.layers:
        if row.type == "InputLayer":
            continue
        mine = {w.name: weights[f"{row.name}/{w.name}"] for w in row.weights}
        x = execute_layer(row, x, mine)
    return x


def _relayout_array(np, x, source_format: str, target_format: str):
    if source_format == target_format:
        return x
    return np.transpose(x, (0, 3, 1, 2) if target_format == "channels_first" else (0, 2, 3, 1))


def port_request(specs, to: str, input_text: str | None, data_format: str | None = None, run: bool = False,
                 seed: int = 0) -> tuple[Port, PortRun | None]:
    """``convcalc port``'s work from its command-line values: parse the input, port, and with ``run``
    prove the port on a random input (a difference beyond float32 rounding is a bug: exit 3)."""
    from .config import resolve_data_format
    from .parse import parse_shape

    if input_text is None:
        raise ConvcalcError("port needs --input SHAPE, the input without the batch in the source's layout "
                            "(224x224x3 for channels_last Keras, 3x224x224 for PyTorch).")
    shape = parse_shape(input_text)
    if None in shape:
        raise ConvcalcError(f"--input {input_text} has an unknown size; port needs every size, because Keras's "
                            "'same' padding depends on it.")
    port = port_stack(list(specs), to, shape, resolve_data_format(data_format))
    if not run:
        return port, None
    outcome = check_port(port, seed)[0]
    if outcome.max_abs_diff > 1e-4 * max(1.0, outcome.max_abs_output):
        raise PortMismatch(f"the ported layers compute other numbers: max abs difference {outcome.max_abs_diff:.3g} "
                           f"(outputs up to {outcome.max_abs_output:.3g}); this is a bug in convcalc, please report it.")
    return port, outcome
