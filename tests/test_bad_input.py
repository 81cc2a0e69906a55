"""Bad input: exit 2, one `Error:` message naming the problem, never a traceback, nothing run."""


import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import run
from convcalc.errors import ConvcalcError
from convcalc.layers import build_layer
from convcalc.parse import parse_call, parse_shape

I = ["--input", "8x8x4"]

# id -> (command-line arguments, words the message must contain)
CASES = {
    "syntax": ([*I, "Conv2D(8, 3"], ["not valid Python call syntax"]),
    "not-a-call": ([*I, "Conv2D"], ["not a layer call"]),
    "empty-spec": ([*I, ""], ["empty"]),
    "unknown-layer": ([*I, "Conv4D(8, 3)"], ["'Conv4D' is not a layer convcalc knows", "did you mean 'Conv3D'", "custom layer"]),
    "unknown-prefix": ([*I, "os.path.Conv2D(8, 3)"], ["'os.path.Conv2D' is not a Keras layer"]),
    "unknown-argument": ([*I, "Conv2D(8, 3, paddin='same')"], ["unknown argument 'paddin'", "did you mean 'padding'"]),
    "missing-argument": ([*I, "Conv2D(8)"], ["missing the required argument 'kernel_size'"]),
    "too-many-positional": ([*I, "Conv2D(8, 3, 1, 'valid', None, 1, 1, None, True, 'ones', 'zeros', None, None, None, None, None, 7)"], ["at most 16 positional"]),
    "given-twice": ([*I, "Conv2D(8, 3, filters=8)"], ["'filters' twice"]),
    "zero-filters": ([*I, "Conv2D(0, 3)"], ["filters", "strictly positive", "filters=0"]),
    "negative-kernel": ([*I, "Conv2D(8, -3)"], ["kernel_size", "> 0", "kernel_size=-3"]),
    "zero-kernel": ([*I, "Conv2D(8, (3, 0))"], ["kernel_size cannot contain 0"]),
    "float-kernel": ([*I, "Conv2D(8, 3.5)"], ["kernel_size must be an integer", "3.5"]),
    "float-filters": ([*I, "Conv2D(8.0, 3)"], ["filters must be a positive integer", "8.0"]),
    "zero-strides": ([*I, "Conv2D(8, 3, strides=0)"], ["strides cannot contain 0"]),
    "tuple-length": ([*I, "Conv2D(8, (3, 3, 3))"], ["tuple of 2 integers", "(3, 3, 3)"]),
    "strides-with-dilation": ([*I, "Conv2D(8, 3, strides=2, dilation_rate=2)"], ["strides > 1", "dilation_rate > 1", "strides=(2, 2)"]),
    "output-padding-ge-strides": ([*I, "Conv2DTranspose(8, 3, strides=2, output_padding=2)"], ["output_padding must be smaller than strides", "output_padding is 2 and strides is 2"]),
    "groups-on-transpose": ([*I, "Conv2DTranspose(8, 3, groups=2)"], ["Conv2DTranspose got an unknown argument 'groups'"]),
    "groups-not-dividing-filters": ([*I, "Conv2D(9, 3, groups=2)"], ["filters must be evenly divisible by groups", "filters=9, groups=2"]),
    "groups-not-dividing-channels": (["--input", "8x8x3", "Conv2D(8, 3, groups=2)"], ["3 channels", "groups=2"]),
    "kernel-larger-than-input": (["--input", "5x5x1", "Conv2D(8, 9)"], ["layer 1", "not positive", "5x5", "9x9"]),
    "zero-at-layer-4": (["--input", "16x16x1", *["Conv2D(1, 3, strides=2)"] * 5], ["layer 4", "output size would be 0x0"]),
    "bad-data-format": ([*I, "Conv2D(8, 3, data_format='channels_middle')"], ["data_format must be", "channels_middle"]),
    "bad-padding": ([*I, "Conv2D(8, 3, padding='full')"], ["padding must be 'valid' or 'same'", "'full'"]),
    "star-args": ([*I, "Conv2D(*args)"], ["*args are not supported"]),
    "star-kwargs": ([*I, "Conv2D(8, 3, **kw)"], ["**kwargs are not supported"]),
    "code-as-layer": ([*I, "__import__('os').system('touch PWNED')"], ["is not a layer name"]),
    "code-as-argument": ([*I, "Conv2D(8, 3, padding=open('/etc/passwd').read())"], ["not a layer name"]),
    "lambda-argument": ([*I, "Conv2D(8, (lambda: 3)())"], ["not a layer name"]),
    "expression-argument": ([*I, "Conv2D(4 * 2, 3)"], ["'4 * 2'", "not a literal"]),
    "deeply-nested-parens": ([*I, "Conv2D(8, " + "(" * 300 + "3" + ")" * 300 + ")"], ["Conv2D"]),
    "deeply-nested-lists": ([*I, "Conv2D(8, " + "[" * 20 + "3" + "]" * 20 + ")"], ["nested more than"]),
    "huge-spec": ([*I, "Conv2D(8, 3, name='" + "x" * 6000 + "')"], ["characters long"]),
    "unknown-activation": ([*I, "Conv2D(8, 3, activation='relux')"], ["'relux' is not a Keras activation", "did you mean 'relu'"]),
    "unknown-initializer": ([*I, "Conv2D(8, 3, kernel_initializer='glorot')"], ["not a Keras initializer"]),
    "bias-not-bool": ([*I, "Conv2D(8, 3, use_bias='yes')"], ["use_bias must be True or False"]),
    "duplicate-names": ([*I, "Conv2D(8, 3, name='a')", "Conv2D(8, 3, name='a')"], ["layer 2", "'a' is already used by layer 1"]),
    "bad-dim-ordering": ([*I, "Conv2D(8, 3, dim_ordering='xy')"], ["dim_ordering must be 'th', 'tf'"]),
    "keras1-and-keras3-twice": ([*I, "Conv2D(8, 3, padding='same', border_mode='same')"], ["'padding' is given twice"]),
    "input-shape-late": ([*I, "Conv2D(8, 3)", "Conv2D(8, 3, input_shape=(8, 8, 4))"], ["only meaningful on the first layer"]),
    "input-conflict": ([*I, "Input(shape=(9, 9, 4))", "Conv2D(8, 3)"], ["given twice and differs"]),
    "input-not-first": ([*I, "Conv2D(8, 3)", "Input(shape=(9, 9, 4))"], ["may only open the stack"]),
    "no-input": (["Conv2D(8, 3)"], ["no input shape", "--input"]),
    "no-layers": (["--input", "8x8x3"], ["no layers given"]),
    "bad-input-shape": (["--input", "32 by 32", "Conv2D(8, 3)"], ["--input", "not a shape"]),
    "zero-input-size": (["--input", "0x32x3", "Conv2D(8, 3)"], ["size of 0"]),
    "wrong-input-rank": (["--input", "32x32", "Conv2D(8, 3)"], ["needs an input of 3 sizes", "got 2"]),
    "bad-format-option": ([*I, "Conv2D(8, 3)", "--format", "yaml"], ["yaml"]),
    "bad-batch": ([*I, "Conv2D(8, 3)", "--batch", "0"], ["--batch"]),
    "bad-data-format-option": ([*I, "Conv2D(8, 3)", "--data-format", "nchw"], ["nchw"]),
}


@pytest.mark.parametrize("args,words", list(CASES.values()), ids=list(CASES))
def test_bad_input_exits_2_with_a_clear_message(args, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("shape", *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and result.exception is None or isinstance(result.exception, SystemExit)
    assert "Error" in result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert not (tmp_path / "PWNED").exists()


def test_spec_errors_start_with_error_and_name_the_layer():
    result = run("shape", "--input", "5x5x3", "Conv2D(4, 3)", "Conv2D(8, 9)")
    assert result.stderr.startswith("Error: layer 2 Conv2D(8, 9): ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_keras_json_value_is_an_error(isolated_keras_home):
    (isolated_keras_home / "keras.json").write_text('{"image_data_format": "channels_middle"}')
    result = run("shape", "--input", "8x8x3", "Conv2D(4, 3)")
    assert result.exit_code == 2 and "image_data_format" in result.stderr


def test_debug_shows_the_exception():
    result = run("shape", "--input", "5x5x1", "Conv2D(8, 9)", "--debug")
    assert isinstance(result.exception, ConvcalcError)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_arbitrary_text_gives_a_layer_or_our_error(text):
    try:
        build_layer(parse_call(text))
    except ConvcalcError as error:
        assert error.message
    try:
        parse_shape(text)
    except ConvcalcError:
        pass


call_like = st.builds(
    lambda name, args: f"{name}({', '.join(args)})",
    st.sampled_from(["Conv2D", "Conv2DTranspose", "Convolution2D", "keras.layers.Conv2D", "Input", "x.y"]),
    st.lists(
        st.one_of(
            st.integers(-3, 40).map(str),
            st.sampled_from(["'same'", "'valid'", "None", "True", "(2, 2)", "(1, 2, 3)", "[3, 3]", "3.0", "'x'", "f(1)", "a.b", "-1"]),
            st.builds(lambda k, v: f"{k}={v}", st.sampled_from(
                ["strides", "padding", "groups", "dilation_rate", "output_padding", "data_format", "filters",
                 "kernel_size", "name", "use_bias", "nb_row", "nb_col", "subsample", "border_mode", "dim_ordering", "bogus"]),
                st.sampled_from(["1", "2", "0", "'same'", "'th'", "(2, 1)", "None", "'a'", "True", "3"])),
        ),
        max_size=6,
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(call_like, min_size=1, max_size=4), st.sampled_from(["8x8x4", "1x1x1", "3x17x6", "64x64x3"]))
def test_arbitrary_calls_through_the_cli_never_crash(specs, shape):
    result = run("shape", "--input", shape, *specs, "--format", "json")
    assert result.exit_code in (0, 2), result.stderr
    if result.exit_code == 2:
        assert result.stderr.startswith("Error: ") and result.stdout == ""
