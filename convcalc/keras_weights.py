"""``--weights model.keras``: the real weights of a saved Keras model, from its ``model.weights.h5``.

Keras 3 writes each layer's variables under ``.../<layer key>/vars/<i>`` (``i`` in the
order the layer created them: its ``weights`` order), with the layer's own name in the
``vars`` group's ``name`` attribute; a nested model's layers sit under its own
``layers`` group.  This module reads every such group, matches it by layer name to the
weights the run needs (``<layer name>/<weight name>``), and checks every shape.

Reading HDF5 needs h5py, an optional extra (``pip install 'convcalc[h5]'``); without it
the archive is refused with that instruction, before anything runs.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import numpy as np

from . import reading
from .errors import ConvcalcError

WEIGHTS_MEMBER = "model.weights.h5"
MAX_WEIGHTS_BYTES = 4 * 2**30  # a .keras archive's weights are read whole: at most 4 GiB


def is_keras_archive(path: Path) -> bool:
    return str(path).lower().endswith(".keras")


def load_keras_weights(path: Path, expected: dict, dtype: np.dtype,
                       budget: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """Arrays named ``<layer name>/<weight name>`` from a ``.keras`` archive; ``expected`` maps
    each name the run needs to ``(row, shape)``."""
    what = f"--weights {path}"
    try:
        import h5py
    except ImportError:
        raise ConvcalcError(f"{what} is a .keras archive; reading its weights needs h5py: "
                            "pip install 'convcalc[h5]' (or give the weights as an .npz).") from None
    data = reading.read_bytes(path, "--weights", MAX_WEIGHTS_BYTES)
    if not reading.is_archive(path, data):
        raise ConvcalcError(f"{what} is not a .keras archive (a zip file); model.save('model.keras') writes one.")
    member = reading.archive_member(data, str(path), WEIGHTS_MEMBER, MAX_WEIGHTS_BYTES)
    if budget is not None:
        budget(len(member))
    try:
        with h5py.File(io.BytesIO(member), "r") as handle:
            stored = _layer_variables(handle, what)
    except ConvcalcError:
        raise
    except Exception as error:  # h5py raises OSError, KeyError, ValueError... for a damaged file
        raise ConvcalcError(f"{what}: its {WEIGHTS_MEMBER} is not a readable HDF5 file ({error}).") from None
    return _match(stored, expected, dtype, what)


def _layer_variables(handle, what: str) -> dict[str, list]:
    """Each layer's variables by its name, in their index order (``vars/0``, ``vars/1``, ...)."""
    import h5py

    found: dict[str, list] = {}

    def visit(name: str, item) -> None:
        if not isinstance(item, h5py.Group) or name.rsplit("/", 1)[-1] != "vars" or "name" not in item.attrs:
            return
        keys = sorted((key for key in item.keys() if key.isdigit()), key=int)
        if not keys:
            return
        # layers/<key>/layers/<key>/vars (a nested model's layer), layers/<key>/<key>/vars (a layer's own
        # sublayer: MultiHeadAttention's query): every enclosing group with a named vars gives a name
        parts = name.split("/")[:-1]
        owners = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
        layer = "/".join(_name(handle, f"{owner}/vars") for owner in owners if _named(handle, f"{owner}/vars"))
        if layer in found:
            raise ConvcalcError(f"{what} holds two layers named {layer!r}; convcalc matches weights by layer name.")
        found[layer] = [item[key] for key in keys]

    handle.visititems(visit)
    return {layer: [dataset[()] for dataset in datasets] for layer, datasets in found.items()}


def _named(handle, group: str) -> bool:
    return group in handle and "name" in handle[group].attrs


def _name(handle, group: str) -> str:
    value = handle[group].attrs["name"]
    return value.decode() if isinstance(value, bytes) else str(value)


def _match(stored: dict[str, list], expected: dict, dtype: np.dtype, what: str) -> dict[str, np.ndarray]:
    """The stored variables under the names the run needs, every shape checked."""
    by_layer: dict[str, list[tuple[str, tuple]]] = {}
    for name, (row, shape) in expected.items():
        by_layer.setdefault(name.rsplit("/", 1)[0], []).append((name, tuple(shape)))
    arrays = {}
    for layer, wanted in by_layer.items():
        if layer not in stored:
            continue  # absent layers use their initializers, as with an .npz
        values = stored[layer]
        if len(values) != len(wanted):
            raise ConvcalcError(f"{what}: layer {layer!r} holds {len(values)} variables, but the model's layer "
                                f"declares {len(wanted)} ({', '.join(name.rsplit('/', 1)[-1] for name, _ in wanted)}).")
        for (name, shape), value in zip(wanted, values):
            if tuple(value.shape) != shape:
                raise ConvcalcError(f"{what}: {name} has shape {tuple(value.shape)}, but the layer needs {shape}.")
            arrays[name] = np.asarray(value).astype(dtype, copy=False)
    unknown = sorted(set(stored) - set(by_layer) - {layer for layer, values in stored.items() if not values})
    if unknown:
        raise ConvcalcError(f"{what} holds weights of layers this model does not have: {', '.join(unknown[:5])}.")
    return arrays
