"""`convcalc solve`: every configuration printed gives the target, a brute force finds nothing missed
and nothing simpler, and a U-Net's decoder gets the output_padding that restores an odd input."""

import itertools
import json
import random
from pathlib import Path

import pytest

from conftest import run, run_json
from convcalc import formulas
from convcalc.config import DataFormat
from convcalc.errors import ConvcalcError
from convcalc.layers import build_layer
from convcalc.parse import parse_call
from convcalc.solve import solve_layer, solve_stack, with_output_padding
from convcalc.stack import compute_stack

LAST = DataFormat("channels_last", "default")
ROOT = Path(__file__).resolve().parent.parent


def spatial_output(spec, input_shape):
    """The layer's output height and width, as convcalc computes the spec (parsed, validated, computed)."""
    return build_layer(parse_call(spec)).compute(input_shape, "channels_last").output_shape[:2]


# ---------------------------------------------------------------- the formulas solve adds


@pytest.mark.parametrize("seed", range(3))
def test_output_padding_for_inverts_the_transposed_length(seed):
    rng = random.Random(seed)
    for _ in range(300):
        n, k, s, d = rng.randint(1, 40), rng.randint(1, 7), rng.randint(1, 5), rng.randint(1, 3)
        padding, op = rng.choice(["valid", "same"]), rng.randint(0, 6)
        out = formulas.conv_transpose_output_length(n, k, s, padding, op, d)
        assert formulas.output_padding_for(n, out, k, s, padding, d) == op


def test_unread_length_counts_the_pixels_after_the_last_window():
    for n, k, s, d, padding in itertools.product(range(1, 30), range(1, 6), range(1, 5), (1, 2), ("valid", "same")):
        out = formulas.conv_output_length(n, k, s, padding, d)
        if out < 1 or (s > 1 and d > 1):
            continue
        before = formulas.conv_padding(n, k, s, padding, d)[0]
        last_read = max(formulas.conv_taps(out - 1, k, s, before, d))  # the last tap of the last window
        assert formulas.unread_length(n, k, s, padding, d) == max(n - 1 - last_read, 0), (n, k, s, d, padding)


# ---------------------------------------------------------------- one layer: every answer is right


def random_targets(seed: int, count: int, max_size: int = 40):
    """(input, target) pairs: half reached by a random layer (so that solutions exist), half random."""
    rng = random.Random(seed)
    pairs = []
    for i in range(count):
        n = (rng.randint(1, max_size), rng.randint(1, max_size))
        if i % 2:
            pairs.append((n, (rng.randint(1, max_size), rng.randint(1, max_size))))
            continue
        k, s = rng.randint(1, 3), rng.randint(1, 3)
        if rng.random() < 0.5:
            m = tuple(formulas.conv_output_length(x, k, s, rng.choice(["valid", "same"])) for x in n)
        else:
            m = tuple(formulas.conv_transpose_output_length(x, k, s, "same") for x in n)
        pairs.append((n, tuple(max(x, 1) for x in m)))
    return pairs


@pytest.mark.parametrize("n,m", [((75, 75), (38, 38)), ((38, 38), (75, 75)), ((64, 48), (32, 48)), ((5, 7), (9, 13)),
                                 ((32, 32), (32, 32)), ((224, 224), (7, 7)), ((1, 1), (8, 8))])
def test_every_printed_spec_gives_the_target(n, m):
    result = solve_layer(n, m, filters=4)
    assert result.solutions
    for solution in result.solutions:
        assert spatial_output(solution.spec, (*n, 3)) == m, solution.spec
        assert solution.output == m


def test_random_targets_every_spec_gives_the_target():
    checked = 0
    for n, m in random_targets(7, 24):
        for solution in solve_layer(n, m, max_kernel=5, max_dilation=3).solutions:
            assert spatial_output(solution.spec, (*n, 2)) == m, (n, m, solution.spec)
            checked += 1
    assert checked > 200


# ---------------------------------------------------------------- one layer: a brute force over the same ranges


def brute_force(n, m, k_max, s_max, d_max):
    """Every Keras argument set in the ranges (a dilation only on an axis whose kernel is larger than
    1, output_padding on both axes or none, no strides > 1 with dilation_rate > 1) giving ``m``."""
    found = set()
    kernels = list(itertools.product(range(1, k_max + 1), repeat=2))
    strides = list(itertools.product(range(1, s_max + 1), repeat=2))
    dilations = list(itertools.product(range(1, d_max + 1), repeat=2))
    for (kh, kw), (sh, sw), (dh, dw), padding in itertools.product(kernels, strides, dilations, ("valid", "same")):
        if (kh == 1 and dh > 1) or (kw == 1 and dw > 1) or (max(sh, sw) > 1 and max(dh, dw) > 1):
            continue
        axes = ((n[0], kh, sh, dh), (n[1], kw, sw, dw))
        if tuple(formulas.conv_output_length(x, k, s, padding, d) for x, k, s, d in axes) == m:
            found.add(("Conv2D", padding, (kh, kw), (sh, sw), (dh, dw), None))
        for op in [None, *itertools.product(range(sh), range(sw))]:
            ops = op or (None, None)
            out = tuple(formulas.conv_transpose_output_length(x, k, s, padding, p, d) for (x, k, s, d), p in zip(axes, ops))
            if out == m:
                found.add(("Conv2DTranspose", padding, (kh, kw), (sh, sw), (dh, dw), op))
    return found


def as_tuple(solution):
    return (solution.layer, solution.padding, solution.kernel_size, solution.strides, solution.dilation_rate,
            solution.output_padding)


def simpler_key(config):
    """The README's "simplest first", written again from the arguments: asymmetric arguments, then
    non-default arguments, then kernel, strides, dilation sums, 'valid' first, output_padding."""
    layer, padding, kernel, strides, dilation, op = config
    pairs = [kernel, strides, dilation] + ([op] if op else [])
    asymmetric = sum(a[0] != a[1] for a in pairs)
    non_default = (strides != (1, 1)) + (padding == "same") + (op is not None) + (dilation != (1, 1))
    return (asymmetric, non_default, sum(kernel), sum(strides), sum(dilation), padding == "same", sum(op or (0, 0)))


def test_brute_force_finds_nothing_missed_and_nothing_simpler():
    targets = random_targets(11, 60, max_size=30)
    nonempty = 0
    for n, m in targets:
        result = solve_layer(n, m, max_kernel=3, max_stride=3, max_dilation=2)
        got = [as_tuple(s) for s in result.solutions]
        expected = brute_force(n, m, 3, 3, 2)
        assert set(got) == expected, (n, m)
        assert len(got) == len(set(got))  # each configuration once
        keys = [simpler_key(c) for c in got]
        assert keys == sorted(keys), (n, m)  # simplest first, by the documented rule
        if expected:
            nonempty += 1
            assert keys[0] == min(simpler_key(c) for c in expected)
    assert nonempty >= 30


def test_conv_and_transpose_restrict_the_layers():
    both = solve_layer((16, 16), (16, 16))
    conv = solve_layer((16, 16), (16, 16), layers=("Conv2D",))
    transpose = solve_layer((16, 16), (16, 16), layers=("Conv2DTranspose",))
    assert {s.layer for s in conv.solutions} == {"Conv2D"}
    assert {s.layer for s in transpose.solutions} == {"Conv2DTranspose"}
    assert len(conv.solutions) + len(transpose.solutions) == len(both.solutions)


def test_square_questions_get_square_layers_first():
    first = solve_layer((75, 75), (38, 38), filters=16).solutions
    assert first[0].spec == "Conv2D(16, 1, strides=2)"
    assert "Conv2D(16, 3, strides=2, padding='same')" in [s.spec for s in first[:10]]
    square = [s.kernel_size[0] == s.kernel_size[1] for s in first]
    assert square == sorted(square, reverse=True) and not all(square)  # tuples only after every square layer


def test_non_square_targets_use_tuples():
    specs = [s.spec for s in solve_layer((64, 48), (32, 48)).solutions]
    assert specs[0] == "Conv2D(1, 1, strides=(2, 1))"
    assert "Conv2D(1, 3, strides=(2, 1), padding='same')" in specs


# ---------------------------------------------------------------- a stack: the Done-when U-Net


UNET = [  # a 2-level U-Net's spine (skips left out: a stack is sequential)
    "Conv2D(16, 3, padding='same', activation='relu')",
    "Conv2D(16, 3, strides=2, padding='same')",
    "Conv2D(32, 3, padding='same', activation='relu')",
    "MaxPooling2D(2, padding='same')",
    "Conv2D(64, 3, padding='same', activation='relu')",
    "Conv2DTranspose(32, 3, strides=2, padding='same')",
    "Conv2D(32, 3, padding='same', activation='relu')",
    "Conv2DTranspose(16, 3, strides=2, padding='same')",
    "Conv2D(3, 1)",
]


def rows_of(specs, size):
    out = run_json("shape", "--input", size, *specs)
    return [tuple(layer["output_shape"][1:3]) for layer in out["layers"]]


def test_unet_on_an_odd_input_gets_the_output_padding_that_mirrors_the_encoder():
    broken = rows_of(UNET, "75x75x3")  # 75 -> 38 -> 19 -> 38 -> 76: the default output_padding
    assert broken[5] == (38, 38) and broken[7] == (76, 76)
    result = solve_stack(tuple(UNET), input="75x75x3", max_input=8)
    fixes = {m.index: m for m in result.mirror}
    assert fixes[6].encoder_index == 4 and fixes[6].target == (38, 38) and fixes[6].output_padding == (1, 1)
    assert fixes[8].encoder_index == 2 and fixes[8].target == (75, 75) and fixes[8].output_padding == (0, 0)
    # fed back through `convcalc shape`: each transposed layer gives its encoder layer's input size
    rows = rows_of(result.fixed_layers, "75x75x3")
    encoder_inputs = [(75, 75)] + rows  # row i's input is row i-1's output
    for m in result.mirror:
        assert rows[m.index - 1] == encoder_inputs[m.encoder_index - 1] == m.target
    assert rows[-1] == (75, 75)
    assert result.fixed_output == (None, 75, 75, 3)


@pytest.mark.parametrize("size", ["75x60x3", "33x97x1", "64x64x3", "9x10x2"])
def test_unet_mirrors_at_other_sizes_axis_by_axis(size):
    result = solve_stack(tuple(UNET), input=size, max_input=8)
    h, w, _ = map(int, size.split("x"))
    assert all(m.mirrors for m in result.mirror)
    assert rows_of(result.fixed_layers, size)[-1] == (h, w)


def test_stack_file_valid_convs_and_a_decoder_that_cannot_mirror(tmp_path):
    path = tmp_path / "enc.toml"
    path.write_text('input = "75x75x3"\nlayers = [\n  "Conv2D(8, 7, strides=2)",\n  "Conv2D(8, 3)",\n'
                    '  "Conv2DTranspose(8, 3, strides=2, padding=\'same\')",\n]\n')
    result = solve_stack(file=path, max_input=8)
    (m,) = result.mirror
    assert m.encoder_index == 1 and m.input == (33, 33) and m.target == (75, 75)
    assert m.needed == (10, 10) and m.output_padding is None and "strides" in m.reason
    assert result.fixed_output is None or result.fixed_output[1:3] != (75, 75)


def test_keyword_and_positional_output_padding_are_replaced():
    cases = {
        "Conv2DTranspose(8, 3, strides=2, output_padding=None)": "Conv2DTranspose(8, 3, strides=2, output_padding=(1, 0))",
        "keras.layers.Conv2DTranspose(8, 3, 2, 'same', 1)": "keras.layers.Conv2DTranspose(8, 3, 2, 'same', (1, 0))",
        "Conv2DTranspose(8, 3, strides=2,)": "Conv2DTranspose(8, 3, strides=2, output_padding=(1, 0),)",
    }
    for spec, expected in cases.items():
        fixed = with_output_padding(spec, (1, 0), build_layer(parse_call(spec)))
        assert fixed == expected
        assert build_layer(parse_call(fixed)).args["output_padding"] == (1, 0)


# ---------------------------------------------------------------- a stack: input sizes


def smallest_by_sweep(specs, shape_of):
    for n in range(1, 200):
        try:
            compute_stack(list(specs), LAST, shape_of(n))
            return n
        except ConvcalcError:
            continue


def test_valid_stack_smallest_input_and_sizes_without_flooring():
    specs = ("Conv2D(8, 3)", "Conv2D(8, 3, strides=2)", "Conv2D(8, (3, 1))")
    result = solve_stack(specs, input="20x20x3", max_input=40)
    # height: n-2, then (n-2-3)//2+1, then -2 >= 1 -> n >= 9; width: only the first two shrink -> n >= 5
    assert result.min_input == (9, 5)
    assert result.min_input[0] == smallest_by_sweep(specs, lambda n: (n, 20, 3))
    assert result.min_input[1] == smallest_by_sweep(specs, lambda n: (20, n, 3))
    height, width = result.no_dropped
    assert height.sizes == tuple(range(9, 41, 2)) and height.rule == "1 + 2k (k >= 4)"
    assert width.sizes == tuple(range(5, 41, 2))
    assert result.exact[0].sizes == height.sizes  # 'valid': rounding is dropping
    assert result.mirror == ()


def test_same_unet_exact_sizes_are_multiples_of_the_stride_product():
    result = solve_stack(tuple(UNET), input="75x75x3", max_input=48)
    assert result.min_input == (1, 1)
    assert all(s.sizes == tuple(range(1, 49)) for s in result.no_dropped)  # 'same' drops nothing
    assert [s.rule for s in result.exact] == ["multiples of 4", "multiples of 4"]
    for n in (4, 8, 44):  # at an exact size, the default output_padding already mirrors
        assert rows_of(UNET, f"{n}x{n}x3")[-1] == (n, n)


def test_a_stack_that_never_computes_is_exit_2():
    with pytest.raises(ConvcalcError, match="computes at no input size"):
        solve_stack(("Conv2D(8, 3)", "Reshape((5, 7))"), input="8x8x3", max_input=30)


# ---------------------------------------------------------------- the command line


def test_cli_table_lists_specs_and_the_count():
    result = run("solve", "--input", "75x75", "--output", "38x38", "--filters", "16", "--limit", "3")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "75x75 to 38x38" in lines[0]
    assert "Conv2D(16, 1, strides=2)" in lines[2] and lines[2].rstrip().endswith("38x38")
    assert "3 of 50 shown" in result.stdout


def test_cli_json_has_spec_8_keys_and_every_spec_gives_the_target():
    out = run_json("solve", "--input", "38", "--output", "75x76", "--transpose", "--limit", "0")
    assert out["count"] == len(out["solutions"]) > 0
    assert out["search"]["layers"] == ["Conv2DTranspose"]
    for solution in out["solutions"]:
        assert set(solution) >= {"spec", "output"} and solution["output"] == [75, 76]
        assert spatial_output(solution["spec"], (38, 38, 3)) == (75, 76)
    for solution in out["solutions"][:: max(len(out["solutions"]) // 3, 1)]:  # a few through `convcalc shape`
        shaped = run_json("shape", "--input", "38x38x3", solution["spec"])
        assert shaped["output_shape"][1:3] == [75, 76]


def test_cli_stack_json_keys(monkeypatch):
    monkeypatch.chdir(ROOT)
    out = run_json("solve", "--file", "examples/autoencoder.convcalc.toml", "--input", "75x75x3", "--max-input", "32")
    assert set(out) == {"source", "data_format", "input", "min_input", "no_dropped_inputs", "exact_inputs", "mirror",
                        "fixed_layers", "fixed_output", "notes"}
    assert out["input"] == [75, 75] and out["fixed_output"] == [None, 75, 75, 3]
    assert [m["output_padding"] for m in out["mirror"]] == [[1, 1], [0, 0]]
    assert out["exact_inputs"][0]["rule"] == "multiples of 4" and out["exact_inputs"][0]["step"] == 4
    text = run("solve", "--file", "examples/autoencoder.convcalc.toml", "--input", "75x75x3", "--max-input", "32")
    assert text.exit_code == 0 and "output_padding=1" in text.stdout and "multiples of 4" in text.stdout


def test_cli_no_solution_is_an_empty_list_and_a_sentence():
    result = run("solve", "--input", "5", "--output", "100", "--conv", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["solutions"] == []
    assert result.stderr.startswith("Warning: no Conv2D") and result.stderr.count("\n") == 1


@pytest.mark.parametrize("args,words", [
    (["--input", "0x5", "--output", "3"], "at least 1"),
    (["--input", "5x5x3", "--output", "3"], "one size N"),
    (["--input", "5"], "give --input and --output"),
    (["--input", "5", "--output", "3", "--conv", "--transpose"], "not both"),
    (["--input", "5", "--output", "3", "--max-kernel", "0"], "--max-kernel"),
    (["--input", "5", "--output", "3", "--limit", "-1"], "--limit"),
    (["Conv2D(8, 3)", "--input", "8x8x3", "--output", "3"], "--output is for one layer"),
    (["--file", "no/such/file.toml"], "no/such/file.toml"),
    (["Conv2D(8, 3"], "Conv2D"),
    (["--file", "examples/tiny_resnet.json"], "is a Keras model config; solve reads"),
    (["--file", "examples/image_classification.py"], "not Python sources"),
])
def test_cli_bad_input_is_one_sentence_and_exit_2(args, words, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run("solve", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and words in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_upsampling_and_unmatched_layers_are_reported():
    specs = ("Conv2D(8, 3, strides=2, padding='same')", "UpSampling2D(2)", "Conv2DTranspose(8, 3, strides=2)")
    result = solve_stack(specs, input="75x75x3", max_input=8)
    up, extra = result.mirror
    assert up.encoder_index == 1 and up.target == (75, 75) and up.input == (38, 38)
    assert not up.mirrors and "UpSampling2D has no output_padding: it gives 76x76" in up.reason
    assert extra.encoder_index is None and "mirrors nothing" in extra.reason
    even = solve_stack(specs, input="76x76x3", max_input=8).mirror[0]
    assert even.mirrors and even.fixed_spec is None  # restores 76 as it is
