"""How ``convcalc port`` shows a port: the SPEC 8 JSON object, or text for a terminal."""

from __future__ import annotations

from .port import FRAMEWORKS, Port, PortRun


def port_dict(port: Port, run: PortRun | None = None) -> dict:
    """The JSON object of SPEC 8: ``layers`` and ``kernel_transform``, then shapes, weights and notes."""
    data = {
        "layers": list(port.layers),
        "kernel_transform": port.kernel_transform,
        "from": port.source,
        "to": port.target,
        "specs": list(port.specs),
        "input_shape": [None, *port.input_shape],
        "output_shape": [None, *port.output_shape],
        "target_input_shape": [None, *port.target_input_shape],
        "target_output_shape": [None, *port.target_output_shape],
        "data_format": port.source_format,
        "target_data_format": port.target_format,
        "weights": [{"source": m.source, "target": m.target, "transpose": list(m.axes) if m.axes else None}
                    for m in port.weights],
        "notes": list(port.notes),
    }
    if run is not None:
        data["run"] = {"seed": run.seed, "max_abs_diff": run.max_abs_diff, "max_abs_output": run.max_abs_output,
                       "output_shape": [1, *run.output_shape]}
    return data


def port_text(port: Port, run: PortRun | None = None) -> str:
    """The port for a terminal: the target layers, one per line, then shapes, weights and notes."""
    shape = "x".join
    lines = [f"{FRAMEWORKS[port.source]} -> {FRAMEWORKS[port.target]}, input "
             f"{shape(map(str, port.input_shape))} ({port.source_format}) -> "
             f"{shape(map(str, port.target_input_shape))} ({port.target_format}):", ""]
    lines += [f"    {layer}" for layer in port.layers]
    lines += ["", f"Output: {shape(map(str, port.output_shape))} -> {shape(map(str, port.target_output_shape))}",
              f"Weights: {port.kernel_transform}"]
    for m in port.weights:
        how = f"np.transpose(w, {m.axes})" if m.axes else "as is"
        lines.append(f"    {m.source} -> {m.target}: {how}")
    lines += [f"Note: {note}" for note in port.notes]
    if run is not None:
        lines.append(f"Run (seed {run.seed}, random weights): max abs difference {run.max_abs_diff:.3g} "
                     f"(outputs up to {run.max_abs_output:.3g}).")
    return "\n".join(lines) + "\n"
