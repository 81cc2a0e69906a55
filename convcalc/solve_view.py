"""``convcalc solve``'s answers as text (a table) or JSON; nothing here computes.

JSON of one layer (SPEC 8, with more keys)::

    {"input": [75, 75], "target": [38, 38], "count": 50,
     "search": {"layers": ["Conv2D", "Conv2DTranspose"], "max_kernel": 7, "max_stride": 4, "max_dilation": 4},
     "solutions": [{"spec": "Conv2D(1, 1, strides=2)", "output": [38, 38], "layer": "Conv2D",
                    "kernel_size": [1, 1], "strides": [2, 2], "padding": "valid",
                    "dilation_rate": [1, 1], "output_padding": null}, ...]}

JSON of a stack: see :func:`stack_json`.
"""

from __future__ import annotations

import json

from .solve import Mirror, SizeSet, Solutions, StackSolution


def _arg(values) -> str:
    """An argument as a spec writes it: one int when every axis agrees, else the tuple."""
    return str(values[0]) if len(set(values)) == 1 else f"({', '.join(map(str, values))})"


def _x(sizes) -> str:
    return "x".join("?" if s is None else str(s) for s in sizes)


def layer_json(result: Solutions) -> str:
    """SPEC 8's object: ``solutions`` (the shown ones, simplest first) and the search it came from."""
    r = result.ranges
    data = {
        "input": list(result.input),
        "target": list(result.target),
        "count": len(result.solutions),
        "search": {"layers": list(result.layers), "max_kernel": r.max_kernel, "max_stride": r.max_stride,
                   "max_dilation": r.max_dilation},
        "solutions": [
            {"spec": s.spec, "output": list(s.output), "layer": s.layer, "kernel_size": list(s.kernel_size),
             "strides": list(s.strides), "padding": s.padding, "dilation_rate": list(s.dilation_rate),
             "output_padding": list(s.output_padding) if s.output_padding is not None else None}
            for s in result.shown
        ],
    }
    return json.dumps(data) + "\n"


def layer_text(result: Solutions) -> str:
    """A numbered list of specs with their outputs, and how many were left out."""
    r = result.ranges
    what = " or ".join(result.layers)
    head = (f"{what} layers mapping {_x(result.input)} to {_x(result.target)}, simplest first "
            f"(kernel_size 1..{r.max_kernel}, strides 1..{r.max_stride}, dilation_rate 1..{r.max_dilation}):\n")
    if not result.solutions:
        return head + "  none\n"
    shown = result.shown
    width = max(len(s.spec) for s in shown)
    lines = [f"  {'#':>3}  {'spec':<{width}}  output"]
    lines += [f"  {i:>3}  {s.spec:<{width}}  {_x(s.output)}" for i, s in enumerate(shown, start=1)]
    text = head + "\n".join(lines) + "\n"
    if len(shown) < len(result.solutions):
        text += f"{len(shown)} of {len(result.solutions)} shown; --limit 0 shows all.\n"
    return text


def _sizes_json(size_set: SizeSet) -> dict:
    return {"axis": size_set.axis, "rule": size_set.rule, "first": size_set.sizes[0] if size_set.sizes else None,
            "step": size_set.step, "up_to": size_set.up_to, "sizes": list(size_set.sizes)}


def _mirror_json(m: Mirror) -> dict:
    return {
        "layer": m.index, "name": m.name, "spec": m.spec, "input": list(m.input) if m.input else None,
        "mirrors": None if m.encoder_index is None else {"layer": m.encoder_index, "name": m.encoder_name,
                                                         "size": list(m.target)},
        "output_padding": list(m.output_padding) if m.output_padding is not None else None,
        "needed_output_padding": list(m.needed) if m.needed is not None else None,
        "fixed_spec": m.fixed_spec, "reason": m.reason,
    }


def stack_json(result: StackSolution) -> str:
    """The stack's answer: ``min_input`` (per spatial axis), ``no_dropped_inputs`` and ``exact_inputs``
    (one object per axis: ``axis``, ``rule``, ``first``, ``step``, ``up_to``, ``sizes``), ``mirror``
    (one object per strided upsampling layer), ``fixed_layers`` and ``fixed_output``, ``notes``."""
    data = {
        "source": result.source,
        "data_format": result.data_format,
        "input": [result.input[a] for a in result.spatial],
        "min_input": list(result.min_input),
        "no_dropped_inputs": [_sizes_json(s) for s in result.no_dropped],
        "exact_inputs": [_sizes_json(s) for s in result.exact],
        "mirror": None if result.mirror is None else [_mirror_json(m) for m in result.mirror],
        "fixed_layers": list(result.fixed_layers) if result.fixed_layers is not None else None,
        "fixed_output": list(result.fixed_output) if result.fixed_output is not None else None,
        "notes": list(result.notes),
    }
    return json.dumps(data) + "\n"


def _per_axis(sets: tuple[SizeSet, ...]) -> str:
    rules = {s.rule for s in sets}
    if len(rules) == 1:
        return rules.pop()
    return "; ".join(f"{s.axis}: {s.rule}" for s in sets)


def stack_text(result: StackSolution) -> str:
    """The stack's answer in sentences, then the fixed stack."""
    spatial = [result.input[a] for a in result.spatial]
    bound = result.exact[0].up_to if result.exact else 0
    lines = [
        f"Stack {result.source or '(layer specs)'}, input {_x(result.input)} ({result.data_format}):",
        f"  smallest input with every output positive: {_x(result.min_input)}",
        f"  sizes where no layer drops pixels to flooring (up to {bound}): {_per_axis(result.no_dropped)}",
        f"  sizes where no strided layer rounds its output (up to {bound}): {_per_axis(result.exact)}",
    ]
    if result.mirror:
        lines.append(f"Decoder mirroring the encoder at {_x(spatial)}:")
        for m in result.mirror:
            where = f"layer {m.index} {m.name}"
            if m.encoder_index is None:
                lines.append(f"  {where}: {m.reason}")
            elif m.mirrors and m.fixed_spec is not None:
                lines.append(f"  {where} restores {_x(m.target)} (the input of layer {m.encoder_index} "
                             f"{m.encoder_name}) with output_padding={_arg(m.output_padding)}")
            elif m.mirrors:
                lines.append(f"  {where} restores {_x(m.target)} (the input of layer {m.encoder_index} "
                             f"{m.encoder_name}) as it is")
            else:
                lines.append(f"  {where} cannot restore {_x(m.target)} (the input of layer {m.encoder_index} "
                             f"{m.encoder_name}): {m.reason}")
    elif result.mirror is not None:
        lines.append("No strided Conv2DTranspose or UpSampling layer: nothing to mirror.")
    if result.fixed_layers is not None and any(m.fixed_spec for m in result.mirror or ()):
        output = f" (output {_x(result.fixed_output[1:])})" if result.fixed_output is not None else ""
        lines.append(f"Stack with these output_paddings{output}:")
        lines += [f"  {spec}" for spec in result.fixed_layers]
    lines += [f"Note: {note}" for note in result.notes]
    return "\n".join(lines) + "\n"
