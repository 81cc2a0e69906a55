"""`--run` through the CLI: the seed examples, weights, samples, the memory guard, bad input."""

import json
import time

import numpy as np
import pytest

from conftest import run, run_json, traced_peak

RGB_LAYER = "Conv2D(filters=1, kernel_size=2, activation='relu', kernel_initializer='ones', bias_initializer='zeros')"


def rgb_image():
    red, green, blue = (np.full((3, 3), v, dtype=np.float32) for v in (1, 100, 10000))
    return np.expand_dims(np.stack([red, green, blue], axis=-1), 0)


def test_seed_rgb_image_sums_channels_to_40404(tmp_path):
    np.save(tmp_path / "x.npy", rgb_image())
    out = run_json("shape", RGB_LAYER, "--run", "--sample", tmp_path / "x.npy", "--save", tmp_path / "y.npy")
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (1, 2, 2, 1)
    assert y.ravel().tolist() == [40404.0] * 4
    assert out["total_params"] == 13
    assert out["layers"][0]["measured_shape"] == [1, 2, 2, 1]
    assert out["run"]["saved"] == str(tmp_path / "y.npy")


def test_seed_rgb_image_in_one_command_with_fill():
    result = run("shape", "--input", "3x3x3", RGB_LAYER, "--fill", "1,100,10000", "--show")
    assert result.exit_code == 0, result.stderr
    assert "array([[[[40404.]," in result.stdout
    assert "sample 0, channel 0:\n[[40404. 40404.]\n [40404. 40404.]]" in result.stdout


def test_seed_5x5_ones_same_strides_2(tmp_path):
    out = run(
        "shape", "--input", "5x5x1", "Conv2D(1, 3, padding='same', strides=2, kernel_initializer='ones')",
        "--fill", "1", "--save", tmp_path / "y.npy", "--format", "json",
    )
    assert out.exit_code == 0, out.stderr
    y = np.load(tmp_path / "y.npy")
    assert y[0, :, :, 0].tolist() == [[4, 6, 4], [6, 9, 6], [4, 6, 4]]


def test_json_run_keys_and_every_layer_measured():
    out = run_json(
        "shape", "--input", "12x10x3", "--batch", "2", "--run",
        "Conv2D(8, 3, strides=2, padding='same', activation='gelu')",
        "Conv2DTranspose(4, 3, strides=2, output_padding=1)",
        "Conv2D(6, (1, 3), groups=2, activation='softmax')",
    )
    assert [layer["measured_shape"] for layer in out["layers"]] == [
        [2, 6, 5, 8], [2, 14, 12, 4], [2, 14, 10, 6]
    ]
    assert all(layer["shape_agrees"] for layer in out["layers"])
    run_info = out["run"]
    assert run_info["batch"] == 2 and run_info["dtype"] == "float32" and run_info["all_shapes_agree"]
    assert run_info["sample"] == "standard normal, seed 0"
    assert run_info["estimated_bytes"] > 0


def test_channels_first_run_and_softmax_over_width(tmp_path):
    out = run(
        "shape", "--input", "2x4x5", "--data-format", "channels_first",
        "Conv2D(3, 3, padding='same', activation='softmax')", "--save", tmp_path / "y.npy", "--format", "json",
    )
    assert out.exit_code == 0, out.stderr
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (1, 3, 4, 5)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-5)


def test_weights_file_is_used_and_checked(tmp_path):
    kernel = np.arange(2 * 2 * 3 * 1, dtype=np.float32).reshape(2, 2, 3, 1)
    np.savez(tmp_path / "w.npz", **{"conv2d/kernel": kernel, "conv2d/bias": np.array([0.5], np.float32)})
    x = rgb_image()
    np.save(tmp_path / "x.npy", x)
    run_json("shape", "Conv2D(1, 2)", "--sample", tmp_path / "x.npy", "--weights", tmp_path / "w.npz",
             "--save", tmp_path / "y.npy")
    expected = sum(kernel[i, j, c, 0] * x[0, 0 + i, 0 + j, c] for i in range(2) for j in range(2) for c in range(3)) + 0.5
    assert np.load(tmp_path / "y.npy")[0, 0, 0, 0] == pytest.approx(expected)


def test_seeded_runs_repeat_and_float64_is_kept(tmp_path):
    args = ["shape", "--input", "6x6x2", "Conv2D(3, 3)", "--seed", "7"]
    run(*args, "--save", tmp_path / "a.npy")
    run(*args, "--save", tmp_path / "b.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))
    np.save(tmp_path / "x.npy", np.ones((1, 6, 6, 2)))
    run(*args, "--sample", tmp_path / "x.npy", "--save", tmp_path / "c.npy")
    assert np.load(tmp_path / "c.npy").dtype == np.float64


def test_table_shows_measured_column():
    result = run("shape", "--input", "8x8x3", "Conv2D(4, 3)", "--run")
    assert result.exit_code == 0
    assert "Measured" in result.stdout and "(1, 6, 6, 4) ok" in result.stdout


def bad(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 8, 8, 3), np.float32))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "junk.npy").write_text("not numpy")
    np.savez(tmp_path / "wrong.npz", **{"conv2d/kernel": np.zeros((3, 3, 3, 5), np.float32)})
    np.savez(tmp_path / "unknown.npz", **{"dense/kernel": np.zeros((3, 3), np.float32)})
    return {
        "missing-sample": (["--sample", tmp_path / "nope.npy"], ["no such file"]),
        "unreadable-sample": (["--sample", tmp_path / "junk.npy"], ["not a readable NumPy .npy file"]),
        "object-sample": (["--sample", tmp_path / "obj.npy"], ["not a readable NumPy .npy file"]),
        "wrong-sample-shape": (["--input", "9x9x3", "--sample", tmp_path / "x.npy"], ["has shape (1, 8, 8, 3)", "(batch, 9, 9, 3)"]),
        "wrong-weight-shape": (["--input", "8x8x3", "--weights", tmp_path / "wrong.npz"], ["conv2d", "(3, 3, 3, 4)", "(3, 3, 3, 5)"]),
        "unknown-weight": (["--input", "8x8x3", "--weights", tmp_path / "unknown.npz"], ["'dense/kernel'", "conv2d/kernel"]),
        "missing-weights": (["--input", "8x8x3", "--weights", tmp_path / "nope.npz"], ["no such file"]),
        "bad-fill": (["--input", "8x8x3", "--fill", "1,2"], ["--fill gives 2 values", "3 channels"]),
        "bad-max-memory": (["--input", "8x8x3", "--run", "--max-memory", "lots"], ["--max-memory", "not a size"]),
        "sample-and-fill": (["--input", "8x8x3", "--sample", tmp_path / "x.npy", "--fill", "1"], ["either --sample or --fill"]),
        "unwritable-save": (["--input", "8x8x3", "--save", tmp_path / "no" / "dir" / "y.npy"], ["--save", "cannot write"]),
    }


@pytest.mark.parametrize(
    "case",
    ["missing-sample", "unreadable-sample", "object-sample", "wrong-sample-shape", "wrong-weight-shape",
     "unknown-weight", "missing-weights", "bad-fill", "bad-max-memory", "sample-and-fill", "unwritable-save"],
)
def test_bad_run_input_exits_2(case, tmp_path):
    args, words = bad(tmp_path)[case]
    result = run("shape", "Conv2D(4, 3)", *args, "--format", "json")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == "" and result.stderr.startswith("Error: ")
    for word in words:
        assert str(word) in result.stderr, (word, result.stderr)


def test_memory_guard_refuses_quickly_before_allocating():
    began = time.perf_counter()
    result = run("shape", "--input", "4000x4000x512", "--batch", "64", "Conv2D(64, 3)", "--run", "--format", "json")
    elapsed = time.perf_counter() - began
    assert result.exit_code == 2 and result.stdout == ""
    assert "would need about" in result.stderr and "GiB" in result.stderr
    assert elapsed < 5  # generous: the refusal itself is immediate


def test_memory_guard_respects_an_explicit_limit():
    args = ["shape", "--input", "64x64x16", "Conv2D(16, 3)", "--run", "--format", "json"]
    assert run(*args, "--max-memory", "10MiB").exit_code == 0
    refused = run(*args, "--max-memory", "100KiB")
    assert refused.exit_code == 2 and "over the limit of 100.0 KiB" in refused.stderr


def test_no_partial_file_when_the_run_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = run("shape", "--input", "64x64x16", "Conv2D(16, 3)", "--save", out / "y.npy", "--max-memory", "1KiB")
    assert result.exit_code == 2
    assert list(out.iterdir()) == []


def test_progress_bar_never_in_json():
    result = run("shape", "--input", "8x8x3", *["Conv2D(3, 3, padding='same')"] * 20, "--run", "--format", "json")
    json.loads(result.stdout)
    assert result.stderr == ""


def conv1d_reference(x, kernel, bias, stride, dilation, left_pad, right_pad):
    """A direct loop: x (n, steps, c), kernel (k, c, f)."""
    xp = np.pad(x, ((0, 0), (left_pad, right_pad), (0, 0)))
    k = kernel.shape[0]
    span = dilation * (k - 1) + 1
    steps = (xp.shape[1] - span) // stride + 1
    y = np.zeros((x.shape[0], steps, kernel.shape[2]))
    for t in range(steps):
        for j in range(k):
            y[:, t] += xp[:, t * stride + j * dilation] @ kernel[j]
    return y + bias


@pytest.mark.parametrize(
    "spec,stride,dilation",
    [("Conv1D(4, 3, padding='causal', dilation_rate=2)", 1, 2), ("Conv1D(4, 3, strides=2, padding='same')", 2, 1)],
)
def test_conv1d_runs_like_a_direct_loop(spec, stride, dilation, tmp_path):
    x = np.random.default_rng(1).normal(size=(2, 11, 3))
    np.save(tmp_path / "x.npy", x)
    out = run_json("shape", spec, "--sample", tmp_path / "x.npy", "--save", tmp_path / "y.npy", "--seed", "3")
    pads = out["layers"][0]["padding"]
    y = np.load(tmp_path / "y.npy")
    # the same weights, drawn again from the same seed through the initializers
    from convcalc import initializers

    kernel = initializers.initialize("glorot_uniform", (3, 3, 4), np.random.SeedSequence([3, 1, 0]), "float64")
    expected = conv1d_reference(x, kernel, 0.0, stride, dilation, pads["left"], pads["right"])
    np.testing.assert_allclose(y, expected, rtol=1e-10)


def test_run_refuses_layers_without_kernels():
    result = run("shape", "--input", "8x8x3", "Conv2D(4, 3)", "UpSampling2D(interpolation='gaussian')", "--run")
    assert result.exit_code == 2
    assert ("layer 2 up_sampling2d (UpSampling2D): Keras fails at run time with interpolation='gaussian'"
            in result.stderr)


@pytest.mark.parametrize(
    "specs",
    [
        ["Conv2D(16, 3, padding='same', activation='gelu')", "Conv2DTranspose(8, 4, strides=2, padding='same')"],
        ["Conv2D(8, 3, groups=4, strides=2)", "Conv2D(8, 1, activation='softmax')"],
        ["MaxPooling2D(3, strides=1, padding='same')", "AveragePooling2D(3, strides=1, padding='same')",
         "ZeroPadding2D(3)", "UpSampling2D(2)", "Cropping2D(2)", "BatchNormalization()", "LayerNormalization()"],
        ["Softmax(axis=1)", "ReLU(max_value=1, negative_slope=0.1, threshold=0.2)", "LeakyReLU()", "ELU()",
         "Rescaling(2.0, 1.0)", "Permute((2, 1, 3))", "Dense(32, activation='gelu')", "Flatten()"],
    ],
)
def test_memory_estimate_covers_what_a_run_allocates(specs):

    from convcalc.config import DataFormat
    from convcalc.run import RunOptions, estimate_bytes, run_stack
    from convcalc.stack import compute_stack

    result = compute_stack(specs, DataFormat("channels_last", "test"), (48, 40, 8), 4)
    _, peak = traced_peak(lambda: run_stack(result, RunOptions(max_memory=2**30)))
    assert peak <= estimate_bytes(result, np.dtype(np.float32), 4)


def test_expected_weights_are_the_declared_ones(tmp_path):
    np.savez(tmp_path / "w.npz", **{"conv2d/bias": np.zeros(4, np.float32)})
    result = run("shape", "--input", "8x8x3", "Conv2D(4, 3, use_bias=False)", "--weights", tmp_path / "w.npz")
    assert result.exit_code == 2
    assert "'conv2d/bias' names no weight of this stack; its weights are: conv2d/kernel." in result.stderr


def test_lora_weights_from_the_file_are_merged_into_the_kernel(tmp_path):
    # lora_alpha defaults to the rank: kernel + (a @ b), here 0 + 2 (two ones summed over the rank)
    np.savez(tmp_path / "w.npz", **{
        "conv2d/kernel": np.zeros((3, 3, 1, 1), np.float32),
        "conv2d/lora_kernel_a": np.ones((3, 3, 1, 2), np.float32),
        "conv2d/lora_kernel_b": np.ones((2, 1), np.float32),
    })
    out = run_json("shape", "--input", "3x3x1", "Conv2D(1, 3, lora_rank=2)", "--fill", "1",
                   "--weights", tmp_path / "w.npz", "--save", tmp_path / "y.npy")
    assert out["layers"][0]["measured_shape"] == [1, 1, 1, 1]
    assert np.load(tmp_path / "y.npy").ravel().tolist() == [18.0]


def test_missing_weights_use_the_declared_initializers(tmp_path):
    run_json("shape", "--input", "3x3x1", "Conv2D(1, 2, kernel_initializer='ones', bias_initializer='ones')",
             "--fill", "1", "--save", tmp_path / "y.npy")
    assert np.load(tmp_path / "y.npy").ravel().tolist() == [5.0] * 4


@pytest.mark.parametrize(
    "name, initializer",
    [("kernel", "glorot_uniform"), ("depthwise_kernel", "glorot_uniform"), ("pointwise_kernel", "glorot_uniform"),
     ("bias", "zeros"), ("beta", "zeros"), ("moving_mean", "zeros"), ("count", "zeros"), ("mean", "zeros"),
     ("gamma", "ones"), ("moving_variance", "ones"), ("variance", "ones"),
     ("lora_kernel_a", "he_uniform"), ("lora_kernel_b", "zeros")],
)
def test_keras_default_initializer_per_weight_name(name, initializer):
    from convcalc.layer_base import Weight
    from convcalc.run import weight_initializer

    assert weight_initializer(Weight(name, (2,))) == initializer
    assert weight_initializer(Weight(name, (2,), initializer="ones")) == "ones"


def test_memory_estimate_counts_the_declared_weights():
    from convcalc.config import DataFormat
    from convcalc.run import estimate_bytes
    from convcalc.stack import compute_stack

    fmt = DataFormat("channels_last", "test")
    with_bias, without, lora = (
        compute_stack([spec], fmt, (8, 8, 3), 1)
        for spec in ("Conv2D(4, 3)", "Conv2D(4, 3, use_bias=False)", "Conv2D(4, 3, lora_rank=2)")
    )
    f32 = np.dtype(np.float32)
    assert estimate_bytes(with_bias, f32, 1) - estimate_bytes(without, f32, 1) == 4 * 4
    assert estimate_bytes(lora, f32, 1) - estimate_bytes(with_bias, f32, 1) == 4 * (3 * 3 * 3 * 2 + 2 * 4)


def test_show_in_json_keeps_the_value_cap():
    """--show --format json prints the values of small outputs only, as the text form does."""
    big = json.loads(run("shape", "-i", "300x300x3", "Conv2D(4, 3)", "--show", "--format", "json").stdout)
    assert big["run"]["output"] is None and "at most 4096" in big["run"]["output_note"]
    small = json.loads(run("shape", "-i", "3x3x3", "Conv2D(1, 2, kernel_initializer='ones')", "--fill", "1,100,10000",
                           "--show", "--format", "json").stdout)
    assert small["run"]["output"] == [[[[40404.0], [40404.0]], [[40404.0], [40404.0]]]]
