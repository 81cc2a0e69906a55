"""``--show``'s last line: the sum the first output position is made of.

For the seed threads' RGB example (a 2x2 kernel of ones over channels of 1, 100 and 10000) it is
``4*1 + 4*100 + 4*10000 + 0 = 40404``: per input channel, the kernel's weights times the input
values under the first kernel placement, summed over the taps; then the bias.  The sample and the
weights are rebuilt exactly as ``--run`` built them (same sample, file, fill or seed; same
initializers).  NumPy.
"""

from __future__ import annotations

import itertools

import numpy as np

from . import run as running
from .result import StackResult

MAX_TERMS = 8  # input channels written out one by one; the rest are summed into one term


def number(value: float) -> str:
    """A value as people write it: integers without ``.0``, else 6 significant digits.

    >>> number(40404.0), number(0.5), number(-2.0)
    ('40404', '0.5', '-2')
    """
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _sample(result: StackResult, request, dtype) -> np.ndarray:
    batch = result.input_shape[0] or 1
    shape = (batch, *result.input_shape[1:])
    if request.sample:
        header = running.sample_header(request.sample[0])
        return running.read_sample(request.sample[0], header).astype(dtype, copy=False)
    if request.fill:
        from .parse import parse_numbers

        return running.filled_sample(shape, parse_numbers(request.fill[0], "--fill"), result.data_format.value, dtype)
    return np.random.default_rng(request.seed).standard_normal(shape, dtype=np.float32).astype(dtype, copy=False)


def first_sum(x: np.ndarray, kernel: np.ndarray, bias, padding, strides, dilation, data_format: str, groups: int = 1):
    """(per-channel terms, bias, total) of output position 0, filter 0 of a direct convolution.

    x : ndarray of shape (*spatial, c) or (c, *spatial) (one sample)
    kernel : ndarray of shape (*kernel_size, c/groups, filters)
    Each term is (sum of the weights that read in-range pixels, the value if they all read one value
    else None, the channel's dot product); padding cells read zeros and drop out.
    """
    if data_format == "channels_first":
        x = np.moveaxis(x, 0, -1)
    spatial = x.shape[:-1]
    per_group = kernel.shape[-2]
    terms = []
    for c in range(per_group):  # filter 0 belongs to group 0: input channels 0 .. c/groups-1
        weights, values = [], []
        for tap in itertools.product(*(range(k) for k in kernel.shape[:-2])):
            where = tuple(t * d - before for t, d, (before, _) in zip(tap, dilation, padding))
            if all(0 <= w < n for w, n in zip(where, spatial)):
                weights.append(float(kernel[tap + (c, 0)]))
                values.append(float(x[where + (c,)]))
        dot = float(np.dot(weights, values)) if weights else 0.0
        same = values[0] if values and all(v == values[0] for v in values) else None
        terms.append((sum(weights), same, dot))
    b = float(bias[0]) if bias is not None else 0.0
    return terms, b, sum(t[2] for t in terms) + b


def sum_text(terms, bias: float, total: float) -> str:
    """``4*1 + 4*100 + 4*10000 + 0 = 40404``."""
    parts = [f"{number(w)}*{number(v)}" if v is not None else number(dot) for w, v, dot in terms[:MAX_TERMS]]
    if len(terms) > MAX_TERMS:
        rest = sum(dot for _, _, dot in terms[MAX_TERMS:])
        parts.append(f"{number(rest)} (channels {MAX_TERMS}..{len(terms) - 1})")
    parts.append(number(bias))
    return " + ".join(parts).replace("+ -", "- ") + f" = {number(total)}"


def first_sum_text(result: StackResult, outcome, request) -> str:
    """The line for ``--show``, or "" when the first layer is not a direct convolution or the output is
    too large to show."""
    from .render import SHOW_LIMIT

    if (not result.layers or outcome is None or not isinstance(result.input_shape, tuple)
            or isinstance(outcome.output, dict) or outcome.output.size > SHOW_LIMIT):
        return ""
    row = result.layers[0]
    if row.type not in ("Conv1D", "Conv2D", "Conv3D") or row.layer is None or row.layer.args.get("lora_rank"):
        return ""
    dtype = np.dtype(outcome.dtype)
    given = running.load_weights(request.weights, result, dtype) if request.weights is not None else {}
    weights = running._layer_weights(running.run_graph.LayerCall(row, (), 0), given, request.seed, dtype)
    x = _sample(result, request, dtype)[0]
    a = row.layer.args
    if row.padding is None or any(p is None for p in row.padding):
        return ""
    terms, bias, total = first_sum(x, weights["kernel"], weights.get("bias"), row.padding, a["strides"],
                                   a["dilation_rate"], row.data_format, a["groups"])
    activation = a.get("activation")
    after = "" if activation in (None, "linear") else f", before the {activation} activation"
    where = ", ".join("0" for _ in row.padding)
    return (f"First output value of {row.name} (position {where}, filter 0{after}): "
            f"{sum_text(terms, bias, total)}\n")
