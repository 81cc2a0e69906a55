"""Keras masks at inference: which layers set one, which pass it on, and how merges combine them.

``Embedding(mask_zero=True)`` and ``Masking`` set a mask on their output (a bool per step);
the layers that support masking pass their first input's mask on (MultiHeadAttention: the
query's); merges combine their inputs' masks; every other layer drops it.  The rules are Keras
3.15's ``compute_mask`` methods; ``run_graph`` carries the masks from layer to layer and
hands them to the layers that read them (MultiHeadAttention, GlobalAveragePooling1D).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import execute, feature_kernels

# Layers that keep their input's mask (``supports_masking = True`` in Keras 3.15).
KEEPERS = (
    "Dense", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Rescaling", "Identity",
    "Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise", "ActivityRegularization", "Masking",
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization", "Normalization",
    "MultiHeadAttention", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
)
MERGES = tuple(name for name in execute.MERGES if name != "Concatenate")  # Concatenate combines masks its own way


def output_mask(row, arguments, masks: Sequence) -> np.ndarray | None:
    """The Keras mask of a layer call's output, from its input arrays and their masks (None: no mask).

    >>> import numpy as np
    >>> class Row: type = "Add"
    >>> output_mask(Row, [np.ones((1, 2, 3))] * 2, [np.array([[True, False]]), np.array([[False, False]])]).tolist()
    [[True, False]]
    """
    if row.type in ("Masking", "Embedding"):
        return feature_kernels.keras_mask(row, arguments)
    if row.type not in KEEPERS or not any(m is not None for m in masks):
        return None
    if row.type in MERGES:  # Merge.compute_mask: none unless every input has one, else their OR
        if any(m is None for m in masks):
            return None
        combined = np.asarray(masks[0], bool)
        for m in masks[1:]:
            combined = combined | np.asarray(m, bool)
        return combined
    if row.type == "Concatenate":
        return _concatenated(arguments, masks, row.layer.args.get("axis", -1))
    return masks[0]  # the first input's (MultiHeadAttention: the query's)


def _concatenated(inputs, masks, axis: int) -> np.ndarray:
    """Concatenate.compute_mask: each input's mask widened to the input's shape (all true where it has
    none), concatenated along ``axis``, then any() over the last axis."""
    full = []
    for x, m in zip(inputs, masks):
        if m is None:
            full.append(np.ones(x.shape, bool))
        elif np.ndim(m) < x.ndim:
            full.append(np.broadcast_to(np.expand_dims(np.asarray(m, bool), -1), x.shape))
        else:
            full.append(np.asarray(m, bool))
    return np.any(np.concatenate(full, axis=axis), axis=-1)
