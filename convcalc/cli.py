"""The command line: Typer commands only; the work happens in the library modules.

Every :class:`ConvcalcError` is turned into ``Error: ...`` on stderr and its
exit code in one place, :func:`_fail`; every answer goes to stdout through one
function, :func:`_write`, which turns a closed, broken or full stdout into exit 2.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer

from . import __version__
from .errors import ConvcalcError, ExitCode, unexpected_error

app = typer.Typer(
    name="convcalc",
    help="Output shapes, per-side padding and parameter counts of Keras Conv2D / Conv2DTranspose stacks.",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class DataFormatChoice(str, Enum):
    channels_last = "channels_last"
    channels_first = "channels_first"


class DtypeChoice(str, Enum):
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"
    float64 = "float64"
    int8 = "int8"


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


def run(args: list[str] | None = None) -> None:
    """The ``convcalc`` console script: the Typer app, with a usage mistake (an unknown option, a bad
    option value) said as one ``Error:`` sentence and exit 2, like every other bad input."""
    # click's UsageError, whether Typer vendors click (0.2x) or uses it (0.12-0.19)
    usage_error = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError")
    try:
        code = app(args=args, prog_name="convcalc", standalone_mode=False)
    except usage_error as error:
        if type(error).__name__ == "NoArgsIsHelpError":  # plain `convcalc`: the help, as before
            error.show()
            sys.exit(int(ExitCode.BAD_INPUT))
        command = error.ctx.command_path if error.ctx is not None else "convcalc"
        _error(f"{error.format_message().rstrip('.')}. See '{command} -h'.")
        sys.exit(int(ExitCode.BAD_INPUT))
    except typer.Abort:
        _error("interrupted.")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def complete_layer(incomplete: str) -> list[str]:
    """TAB on a layer argument: the layer names convcalc knows, as the start of a call."""
    from .layers import known_layer_names

    prefix, _, word = incomplete.rpartition(".")
    prefix = prefix + "." if prefix else ""
    names = ["Input", *known_layer_names()]
    from .registry import TORCH_LAYERS, TORCH_PREFIXES

    if prefix.rstrip(".") in TORCH_PREFIXES:  # nn.Co -> the PyTorch layers
        names = list(TORCH_LAYERS)
    return [f"{prefix}{name}(" for name in names if name.lower().startswith(word.lower())]


def _fail(error: ConvcalcError, debug: bool) -> None:
    if debug:
        raise error
    _error(error.text)
    raise typer.Exit(int(error.exit_code))


def _error(text: str) -> None:
    """``Error: text`` on stderr, control characters escaped; a closed or failing stderr is ignored
    (the exit code still says what happened)."""
    from .render import printable

    stream = sys.stderr
    if stream is None:  # started with stderr closed
        return
    try:
        stream.write(f"Error: {printable(text)}\n")
        stream.flush()
    except (OSError, ValueError):
        _silence(stream)


def _silence(stream) -> None:
    """Point a failed standard stream's descriptor at /dev/null, so that the interpreter's last flush
    at exit does not print "Exception ignored ... BrokenPipeError" (the Python docs' SIGPIPE note)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no descriptor (tests' captured streams)
        pass


def _write(text: str) -> None:
    """Write an answer to stdout and flush it: the one way output leaves convcalc.

    A closed stdout, a closed pipe (``| head``) or a full disk is exit 2 with a message on stderr,
    never a traceback, and never a silent success.
    """
    stream = sys.stdout
    if stream is None:  # started with stdout closed (>&-)
        _error("cannot write the output: stdout is closed.")
        raise typer.Exit(int(ExitCode.BAD_INPUT))
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError) as error:  # BrokenPipeError, ENOSPC, EIO; ValueError: stdout closed in-process
        _silence(stream)
        reason = "the reader closed the pipe" if isinstance(error, BrokenPipeError) else (
            getattr(error, "strerror", None) or "stdout is closed"
        )
        _error(f"cannot write the output to stdout: {reason}.")
        raise typer.Exit(int(ExitCode.BAD_INPUT)) from None


def _answer(answer: Callable[[], str], debug: bool) -> None:
    """Write what ``answer`` returns; an error is one sentence on stderr and exit 2 (a bug too)."""
    try:
        text = answer()
    except ConvcalcError as error:
        _fail(error, debug)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:  # noqa: BLE001 - a bug, reported as one sentence without a traceback
        _unexpected(error, debug)
    _write(text)


def _unexpected(error: Exception, debug: bool) -> None:
    """An exception convcalc did not expect is a bug, but still an answer: exit 2 and one sentence."""
    if debug:
        raise error
    _error(unexpected_error(error) + " (--debug shows the traceback)")
    raise typer.Exit(int(ExitCode.BAD_INPUT))


@app.command()
def shape(
    layers: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Layer specs as Keras calls, e.g. \"Conv2D(10, 8, padding='same')\".",
            show_default=False,
            metavar="LAYER...",
            autocompletion=complete_layer,
        ),
    ] = None,
    input: Annotated[
        Optional[list[str]],
        typer.Option("--input", "-i", metavar="SHAPE", help="Input shape without the batch: 32x32x3, 32,32,3 or '(32, 32, 3)'; "
                     "None or ? for an unknown size. A model config takes one per input and is rebuilt at that size."),
    ] = None,
    data_format: Annotated[
        Optional[DataFormatChoice],
        typer.Option("--data-format", help="Default data format (else keras.json, else channels_last)."),
    ] = None,
    batch: Annotated[Optional[int], typer.Option("--batch", min=1, metavar="N", help="Batch size shown in shapes.")] = None,
    file: Annotated[
        Optional[Path],
        typer.Option(
            "--file", "-f", metavar="FILE",
            help="Read the layers from a stack file (.toml, .json) or a Keras model config (model.to_json()'s .json, .keras); "
            "--input and --data-format override the file's.",
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.", case_sensitive=False)
    ] = OutputFormat.table,
    run: Annotated[
        bool, typer.Option("--run", help="Execute the stack with convcalc's NumPy kernels and check every shape.")
    ] = False,
    sample: Annotated[
        Optional[list[Path]], typer.Option("--sample", metavar="X.npy", help="Input batch for --run (.npy, batch axis first); repeat it for each model input, in order.")
    ] = None,
    fill: Annotated[
        Optional[list[str]], typer.Option("--fill", metavar="VALUES", help="Run on a constant sample instead: one value, or one per channel (1,100,10000); repeat it for each model input.")
    ] = None,
    weights: Annotated[
        Optional[Path], typer.Option("--weights", metavar="W.npz", help="Weights for --run: .npz of '<layer name>/<weight name>' arrays, or a .keras archive (pip install 'convcalc[h5]').")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Seed of the default sample and of initializers.")] = 0,
    save: Annotated[Optional[Path], typer.Option("--save", metavar="Y.npy", help="Write the stack's output to this .npy file.")] = None,
    show: Annotated[bool, typer.Option("--show", help="Print the output values (small outputs).")] = False,
    max_memory: Annotated[
        Optional[str], typer.Option("--max-memory", metavar="SIZE", help="Refuse runs needing more, e.g. 2GiB (default: half the available memory).")
    ] = None,
    expand_nested: Annotated[
        bool, typer.Option("--expand-nested", help="Show the layers inside nested models, indented (model.summary(expand_nested=True)).")
    ] = False,
    model: Annotated[
        Optional[str], typer.Option("--model", metavar="NAME", help="A Python source's model: its variable or name=, "
                                    "or a call of a function of the file, e.g. \"make_model(num_classes=10)\".")
    ] = None,
    details: Annotated[
        bool, typer.Option("--details", help="Add MACs, receptive field and memory columns (JSON always has them).")
    ] = False,
    dtype: Annotated[
        DtypeChoice, typer.Option("--dtype", help="Bytes per value for the memory figures.", case_sensitive=False)
    ] = DtypeChoice.float32,
    debug: Annotated[bool, typer.Option("--debug", help="Show a traceback for errors.")] = False,
) -> None:
    """Print each layer's output shape, per-side padding and parameter count.

    \b
    Examples:
      convcalc shape --input 32x32x3 "Conv2D(10, 8, padding='same')" --format json
      convcalc shape --input 3x3x3 "Conv2D(1, 2, kernel_initializer='ones')" --fill 1,100,10000 --show
      convcalc shape --file examples/autoencoder.convcalc.toml --format markdown
    """
    from .request import ShapeRequest, compute_request

    request = ShapeRequest(
        layers=tuple(layers or ()), file=file, input=tuple(input or ()), data_format=data_format.value if data_format else None,
        batch=batch, run=run, sample=tuple(sample or ()), fill=tuple(fill or ()), weights=weights, seed=seed, save=save, show=show,
        max_memory=max_memory, expand_nested=expand_nested, model=model,
    )

    def answer() -> str:
        if request.runs:
            from .run import keep_freed_memory

            keep_freed_memory()
        result, outcome = compute_request(request, _progress(output_format))
        text = _render(result, output_format, outcome, show, details, dtype.value)
        if show and outcome is not None and output_format is not OutputFormat.json:
            from .explain_sum import first_sum_text

            text += first_sum_text(result, outcome, request)
        _trap_warning(result, layers, file, input)
        return text

    _answer(answer, debug)


class PortFormat(str, Enum):
    text = "text"
    json = "json"


class Framework(str, Enum):
    torch = "torch"
    keras = "keras"


@app.command()
def port(
    layers: Annotated[
        Optional[list[str]],
        typer.Argument(help="Keras or PyTorch layer specs, e.g. \"Conv2D(64, 7, strides=2, padding='same')\" or "
                       "\"nn.Conv2d(3, 64, 7, 2, 3)\".", show_default=False, metavar="LAYER...",
                       autocompletion=complete_layer),
    ] = None,
    to: Annotated[Optional[Framework], typer.Option("--to", help="The framework to port to.", case_sensitive=False)] = None,
    input: Annotated[
        Optional[str], typer.Option("--input", "-i", metavar="SHAPE", help="Input shape without the batch, in the source's "
                                    "layout: 224x224x3 (Keras channels_last) or 3x224x224 (PyTorch).")
    ] = None,
    data_format: Annotated[
        Optional[DataFormatChoice],
        typer.Option("--data-format", help="Keras layers' data format (else keras.json, else channels_last); "
                     "PyTorch layers are always NCHW."),
    ] = None,
    output_format: Annotated[
        PortFormat, typer.Option("--format", help="text, or json: {\"layers\": [...], \"kernel_transform\": ...}.",
                                 case_sensitive=False)
    ] = PortFormat.text,
    run: Annotated[bool, typer.Option("--run", help="Run both sides with convcalc's kernels on a random input and "
                                      "random weights (converted), and print the largest difference.")] = False,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Seed of --run's input and weights.")] = 0,
    debug: Annotated[bool, typer.Option("--debug", help="Show a traceback for errors.")] = False,
) -> None:
    """Port layers between Keras and PyTorch: the same output shape and, with the kernels converted, the same numbers.

    \b
    Examples:
      convcalc port "Conv2D(64, 7, strides=2, padding='same')" --to torch --input 224x224x3 --run
      convcalc port "nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1)" --to keras -i 64x16x16
    """
    from .port import port_request
    from .port_view import port_dict, port_text

    def answer() -> str:
        if to is None:
            raise ConvcalcError("port needs --to torch or --to keras.")
        result, outcome = port_request(tuple(layers or ()), to.value, input, data_format.value if data_format else None,
                                       run, seed)
        if output_format is PortFormat.json:
            import json

            return json.dumps(port_dict(result, outcome), indent=2) + "\n"
        return port_text(result, outcome)

    _answer(answer, debug)


class LintFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"


@app.command()
def lint(
    files: Annotated[
        list[Path],
        typer.Argument(help="Stack files (.toml, .json) or Keras model configs to check.", show_default=False, metavar="FILE"),
    ],
    expect_output: Annotated[
        Optional[str],
        typer.Option("--expect-output", metavar="SHAPE", help="Every file's output must have this shape (without the batch), e.g. 64x64x8."),
    ] = None,
    params: Annotated[
        Optional[int], typer.Option("--params", min=0, metavar="N", help="Every file must have exactly N parameters in total.")
    ] = None,
    max_params: Annotated[
        Optional[int], typer.Option("--max-params", min=0, metavar="N", help="Every file must have at most N parameters in total.")
    ] = None,
    data_format: Annotated[
        Optional[DataFormatChoice],
        typer.Option("--data-format", help="Data format for every file (overrides the files' data_format)."),
    ] = None,
    output_format: Annotated[
        LintFormat,
        typer.Option("--format", help="text: FILE:LINE lines; json: one object; github: GitHub Actions annotations.", case_sensitive=False),
    ] = LintFormat.text,
    model: Annotated[
        Optional[str], typer.Option("--model", metavar="NAME", help="Python sources: check only this model (its "
                                    "variable or name=, or a call of a function of the file).")
    ] = None,
) -> None:
    """Check the expected output shapes and parameter counts in stack files.

    Prints FILE:LINE for each failed expectation, then a summary. Exit 0 if
    all hold, 1 if one fails, 2 if a file cannot be read, parsed or computed.

    \b
    Examples:
      convcalc lint examples/autoencoder.convcalc.toml examples/unet_down.convcalc.json
      convcalc lint --format github --max-params 100000 models/*.convcalc.toml
    """
    from . import lint as linting
    from .parse import parse_shape

    try:
        expected = parse_shape(expect_output, "--expect-output") if expect_output is not None else None
    except ConvcalcError as error:
        _fail(error, False)
    flags = linting.LintFlags(expected, params, max_params, data_format.value if data_format else None, model)
    report = linting.lint_files(files, flags)  # every file is checked: one file's crash is its reported error
    render = {LintFormat.text: linting.to_text, LintFormat.json: linting.to_json, LintFormat.github: linting.to_github}
    text = render[output_format](report)
    _write(text if text.endswith("\n") else text + "\n")
    raise typer.Exit(int(report.exit_code))


def _progress(output_format: OutputFormat):
    """A Rich progress bar on stderr when it is a terminal, for table output; nothing in JSON or when piped."""
    if output_format is not OutputFormat.table or sys.stderr is None or not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(transient=True, console=Console(stderr=True))
    task = None

    def advance(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task("running layers", total=total)
        bar.update(task, completed=done)
        if done == total:
            bar.stop()

    return advance


def _render(result, output_format: OutputFormat, outcome=None, show: bool = False, details: bool = False,
            dtype: str = "float32") -> str:
    """The whole answer as one string, written by :func:`_write` (Rich never writes to stdout itself)."""
    from . import render
    from .result import ModelResults

    if isinstance(result, ModelResults):  # a Python source: each model, named (SPEC 9)
        if output_format is OutputFormat.json:
            return render.models_json(result, dtype) + "\n"
        return "".join(render.model_heading(name, output_format.value)
                       + _render(model, output_format, details=details, dtype=dtype)
                       for name, model in result.models) + "".join(
            render.model_note(note, output_format.value) for note in result.notes)

    if output_format is OutputFormat.table:
        text = render.table_text(result, outcome, _table_console(), details, dtype)
    elif output_format is OutputFormat.json:
        return render.to_json(result, outcome, values=show, dtype=dtype) + "\n"
    elif output_format is OutputFormat.csv:
        text = render.to_csv(result, outcome, details, dtype)
    else:
        text = render.to_markdown(result, outcome, details, dtype)
    if show and outcome is not None:
        text += render.show_text(outcome.output, result.layers[-1].data_format) + "\n"
    return text


def _table_console():
    """Rich's console for the table: colours and the terminal's width on a terminal; plain text when
    piped or with NO_COLOR, never folding a row of a piped table.  It writes into a string, never to
    stdout itself (Rich would swallow or misreport a failing stdout): :func:`_write` does that."""
    import io

    from rich.console import Console

    probe = Console()
    terminal = probe.is_terminal
    colors = probe.color_system if terminal and not os.environ.get("NO_COLOR") else None
    width = probe.width if terminal else max(probe.width, 200)
    return Console(file=io.StringIO(), force_terminal=terminal and colors is not None, color_system=colors, width=width)


class ExplainFormat(str, Enum):
    text = "text"
    json = "json"


@app.command()
def explain(
    layer: Annotated[
        Optional[str],
        typer.Argument(help="One layer spec, e.g. \"Conv2D(8, 3, strides=2, padding='same')\".", show_default=False,
                       metavar="LAYER", autocompletion=complete_layer),
    ] = None,
    input: Annotated[
        Optional[str], typer.Option("--input", "-i", metavar="SHAPE", help="Input shape without the batch: 32x32x3.")
    ] = None,
    data_format: Annotated[
        Optional[DataFormatChoice],
        typer.Option("--data-format", help="Default data format (else keras.json, else channels_last)."),
    ] = None,
    file: Annotated[
        Optional[Path], typer.Option("--file", "-f", metavar="FILE", help="Explain a layer of a stack file, Keras model config or Python source.")
    ] = None,
    pick: Annotated[
        Optional[str], typer.Option("--layer", metavar="N", help="With --file: the layer to explain, 1-based position or name.")
    ] = None,
    output_format: Annotated[
        ExplainFormat, typer.Option("--format", help="text: steps and a picture; json: the same facts as data.", case_sensitive=False)
    ] = ExplainFormat.text,
    debug: Annotated[bool, typer.Option("--debug", help="Show a traceback for errors.")] = False,
) -> None:
    """Explain one convolution: each axis's formula with your numbers, the padding split, a picture, the parameters.

    \b
    Examples:
      convcalc explain "Conv2D(4, 3, strides=2, padding='same')" --input 6x6x3
      convcalc explain "Conv2DTranspose(8, 3, strides=2)" --input 5x5x3 --format json
      convcalc explain --file examples/autoencoder.convcalc.toml --layer 2
    """
    from .explain import explain_request
    from .explain_view import explain_json, explain_text

    def answer() -> str:
        data, result = explain_request(layer, file, pick, input, data_format.value if data_format else None)
        if output_format is ExplainFormat.json:
            text = explain_json(data)
        else:
            console = _table_console()
            text = explain_text(data, color=console.is_terminal, width=console.width)
        _trap_warning(result, layer, file, input)
        return text

    _answer(answer, debug)


class SolveFormat(str, Enum):
    table = "table"
    json = "json"


@app.command()
def solve(
    layers: Annotated[
        Optional[list[str]],
        typer.Argument(help="A stack's layer specs (instead of --file); without them, one layer is solved.",
                       show_default=False, metavar="LAYER...", autocompletion=complete_layer),
    ] = None,
    input: Annotated[
        Optional[str], typer.Option("--input", "-i", metavar="SIZE", help="One layer: the input size N or NxM; "
                                    "a stack: its input shape, e.g. 75x75x3 (overrides the file's).")
    ] = None,
    output: Annotated[
        Optional[str], typer.Option("--output", "-o", metavar="SIZE", help="One layer: the target size N or NxM.")
    ] = None,
    filters: Annotated[int, typer.Option("--filters", metavar="F", help="filters of the specs printed.")] = 1,
    conv: Annotated[bool, typer.Option("--conv", help="Only Conv2D layers.")] = False,
    transpose: Annotated[bool, typer.Option("--transpose", help="Only Conv2DTranspose layers.")] = False,
    max_kernel: Annotated[int, typer.Option("--max-kernel", metavar="K", help="Search kernel sizes 1..K.")] = 7,
    max_stride: Annotated[
        Optional[int], typer.Option("--max-stride", metavar="S", help="Search strides 1..S (default: one more than "
                                    "the ratio of the sizes, at least 4).")
    ] = None,
    max_dilation: Annotated[int, typer.Option("--max-dilation", metavar="D", help="Search dilation rates 1..D.")] = 4,
    limit: Annotated[int, typer.Option("--limit", metavar="N", help="Print the N simplest (0: all).")] = 20,
    file: Annotated[
        Optional[Path], typer.Option("--file", "-f", metavar="FILE", help="A stack file (.toml, .json) to solve.")
    ] = None,
    max_input: Annotated[
        int, typer.Option("--max-input", metavar="N", help="A stack: sweep input sizes 1..N.")
    ] = 512,
    data_format: Annotated[
        Optional[DataFormatChoice],
        typer.Option("--data-format", help="A stack's default data format (else keras.json, else channels_last)."),
    ] = None,
    output_format: Annotated[
        SolveFormat, typer.Option("--format", help="table: readable lines; json: one object.", case_sensitive=False)
    ] = SolveFormat.table,
    debug: Annotated[bool, typer.Option("--debug", help="Show a traceback for errors.")] = False,
) -> None:
    """Find the layer arguments that give a target size, or a stack's good input sizes and decoder output_padding.

    \b
    Examples:
      convcalc solve --input 75x75 --output 38x38 --filters 16
      convcalc solve --input 38 --output 75 --transpose --format json
      convcalc solve --file examples/autoencoder.convcalc.toml --input 75x75x3
    """
    from . import solve as solving
    from . import solve_view

    def answer() -> str:
        if layers or file is not None:
            if output is not None:
                raise ConvcalcError("--output is for one layer; a stack (layer specs or --file) is solved "
                                    "for its input sizes and its decoder's output_padding.")
            result = solving.solve_stack(tuple(layers or ()), file, input, data_format.value if data_format else None,
                                         max_input)
            return solve_view.stack_json(result) if output_format is SolveFormat.json else solve_view.stack_text(result)
        result = solving.solve_layer_request(input, output, filters, conv, transpose, max_kernel, max_stride,
                                             max_dilation, limit)
        if not result.solutions:
            _warn(solving.no_solution_text(result))
        return solve_view.layer_json(result) if output_format is SolveFormat.json else solve_view.layer_text(result)

    _answer(answer, debug)


def _warn(text: str) -> None:
    """``Warning: text`` on stderr; a failing stderr is ignored."""
    from .render import printable

    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(f"Warning: {printable(text)}\n")
        stream.flush()
    except (OSError, ValueError):
        _silence(stream)


def _trap_warning(result, layers, file, input) -> None:
    """SPEC's trap said out loud: an input that reads better in the other data format (convcalc.traps)."""
    from .request import ShapeRequest, compute_request
    from .traps import wrong_format_warning

    specs = (layers,) if isinstance(layers, str) else tuple(layers or ())

    def recompute(data_format: str):
        request = ShapeRequest(layers=specs, file=file, input=(input,) if isinstance(input, str) else tuple(input or ()),
                               data_format=data_format)
        return compute_request(request)[0]

    text = wrong_format_warning(result, recompute, "--input" if input else "the input")
    if text is not None:
        _warn(text)
