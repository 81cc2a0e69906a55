"""Keras models read from Python source, statically (SPEC 9).

A small interpreter walks the module's ``ast`` and runs only a safe subset of
Python on values it can know: literals, arithmetic on numbers, strings, tuples
and lists, the builtins SPEC 9 names, ``for`` loops (unrolled), ``if`` on
known conditions, comprehensions, functions defined in the file, and the
Keras calls that build models (layers, ``keras.Input``, ``keras.Model``,
``keras.Sequential``, ``model.add``, the functional merges).  Nothing of the
file is imported, executed, ``eval``-ed or compiled; nothing it imports is
imported.  Every other value is :class:`Unknown`: harmless until a model
depends on it, then the answer is ``FILE:LINE: cannot read ... statically``.

Each layer call becomes a node of the same :class:`~convcalc.graph.Graph` the
other sources build, with its line; :func:`read_models` returns the models
bound to module-level names.  Standard library only.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Callable

from .config import DataFormat
from .errors import ConvcalcError, Where
from .graph import TENSOR_OPTION, Graph, InputSpec, Node, TensorRef, evaluate, option_value, refs_in
from .parse import Call, Reference

MAX_STEPS = 2_000_000  # statements and expressions interpreted, at most: a file is read in bounded time
MAX_DEPTH = 60  # nested function calls
MAX_LENGTH = 10**6  # the longest string, tuple or list a file may build


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Unknown:
    """A value outside the subset: where it is, and its text."""

    line: int
    text: str
    why: str = ""

    def error(self, file: str, what: str = "the model") -> ConvcalcError:
        why = f" ({self.why})" if self.why else ""
        return ConvcalcError(f"cannot read {what} statically: {self.text}{why}.", Where(file, self.line))


@dataclass(frozen=True)
class Module:
    """A module or a dotted name in one (``keras.layers``, ``tf.nn.relu``), never imported."""

    path: str

    @property
    def keras(self) -> bool:
        return self.path == "keras" or self.path.startswith("keras.")


@dataclass
class Tensor:
    """The output ``output`` of node ``key``."""

    key: int
    output: int = 0

    @property
    def ref(self) -> TensorRef:
        return TensorRef(self.key, self.output)


@dataclass
class LayerObject:
    """A layer built from a constructor call; applied to tensors, it adds nodes."""

    layer: Any  # a convcalc Layer
    name: str
    line: int
    spec: str
    input_shape: tuple | None = None  # InputLayer / input_shape=
    is_input_layer: bool = False


@dataclass
class ModelObject:
    """A Functional or Sequential model (or the reason it cannot be read)."""

    class_name: str
    name: str
    line: int
    inputs: Any = None  # Tensor | list | dict (Functional)
    outputs: Any = None
    items: list = field(default_factory=list)  # Sequential: LayerObjects, ModelObjects, an input Tensor
    built_shape: tuple | None = None  # Sequential: model.build(...)
    unknown: Unknown | None = None
    graph: Graph | None = None
    called: bool = False
    first_call: Any = None  # the tensor(s) an unbuilt Sequential was first called on: they build it


@dataclass
class Function:
    """A function defined in the file, with the scopes it sees."""

    node: ast.FunctionDef
    scopes: list
    defaults: list
    kw_defaults: list


@dataclass(frozen=True)
class Refused:
    """A class the subset cannot read (a subclassed keras.Model or custom Layer).

    Its ``__init__`` is still read when it is instantiated, for the layers it creates: Keras
    numbers their default names across the whole file (``conv2d_7`` after two such instances).
    """

    name: str
    line: int
    kind: str
    node: Any = field(default=None, compare=False, repr=False)
    scopes: Any = field(default=None, compare=False, repr=False)


@dataclass
class Namespace:
    """A plain class of the file, read for its class attributes only."""

    name: str
    values: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Partial:
    """``functools.partial(layers.Conv2D, kernel_size=3)``: a callable with arguments bound."""

    func: Any
    args: tuple
    kwargs: dict = field(compare=False)


@dataclass(frozen=True)
class Bound:
    """A method of a Keras object: ``model.add``."""

    owner: Any
    name: str


class _Return(Exception):
    def __init__(self, value):
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


# ---------------------------------------------------------------- names Keras gives


def keras_path(path: str) -> str:
    """``tensorflow.keras.layers`` and ``tf.keras.layers`` are ``keras.layers``."""
    for prefix in ("tensorflow.python.keras", "tensorflow.keras", "tf.keras", "keras.src"):
        if path == prefix or path.startswith(prefix + "."):
            return "keras" + path[len(prefix):]
    return path


MODEL_NAMES = {"Model": "Functional", "Functional": "Functional", "Sequential": "Sequential"}
MERGES = {"add": "Add", "subtract": "Subtract", "multiply": "Multiply", "average": "Average",
          "maximum": "Maximum", "minimum": "Minimum", "concatenate": "Concatenate"}
SKIPPED_METHODS = frozenset(
    "compile fit evaluate predict summary save save_weights load_weights to_json get_config plot_model "
    "train_on_batch test_on_batch predict_on_batch fit_generator evaluate_generator get_layer".split()
)


@dataclass
class Model:
    """A model read from the file: the name it is known by, and its graph or the reason it cannot be read."""

    variable: str
    name: str
    line: int
    graph: Graph | None = None
    error: ConvcalcError | None = None
    skipped: bool = False  # cannot be read statically (a note for lint), rather than wrong


@dataclass
class Expectation:
    """``assert model.output_shape == (None, ...)`` or ``assert model.count_params() == N``."""

    variable: str
    check: str  # "output" or "params"
    value: Any
    line: int


@dataclass
class Source:
    """What a Python file holds: its models, in order, and its module-level expectations."""

    file: str
    models: list[Model]
    expectations: list[Expectation]


class Interpreter:
    """Interprets one module; see the module docstring."""

    def __init__(self, file: str, text: str, data_format: DataFormat):
        self.file, self.text, self.data_format = file, text, data_format
        self.steps = 0
        self.depth = 0
        self.counters: dict[str, int] = {}
        self.nodes: dict[int, Node] = {}
        self.order: list[int] = []
        self.globals: dict[str, Any] = {"__name__": "__main__", "__file__": file}  # as when the script is run
        self.star_modules: list[str] = []  # `from keras.layers import *`
        self.bound_models: dict[str, ModelObject] = {}  # module-level names that held a model
        self.refused_instances: dict[str, Unknown] = {}  # module-level instances of subclassed models
        self.expectations: list[Expectation] = []
        self.encoded = [line.encode("utf-8") for line in text.splitlines(keepends=True)]  # ast offsets are bytes

    # -- naming -------------------------------------------------------------------

    def unique(self, base: str) -> str:
        count = self.counters.get(base, 0)
        self.counters[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def segment(self, node: ast.AST) -> str:
        """The source text of ``node`` on one line (``ast.get_source_segment`` splits the whole file per call)."""
        start, end = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if start is None or end is None or end < start or end > len(self.encoded):
            return ast.dump(node)[:60]
        chunk = self.encoded[start - 1:end]
        if start == end:
            chunk = [chunk[0][node.col_offset:node.end_col_offset]]
        else:
            chunk = [chunk[0][node.col_offset:], *chunk[1:-1], chunk[-1][:node.end_col_offset]]
        text = b"".join(chunk).decode("utf-8", "replace")
        text = " ".join(text.split())
        return text if len(text) <= 120 else text[:117] + "..."

    def unknown(self, node: ast.AST, why: str = "") -> Unknown:
        return Unknown(getattr(node, "lineno", 0), self.segment(node), why)

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ConvcalcError(f"reading the file statically takes more than {MAX_STEPS:,} steps; "
                                "convcalc stops there.", Where(self.file))

    # -- statements ---------------------------------------------------------------

    def run_module(self, tree: ast.Module) -> None:
        self.block(tree.body, [self.globals], module=True)

    def block(self, body: list, scopes: list, module: bool = False) -> None:
        for statement in body:
            self.statement(statement, scopes, module)

    def statement(self, node: ast.stmt, scopes: list, module: bool = False) -> None:
        self.tick()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self.imports(node, scopes[-1])
        elif isinstance(node, ast.FunctionDef):
            defaults = [self.expr(d, scopes) for d in node.args.defaults]
            kw_defaults = [None if d is None else self.expr(d, scopes) for d in node.args.kw_defaults]
            scopes[-1][node.name] = Function(node, list(scopes), defaults, kw_defaults)
        elif isinstance(node, ast.AsyncFunctionDef):
            scopes[-1][node.name] = self.unknown(node, "an async function")
        elif isinstance(node, ast.ClassDef):
            scopes[-1][node.name] = self.classdef(node, scopes)
        elif isinstance(node, ast.Assign):
            value = self.expr(node.value, scopes)
            for target in node.targets:
                self.assign(target, value, scopes, module, node)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.assign(node.target, self.expr(node.value, scopes), scopes, module, node)
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name):
                current = self.lookup(node.target.id, scopes, node.target)
                value = self.binary(node.op, current, self.expr(node.value, scopes), node)
                self.assign(node.target, value, scopes, module, node)
        elif isinstance(node, ast.Expr):
            self.expr(node.value, scopes)
        elif isinstance(node, ast.If):
            test = self.truth(self.expr(node.test, scopes))
            if isinstance(test, Unknown):
                self.taint(node.body + node.orelse, scopes, test)
            else:
                self.block(node.body if test else node.orelse, scopes, module)
        elif isinstance(node, ast.For):
            self.loop(node, scopes, module)
        elif isinstance(node, ast.While):
            self.taint(node.body + node.orelse, scopes, self.unknown(node.test, "a while loop"))
        elif isinstance(node, ast.Return):
            raise _Return(None if node.value is None else self.expr(node.value, scopes))
        elif isinstance(node, ast.Break):
            raise _Break()
        elif isinstance(node, ast.Continue):
            raise _Continue()
        elif isinstance(node, ast.With):
            self.block(node.body, scopes, module)
        elif isinstance(node, ast.Try):
            self.block(node.body + node.orelse + node.finalbody, scopes, module)
        elif isinstance(node, ast.Assert):
            if module:
                self.expectation(node)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    scopes[-1].pop(target.id, None)
        # pass, global, nonlocal, raise, match...: nothing a model depends on

    def imports(self, node, scope: dict) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    scope[alias.asname] = Module(keras_path(alias.name))
                else:
                    top = alias.name.split(".")[0]
                    scope[top] = Module(keras_path(top))
            return
        base = keras_path(("." * node.level) + (node.module or ""))
        for alias in node.names:
            if alias.name == "*":
                if Module(base).keras:
                    self.star_modules.append(base)
                continue
            scope[alias.asname or alias.name] = Module(keras_path(f"{base}.{alias.name}"))

    def classdef(self, node: ast.ClassDef, scopes: list) -> Any:
        for base in node.bases:
            value = self.expr(base, scopes)
            if isinstance(value, Module) and value.keras:
                kind = "layer" if value.path.endswith("Layer") else "model"
                return Refused(node.name, node.lineno, kind, node, list(scopes))
            if isinstance(value, Refused):
                return Refused(node.name, node.lineno, value.kind, node, list(scopes))
        namespace = Namespace(node.name)
        for statement in node.body:  # class attributes (`class Config: EPOCHS = 10`): a namespace of values
            if isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) for t in statement.targets):
                value = self.expr(statement.value, scopes + [namespace.values])
                for target in statement.targets:
                    namespace.values[target.id] = value
        return namespace

    def assign(self, target, value, scopes: list, module: bool, node) -> None:
        if isinstance(target, ast.Name):
            if module:
                previous = scopes[-1].get(target.id)
                if isinstance(value, ModelObject):
                    self.bound_models[target.id] = value
                elif isinstance(previous, ModelObject) and isinstance(value, Unknown):
                    pass  # `model = keras.models.load_model(...)`: the model that was built is the one to check
                elif isinstance(value, Unknown) and "subclassed keras.Model" in value.why:
                    self.refused_instances[target.id] = value
            scopes[-1][target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = self.unpack(value, len(target.elts), node)
            for element, item in zip(target.elts, items):
                self.assign(element, item, scopes, module, node)
        elif isinstance(target, ast.Starred):
            self.assign(target.value, value, scopes, module, node)
        elif isinstance(target, ast.Subscript):
            container = self.expr(target.value, scopes)
            key = self.expr(target.slice, scopes)
            if isinstance(container, (dict, list)) and not isinstance(key, Unknown):
                try:
                    container[key] = value
                except (TypeError, IndexError):
                    pass

    def unpack(self, value, count: int, node) -> list:
        if isinstance(value, (tuple, list)) and len(value) == count:
            return list(value)
        if isinstance(value, Unknown):
            return [value] * count
        return [self.unknown(node, "cannot unpack it")] * count

    def taint(self, body: list, scopes: list, why: Unknown) -> None:
        """Names assigned in code whose running cannot be known become that unknown value."""
        for statement in body:
            for child in ast.walk(statement):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    scopes[-1][child.id] = why

    def loop(self, node: ast.For, scopes: list, module: bool) -> None:
        iterable = self.expr(node.iter, scopes)
        items = self.iterate(iterable, node.iter)
        if isinstance(items, Unknown):
            self.taint(node.body, scopes, items)
            self.assign(node.target, items, scopes, module, node)
            return
        for item in items:
            self.tick()
            self.assign(node.target, item, scopes, module, node)
            try:
                self.block(node.body, scopes, module)
            except _Break:
                return
            except _Continue:
                continue
        self.block(node.orelse, scopes, module)

    def iterate(self, value, node) -> list | Unknown:
        if isinstance(value, Unknown):
            return value
        if isinstance(value, (list, tuple, str, range)):
            return list(value)
        if isinstance(value, dict):
            return list(value)
        return self.unknown(node, "not a list convcalc can go through")

    def expectation(self, node: ast.Assert) -> None:
        test = node.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
            return
        left, right = test.left, test.comparators[0]
        for subject, other in ((left, right), (right, left)):
            if isinstance(subject, ast.Attribute) and subject.attr == "output_shape" and isinstance(subject.value, ast.Name):
                value = self.expr(other, [self.globals])
                self.expectations.append(Expectation(subject.value.id, "output", value, node.lineno))
                return
            if (isinstance(subject, ast.Call) and isinstance(subject.func, ast.Attribute)
                    and subject.func.attr == "count_params" and isinstance(subject.func.value, ast.Name)):
                value = self.expr(other, [self.globals])
                self.expectations.append(Expectation(subject.func.value.id, "params", value, node.lineno))
                return

    # -- expressions ----------------------------------------------------------------

    def lookup(self, name: str, scopes: list, node) -> Any:
        for scope in reversed(scopes):
            if name in scope:
                return scope[name]
        if name in self.globals:
            return self.globals[name]
        if name in BUILTINS:
            return BUILTINS[name]
        for star in self.star_modules:  # `from keras.layers import *`: a name of that module, checked when called
            return Module(f"{star}.{name}")
        import builtins

        if hasattr(builtins, name):
            return self.unknown(node, f"{name} is a Python builtin outside the subset convcalc reads")
        return self.unknown(node, f"{name!r} is not defined in the file")

    def truth(self, value) -> Any:
        if isinstance(value, Unknown):
            return value
        if isinstance(value, (LayerObject, ModelObject, Tensor, Module, Function)):
            return True
        try:
            return bool(value)
        except Exception:  # noqa: BLE001 - any value's truth is one of the subset's
            return Unknown(0, repr(value)[:60])

    def expr(self, node: ast.AST, scopes: list) -> Any:
        self.tick()
        method = getattr(self, "e_" + type(node).__name__, None)
        if method is None:
            return self.unknown(node)
        return method(node, scopes)

    def e_Constant(self, node, scopes):
        return node.value

    def e_Name(self, node, scopes):
        return self.lookup(node.id, scopes, node)

    def e_Tuple(self, node, scopes):
        return tuple(self.elements(node.elts, scopes))

    def e_List(self, node, scopes):
        return list(self.elements(node.elts, scopes))

    def e_Set(self, node, scopes):
        return self.unknown(node, "a set")

    def elements(self, nodes, scopes) -> list:
        out = []
        for element in nodes:
            if isinstance(element, ast.Starred):
                value = self.expr(element.value, scopes)
                items = self.iterate(value, element)
                if isinstance(items, Unknown):
                    out.append(items)
                else:
                    out.extend(items)
            else:
                out.append(self.expr(element, scopes))
        return out

    def e_Dict(self, node, scopes):
        out = {}
        for key, value in zip(node.keys, node.values):
            if key is None:
                extra = self.expr(value, scopes)
                if isinstance(extra, dict):
                    out.update(extra)
                else:
                    return self.unknown(value, "not a dict")
                continue
            k = self.expr(key, scopes)
            if isinstance(k, Unknown):
                return k
            try:
                out[k] = self.expr(value, scopes)
            except TypeError:
                return self.unknown(key, "not a key")
        return out

    def e_JoinedStr(self, node, scopes):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                item = self.expr(value.value, scopes)
                if isinstance(item, Unknown) or not isinstance(item, (int, float, str)) or value.format_spec is not None:
                    return self.unknown(node)
                parts.append(str(item))
        return "".join(parts)

    def e_Attribute(self, node, scopes):
        base = self.expr(node.value, scopes)
        if isinstance(base, Unknown):
            return base
        if isinstance(base, Module):
            return Module(keras_path(f"{base.path}.{node.attr}"))
        if isinstance(base, ModelObject):
            if node.attr in ("output", "outputs", "input", "inputs") and base.class_name == "Functional":
                value = base.outputs if node.attr.startswith("output") else base.inputs
                if node.attr in ("outputs", "inputs") and not isinstance(value, (list, dict)):
                    value = [value]
                return value
            if node.attr == "name":
                return base.name
            return Bound(base, node.attr)
        if isinstance(base, Tensor) and node.attr == "shape":
            return self.tensor_shape(base, node)
        if isinstance(base, LayerObject):
            if node.attr == "name":
                return base.name
            return Bound(base, node.attr)
        if isinstance(base, Namespace):
            return base.values.get(node.attr, self.unknown(node, f"{base.name} has no attribute {node.attr!r}"))
        if isinstance(base, (dict, list, str, tuple)) and node.attr in ("get", "items", "keys", "values", "copy",
                                                                         "append", "extend", "pop", "format",
                                                                         "upper", "lower", "index", "count"):
            return Bound(base, node.attr)
        return self.unknown(node)

    def e_Subscript(self, node, scopes):
        base = self.expr(node.value, scopes)
        key = self.expr(node.slice, scopes)
        if isinstance(base, Unknown):
            return base
        if isinstance(key, Unknown):
            return key
        if isinstance(base, (list, tuple, str, dict, range)):
            try:
                return base[key]
            except (IndexError, KeyError, TypeError):
                return self.unknown(node, "no such item")
        return self.unknown(node)

    def e_Slice(self, node, scopes):
        parts = [None if p is None else self.expr(p, scopes) for p in (node.lower, node.upper, node.step)]
        for part in parts:
            if isinstance(part, Unknown):
                return part
        return slice(*parts)

    def e_BinOp(self, node, scopes):
        return self.binary(node.op, self.expr(node.left, scopes), self.expr(node.right, scopes), node)

    def binary(self, op, left, right, node):
        for value in (left, right):
            if isinstance(value, Unknown):
                return value
        if isinstance(left, Tensor) or isinstance(right, Tensor):
            name = TENSOR_OPERATORS.get(type(op))
            if name is None or not all(isinstance(v, (Tensor, int, float)) and not isinstance(v, bool)
                                       for v in (left, right)):
                return self.unknown(node, "an operation on tensors convcalc does not read")
            return self.operation(name, [left, right], {}, node)
        allowed = (int, float, str, tuple, list, bool, type(None))
        if not isinstance(left, allowed) or not isinstance(right, allowed):
            return self.unknown(node)
        operation = BINARY.get(type(op))
        if operation is None:
            return self.unknown(node)
        try:
            if isinstance(op, ast.Pow) and isinstance(right, int) and abs(right) > 64:
                return self.unknown(node, "too large")
            if isinstance(op, ast.Mult) and isinstance(left, (str, tuple, list)) and isinstance(right, int) and right > 10**5:
                return self.unknown(node, "too large")
            result = operation(left, right)
        except Exception:  # noqa: BLE001 - Python's own refusal: the value is not one convcalc can know
            return self.unknown(node, "Python refuses this operation")
        if (isinstance(result, (str, tuple, list)) and len(result) > MAX_LENGTH) or (
                isinstance(result, int) and result.bit_length() > 256):
            return self.unknown(node, "a value too large to read statically")
        return result

    def e_UnaryOp(self, node, scopes):
        value = self.expr(node.operand, scopes)
        if isinstance(node.op, ast.Not):
            truth = self.truth(value)
            return truth if isinstance(truth, Unknown) else not truth
        if isinstance(value, Unknown):
            return value
        if isinstance(value, (int, float)):
            return -value if isinstance(node.op, ast.USub) else (+value if isinstance(node.op, ast.UAdd) else ~value)
        return self.unknown(node)

    def e_BoolOp(self, node, scopes):
        result = None
        for operand in node.values:
            result = self.expr(operand, scopes)
            truth = self.truth(result)
            if isinstance(truth, Unknown):
                return truth
            if isinstance(node.op, ast.And) and not truth:
                return result
            if isinstance(node.op, ast.Or) and truth:
                return result
        return result

    def e_Compare(self, node, scopes):
        left = self.expr(node.left, scopes)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.expr(comparator, scopes)
            if isinstance(op, (ast.Is, ast.IsNot)):
                if isinstance(left, Unknown) or isinstance(right, Unknown):
                    return left if isinstance(left, Unknown) else right
                result = (left is right) if isinstance(op, ast.Is) else (left is not right)
            else:
                for value in (left, right):
                    if isinstance(value, Unknown):
                        return value
                    if not isinstance(value, (int, float, str, tuple, list, dict, bool, type(None))):
                        return self.unknown(node)
                try:
                    result = COMPARE[type(op)](left, right)
                except Exception:  # noqa: BLE001
                    return self.unknown(node)
            if not result:
                return False
            left = right
        return True

    def e_IfExp(self, node, scopes):
        test = self.truth(self.expr(node.test, scopes))
        if isinstance(test, Unknown):
            return test
        return self.expr(node.body if test else node.orelse, scopes)

    def e_ListComp(self, node, scopes):
        return self.comprehension(node, scopes, list)

    def e_GeneratorExp(self, node, scopes):
        return self.comprehension(node, scopes, list)

    def e_DictComp(self, node, scopes):
        out = self.comprehension(node, scopes, list, pair=True)
        return out if isinstance(out, Unknown) else dict(out)

    def comprehension(self, node, scopes, kind, pair: bool = False):
        results = []
        local = {}

        def walk(generators):
            if not generators:
                if pair:
                    results.append((self.expr(node.key, scopes + [local]), self.expr(node.value, scopes + [local])))
                else:
                    results.append(self.expr(node.elt, scopes + [local]))
                return None
            first, rest = generators[0], generators[1:]
            items = self.iterate(self.expr(first.iter, scopes + [local]), first.iter)
            if isinstance(items, Unknown):
                return items
            for item in items:
                self.tick()
                self.assign(first.target, item, scopes + [local], False, first)
                skip = False
                for condition in first.ifs:
                    truth = self.truth(self.expr(condition, scopes + [local]))
                    if isinstance(truth, Unknown):
                        return truth
                    if not truth:
                        skip = True
                        break
                if not skip:
                    problem = walk(rest)
                    if problem is not None:
                        return problem
            return None

        problem = walk(node.generators)
        return problem if problem is not None else kind(results)

    def e_Lambda(self, node, scopes):
        return self.unknown(node, "a lambda")

    def e_Starred(self, node, scopes):
        return self.expr(node.value, scopes)

    # -- calls ----------------------------------------------------------------------

    def e_Call(self, node: ast.Call, scopes):
        func = self.expr(node.func, scopes)
        args = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                items = self.iterate(self.expr(arg.value, scopes), arg)
                if isinstance(items, Unknown):
                    return items if not isinstance(func, Bound) else self.skip_or(func, items)
                args.extend(items)
            else:
                args.append(self.expr(arg, scopes))
        kwargs = {}
        for keyword in node.keywords:
            value = self.expr(keyword.value, scopes)
            if keyword.arg is None:
                if not isinstance(value, dict):
                    return value if isinstance(value, Unknown) else self.unknown(keyword.value, "not a dict")
                kwargs.update(value)
            else:
                kwargs[keyword.arg] = value
        return self.call(func, args, kwargs, node)

    def skip_or(self, func, value):
        return value

    def call(self, func, args: list, kwargs: dict, node: ast.Call):
        if isinstance(func, Unknown):
            if isinstance(node.func, ast.Name) and func.line == node.lineno and func.text == node.func.id:
                return self.unknown(node, func.why)  # `eval("3")`: the call of an unknown name is what is named
            return func  # the value that was already unknown, at its own line
        if isinstance(func, Function):
            return self.call_function(func, args, kwargs, node)
        if isinstance(func, Partial):
            return self.call(func.func, [*func.args, *args], {**func.kwargs, **kwargs}, node)
        if isinstance(func, Module) and func.path in ("functools.partial", "partial"):
            return Partial(args[0], tuple(args[1:]), dict(kwargs)) if args else self.unknown(node)
        if isinstance(func, Namespace):
            return self.unknown(node, f"an instance of the class {func.name}")
        if isinstance(func, Builtin):
            return func.call(self, args, kwargs, node)
        if isinstance(func, Module):
            return self.keras_call(func, args, kwargs, node)
        if isinstance(func, LayerObject):
            return self.apply(func, args, kwargs, node)
        if isinstance(func, ModelObject):
            return self.apply_model(func, args, kwargs, node)
        if isinstance(func, Bound):
            return self.method(func, args, kwargs, node)
        if isinstance(func, Refused):
            self.instantiate(func, args, kwargs, node)
            return Unknown(func.line, f"class {func.name}",
                           f"a subclassed keras.{'Layer' if func.kind == 'layer' else 'Model'}: its call() is "
                           "arbitrary Python")
        return self.unknown(node, "not a function convcalc can call")

    def instantiate(self, refused: Refused, args: list, kwargs: dict, node) -> None:
        """Name the instance and read its ``__init__`` for the layers it creates (their names count)."""
        from .layer_base import snake_case

        if not isinstance(kwargs.get("name"), str):
            self.unique(snake_case(refused.name))
        init = next((n for n in refused.node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
        if init is None or self.depth >= MAX_DEPTH:
            return
        defaults = [self.expr(d, refused.scopes) for d in init.args.defaults]
        kw_defaults = [None if d is None else self.expr(d, refused.scopes) for d in init.args.kw_defaults]
        instance = Unknown(node.lineno, f"{refused.name}(...)", "an instance of a class defined in the file")
        self.call_function(Function(init, refused.scopes, defaults, kw_defaults), [instance, *args], kwargs, node)

    def call_function(self, function: Function, args: list, kwargs: dict, node) -> Any:
        if self.depth >= MAX_DEPTH:
            return self.unknown(node, f"functions nested more than {MAX_DEPTH} calls deep")
        spec = function.node.args
        local: dict[str, Any] = {}
        positional = [a.arg for a in spec.posonlyargs + spec.args]
        for name, value in zip(positional, args):
            local[name] = value
        extra = args[len(positional):]
        if spec.vararg is not None:
            local[spec.vararg.arg] = tuple(extra)
        elif extra:
            return self.unknown(node, f"{function.node.name}() is given too many arguments")
        rest = {}
        for key, value in kwargs.items():
            if key in positional or key in [a.arg for a in spec.kwonlyargs]:
                local[key] = value
            else:
                rest[key] = value
        if spec.kwarg is not None:
            local[spec.kwarg.arg] = rest
        elif rest:
            return self.unknown(node, f"{function.node.name}() got an unexpected argument {next(iter(rest))!r}")
        first_default = len(positional) - len(function.defaults)
        for index, name in enumerate(positional):
            if name not in local:
                if index >= first_default:
                    local[name] = function.defaults[index - first_default]
                else:
                    return self.unknown(node, f"{function.node.name}() is missing the argument {name!r}")
        for arg, default in zip(spec.kwonlyargs, function.kw_defaults):
            if arg.arg not in local:
                if default is None:
                    return self.unknown(node, f"{function.node.name}() is missing the argument {arg.arg!r}")
                local[arg.arg] = default
        self.depth += 1
        try:
            self.block(function.node.body, function.scopes + [local])
        except _Return as returned:
            return returned.value
        finally:
            self.depth -= 1
        return None

    def method(self, bound: Bound, args: list, kwargs: dict, node) -> Any:
        owner, name = bound.owner, bound.name
        if isinstance(owner, ModelObject):
            if name == "add" and owner.class_name == "Sequential":
                if args and isinstance(args[0], (LayerObject, ModelObject, Tensor, Unknown)):
                    owner.items.append((args[0], node.lineno))
                    owner.graph = None
                    self.rebuilt(owner)
                return None
            if name == "build" and owner.class_name == "Sequential":
                shape = args[0] if args else kwargs.get("input_shape")
                if isinstance(shape, (tuple, list)):
                    known = _sequential_input(owner) is not None
                    owner.built_shape = tuple(shape)
                    owner.graph = None
                    if not known:
                        self.unique("functional")
                return None
            if name == "count_params" or name in SKIPPED_METHODS:
                return self.unknown(node, "not read statically")
            return self.unknown(node)
        if isinstance(owner, (dict, list, str, tuple)):
            if any(isinstance(a, Unknown) for a in args):
                return next(a for a in args if isinstance(a, Unknown))
            try:
                return getattr(owner, name)(*args, **kwargs)
            except Exception:  # noqa: BLE001
                return self.unknown(node)
        return self.unknown(node)

    # -- Keras ------------------------------------------------------------------------

    def keras_call(self, module: Module, args: list, kwargs: dict, node) -> Any:
        path = module.path
        prefix, _, short = path.rpartition(".")
        if not module.keras:
            return self.unknown(node, f"{path} is not Keras, and convcalc imports nothing")
        from .layers import ALIASES, known_layer_names

        if short in ("Input",) and prefix in ("keras", "keras.layers"):
            return self.make_input(args, kwargs, node)
        if short in MODEL_NAMES and prefix in ("keras", "keras.models", "keras.engine", "keras.engine.functional"):
            return self.make_model(MODEL_NAMES[short], args, kwargs, node)
        if short in MERGES and prefix in ("keras.layers", "keras.layers.merge", "keras.layers.merging"):
            layer = self.make_layer(MERGES[short], args[1:], kwargs, node)
            return self.apply(layer, args[:1], {}, node) if isinstance(layer, LayerObject) else layer
        if short == "shape" and prefix in ("keras.ops", "keras.ops.core") and args \
                and isinstance(args[0], Tensor):
            return self.tensor_shape(args[0], node)
        if prefix.startswith("keras.ops") and any(isinstance(a, Tensor) for a in _flatten_values(args, kwargs)):
            return self.operation("".join(part.capitalize() for part in short.split("_")), args, kwargs, node)
        if prefix in ("keras.activations", "keras.initializers", "keras.regularizers", "keras.constraints"):
            return Call(short, tuple(_literal(a) for a in args), tuple((k, _literal(v)) for k, v in kwargs.items()),
                        self.segment(node))
        if short in ("load_model",):
            return self.unknown(node, "a model loaded at run time")
        names = set(known_layer_names()) | {"InputLayer"}
        if short in names and (prefix == "keras.layers" or prefix.startswith("keras.layers.")
                               or prefix in ("keras", "keras.src.layers")):
            return self.make_layer(ALIASES.get(short, short), args, kwargs, node)
        return self.unknown(node, f"{path} is not a Keras call convcalc reads")

    def operation(self, class_name: str, args: list, kwargs: dict, node) -> Any:
        """A Keras operation on tensors (``x + y``, ``keras.ops.mean(x, axis=1)``): a node of its own, named
        as Keras names operations (sharing the counters of layers: ``add`` then ``add_1``)."""
        from .graph import Constant
        from .layer_base import snake_case
        from .operations import build_operation

        found = _find_unknown(args) or _find_unknown(kwargs)
        if found is not None:
            return found
        try:
            op = build_operation(class_name, {k: _literal(v) for k, v in kwargs.items() if not isinstance(v, Tensor)})
        except ConvcalcError as error:
            return self.unknown(node, error.message.rstrip("."))

        def argument(value):
            if isinstance(value, Tensor):
                return value.ref
            if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in value):
                return [argument(v) for v in value]
            return Constant(_literal(value) if isinstance(value, (list, tuple)) else value)

        name = kwargs.get("name") if isinstance(kwargs.get("name"), str) else self.unique(snake_case(class_name))
        inputs = [argument(a) for a in args]
        tensor_kwargs = {k: argument(v) for k, v in kwargs.items() if isinstance(v, Tensor)}
        key = self.new_node(name, op, inputs, node.lineno, node.lineno, op.spec)
        self.nodes[key].kwargs = tensor_kwargs
        return Tensor(key)

    def rebuilt(self, model: ModelObject) -> None:
        """Keras rebuilds a Sequential whose input is known each time it gets layers (at construction, then
        on each ``add``), and each build makes an inner Functional that takes a ``functional`` name."""
        layers = [item for item, _ in model.items if not (isinstance(item, Tensor) or
                                                         (isinstance(item, LayerObject) and item.is_input_layer))]
        if layers and _sequential_input(model) is not None:
            self.unique("functional")

    def make_input(self, args, kwargs, node) -> Any:
        allowed = ("shape", "batch_size", "dtype", "sparse", "batch_shape", "name", "tensor", "optional", "ragged")
        bound = dict(zip(allowed, args))
        bound.update(kwargs)
        for value in bound.values():
            if isinstance(value, Unknown):
                return value
        shape, batch = bound.get("shape"), bound.get("batch_size")
        if bound.get("batch_shape") is not None:
            batch_shape = tuple(bound["batch_shape"])
            batch, shape = batch_shape[0], batch_shape[1:]
        if shape is None:
            return self.unknown(node, "keras.Input without shape=")
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        if not all(s is None or (isinstance(s, int) and not isinstance(s, bool) and s > 0) for s in shape):
            raise ConvcalcError(f"keras.Input shape={shape!r} must hold positive sizes or None.",
                                Where(self.file, node.lineno))
        name = bound.get("name") if isinstance(bound.get("name"), str) else self.unique("input_layer")
        key = self.new_node(name, InputSpec((batch, *shape)), None, node.lineno, node.lineno,
                            f"Input(shape={shape!r})")
        return Tensor(key)

    def make_layer(self, class_name: str, args, kwargs, node) -> Any:
        for value in list(args) + list(kwargs.values()):
            found = _find_unknown(value)
            if found is not None:
                return found
        if class_name == "InputLayer":
            shape = (args[0] if args else kwargs.get("shape", kwargs.get("input_shape")))
            if kwargs.get("batch_shape") is not None:
                shape = tuple(kwargs["batch_shape"])[1:]
            shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,) if shape is not None else None
            name = kwargs.get("name") if isinstance(kwargs.get("name"), str) else self.unique("input_layer")
            return LayerObject(None, name, node.lineno, self.segment(node), shape, is_input_layer=True)
        from .layers import build_layer

        call = Call(class_name, tuple(_literal(a) for a in args), tuple((k, _literal(v)) for k, v in kwargs.items()),
                    self.segment(node))
        try:
            layer = build_layer(call)
        except ConvcalcError as error:
            raise error.at(Where(self.file, node.lineno, f"{class_name}(...)")) from None
        name = layer.name or self.unique(layer.default_name())
        input_shape = layer.input_shape
        return LayerObject(layer, name, node.lineno, self.segment(node), input_shape)

    def new_node(self, name, op, inputs, line, where_line, spec, layer_object=None) -> int:
        key = len(self.order)
        self.order.append(key)
        node = Node(key, name, op, inputs=inputs, spec=spec, line=line,
                    where=Where(self.file, where_line, f"{name!r} ({getattr(op, 'type_name', 'InputLayer')})"))
        node.layer_object = layer_object  # type: ignore[attr-defined]
        self.nodes[key] = node
        return key

    def apply(self, layer: LayerObject, args, kwargs, node) -> Any:
        if not args:
            inputs = kwargs.get("inputs", kwargs.get("query"))  # MultiHeadAttention(query=q, value=v)
            if inputs is None:
                return self.unknown(node, "a layer called without inputs")
            args = [inputs]
            kwargs = {k: v for k, v in kwargs.items() if k not in ("inputs", "query")}
        value = args[0]
        tensors = [a for a in args[1:] + [kwargs[k] for k in ("value", "key") if k in kwargs] if isinstance(a, Tensor)]
        if isinstance(value, Tensor) and tensors:  # layer(query, value[, key]): MultiHeadAttention's call
            value = [value, *tensors]
        found = _find_unknown(value)
        if found is not None:
            return found
        if isinstance(value, Tensor):
            reads = value.ref
        elif isinstance(value, (list, tuple)) and all(isinstance(v, Tensor) for v in value) and value:
            reads = [v.ref for v in value]
        else:
            return self.unknown(node, "a layer applied to something that is not a tensor")
        if layer.is_input_layer:
            return self.unknown(node, "an InputLayer called on a tensor")
        key = self.new_node(layer.name, layer.layer, reads, layer.line, node.lineno, layer.spec, layer)
        options = {k: _option(v) for k, v in kwargs.items() if k not in ("inputs", "value", "key")}
        options.update({f"argument {i + 1}": _option(v) for i, v in enumerate(args)
                        if i and not isinstance(v, Tensor) and v is not None})
        self.nodes[key].options = options
        # Tensors given by other keywords (``mask=m``, ``attention_mask=m``) are read too.
        self.nodes[key].kwargs = {k: v.ref for k, v in kwargs.items() if options.get(k) == TENSOR_OPTION}
        return Tensor(key)

    def apply_model(self, model: ModelObject, args, kwargs, node) -> Any:
        graph = self.graph_of(model)
        if isinstance(graph, Unknown):
            return graph
        value = args[0] if args else kwargs.get("inputs")
        found = _find_unknown(value)
        if found is not None:
            return found
        if isinstance(value, Tensor):
            reads = value.ref
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Tensor) for v in value):
            reads = [v.ref for v in value]
        else:
            return self.unknown(node, "a model applied to something that is not a tensor")
        if model.class_name == "Sequential" and _sequential_input(model) is None and not model.called:
            self.unique("functional")  # Keras builds an unbuilt Sequential's inner Functional on its first call
        model.called = True
        key = self.new_node(model.name, graph, reads, model.line, node.lineno, f"{model.class_name}(name={model.name!r})")
        if model.class_name == "Sequential" and model.first_call is None:
            model.first_call = reads
        outputs = graph.outputs
        if isinstance(outputs, list) and len(outputs) > 1:
            return [Tensor(key, i) for i in range(len(outputs))]
        return Tensor(key)

    def make_model(self, class_name: str, args, kwargs, node) -> ModelObject:
        name = kwargs.get("name")
        if class_name == "Sequential":
            items = args[0] if args else kwargs.get("layers", [])
            model = ModelObject("Sequential", name if isinstance(name, str) else self.unique("sequential"), node.lineno)
            if isinstance(items, Unknown):
                model.unknown = items
            elif isinstance(items, (list, tuple)):
                model.items = [(item, node.lineno) for item in items]
                self.rebuilt(model)
            return model
        inputs = args[0] if args else kwargs.get("inputs")
        outputs = args[1] if len(args) > 1 else kwargs.get("outputs")
        model = ModelObject("Functional", name if isinstance(name, str) else self.unique("functional"), node.lineno,
                            inputs, outputs)
        found = _find_unknown(inputs) or _find_unknown(outputs)
        if found is not None:
            model.unknown = found
        elif not _tensors_only(inputs) or not _tensors_only(outputs):
            model.unknown = self.unknown(node, "the model's inputs or outputs are not tensors")
        return model

    # -- graphs ----------------------------------------------------------------------

    def graph_of(self, model: ModelObject) -> Graph | Unknown:
        if model.unknown is not None:
            return model.unknown
        if model.graph is None:
            built = self.sequential_graph(model) if model.class_name == "Sequential" else self.functional_graph(model)
            if isinstance(built, Unknown):
                model.unknown = built
                return built
            model.graph = built
        return model.graph

    def functional_graph(self, model: ModelObject) -> Graph | Unknown:
        inputs = [t.key for t in _flatten(model.inputs)]
        needed: set[int] = set()
        stack = [t.key for t in _flatten(model.outputs)]
        while stack:
            key = stack.pop()
            if key in needed:
                continue
            needed.add(key)
            node = self.nodes[key]
            if key in inputs:
                continue
            if isinstance(node.op, InputSpec):
                return Unknown(model.line, f"model {model.name!r}",
                               f"it depends on the input {node.name!r}, which is not among its inputs")
            stack.extend(ref.node for ref in refs_in(node.inputs) + refs_in(node.kwargs))
        needed.update(inputs)  # an input no output depends on is still one of the model's inputs
        nodes, seen_layers = [], set()
        for key in sorted(needed):
            original = self.nodes[key]
            layer_object = getattr(original, "layer_object", None)
            shown = id(layer_object) not in seen_layers if layer_object is not None else True
            if layer_object is not None:
                seen_layers.add(id(layer_object))
            nodes.append(Node(key, original.name, original.op, index=len(nodes) + 1, inputs=original.inputs,
                              where=original.where, spec=original.spec, shown=shown, line=original.line,
                              kwargs=original.kwargs, options=original.options))
        outputs = model.outputs
        if isinstance(outputs, dict):
            out = {k: v.ref for k, v in outputs.items()}
        elif isinstance(outputs, (list, tuple)):
            out = [v.ref for v in outputs]
        else:
            out = outputs.ref
        structure = list(model.inputs) if isinstance(model.inputs, dict) else None
        return Graph(model.name, nodes, inputs, out, self.data_format, input_structure=structure)

    def tensor_shape(self, tensor: Tensor, node) -> tuple | Unknown:
        """``x.shape``, ``keras.ops.shape(x)``: the tensor's shape, batch axis first (None where
        unknown), as Keras knows it when the line runs."""
        shape = self.shape_of(tensor.ref)
        if shape is None or not isinstance(shape, tuple):
            return self.unknown(node, "the shape of a tensor convcalc cannot compute here")
        return shape

    def shape_of(self, reads) -> tuple | None:
        """The shape of a tensor (or of the first of a list), by evaluating what it depends on."""
        ref = reads if isinstance(reads, TensorRef) else reads[0]
        needed: set = set()
        stack = [ref.node]
        while stack:
            key = stack.pop()
            if key in needed:
                continue
            needed.add(key)
            stack.extend(r.node for r in refs_in(self.nodes[key].inputs) + refs_in(self.nodes[key].kwargs))
        nodes = [self.nodes[key] for key in sorted(needed)]
        inputs = [node.key for node in nodes if isinstance(node.op, InputSpec)]
        try:
            return evaluate(Graph("probe", nodes, inputs, ref, self.data_format)).output_shape
        except ConvcalcError:
            return None

    def sequential_graph(self, model: ModelObject) -> Graph | Unknown:
        items = list(model.items)
        shape = None
        if model.built_shape is not None:
            shape = tuple(model.built_shape)
        nodes: list[Node] = []
        if items and isinstance(items[0][0], Tensor):
            tensor = items.pop(0)[0]
            shape = self.nodes[tensor.key].op.shape
        elif items and isinstance(items[0][0], LayerObject) and items[0][0].is_input_layer:
            first = items.pop(0)[0]
            shape = (None, *first.input_shape)
        elif items and isinstance(items[0][0], LayerObject) and items[0][0].input_shape is not None:
            shape = (None, *items[0][0].input_shape)
        key = ("input", model.name)
        nodes.append(Node(key, "input", InputSpec(shape if shape is not None else (None,)), shown=False))
        previous = TensorRef(key)
        for position, (item, line) in enumerate(items, start=1):
            found = _find_unknown(item)
            if found is not None:
                return found
            if isinstance(item, LayerObject):
                if item.is_input_layer:
                    return Unknown(line, item.spec, "an InputLayer must come first")
                node_key = ("seq", model.name, position)
                nodes.append(Node(node_key, item.name, item.layer, index=position, inputs=previous, spec=item.spec,
                                  line=item.line,
                                  where=Where(self.file, line, f"{item.name!r} ({item.layer.type_name})")))
            elif isinstance(item, ModelObject):
                graph = self.graph_of(item)
                if isinstance(graph, Unknown):
                    return graph
                node_key = ("seq", model.name, position)
                nodes.append(Node(node_key, item.name, graph, index=position, inputs=previous, line=line,
                                  spec=f"{item.class_name}(name={item.name!r})",
                                  where=Where(self.file, line, f"{item.name!r} ({item.class_name})")))
            else:
                return Unknown(line, repr(item)[:60], "not a layer")
            previous = TensorRef(node_key)
        graph = Graph(model.name, nodes, [key], previous, self.data_format, class_name="Sequential")
        graph.built = shape is not None  # type: ignore[attr-defined]
        return graph


# ---------------------------------------------------------------- helpers


def _literal(value: Any) -> Any:
    """A Python value as a spec's literal: lists become tuples; Keras objects their names."""
    if isinstance(value, list):
        return tuple(_literal(v) for v in value)
    if isinstance(value, tuple):
        return tuple(_literal(v) for v in value)
    if isinstance(value, Module):
        return Reference(value.path)
    if isinstance(value, LayerObject):
        return Reference(value.layer.type_name if value.layer is not None else "InputLayer")
    return value


def _sequential_input(model: ModelObject):
    """What gives a Sequential its input: a ``keras.Input`` first, an ``InputLayer`` first, the first
    layer's ``input_shape=``, or ``model.build(...)``; None when it has none yet."""
    if model.built_shape is not None:
        return model.built_shape
    if not model.items:
        return None
    first = model.items[0][0]
    if isinstance(first, Tensor):
        return first
    if isinstance(first, LayerObject) and (first.is_input_layer or first.input_shape is not None):
        return first
    return None


def _flatten_values(args, kwargs) -> list:
    out = []
    for value in [*args, *kwargs.values()]:
        out.extend(value if isinstance(value, (list, tuple)) else [value])
    return out


def _option(value) -> Any:
    """A layer call's keyword option as the graph keeps it (see graph.Node.options)."""
    return TENSOR_OPTION if isinstance(value, Tensor) else option_value(value)


def _find_unknown(value: Any) -> Unknown | None:
    if isinstance(value, Unknown):
        return value
    if isinstance(value, (list, tuple)):
        for item in value:
            found = _find_unknown(item)
            if found is not None:
                return found
    if isinstance(value, dict):
        for item in value.values():
            found = _find_unknown(item)
            if found is not None:
                return found
    if isinstance(value, ModelObject) and value.unknown is not None:
        return value.unknown
    return None


def _flatten(value: Any) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _flatten(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _flatten(v)]
    return []


def _tensors_only(value: Any) -> bool:
    if isinstance(value, Tensor):
        return True
    if isinstance(value, dict):
        return bool(value) and all(isinstance(v, Tensor) for v in value.values())
    if isinstance(value, (list, tuple)):
        return bool(value) and all(isinstance(v, Tensor) for v in value)
    return False


TENSOR_OPERATORS = {ast.Add: "Add", ast.Sub: "Subtract", ast.Mult: "Multiply", ast.Div: "TrueDivide",
                    ast.Pow: "Power", ast.FloorDiv: "FloorDivide", ast.MatMult: "Matmul"}
BINARY: dict[type, Callable] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a ** b,
}
COMPARE: dict[type, Callable] = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


class Builtin:
    """One of the builtins SPEC 9 names, run on known values only."""

    def __init__(self, name: str, function: Callable):
        self.name, self.function = name, function

    def call(self, interpreter: Interpreter, args: list, kwargs: dict, node) -> Any:
        if self.name == "print":
            return None
        for value in list(args) + list(kwargs.values()):
            if isinstance(value, Unknown):
                return value
            if isinstance(value, (Tensor, LayerObject, ModelObject, Module, Function)) and self.name not in (
                    "len", "list", "tuple", "zip", "enumerate", "reversed", "isinstance"):
                return interpreter.unknown(node, f"{self.name}() of a Keras object")
        if self.name == "range" and args and any(isinstance(a, int) and abs(a) > 10**6 for a in args):
            return interpreter.unknown(node, "a range too long to go through")
        try:
            result = self.function(*args, **kwargs)
        except Exception:  # noqa: BLE001 - Python's own refusal
            return interpreter.unknown(node, f"{self.name}() refuses these arguments")
        if self.name in ("zip", "enumerate", "reversed", "map", "filter", "sorted"):
            return list(result)
        return result


BUILTINS = {name: Builtin(name, function) for name, function in {
    "len": len, "range": range, "int": int, "float": float, "min": min, "max": max, "abs": abs, "round": round,
    "tuple": tuple, "list": list, "zip": zip, "enumerate": enumerate, "reversed": reversed, "str": str,
    "bool": bool, "dict": dict, "sum": sum, "sorted": sorted, "print": print,
}.items()}
BUILTINS.update({"None": None, "True": True, "False": False})


# ---------------------------------------------------------------- reading a file


def read_source(file: str, text: str, data_format: DataFormat, call: str | None = None) -> Source:
    """Interpret the module (and ``call``, a call of one of its functions with literal arguments)."""
    try:
        tree = ast.parse(text, filename=file)
    except SyntaxError as error:
        raise ConvcalcError(f"not valid Python: {error.msg}.", Where(file, error.lineno)) from None
    except RecursionError:
        raise ConvcalcError("is nested too deeply for Python's own parser.", Where(file)) from None
    except (ValueError, MemoryError) as error:
        raise ConvcalcError(f"cannot be parsed as Python ({type(error).__name__}: {error}).", Where(file)) from None
    interpreter = Interpreter(file, text, data_format)
    try:
        interpreter.run_module(tree)
    except (_Return, _Break, _Continue):
        pass
    except RecursionError:
        raise ConvcalcError("is nested too deeply to read statically.", Where(file)) from None
    models: list[Model] = []
    if call is not None:
        value = _call_from_option(interpreter, call, file)
        models.append(_model(interpreter, call, value))
    else:
        seen: set[int] = set()
        for variable, value in interpreter.bound_models.items():
            if id(value) in seen:
                continue
            seen.add(id(value))
            models.append(_model(interpreter, variable, value))
        instantiated = set()
        for variable, value in interpreter.refused_instances.items():
            if variable in interpreter.bound_models:
                continue
            instantiated.add(value.text)
            models.append(Model(variable, variable, value.line, error=ConvcalcError(
                f"skipped {variable}: cannot read {value.text[len('class '):]}, a subclassed keras.Model, statically "
                "(its call() is arbitrary Python)", Where(file, value.line)), skipped=True))
        for variable, value in interpreter.globals.items():
            if isinstance(value, Refused) and value.kind == "model" and f"class {value.name}" not in instantiated:
                models.append(Model(variable, variable, value.line, error=ConvcalcError(
                    f"skipped {variable}: cannot read a subclassed keras.Model statically (its call() is arbitrary "
                    "Python)", Where(file, value.line)), skipped=True))
    return Source(file, models, interpreter.expectations)


def _model(interpreter: Interpreter, variable: str, value: Any) -> Model:
    file = interpreter.file
    if not isinstance(value, ModelObject):
        if isinstance(value, Unknown):
            return Model(variable, variable, value.line, error=value.error(file, variable), skipped=True)
        return Model(variable, variable, 0, error=ConvcalcError(f"{variable} is not a Keras model.", Where(file)),
                     skipped=True)
    graph = interpreter.graph_of(value)
    if isinstance(graph, Unknown):
        return Model(variable, value.name, value.line, error=graph.error(file, variable), skipped=True)
    if value.class_name == "Sequential" and not getattr(graph, "built", True) and value.first_call is not None:
        shape = interpreter.shape_of(value.first_call)  # built by its first call, as Keras builds it
        if shape is not None:
            first = graph.nodes[0]
            nodes = [Node(first.key, first.name, InputSpec(shape), shown=False), *graph.nodes[1:]]
            graph = Graph(graph.name, nodes, graph.inputs, graph.outputs, graph.data_format, class_name="Sequential")
            return Model(variable, value.name, value.line, graph=graph)
    if value.class_name == "Sequential" and not getattr(graph, "built", True):
        return Model(variable, value.name, value.line, error=ConvcalcError(
            f"skipped {variable}: the Sequential model {value.name!r} has no input shape (no keras.Input, no "
            "input_shape=, no model.build()), so Keras cannot build it either", Where(file, value.line)), skipped=True)
    return Model(variable, value.name, value.line, graph=graph)


def _call_from_option(interpreter: Interpreter, text: str, file: str) -> Any:
    """``--model "make_model(input_shape=(64, 64, 3))"``: a function of the file, literal arguments."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise ConvcalcError(f"--model {text!r} is neither a model name nor a call such as make_model(...).") from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ConvcalcError(f"--model {text!r} must name a model or call a function defined in {file}.")
    function = interpreter.globals.get(node.func.id)
    if not isinstance(function, Function):
        raise ConvcalcError(f"--model {text!r}: {node.func.id} is not a function defined in {file}.")
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg is not None}
    except (ValueError, SyntaxError):
        raise ConvcalcError(f"--model {text!r}: the arguments must be literals.") from None
    spec = function.node.args
    names = [a.arg for a in spec.posonlyargs + spec.args]
    required = names[:len(names) - len(function.defaults)]
    missing = [n for n in required[len(args):] if n not in kwargs]
    unknown = [k for k in kwargs if k not in names and k not in [a.arg for a in spec.kwonlyargs]]
    if missing or (unknown and spec.kwarg is None) or (len(args) > len(names) and spec.vararg is None):
        problem = (f"is missing the argument {missing[0]!r}" if missing else
                   f"got an unexpected argument {unknown[0]!r}" if unknown else "is given too many arguments")
        raise ConvcalcError(f"--model {text!r}: {node.func.id}() {problem}.")
    interpreter.counters.clear()  # names as a fresh Keras session would give them
    value = interpreter.call_function(function, args, kwargs, node)
    if isinstance(value, Unknown) and value.line == node.lineno and value.text.startswith('"""'):
        raise ConvcalcError(f"--model {text!r}: {value.why}.")
    return value


def models_of(source: Source, pick: str | None = None) -> list[Model]:
    """The models ``--model`` picks (by variable or by the model's name), or all of them."""
    if pick is None:
        return source.models
    chosen = [m for m in source.models if pick in (m.variable, m.name)]
    if not chosen:
        names = ", ".join(m.variable for m in source.models) or "none"
        raise ConvcalcError(f"--model {pick!r} names no model of {source.file}; its models are: {names}.")
    return chosen


def evaluate_model(model: Model, input_shapes=None):
    """The model's evaluated rows (a StackResult), or its error."""
    if model.error is not None:
        raise model.error
    return evaluate(model.graph, input_shapes)


def is_python(path) -> bool:
    return str(path).endswith((".py", ".pyw"))

