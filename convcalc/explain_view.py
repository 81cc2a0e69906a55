"""Drawing ``convcalc explain``: the steps as text, and a picture of the padded input per axis.

The picture is one strip of cells per spatial axis (the width strip is the padded input along the
first output row): ``p`` a padding zero, ``x`` an input pixel, ``z`` a zero inserted between pixels
by a transposed convolution; under it, one line per kernel placement with ``#`` on the cells the
kernel's taps read.  Axes longer than :data:`DRAW_LIMIT` cells get a scaled sketch that still says
how many padding cells each side has.  Cells are plain text (no Rich markup is ever parsed); colour
only when the console has it.
"""

from __future__ import annotations

import json
from typing import Any

DRAW_LIMIT = 40  # cells per axis drawn one by one
PLACEMENTS = 4  # kernel placements drawn under each strip
STYLES = {"p": "dim", "x": "bold cyan", "z": "yellow", "#": "bold magenta", ".": "dim", "-": "dim"}


def _cells(axis: dict[str, Any]) -> list[str]:
    """The padded (and, for a transposed layer, stretched) input along one axis, cell by cell."""
    before, after = axis["padding"]["before"], axis["padding"]["after"]
    if "stretched_input" in axis:
        s, n = axis["strides"], axis["input"]
        middle = ["x" if i % s == 0 else "z" for i in range(axis["stretched_input"])]
        assert middle.count("x") == n
    else:
        middle = ["x"] * axis["input"]
    return ["p"] * before + middle + ["p"] * after


def _taps(axis: dict[str, Any], placement: int) -> list[int]:
    """The padded-input cells read by kernel placement ``placement`` (stride 1 for a transposed layer's
    equivalent convolution)."""
    step = 1 if "stretched_input" in axis else axis["strides"]
    start = placement * step
    return [start + t * axis["dilation_rate"] for t in range(axis["kernel_size"])]


def strip_lines(axis: dict[str, Any]) -> list[list[tuple[str, str | None]]]:
    """Lines of (text, style) segments for one axis: heading, cells, placements or the sketch."""
    before, after = axis["padding"]["before"], axis["padding"]["after"]
    inner = axis.get("stretched_input", axis["input"])
    total = axis["padded_input"]
    heading = f"{axis['axis']}: {before} padding + {inner} {'stretched input' if 'stretched_input' in axis else 'input'} " \
              f"+ {after} padding = {total} cells; output {axis['output']}"
    if axis["axis"] in ("width", "steps"):
        heading += " (along the first output row)"
    lines: list[list[tuple[str, str | None]]] = [[(heading, None)]]
    count = min(axis["output"], PLACEMENTS)
    if total <= DRAW_LIMIT:
        cells = _cells(axis)
        lines.append([("  input   ", None)] + [(c + " ", STYLES[c]) for c in cells])
        for j in range(count):
            taps = set(_taps(axis, j))
            first, last = min(taps), max(taps)
            row = []
            for i in range(total):
                mark = "#" if i in taps else "-" if first < i < last else "."
                row.append((mark + " ", STYLES[mark]))
            lines.append([(f"  out {j:<4}", None)] + row)
        if axis["output"] > count:
            lines.append([(f"  ... {axis['output'] - count} more placements", None)])
        return lines
    # too long to draw: a sketch with the counts
    show = 3
    sketch = [("  sketch  ", None), ("p" * min(before, show) + ("…" if before > show else ""), STYLES["p"]),
              ("|", None), ("x" * show + "…" + "x" * show, STYLES["x"]), ("|", None),
              ("p" * min(after, show) + ("…" if after > show else ""), STYLES["p"]),
              (f"   ({before} padding before, {inner} {'stretched ' if 'stretched_input' in axis else ''}input, "
               f"{after} padding after)", None)]
    lines.append(sketch)
    for j in range(min(count, 2)):
        taps = _taps(axis, j)
        pads = sum(1 for t in taps if t < before or t >= before + inner)
        lines.append([(f"  out {j:<4}reads cells {taps[0]}..{taps[-1]} of the padded input "
                       f"({len(taps)} taps, {pads} on padding)", None)])
    return lines


def legend(transposed: bool) -> str:
    text = "p padding zero, x input pixel"
    if transposed:
        text += ", z zero inserted between pixels (strides)"
    return text + "; # a kernel tap of that output position, - skipped by dilation"


def explain_text(data: dict[str, Any], color: bool = False, width: int = 100) -> str:
    """The whole explanation, as text (ANSI colours only when ``color``)."""
    out: list[list[tuple[str, str | None]]] = []

    def say(text: str = "", style: str | None = None) -> None:
        out.append([(text, style)])

    layer = data["layer"]
    say(f"{layer['name']} ({layer['type']}): {layer['spec']}", "bold")
    say(f"input {_shape(data['input_shape'])} -> output {_shape(data['output_shape'])}")
    fmt = data["data_format"]
    say(f"data_format: {fmt['value']}, from {fmt['why']}; {fmt['reading']}.")
    for axis in data["axes"]:
        say()
        say(f"{axis['axis'].capitalize()} (n={axis['input']}, k={axis['kernel_size']}, s={axis['strides']}, "
            f"d={axis['dilation_rate']}, padding={axis['padding_mode']!r}"
            + (f", output_padding={axis['output_padding']}" if axis.get("output_padding") is not None else "") + "):",
            "bold")
        for number, step in enumerate(axis["steps"], start=1):
            rel = step.get("relationship")
            cite = f"  [Relationship {rel['number']}: {rel['title']}]" if rel else ""
            say(f"  {number}. {step['what']}: {step['substituted']}{cite}")
            if step.get("note"):
                say(f"     ({step['note']})")
    say()
    say("Picture (" + legend(data["transposed"]) + "):", "bold")
    for axis in data["axes"]:
        out.extend(strip_lines(axis))
    channels = data["channels"]
    say()
    say("Channels:", "bold")
    say("  " + channels["story"])
    params = channels["params"]
    say(f"  Parameters: kernel {_shape(params['kernel']['shape'])} = {params['kernel']['formula']} = "
        f"{params['kernel']['count']:,}, bias {params['bias']:,}; total {params['sum']}"
        + ("" if params["total"] == params["kernel"]["count"] + params["bias"] else f" (with adapters: {params['total']:,})"))
    if data["keep_channels_apart"] or data.get("keep_channels_apart_note"):
        say("  To keep the channels apart:")
        for option in data["keep_channels_apart"]:
            say(f"    {option['spec']}: {option['params']:,} parameters ({option['why']})")
        if data.get("keep_channels_apart_note"):
            say("    " + data["keep_channels_apart_note"])
    say()
    say(f"Relationships: {data['guide']}.")
    return _render(out, color, width)


def _shape(shape) -> str:
    return "(" + ", ".join("None" if n is None else str(n) for n in shape) + ")"


def _render(lines, color: bool, width: int) -> str:
    if not color:
        return "".join("".join(text for text, _ in line) + "\n" for line in lines)
    import io

    from rich.console import Console
    from rich.text import Text

    console = Console(file=io.StringIO(), force_terminal=True, color_system="standard", width=width,
                      highlight=False, emoji=False, markup=False)
    for line in lines:
        text = Text(no_wrap=True, overflow="ignore")
        for part, style in line:
            text.append(part, style=style or "")
        console.print(text, soft_wrap=True)
    return console.file.getvalue()


def explain_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2) + "\n"
