"""Turn a :class:`~convcalc.stack.StackResult` into text: JSON, CSV, Markdown, a Rich table.

Computing and rendering are separate: every function here takes a finished
result and returns a string.  JSON never goes through Rich (Rich wraps lines
when piped), and Rich is imported only when a table is drawn.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from .details import Details, RowDetails, compute_details, field_dict, field_text
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


# characters that would move the cursor, end a line, start an escape sequence or reorder text when
# printed: C0 and C1 controls, DEL, the Unicode line and paragraph separators, the bidi controls
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with control characters written as Python escapes, for every text output.

    A name or path can never end a line, move the cursor or send an escape code
    (``x\\n::error ...`` stays one line):

    >>> printable("x\\n::error file=a::b\\x1b[31m\\u202e")
    'x\\\\n::error file=a::b\\\\x1b[31m\\\\u202e'
    >>> printable("conv2d_1")
    'conv2d_1'
    """
    if text.isprintable():  # every character _CONTROL matches is non-printable: the common case costs one scan
        return text
    return _CONTROL.sub(_escaped, text)


# ints beyond this many digits are shown in scientific notation in tables, Markdown and lint messages;
# JSON and CSV always carry every digit
HUMAN_DIGITS = 100
_HUMAN_LIMIT = 10**HUMAN_DIGITS
# str(int) refuses more than sys.get_int_max_str_digits() (4300) digits: beyond this, Decimal writes them
_STR_LIMIT = 10**4000


def int_text(value: int, grouping: bool = False) -> str:
    """Every digit of an int, however large (``str`` refuses more than 4300), optionally with commas.

    >>> int_text(1234567, grouping=True), len(int_text(10**5000))
    ('1,234,567', 5001)
    """
    if -_STR_LIMIT < value < _STR_LIMIT:
        return f"{value:,}" if grouping else str(value)
    from decimal import Decimal

    return format(Decimal(value), ",") if grouping else format(Decimal(value), "f")


def count_text(value: int) -> str:
    """A count for people: ``1,930``; beyond 100 digits ``1.23457e+300`` (JSON and CSV keep every digit).

    >>> count_text(1930), count_text(10**300 * 3)
    ('1,930', '3.00000e+300')
    """
    if -_HUMAN_LIMIT < value < _HUMAN_LIMIT:
        return f"{value:,}"
    from decimal import Decimal

    return format(Decimal(value), ".5e")


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


def details_dict(info: RowDetails) -> dict[str, Any]:
    """SPEC 7's figures of one row, and its trainable marker and share of the parameters (issue 11)."""
    return {
        "macs": info.macs,
        "flops": info.flops,
        "receptive_field": field_dict(info.receptive_field),
        "activation_bytes": info.activation_bytes,
        "param_bytes": info.param_bytes,
        "trainable": info.trainable,
        "params_percent": info.params_percent,
    }


def stack_dict(result: StackResult, run=None, dtype: str = "float32") -> dict[str, Any]:
    """The JSON object of SPEC 3 (keys there never change meaning; more may be added), with SPEC 7's
    figures per layer and their totals at ``dtype``.

    With a run (SPEC 4): ``measured_shape`` and ``seconds`` per layer, and a
    top-level ``run`` object.
    """
    details = compute_details(result, dtype)
    data = {
        "data_format": result.data_format.value,
        "data_format_source": result.data_format.source,
        "input_shape": _plain(result.input_shape),
        "output_shape": _plain(result.output_shape),
        "total_params": result.total_params,
        "trainable_params": result.trainable_params,
        "non_trainable_params": result.non_trainable_params,
        "param_bytes": param_bytes(result.total_params),
        "dtype": dtype,
        "total_macs": details.total_macs,
        "total_flops": details.total_flops,
        "total_activation_bytes": details.total_activation_bytes,
        "total_param_bytes": details.total_param_bytes,
        "layers": [{**layer_dict(row), **details_dict(info)} for row, info in zip(result.layers, details.rows)],
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
        "batch_part": run.part,
        "all_shapes_agree": all(layer.agrees for layer in run.layers),
    }


SHOW_LIMIT = 4096  # values --show prints, as text or in JSON


def to_json(result: StackResult, run=None, values: bool = False, dtype: str = "float32") -> str:
    """SPEC 3's JSON; with ``values`` (``--show``), the run's output as nested lists when it holds at most
    SHOW_LIMIT values, else ``output`` is null and ``output_note`` says why."""
    data = stack_dict(result, run, dtype)
    if run is not None and values:
        outputs = run.output if isinstance(run.output, dict) else {None: run.output}
        shown, notes = {}, {}
        for name, array in outputs.items():
            shown[name] = array.tolist() if array.size <= SHOW_LIMIT else None
            if array.size > SHOW_LIMIT:
                notes[name] = (f"the output of shape {tuple(array.shape)} has {array.size} "
                               f"values; --show prints at most {SHOW_LIMIT}")
        data["run"]["output"] = shown if isinstance(run.output, dict) else shown[None]
        if notes:
            data["run"]["output_note"] = notes if isinstance(run.output, dict) else notes[None]
    return dumps(data)


def dumps(data: Any) -> str:
    """``json.dumps(data, indent=2)``, with every digit of ints beyond ``str``'s 4300-digit limit.

    >>> dumps({"params": 10**5000}).count("0")
    5000
    """
    try:
        return json.dumps(data, indent=2)
    except ValueError:  # an int too long for str(): write placeholders, then put the digits in their place
        pass
    import uuid

    token = f"bigint-{uuid.uuid4().hex}-"
    digits: list[str] = []

    def swap(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and not -_STR_LIMIT < value < _STR_LIMIT:
            digits.append(int_text(value))
            return f"{token}{len(digits) - 1}"
        if isinstance(value, dict):
            return {key: swap(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [swap(item) for item in value]
        return value

    text = json.dumps(swap(data), indent=2)
    return re.sub(f'"{token}(\\d+)"', lambda match: digits[int(match.group(1))], text)


def shape_text(shape) -> str:
    """Keras's way of printing a shape: ``(None, 32, 32, 10)``; several shapes separated by commas."""
    if shape is None:
        return ""
    if isinstance(shape, list):
        return ", ".join(shape_text(s) for s in shape)
    return "(" + ", ".join("None" if n is None else int_text(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def padding_text(padding, cropping=None) -> str:
    """Every side's padding in order, ``?`` where unknown: ``(3, 4), (3, 4)`` -> ``3, 4, 3, 4``."""
    if cropping is not None:
        return "crop " + ", ".join(_side_text(v) for v in padding_dict(cropping).values())
    if padding is None:
        return ""
    return ", ".join(_side_text(v) for v in padding_dict(padding).values())


def _side_text(value) -> str:
    return UNKNOWN if value is None else int_text(value)


def param_bytes(params: int, bytes_per_param: int = 4) -> int:
    """Size of the parameters in float32, as ``model.summary()`` counts it."""
    return params * bytes_per_param


def readable_size(size: float) -> str:
    """Keras's ``readable_memory_size``: ``7720`` bytes -> ``'7.54 KB'``.

    Integers of any size: beyond a float's range, the number of PB is a count (``1.00000e+400 PB``).

    >>> readable_size(7720), readable_size(52), readable_size(94_371_840), readable_size(1024**5 * 10**400)
    ('7.54 KB', '52.00 B', '90.00 MB', '1.00000e+400 PB')
    """
    scale = 1
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 * scale:
            return f"{size / scale:.2f} {unit}"
        scale *= 1024
    if isinstance(size, int) and size >= _HUMAN_LIMIT:
        return f"{count_text(size // scale)} PB"
    return f"{size / scale:.2f} PB"


def totals_lines(result: StackResult, details: Details | None = None) -> list[str]:
    """Keras's totals; with ``details``, torchinfo's mult-adds and memory (at ``details.dtype``) too."""
    def line(label: str, count: int) -> str:
        return f"{label}: {count_text(count)} ({readable_size(param_bytes(count))})"

    lines = [
        line("Total params", result.total_params),
        line("Trainable params", result.trainable_params),
        line("Non-trainable params", result.non_trainable_params),
        f"Data format: {result.data_format.value} (from {printable(result.data_format.source)})",
    ]
    if details is not None:
        lines += details_totals_lines(details)
    return lines


def details_totals_lines(details: Details) -> list[str]:
    """Under the table, as torchinfo prints them: ``Total mult-adds (M): 1.97``, then memory.

    >>> from convcalc.details import Details
    >>> details_totals_lines(Details("float32", (), 1966080, 40960, 7720))[:2]
    ['Total mult-adds (M): 1.97 (FLOPs = 2 x MACs: 3,932,160)', 'Activation memory (float32, per --batch or 1 sample): 40.00 KB']
    """
    if details.total_macs is None:
        macs = "Total mult-adds (M): unknown (a layer's sizes are unknown or its cost is not counted)"
    else:
        millions = f"{details.total_macs / 1e6:.2f}" if details.total_macs < _HUMAN_LIMIT else count_text(details.total_macs // 10**6)
        macs = f"Total mult-adds (M): {millions} (FLOPs = 2 x MACs: {count_text(details.total_flops)})"
    activations = ("unknown" if details.total_activation_bytes is None
                   else readable_size(details.total_activation_bytes))
    return [
        macs,
        f"Activation memory ({details.dtype}, per --batch or 1 sample): {activations}",
        f"Params size ({details.dtype}): {readable_size(details.total_param_bytes)}",
    ]


def measured_text(measured) -> str:
    return f"{shape_text(measured.measured_shape)} {'ok' if measured.agrees else 'DIFFERS'}"


def _cells(row: LayerRow, measured=None, graph: bool = False, lines: bool = False,
           info: RowDetails | None = None, details: bool = False) -> list[str]:
    """A table row's cells as plain text: names with control characters escaped (:func:`printable`).

    With ``info``: the share of the parameters and the trainable marker; with ``details`` too, the
    MACs, receptive field and memory columns."""
    extra = [] if info is None else [percent_text(info.params_percent), trainable_text(info.trainable)]
    if info is not None and details:
        extra += [macs_text(info), field_text(info.receptive_field), size_text(info.activation_bytes),
                  readable_size(info.param_bytes)]
    if measured is not None:
        extra += [measured_text(measured), f"{measured.seconds * 1000:.1f} ms"]
    if graph:
        extra.append(printable(", ".join(row.connected_to)) or "-")
    if lines:
        extra.append("" if row.line is None else str(row.line))
    label = printable(f"{row.name} ({row.type})")
    return [
        f"{'   ' * (row.depth - 1)} └ {label}" if row.depth else label,
        shape_text(row.input_shape),
        shape_text(row.output_shape),
        padding_text(row.padding, row.cropping),
        shape_text(row.kernel_shape),
        count_text(row.params),
        *extra,
    ]


HEADERS = ["Layer (type)", "Input shape", "Output shape", "Padding t, b, l, r", "Kernel", "Param #"]
SHARE_HEADERS = ["%", "Train"]  # the share of the parameters, and trainable: Y, N or part
DETAILS_HEADERS = ["MACs", "Receptive field", "Act. memory", "Param memory"]  # --details
RUN_HEADERS = ["Measured", "Time"]


def _headers(result: StackResult, run, info: bool = False, details: bool = False) -> list[str]:
    """The columns: ``info`` adds % and Train, ``details`` SPEC 7's columns; a run adds Measured and
    Time; a model graph adds Connected to, as model.summary()."""
    headers = list(HEADERS)
    if any(row.padding is not None and len(row.padding) == 3 for row in result.layers):
        headers[3] = "Padding f, b, t, b, l, r"
    if info:
        headers += SHARE_HEADERS + (DETAILS_HEADERS if details else [])
    return (headers + (RUN_HEADERS if run is not None else []) + (["Connected to"] if _is_graph(result) else [])
            + (["Line"] if result.source_lines else []))


WIDE = (1, 4)  # Input shape and Kernel: the terminal table shows them with --details only (80 columns)


def _narrow(cells: list[str], details: bool) -> list[str]:
    """A terminal table's cells: without the wide Input shape and Kernel unless ``details``."""
    return cells if details else [cell for index, cell in enumerate(cells) if index not in WIDE]


def percent_text(percent: float | None) -> str:
    """A row's share of the parameters: ``4.1%``; ``-`` when the model has none.

    >>> percent_text(4.12), percent_text(100.0), percent_text(0.0), percent_text(None)
    ('4.1%', '100.0%', '0.0%', '-')
    """
    return "-" if percent is None else f"{percent:.1f}%"


def trainable_text(trainable) -> str:
    """``Y``, ``N`` or ``part`` (some weights frozen), as ``model.summary(show_trainable=True)`` marks it."""
    return "part" if trainable == "partly" else "Y" if trainable else "N"


def macs_text(info: RowDetails) -> str:
    """A row's MACs for people: ``1,966,080``; ``-`` where not defined, ``?`` where unknown."""
    if info.macs is None:
        return "?" if info.macs_defined else "-"
    return count_text(info.macs)


def size_text(size: int | None) -> str:
    return "?" if size is None else readable_size(size)


def _is_graph(result: StackResult) -> bool:
    return any(row.connected_to for row in result.layers)


def _rows(result: StackResult, run, details: Details | None = None):
    measured = run.layers if run is not None else [None] * len(result.layers)
    infos = details.rows if details is not None else [None] * len(result.layers)
    return zip(result.layers, measured, infos)


def run_lines(run) -> list[str]:
    if run is None:
        return []
    lines = [
        f"Ran on {printable(str(run.sample))}, batch {run.batch}"
        f"{f' (in parts of {run.part})' if run.part else ''}, {run.dtype}, in {run.seconds * 1000:.1f} ms "
        f"(estimated peak memory {readable_size(run.estimated_bytes)})",
    ]
    if run.saved:
        lines.append(f"Saved the output {shape_text(run.output_shape)} to {printable(str(run.saved))}")
    return lines


def to_markdown(result: StackResult, run=None, details: bool = False, dtype: str = "float32") -> str:
    figures = compute_details(result, dtype)
    headers = _headers(result, run, True, details)
    graph = _is_graph(result)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row, measured, info in _rows(result, run, figures):
        cells = _cells(row, measured, graph, result.source_lines, info, details)
        cells[0] = f"{code_span(printable(row.name))} ({printable(row.type)})"
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    lines.extend(f"- {line}" for line in totals_lines(result, figures) + run_lines(run))
    return "\n".join(lines) + "\n"


def code_span(text: str) -> str:
    """Markdown inline code that no backtick in ``text`` can close early.

    >>> code_span("conv2d"), code_span("a`b")
    ('`conv2d`', '`` a`b ``')
    """
    if "`" not in text:
        return f"`{text}`"
    fence = "`" * (max(len(run) for run in re.findall("`+", text)) + 1)
    return f"{fence} {text} {fence}"


CSV_SHARE_COLUMNS = ("params_percent", "trainable")
CSV_DETAILS_COLUMNS = ("macs", "flops", "receptive_field", "activation_bytes", "param_bytes")  # --details


def to_csv(result: StackResult, run=None, details: bool = False, dtype: str = "float32") -> str:
    figures = compute_details(result, dtype)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    depth = any(row.padding is not None and len(row.padding) == 3 for row in result.layers)
    pad_columns = (CSV_DEPTH_COLUMNS if depth else ()) + ("pad_top", "pad_bottom", "pad_left", "pad_right")
    columns = CSV_COLUMNS[:6] + pad_columns + CSV_COLUMNS[10:]
    writer.writerow(columns + (("measured_shape", "seconds") if run is not None else ()) + ("connected_to",)
                    + (("line",) if result.source_lines else ()) + CSV_SHARE_COLUMNS
                    + (CSV_DETAILS_COLUMNS if details else ()))
    for row, measured, info in _rows(result, run, figures):
        extra = [] if measured is None else [shape_text(measured.measured_shape), f"{measured.seconds:.6f}"]
        figures_cells = ["" if info.params_percent is None else f"{info.params_percent:g}",
                         "partly" if info.trainable == "partly" else str(bool(info.trainable)).lower()]
        if details:
            figures_cells += ["" if v is None else int_text(v) for v in (info.macs, info.flops)]
            figures_cells += [field_text(info.receptive_field) if info.receptive_field is not None else "",
                              "" if info.activation_bytes is None else int_text(info.activation_bytes),
                              int_text(info.param_bytes)]
        pads = padding_dict(row.padding) or {}
        writer.writerow(
            [
                printable(row.name), printable(row.type), printable(row.spec), printable(row.data_format),
                shape_text(row.input_shape), shape_text(row.output_shape),
                *(_csv_side(pads, column[len("pad_"):]) for column in pad_columns),
                shape_text(row.kernel_shape), int_text(row.params), int_text(row.trainable_params),
                int_text(row.non_trainable_params), *extra, printable(" ".join(row.connected_to)),
                *(("" if row.line is None else str(row.line),) if result.source_lines else ()),
                *figures_cells,
            ]
        )
    return out.getvalue()


def _csv_side(pads: dict, side: str) -> str:
    """A side's padding in a CSV cell: empty where the layer has no such side, ``?`` where it is unknown."""
    if side not in pads:
        return ""
    return _side_text(pads[side])


# Rich measures and lays out every cell, which takes seconds for thousands of rows: bigger tables are
# drawn by plain_table, in the same box characters, without wrapping
RICH_TABLE_ROWS = 1000
RIGHT_ALIGNED = ("Param #", "Time", "Line", "%", "MACs", "Act. memory", "Param memory")


def to_table(result: StackResult, run=None, details: bool = False, dtype: str = "float32"):
    """A Rich renderable like ``model.summary()``: a table, then the totals.

    Cells are :class:`rich.text.Text`: a name like ``[bold red]boom`` is shown as written, never as markup.
    """
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    figures = compute_details(result, dtype)
    table = Table(show_lines=False)
    for header in _narrow(_headers(result, run, True, details), details):
        table.add_column(header, justify="right" if header in RIGHT_ALIGNED else "left")
    graph = _is_graph(result)
    for row, measured, info in _rows(result, run, figures):
        cells = _narrow(_cells(row, measured, graph, result.source_lines, info, details), details)
        table.add_row(*(Text(cell) for cell in cells))
    return Group(table, Text("\n".join(totals_lines(result, figures) + run_lines(run))))


def table_text(result: StackResult, run=None, console=None, details: bool = False, dtype: str = "float32") -> str:
    """The table and totals as text: Rich's table (on ``console``, for its width and colours) up to
    :data:`RICH_TABLE_ROWS` rows, :func:`plain_table` beyond."""
    if len(result.layers) > RICH_TABLE_ROWS or console is None:
        figures = compute_details(result, dtype)
        headers = _narrow(_headers(result, run, True, details), details)
        graph = _is_graph(result)
        rows = [_narrow(_cells(row, measured, graph, result.source_lines, info, details), details)
                for row, measured, info in _rows(result, run, figures)]
        lines = plain_table(headers, rows, [header in RIGHT_ALIGNED for header in headers])
        return "\n".join(lines + totals_lines(result, figures) + run_lines(run)) + "\n"
    with console.capture() as capture:
        console.print(to_table(result, run, details, dtype))
    return capture.get()


def _width(text: str) -> int:
    if text.isascii():
        return len(text)
    from rich.cells import cell_len  # wide characters take two cells

    return cell_len(text)


def plain_table(headers: list[str], rows: list[list[str]], right: list[bool]) -> list[str]:
    """Lines of a table in Rich's default box (heavy head), one line per row, never wrapped.

    >>> print("\\n".join(plain_table(["Layer", "Param #"], [["conv2d", "1,930"]], [False, True])))
    ┏━━━━━━━━┳━━━━━━━━━┓
    ┃ Layer  ┃ Param # ┃
    ┡━━━━━━━━╇━━━━━━━━━┩
    │ conv2d │   1,930 │
    └────────┴─────────┘
    """
    widths = [_width(header) for header in headers]
    sized = []
    for cells in rows:
        cell_widths = [_width(cell) for cell in cells]
        widths = [max(pair) for pair in zip(widths, cell_widths)]
        sized.append(zip(cells, cell_widths))

    def line(cells) -> str:
        parts = []
        for (cell, width), column, align_right in zip(cells, widths, right):
            fill = " " * (column - width)
            parts.append(f" {fill}{cell} " if align_right else f" {cell}{fill} ")
        return "│" + "│".join(parts) + "│"

    def rule(left: str, fill: str, middle: str, end: str) -> str:
        return left + middle.join(fill * (width + 2) for width in widths) + end

    head = line(zip(headers, (_width(header) for header in headers))).replace("│", "┃")
    return [
        rule("┏", "━", "┳", "┓"), head, rule("┡", "━", "╇", "┩"),
        *(line(cells) for cells in sized),
        rule("└", "─", "┴", "┘"),
    ]


def show_text(array, data_format: str, limit: int = SHOW_LIMIT) -> str:
    """Small outputs as the seed threads print them: NumPy's repr, then each channel as a matrix.

    array : ndarray of shape (n, ..., c) (channels_last) or (n, c, ...) (channels_first)
    """
    import numpy as np  # only --show needs it; the rest of this module renders plain data

    if isinstance(array, dict):  # a model's several outputs, by name
        return "\n\n".join(f"output {printable(name)}:\n{show_text(value, data_format, limit)}"
                             for name, value in array.items())
    if array.size > limit:
        return f"(output of shape {array.shape} has {array.size} values; --show prints at most {limit})"
    parts = [repr(array)]
    channel_axis = -1 if data_format == "channels_last" else 1
    channels = np.moveaxis(array, channel_axis, 1)
    for n, sample in enumerate(channels):
        for c, matrix in enumerate(sample):
            parts.append(f"sample {n}, channel {c}:\n{np.array2string(matrix)}")
    return "\n\n".join(parts)


def models_json(results, dtype: str = "float32") -> str:
    """SPEC 9: one model is SPEC 3's object plus ``"model"``; several are ``{"models": [...]}``."""
    names = results.names or tuple(name for name, _ in results.models)
    objects = [{**stack_dict(result, dtype=dtype), "model": printable(variable), "name": printable(name)}
               for (variable, result), name in zip(results.models, names)]
    notes = list(results.notes)
    if len(objects) == 1 and not notes:
        return dumps(objects[0])
    return dumps({"models": objects, **({"notes": notes} if notes else {})})


def model_heading(name: str, output_format: str) -> str:
    """The line above each model's table (Markdown: a heading)."""
    if output_format == "markdown":
        return f"## Model {code_span(printable(name))}\n\n"
    if output_format == "csv":
        return ""
    return f"Model: {printable(name)}\n"


def model_note(note: str, output_format: str) -> str:
    """A model that could not be read statically, said after the others."""
    if output_format == "csv":
        return ""
    return f"{'- ' if output_format == 'markdown' else ''}Note: {printable(note)}\n"
