"""The traps, said out loud: an input whose shape reads better in the other data format.

``Input(shape=(1, 32, 32))`` read as channels_last is a 1 x 32 image with 32 channels, which is
rarely what was meant (seed 001).  :func:`wrong_format_warning` names the other reading and what it
gives, so the user sees both answers side by side.  Standard library only.
"""

from __future__ import annotations

from typing import Callable

from .errors import ConvcalcError
from .result import StackResult

TINY = 4  # a first spatial axis this small ...
RATIO = 8  # ... next to a channel axis this many times larger looks like channels_first


def looks_swapped(shape: tuple, data_format: str) -> bool:
    """Does an image shape (without the batch) look written in the other data format?

    >>> looks_swapped((1, 32, 32), "channels_last"), looks_swapped((3, 224, 224), "channels_last")
    (True, True)
    >>> looks_swapped((32, 32, 3), "channels_last"), looks_swapped((224, 224, 3), "channels_first")
    (False, True)
    """
    if len(shape) < 3 or any(not isinstance(n, int) for n in shape):
        return False
    if data_format == "channels_last":
        first, channels = shape[0], shape[-1]
    else:
        first, channels = shape[-1], shape[0]
    return first <= TINY and channels >= RATIO * first


def _other(data_format: str) -> str:
    return "channels_first" if data_format == "channels_last" else "channels_last"


def wrong_format_warning(result: StackResult, recompute: Callable[[str], StackResult],
                         label: str = "--input") -> str | None:
    """One sentence naming the other reading of the input and its result, or None.

    Only when the data format was not chosen on purpose (it comes from Keras's default or keras.json,
    not ``--data-format``, a layer's ``data_format=`` or a stack file's), the stack has one input, and
    the other reading computes.  ``label`` names where the input came from.
    """
    if not isinstance(result, StackResult) or not result.layers or not isinstance(result.input_shape, tuple):
        return None
    if any(row.type == "InputLayer" for row in result.layers):
        return None  # a Keras model config: each layer stores its own data format, nothing was guessed
    source = result.data_format.source
    if source != "default" and not source.endswith("keras.json"):  # --data-format, a layer's, a stack file's
        return None
    first = next((row for row in result.layers if row.data_format), None)  # InputLayer rows have none
    if first is None or (first.layer is not None and getattr(first.layer, "data_format", None) is not None):
        return None
    shape = tuple(result.input_shape[1:])
    fmt = first.data_format
    if not looks_swapped(shape, fmt):
        return None
    other = _other(fmt)
    try:
        alternative = recompute(other)
    except ConvcalcError:
        return None
    except Exception:  # noqa: BLE001 - a warning never breaks the answer it comes with
        return None
    if not isinstance(alternative, StackResult):
        return None
    from .render import count_text, shape_text

    return (f"{label} {'x'.join(map(str, shape))} read as {fmt} gives {shape_text(result.output_shape)} and "
            f"{count_text(result.total_params)} parameters; read as {other} (--data-format {other}) it gives "
            f"{shape_text(alternative.output_shape)} and {count_text(alternative.total_params)}.")
