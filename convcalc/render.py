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

from .stack import LayerRow, StackResult

CSV_COLUMNS = (
    "name", "type", "spec", "data_format", "input_shape", "output_shape",
    "pad_top", "pad_bottom", "pad_left", "pad_right", "kernel_shape",
    "params", "trainable_params", "non_trainable_params",
)


def _plain(value: Any) -> Any:
    """Tuples become lists, recursively, so ``json.dumps`` writes arrays."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def padding_dict(padding) -> dict[str, int] | None:
    """``((top, bottom), (left, right))`` as SPEC 3's ``{"top", "bottom", "left", "right"}``."""
    if padding is None:
        return None
    (top, bottom), (left, right) = padding
    return {"top": top, "bottom": bottom, "left": left, "right": right}


def layer_dict(row: LayerRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "type": row.type,
        "spec": row.spec,
        "data_format": row.data_format,
        "input_shape": _plain(row.input_shape),
        "output_shape": _plain(row.output_shape),
        "padding": padding_dict(row.padding),
        "kernel_shape": _plain(row.kernel_shape),
        "params": row.params,
        "trainable_params": row.trainable_params,
        "non_trainable_params": row.non_trainable_params,
    }


def stack_dict(result: StackResult) -> dict[str, Any]:
    """The JSON object of SPEC 3 (keys there never change meaning; more may be added)."""
    return {
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


def to_json(result: StackResult) -> str:
    return json.dumps(stack_dict(result), indent=2)


def shape_text(shape) -> str:
    """Keras's way of printing a shape: ``(None, 32, 32, 10)``."""
    if shape is None:
        return ""
    return "(" + ", ".join("None" if n is None else str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def padding_text(padding) -> str:
    if padding is None:
        return ""
    (top, bottom), (left, right) = padding
    return f"{top}, {bottom}, {left}, {right}"


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


def _cells(row: LayerRow) -> list[str]:
    return [
        f"{row.name} ({row.type})",
        shape_text(row.input_shape),
        shape_text(row.output_shape),
        padding_text(row.padding),
        shape_text(row.kernel_shape),
        f"{row.params:,}",
    ]


HEADERS = ["Layer (type)", "Input shape", "Output shape", "Padding t, b, l, r", "Kernel", "Param #"]


def to_markdown(result: StackResult) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for row in result.layers:
        cells = [c.replace("|", "\\|") for c in _cells(row)]
        cells[0] = f"`{row.name}` ({row.type})"
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.extend(f"- {line}" for line in totals_lines(result))
    return "\n".join(lines) + "\n"


def to_csv(result: StackResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in result.layers:
        pads = padding_dict(row.padding) or {}
        writer.writerow(
            [
                row.name, row.type, row.spec, row.data_format,
                shape_text(row.input_shape), shape_text(row.output_shape),
                pads.get("top", ""), pads.get("bottom", ""), pads.get("left", ""), pads.get("right", ""),
                shape_text(row.kernel_shape), row.params, row.trainable_params, row.non_trainable_params,
            ]
        )
    return out.getvalue()


def to_table(result: StackResult):
    """A Rich renderable like ``model.summary()``: a table, then the totals."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False)
    for header in HEADERS:
        table.add_column(header, justify="right" if header == "Param #" else "left", no_wrap=True)
    for row in result.layers:
        table.add_row(*_cells(row))
    return Group(table, Text("\n".join(totals_lines(result))))
