#!/usr/bin/env python
"""Generate the golden data of tests/data/pysources/ from real Keras: Python model files.

convcalc reads the Keras models a Python file builds statically (SPEC section 9,
issue 10). This script runs the same files with Keras to record what convcalc
must answer; nothing is trained or downloaded:

* ``tests/data/pysources/*.py`` (the corpus): each file runs in a fresh process
  (default layer names depend on every layer created before in the file) with
  ``keras.datasets.*.load_data`` returning small random arrays, ``Model.fit`` /
  ``evaluate`` / ``predict`` / ``save`` / ``compile`` / ``train_on_batch`` and
  ``keras.utils.plot_model`` doing nothing (or returning zeros), ``load_model``
  returning a dummy object, matplotlib replaced by a stub and stdout silenced.
  The module-level ``assert``s of the files run too, so they are checked.
  ``expected.json`` records, per file, every Functional/Sequential model bound
  to a module-level name (a name rebound later by ``load_model`` still resolves
  to the model that was built: module-level bindings are tracked line by line
  with ``sys.settrace``), every layer with the line of the call that created it,
  and the models that must be refused (subclassed models, models using a custom
  Layer class) with the line of the class statement.
* ``tests/data/pysources/mutants/*.py``: written by this script from MUTANTS
  (a corpus file with one text replacement that makes Keras raise), then run
  the same way; ``mutants/expected.json`` records the line of the innermost
  traceback frame in the mutant file, the exception type and message.
* ``tests/data/pysources/refused/*.py`` (hand-written, never run): REFUSED
  names for each the expression convcalc cannot read statically;
  ``refused/expected.json`` records its line, found in the file's AST.

Run it (only this script needs TensorFlow):

    python scripts/make_golden_pysources.py            # everything
    python scripts/make_golden_pysources.py --only dcgan,vae -j 4
"""

import argparse
import ast
import concurrent.futures
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import golden_common as common
from golden_common import REPO_ROOT, count_weights

DATA = REPO_ROOT / "tests" / "data" / "pysources"
GENERATED_BY = "scripts/make_golden_pysources.py"

# (mutant file, corpus file, text replaced (exactly once), replacement, what is wrong)
MUTANTS = [
    ("mnist_convnet_kernel_too_big.py", "mnist_convnet.py",
     'layers.Conv2D(64, kernel_size=(3, 3), activation="relu")',
     'layers.Conv2D(64, kernel_size=(14, 14), activation="relu")',
     "a 14x14 kernel on the 13x13 map left by the first pooling"),
    ("mnist_convnet_no_flatten.py", "mnist_convnet.py",
     "        layers.Flatten(),\n", "",
     "Flatten removed: Dense works on the 4-D map, the output_shape assert fails"),
    ("image_classification_concat_spatial.py", "image_classification_from_scratch.py",
     "x = layers.add([x, residual])  # Add back residual",
     "x = layers.concatenate([x, previous_block_activation])  # Add back residual",
     "Concatenate of a 45x45 map with the 90x90 one before pooling"),
    ("image_classification_residual_stride.py", "image_classification_from_scratch.py",
     'residual = layers.Conv2D(size, 1, strides=2, padding="same")(',
     'residual = layers.Conv2D(size, 1, strides=1, padding="same")(',
     "add of a pooled 45x45 map and an unstrided 90x90 residual"),
    ("oxford_pets_unet_channels.py", "oxford_pets_unet.py",
     'residual = layers.Conv2D(filters, 1, padding="same")(residual)',
     'residual = layers.Conv2D(filters * 2, 1, padding="same")(residual)',
     "add of 256 and 512 channels in the upsampling loop"),
    ("dcgan_reshape.py", "dcgan.py",
     "x = layers.Reshape((8, 8, 128))(x)", "x = layers.Reshape((8, 8, 64))(x)",
     "Reshape of 8192 values into 8x8x64"),
    ("wgan_gp_cropping.py", "wgan_gp.py",
     "x = layers.Cropping2D((2, 2))(x)", "x = layers.Cropping2D((16, 16))(x)",
     "Cropping2D removes all 32 rows"),
    ("denoising_autoencoder_output_padding.py", "denoising_autoencoder.py",
     'x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)\n'
     'x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)',
     'x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)\n'
     'x = layers.Conv2DTranspose(32, (3, 3), strides=2, output_padding=2, activation="relu",'
     ' padding="same")(x)',
     "Conv2DTranspose with output_padding >= strides (raised when the layer is created)"),
    ("functional_api_guide_concat_rank.py", "functional_api_guide.py",
     'tags_input = keras.Input(shape=(num_tags,), name="tags")',
     'tags_input = keras.Input(shape=(num_tags, 2), name="tags")',
     "concatenate of rank-2 features with a rank-3 input"),
    ("mobilenet_blocks_groups.py", "mobilenet_blocks.py",
     "x = grouped_block(x, 96, groups=8, residual=False)",
     "x = grouped_block(x, 96, groups=12, residual=False)",
     "groups=12 does not divide the 128 input channels (raised inside a helper)"),
    ("keras2_tabs_kernel.py", "keras2_tabs.py",
     "modele.add(tf.keras.layers.Conv2D(32, (3, 3), strides=(1, 1)))",
     "modele.add(tf.keras.layers.Conv2D(32, (13, 13), strides=(1, 1)))",
     "a 13x13 kernel on a 12x12 map, in a tab-indented Sequential built with add()"),
    ("super_resolution_reshape.py", "super_resolution_conv_args.py",
     "TARGET_SIZE[0] // 4 * TARGET_SIZE[1] // 4, 64", "TARGET_SIZE[0] // 2 * TARGET_SIZE[1] // 4, 64",
     "Reshape target twice too large"),
    ("several_models_shared_input.py", "several_models.py",
     "right = keras.Input(shape=(32,))", "right = keras.Input(shape=(16,))",
     "a shared Dense built for 32 features applied to 16 (the layer is created on another line)"),
]

# refused file -> (the expression convcalc cannot read, as written in the file; a name
# the message must mention; the line where a model first uses the value if different)
REFUSED = {
    "import_helper.py": ("make_block(x, 32)", "make_block"),
    "environ_size.py": ('os.environ["SIZE"]', "os.environ"),
    "json_config.py": ("json.load(f)", "json.load"),
    "random_units.py": ("np.random.randint(16, 128)", "np.random.randint"),
    "getattr_layer.py": ("getattr(layers, name)", "getattr"),
    "subclassed_only.py": ("class MLP", "MLP"),
    "eval_filters.py": ('eval("3")', "eval"),
    "data_shape.py": ('np.loadtxt(filename, delimiter="\\t")', "np.loadtxt"),
    "partial.py": ('os.environ.get("UNITS", "4")', "os.environ"),
}
# where the model first uses the unreadable value, when that is another line
REFUSED_USE = {
    "json_config.py": 'config["units"]',
    "random_units.py": "layers.Dense(units)",
    "data_shape.py": "x_train.shape[1:]",
    "environ_size.py": "layers.Conv2D(filters, 3",
    "subclassed_only.py": "model = MLP()",
}
# models of a refused file that are readable (lint checks them, notes the others)
REFUSED_READABLE = {"partial.py": ["readable"]}


# --------------------------------------------------------------------------
# Child: run one file with Keras
# --------------------------------------------------------------------------

class Dummy:
    """What load_model returns: any attribute, call, index or iteration works."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Dummy()

    def __call__(self, *args, **kwargs):
        return Dummy()

    def __getitem__(self, key):
        return Dummy()

    def __iter__(self):
        return iter([])


def stub_matplotlib():
    from unittest import mock
    pyplot = mock.MagicMock(name="pyplot")
    pyplot.subplots.side_effect = lambda *a, **k: (mock.MagicMock(), mock.MagicMock())
    matplotlib = mock.MagicMock(name="matplotlib")
    matplotlib.pyplot = pyplot
    sys.modules["matplotlib"] = matplotlib
    sys.modules["matplotlib.pyplot"] = pyplot


def replace_everywhere(original, replacement):
    """Rebind every module attribute that is `original` (keras.x and tf.keras.x)."""
    for module in list(sys.modules.values()):
        try:
            names = [n for n, v in vars(module).items() if v is original]
        except TypeError:
            continue
        for name in names:
            setattr(module, name, replacement)


def patch_keras(keras, np):
    rng = np.random.RandomState(0)
    n = 128

    def images(shape, labels_shape):
        def load_data(*args, **kwargs):
            def part():
                return (rng.randint(0, 256, size=(n,) + shape).astype("uint8"),
                        rng.randint(0, 10, size=(n,) + labels_shape).astype("uint8"))
            return part(), part()
        return load_data

    fake = {"mnist": images((28, 28), ()), "fashion_mnist": images((28, 28), ()),
            "cifar10": images((32, 32, 3), (1,)), "cifar100": images((32, 32, 3), (1,))}
    for name, load in fake.items():
        replace_everywhere(getattr(keras.datasets, name).load_data, load)

    class History:
        def __init__(self):
            self.history = DefaultList()

    class DefaultList(dict):
        def __missing__(self, key):
            return [0.0, 0.0]

    Model = keras.Model

    def predict(self, x, *args, **kwargs):
        batch = len(x[0] if isinstance(x, (list, tuple)) else x)
        shapes = [tuple(t.shape) for t in self.outputs]
        outs = [np.zeros((batch,) + s[1:], dtype="float32") for s in shapes]
        return outs[0] if len(outs) == 1 else outs

    Model.fit = lambda self, *a, **k: History()
    Model.evaluate = lambda self, *a, **k: [0.0, 0.0]
    Model.predict = predict
    Model.save = lambda self, *a, **k: None
    Model.compile = lambda self, *a, **k: None
    Model.train_on_batch = lambda self, *a, **k: [0.0, 0.0]
    Model.test_on_batch = lambda self, *a, **k: [0.0, 0.0]
    replace_everywhere(keras.models.load_model, lambda *a, **k: Dummy())
    replace_everywhere(keras.utils.plot_model, lambda *a, **k: None)


def creation_line(layer, path, start):
    """The line, in `path`, of the call that created `layer`: the innermost frame of
    the file, skipping the layer's own __init__ (a custom class defined in the file)."""
    frame = start
    while frame is not None:
        if frame.f_code.co_filename == path and frame.f_locals.get("self") is not layer:
            return frame.f_lineno
        frame = frame.f_back
    return None


def defined_in(cls, path):
    """Whether a class is defined in the file (one of its methods' code is there)."""
    for value in vars(cls).values():
        code = getattr(getattr(value, "__func__", value), "__code__", None)
        if code is not None and code.co_filename == path:
            return True
    return False


def class_lines(source):
    return {node.name: node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.ClassDef)}


def run_one(path, kind):
    path = str(Path(path).resolve())
    keras, tf = common.load_keras()
    stub_matplotlib()
    import numpy as np
    import runpy
    import make_golden_models as mgm

    keras.config.set_image_data_format("channels_last")
    keras.config.disable_traceback_filtering()  # keep the failing layer's frames
    keras.backend.clear_session()
    np.random.seed(0)
    keras.utils.set_random_seed(0)
    patch_keras(keras, np)

    lines = {}  # id(layer) -> (layer, line)
    Layer = keras.layers.Layer
    original_init = Layer.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if id(self) not in lines:
            lines[id(self)] = (self, creation_line(self, path, sys._getframe(1)))

    Layer.__init__ = init

    failing = []  # the innermost layer whose call raised (reset when a call succeeds)
    original_call = Layer.__call__

    def call(self, *args, **kwargs):
        try:
            result = original_call(self, *args, **kwargs)
        except BaseException:
            if not failing:
                failing.append(self)
            raise
        failing.clear()
        return result

    Layer.__call__ = call

    bound = {}  # module-level name -> last real keras.Model bound to it

    def scan(frame):
        for name, value in list(frame.f_globals.items()):
            if isinstance(value, keras.Model):
                bound[name] = value

    def local_trace(frame, event, arg):
        if event in ("line", "return"):
            scan(frame)
        return local_trace

    def global_trace(frame, event, arg):
        if frame.f_code.co_filename == path and frame.f_code.co_name == "<module>":
            return local_trace
        return None

    error = None
    stdout = sys.stdout
    sys.stdout = io.StringIO()
    sys.settrace(global_trace)
    try:
        runpy.run_path(path, run_name="__main__")
    except BaseException as exc:  # noqa: BLE001 - the mutants' errors are the data
        error = exc
    finally:
        sys.settrace(None)
        sys.stdout = stdout

    if kind == "mutant":
        return mutant_record(path, error, lines, keras, failing)
    if error is not None:
        traceback.print_exception(error)
        raise SystemExit(f"{path} raised {type(error).__name__}")

    source = Path(path).read_text(encoding="utf-8")
    classes = class_lines(source)

    def line_of(obj):
        entry = lines.get(id(obj))
        return entry[1] if entry and entry[0] is obj else None

    by_model = {}
    for name, model in bound.items():
        by_model.setdefault(id(model), (model, []))[1].append(name)

    models, refused = [], []
    for model, names in by_model.values():
        class_name = type(model).__name__
        if class_name not in ("Functional", "Sequential"):
            refused.append({"variable": names, "name": class_name, "line": classes[class_name],
                            "kind": "model", "model": model.name, "model_line": line_of(model)})
            continue
        custom = [layer for layer in all_layers(model) if defined_in(type(layer), path)]
        record = model_record(model, names, line_of, mgm)
        if custom:
            layer = custom[0]
            refused.append({"variable": names, "name": type(layer).__name__,
                            "line": classes[type(layer).__name__], "kind": "layer",
                            "used_at": line_of(layer), "model": model.name,
                            "model_line": line_of(model), "keras": record})
            continue
        models.append(record)
    models.sort(key=lambda m: (m["line"] or 0))
    refused.sort(key=lambda m: (m["model_line"] or 0))
    result = {"models": models}
    if refused:
        result["refused"] = refused
    return result


def all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers") and layer is not model:
            yield from all_layers(layer)


def model_record(model, names, line_of, mgm):
    functional = type(model).__name__ == "Functional"
    layer_rows = []
    for layer in model.layers:
        row = {"name": layer.name, **mgm.layer_record(layer, model, functional),
               "line": line_of(layer)}
        layer_rows.append(row)
    return {
        "variable": names,
        "name": model.name,
        "class_name": type(model).__name__,
        "line": line_of(model),
        "input_shape": mgm.one_or_many(mgm.model_inputs(model)),
        "output_shape": mgm.one_or_many(mgm.model_outputs(model)),
        "total_params": model.count_params(),
        "trainable_params": count_weights(model.trainable_weights),
        "non_trainable_params": count_weights(model.non_trainable_weights),
        "layers": layer_rows,
    }


def mutant_record(path, error, lines, keras, failing):
    if error is None:
        raise SystemExit(f"{path}: Keras raised nothing")
    tb = error.__traceback__
    line, layer = None, None
    while tb is not None:  # the innermost frame of the file, then the innermost layer
        frame = tb.tb_frame
        if frame.f_code.co_filename == path:
            line, layer = tb.tb_lineno, None
        elif line is not None:
            candidate = frame.f_locals.get("self")
            if isinstance(candidate, keras.layers.Layer):
                layer = candidate
        tb = tb.tb_next
    if failing and (layer is None or isinstance(layer, keras.Model)):
        layer = failing[0]  # Keras re-raises a layer's error without its frames
    record = {"line": line, "exception": type(error).__name__,
              "message": common.clean_message(error)}
    if layer is not None:
        entry = lines.get(id(layer))
        record["layer"] = {"name": layer.name, "class_name": type(layer).__name__,
                           "line": entry[1] if entry and entry[0] is layer else None}
    return record


# --------------------------------------------------------------------------
# Parent
# --------------------------------------------------------------------------

def run_child(path, kind):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        env = dict(os.environ)
        env.pop("PYTHONHASHSEED", None)  # the child re-executes itself with a clean setup
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, __file__, "--run-one", str(path), "--kind", kind,
             "--result", str(out)],
            cwd=tmp, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"{path.name} failed:\n{proc.stderr[-4000:]}")
        return json.loads(out.read_text()), seconds


def write_mutants(selected):
    out = DATA / "mutants"
    out.mkdir(exist_ok=True)
    written = []
    for name, source, old, new, what in MUTANTS:
        if selected and name[:-3] not in selected and source[:-3] not in selected:
            continue
        text = (DATA / source).read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{name}: {old!r} occurs {text.count(old)} times"
        (out / name).write_text(text.replace(old, new), encoding="utf-8")
        written.append((name, source, what))
    return written


def find_expression(source, text):
    """The line of the (one) expression or statement whose source is `text`;
    the class statement for 'class NAME'."""
    tree = ast.parse(source)
    if text.startswith("class "):
        return [n.lineno for n in ast.walk(tree)
                if isinstance(n, ast.ClassDef) and n.name == text[6:]]
    return sorted({n.lineno for n in ast.walk(tree)
                   if isinstance(n, (ast.expr, ast.stmt))
                   and (ast.get_source_segment(source, n) or "").startswith(text)
                   and (isinstance(n, ast.stmt) or ast.get_source_segment(source, n) == text)})


def refused_records():
    records = {}
    for name, (expression, mentions) in REFUSED.items():
        source = (DATA / "refused" / name).read_text(encoding="utf-8")
        compile(source, name, "exec")
        found = find_expression(source, expression)
        assert len(found) == 1, f"{name}: {expression!r} at lines {found}"
        record = {"line": found[0], "expression": expression, "mentions": mentions}
        if name in REFUSED_USE:
            use = [i + 1 for i, text in enumerate(source.splitlines())
                   if REFUSED_USE[name] in text]
            assert len(use) == 1, f"{name}: {REFUSED_USE[name]!r} at lines {use}"
            record["use_line"] = use[0]
        record["readable_models"] = REFUSED_READABLE.get(name, [])
        records[name] = record
    return records


def write(path, head, files):
    lines = ["{"]
    for key, value in head.items():
        lines.append(f" {json.dumps(key)}: {json.dumps(value)},")
    lines.append(' "files": {')
    names = sorted(files)
    for i, name in enumerate(names):
        lines.append(f"  {json.dumps(name)}: {json.dumps(files[name], ensure_ascii=False)}"
                     + ("," if i < len(names) - 1 else ""))
    lines.append(" }")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated corpus file stems (and their mutants)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--run-one", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="corpus", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run_one:
        result = run_one(args.run_one, args.kind)
        Path(args.result).write_text(json.dumps(result))
        return

    keras, tf = common.load_keras()
    head = common.header(keras, tf, GENERATED_BY)
    selected = set(args.only.split(",")) if args.only else set()
    started = time.perf_counter()

    corpus = sorted(p for p in DATA.glob("*.py") if not selected or p.stem in selected)
    mutants = write_mutants(selected)
    jobs = [(p, "corpus") for p in corpus] + [(DATA / "mutants" / m, "mutant")
                                              for m, _, _ in mutants]
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda job: run_child(*job), jobs))
    by_path = {job[0].name: result for job, result in zip(jobs, results)}
    slowest = max(seconds for _, seconds in results) if results else 0.0

    files = {p.name: by_path[p.name][0] for p in corpus}
    mutant_files = {}
    for name, source, what in mutants:
        mutant_files[name] = {"source": source, "mutation": what, **by_path[name][0]}
    if not selected:
        write(DATA / "expected.json", head, files)
        write(DATA / "mutants" / "expected.json", head, mutant_files)
        write(DATA / "refused" / "expected.json", head, refused_records())
    else:
        print(json.dumps({"files": files, "mutants": mutant_files}, indent=1))
    for name, (result, seconds) in sorted(by_path.items()):
        summary = (f"{len(result['models'])} models, {len(result.get('refused', []))} refused"
                   if "models" in result else
                   f"line {result['line']}: {result['exception']}: {result['message'][:70]}")
        print(f"{name:45s} {seconds:5.1f} s  {summary}", file=sys.stderr)
    print(f"{len(jobs)} files in {time.perf_counter() - started:.1f} s "
          f"(slowest {slowest:.1f} s, {args.jobs} jobs)", file=sys.stderr)


if __name__ == "__main__":
    main()
