"""Keras's geometry rules for convolutions, each checked in one place.

The layers (``convcalc.convolution``) and the NumPy kernels
(``convcalc.kernels``) both call these functions, so a rule and its message
live once.  Each raises :class:`~convcalc.errors.ConvcalcError` with a message
that names the rule and echoes the values.  Standard library only.

Sizes may be ``None`` (unknown until run time, as in Keras): a rule about a
size says nothing about an unknown one.
"""

from __future__ import annotations

from typing import Sequence

from .errors import ConvcalcError
from .formulas import effective_kernel


def check_strides_with_dilation(strides: Sequence[int], dilation_rate: Sequence[int]) -> None:
    """Keras refuses ``strides > 1`` together with ``dilation_rate > 1`` (Conv and ConvTranspose).

    >>> check_strides_with_dilation((2, 2), (1, 1))
    >>> check_strides_with_dilation((2, 1), (1, 2))
    Traceback (most recent call last):
    ...
    convcalc.errors.ConvcalcError: strides > 1 is not supported together with dilation_rate > 1 (Keras rule); got strides=(2, 1) and dilation_rate=(1, 2).
    """
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ConvcalcError(
            f"strides > 1 is not supported together with dilation_rate > 1 "
            f"(Keras rule); got strides={strides} and dilation_rate={dilation_rate}."
        )


def check_output_padding(output_padding: Sequence[int] | None, strides: Sequence[int]) -> None:
    """A transposed convolution's ``output_padding`` must be smaller than ``strides`` on every axis.

    >>> check_output_padding(None, (2, 2)); check_output_padding((1, 0), (2, 1))
    >>> check_output_padding((1, 2), (2, 2))
    Traceback (most recent call last):
    ...
    convcalc.errors.ConvcalcError: output_padding must be smaller than strides on every axis (Keras rule); on axis 1 output_padding is 2 and strides is 2 (output_padding=(1, 2), strides=(2, 2)).
    """
    if output_padding is None:
        return
    for axis, (p, s) in enumerate(zip(output_padding, strides)):
        if p >= s:
            raise ConvcalcError(
                f"output_padding must be smaller than strides on every axis (Keras rule); "
                f"on axis {axis} output_padding is {p} and strides is {s} "
                f"(output_padding={output_padding}, strides={strides})."
            )


def check_groups_divide_filters(filters: int, groups: int) -> None:
    """``filters`` must be a multiple of ``groups``.

    >>> check_groups_divide_filters(6, 3)
    >>> check_groups_divide_filters(3, 2)
    Traceback (most recent call last):
    ...
    convcalc.errors.ConvcalcError: filters must be evenly divisible by groups; got filters=3, groups=2.
    """
    if filters % groups:
        raise ConvcalcError(
            f"filters must be evenly divisible by groups; got filters={filters}, groups={groups}."
        )


def check_groups_divide_channels(channels: int | None, groups: int, input_shape, data_format: str) -> None:
    """The input's channels must be a multiple of ``groups`` (``input_shape`` is echoed, batch excluded).

    >>> check_groups_divide_channels(4, 2, (8, 8, 4), "channels_last")
    >>> check_groups_divide_channels(3, 2, (8, 8, 3), "channels_last")
    Traceback (most recent call last):
    ...
    convcalc.errors.ConvcalcError: the input's 3 channels must be evenly divisible by groups=2 (input shape (8, 8, 3), channels_last).
    """
    if channels is not None and channels % groups:
        raise ConvcalcError(
            f"the input's {channels} channels must be evenly divisible by groups={groups} "
            f"(input shape {input_shape}, {data_format})."
        )


def check_output_size(
    spatial_in: Sequence[int | None],
    spatial_out: Sequence[int | None],
    kernel_size: Sequence[int],
    dilation_rate: Sequence[int],
    strides: Sequence[int],
    padding: str,
) -> None:
    """Every known output length must be positive; the message shows the kernel's span ``d*(k-1)+1``.

    >>> check_output_size((5, 5), (3, 3), (3, 3), (1, 1), (1, 1), "valid")
    >>> check_output_size((2, 2), (0, 0), (3, 3), (1, 1), (1, 1), "valid")
    Traceback (most recent call last):
    ...
    convcalc.errors.ConvcalcError: the output size would be 0x0, which is not positive: the input is 2x2 and the kernel spans 3x3 (kernel_size=(3, 3), dilation_rate=(1, 1), strides=(1, 1), padding='valid').
    """
    if all(n is None or n > 0 for n in spatial_out):
        return
    spans = tuple(effective_kernel(k, d) for k, d in zip(kernel_size, dilation_rate))

    def x(sizes) -> str:
        return "x".join("None" if n is None else str(n) for n in sizes)

    raise ConvcalcError(
        f"the output size would be {x(spatial_out)}, which is not positive: "
        f"the input is {x(spatial_in)} and the kernel spans {x(spans)} "
        f"(kernel_size={kernel_size}, dilation_rate={dilation_rate}, "
        f"strides={strides}, padding={padding!r})."
    )
