"""Turn a :class:`~convcalc.stack.StackResult` into text: JSON, CSV, Markdown, a Rich table.

Computing and rendering are separate: every function here takes a finished
result and returns a string.  JSON never goes through Rich (Rich wraps lines
when piped), and Rich is imported only when a table is drawn.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from .outcome import RunResult
from .result import LayerRow, StackResult

CSV_COLUMNS = (
    "name", "type", "spec", "data_format", "input_shape", "output_shape",
    "pad_top", "pad_bottom", "pad_left", "pad_right", "kernel_shape",
    "params", "trainable_params", "non_trainable_params",
)
# a 3-D layer's extra padding columns, written only when some row has them (earlier CSVs keep their columns)
CSV_DEPTH_COLUMNS = ("pad_front", "pad_back")
UNKNOWN = "?"  # a padding that depends on a size unknown until run time, in tables, CSV and Markdown

# the sides of each spatial axis, per number of axes: SPEC 3's {"top", "bottom", "left", "right"} for 2-D
SIDES = {
    1: (("left", "right"),),
    2: (("top", "bottom"), ("left", "right")),
    3: (("front", "back"), ("top", "bottom"), ("left", "right")),
}


def _plain(value: Any) -> Any:
    """Tuples become lists, recursively, so ``json.dumps`` writes arrays."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def padding_dict(padding) -> dict[str, int | None] | None:
    """Per-side padding by side name: ``((top, bottom), (left, right))`` as SPEC 3's
    ``{"top", "bottom", "left", "right"}``; one axis (1-D layers) as ``{"left", "right"}``;
    three (3-D layers) with ``"front"`` and ``"back"`` first.  An axis whose padding is unknown
    (``None`` instead of a pair) gives ``None`` on both its sides.

    >>> padding_dict(((3, 4), (3, 4)))
    {'top': 3, 'bottom': 4, 'left': 3, 'right': 4}
    >>> padding_dict(((0, 1), None, (1, 1)))
    {'front': 0, 'back': 1, 'top': None, 'bottom': None, 'left': 1, 'right': 1}
    """
    if padding is None:
        return None
    sides = {}
    for names, pair in zip(SIDES[len(padding)], padding):
        sides.update(zip(names, pair if pair is not None else (None, None)))
    return sides


def layer_dict(row: LayerRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "type": row.type,
        "spec": row.spec,
        "data_format": row.data_format,
        "input_shape": _plain(row.input_shape),
        "output_shape": _plain(row.output_shape),
        "padding": padding_dict(row.padding),
        **({"cropping": padding_dict(row.cropping)} if row.cropping is not None else {}),
        **({"connected_to": list(row.connected_to)} if row.connected_to else {}),
        "kernel_shape": _plain(row.kernel_shape),
        "params": row.params,
        "trainable_params": row.trainable_params,
        "non_trainable_params": row.non_trainable_params,
        **({"depth": row.depth} if row.depth else {}),
        **({"line": row.line} if row.line is not None else {}),
    }


def stack_dict(result: StackResult, run=None) -> dict[str, Any]:
    """The JSON object of SPEC 3 (keys there never change meaning; more may be added).

    With a run (SPEC 4): ``measured_shape`` and ``seconds`` per layer, and a
    top-level ``run`` object.
    """
    data = {
        "data_format": result.data_format.value,
        "data_format_source": result.data_format.source,
        "input_shape": _plain(result.input_shape),
        "output_shape": _plain(result.output_shape),
        "total_params": result.total_params,
        "trainable_params": result.trainable_params,
        "non_trainable_params": result.non_trainable_params,
        "param_bytes": param_bytes(result.total_params),
        "layers": [layer_dict(row) for row in result.layers],
    }
    if run is not None:
        for layer, measured in zip(data["layers"], run.layers):
            layer["measured_shape"] = list(measured.measured_shape)
            layer["shape_agrees"] = measured.agrees
            layer["seconds"] = round(measured.seconds, 6)
        data["run"] = run_dict(run)
    return data


def run_dict(run: RunResult) -> dict[str, Any]:
    return {
        "batch": run.batch,
        "seed": run.seed,
        "sample": run.sample,
        "weights": run.weights,
        "dtype": run.dtype,
        "output_shape": list(run.output_shape),
        "estimated_bytes": run.estimated_bytes,
        "max_memory_bytes": run.max_memory_bytes,
        "seconds": round(run.seconds, 6),
        "saved": run.saved,
        "all_shapes_agree": all(layer.agrees for layer in run.layers),
    }


def to_json(result: StackResult, run=None, values: bool = False) -> str:
    data = stack_dict(result, run)
    if run is not None and values:
        data["run"]["output"] = run.output.tolist()
    return json.dumps(data, indent=2)


def shape_text(shape) -> str:
    """Keras's way of printing a shape: ``(None, 32, 32, 10)``; several shapes separated by commas."""
    if shape is None:
        return ""
    if isinstance(shape, list):
        return ", ".join(shape_text(s) for s in shape)
    return "(" + ", ".join("None" if n is None else str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def padding_text(padding, cropping=None) -> str:
    """Every side's padding in order, ``?`` where unknown: ``(3, 4), (3, 4)`` -> ``3, 4, 3, 4``."""
    if cropping is not None:
        return "crop " + ", ".join(_side_text(v) for v in padding_dict(cropping).values())
    if padding is None:
        return ""
    return ", ".join(_side_text(v) for v in padding_dict(padding).values())


def _side_text(value) -> str:
    return UNKNOWN if value is None else str(value)


def param_bytes(params: int, bytes_per_param: int = 4) -> int:
    """Size of the parameters in float32, as ``model.summary()`` counts it."""
    return params * bytes_per_param


def readable_size(size: float) -> str:
    """Keras's ``readable_memory_size``: ``7720`` bytes -> ``'7.54 KB'``.

    >>> readable_size(7720), readable_size(52), readable_size(94_371_840)
    ('7.54 KB', '52.00 B', '90.00 MB')
    """
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def totals_lines(result: StackResult) -> list[str]:
    def line(label: str, count: int) -> str:
        return f"{label}: {count:,} ({readable_size(param_bytes(count))})"

    return [
        line("Total params", result.total_params),
        line("Trainable params", result.trainable_params),
        line("Non-trainable params", result.non_trainable_params),
        f"Data format: {result.data_format.value} (from {result.data_format.source})",
    ]


def measured_text(measured) -> str:
    return f"{shape_text(measured.measured_shape)} {'ok' if measured.agrees else 'DIFFERS'}"


def _cells(row: LayerRow, measured=None, graph: bool = False) -> list[str]:
    extra = [] if measured is None else [measured_text(measured), f"{measured.seconds * 1000:.1f} ms"]
    if graph:
        extra.append(", ".join(row.connected_to) or "-")
    return [
        f"{'   ' * (row.depth - 1)} └ {row.name} ({row.type})" if row.depth else f"{row.name} ({row.type})",
        shape_text(row.input_shape),
        shape_text(row.output_shape),
        padding_text(row.padding, row.cropping),
        shape_text(row.kernel_shape),
        f"{row.params:,}",
        *extra,
    ]


HEADERS = ["Layer (type)", "Input shape", "Output shape", "Padding t, b, l, r", "Kernel", "Param #"]
RUN_HEADERS = ["Measured", "Time"]


def _headers(result: StackResult, run) -> list[str]:
    """The columns: a run adds Measured and Time; a model graph adds Connected to, as model.summary()."""
    headers = list(HEADERS)
    if any(row.padding is not None and len(row.padding) == 3 for row in result.layers):
        headers[3] = "Padding f, b, t, b, l, r"
    return headers + (RUN_HEADERS if run is not None else []) + (["Connected to"] if _is_graph(result) else [])


def _is_graph(result: StackResult) -> bool:
    return any(row.connected_to for row in result.layers)


def _rows(result: StackResult, run):
    measured = run.layers if run is not None else [None] * len(result.layers)
    return zip(result.layers, measured)


def run_lines(run) -> list[str]:
    if run is None:
        return []
    lines = [
        f"Ran on {run.sample}, batch {run.batch}, {run.dtype}, in {run.seconds * 1000:.1f} ms "
        f"(estimated peak memory {readable_size(run.estimated_bytes)})",
    ]
    if run.saved:
        lines.append(f"Saved the output {shape_text(run.output_shape)} to {run.saved}")
    return lines


def to_markdown(result: StackResult, run=None) -> str:
    headers = _headers(result, run)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row, measured in _rows(result, run):
        cells = [c.replace("|", "\\|") for c in _cells(row, measured, _is_graph(result))]
        cells[0] = f"`{row.name}` ({row.type})"
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.extend(f"- {line}" for line in totals_lines(result) + run_lines(run))
    return "\n".join(lines) + "\n"


def to_csv(result: StackResult, run=None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    depth = any(row.padding is not None and len(row.padding) == 3 for row in result.layers)
    pad_columns = (CSV_DEPTH_COLUMNS if depth else ()) + ("pad_top", "pad_bottom", "pad_left", "pad_right")
    columns = CSV_COLUMNS[:6] + pad_columns + CSV_COLUMNS[10:]
    writer.writerow(columns + (("measured_shape", "seconds") if run is not None else ()) + ("connected_to",))
    for row, measured in _rows(result, run):
        extra = [] if measured is None else [shape_text(measured.measured_shape), f"{measured.seconds:.6f}"]
        pads = padding_dict(row.padding) or {}
        writer.writerow(
            [
                row.name, row.type, row.spec, row.data_format,
                shape_text(row.input_shape), shape_text(row.output_shape),
                *(_csv_side(pads, column[len("pad_"):]) for column in pad_columns),
                shape_text(row.kernel_shape), row.params, row.trainable_params, row.non_trainable_params,
                *extra, " ".join(row.connected_to),
            ]
        )
    return out.getvalue()


def _csv_side(pads: dict, side: str) -> str:
    """A side's padding in a CSV cell: empty where the layer has no such side, ``?`` where it is unknown."""
    if side not in pads:
        return ""
    return _side_text(pads[side])


def to_table(result: StackResult, run=None):
    """A Rich renderable like ``model.summary()``: a table, then the totals."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False)
    for header in _headers(result, run):
        table.add_column(header, justify="right" if header in ("Param #", "Time") else "left")
    for row, measured in _rows(result, run):
        table.add_row(*_cells(row, measured, _is_graph(result)))
    return Group(table, Text("\n".join(totals_lines(result) + run_lines(run))))


def show_text(array, data_format: str, limit: int = 4096) -> str:
    """Small outputs as the seed threads print them: NumPy's repr, then each channel as a matrix.

    array : ndarray of shape (n, ..., c) (channels_last) or (n, c, ...) (channels_first)
    """
    import numpy as np  # only --show needs it; the rest of this module renders plain data

    if array.size > limit:
        return f"(output of shape {array.shape} has {array.size} values; --show prints at most {limit})"
    parts = [repr(array)]
    channel_axis = -1 if data_format == "channels_last" else 1
    channels = np.moveaxis(array, channel_axis, 1)
    for n, sample in enumerate(channels):
        for c, matrix in enumerate(sample):
            parts.append(f"sample {n}, channel {c}:\n{np.array2string(matrix)}")
    return "\n\n".join(parts)
