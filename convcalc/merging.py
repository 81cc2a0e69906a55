"""Merge layers: several inputs of compatible shapes, one output, no weights.

Unknown sizes (None) follow Keras's ``compute_output_shape``: an element-wise
merge gives None wherever either input has None; Concatenate sums the merge
axis (None if any input has None there) and takes the other sizes from the
first input, a None matching any size.
"""

from __future__ import annotations

from . import formulas
from .arguments import check_int
from .errors import ConvcalcError
from .layer_base import Layer, LayerShape


class _Merge(Layer):
    """Element-wise merges broadcast like Keras (sizes equal, or one of them 1; shorter shapes align right)."""

    multiple_inputs = True
    exactly: int | None = None

    def _inputs(self, input_shape) -> list[tuple[int, ...]]:
        """Keras takes a list of inputs; a list of one passes through (except Subtract's exactly 2)."""
        if not isinstance(input_shape, list):
            need = f"exactly {self.exactly}" if self.exactly else "a list of"
            raise ConvcalcError(f"{self.type_name} merges {need} inputs; got one input of shape {input_shape}.")
        shapes = list(input_shape)
        if not shapes or (self.exactly and len(shapes) != self.exactly):
            need = f"exactly {self.exactly}" if self.exactly else "at least 1"
            raise ConvcalcError(f"{self.type_name} merges {need} inputs; got {len(shapes)}.")
        return shapes

    def compute(self, input_shape, data_format: str) -> LayerShape:
        shapes = self._inputs(input_shape)
        output = shapes[0]
        for shape in shapes[1:]:
            output = broadcast(self, output, shape, shapes)
        return self.shape(output)


def broadcast(layer, a, b, shapes):
    """Keras's ``_compute_elemwise_op_output_shape``: align right, 1 stretches, None stays None."""
    out = formulas.broadcast_shapes(tuple(a), tuple(b), unknown_wins=True)
    if out is None:
        raise ConvcalcError(
            f"{layer.type_name} needs inputs of the same shape (or size 1 to broadcast); "
            f"got {' and '.join(map(str, shapes))}."
        )
    return out


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
    """Keras allows axis 0 (the batch axis): the output's batch stays unknown."""

    signature = (("axis", -1),)
    checks = {"axis": check_int}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        shapes = self._inputs(input_shape)
        full = [(None, *s) for s in shapes]
        rank = len(full[0])
        axis = self.args["axis"]
        listed = " and ".join(map(str, shapes))
        if any(len(s) != rank for s in full):
            raise ConvcalcError(f"Concatenate needs inputs of the same rank; got {listed}.")
        if not -rank <= axis < rank:
            raise ConvcalcError(f"axis={axis} is out of range for inputs of rank {rank} (batch included).")
        axis %= rank
        for k in range(rank):
            sizes = {s[k] for s in full} - {None}
            if k != axis and len(sizes) > 1:
                raise ConvcalcError(
                    f"Concatenate needs inputs with matching shapes except along axis {self.args['axis']}; got {listed}."
                )
        output = list(full[0])
        along = [s[axis] for s in full]
        output[axis] = None if None in along else sum(along)
        return self.shape(tuple(output[1:]))


LAYERS = (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate)
