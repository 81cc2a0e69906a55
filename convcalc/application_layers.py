"""Layers that ``keras.applications`` defines for itself (model configs name them by class).

``LayerScale`` (``keras.src.applications.convnext``): ``x * gamma`` with one
trainable weight of shape ``(projection_dim,)``, which Keras's add_weight
names ``variable`` (it is given no name).  ``CustomScaleLayer``
(``keras.src.applications.inception_resnet_v2``): ``inputs[0] + inputs[1] * scale``,
no weights.  Both broadcast as the backend does: a None size meeting a known
size takes the known one.
"""

from __future__ import annotations

from . import formulas
from .arguments import check_number
from .errors import ConvcalcError
from .layer_base import REQUIRED, Layer, LayerShape, Weight
from .parse import parse_call


def backend_broadcast(layer: Layer, a: tuple, b: tuple) -> tuple:
    """NumPy broadcasting of two shapes (batch excluded) as TensorFlow infers it with unknown sizes."""
    out = formulas.broadcast_shapes(tuple(a), tuple(b))
    if out is None:
        raise ConvcalcError(f"{layer.type_name} cannot broadcast the shapes {tuple(a)} and {tuple(b)} together.")
    return out


class LayerScale(Layer):
    signature = (("init_values", REQUIRED), ("projection_dim", REQUIRED))
    checks = {"init_values": check_number, "projection_dim": lambda v, n: _size(v, n)}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        dim = self.args["projection_dim"]
        if not input_shape:
            raise ConvcalcError("LayerScale needs an input with at least one axis besides the batch.")
        output = backend_broadcast(self, tuple(input_shape), (dim,))
        gamma = Weight("variable", (dim,), True, parse_call(f"Constant({self.args['init_values']!r})"))
        return self.shape(output, weights=[gamma])


class CustomScaleLayer(Layer):
    """Only the first two inputs are used, as in Keras's ``call``."""

    signature = (("scale", REQUIRED),)
    checks = {"scale": check_number}
    multiple_inputs = True

    def compute(self, input_shape, data_format: str) -> LayerShape:
        shapes = list(input_shape) if isinstance(input_shape, list) else [input_shape]
        if len(shapes) < 2:
            raise ConvcalcError(f"CustomScaleLayer adds inputs[0] and inputs[1] * scale: it needs 2 inputs; got {len(shapes)}.")
        return self.shape(backend_broadcast(self, tuple(shapes[0]), tuple(shapes[1])))


def _size(value, name):
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ConvcalcError(f"{name} must be a positive integer; got {name}={value!r}.")


LAYERS = (LayerScale, CustomScaleLayer)
