#!/usr/bin/env python
"""Generate tests/data/golden_torch/ from real PyTorch (and Keras, for the port cases).

Layer cases (``layers`` in index.json): random ``nn.Conv2d`` / ``nn.ConvTranspose2d``
configurations written as a user types them (positional and keyword arguments,
``nn.`` or ``torch.nn.``), each built by PyTorch and called on a random NCHW batch:
the output shape, the parameter count, the weight shape, ``Conv2d``'s own per-side
padding (``_reversed_padding_repeated_twice``: left, right, top, bottom) and the output,
or PyTorch's exception (on construction or in forward) with its message.  A share of
the cases break a rule on purpose (strided 'same', groups, output_padding, padding
modes, kernels larger than the padded input, too small transposed outputs, channel
mismatches, string padding on ConvTranspose2d).

Port cases (``ports``): random Keras Conv2D / Conv2DTranspose layers and random
PyTorch layers, ported with ``convcalc port`` (convcalc/port.py, standard library
only, loaded from this checkout), then run by both real frameworks: Keras on ``x``
with weights ``W``, PyTorch on the ported layers with the weights converted as the
port says.  The script asserts that the two agree (a wrong port fails here, against
the real frameworks) and records both outputs; the Keras -> PyTorch cases are ported
back to Keras and run again, so the round trip is checked by Keras too.

Files (together well under 1 MB):

- ``index.json``: the cases (specs, input shapes, expected figures, array names).
- ``cases.npz`` (compressed): ``<id>/x``, ``<id>/y``, ``<id>/weight``, ``<id>/bias``
  for layer cases; ``<id>/x``, ``<id>/y_keras``, ``<id>/y_torch``, ``<id>/w/<name>``
  (source layout, convcalc's weight names) for port cases.

Run it (only this script needs torch and TensorFlow; the project and its tests do not):

    /work/tfvenv/bin/python scripts/make_golden_torch.py [--seed N] [--out DIR]
"""

import ast
import io
import os
import random
import sys
import warnings
import zipfile

import numpy as np

import golden_common as common

DEFAULT_OUT = common.REPO_ROOT / "tests" / "data" / "golden_torch"
DEFAULT_SEED = 1313
MAX_BYTES = 2**20
N_LAYERS = 200
N_KERAS_PORTS = 40
N_TORCH_PORTS = 30

CONV_ORDER = ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias",
              "padding_mode"]
TRANSPOSE_ORDER = ["in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups",
                   "bias", "dilation"]


def size(rng, low, high, square=0.6):
    """An int or a pair, as users write kernel_size/stride/padding."""
    a, b = common.random_pair(rng, low, high, square)
    return a if a == b and rng.random() < 0.7 else (a, b)


def torch_spec(cls, kwargs, rng):
    """The call as a user types it: a random number of leading arguments positional, a random prefix."""
    order = CONV_ORDER if cls == "Conv2d" else TRANSPOSE_ORDER
    n = 0
    while n < len(order) and order[n] in kwargs and rng.random() < 0.75:
        n += 1
    n = max(n, 2)
    positional = [kwargs[name] for name in order[:n]]
    keywords = [(k, v) for k, v in kwargs.items() if k not in order[:n]]
    prefix = rng.choice(["nn.", "nn.", "torch.nn."])
    return common.spec_text(cls, positional, keywords, prefix=prefix)


def random_layer(rng):
    """A random configuration, sometimes breaking one of PyTorch's rules."""
    cls = rng.choice(["Conv2d", "ConvTranspose2d"])
    groups = rng.choice([1, 1, 1, 2, 3])
    kwargs = {"in_channels": groups * rng.randint(1, 3), "out_channels": groups * rng.randint(1, 3),
              "kernel_size": size(rng, 1, 5)}
    if rng.random() < 0.5:
        kwargs["stride"] = size(rng, 1, 3)
    if rng.random() < 0.3:
        kwargs["dilation"] = size(rng, 1, 3)
    if groups > 1:
        kwargs["groups"] = groups
    if rng.random() < 0.2:
        kwargs["bias"] = False
    if cls == "Conv2d":
        choice = rng.random()
        if choice < 0.25:
            kwargs["padding"] = "same"
        elif choice < 0.35:
            kwargs["padding"] = "valid"
        elif choice < 0.8:
            kwargs["padding"] = size(rng, 0, 3)
        if rng.random() < 0.3:
            kwargs["padding_mode"] = rng.choice(["reflect", "replicate", "circular"])
    else:
        if rng.random() < 0.7:
            kwargs["padding"] = size(rng, 0, 3)
        if rng.random() < 0.5:
            kwargs["output_padding"] = size(rng, 0, 2)
    # rules broken on purpose
    breaker = rng.random()
    if breaker < 0.04:
        kwargs["groups"] = 2
        kwargs["in_channels"] = 3
    elif breaker < 0.07:
        kwargs["groups"] = 2
        kwargs["in_channels"], kwargs["out_channels"] = 2, 3
    elif breaker < 0.10 and cls == "Conv2d":
        kwargs["padding"], kwargs["stride"] = "same", 2
    elif breaker < 0.12 and cls == "ConvTranspose2d":
        kwargs["padding_mode"] = "reflect"
    elif breaker < 0.14 and cls == "ConvTranspose2d":
        kwargs["padding"] = "same"
    channels = kwargs["in_channels"] if rng.random() > 0.04 else kwargs["in_channels"] + 1
    shape = [channels, rng.randint(1, 10), rng.randint(2, 10)]
    return cls, kwargs, shape


def build(nn, cls, kwargs):
    return getattr(nn, cls)(**kwargs)


def layer_case(torch, nn, rng, index):
    cls, kwargs, shape = random_layer(rng)
    spec = torch_spec(cls, kwargs, rng)
    case = {"id": f"layer{index:03d}", "spec": spec, "input": shape}
    x = torch.from_numpy(np.random.default_rng(index).standard_normal((2, *shape)).astype(np.float32))
    try:
        module = build(nn, cls, kwargs)
    except Exception as exc:  # noqa: BLE001 - PyTorch's refusal is the expected answer
        case["error"] = {"where": "construction", "type": type(exc).__name__, "message": str(exc).splitlines()[0]}
        return case, {}
    try:
        with torch.no_grad():
            y = module(x)
    except Exception as exc:  # noqa: BLE001
        case["error"] = {"where": "forward", "type": type(exc).__name__, "message": str(exc).splitlines()[0]}
        return case, {}
    case["output_shape"] = list(y.shape[1:])
    case["params"] = sum(p.numel() for p in module.parameters())
    case["weight_shape"] = list(module.weight.shape)
    if cls == "Conv2d":
        case["torch_padding"] = [int(v) for v in module._reversed_padding_repeated_twice]
    arrays = {"x": x.numpy(), "y": y.numpy(), "weight": module.weight.detach().numpy()}
    if module.bias is not None:
        arrays["bias"] = module.bias.detach().numpy()
    return case, arrays


# --------------------------------------------------------------------------
# Port cases
# --------------------------------------------------------------------------


def load_port():
    """convcalc.port from this checkout (standard library only on the shape path)."""
    sys.path.insert(0, str(common.REPO_ROOT))
    from convcalc import port
    from convcalc.config import DataFormat

    return port, DataFormat


def literal_call(spec):
    """(class name, args, kwargs) of a spec, values read as literals."""
    call = ast.parse(spec, mode="eval").body
    name = ast.unparse(call.func).rsplit(".", 1)[-1]
    return name, [ast.literal_eval(a) for a in call.args], {k.arg: ast.literal_eval(k.value) for k in call.keywords}


def random_keras_layer(rng):
    cls = rng.choice(["Conv2D", "Conv2D", "Conv2DTranspose"])
    kwargs = {"filters": rng.randint(1, 4), "kernel_size": size(rng, 1, 5)}
    strides = size(rng, 1, 3)
    dilation = 1 if strides not in (1, (1, 1)) or rng.random() < 0.7 else size(rng, 1, 3)
    if strides not in (1, (1, 1)):
        kwargs["strides"] = strides
    if dilation not in (1, (1, 1)):
        kwargs["dilation_rate"] = dilation
    kwargs["padding"] = rng.choice(["same", "same", "valid"])
    if cls == "Conv2DTranspose" and rng.random() < 0.4:
        s = strides if isinstance(strides, tuple) else (strides, strides)
        kwargs["output_padding"] = tuple(rng.randint(0, v - 1) for v in s)
    if cls == "Conv2D" and rng.random() < 0.2:
        kwargs["groups"] = 2
    if rng.random() < 0.2:
        kwargs["use_bias"] = False
    channels = 2 * rng.randint(1, 2) if kwargs.get("groups") else rng.randint(1, 4)
    if kwargs.get("groups"):
        kwargs["filters"] = 2 * rng.randint(1, 2)
    data_format = "channels_first" if rng.random() < 0.15 else "channels_last"
    if data_format == "channels_first":
        kwargs["data_format"] = data_format
    spatial = [rng.randint(2, 9), rng.randint(2, 9)]
    shape = [*spatial, channels] if data_format == "channels_last" else [channels, *spatial]
    return common.spec_text(cls, [kwargs.pop("filters"), kwargs.pop("kernel_size")], list(kwargs.items())), shape


def random_torch_layer(rng):
    while True:
        cls, kwargs, shape = random_layer(rng)
        kwargs.pop("padding_mode", None)
        if kwargs.get("padding") in ("same",) and kwargs.get("stride", 1) not in (1, (1, 1)):
            continue
        if cls == "ConvTranspose2d":  # TensorFlow's CPU Conv2DTranspose has no dilation: the Keras side could not run
            kwargs["groups"] = 1
            kwargs.pop("dilation", None)
            kwargs["in_channels"], kwargs["out_channels"] = rng.randint(1, 3), rng.randint(1, 3)
            if kwargs.get("padding") == "same":
                continue
        shape[0] = kwargs["in_channels"]
        return torch_spec(cls, kwargs, rng), shape


def keras_model(keras, specs, shape):
    inputs = keras.Input(shape=tuple(shape))
    x = inputs
    for spec in specs:
        name, args, kwargs = literal_call(spec)
        x = getattr(keras.layers, name)(*args, **kwargs)(x)
    return keras.Model(inputs, x)


def torch_model(nn, specs):
    modules = []
    for spec in specs:
        name, args, kwargs = literal_call(spec)
        modules.append(getattr(nn, name)(*args, **kwargs))
    return nn.Sequential(*modules)


def keras_weights(model, result):
    """convcalc's weight names (``<layer name>/kernel``) of the model's layers, in the order of the rows."""
    rows = [row for row in result.layers if row.type != "InputLayer"]
    arrays = {}
    for row, layer in zip(rows, model.layers[1:]):
        for weight in layer.weights:
            arrays[f"{row.name}/{weight.name}"] = weight
    return arrays


def run_keras(keras, specs, shape, x, named, result):
    """The Keras model's output on x. TensorFlow's CPU kernels have no channels_first convolutions: such
    layers run channels_last on the transposed input (data_format changes the layout only)."""
    first = [spec.replace(", data_format='channels_first'", "") for spec in specs]
    if first != list(specs):
        y = run_keras(keras, first, [*shape[1:], shape[0]], np.transpose(x, (0, 2, 3, 1)), named, result)
        return np.transpose(y, (0, 3, 1, 2))
    model = keras_model(keras, specs, shape)
    for name, variable in keras_weights(model, result).items():
        variable.assign(named[name])
    return np.asarray(model(x))


def run_torch(torch, nn, specs, x, named, result):
    model = torch_model(nn, specs)
    rows = [row for row in result.layers if row.type != "InputLayer"]
    with torch.no_grad():
        for row, module in zip(rows, model):
            for weight in row.weights:
                getattr(module, weight.name).copy_(torch.from_numpy(named[f"{row.name}/{weight.name}"]))
        return model(torch.from_numpy(x)).numpy()


def source_runs(frameworks, spec, shape):
    """Whether the spec's own framework builds the layer and runs it on a zero batch of ``shape``."""
    keras, torch, nn = frameworks
    x = np.zeros((1, *shape), np.float32)
    try:
        if spec.startswith(("nn.", "torch.nn.")):
            with torch.no_grad():
                torch_model(nn, [spec])(torch.from_numpy(x))
        else:
            first = spec.replace(", data_format='channels_first'", "")
            if first != spec:
                x, shape = np.transpose(x, (0, 2, 3, 1)), [*shape[1:], shape[0]]
            keras_model(keras, [first], shape)(x)
    except Exception:  # noqa: BLE001 - the framework refuses it
        return False
    return True


def port_case(frameworks, port, DataFormat, rng, index, source):
    keras, torch, nn = frameworks
    spec, shape = random_keras_layer(rng) if source == "keras" else random_torch_layer(rng)
    if not source_runs(frameworks, spec, shape):  # a port of a layer its own framework refuses says nothing
        return port_case(frameworks, port, DataFormat, rng, index, source)
    fmt = DataFormat("channels_last", "default")
    case = {"id": f"port{index:03d}", "from": source, "specs": [spec], "input": shape}
    try:
        ported = port.port_stack([spec], "torch" if source == "keras" else "keras", tuple(shape), fmt)
    except port.ConvcalcError as error:
        case["refused"] = error.message
        return case, {}
    source_result, target_result = ported.results
    data_rng = np.random.default_rng(1000 + index)
    x = data_rng.standard_normal((1, *shape)).astype(np.float32)
    weights = {f"{row.name}/{w.name}": data_rng.standard_normal(w.shape).astype(np.float32)
               for row in source_result.layers for w in row.weights}
    converted = {m.target: weights[m.source] if m.axes is None else np.ascontiguousarray(np.transpose(weights[m.source], m.axes))
                 for m in ported.weights}
    x_target = port._relayout_array(np, x, ported.source_format, ported.target_format)
    if source == "keras":
        try:
            y_keras = run_keras(keras, [spec], shape, x, weights, source_result)
        except Exception as exc:  # noqa: BLE001 - TensorFlow refuses some configs Keras builds: draw another
            print(f"  Keras cannot run {spec} on {shape}: {str(exc).splitlines()[0][:100]}", file=sys.stderr)
            return port_case(frameworks, port, DataFormat, rng, index, source)
        y_torch = run_torch(torch, nn, list(ported.layers), x_target, converted, target_result)
        back_torch = port._relayout_array(np, y_torch, "channels_first", ported.source_format)
        diff = float(np.max(np.abs(back_torch - y_keras)))
        back = port.port_stack(list(ported.layers), "keras", tuple(ported.target_input_shape), fmt)
        case["round_trip"] = list(back.layers)
        case["round_trip_output"] = list(back.target_output_shape)
        y_back = run_keras(keras, list(back.layers), list(back.target_input_shape),
                           port._relayout_array(np, x, ported.source_format, "channels_last"),
                           {m.target: converted[m.source] if m.axes is None else np.transpose(converted[m.source], m.axes)
                            for m in back.weights}, back.results[1])
        round_diff = float(np.max(np.abs(port._relayout_array(np, y_back, "channels_last", ported.source_format) - y_keras)))
        assert round_diff < 1e-4 * max(1.0, float(np.max(np.abs(y_keras)))), (spec, back.layers, round_diff)
    else:
        y_torch = run_torch(torch, nn, [spec], x, weights, source_result)
        y_keras = run_keras(keras, list(ported.layers), list(ported.target_input_shape), x_target, converted,
                            target_result)
        diff = float(np.max(np.abs(port._relayout_array(np, y_keras, "channels_last", "channels_first") - y_torch)))
    scale = max(1.0, float(np.max(np.abs(y_keras))))
    assert diff < 1e-4 * scale, f"port of {spec} disagrees in the real frameworks: {ported.layers}, {diff}"
    case.update(layers=list(ported.layers), kernel_transform=ported.kernel_transform,
                output_shape=list(ported.output_shape), target_output_shape=list(ported.target_output_shape),
                target_input=list(ported.target_input_shape), weights=sorted(weights), max_abs_diff=diff)
    arrays = {"x": x, "y_keras": y_keras, "y_torch": y_torch}
    arrays.update({f"w/{name}": value for name, value in weights.items()})
    return case, arrays


def main(argv=None):
    parser = common.golden_parser(__doc__, DEFAULT_OUT, "output directory", DEFAULT_SEED)
    args = parser.parse_args(argv)
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"  # oneDNN fails on channels_first Conv2DTranspose on CPU
    keras, tf = common.load_keras()
    import torch
    from torch import nn

    torch.manual_seed(args.seed)
    torch.backends.mkldnn.enabled = False  # oneDNN fails on some valid configs ("could not construct a memory descriptor")
    warnings.simplefilter("ignore")  # PyTorch warns about even kernels with padding='same'
    rng = random.Random(args.seed)
    port, DataFormat = load_port()
    cases, ports, arrays = [], [], {}
    for index in range(N_LAYERS):
        case, found = layer_case(torch, nn, rng, index)
        cases.append(case)
        arrays.update({f"{case['id']}/{k}": v for k, v in found.items()})
    frameworks = (keras, torch, nn)
    for index in range(N_KERAS_PORTS + N_TORCH_PORTS):
        source = "keras" if index < N_KERAS_PORTS else "torch"
        case, found = port_case(frameworks, port, DataFormat, rng, index, source)
        ports.append(case)
        arrays.update({f"{case['id']}/{k}": v for k, v in found.items()})
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    head = common.header(keras, tf, "scripts/make_golden_torch.py", seed=args.seed, torch_version=torch.__version__)
    common.write_json(out / "index.json", head, {"layers": cases, "ports": ports})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, value in arrays.items():
            member = io.BytesIO()
            np.save(member, np.asarray(value, dtype=np.float32))
            archive.writestr(f"{name}.npy", member.getvalue())
    (out / "cases.npz").write_bytes(buffer.getvalue())
    total = sum(p.stat().st_size for p in out.iterdir())
    assert total < MAX_BYTES, f"{out} holds {total} bytes"
    errors = sum("error" in c for c in cases)
    refused = sum("refused" in c for c in ports)
    print(f"wrote {out}: {len(cases)} layer cases ({errors} errors), {len(ports)} port cases ({refused} refused), "
          f"{total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
