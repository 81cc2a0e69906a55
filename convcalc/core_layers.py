"""Dense, activations as layers, and the regularization layers that keep shapes."""

from __future__ import annotations

from . import formulas
from .arguments import (
    CONSTRAINTS, REGULARIZERS, check_any_literal, check_axes, check_initializer, check_number, check_number_or_none,
    check_positive_int, named,
)
from .errors import ConvcalcError
from .layer_base import REQUIRED, Layer, LayerShape, Weight, expect_rank
from .convolution import INIT_TAIL, _Conv

kernel_weights = _Conv.kernel_weights


class _SameShape(Layer):
    """Layers whose output has their input's shape and which have no weights."""

    def compute(self, input_shape, data_format: str) -> LayerShape:
        return self.shape(input_shape)


def _no_weights(value, name):
    if value is not None:
        raise ConvcalcError("weights= is not supported in a spec; use --weights FILE.npz with --run.")
    return value


def _lambda_output_shape(value, name):
    if value is None:
        return None
    if isinstance(value, tuple) and all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0) for v in value):
        return value
    raise ConvcalcError(
        f"output_shape of a Lambda must be a tuple of sizes (batch excluded; None for unknown); got {name}={value!r}."
    )


class Dense(Layer):
    """``units`` outputs for every position of the last axis."""

    signature = (("units", REQUIRED), ("activation", None), ("use_bias", True), *INIT_TAIL,
                 ("lora_rank", None), ("lora_alpha", None), ("quantization_config", None))
    checks = {"units": check_positive_int, "quantization_config": check_any_literal}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        if not input_shape:
            raise ConvcalcError("Dense needs an input with at least one axis besides the batch.")
        if input_shape[-1] is None:
            raise ConvcalcError(
                f"Dense needs a known last axis to size its kernel; the input {(None, *input_shape)} has None there."
            )
        kernel = formulas.dense_kernel_shape(input_shape[-1], a["units"])
        return self.shape(
            (*input_shape[:-1], a["units"]), kernel_shape=kernel, weights=kernel_weights(self, kernel, a["units"]),
        )


class Activation(_SameShape):
    signature = (("activation", REQUIRED),)

    def validate(self) -> None:
        if self.args["activation"] is None:
            raise ConvcalcError("Activation needs an activation, e.g. Activation('relu').")


def _non_negative(what: str):
    def check(value, name):
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConvcalcError(f"{name} of a {what} layer cannot be None or negative; got {name}={value!r}.")
        return value

    return check


def _optional_non_negative(value, name):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
        raise ConvcalcError(f"max_value of a ReLU layer cannot be negative; got {name}={value!r}.")
    return value


class ReLU(_SameShape):
    signature = (("max_value", None), ("negative_slope", 0.0), ("threshold", 0.0))
    checks = {"max_value": _optional_non_negative, "negative_slope": _non_negative("ReLU"), "threshold": _non_negative("ReLU")}


class LeakyReLU(_SameShape):
    signature = (("negative_slope", 0.3),)
    keyword_only = (("alpha", None),) + Layer.keyword_only  # Keras 2's name for negative_slope
    checks = {"negative_slope": _non_negative("LeakyReLU"), "alpha": check_number_or_none}

    def validate(self) -> None:
        if self.args["alpha"] is not None:
            self.args["negative_slope"] = _non_negative("LeakyReLU")(self.args["alpha"], "alpha")


class ELU(_SameShape):
    signature = (("alpha", 1.0),)
    checks = {"alpha": check_number}


class Softmax(_SameShape):
    signature = (("axis", -1),)
    checks = {"axis": check_axes}


def _shared_axes(value, name):
    if value is None:
        return None
    value = (value,) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(value, tuple) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value):
        raise ConvcalcError(f"{name} must be None or a list of axes (1-based, batch excluded); got {name}={value!r}.")
    return value


class PReLU(Layer):
    """A learned slope per position; ``shared_axes`` (1-based) share one slope along those axes."""

    signature = (("alpha_initializer", "Zeros"), ("alpha_regularizer", None), ("alpha_constraint", None),
                 ("shared_axes", None))
    checks = {"shared_axes": _shared_axes}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        shared = self.args["shared_axes"] or ()
        for axis in shared:
            if axis > len(input_shape):
                raise ConvcalcError(f"shared_axes={shared} names axis {axis}, but the input has {len(input_shape)} axes besides the batch.")
        alpha = tuple(1 if i + 1 in shared else n for i, n in enumerate(input_shape))
        if None in alpha:
            raise ConvcalcError(
                f"PReLU needs known sizes on every axis not in shared_axes to size alpha; "
                f"the input {(None, *input_shape)} gives alpha the shape {alpha}."
            )
        return self.shape(input_shape, kernel_shape=alpha, weights=[self.weight("alpha", alpha)])


def _rate(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConvcalcError(f"{name} must be a number between 0 and 1; got {name}={value!r}.")
    return value


class Dropout(_SameShape):
    signature = (("rate", REQUIRED), ("noise_shape", None), ("seed", None))
    checks = {"rate": _rate, "noise_shape": check_any_literal}


class SpatialDropout2D(_SameShape):
    signature = (("rate", REQUIRED), ("data_format", None), ("seed", None), ("name", None), ("dtype", None))
    keyword_only = ()
    checks = {"rate": _rate}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        expect_rank(self, input_shape, 3, "(height, width, channels)")
        return self.shape(input_shape)


class GaussianNoise(_SameShape):
    signature = (("stddev", REQUIRED), ("seed", None))
    checks = {"stddev": _rate}


class Rescaling(_SameShape):
    """``x * scale + offset``: no weights."""

    signature = (("scale", REQUIRED), ("offset", 0.0))
    checks = {"scale": check_any_literal, "offset": check_any_literal}


class Embedding(Layer):
    """Looks up ``output_dim`` numbers per integer index: output ``input_shape + (output_dim,)``.

    ``lora_rank`` freezes the table and adds the trainable ``lora_embeddings_a``
    ``(input_dim, rank)`` and ``lora_embeddings_b`` ``(rank, output_dim)``, as Keras's enable_lora.
    """

    signature = (("input_dim", REQUIRED), ("output_dim", REQUIRED), ("embeddings_initializer", "uniform"),
                 ("embeddings_regularizer", None), ("embeddings_constraint", None), ("mask_zero", False),
                 ("weights", None), ("lora_rank", None), ("lora_alpha", None), ("quantization_config", None))
    keyword_only = (("input_length", None),) + Layer.keyword_only  # Keras 2's argument: accepted, ignored
    checks = {"input_dim": check_positive_int, "output_dim": check_positive_int,
              "embeddings_initializer": check_initializer, "embeddings_regularizer": named("regularizer", REGULARIZERS),
              "embeddings_constraint": named("constraint", CONSTRAINTS), "mask_zero": check_any_literal,
              "weights": _no_weights, "quantization_config": check_any_literal, "input_length": check_any_literal}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        a = self.args
        table = (a["input_dim"], a["output_dim"])
        weights = [self.weight("embeddings", table, trainable=not a["lora_rank"])]
        if a["lora_rank"]:
            weights += [Weight("lora_embeddings_a", (a["input_dim"], a["lora_rank"]), True, "he_uniform"),
                        Weight("lora_embeddings_b", (a["lora_rank"], a["output_dim"]), True, "zeros")]
        return self.shape((*input_shape, a["output_dim"]), kernel_shape=table, weights=weights)


class Identity(_SameShape):
    pass


class ActivityRegularization(_SameShape):
    signature = (("l1", 0.0), ("l2", 0.0))
    checks = {"l1": check_number, "l2": check_number}


class AlphaDropout(_SameShape):
    signature = (("rate", REQUIRED), ("noise_shape", None), ("seed", None))
    checks = {"rate": _rate, "noise_shape": check_any_literal}


class GaussianDropout(_SameShape):
    signature = (("rate", REQUIRED), ("seed", None))
    checks = {"rate": _rate}


class Masking(_SameShape):
    signature = (("mask_value", 0.0),)
    checks = {"mask_value": check_any_literal}


class RepeatVector(Layer):
    """``(features,)`` -> ``(n, features)``."""

    signature = (("n", REQUIRED),)
    checks = {"n": check_positive_int}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        expect_rank(self, input_shape, 1, "(features,)")
        return self.shape((self.args["n"], *input_shape))


class Lambda(Layer):
    """Only its ``output_shape`` (batch excluded, as Keras takes it) can be known: its function is code."""

    signature = (("function", None), ("output_shape", None), ("mask", None), ("arguments", None))
    checks = {"function": check_any_literal, "output_shape": _lambda_output_shape, "mask": check_any_literal,
              "arguments": check_any_literal}

    def compute(self, input_shape, data_format: str) -> LayerShape:
        shape = self.args["output_shape"]
        if shape is None:
            raise ConvcalcError(
                "Lambda runs Python code that convcalc does not execute, so its output shape cannot be known "
                "without that code; give output_shape=(...) (batch excluded), as Keras's Lambda takes it."
            )
        return self.shape(shape)


LAYERS = (Dense, Activation, ReLU, LeakyReLU, ELU, Softmax, PReLU, Dropout, SpatialDropout2D, GaussianNoise, Rescaling,
          Embedding, Identity, ActivityRegularization, AlphaDropout, GaussianDropout, Masking, RepeatVector, Lambda)
