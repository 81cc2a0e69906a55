"""``convcalc explain``: why one convolution layer has the shape, padding and parameters it has.

Every fact is computed from the evaluated stack (the same rows ``shape`` prints) and the formulas of
:mod:`convcalc.formulas`; this module only writes the steps out with the user's numbers and names
the matching relationship of Dumoulin & Visin, "A guide to convolution arithmetic for deep
learning" (arXiv:1603.07285; numbering of its LaTeX source, ``vdumoulin/conv_arithmetic``).
The result is plain data (a dict that is also the JSON answer); :mod:`convcalc.explain_view`
draws it.  Standard library only.
"""

from __future__ import annotations

from typing import Any

from . import formulas
from .errors import ConvcalcError
from .result import LayerRow, StackResult

GUIDE = 'Dumoulin & Visin, "A guide to convolution arithmetic for deep learning" (arXiv:1603.07285)'

# The guide's relationships by number (one counter through the whole guide).
RELATIONSHIPS = {
    1: "no zero padding, unit strides: o = (i - k) + 1",
    2: "zero padding, unit strides: o = (i - k) + 2p + 1",
    3: "half (same) padding, unit strides, odd k: o = i",
    4: "full padding, unit strides: o = i + (k - 1)",
    5: "no zero padding, non-unit strides: o = floor((i - k) / s) + 1",
    6: "zero padding, non-unit strides: o = floor((i + 2p - k) / s) + 1",
    8: "transposed, no zero padding, unit strides: p' = k - 1, o' = i' + (k - 1)",
    9: "transposed, zero padding, unit strides: p' = k - p - 1, o' = i' + (k - 1) - 2p",
    10: "transposed, half (same) padding, unit strides: p' = p, o' = i'",
    12: "transposed, no zero padding, non-unit strides: stretched input, p' = k - 1, o' = s(i' - 1) + k",
    14: "transposed, zero padding, non-unit strides, with a: o' = s(i' - 1) + a + k - 2p",
    15: "dilated convolution: k becomes k + (k - 1)(d - 1), o = floor((i + 2p - k - (k - 1)(d - 1)) / s) + 1",
}

AXIS_NAMES = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}
DIRECT = ("Conv1D", "Conv2D", "Conv3D")
TRANSPOSED = ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")


def relationship(number: int) -> dict[str, Any]:
    """The guide's relationship ``number`` as data.

    >>> relationship(6)["number"], relationship(6)["title"].split(":")[0]
    (6, 'zero padding, non-unit strides')
    """
    return {"number": number, "title": RELATIONSHIPS[number]}


def pick_row(result: StackResult, layer: str | None) -> LayerRow:
    """The row ``--layer`` names: a 1-based position or a layer name; the only convolution when omitted."""
    rows = [row for row in result.layers if row.depth == 0]
    if layer is None:
        convs = [row for row in rows if row.type in DIRECT + TRANSPOSED]
        if len(rows) == 1 or len(convs) == 1:
            return convs[0] if convs else rows[0]
        raise ConvcalcError(f"the stack has {len(rows)} layers; pick the one to explain with --layer N "
                            f"(1 to {len(rows)}) or --layer NAME.")
    if layer.isdigit():
        position = int(layer)
        if not 1 <= position <= len(rows):
            raise ConvcalcError(f"--layer {layer}: the stack has {len(rows)} layers (1 to {len(rows)}).")
        return rows[position - 1]
    for row in rows:
        if row.name == layer:
            return row
    raise ConvcalcError(f"--layer {layer!r}: no layer of that name; the layers are "
                        f"{', '.join(row.name for row in rows[:12])}.")


def data_format_reason(result: StackResult, row: LayerRow) -> tuple[str, str]:
    """(source, sentence): which data_format applied to the row and why (SPEC 3's order)."""
    if row.layer is not None and row.layer.data_format is not None:
        return "layer", f"the layer's own data_format={row.data_format!r}"
    source = result.data_format.source
    if source == "--data-format":
        return source, f"--data-format {row.data_format}"
    if source == "default":
        return source, ("Keras's default, channels_last (no data_format= on the layer, no --data-format, "
                        "no image_data_format in keras.json)")
    if source == "layer":
        return source, f"the first layer's data_format={row.data_format!r}"
    if source.endswith("keras.json"):
        return source, f"image_data_format in {source} (no data_format= on the layer, no --data-format)"
    return source, f"data_format in {source} (no data_format= on the layer, no --data-format)"


def _split(shape: tuple, data_format: str) -> tuple[tuple, Any]:
    """(spatial sizes, channels) of a shape with its batch axis."""
    if data_format == "channels_last":
        return tuple(shape[1:-1]), shape[-1]
    return tuple(shape[2:]), shape[1]


def _direct_axis(name: str, n: int, k: int, s: int, d: int, mode: str, pads: tuple[int, int], out: int) -> dict:
    ke = formulas.effective_kernel(k, d)
    steps = [{"what": "effective kernel", "formula": "ke = d*(k-1) + 1",
              "substituted": f"ke = {d}*({k}-1) + 1 = {ke}", "value": ke,
              "relationship": relationship(15) if d > 1 else None}]
    before, after = pads
    total = before + after
    if mode == "valid":
        steps.append({"what": "output size", "formula": "out = floor((n - ke) / s) + 1",
                      "substituted": f"out = floor(({n} - {ke}) / {s}) + 1 = {out}", "value": out,
                      "relationship": relationship(15 if d > 1 else 1 if s == 1 else 5)})
        steps.append({"what": "padding", "formula": "valid: no padding", "substituted": "before = 0, after = 0",
                      "value": 0, "relationship": None})
    else:
        if mode == "causal":
            steps.append({"what": "output size", "formula": "out = n (causal)", "substituted": f"out = {out}",
                          "value": out, "relationship": None})
            steps.append({"what": "padding", "formula": "causal: before = d*(k-1), after = 0",
                          "substituted": f"before = {d}*({k}-1) = {before}, after = 0", "value": total,
                          "relationship": None})
        else:
            steps.append({"what": "output size", "formula": "same: out = ceil(n / s)",
                          "substituted": f"out = ceil({n} / {s}) = {out}", "value": out, "relationship": None})
            steps.append({"what": "total padding", "formula": "total = max((out-1)*s + ke - n, 0)",
                          "substituted": f"total = max(({out}-1)*{s} + {ke} - {n}, 0) = {total}", "value": total,
                          "relationship": None})
            odd = " (the odd pixel goes after: bottom/right, as TensorFlow splits it)" if total % 2 else ""
            steps.append({"what": "padding split", "formula": "before = total // 2, after = total - before",
                          "substituted": f"before = {total} // 2 = {before}, after = {total} - {before} = {after}{odd}",
                          "value": total, "relationship": None})
        number = 15 if d > 1 else (1 if total == 0 else 3 if before == after and ke % 2 else 2) if s == 1 else (
            5 if total == 0 else 6)
        steps.append({"what": "check: a direct convolution over the padded input",
                      "formula": "out = floor((n + before + after - ke) / s) + 1",
                      "substituted": f"out = floor(({n} + {before} + {after} - {ke}) / {s}) + 1 = {out}",
                      "value": formulas.conv_output_length(n + total, k, s, "valid", d), "relationship": relationship(number),
                      "note": "the guide pads p on both sides; here 2p is before + after" if before != after else None})
    return {"axis": name, "input": n, "kernel_size": k, "strides": s, "dilation_rate": d, "effective_kernel": ke,
            "padding_mode": mode, "padding": {"before": before, "after": after, "total": total}, "output": out,
            "padded_input": n + total, "steps": steps}


def _transposed_axis(name: str, n: int, k: int, s: int, d: int, mode: str, op, pads: tuple[int, int], out: int) -> dict:
    ke = formulas.effective_kernel(k, d)
    before, after = pads
    stretched = formulas.stretched_length(n, s)
    steps = [{"what": "effective kernel", "formula": "ke = d*(k-1) + 1",
              "substituted": f"ke = {d}*({k}-1) + 1 = {ke}", "value": ke,
              "relationship": relationship(15) if d > 1 else None}]
    steps.append({"what": "stride-dilated input", "formula": "n' = n + (n-1)*(s-1)  (s-1 zeros between pixels)",
                  "substituted": f"n' = {n} + ({n}-1)*({s}-1) = {stretched}", "value": stretched,
                  "relationship": relationship(12) if s > 1 else None})
    if mode == "valid":
        extra = op if op is not None else formulas.default_output_padding(k, s, d)
        how = f"output_padding = {op}" if op is not None else f"op = max(ke, s) - ke = max({ke}, {s}) - {ke} = {extra}"
        steps.append({"what": "padding of the equivalent convolution", "formula": "before = ke - 1, after = ke - 1 + op",
                      "substituted": f"{how}; before = {ke} - 1 = {before}, after = {ke} - 1 + {extra} = {after}",
                      "value": before + after, "relationship": None})
        keras = f"out = (n-1)*s + ke + op = ({n}-1)*{s} + {ke} + {extra} = {out}"
    else:
        if op is None:
            pad_text = f"pad_len = s + ke - 2 = {s} + {ke} - 2 = {before + after}"
            keras = f"same: out = n*s = {n}*{s} = {out}"
        else:
            pad_text = f"pad_len = ke + ke%2 - 2 + op = {ke} + {ke % 2} - 2 + {op} = {before + after}"
            keras = f"same: out = (n-1)*s + ke%2 + op = ({n}-1)*{s} + {ke % 2} + {op} = {out}"
        steps.append({"what": "padding of the equivalent convolution",
                      "formula": "before = min(pad_len//2 + pad_len%2, ke-1), after = pad_len - before",
                      "substituted": f"{pad_text}; before = min({(before + after) // 2} + {(before + after) % 2}, "
                                     f"{ke - 1}) = {before}, after = {before + after} - {before} = {after}"
                                     + (" (the odd pixel goes before: top/left, as Keras computes it)"
                                        if before > after else ""),
                      "value": before + after, "relationship": None})
    if s == 1:
        number = 8 if mode == "valid" and before == after == ke - 1 else 10 if before == after and ke % 2 else 9
    else:
        number = 12 if mode == "valid" and before == after == ke - 1 else 14
    steps.append({"what": "equivalent direct convolution (stride 1, flipped kernel, over the padded stretched input)",
                  "formula": "out = n' + before + after - ke + 1",
                  "substituted": f"out = {stretched} + {before} + {after} - {ke} + 1 = {out}",
                  "value": formulas.conv_output_length(stretched + before + after, k, 1, "valid", d),
                  "relationship": relationship(number),
                  "note": "the guide pads p' on both sides (and a more at the bottom/right); Keras's split is "
                          f"({before}, {after})" if before != after else None})
    steps.append({"what": "output size, as Keras writes it", "formula": keras.split(" = ")[0] + " = ...",
                  "substituted": keras, "value": out, "relationship": None})
    return {"axis": name, "input": n, "kernel_size": k, "strides": s, "dilation_rate": d, "effective_kernel": ke,
            "padding_mode": mode, "output_padding": op, "stretched_input": stretched,
            "padding": {"before": before, "after": after, "total": before + after}, "output": out,
            "padded_input": stretched + before + after, "steps": steps}


def _channels(row: LayerRow, c_in: int, transposed: bool) -> dict:
    a = row.layer.args
    kernel = tuple(row.kernel_shape)
    taps = list(a["kernel_size"])
    filters = a["filters"]
    bias = filters if a["use_bias"] else 0
    tap_text = "*".join(map(str, taps))
    if transposed:
        per = formulas.weight_count(kernel) // filters
        kernel_count = formulas.weight_count(kernel)
        formula = f"{tap_text}*{filters}*{c_in}"
        story = (f"Each of the {filters} output channels sums, at every output position, the products of "
                 f"{' x '.join(map(str, taps))} x {c_in} weights with the {c_in} input channels of the pixels that "
                 f"reach it, plus one bias: {per} weights per filter.")
        groups = 1
    else:
        groups = a["groups"]
        per_group = c_in // groups
        per = formulas.weight_count(kernel) // filters
        kernel_count = formulas.weight_count(kernel)
        formula = f"{tap_text}*{c_in}/{groups}*{filters}" if groups > 1 else f"{tap_text}*{c_in}*{filters}"
        spans = " x ".join(map(str, taps + [per_group]))
        story = (f"{'Each of the ' + str(filters) + ' kernels' if filters > 1 else 'The one kernel'} spans {spans} = {per} weights: at every output position it "
                 f"multiplies them with the {per_group} input channel{'s' if per_group > 1 else ''} under it "
                 f"({'all of them' if groups == 1 else f'its group of {per_group}'}) and sums the products over "
                 f"all of them into one number, plus {'one bias' if bias else 'no bias (use_bias=False)'}"
                 f": {per + (1 if bias else 0)} parameters per output channel.")
    return {
        "input_channels": c_in, "filters": filters, "groups": groups, "story": story,
        "params": {"kernel": {"shape": list(kernel), "formula": formula, "count": kernel_count},
                   "bias": bias, "total": row.params,
                   "sum": f"{kernel_count} + {bias} = {kernel_count + bias}"},
    }


def _apart(row: LayerRow, c_in: int, compute_total) -> list[dict]:
    """Specs that keep the input channels apart, with their parameter counts (computed by convcalc)."""
    a = row.layer.args
    kernel = a["kernel_size"]
    k = kernel[0] if len(set(kernel)) == 1 else tuple(kernel)
    common = "".join(
        f", {key}={value!r}" for key, value, default in (
            ("strides", _plain(a["strides"]), 1), ("padding", a["padding"], "valid"),
            ("dilation_rate", _plain(a["dilation_rate"]), 1))
        if value != default)
    bias = "" if a["use_bias"] else ", use_bias=False"
    rank = len(kernel)
    filters = a["filters"]
    multiple = max(1, -(-filters // c_in))
    options = []
    if row.type in DIRECT:
        conv = f"Conv{rank}D({c_in * multiple}, {k}{common}, groups={c_in}{bias})"
        options.append((conv, f"groups={c_in}: each output channel sees one input channel "
                              f"({multiple} per input channel); filters must be a multiple of {c_in}"))
    if rank in (1, 2):
        depth = f"DepthwiseConv{rank}D({k}{common}{bias})"
        options.append((depth, "one kernel per input channel, no sum across channels"))
        if filters != c_in:
            sep = f"SeparableConv{rank}D({filters}, {k}{common}{bias})"
            options.append((sep, f"depthwise, then a 1x1 convolution mixing the channels into {filters}"))
    answer = []
    for spec, why in options:
        try:
            params = compute_total(spec)
        except ConvcalcError:
            continue
        answer.append({"spec": spec, "params": params, "why": why})
    return answer


def _plain(value):
    if isinstance(value, tuple) and len(set(value)) == 1:
        return value[0]
    return value


def explain_row(result: StackResult, row: LayerRow, compute_total=None) -> dict[str, Any]:
    """Everything ``explain`` says about one row, as JSON-ready data.

    ``compute_total(spec)`` gives the parameter count of another spec on the same input (used for the
    ways to keep channels apart); without it that list is empty.
    """
    if row.type not in DIRECT + TRANSPOSED or row.layer is None:
        raise ConvcalcError(f"explain covers Conv1D/2D/3D and their transposes; layer {row.index} "
                            f"{row.spec} is a {row.type}.")
    transposed = row.type in TRANSPOSED
    a = row.layer.args
    spatial_in, c_in = _split(row.input_shape, row.data_format)
    spatial_out, _ = _split(row.output_shape, row.data_format)
    if any(n is None for n in spatial_in) or c_in is None:
        raise ConvcalcError(f"explain needs every size of the input known; layer {row.index} {row.spec} "
                            f"has input {tuple(row.input_shape)}.")
    names = AXIS_NAMES[len(spatial_in)]
    ops = a.get("output_padding") or (None,) * len(spatial_in)
    axes = []
    for i, name in enumerate(names):
        args = (name, spatial_in[i], a["kernel_size"][i], a["strides"][i], a["dilation_rate"][i], a["padding"])
        if transposed:
            axes.append(_transposed_axis(*args, ops[i], row.padding[i], spatial_out[i]))
        else:
            axes.append(_direct_axis(*args, row.padding[i], spatial_out[i]))
    source, why = data_format_reason(result, row)
    channel_axis = "last" if row.data_format == "channels_last" else "first after the batch"
    apart = _apart(row, c_in, compute_total) if compute_total is not None else []
    if transposed:
        apart_note = "Conv2DTranspose has no groups= in Keras 3; a DepthwiseConv2D after an UpSampling2D keeps channels apart."
    else:
        apart_note = None
    return {
        "layer": {"index": row.index, "name": row.name, "type": row.type, "spec": row.spec},
        "data_format": {"value": row.data_format, "source": source, "why": why,
                        "reading": f"the input {tuple(row.input_shape)} has its channels {channel_axis}: "
                                   f"{' x '.join(map(str, spatial_in))} ({', '.join(names)}) with {c_in} channels"},
        "input_shape": list(row.input_shape),
        "output_shape": list(row.output_shape),
        "transposed": transposed,
        "axes": axes,
        "channels": _channels(row, c_in, transposed),
        "keep_channels_apart": apart,
        "keep_channels_apart_note": apart_note,
        "guide": GUIDE,
    }


def explain_request(layer: str | None, file, layer_pick: str | None, input_text: str | None,
                    data_format: str | None) -> tuple[dict[str, Any], StackResult]:
    """Compute the stack the way ``shape`` does, pick the row and explain it."""
    from .request import ShapeRequest, compute_request

    if (layer is None) == (file is None):
        raise ConvcalcError("give one layer spec, e.g. convcalc explain \"Conv2D(8, 3)\" --input 32x32x3, "
                            "or --file FILE with --layer N.")
    if layer is not None and layer_pick is not None:
        raise ConvcalcError("--layer picks a layer of --file; with a spec on the command line, leave it out.")
    request = ShapeRequest(layers=(layer,) if layer is not None else (), file=file,
                           input=(input_text,) if input_text is not None else (), data_format=data_format)
    result, _ = compute_request(request)
    if not isinstance(result, StackResult):  # a Python source: its models, by variable
        if len(result.models) != 1:
            names = ", ".join(name for name, _ in result.models)
            raise ConvcalcError(f"{file} builds several models ({names}); explain reads one: give the model's "
                                f"layer to `convcalc shape --file {file} --model NAME` to see them.")
        result = result.models[0][1]
    row = pick_row(result, layer_pick)
    input_text_row = "x".join(str(n) for n in row.input_shape[1:])

    def compute_total(spec: str) -> int:
        other = ShapeRequest(layers=(spec,), input=(input_text_row,), data_format=row.data_format)
        return compute_request(other)[0].total_params

    return explain_row(result, row, compute_total), result

