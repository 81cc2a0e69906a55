"""The command line: Typer commands only; the work happens in the library modules.

Every :class:`ConvcalcError` is turned into ``Error: ...`` on stderr and its
exit code in one place, :func:`_fail`.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Optional

import typer

from . import __version__
from .errors import ConvcalcError, ExitCode

app = typer.Typer(
    name="convcalc",
    help="Output shapes, per-side padding and parameter counts of Keras Conv2D / Conv2DTranspose stacks.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class DataFormatChoice(str, Enum):
    channels_last = "channels_last"
    channels_first = "channels_first"


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"convcalc {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Output shapes, per-side padding and parameter counts of Keras conv stacks, as Keras 3 computes them."""


def _fail(error: ConvcalcError, debug: bool) -> None:
    if debug:
        raise error
    typer.echo(f"Error: {error.message}", err=True)
    raise typer.Exit(int(error.exit_code))


@app.command()
def shape(
    layers: Annotated[
        Optional[list[str]],
        typer.Argument(help="Layer specs as Keras calls, e.g. \"Conv2D(10, 8, padding='same')\".", show_default=False),
    ] = None,
    input: Annotated[
        Optional[str],
        typer.Option("--input", "-i", help="Input shape without the batch: 32x32x3, 32,32,3 or '(32, 32, 3)'."),
    ] = None,
    data_format: Annotated[
        Optional[DataFormatChoice],
        typer.Option("--data-format", help="Default data format (else keras.json, else channels_last)."),
    ] = None,
    batch: Annotated[Optional[int], typer.Option("--batch", min=1, help="Batch size shown in shapes.")] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.", case_sensitive=False)
    ] = OutputFormat.table,
    debug: Annotated[bool, typer.Option("--debug", help="Show a traceback for errors.")] = False,
) -> None:
    """Print each layer's output shape, per-side padding and parameter count.

    Example: convcalc shape --input 32x32x3 "Conv2D(10, 8, padding='same')" --format json
    """
    from .config import resolve_data_format
    from .parse import parse_shape
    from .stack import compute_stack

    try:
        if not layers:
            raise ConvcalcError(
                "no layers given; type them as Keras calls, e.g. "
                "convcalc shape --input 32x32x3 \"Conv2D(10, 8, padding='same')\"."
            )
        fmt = resolve_data_format(data_format.value if data_format else None)
        input_shape = parse_shape(input) if input is not None else None
        result = compute_stack(list(layers), fmt, input_shape, batch)
    except ConvcalcError as error:
        _fail(error, debug)
    _print(result, output_format)


def _print(result, output_format: OutputFormat) -> None:
    from . import render

    if output_format is OutputFormat.table:
        from rich.console import Console

        console = Console()
        if not console.is_terminal:
            console = Console(width=max(console.width, 200))  # piped: never fold a row
        console.print(render.to_table(result))
        return
    text = {
        OutputFormat.json: render.to_json,
        OutputFormat.csv: render.to_csv,
        OutputFormat.markdown: render.to_markdown,
    }[output_format](result)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
