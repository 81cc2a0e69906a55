"""Hostile files (issue 9, families 2, 4 and 10): every one is exit 2 with one ``Error:`` sentence.

Bounded memory and time (zip bombs, devices, FIFOs, oversized files), malformed
model configs and archives (every value of a small valid config replaced by
null, a string, a number, a list, a 5000-digit integer or deep nesting), and
errors that name the real cause (a pipe read once, a truncated archive, deep
or duplicated JSON).  The CLI runs in-process except where a real pipe is needed.
"""

import copy
import io
import json
import os
import socket
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import run
from convcalc import reading
from convcalc.stackfile import locate

MODELS = Path(__file__).parent / "data" / "models"
STACK = 'input = "8x8x3"\nlayers = ["Conv2D(4, 3)"]\n'


def assert_refused(result, *needles):
    """Exit 2, one ``Error:`` message on stderr naming each needle, never a traceback."""
    detail = f"exit {result.exit_code}\nstdout: {result.stdout[:300]}\nstderr: {result.stderr[:500]}"
    assert result.exit_code == 2, detail
    assert result.stderr.startswith("Error:"), detail
    assert "Traceback (most recent" not in result.stderr and "internal error" not in result.stderr, detail
    for needle in needles:
        assert needle in result.stderr, f"{needle!r} not in: {detail}"


def assert_lint_reports(result):
    """lint reports an unreadable file as an error (on stdout, with the others) and exits 2."""
    detail = f"exit {result.exit_code}\nstdout: {result.stdout[:500]}\nstderr: {result.stderr[:300]}"
    assert result.exit_code == 2 and "error" in result.stdout, detail
    assert "Traceback (most recent" not in result.stdout + result.stderr and "internal error" not in result.stdout, detail


def shape_file(path, *extra):
    return run("shape", "--file", path, "--format", "json", *extra)


# ---------------------------------------------------------------- small valid configs to mutate


def tensor(name, node=0, index=0):
    return {"class_name": "__keras_tensor__", "config": {"shape": [None, 8, 8, 4], "dtype": "float32",
                                                          "keras_history": [name, node, index]}}

FUNCTIONAL = {
    "class_name": "Functional",
    "config": {
        "name": "tiny",
        "trainable": True,
        "layers": [
            {"class_name": "InputLayer", "name": "img",
             "config": {"batch_shape": [None, 8, 8, 3], "dtype": "float32", "name": "img"}, "inbound_nodes": []},
            {"class_name": "Conv2D", "name": "conv",
             "config": {"name": "conv", "filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                        "dtype": {"class_name": "DTypePolicy", "config": {"name": "float32"}},
                        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}}},
             "inbound_nodes": [{"args": [tensor("img")], "kwargs": {}}]},
            {"class_name": "Conv2D", "name": "conv_1",
             "config": {"name": "conv_1", "filters": 4, "kernel_size": [1, 1], "padding": "valid"},
             "inbound_nodes": [{"args": [tensor("conv")], "kwargs": {}}]},
            {"class_name": "Add", "name": "add", "config": {"name": "add"},
             "inbound_nodes": [{"args": [[tensor("conv"), tensor("conv_1")]], "kwargs": {}}]},
            {"class_name": "Sequential", "name": "head",
             "config": {"name": "head", "layers": [
                 {"class_name": "InputLayer", "config": {"batch_shape": [None, 8, 8, 4], "name": "head_in"}},
                 {"class_name": "MaxPooling2D", "config": {"name": "pool", "pool_size": [2, 2], "strides": [2, 2]}},
             ]},
             "inbound_nodes": [{"args": [tensor("add")], "kwargs": {}}]},
        ],
        "input_layers": [["img", 0, 0]],
        "output_layers": [["head", 0, 0]],
    },
}

SEQUENTIAL = {
    "class_name": "Sequential",
    "config": {
        "name": "seq",
        "layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 8, 8, 3], "name": "in"}},
            {"class_name": "Conv2D", "config": {"name": "c", "filters": 2, "kernel_size": [3, 3], "strides": [2, 2]}},
            {"class_name": "Flatten", "config": {"name": "f"}},
            {"class_name": "Dense", "config": {"name": "d", "units": 3,
                                                "bias_initializer": {"class_name": "Zeros", "config": {}}}},
        ],
        "build_input_shape": [None, 8, 8, 3],
    },
}

BIG = "9" * 5000  # past Python's int-to-str limit: messages must never str() it
REPLACEMENTS = {
    "null": None, "string": "x", "int": 7, "negative": -3, "bool": True, "float": 1.5, "list": [1, "a"],
    "object": {"k": 1}, "huge_int": "__BIG__", "deep": "__DEEP__",
}


def _paths(value, keys=()):
    yield keys
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*keys, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*keys, index))


def mutated(base, keys, replacement) -> str:
    """The config's JSON with the value at ``keys`` replaced (huge ints and deep nesting spliced in as text)."""
    data = copy.deepcopy(base)
    if keys:
        node = data
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = REPLACEMENTS[replacement]
    else:
        data = REPLACEMENTS[replacement]
    text = json.dumps(data)
    return text.replace('"__BIG__"', BIG).replace('"__DEEP__"', "[" * 3000 + "]" * 3000)




def _mutations():
    """Every path of both configs, each with one replacement (rotating through all kinds)."""
    kinds = list(REPLACEMENTS)
    cases = []
    for label, base in (("functional", FUNCTIONAL), ("sequential", SEQUENTIAL)):
        for number, keys in enumerate(_paths(base)):
            for kind in (kinds[number % len(kinds)],):
                path = ".".join(map(str, keys)) or "top"
                cases.append(pytest.param(base, keys, kind, id=f"{label}:{path}={kind}"))
    return cases


def test_the_base_configs_are_valid(tmp_path):
    for base in (FUNCTIONAL, SEQUENTIAL):
        path = tmp_path / "m.json"
        path.write_text(json.dumps(base))
        assert shape_file(path).exit_code == 0


@pytest.mark.parametrize("base, keys, kind", _mutations())
def test_mutated_config_is_answered_or_refused(tmp_path, base, keys, kind):
    path = tmp_path / "m.json"
    path.write_text(mutated(base, keys, kind))
    result = shape_file(path)
    if result.exit_code != 0:
        assert_refused(result)
    if kind in ("huge_int", "deep"):
        assert_refused(result, "digits" if kind == "huge_int" else "nested deeper than")


L = ("config", "layers")
STRUCTURAL = {
    # (base, keys, replacement kind): the JSON path the message names
    "layer null": (FUNCTIONAL, (*L, 1), "null", "config.layers[1] must be a layer"),
    "layer string": (FUNCTIONAL, (*L, 2), "string", "config.layers[2] must be a layer"),
    "layer int": (SEQUENTIAL, (*L, 1), "int", "config.layers[1] must be a layer"),
    "layers object": (FUNCTIONAL, ("config", "layers"), "object", "config.layers must be a list"),
    "config string": (FUNCTIONAL, ("config",), "string", "config must be an object"),
    "layer config list": (FUNCTIONAL, (*L, 1, "config"), "list", "config.layers[1].config must be an object"),
    "layer config int": (SEQUENTIAL, (*L, 2, "config"), "int", "config.layers[2].config must be an object"),
    "class_name int": (FUNCTIONAL, (*L, 1, "class_name"), "int", "config.layers[1].class_name must be a string"),
    "class_name null": (SEQUENTIAL, (*L, 1, "class_name"), "null", "config.layers[1].class_name must be a string"),
    "class_name list": (FUNCTIONAL, (*L, 4, "config", "layers", 1, "class_name"), "list",
                        "config.layers[4].config.layers[1].class_name must be a string"),
    "name list": (FUNCTIONAL, (*L, 1, "config", "name"), "list", "config.layers[1].config.name must be a string"),
    "inbound_nodes string": (FUNCTIONAL, (*L, 1, "inbound_nodes"), "string", "config.layers[1].inbound_nodes must be"),
    "inbound node int": (FUNCTIONAL, (*L, 1, "inbound_nodes", 0), "int", "config.layers[1].inbound_nodes[0] must be"),
    "args object": (FUNCTIONAL, (*L, 2, "inbound_nodes", 0, "args"), "object",
                    "config.layers[2].inbound_nodes[0].args must be a list"),
    "kwargs list": (FUNCTIONAL, (*L, 2, "inbound_nodes", 0, "kwargs"), "list",
                    "config.layers[2].inbound_nodes[0].kwargs must be an object"),
    "tensor config null": (FUNCTIONAL, (*L, 1, "inbound_nodes", 0, "args", 0, "config"), "string",
                           "config.layers[1].inbound_nodes[0].args[0].config must be an object"),
    "history string": (FUNCTIONAL, (*L, 1, "inbound_nodes", 0, "args", 0, "config", "keras_history"), "string",
                       "config.layers[1].inbound_nodes[0].args[0].config.keras_history must be"),
    "history short": (FUNCTIONAL, (*L, 1, "inbound_nodes", 0, "args", 0, "config", "keras_history"), "list",
                      "config.layers[1].inbound_nodes[0].args[0].config.keras_history must be"),
    "history negative": (FUNCTIONAL, (*L, 1, "inbound_nodes", 0, "args", 0, "config", "keras_history", 1), "negative",
                         "keras_history must be"),
    "history float": (FUNCTIONAL, (*L, 2, "inbound_nodes", 0, "args", 0, "config", "keras_history", 2), "float",
                      "config.layers[2].inbound_nodes[0].args[0].config.keras_history must be"),
    "history name int": (FUNCTIONAL, (*L, 3, "inbound_nodes", 0, "args", 0, 1, "config", "keras_history", 0), "int",
                         "config.layers[3].inbound_nodes[0].args[0][1].config.keras_history must be"),
    "input_layers string": (FUNCTIONAL, ("config", "input_layers"), "string", "config.input_layers must be"),
    "input_layers object": (FUNCTIONAL, ("config", "input_layers", 0), "object", "config.input_layers[0] must be"),
    "input_layers bool": (FUNCTIONAL, ("config", "input_layers", 0, 1), "bool", "config.input_layers[0] must be"),
    "output_layers null": (FUNCTIONAL, ("config", "output_layers"), "null", "config.output_layers must be"),
    "output_layers short": (FUNCTIONAL, ("config", "output_layers", 0), "list", "config.output_layers[0] must be"),
    "output_layers float": (FUNCTIONAL, ("config", "output_layers", 0, 2), "float", "config.output_layers[0] must be"),
    "batch_shape string": (FUNCTIONAL, (*L, 0, "config", "batch_shape"), "string", "config.layers[0].config.batch_shape"),
    "batch_shape size": (SEQUENTIAL, (*L, 0, "config", "batch_shape", 1), "negative", "config.layers[0].config.batch_shape"),
    "nested layer null": (FUNCTIONAL, (*L, 4, "config", "layers", 1), "null", "config.layers[4].config.layers[1] must be"),
    "nested config int": (FUNCTIONAL, (*L, 4, "config"), "int", "config.layers[4].config must be an object"),
    "huge filters": (FUNCTIONAL, (*L, 1, "config", "filters"), "huge_int", "config.layers[1].config.filters: a number with 5000 digits"),
    "huge batch": (SEQUENTIAL, (*L, 0, "config", "batch_shape", 1), "huge_int", "config.layers[0].config.batch_shape[1]"),
    "huge history": (FUNCTIONAL, (*L, 2, "inbound_nodes", 0, "args", 0, "config", "keras_history", 1), "huge_int",
                     "keras_history[1]: a number with 5000 digits"),
    "deep kernel_size": (FUNCTIONAL, (*L, 1, "config", "kernel_size"), "deep", "config.layers[1].config.kernel_size"),
    "deep args": (FUNCTIONAL, (*L, 3, "inbound_nodes", 0, "args"), "deep", "config.layers[3].inbound_nodes[0].args"),
    "initializer class int": (FUNCTIONAL, (*L, 1, "config", "kernel_initializer", "class_name"), "int",
                              "config.layers[1].config.kernel_initializer.class_name must be a string"),
}


@pytest.mark.parametrize("base, keys, kind, path", STRUCTURAL.values(), ids=STRUCTURAL.keys())
def test_malformed_config_names_its_json_path(tmp_path, base, keys, kind, path):
    file = tmp_path / "m.json"
    file.write_text(mutated(base, keys, kind))
    result = shape_file(file)
    assert_refused(result, *([path] if path else []))
    assert len(result.stderr) < 1000


def _nested_sequential(depth: int) -> dict:
    model = copy.deepcopy(SEQUENTIAL)
    for _ in range(depth):
        model = {"class_name": "Sequential", "config": {"name": "outer", "layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 8, 8, 3], "name": "in"}}, model]}}
    return model


@pytest.mark.parametrize("depth", [40, 320, 2000])
def test_deeply_nested_sequential_is_refused_with_the_depth(tmp_path, depth):
    path = tmp_path / "deep.json"
    path.write_text(_deep_text(depth))
    assert_refused(shape_file(path), "nested deeper than 100 levels", "config.layers[1].config.layers")


def _deep_text(depth: int) -> str:
    # json.dumps itself recurses: build the nesting as text
    inner = json.dumps(SEQUENTIAL)
    head = '{"class_name": "Sequential", "config": {"name": "outer", "layers": [{"class_name": "InputLayer", ' \
           '"config": {"batch_shape": [null, 8, 8, 3], "name": "in"}}, '
    return head * depth + inner + "]}}" * depth


def test_a_model_nested_a_few_levels_is_read(tmp_path):
    path = tmp_path / "nested.json"
    path.write_text(json.dumps(_nested_sequential(30)))  # 90 levels of JSON
    assert shape_file(path).exit_code == 0


# ---------------------------------------------------------------- JSON and TOML that json/tomllib get wrong


JSON_CASES = {
    "duplicate top key": ('{"class_name": "Sequential",\n"class_name": "Functional", "config": {}}', ["'class_name'", ":2:", "twice"]),
    "duplicate layer key": (json.dumps(SEQUENTIAL).replace('"filters": 2', '"filters": 2,\n"filters": 3'), ["'filters'", ":2:", "twice"]),
    "duplicate stack key": ('{"input": "8x8x3",\n "layers": ["Conv2D(4, 3)"],\n "input": "9x9x3"}', ["'input'", ":3:"]),
    "deep valid json": ('{"input": "8x8x3", "layers": ["Conv2D(4, 3)"], "x": ' + "[" * 150 + "]" * 150 + "}",
                        ["nested deeper than 100 levels", "x[0]"]),
    "very deep json": ('{"class_name": "Functional", "config": ' + "[" * 100000 + "]" * 100000 + "}", ["nested deeper than"]),
    "deep unclosed": ("[" * 5000, ["nested deeper than"]),
    "huge int in stack": ('{"input": "8x8x3", "layers": ["Conv2D(4, 3)"], "expect": {"params": ' + BIG + "}}",
                          ["expect.params: a number with 5000 digits"]),
    "huge negative int": ('{"input": "8x8x3", "layers": ["Conv2D(4, 3)"], "x": -' + BIG + "}", ["x: a number with 5000 digits"]),
    "41 digit int": ('{"input": "8x8x3", "layers": ["Conv2D(4, 3)"], "expect": {"params": ' + "1" * 41 + "}}", ["41 digits"]),
    "not json": ('{"class_name": ', ["not valid JSON"]),
    "not utf8": (b'{"class_name": "\xff\xfe"}', ["not UTF-8"]),
    "nul bytes": (b"\x00" * 1000, ["not valid"]),
    "json scalar": ("12", ["top level"]),
    "class_name but not a model": ('{"class_name": "Dense", "config": {}}', ["not a Keras model config"]),
}


@pytest.mark.parametrize("text, needles", JSON_CASES.values(), ids=JSON_CASES.keys())
def test_json_that_json_gets_wrong(tmp_path, text, needles):
    path = tmp_path / "f.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert_refused(shape_file(path), *needles)
    assert_lint_reports(run("lint", path))  # lint reports it and exits 2 too


TOML_CASES = {
    "huge int": (STACK + "[expect]\nparams = " + BIG + "\n", []),
    "60 digit int": (STACK + "[expect]\nparams = " + "7" * 60 + "\n", ["expect.params: a number with 60 digits"]),
    "deep arrays": (STACK + "[expect]\nx = " + "[" * 3000 + "]" * 3000 + "\n", ["nested deeper than"]),
    "deep inline tables": (STACK + "[expect]\nx = " + "{a = " * 200 + "1" + "}" * 200 + "\n", ["nested deeper than"]),
    "duplicate key": (STACK + 'input = "9x9x3"\n', ["not valid TOML"]),
    "not utf8": (b'input = "\xff"\n', ["not UTF-8"]),
}


@pytest.mark.parametrize("text, needles", TOML_CASES.values(), ids=TOML_CASES.keys())
def test_toml_that_tomllib_gets_wrong(tmp_path, text, needles):
    path = tmp_path / "f.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert_refused(shape_file(path), *needles)
    assert_lint_reports(run("lint", path))


def test_a_long_unknown_key_is_refused_without_recording_it(tmp_path):
    text = STACK + "junk = [" + "1," * 50_000 + "]\n"
    path = tmp_path / "junk.toml"
    path.write_text(text)
    assert_refused(shape_file(path), "unknown key 'junk'", ":3:")
    where = locate(text, "toml", keep=frozenset({"input", "layers"}))
    assert where.line("junk") == 3 and not where.children["junk"].children  # nothing kept below a junk key


# ---------------------------------------------------------------- archives


def keras_archive(config: bytes | str, method=zipfile.ZIP_DEFLATED, member="config.json") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.writestr("metadata.json", '{"keras_version": "3.0.0"}')
        archive.writestr(member, config)
    return buffer.getvalue()


def _patch_member(data: bytes, member: bytes, local: dict, central: dict) -> bytes:
    """Overwrite fields of ``member``'s local header and central directory entry (offset: (format, value))."""
    out = bytearray(data)
    for signature, fields in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            name_at = 30 if signature == b"PK\x03\x04" else 46
            name_length = struct.unpack_from("<H", out, start + (26 if signature == b"PK\x03\x04" else 28))[0]
            if bytes(out[start + name_at:start + name_at + name_length]) == member:
                for offset, (fmt, value) in fields.items():
                    struct.pack_into(fmt, out, start + offset, value)
            start += 4
    return bytes(out)


GOOD = json.dumps(SEQUENTIAL)
GOOD_ARCHIVE = keras_archive(GOOD)
REAL_ARCHIVE = (MODELS / "small_unet.keras").read_bytes()


def _flip_deflate(data: bytes) -> bytes:
    start = data.find(b"config.json") + len(b"config.json")
    out = bytearray(data)
    for i in range(start + 5, start + 40):
        out[i] ^= 0xA5
    return bytes(out)


ARCHIVES = {
    "encrypted flag": (_patch_member(GOOD_ARCHIVE, b"config.json", {6: ("<H", 1)}, {8: ("<H", 1)}), ["encrypted"]),
    "unknown method": (_patch_member(GOOD_ARCHIVE, b"config.json", {8: ("<H", 99)}, {10: ("<H", 99)}),
                       ["compression method 99"]),
    "method 6 implode": (_patch_member(GOOD_ARCHIVE, b"config.json", {8: ("<H", 6)}, {10: ("<H", 6)}),
                         ["compression method 6"]),
    "corrupt deflate": (_flip_deflate(GOOD_ARCHIVE), ["truncated or corrupt"]),
    "declared 4 GiB": (_patch_member(GOOD_ARCHIVE, b"config.json", {22: ("<I", 2**32 - 1)}, {24: ("<I", 2**32 - 1)}),
                       ["would expand to 4 GiB"]),
    "size lies small": (_patch_member(keras_archive(GOOD + " " * 50000), b"config.json", {22: ("<I", 10)},
                                      {24: ("<I", 10)}), ["truncated or corrupt"]),
    "compressed size lies": (_patch_member(GOOD_ARCHIVE, b"config.json", {18: ("<I", 2**31)}, {20: ("<I", 2**31)}),
                             ["truncated or corrupt"]),
    "no config.json": (keras_archive(GOOD, member="model.json"), ["no config.json"]),
    "config not utf8": (keras_archive(b"\xff\xfe\x00"), ["not UTF-8"]),
    "config not json": (keras_archive("{oops"), ["not valid JSON"]),
    "config duplicate key": (keras_archive('{"class_name": "Sequential", "class_name": "x", "config": {}}'), ["twice"]),
    "config huge int": (keras_archive(mutated(SEQUENTIAL, (*L, 1, "config", "filters"), "huge_int")),
                        ["config.layers[1].config.filters: a number with 5000 digits"]),
    "config deep": (keras_archive('{"class_name": "Sequential", "config": ' + "[" * 5000 + "]" * 5000 + "}"),
                    ["nested deeper than"]),
    "config layer null": (keras_archive(mutated(SEQUENTIAL, (*L, 2), "null")), ["config.layers[2] must be a layer"]),
    "bzip2 but corrupt": (_flip_deflate(keras_archive(GOOD, zipfile.ZIP_BZIP2)), ["truncated or corrupt"]),
    "lzma but corrupt": (_flip_deflate(keras_archive(GOOD, zipfile.ZIP_LZMA)), ["truncated or corrupt"]),
    "empty file": (b"", ["truncated or corrupt"]),
    "only the magic": (b"PK\x03\x04", ["truncated or corrupt"]),
    "text": (b"hello", ["truncated or corrupt"]),
    "json in a .keras": (GOOD.encode(), ["truncated or corrupt"]),
    **{f"truncated at {fraction}": (REAL_ARCHIVE[:int(len(REAL_ARCHIVE) * fraction)], ["truncated or corrupt"])
       for fraction in (0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99)},
    "truncated by 1 byte": (REAL_ARCHIVE[:-1], ["truncated or corrupt"]),
    "truncated by 22 bytes": (REAL_ARCHIVE[:-22], ["truncated or corrupt"]),
}


@pytest.mark.parametrize("data, needles", ARCHIVES.values(), ids=ARCHIVES.keys())
def test_broken_archive_is_refused(tmp_path, data, needles):
    path = tmp_path / "model.keras"
    path.write_bytes(data)
    result = shape_file(path)
    assert_refused(result, *needles)
    assert "UTF-8" not in result.stderr or "not UTF-8" in needles
    assert_lint_reports(run("lint", path))


@pytest.mark.parametrize("name", ["model.keras", "model.json", "model"])
def test_truncated_archive_is_named_so_whatever_its_name(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(REAL_ARCHIVE[: len(REAL_ARCHIVE) // 2])
    result = shape_file(path)
    assert_refused(result, "truncated or corrupt")
    assert "decode" not in result.stderr


def test_the_real_and_built_archives_are_read(tmp_path):
    for name, data in (("a.keras", REAL_ARCHIVE), ("b.keras", GOOD_ARCHIVE),
                       ("c.keras", keras_archive(GOOD, zipfile.ZIP_STORED)), ("d.keras", keras_archive(GOOD, zipfile.ZIP_BZIP2))):
        (tmp_path / name).write_bytes(data)
        assert shape_file(tmp_path / name).exit_code == 0, name


def test_zip_bomb_is_refused_from_its_header(tmp_path):
    """260 MiB of spaces compress to ~260 KiB; the declared size is refused before anything is inflated."""
    path = tmp_path / "bomb.keras"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("config.json", "w", force_zip64=True) as member:
            chunk = b" " * (1 << 20)
            for _ in range(260):
                member.write(chunk)
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size < 1 << 20
    assert_refused(shape_file(path), "would expand to 260 MiB", "256 MiB")


@pytest.mark.parametrize("declared", [10, 1000, 100_000])
def test_zip_bomb_with_a_lying_header_is_cut_off_while_inflating(tmp_path, monkeypatch, declared):
    monkeypatch.setattr(reading, "MAX_BYTES", 200_000)
    data = keras_archive(" " * 2_000_000)
    path = tmp_path / "bomb.keras"
    path.write_bytes(_patch_member(data, b"config.json", {22: ("<I", declared)}, {24: ("<I", declared)}))
    assert_refused(shape_file(path))


def test_archive_member_stops_at_the_limit():
    data = keras_archive(" " * 3_000_000)
    with pytest.raises(reading.ConvcalcError, match="would expand to 2.9 MiB"):
        reading.archive_member(data, "x.keras", limit=100_000)
    lying = _patch_member(data, b"config.json", {22: ("<I", 50)}, {24: ("<I", 50)})
    with pytest.raises(reading.ConvcalcError):
        reading.archive_member(lying, "x.keras", limit=100_000)


# ---------------------------------------------------------------- files that are not files


def _special_paths(tmp_path):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    keras_fifo = tmp_path / "fifo.keras"
    os.mkfifo(keras_fifo)
    directory = tmp_path / "dir.toml"
    directory.mkdir()
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    sock = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock))
    return {"fifo": fifo, "keras fifo": keras_fifo, "directory": directory, "/dev/zero": Path("/dev/zero"),
            "/dev/null": Path("/dev/null"), "symlink to /dev/zero": link, "socket": sock,
            "missing": tmp_path / "missing.toml", "dangling": _dangling(tmp_path),
            "file as directory": tmp_path / "fifo.toml" / "x.toml"}, server


def _dangling(tmp_path):
    link = tmp_path / "dangling.json"
    link.symlink_to(tmp_path / "nowhere")
    return link


SPECIAL = ["fifo", "keras fifo", "directory", "/dev/zero", "/dev/null", "symlink to /dev/zero", "socket", "missing",
           "dangling", "file as directory"]


@pytest.mark.parametrize("kind", SPECIAL)
@pytest.mark.parametrize("command", ["shape", "lint"])
def test_special_file_is_refused_at_once(tmp_path, kind, command):
    paths, server = _special_paths(tmp_path)
    try:
        result = shape_file(paths[kind]) if command == "shape" else run("lint", paths[kind])
    finally:
        server.close()
    if command == "shape":
        assert_refused(result)
    else:
        assert_lint_reports(result)


@pytest.mark.parametrize("kind", ["fifo", "directory", "symlink to /dev/zero", "socket"])
def test_keras_json_that_is_not_a_file_is_refused(tmp_path, isolated_keras_home, kind):
    paths, server = _special_paths(tmp_path)
    try:
        target = paths[kind]
        (isolated_keras_home / "keras.json").symlink_to(target)
        result = run("shape", "--input", "8x8x3", "Conv2D(4, 3)")
    finally:
        server.close()
    assert_refused(result, "keras.json")


def test_oversized_keras_json_is_refused(isolated_keras_home):
    (isolated_keras_home / "keras.json").write_text('{"image_data_format": "channels_last"}' + " " * (2 << 20))
    assert_refused(run("shape", "--input", "8x8x3", "Conv2D(4, 3)"), "keras.json", "1 MiB")


@pytest.mark.parametrize("text", ['{"image_data_format": "channels_first", "image_data_format": "x"}', "\xff",
                                  "[" * 5000, '{"image_data_format": ' + BIG + "}"])
def test_odd_keras_json_is_ignored_or_refused_cleanly(isolated_keras_home, text):
    (isolated_keras_home / "keras.json").write_bytes(text.encode("utf-8", "surrogateescape") if text != "\xff" else b"\xff")
    result = run("shape", "--input", "8x8x3", "Conv2D(4, 3)", "--format", "json")
    assert result.exit_code in (0, 2) and "Traceback (most recent" not in result.stderr
    if result.exit_code == 2:
        assert_refused(result)


def test_oversized_file_is_refused_by_its_size(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "MAX_BYTES", 1000)
    for name in ("big.toml", "big.json", "big.keras"):
        path = tmp_path / name
        path.write_bytes(b" " * 2000)
        assert_refused(shape_file(path), "larger than the 1000 bytes")


def test_a_silent_pipe_is_given_up(monkeypatch):
    monkeypatch.setattr(reading, "PIPE_TIMEOUT", 0.2)
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(reading.ConvcalcError, match="sent nothing for 0.2 seconds"):
            reading.read_bytes(f"/dev/fd/{read_end}")
    finally:
        os.close(read_end)
        os.close(write_end)


def test_an_endless_pipe_is_cut_at_the_limit(monkeypatch):
    monkeypatch.setattr(reading, "MAX_BYTES", 100_000)
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        os.write(write_end, b" " * 60_000)
        with pytest.raises(reading.ConvcalcError, match="larger than"):
            # the pipe stays open and would give more: the reader stops at the limit, or at its deadline
            monkeypatch.setattr(reading, "PIPE_TIMEOUT", 0.2)
            reading.read_bytes(f"/dev/fd/{read_end}", limit=50_000)
    finally:
        os.close(read_end)
        os.close(write_end)


# ---------------------------------------------------------------- a file read once (pipes) and where a source is named


def _convcalc(*args, stdin=None, pass_fds=()):
    return subprocess.run([sys.executable, "-m", "convcalc", *args], input=stdin, capture_output=True, timeout=60,
                          pass_fds=pass_fds, env={**os.environ, "KERAS_HOME": "/nonexistent"})


@pytest.mark.parametrize("content", [GOOD.encode(), GOOD_ARCHIVE, STACK.encode()], ids=["config", "archive", "stack"])
def test_stdin_is_read_once(content):
    result = _convcalc("shape", "--file", "/dev/stdin", "--format", "json", stdin=content)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["layers"]


def test_process_substitution_is_read_once(tmp_path):
    read_end, write_end = os.pipe()
    os.write(write_end, GOOD.encode())
    os.close(write_end)
    try:
        result = _convcalc("shape", "--file", f"/dev/fd/{read_end}", "--format", "json", pass_fds=(read_end,))
    finally:
        os.close(read_end)
    assert result.returncode == 0, result.stderr


def test_data_format_source_does_not_show_the_home_directory(tmp_path, monkeypatch, isolated_keras_home):
    (isolated_keras_home / "keras.json").write_text('{"image_data_format": "channels_first"}')
    out = json.loads(run("shape", "--input", "3x8x8", "Conv2D(4, 3)", "--format", "json").stdout)
    assert out["data_format_source"] == "$KERAS_HOME/keras.json"
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".keras").mkdir()
    (tmp_path / ".keras" / "keras.json").write_text('{"image_data_format": "channels_first"}')
    result = run("shape", "--input", "3x8x8", "Conv2D(4, 3)", "--format", "json")
    assert json.loads(result.stdout)["data_format_source"] == "~/.keras/keras.json"
    assert str(tmp_path) not in result.stdout
