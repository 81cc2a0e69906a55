"""Rendering finished results: per-side padding of 1, 2 and 3 axes, unknown sizes, --show, no NumPy."""

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from convcalc import render
from convcalc.config import DataFormat
from convcalc.result import LayerRow, StackResult


def row(padding, input_shape=(None, 8, 8, 3), output_shape=(None, 8, 8, 4), name="layer"):
    return LayerRow(
        index=1, name=name, type="Conv2D", spec="Conv2D(4, 3, padding='same')", data_format="channels_last",
        input_shape=input_shape, output_shape=output_shape, padding=padding, kernel_shape=(3, 3, 3, 4),
        trainable_params=112, non_trainable_params=0,
    )


def stack(*rows):
    return StackResult(DataFormat("channels_last", "test"), rows[0].input_shape, rows)


@pytest.mark.parametrize(
    "padding, expected",
    [
        (None, None),
        (((1, 2),), {"left": 1, "right": 2}),
        (((3, 4), (1, 2)), {"top": 3, "bottom": 4, "left": 1, "right": 2}),
        (
            ((0, 1), (3, 4), (1, 2)),
            {"front": 0, "back": 1, "top": 3, "bottom": 4, "left": 1, "right": 2},
        ),
        ((None,), {"left": None, "right": None}),
        (((3, 4), None), {"top": 3, "bottom": 4, "left": None, "right": None}),
        ((None, (3, 4), (1, 1)), {"front": None, "back": None, "top": 3, "bottom": 4, "left": 1, "right": 1}),
    ],
    ids=["none", "1-axis", "2-axes", "3-axes", "1-unknown", "2-width-unknown", "3-depth-unknown"],
)
def test_padding_dict(padding, expected):
    assert render.padding_dict(padding) == expected


def test_unknown_padding_and_sizes_are_null_in_json():
    result = stack(row(((3, 4), None), input_shape=(None, 8, None, 3), output_shape=(None, 8, None, 4)))
    layer = json.loads(render.to_json(result))["layers"][0]
    assert layer["padding"] == {"top": 3, "bottom": 4, "left": None, "right": None}
    assert layer["input_shape"] == [None, 8, None, 3] and layer["output_shape"] == [None, 8, None, 4]


def test_unknown_padding_is_a_question_mark_in_csv_markdown_and_table():
    result = stack(row(((3, 4), None), input_shape=(None, 8, None, 3), output_shape=(None, 8, None, 4)))
    line = next(csv.DictReader(io.StringIO(render.to_csv(result))))
    assert (line["pad_top"], line["pad_bottom"], line["pad_left"], line["pad_right"]) == ("3", "4", "?", "?")
    assert line["output_shape"] == "(None, 8, None, 4)"
    assert "| (None, 8, None, 3) | (None, 8, None, 4) | 3, 4, ?, ? |" in render.to_markdown(result)
    cells = render._cells(result.layers[0])
    assert cells[1:4] == ["(None, 8, None, 3)", "(None, 8, None, 4)", "3, 4, ?, ?"]


def test_three_axes_in_csv_and_table_headers():
    three = row(((0, 1), (1, 1), (2, 2)), input_shape=(None, 4, 8, 8, 3), output_shape=(None, 4, 8, 8, 4))
    two = row(((1, 1), (1, 1)), name="flat")
    result = stack(three, two)
    lines = list(csv.DictReader(io.StringIO(render.to_csv(result))))
    assert [lines[0][f"pad_{side}"] for side in ("front", "back", "top", "bottom", "left", "right")] == [
        "0", "1", "1", "1", "2", "2"
    ]
    assert lines[1]["pad_front"] == "" and lines[1]["pad_top"] == "1"
    assert render._headers(result, None)[3] == "Padding f, b, t, b, l, r"
    assert render._cells(three)[3] == "0, 1, 1, 1, 2, 2"


def test_csv_columns_without_3d_rows_are_unchanged():
    header = render.to_csv(stack(row(((1, 1), (1, 1))))).splitlines()[0].split(",")
    assert tuple(header[: len(render.CSV_COLUMNS)]) == render.CSV_COLUMNS


def test_show_text_prints_each_channel():
    text = render.show_text(np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2), "channels_last")
    assert "sample 0, channel 1:\n[[1. 3.]\n [5. 7.]]" in text
    assert "--show prints at most 4" in render.show_text(np.zeros((1, 3, 3, 1)), "channels_last", limit=4)


def test_render_and_run_results_import_without_numpy():
    code = (
        "import sys; import convcalc.render, convcalc.outcome; "
        "print('numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_run_results_are_still_importable_from_run():
    from convcalc import outcome, run

    assert run.RunResult is outcome.RunResult and run.RunOptions is outcome.RunOptions
    assert run.LayerRun is outcome.LayerRun
