"""Normalization layers: their weights are per feature along ``axis``."""

from __future__ import annotations

from . import formulas
from .arguments import check_any_literal, check_axes, check_bool
from .errors import ConvcalcError
from .layer_base import Layer, LayerShape, Weight, normalize_axis


def _axes(layer: Layer, axis, shape) -> tuple[int, ...]:
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(sorted({normalize_axis(layer, a, len(shape)) for a in axes}))


class BatchNormalization(Layer):
    """gamma and beta are trainable; the moving mean and variance are not (Keras counts both)."""

    signature = (
        ("axis", -1), ("momentum", 0.99), ("epsilon", 1e-3), ("center", True), ("scale", True),
        ("beta_initializer", "zeros"), ("gamma_initializer", "ones"), ("moving_mean_initializer", "zeros"),
        ("moving_variance_initializer", "ones"), ("beta_regularizer", None), ("gamma_regularizer", None),
        ("beta_constraint", None), ("gamma_constraint", None), ("renorm", False), ("renorm_clipping", None),
        ("renorm_momentum", 0.99), ("synchronized", False),
    )
    checks = {"axis": check_axes, "renorm": check_bool, "renorm_clipping": check_any_literal,
              "renorm_momentum": check_any_literal, "synchronized": check_bool}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        if isinstance(a["axis"], tuple):
            raise ConvcalcError(f"axis must be a single integer for BatchNormalization; got axis={a['axis']!r}.")
        features = (input_shape[normalize_axis(self, a["axis"], len(input_shape))],)
        weights = []
        if a["scale"]:
            weights.append(self.weight("gamma", features))
        if a["center"]:
            weights.append(self.weight("beta", features))
        weights += [self.weight("moving_mean", features, False), self.weight("moving_variance", features, False)]
        if a["renorm"]:
            weights += [Weight(name, features, False, init) for name, init in
                        (("moving_stddev", "ones"), ("renorm_mean", "zeros"), ("renorm_stddev", "ones"))]
        return self.shape(input_shape, weights=weights)


class LayerNormalization(Layer):
    signature = (
        ("axis", -1), ("epsilon", 1e-3), ("center", True), ("scale", True), ("beta_initializer", "zeros"),
        ("gamma_initializer", "ones"), ("beta_regularizer", None), ("gamma_regularizer", None),
        ("beta_constraint", None), ("gamma_constraint", None),
    )
    keyword_only = (("rms_scaling", False),) + Layer.keyword_only
    checks = {"axis": check_axes, "rms_scaling": check_bool}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        features = tuple(input_shape[i] for i in _axes(self, a["axis"], input_shape))
        weights = []
        if a["scale"]:
            weights.append(self.weight("gamma", features))
        if a["center"] and not a["rms_scaling"]:
            weights.append(self.weight("beta", features))
        return self.shape(input_shape, weights=weights)


class Normalization(Layer):
    """Without ``mean``/``variance`` Keras keeps a non-trainable mean, variance and count to adapt."""

    signature = (("axis", -1), ("mean", None), ("variance", None), ("invert", False))
    checks = {"axis": lambda v, n: None if v is None else check_axes(v, n), "mean": check_any_literal,
              "variance": check_any_literal, "invert": check_bool}

    def validate(self) -> None:
        if (self.args["mean"] is None) != (self.args["variance"] is None):
            raise ConvcalcError("Normalization needs both mean and variance, or neither (to adapt).")

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        kept = () if a["axis"] is None else _axes(self, a["axis"], input_shape)
        features = formulas.weight_count(tuple(input_shape[i] for i in kept))
        if a["mean"] is not None:
            for key in ("mean", "variance"):
                size = len(_flat(a[key]))
                if size not in (1, features):
                    raise ConvcalcError(
                        f"{key} has {size} values but the normalized axes hold {features} features "
                        f"(input shape {input_shape}, axis={a['axis']!r}); give 1 or {features}."
                    )
        if a["mean"] is not None:
            return self.shape(input_shape)
        shape = tuple(input_shape[i] for i in kept)
        return self.shape(input_shape, weights=[
            Weight("mean", shape, False, "zeros"), Weight("variance", shape, False, "ones"), Weight("count", (), False, "zeros"),
        ])


def _flat(value) -> list:
    if isinstance(value, tuple):
        return [v for item in value for v in _flat(item)]
    return [value]


LAYERS = (BatchNormalization, LayerNormalization, Normalization)
