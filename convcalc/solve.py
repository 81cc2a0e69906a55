"""``convcalc solve``: the Conv2D / Conv2DTranspose arguments that give a target size, and a stack's
good input sizes.

**One layer** (:func:`solve_layer`).  The search space is Keras's own arguments, per axis:
``kernel_size`` 1..K, ``strides`` 1..S, ``dilation_rate`` 1..D, ``padding`` 'valid' or 'same'
(one value for both axes, as Keras takes it; dilation only on an axis whose kernel is larger than
1, since a 1-pixel kernel is the same layer at every dilation) and, for Conv2DTranspose,
``output_padding`` None or 0..strides-1 on each axis (given for both axes or for none).  Keras's rules apply across the axes:
no ``strides > 1`` together with ``dilation_rate > 1``.  Each axis is solved on its own (every
length comes from :mod:`convcalc.formulas`), then the axes are paired; an argument whose two axes
agree is written as one int, else as a tuple.

*Simplest first* (:func:`simplicity`): fewest arguments that differ between the axes (tuples: a
square question gets square layers first); then fewest arguments that differ from Keras's defaults
(``strides``, ``padding``, ``output_padding``, ``dilation_rate``; ``kernel_size`` is required and
does not count); then the smallest kernel (kh + kw), the smallest strides (sh + sw), the smallest
dilation (dh + dw); 'valid' before 'same'; the smallest output_padding; Conv2D before
Conv2DTranspose; then the numbers axis by axis.

**A stack** (:func:`solve_stack`): layer specs or a stack file, evaluated again at other input
sizes through the same graph (:func:`convcalc.graph.evaluate`), one spatial axis at a time (the
other axes held at a size where the stack computes):

- ``min_input``: per axis, the smallest size at which every layer's output is positive (the stack
  computes);
- ``no_dropped_inputs``: the sizes (up to a bound) at which no Conv or pooling layer leaves pixels
  at the end of an axis unread because its output length is floored
  (:func:`convcalc.formulas.unread_length`);
- ``exact_inputs``: the sizes at which no strided layer rounds its output length at all ("valid":
  ``(n - ke) % s == 0``; "same": ``n % s == 0``), so that each size is restored by its mirror
  without a chosen output_padding ('same': ``m*s`` with the default; 'valid': ``(m-1)*s + ke`` with
  0); for a U-Net of 'same' layers these are the multiples of the product of the strides;
- ``mirror``: for an encoder-decoder, the ``output_padding`` of each Conv2DTranspose that makes it
  restore the size its encoder layer received.  Matching, as parentheses: walking the layers in
  order, each strided Conv/pooling layer (``strides > 1`` on some axis) opens a level, and each
  strided Conv2DTranspose or UpSampling2D closes the most recent open one; its target is that
  layer's input size.  So the k-th upsampling layer after the bottleneck mirrors the k-th strided
  layer counted back from the bottleneck.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from . import formulas
from .errors import ConvcalcError
from .parse import MAX_INT, parse_shape

LAYERS = ("Conv2D", "Conv2DTranspose")
DEFAULT_MAX_KERNEL = 7
DEFAULT_MAX_DILATION = 4
DEFAULT_MAX_INPUT = 512
MAX_WORK = 4_000_000  # axis evaluations or pairings one search may take; beyond, ask for smaller ranges


# --------------------------------------------------------------------------
# One layer
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranges:
    """The argument ranges searched, each from 1 to the bound."""

    max_kernel: int
    max_stride: int
    max_dilation: int


@dataclass(frozen=True)
class AxisChoice:
    """One axis's arguments (``output_padding`` None: not given)."""

    kernel: int
    strides: int
    dilation: int
    output_padding: int | None = None


@dataclass(frozen=True)
class Solution:
    """One layer that gives the target: its type, padding, per-axis arguments, output and spec."""

    layer: str  # "Conv2D" | "Conv2DTranspose"
    padding: str
    axes: tuple[AxisChoice, AxisChoice]
    output: tuple[int, int]
    spec: str

    @property
    def kernel_size(self) -> tuple[int, int]:
        return tuple(a.kernel for a in self.axes)

    @property
    def strides(self) -> tuple[int, int]:
        return tuple(a.strides for a in self.axes)

    @property
    def dilation_rate(self) -> tuple[int, int]:
        return tuple(a.dilation for a in self.axes)

    @property
    def output_padding(self) -> tuple[int, int] | None:
        ops = tuple(a.output_padding for a in self.axes)
        return None if ops[0] is None else ops


@dataclass(frozen=True)
class Solutions:
    """Every solution in the ranges, simplest first; ``shown`` of them are printed."""

    input: tuple[int, int]
    target: tuple[int, int]
    layers: tuple[str, ...]
    ranges: Ranges
    solutions: tuple[Solution, ...]
    limit: int | None = None

    @property
    def shown(self) -> tuple[Solution, ...]:
        return self.solutions if not self.limit else self.solutions[: self.limit]


def parse_size_pair(text: str, what: str) -> tuple[int, int]:
    """``N`` (square) or ``NxM`` (height x width): positive sizes.

    >>> parse_size_pair("75", "--input"), parse_size_pair("75x60", "--output")
    ((75, 75), (75, 60))
    """
    sizes = parse_shape(text, what)
    if len(sizes) not in (1, 2) or None in sizes:
        raise ConvcalcError(f"{what} {text!r} must be one size N (square) or two, NxM (height x width), "
                            "without channels; e.g. 75 or 75x60.")
    return (sizes[0], sizes[-1])


def default_max_stride(input: tuple[int, int], target: tuple[int, int]) -> int:
    """Strides up to one more than the largest ratio between the sizes (rounded up), and at least 4:
    a stride beyond it would shrink (or grow) more than the target asks.

    >>> default_max_stride((32, 32), (16, 16)), default_max_stride((224, 224), (7, 7))
    (4, 33)
    """
    ratio = max(-(-max(n, m) // min(n, m)) for n, m in zip(input, target))
    return max(4, ratio + 1)


def _check_bound(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConvcalcError(f"{what} must be a whole number, at least 1; got {value!r}.")
    return value


def axis_choices(n: int, m: int, layer: str, padding: str, ranges: Ranges) -> list[AxisChoice]:
    """Every one-axis choice of arguments that maps length ``n`` to ``m`` (lengths from formulas).

    A stride above 1 is never paired with a dilation above 1 (Keras's rule), and a kernel of 1 is not
    dilated (it reads one pixel at every dilation: the same layer).

    >>> [(c.kernel, c.strides) for c in axis_choices(8, 4, "Conv2D", "valid", Ranges(3, 2, 1))]
    [(1, 2), (2, 2)]
    """
    choices = []
    for s in range(1, ranges.max_stride + 1):
        for k in range(1, ranges.max_kernel + 1):
            for d in range(1, (ranges.max_dilation if s == 1 and k > 1 else 1) + 1):
                if layer == "Conv2D":
                    if formulas.conv_output_length(n, k, s, padding, d) == m:
                        choices.append(AxisChoice(k, s, d))
                    continue
                if formulas.conv_transpose_output_length(n, k, s, padding, None, d) == m:
                    choices.append(AxisChoice(k, s, d, None))
                op = formulas.output_padding_for(n, m, k, s, padding, d)
                if 0 <= op < s and formulas.conv_transpose_output_length(n, k, s, padding, op, d) == m:
                    choices.append(AxisChoice(k, s, d, op))
    return choices


def _arg(values: tuple[int, int]) -> str:
    """One int when both axes agree, else the tuple."""
    return str(values[0]) if values[0] == values[1] else f"({values[0]}, {values[1]})"


def layer_spec(layer: str, filters: int, padding: str, axes: tuple[AxisChoice, AxisChoice]) -> str:
    """The spec to paste, arguments in Keras's positional order, defaults left out.

    >>> layer_spec("Conv2DTranspose", 8, "same", (AxisChoice(3, 2, 1, 1), AxisChoice(3, 2, 1, 0)))
    "Conv2DTranspose(8, 3, strides=2, padding='same', output_padding=(1, 0))"
    """
    kernel = tuple(a.kernel for a in axes)
    strides = tuple(a.strides for a in axes)
    dilation = tuple(a.dilation for a in axes)
    parts = [str(filters), _arg(kernel)]
    if strides != (1, 1):
        parts.append(f"strides={_arg(strides)}")
    if padding != "valid":
        parts.append(f"padding={padding!r}")
    if axes[0].output_padding is not None:
        parts.append(f"output_padding={_arg(tuple(a.output_padding for a in axes))}")
    if dilation != (1, 1):
        parts.append(f"dilation_rate={_arg(dilation)}")
    return f"{layer}({', '.join(parts)})"


def simplicity(solution: Solution) -> tuple:
    """The sort key of "simplest first" (see the module's docstring)."""
    ops = solution.output_padding
    pairs = [solution.kernel_size, solution.strides, solution.dilation_rate] + ([ops] if ops else [])
    non_default = (solution.strides != (1, 1)) + (solution.padding != "valid") + (ops is not None) + (
        solution.dilation_rate != (1, 1))
    return (sum(a != b for a, b in pairs), non_default, sum(solution.kernel_size), sum(solution.strides),
            sum(solution.dilation_rate), solution.padding != "valid", sum(ops or (0, 0)),
            LAYERS.index(solution.layer), solution.kernel_size, solution.strides, solution.dilation_rate,
            ops or (-1, -1))


def solve_layer(input: tuple[int, int], target: tuple[int, int], filters: int = 1,
                layers: tuple[str, ...] = LAYERS, max_kernel: int = DEFAULT_MAX_KERNEL,
                max_stride: int | None = None, max_dilation: int = DEFAULT_MAX_DILATION,
                limit: int | None = None) -> Solutions:
    """Every Conv2D / Conv2DTranspose in the ranges that maps ``input`` (h, w) to ``target``, simplest first.

    >>> s = solve_layer((75, 75), (38, 38))
    >>> [x.spec for x in s.solutions[:2]]
    ['Conv2D(1, 1, strides=2)', "Conv2D(1, 1, strides=2, padding='same')"]
    """
    _check_bound(filters, "--filters")
    for size in (*input, *target):
        if size > MAX_INT:
            raise ConvcalcError(f"sizes must be at most {MAX_INT}; got {size}.")
    ranges = Ranges(_check_bound(max_kernel, "--max-kernel"),
                    _check_bound(max_stride if max_stride is not None else default_max_stride(input, target),
                                 "--max-stride"),
                    _check_bound(max_dilation, "--max-dilation"))
    work = 2 * len(layers) * 2 * ranges.max_kernel * (ranges.max_stride + ranges.max_dilation)
    if work > MAX_WORK:
        raise ConvcalcError(f"the search would try about {work:,} argument combinations per axis (kernel_size "
                            f"1..{ranges.max_kernel}, strides 1..{ranges.max_stride}, dilation_rate "
                            f"1..{ranges.max_dilation}); give a smaller --max-kernel, --max-stride or --max-dilation.")
    found = []
    for layer in layers:
        for padding in ("valid", "same"):
            per_axis = [axis_choices(n, m, layer, padding, ranges) for n, m in zip(input, target)]
            if len(per_axis[0]) * len(per_axis[1]) > MAX_WORK:
                raise ConvcalcError(f"{len(per_axis[0]) * len(per_axis[1]):,} {layer} configurations give "
                                    f"{target[0]}x{target[1]}; lower --max-kernel, --max-stride or --max-dilation.")
            found += _pairs(layer, padding, input, per_axis, filters)
    found.sort(key=simplicity)
    return Solutions(input, target, tuple(layers), ranges, tuple(found), limit)


def solve_layer_request(input: str | None, output: str | None, filters: int = 1, conv: bool = False,
                        transpose: bool = False, max_kernel: int = DEFAULT_MAX_KERNEL, max_stride: int | None = None,
                        max_dilation: int = DEFAULT_MAX_DILATION, limit: int = 20) -> Solutions:
    """The command line's one-layer question: ``--input``/``--output`` as text, ``--conv``/``--transpose``."""
    if input is None or output is None:
        raise ConvcalcError("give --input and --output, e.g. convcalc solve --input 75x75 --output 38x38 "
                            "(or layer specs / --file to solve a stack).")
    if conv and transpose:
        raise ConvcalcError("give --conv or --transpose, not both (neither: both kinds of layers).")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ConvcalcError(f"--limit must be a whole number, 0 (all) or more; got {limit!r}.")
    layers = ("Conv2D",) if conv else ("Conv2DTranspose",) if transpose else LAYERS
    return solve_layer(parse_size_pair(input, "--input"), parse_size_pair(output, "--output"), filters, layers,
                       max_kernel, max_stride, max_dilation, limit or None)


def no_solution_text(result: Solutions) -> str:
    """The sentence on stderr when the search finds nothing (exit 0: the answer is an empty list)."""
    r = result.ranges
    return (f"no {' or '.join(result.layers)} with kernel_size 1..{r.max_kernel}, strides 1..{r.max_stride} and "
            f"dilation_rate 1..{r.max_dilation} maps {result.input[0]}x{result.input[1]} to "
            f"{result.target[0]}x{result.target[1]}; widen the search with --max-kernel, --max-stride or "
            "--max-dilation, or use two layers.")


def _pairs(layer: str, padding: str, input: tuple[int, int], per_axis: list[list[AxisChoice]],
           filters: int) -> list[Solution]:
    """The two axes' choices paired as Keras can write them: output_padding given on both or neither,
    and no strides > 1 with dilation_rate > 1 on any axes."""
    found = []
    for h in per_axis[0]:
        for w in per_axis[1]:
            if (h.output_padding is None) != (w.output_padding is None):
                continue
            if max(h.strides, w.strides) > 1 and max(h.dilation, w.dilation) > 1:
                continue
            axes = (h, w)
            output = tuple(axis_output(layer, padding, a, n) for a, n in zip(axes, input))
            found.append(Solution(layer, padding, axes, output, layer_spec(layer, filters, padding, axes)))
    return found


def axis_output(layer: str, padding: str, axis: AxisChoice, n: int) -> int:
    """The output length of one axis's choice, from formulas."""
    if layer == "Conv2D":
        return formulas.conv_output_length(n, axis.kernel, axis.strides, padding, axis.dilation)
    return formulas.conv_transpose_output_length(n, axis.kernel, axis.strides, padding, axis.output_padding,
                                                 axis.dilation)


# --------------------------------------------------------------------------
# A stack
# --------------------------------------------------------------------------

AXIS_NAMES = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}


@dataclass(frozen=True)
class SizeSet:
    """The sizes of one axis, from 1 to ``up_to``, that have a property."""

    axis: str
    sizes: tuple[int, ...]
    up_to: int

    @property
    def step(self) -> int | None:
        """The common difference when the sizes form an arithmetic progression (one size: None)."""
        gaps = {b - a for a, b in zip(self.sizes, self.sizes[1:])}
        return gaps.pop() if len(gaps) == 1 else None

    @property
    def rule(self) -> str:
        """The sizes in words: ``multiples of 8``, ``every size from 5``, ``3 + 4k``, or the list.

        >>> SizeSet("height", (8, 16, 24), 30).rule, SizeSet("w", (5, 6, 7), 7).rule, SizeSet("w", (3, 7, 11), 12).rule
        ('multiples of 8', 'every size from 5', '3 + 4k (k >= 0)')
        """
        if not self.sizes:
            return "none"
        step, first = self.step, self.sizes[0]
        if step is None:
            return ", ".join(map(str, self.sizes[:12])) + (", ..." if len(self.sizes) > 12 else "")
        if step == 1:
            return f"every size from {first}"
        if first % step == 0:
            return f"multiples of {step}" + (f" from {first}" if first != step else "")
        return f"{first % step} + {step}k (k >= {first // step})"


@dataclass(frozen=True)
class Mirror:
    """An upsampling layer and the encoder layer whose input size it must restore."""

    index: int  # the upsampling layer, 1-based as messages count layers
    name: str
    spec: str
    input: tuple[int, ...] | None  # its spatial input (after the fixes before it)
    encoder_index: int | None = None  # the matched strided layer, None when nothing is open
    encoder_name: str | None = None
    target: tuple[int, ...] | None = None  # the encoder layer's spatial input: the size to restore
    output_padding: tuple[int, ...] | None = None  # the value that mirrors (None: none can)
    needed: tuple[int, ...] | None = None  # output_padding solved per axis, in range or not
    fixed_spec: str | None = None
    reason: str | None = None  # why it does not mirror, when it does not

    @property
    def mirrors(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class StackSolution:
    """What ``solve`` says about a stack (see the module's docstring)."""

    source: str | None
    data_format: str
    input: tuple[int | None, ...]  # the stack's own input, without the batch
    spatial: tuple[int, ...]  # indices of the spatial axes in ``input``
    min_input: tuple[int, ...]
    no_dropped: tuple[SizeSet, ...]
    exact: tuple[SizeSet, ...]
    mirror: tuple[Mirror, ...] | None
    fixed_layers: tuple[str, ...] | None = None  # every spec, with the mirroring output_paddings
    fixed_output: tuple[int | None, ...] | None = None  # the fixed stack's output, batch first
    notes: tuple[str, ...] = field(default=())


@dataclass
class _Stack:
    """A stack read once: its specs, graph, and how to evaluate it at other sizes."""

    source: str | None
    specs: list  # Spec, Input(...) specs included
    graph: object
    input: tuple  # without the batch
    spatial: tuple[int, ...]
    data_format: str
    offset: int  # leading Input(...) specs

    def at(self, sizes: tuple[int, ...], graph=None):
        """The stack evaluated with its spatial sizes set to ``sizes``: the result, or the error."""
        from .graph import evaluate

        shape = list(self.input)
        for axis, size in zip(self.spatial, sizes):
            shape[axis] = size
        try:
            return evaluate(graph or self.graph, [(None, *shape)])
        except ConvcalcError as error:
            return error


def read_stack(layers: tuple[str, ...], file: Path | None, input: str | None, data_format: str | None) -> _Stack:
    """Layer specs or a stack file, as ``convcalc shape`` reads them; their graph is built, not evaluated."""
    from .config import DataFormat, resolve_data_format
    from .graph import InputSpec
    from .stack import INPUT_NAMES, Spec, stack_graph

    if file is not None and layers:
        raise ConvcalcError(f"give the layers either on the command line or in --file {file}, not both.")
    shape = parse_shape(input, "--input") if input is not None else None
    label, line, source = "--input", None, None
    if file is not None:
        if str(file).endswith((".py", ".pyw")):
            raise ConvcalcError(f"{file}: solve reads layer specs and stack files (.toml, .json), not Python sources.")
        from .stackfile import read_stack_file

        try:
            stack = read_stack_file(file)
        except ConvcalcError as error:
            if not error.message.startswith("is a Keras model config"):
                raise
            raise ConvcalcError(f"{file} is a Keras model config; solve reads layer specs and stack files "
                                "(.toml, .json with input and layers).") from None
        fmt = DataFormat(stack.data_format, stack.path) if data_format is None and stack.data_format else \
            resolve_data_format(data_format)
        if shape is None:
            shape, label = stack.input_shape, "input ="
        specs, line, source = [Spec(e.spec, e.line) for e in stack.layers], stack.input_line, stack.path
    else:
        fmt, specs = resolve_data_format(data_format), [Spec(text) for text in layers]
    graph = stack_graph(specs, fmt, shape, None, label, source, line)
    inputs = [node for node in graph.nodes if isinstance(node.op, InputSpec)]
    if len(inputs) != 1:
        raise ConvcalcError("solve reads stacks of one input; this one opens with several Input(...) specs.")
    layer_nodes = [node for node in graph.nodes if not isinstance(node.op, InputSpec)]
    if not layer_nodes:
        raise ConvcalcError("no layers given: solve needs a stack of layers (specs or --file).")
    own = inputs[0].op.shape[1:]
    first = layer_nodes[0].op.data_format or fmt.value
    rank = len(own) - 1
    if rank < 1:
        raise ConvcalcError(f"the input {own} has no spatial axis; solve needs (size..., channels).")
    spatial = tuple(range(rank)) if first == "channels_last" else tuple(range(1, rank + 1))
    offset = sum(1 for spec in specs if spec.text.strip().split("(")[0].rsplit(".", 1)[-1] in INPUT_NAMES)
    return _Stack(source, specs, graph, own, spatial, first, offset)


def _window(layer):
    """``(kernel_size, strides, dilation_rate, padding)`` of a Conv or pooling layer, else None."""
    from .convolution import _Convolution, _Depthwise, _Separable
    from .pooling import _Pooling

    a = getattr(layer, "args", {})
    if isinstance(layer, _Pooling):
        return a["pool_size"], a["strides"] or a["pool_size"], (1,) * len(a["pool_size"]), a["padding"]
    if isinstance(layer, (_Convolution, _Depthwise, _Separable)) and isinstance(a.get("padding"), str):
        return a["kernel_size"], a["strides"], a["dilation_rate"], a["padding"]
    return None


def _upsampling(layer) -> str | None:
    """``"transpose"`` for a strided Conv*Transpose, ``"upsampling"`` for UpSampling (size > 1), else None."""
    from .convolution import _Transpose
    from .reshaping import _UpSampling

    if isinstance(layer, _Transpose) and max(layer.args["strides"]) > 1:
        return "transpose"
    if isinstance(layer, _UpSampling) and max(layer.args["size"]) > 1:
        return "upsampling"
    return None


def _spatial_of(shape, data_format: str, rank: int) -> tuple:
    """The spatial sizes of a shape without the batch."""
    return tuple(shape[:rank]) if data_format == "channels_last" else tuple(shape[1:rank + 1])


def _row_checks(result, axis: int, rank: int) -> tuple[bool, bool]:
    """(no pixels dropped, no rounding) along ``axis`` for every Conv/pooling row of an evaluated stack."""
    kept = exact = True
    for row in result.layers:
        window = _window(row.layer)
        if window is None or len(window[0]) != rank:
            continue
        kernel, strides, dilation, padding = window
        n = _spatial_of(row.input_shape[1:], row.data_format, rank)[axis]
        k, s, d = kernel[axis], strides[axis], dilation[axis]
        if padding == "valid":
            exact &= (n - formulas.effective_kernel(k, d)) % s == 0
        else:
            exact &= n % s == 0
        if padding in ("valid", "same"):
            kept &= formulas.unread_length(n, k, s, padding, d) == 0
    return kept, exact


def solve_stack(layers: tuple[str, ...] = (), file: Path | None = None, input: str | None = None,
                data_format: str | None = None, max_input: int = DEFAULT_MAX_INPUT) -> StackSolution:
    """Smallest input, inputs without dropped pixels or rounding, and the mirroring output_paddings of a stack."""
    _check_bound(max_input, "--max-input")
    if max_input > 100_000:
        raise ConvcalcError(f"--max-input {max_input} is too large to sweep; give at most 100000.")
    stack = read_stack(layers, file, input, data_format)
    rank = len(stack.spatial)
    names = AXIS_NAMES.get(rank, tuple(f"axis {i + 1}" for i in range(rank)))
    own = [stack.input[a] for a in stack.spatial]
    bound = max([max_input] + [n for n in own if n is not None and n <= 100_000])  # its own input is tried too
    square = next((n for n in range(1, bound + 1) if not isinstance(stack.at((n,) * rank), ConvcalcError)), None)
    if square is None:
        error = stack.at((bound,) * rank)
        raise ConvcalcError(f"the stack computes at no input size up to {bound} on every spatial axis; "
                            f"at {bound}: {error.text}")
    minimum = []
    for axis in range(rank):
        minimum.append(next(n for n in range(1, square + 1)
                            if not isinstance(stack.at(_held(n, axis, square, rank)), ConvcalcError)))
    kept_sizes, exact_sizes = [[] for _ in range(rank)], [[] for _ in range(rank)]
    for n in range(min(minimum), max_input + 1):
        # the axes are independent: one evaluation at n on every axis answers for all of them, once each
        # axis can take n; below that, the other axes are held at the square size that computes
        if n >= max(minimum):
            runs = [(stack.at((n,) * rank), tuple(range(rank)))]
        else:
            runs = [(stack.at(_held(n, axis, square, rank)), (axis,)) for axis in range(rank) if n >= minimum[axis]]
        for result, axes in runs:
            if isinstance(result, ConvcalcError):
                continue
            for axis in axes:
                kept, rounded = _row_checks(result, axis, rank)
                if kept:
                    kept_sizes[axis].append(n)
                if rounded:
                    exact_sizes[axis].append(n)
    no_dropped = [SizeSet(names[a], tuple(kept_sizes[a]), max_input) for a in range(rank)]
    exact = [SizeSet(names[a], tuple(exact_sizes[a]), max_input) for a in range(rank)]
    mirror, fixed, fixed_output, notes = _mirror(stack, rank)
    return StackSolution(stack.source, stack.data_format, stack.input, stack.spatial, tuple(minimum),
                         tuple(no_dropped), tuple(exact), mirror, fixed, fixed_output, tuple(notes))


def _held(n: int, axis: int, other: int, rank: int) -> tuple[int, ...]:
    """Spatial sizes with ``axis`` at ``n`` and every other axis at ``other``."""
    return tuple(n if a == axis else other for a in range(rank))


def _mirror(stack: _Stack, rank: int):
    """Match each strided upsampling layer to the strided layer it closes, and solve its output_padding."""
    from dataclasses import replace

    from .graph import Graph, InputSpec, TensorRef
    from .layers import build_layer
    from .parse import parse_call

    nodes = list(stack.graph.nodes)
    first_layer = next(i for i, node in enumerate(nodes) if not isinstance(node.op, InputSpec))
    own = tuple(stack.input[a] for a in stack.spatial)
    if None in own:
        return None, None, None, ["the stack's input has unknown (None) sizes: give --input to solve its decoder."]

    def prefix(end: int):
        """The stack up to node ``end`` (excluded), with the fixes so far, evaluated at its own input."""
        graph = Graph("stack", nodes[:end], stack.graph.inputs, TensorRef(nodes[end - 1].key),
                      stack.graph.data_format, class_name="Sequential")
        return stack.at(own, graph)

    opened, mirrors, fixed = [], [], {}
    for position in range(first_layer, len(nodes)):
        node = nodes[position]
        layer = node.op
        window = _window(layer)
        if window is not None and max(window[1]) > 1:
            opened.append(position)
            continue
        kind = _upsampling(layer)
        if kind is None:
            continue
        before = prefix(position)
        if isinstance(before, ConvcalcError):
            return tuple(mirrors), None, None, [f"the stack does not compute at its input "
                                                f"{'x'.join(map(str, stack.input))}: {before.text}"]
        n = _spatial_of(before.output_shape[1:], node.data_format or layer.data_format or stack.data_format, rank) \
            if not isinstance(before.output_shape, list) else None
        if n is None or len(n) != rank or not opened:
            mirrors.append(Mirror(node.index, node.name, node.spec, n, reason="it mirrors nothing: every strided Conv "
                                  "or pooling layer before it is mirrored already, or there is none" if not opened
                                  else "its input is not a spatial tensor"))
            continue
        j = opened.pop()
        encoder = nodes[j]
        row = next(r for r in before.layers if r.index == encoder.index)
        target = _spatial_of(row.input_shape[1:], row.data_format, rank)
        base = dict(index=node.index, name=node.name, spec=node.spec, input=n, encoder_index=encoder.index,
                    encoder_name=encoder.name, target=target)
        if kind == "upsampling":
            out = tuple(formulas.upsampled_length(a, s) for a, s in zip(n, layer.args["size"]))
            reason = None if out == target else (f"{layer.type_name} has no output_padding: it gives "
                                                 f"{_x(out)}, and {encoder.name} received {_x(target)}")
            mirrors.append(Mirror(**base, reason=reason))
            continue
        a = layer.args
        needed = tuple(formulas.output_padding_for(length, goal, k, s, a["padding"], d) for length, goal, k, s, d
                       in zip(n, target, a["kernel_size"], a["strides"], a["dilation_rate"]))
        if all(0 <= op < s for op, s in zip(needed, a["strides"])):
            spec = with_output_padding(node.spec, needed, layer)
            new = build_layer(parse_call(spec))
            nodes[position] = replace(node, op=new, spec=new.spec)
            fixed[position] = spec
            mirrors.append(Mirror(**base, output_padding=needed, needed=needed, fixed_spec=spec))
        else:
            mirrors.append(Mirror(**base, needed=needed, reason=(
                f"output_padding would have to be {_x(needed, ', ')} and Keras needs 0 <= output_padding < strides "
                f"{_x(a['strides'], ', ')}; crop or pad instead (Cropping2D / ZeroPadding2D)")))
    if not mirrors:
        return (), None, None, []
    final = prefix(len(nodes))
    texts = [spec.text for spec in stack.specs]
    for position, spec in fixed.items():
        texts[stack.offset + position - first_layer] = spec
    if isinstance(final, ConvcalcError):
        note = f"with these output_paddings the stack does not compute: {final.text}"
        return tuple(mirrors), tuple(texts), None, [note]
    output = final.output_shape if not isinstance(final.output_shape, list) else None
    return tuple(mirrors), tuple(texts), output, []


def _x(sizes, sep: str = "x") -> str:
    return sep.join(str(s) for s in sizes)


def with_output_padding(spec: str, value: tuple[int, ...], layer) -> str:
    """``spec`` with ``output_padding`` set to ``value`` (one int when every axis agrees), the rest of the
    text as written: an ``output_padding`` given (keyword or positional) is replaced, else one is added.

    >>> from convcalc.layers import build_layer; from convcalc.parse import parse_call
    >>> t = "Conv2DTranspose(16, 3, strides=2, padding='same', activation='relu')"
    >>> with_output_padding(t, (0, 0), build_layer(parse_call(t)))
    "Conv2DTranspose(16, 3, strides=2, padding='same', activation='relu', output_padding=0)"
    >>> t = "Conv2DTranspose(16, 3, 2, 'valid', (1, 1))"
    >>> with_output_padding(t, (0, 1), build_layer(parse_call(t)))
    "Conv2DTranspose(16, 3, 2, 'valid', (0, 1))"
    """
    text = str(value[0]) if len(set(value)) == 1 else f"({', '.join(map(str, value))})"
    source = spec.strip()
    data = source.encode()  # ast's columns count UTF-8 bytes
    starts = [0]
    for line in data.split(b"\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    node = ast.parse(source, mode="eval").body
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Call):  # Conv2DTranspose(...)(x)
        node = node.func

    def offset(line: int, col: int) -> int:
        return starts[line - 1] + col

    def put(start: int, end: int, new: str) -> str:
        return (data[:start] + new.encode() + data[end:]).decode()

    for keyword in node.keywords:
        if keyword.arg == "output_padding":
            v = keyword.value
            return put(offset(v.lineno, v.col_offset), offset(v.end_lineno, v.end_col_offset), text)
    names = [name for name, _ in type(layer).signature]
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    position = names.index("output_padding")
    if name == layer.type_name and len(node.args) > position:
        v = node.args[position]
        return put(offset(v.lineno, v.col_offset), offset(v.end_lineno, v.end_col_offset), text)
    parts = [*node.args, *node.keywords]
    if not parts:
        end = offset(node.end_lineno, node.end_col_offset) - 1
        return put(end, end, f"output_padding={text}")
    last = max(parts, key=lambda p: (p.end_lineno, p.end_col_offset))
    end = offset(last.end_lineno, last.end_col_offset)
    return put(end, end, f", output_padding={text}")
