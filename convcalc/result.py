"""The evaluated graph: one row per layer, and the whole model's shapes and totals.

Every source of layers (specs, stack files, model configs) builds a
:class:`~convcalc.graph.Graph`; :func:`~convcalc.graph.evaluate` turns it into
a :class:`StackResult`, and every view (table, JSON, lint, run) reads that.
Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import DataFormat
from .layer_base import Layer, Weight


@dataclass(frozen=True)
class LayerRow:
    """One layer's row. Shapes include the batch axis first (``None`` unless known)."""

    index: int
    name: str
    type: str
    spec: str
    data_format: str
    input_shape: tuple[int | None, ...]
    output_shape: tuple[int | None, ...]
    padding: tuple[tuple[int, int], ...] | None
    kernel_shape: tuple[int, ...] | None
    trainable_params: int
    non_trainable_params: int
    layer: Layer | None = field(default=None, compare=False, repr=False)
    cropping: tuple[tuple[int, int], ...] | None = None
    connected_to: tuple[str, ...] = ()
    weights: tuple[Weight, ...] = ()  # as the layer declares them; empty for nested models
    line: int | None = None  # the source line that created the layer, when it comes from a file
    depth: int = 0  # 0 at the top; rows of nested models (--expand-nested) are deeper

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params


@dataclass(frozen=True)
class StackResult:
    """The whole stack: where the data format came from, shapes, rows, totals."""

    data_format: DataFormat
    input_shape: tuple[int | None, ...] | list
    layers: tuple[LayerRow, ...]
    outputs: tuple[int | None, ...] | list | None = None  # a model's outputs, when not the last row's
    source_lines: bool = False  # read from a Python source: views show each row's line
    graph: Any = field(default=None, compare=False, repr=False)  # the Graph evaluated (--run walks it)
    graph_inputs: tuple = field(default=(), compare=False, repr=False)  # its input shapes as evaluated

    @property
    def output_shape(self) -> tuple[int | None, ...] | list:
        if self.outputs is not None:
            return self.outputs
        return self.layers[-1].output_shape if self.layers else self.input_shape

    @property
    def trainable_params(self) -> int:
        return sum(row.trainable_params for row in self.layers if row.depth == 0)

    @property
    def non_trainable_params(self) -> int:
        return sum(row.non_trainable_params for row in self.layers if row.depth == 0)

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params




@dataclass(frozen=True)
class ModelResults:
    """The models of a Python source (SPEC 9): each one's name and evaluated rows, and the notes of
    the models that could not be read statically."""

    file: str
    models: tuple[tuple[str, StackResult], ...]  # (the module-level name, its rows)
    notes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # each model's own name (``name=``, else Keras's default)
