"""What ``--run`` is asked to do and what it measured (SPEC 4), as plain data.

Standard library only, so that ``render`` can read a run's results without
importing NumPy; :mod:`convcalc.run` fills them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunOptions:
    """The ``--run`` options: where the sample and weights come from, the seed, the limits."""

    sample: tuple[Path, ...] = ()  # one per model input, in its order
    fill: tuple[tuple[float, ...], ...] = ()  # one for every input, or one per input
    weights: Path | None = None
    seed: int = 0
    max_memory: int | None = None
    save: Path | None = None


@dataclass(frozen=True)
class LayerRun:
    """One layer's run: the shape the kernels produced, the time, and whether it equals the formula's."""

    measured_shape: tuple[int, ...]
    seconds: float
    agrees: bool


@dataclass(frozen=True)
class RunResult:
    """The whole run; ``output`` is the final array (an ndarray of ``output_shape``), or a dict of
    arrays by output name for a model of several outputs."""

    layers: tuple[LayerRun, ...]
    output: Any
    batch: int
    seed: int
    sample: str
    weights: str | None
    dtype: str
    estimated_bytes: int
    max_memory_bytes: int
    seconds: float
    saved: str | None
    part: int | None = None  # the batch ran in parts of this many samples, to stay within the memory limit

    @property
    def output_shape(self) -> tuple[int, ...] | list:
        """The output's shape; a list of shapes for a model of several outputs."""
        if isinstance(self.output, dict):
            return [tuple(array.shape) for array in self.output.values()]
        return tuple(self.output.shape)
