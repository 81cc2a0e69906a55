"""Normalization layers: their weights are per feature along ``axis``."""

from __future__ import annotations

from . import formulas
from .arguments import check_any_literal, check_axes, check_bool, check_groups, check_int
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
        _known(self, features, a["axis"], input_shape)
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
        _known(self, features, a["axis"], input_shape)
        weights = []
        if a["scale"] or a["rms_scaling"]:  # Keras creates gamma for rms_scaling even with scale=False
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
        _known(self, tuple(input_shape[i] for i in kept), a["axis"], input_shape)
        sizes = tuple(input_shape[i] for i in kept)
        if a["mean"] is not None:
            for key in ("mean", "variance"):
                shape = _array_shape(a[key])
                if formulas.broadcast_shapes(shape, sizes) != sizes:  # Keras broadcasts them to those sizes
                    raise ConvcalcError(
                        f"{key} of shape {shape} cannot broadcast to the normalized axes' sizes {sizes} "
                        f"(input shape {input_shape}, axis={a['axis']!r}), as Keras broadcasts it."
                    )
        if a["mean"] is not None:
            return self.shape(input_shape)
        shape = tuple(input_shape[i] for i in kept)
        return self.shape(input_shape, weights=[
            Weight("mean", shape, False, "zeros"), Weight("variance", shape, False, "ones"), Weight("count", (), False, "zeros"),
        ])


def _known(layer: Layer, features: tuple, axis, input_shape) -> None:
    """Keras cannot create a weight with a None size: the normalized axes must be known."""
    if None in features:
        raise ConvcalcError(
            f"{layer.type_name} needs known sizes on axis={axis!r}, whose weights it sizes; "
            f"the input {_full(input_shape)} has None there."
        )


def _array_shape(value) -> tuple:
    """The shape of a nested literal (a scalar has shape ())."""
    if isinstance(value, tuple):
        return (len(value), *(_array_shape(value[0]) if value else ()))
    return ()


def _flat(value) -> list:
    if isinstance(value, tuple):
        return [v for item in value for v in _flat(item)]
    return [value]


LAYERS = (BatchNormalization, LayerNormalization, Normalization)


class GroupNormalization(Layer):
    """gamma and beta per channel along ``axis``; ``groups`` must divide the channels (-1: one per channel)."""

    signature = (
        ("groups", 32), ("axis", -1), ("epsilon", 1e-3), ("center", True), ("scale", True),
        ("beta_initializer", "zeros"), ("gamma_initializer", "ones"), ("beta_regularizer", None),
        ("gamma_regularizer", None), ("beta_constraint", None), ("gamma_constraint", None),
    )
    checks = {"groups": check_groups, "axis": check_int}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        full = (None, *input_shape)
        if not -len(full) <= a["axis"] < len(full):
            raise ConvcalcError(f"axis={a['axis']} is out of range for an input of rank {len(full)} (batch included).")
        channels = full[a["axis"]]
        if channels is None:
            raise ConvcalcError(
                f"GroupNormalization needs a known size on axis {a['axis']}; the input {_full(input_shape)} has None there."
            )
        groups = channels if a["groups"] == -1 else a["groups"]
        if channels < groups:
            raise ConvcalcError(f"GroupNormalization: groups={groups} cannot be more than the {channels} channels on axis {a['axis']}.")
        if channels % groups:
            raise ConvcalcError(f"GroupNormalization: groups={groups} must divide the {channels} channels on axis {a['axis']}.")
        weights = []
        if a["scale"]:
            weights.append(self.weight("gamma", (channels,)))
        if a["center"]:
            weights.append(self.weight("beta", (channels,)))
        return self.shape(input_shape, weights=weights)


class UnitNormalization(Layer):
    """Divides by the L2 norm along ``axis`` (the batch axis 0 too, as Keras allows); no weights."""

    signature = (("axis", -1),)
    checks = {"axis": check_axes}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        axes = self.args["axis"] if isinstance(self.args["axis"], tuple) else (self.args["axis"],)
        rank = len(input_shape) + 1
        for axis in axes:
            if not -rank <= axis < rank:
                raise ConvcalcError(
                    f"axis={self.args['axis']!r} is out of range for an input of rank {rank} "
                    f"(batch included; shape {_full(input_shape)})."
                )
        return self.shape(input_shape)


def _full(shape) -> tuple:
    return (None, *shape)


LAYERS = LAYERS + (GroupNormalization, UnitNormalization)
