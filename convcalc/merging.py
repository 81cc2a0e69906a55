"""Merge layers: several inputs of compatible shapes, one output, no weights."""

from __future__ import annotations

from .arguments import check_int
from .errors import ConvcalcError
from .layer_base import Layer, LayerShape, normalize_axis


class _Merge(Layer):
    """Element-wise merges broadcast like Keras (sizes equal, or one of them 1)."""

    multiple_inputs = True
    exactly: int | None = None

    def _inputs(self, input_shape) -> list[tuple[int, ...]]:
        shapes = list(input_shape) if isinstance(input_shape, list) else [input_shape]
        if len(shapes) < 2 or (self.exactly and len(shapes) != self.exactly):
            need = f"exactly {self.exactly}" if self.exactly else "at least 2"
            raise ConvcalcError(f"{self.type_name} merges {need} inputs; got {len(shapes)}.")
        return shapes

    def compute(self, input_shape, data_format: str) -> LayerShape:
        shapes = self._inputs(input_shape)
        output = shapes[0]
        for shape in shapes[1:]:
            output = _broadcast(self, output, shape, shapes)
        return self.shape(output)


def _broadcast(layer, a, b, shapes):
    if len(a) < len(b):
        a, b = b, a
    out = list(a[: len(a) - len(b)])
    for i, j in zip(a[len(a) - len(b):], b):
        if i != j and 1 not in (i, j):
            raise ConvcalcError(
                f"{layer.type_name} needs inputs of the same shape (or size 1 to broadcast); "
                f"got {' and '.join(map(str, shapes))}."
            )
        out.append(j if i == 1 else i)
    return tuple(out)


class Add(_Merge):
    pass


class Subtract(_Merge):
    exactly = 2


class Multiply(_Merge):
    pass


class Average(_Merge):
    pass


class Maximum(_Merge):
    pass


class Minimum(_Merge):
    pass


class Concatenate(_Merge):
    signature = (("axis", -1),)
    checks = {"axis": check_int}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        shapes = self._inputs(input_shape)
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ConvcalcError(f"Concatenate needs inputs of the same rank; got {' and '.join(map(str, shapes))}.")
        axis = normalize_axis(self, self.args["axis"], rank)
        for shape in shapes[1:]:
            if any(x != y for k, (x, y) in enumerate(zip(shapes[0], shape)) if k != axis):
                raise ConvcalcError(
                    f"Concatenate needs inputs with matching shapes except along axis {self.args['axis']}; "
                    f"got {' and '.join(map(str, shapes))}."
                )
        output = list(shapes[0])
        output[axis] = sum(s[axis] for s in shapes)
        return self.shape(tuple(output))


LAYERS = (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate)
