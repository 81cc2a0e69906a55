"""What every layer type shares: its result type, its argument table, its axes.

A layer class declares its Keras signature (positional order and defaults),
its keyword-only arguments, checks for arguments whose meaning is its own,
and :meth:`Layer.compute`, which maps input shapes (batch excluded) to a
:class:`LayerShape` through ``convcalc.formulas``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Callable

from . import formulas
from .arguments import BASE_KEYWORDS, CHECKS
from .errors import ConvcalcError

REQUIRED = object()
Pairs = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Weight:
    """One weight a layer declares, as Keras's ``add_weight`` does.

    ``initializer`` is the layer's argument value (a name or a call) used when
    ``--run`` has no array for it; ``None`` for the usual default.
    """

    name: str
    shape: tuple[int, ...]
    trainable: bool = True
    initializer: Any = None

    @property
    def size(self) -> int:
        return formulas.weight_count(self.shape)


@dataclass(frozen=True)
class LayerShape:
    """What one layer does to a shape (batch axis excluded everywhere).

    ``padding`` holds a ``(before, after)`` pair per spatial axis (height then
    width): for transposed convolutions, the padding of the equivalent direct
    convolution (SPEC 1). ``cropping`` likewise, for Cropping2D.  ``weights``
    are the layer's declared weights: parameter counts derive from them.
    ``includes_batch``: ``output_shape`` is the whole shape, batch axis first
    (a few Keras layers overwrite the batch axis of inputs of unusual rank).
    A size may be ``None`` (unknown until run time, as in Keras).
    """

    output_shape: tuple[int | None, ...] | list
    padding: Pairs | None = None
    kernel_shape: tuple[int, ...] | None = None
    weights: tuple[Weight, ...] = ()
    cropping: Pairs | None = None
    includes_batch: bool = False  # Keras wrote the output over the batch axis too (Resizing of other ranks)

    @property
    def trainable_params(self) -> int:
        return sum(w.size for w in self.weights if w.trainable)

    @property
    def non_trainable_params(self) -> int:
        return sum(w.size for w in self.weights if not w.trainable)

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params


def snake_case(name: str) -> str:
    """Keras's ``to_snake_case`` for default layer names: ``Conv2DTranspose`` -> ``conv2d_transpose``.

    >>> snake_case("Conv2DTranspose"), snake_case("ReLU"), snake_case("PReLU"), snake_case("GlobalAveragePooling2D")
    ('conv2d_transpose', 're_lu', 'p_re_lu', 'global_average_pooling2d')
    """
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Layer:
    """A validated layer: its Keras type, its arguments in normal form, its spec."""

    type_name: str = ""  # the Keras class name: the class's own name, set below
    signature: tuple[tuple[str, Any], ...] = ()
    keyword_only: tuple[tuple[str, Any], ...] = BASE_KEYWORDS
    checks: dict[str, Callable[[Any, str], Any]] = {}
    multiple_inputs = False  # merge layers take a list of inputs

    def __init__(self, args: dict[str, Any], spec: str):
        self.args = args
        self.spec = spec
        self.validate()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            cls.type_name = cls.__name__

    @classmethod
    def arguments(cls) -> dict[str, Any]:
        """Every argument the constructor takes, with its default."""
        return dict(cls.signature + cls.keyword_only)

    @classmethod
    def check(cls, key: str) -> Callable[[Any, str], Any]:
        return cls.checks.get(key) or CHECKS[key]

    @classmethod
    def default_name(cls) -> str:
        return snake_case(cls.type_name)

    @property
    def name(self) -> str | None:
        return self.args.get("name")

    @property
    def data_format(self) -> str | None:
        return self.args.get("data_format")

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        return self.args.get("input_shape")

    def validate(self) -> None:
        """Rules between arguments (each argument alone is checked on binding)."""

    def compute(self, input_shape, data_format: str) -> LayerShape:
        raise NotImplementedError

    def shape(self, output, weights=(), **fields) -> LayerShape:
        """A LayerShape; ``trainable=False`` makes every weight non-trainable, as in Keras."""
        if not self.args.get("trainable", True):
            weights = tuple(replace(w, trainable=False) for w in weights)
        return LayerShape(output if isinstance(output, list) else tuple(output), weights=tuple(weights), **fields)

    def weight(self, name: str, shape, trainable: bool = True, initializer: str | None = None) -> Weight:
        """A declared weight; its initializer is the ``<initializer>_initializer`` argument (default: ``name``'s)."""
        key = f"{initializer or name}_initializer"
        return Weight(name, tuple(shape), trainable, self.args.get(key))

    def __getattr__(self, item: str) -> Any:
        try:
            return self.__dict__["args"][item]
        except KeyError:
            raise AttributeError(item) from None


def expect_rank(layer: Layer, shape: tuple[int, ...], rank: int, layout: str) -> None:
    """The input must have ``rank`` axes besides the batch, e.g. 3 for (height, width, channels)."""
    if len(shape) != rank:
        raise ConvcalcError(
            f"{layer.type_name} needs an input of {rank} sizes {layout} besides the batch; "
            f"got {len(shape)}: {shape}."
        )


def split_channels(layer: Layer, shape: tuple[int, ...], data_format: str, spatial_rank: int):
    """``(spatial sizes, channels)`` of an input in the given data format."""
    names = {1: "steps", 2: "height, width"}[spatial_rank]
    layout = f"({names}, channels)" if data_format == "channels_last" else f"(channels, {names})"
    expect_rank(layer, shape, spatial_rank + 1, layout)
    if data_format == "channels_last":
        return tuple(shape[:-1]), shape[-1]
    return tuple(shape[1:]), shape[0]


def join_channels(spatial: tuple[int, ...], channels: int, data_format: str) -> tuple[int, ...]:
    return (*spatial, channels) if data_format == "channels_last" else (channels, *spatial)


def normalize_axis(layer: Layer, axis: int, rank: int, what: str = "axis") -> int:
    """A Keras axis of the full shape (batch is axis 0) as an index into the shape without batch."""
    full = rank + 1
    if not -full <= axis < full:
        raise ConvcalcError(f"{what}={axis} is out of range for an input of rank {full} (batch included).")
    axis = axis % full
    if axis == 0:
        raise ConvcalcError(f"{what}={axis} is the batch axis; {layer.type_name} cannot act on it here.")
    return axis - 1
