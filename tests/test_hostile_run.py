"""Hostile input to ``--run`` (issue 9): --save, --sample, --weights, --batch, --seed,
--max-memory and initializer arguments, tried as an attacker would.

Every refusal is exit 2 with one ``Error:`` sentence on stderr, no traceback, in bounded time
(FIFOs and devices are refused before they are opened, so nothing blocks), and leaves every file
it was not asked to write unchanged.  Archives and ``.npy`` files are built byte by byte here,
so that their headers and zip directories can lie.
"""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import struct
import time
import zipfile
import zlib

import numpy as np
import pytest

from conftest import run

STACK = ["shape", "Conv2D(4, 3)"]
INPUT = ["--input", "8x8x3"]
KERNEL = (3, 3, 3, 4)
SECONDS = 5  # every case answers well within this


@pytest.fixture(autouse=True)
def no_hang():
    """A case that blocks (a FIFO opened for reading, /dev/zero read whole) fails instead of hanging."""

    def timeout(signum, frame):
        raise TimeoutError("convcalc blocked")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def refused(*args, words=()):
    """Run the CLI; it must refuse with exit 2, one Error: sentence, quickly."""
    began = time.perf_counter()
    result = run(*args)
    elapsed = time.perf_counter() - began
    assert result.exit_code == 2, (result.exit_code, result.stdout[-500:], result.stderr[-500:], result.exception)
    assert result.stderr.startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.count("\n") <= 2, result.stderr
    assert elapsed < SECONDS
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    return result


def accepted(*args):
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, (result.stderr, result.exception)
    return json.loads(result.stdout)


@pytest.fixture
def out(tmp_path):
    """An empty directory to save into (tmp_path also holds conftest's keras_home)."""
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


def snapshot(directory):
    """Every entry under ``directory``: its kind and, for regular files, its bytes."""
    state = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = os.path.join(root, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                state[path] = ("link", os.readlink(path))
            elif stat.S_ISREG(mode):
                with open(path, "rb") as handle:
                    state[path] = ("file", handle.read())
            else:
                state[path] = ("other", stat.S_IFMT(mode))
    return state


# ---- .npy and .npz built byte by byte ---------------------------------------------------------------


def npy_bytes(descr="<f4", shape=KERNEL, data=None, fortran=False, version=1, header=None, length=None):
    """A .npy file; ``header`` (text) and ``length`` (the declared header length) may lie."""
    if header is None:
        header = repr({"descr": descr, "fortran_order": fortran, "shape": shape})
    text = header.encode("latin1")
    size_format = "<H" if version == 1 else "<I"
    prefix = 8 + struct.calcsize(size_format)
    text += b" " * ((-(prefix + len(text) + 1)) % 64) + b"\n"
    declared = len(text) if length is None else length
    if data is None:
        data = np.zeros(shape, np.dtype(descr)).tobytes() if isinstance(descr, str) and all(
            isinstance(n, int) and 0 <= n < 10**4 for n in shape) else b""
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack(size_format, declared) + text + data


def write_npz(path, members, compression=zipfile.ZIP_STORED):
    """``members``: name -> bytes (a .npy file) or ndarray."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in members.items():
            if isinstance(content, np.ndarray):
                buffer = io.BytesIO()
                np.save(buffer, content)
                content = buffer.getvalue()
            archive.writestr(name, content)
    return path


def patch_zip(path, **fields):
    """Rewrite fields of every central-directory and local header: flags, method, crc, csize, usize."""
    data = bytearray(path.read_bytes())
    central = {"flags": (8, "<H"), "method": (10, "<H"), "crc": (16, "<I"), "csize": (20, "<I"), "usize": (24, "<I")}
    local = {"flags": (6, "<H"), "method": (8, "<H"), "crc": (14, "<I"), "csize": (18, "<I"), "usize": (22, "<I")}
    for signature, offsets in ((b"PK\x01\x02", central), (b"PK\x03\x04", local)):
        start = 0
        while (at := data.find(signature, start)) >= 0:
            for field, value in fields.items():
                offset, fmt = offsets[field]
                struct.pack_into(fmt, data, at + offset, value)
            start = at + 4
    path.write_bytes(bytes(data))
    return path


def good_kernel():
    return np.arange(np.prod(KERNEL), dtype=np.float32).reshape(KERNEL) / 100


# ---- family 1: --save never damages anything --------------------------------------------------------

TEMPORARY_NAMES = [".y.npy.partial", ".y.npy.tmp", "y.npy.partial", "y.npy.tmp", ".y.npy", "y.npy~", ".#y.npy"]


@pytest.mark.parametrize("planted", TEMPORARY_NAMES)
def test_a_symlink_planted_at_a_temporary_name_is_never_written_through(planted, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / planted).symlink_to(victim)
    accepted(*STACK, *INPUT, "--save", tmp_path / "y.npy")
    assert victim.read_text() == "precious"
    assert (tmp_path / planted).is_symlink() and os.readlink(tmp_path / planted) == str(victim)
    assert np.load(tmp_path / "y.npy").shape == (1, 6, 6, 4)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".partial") and p != planted]


@pytest.mark.parametrize("planted", [".y.npy.partial", "y.npy.partial"])
def test_a_directory_at_the_old_temporary_name_is_no_obstacle(planted, tmp_path):
    (tmp_path / planted).mkdir()
    accepted(*STACK, *INPUT, "--save", tmp_path / "y.npy")
    assert (tmp_path / planted).is_dir() and np.load(tmp_path / "y.npy").shape == (1, 6, 6, 4)


def make_target(kind, tmp_path):
    """A --save target that is not a regular file; returns its path."""
    target = tmp_path / "y.npy"
    if kind == "directory":
        target.mkdir()
        (target / "inside").write_text("keep")
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "link-to-directory":
        (tmp_path / "d").mkdir()
        target.symlink_to(tmp_path / "d")
    elif kind == "link-to-fifo":
        os.mkfifo(tmp_path / "p")
        target.symlink_to(tmp_path / "p")
    elif kind == "link-to-devnull":
        target.symlink_to("/dev/null")
    elif kind == "dangling-link":
        target.symlink_to(tmp_path / "nowhere" / "x.npy")
    elif kind == "link-to-file":
        (tmp_path / "victim").write_bytes(b"precious")
        target.symlink_to(tmp_path / "victim")
    elif kind == "link-loop":
        target.symlink_to(target)
    elif kind == "socket":
        import socket

        server = socket.socket(socket.AF_UNIX)
        try:
            server.bind(str(target))
        except OSError:  # a path too long for a socket address
            pytest.skip("cannot bind a unix socket here")
        server.close()
    return target


NOT_REGULAR = ["directory", "fifo", "link-to-directory", "link-to-fifo", "link-to-devnull", "dangling-link",
               "link-loop", "socket", "link-to-file"]


@pytest.mark.parametrize("kind", NOT_REGULAR)
def test_a_target_that_is_not_a_regular_file_is_refused_and_left_alone(kind, tmp_path):
    target = make_target(kind, tmp_path)
    before = snapshot(tmp_path)
    refused(*STACK, *INPUT, "--save", target, words=["--save", "cannot write"])
    assert snapshot(tmp_path) == before


def make_device(tmp_path, major, minor):
    """A character device node inside tmp_path (never a real /dev entry: a regression must not damage them)."""
    node = tmp_path / f"dev{major}_{minor}"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(major, minor))
    except (PermissionError, OSError):
        pytest.skip("cannot create device nodes here")
    return node


@pytest.mark.parametrize("numbers", [(1, 3), (1, 5), (1, 7), (1, 9)], ids=["null", "zero", "full", "urandom"])
@pytest.mark.parametrize("through_link", [False, True])
def test_device_nodes_are_never_replaced(numbers, through_link, tmp_path):
    node = make_device(tmp_path, *numbers)
    target = node
    if through_link:
        target = tmp_path / "y.npy"
        target.symlink_to(node)
    before = snapshot(tmp_path)
    refused(*STACK, *INPUT, "--save", target, words=["--save", "cannot write"])
    assert snapshot(tmp_path) == before and stat.S_ISCHR(os.lstat(node).st_mode)


@pytest.mark.parametrize(
    "name", ["", ".", "..", "/", "//", "./", "../.."],
)
def test_names_of_no_file_are_refused(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    refused(*STACK, *INPUT, "--save", name, words=["--save"])
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("length", [256, 300, 1000, 5000])
def test_names_too_long_are_a_clear_error(length, tmp_path):
    before = snapshot(tmp_path)
    refused(*STACK, *INPUT, "--save", tmp_path / ("a" * length), words=["--save"])
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("length", [200, 250, 255])
def test_a_long_name_that_fits_is_written(length, out):
    name = "b" * (length - 4) + ".npy"
    accepted(*STACK, *INPUT, "--save", out / name)
    assert os.listdir(out) == [name]


@pytest.mark.parametrize(
    "where",
    ["missing/y.npy", "missing/deeper/y.npy", "file.txt/y.npy", "link-to-file/y.npy", ("c" * 300) + "/y.npy",
     "dangling/y.npy"],
)
def test_directories_that_do_not_exist_or_are_not_directories(where, tmp_path):
    (tmp_path / "file.txt").write_text("keep")
    (tmp_path / "link-to-file").symlink_to(tmp_path / "file.txt")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    before = snapshot(tmp_path)
    refused(*STACK, *INPUT, "--save", tmp_path / where, words=["--save", "cannot write"])
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_directory_is_a_clear_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        refused(*STACK, *INPUT, "--save", locked / "y.npy", words=["--save", "cannot write"])
        assert os.listdir(locked) == []
    finally:
        locked.chmod(0o700)


def test_an_existing_regular_file_is_replaced_whole_keeping_its_permissions(out):
    target = out / "y.npy"
    target.write_bytes(b"old contents")
    target.chmod(0o640)
    accepted(*STACK, *INPUT, "--save", target)
    assert np.load(target).shape == (1, 6, 6, 4)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert os.listdir(out) == ["y.npy"]


def test_a_symlink_to_a_regular_file_is_neither_replaced_nor_written_through(tmp_path):
    victim = tmp_path / "victim.npy"
    victim.write_bytes(b"precious")
    (tmp_path / "y.npy").symlink_to(victim)
    before = snapshot(tmp_path)
    refused(*STACK, *INPUT, "--save", tmp_path / "y.npy", words=["symbolic link"])
    assert snapshot(tmp_path) == before


REFUSED_RUNS = {
    "memory": ["--max-memory", "1KiB"],
    "seed": ["--seed", "-1"],
    "weights": ["--weights", "nope.npz"],
    "sample": ["--sample", "nope.npy"],
    "batch": ["--batch", str(2**40)],
    "layer": ["UpSampling2D(interpolation='gaussian')"],
}


@pytest.mark.parametrize("why", sorted(REFUSED_RUNS))
@pytest.mark.parametrize("existing", [True, False])
def test_a_refused_run_changes_no_file(why, existing, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "y.npy"
    if existing:
        target.write_bytes(b"old contents")
    before = snapshot(tmp_path)
    refused(*STACK, *INPUT, *REFUSED_RUNS[why], "--save", target)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), OSError(5, "Input/output error"),
                                     ValueError("boom")])
@pytest.mark.parametrize("existing", [True, False])
def test_a_failing_write_removes_its_temporary_file_and_keeps_the_target(failure, existing, tmp_path, monkeypatch):
    from convcalc import errors, run as running

    target = tmp_path / "y.npy"
    if existing:
        target.write_bytes(b"old contents")
    before = snapshot(tmp_path)

    def failing_save(handle, array, allow_pickle=False):
        handle.write(b"half an array")
        raise failure

    monkeypatch.setattr(running.np, "save", failing_save)
    with pytest.raises(errors.ConvcalcError, match="--save .*cannot write"):
        running.save_array(target, np.zeros(3))
    assert snapshot(tmp_path) == before


def test_an_interrupted_write_removes_its_temporary_file(out, monkeypatch):
    from convcalc import run as running

    def interrupted(handle, array, allow_pickle=False):
        raise KeyboardInterrupt

    monkeypatch.setattr(running.np, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        running.save_array(out / "y.npy", np.zeros(3))
    assert os.listdir(out) == []


def test_a_target_swapped_for_a_fifo_during_the_run_is_left_alone(out, monkeypatch):
    from convcalc import errors, run as running

    target = out / "y.npy"
    real_save = np.save

    def swap_then_save(handle, array, allow_pickle=False):
        os.mkfifo(target)
        real_save(handle, array, allow_pickle=allow_pickle)

    monkeypatch.setattr(running.np, "save", swap_then_save)
    with pytest.raises(errors.ConvcalcError, match="FIFO"):
        running.save_array(target, np.zeros(3))
    assert stat.S_ISFIFO(os.lstat(target).st_mode) and os.listdir(out) == ["y.npy"]


def test_the_temporary_file_is_created_exclusively_without_following_links(tmp_path, monkeypatch):
    from convcalc import run as running

    opened = []
    real_open = os.open

    def spy(path, flags, mode=0o777, **kw):
        opened.append((str(path), flags))
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(running.os, "open", spy)
    running.save_array(tmp_path / "y.npy", np.zeros(3))
    (path, flags), = [entry for entry in opened if entry[0].endswith(".partial")]
    assert flags & os.O_CREAT and flags & os.O_EXCL and flags & os.O_NOFOLLOW
    assert os.path.dirname(path) == str(tmp_path)


# ---- family 2 and 8: --sample, checked from its header ----------------------------------------------


def sample_file(tmp_path, content, name="x.npy"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


SAMPLES = {
    # name: (bytes of the file, words of the error)
    "empty": (b"", ["empty"]),
    "text": (b"hello, not numpy\n", ["magic"]),
    "one byte": (b"\x93", ["magic"]),
    "magic only": (b"\x93NUMPY", ["magic"]),
    "version 9": (b"\x93NUMPY\x09\x00" + b"\x10\x00" + b" " * 16, ["version"]),
    "no header length": (b"\x93NUMPY\x01\x00", ["header"]),
    "header cut": (npy_bytes(shape=(1, 8, 8, 3))[:30], ["header"]),
    "header 4 GB long": (npy_bytes(shape=(1, 8, 8, 3), version=2, length=2**32 - 1), ["header", "limit"]),
    "header 60 KB long": (npy_bytes(shape=(1, 8, 8, 3), version=1, length=60000), ["limit"]),
    "header not literal": (npy_bytes(header="{'descr': __import__('os'), 'fortran_order': False, 'shape': (1,)}"),
                           ["literal"]),
    "header a list": (npy_bytes(header="[1, 2, 3]"), ["keys"]),
    "header extra key": (npy_bytes(header="{'descr': '<f4', 'fortran_order': False, 'shape': (1, 8, 8, 3), 'x': 1}"),
                         ["keys"]),
    "header nested deep": (npy_bytes(header="[" * 3000 + "]" * 3000), ["header"]),
    "header huge int": (npy_bytes(header="{'descr': '<f4', 'fortran_order': False, 'shape': (" + "9" * 5000 + ",)}"),
                        ["header"]),
    "negative dimension": (npy_bytes(shape=(1, -8, 8, 3), data=b""), ["negative"]),
    "all negative": (npy_bytes(shape=(-1, -1, -1, -1), data=b""), ["negative"]),
    "float dimension": (npy_bytes(header="{'descr': '<f4', 'fortran_order': False, 'shape': (1, 8.0, 8, 3)}"),
                        ["shape"]),
    "bool dimension": (npy_bytes(header="{'descr': '<f4', 'fortran_order': False, 'shape': (True, 8, 8, 3)}"),
                       ["shape"]),
    "shape a list": (npy_bytes(header="{'descr': '<f4', 'fortran_order': False, 'shape': [1, 8, 8, 3]}"), ["shape"]),
    "fortran a string": (npy_bytes(header="{'descr': '<f4', 'fortran_order': 'no', 'shape': (1, 8, 8, 3)}"),
                         ["fortran_order"]),
    "bad descr": (npy_bytes(descr="<q9", shape=(1, 8, 8, 3), data=b""), ["descr"]),
    "descr a number": (npy_bytes(header="{'descr': 7, 'fortran_order': False, 'shape': (1, 8, 8, 3)}"), ["descr"]),
    "claims 4 TB": (npy_bytes(shape=(1000, 1000, 1000, 1000), data=b"\0" * 64), ["truncated", "TiB"]),
    "claims 10**30 values": (npy_bytes(shape=(10**30, 8, 8, 3), data=b"\0" * 64), ["truncated"]),
    "data cut short": (npy_bytes(shape=(1, 8, 8, 3), data=b"\0" * 100), ["truncated"]),
    "no data": (npy_bytes(shape=(1, 8, 8, 3), data=b""), ["truncated"]),
    "batch 0": (npy_bytes(shape=(0, 8, 8, 3)), ["no values"]),
    "height 0": (npy_bytes(shape=(1, 0, 8, 3)), ["no values"]),
    "scalar": (npy_bytes(shape=()), ["single number"]),
    "complex64": (npy_bytes(descr="<c8", shape=(1, 8, 8, 3)), ["complex"]),
    "complex128": (npy_bytes(descr="<c16", shape=(1, 8, 8, 3)), ["complex"]),
    "unicode": (npy_bytes(descr="<U3", shape=(1, 8, 8, 3)), ["string"]),
    "bytes": (npy_bytes(descr="|S3", shape=(1, 8, 8, 3)), ["string"]),
    "object": (npy_bytes(descr="|O", shape=(1, 8, 8, 3), data=b"\0" * 1536), ["object"]),
    "structured": (npy_bytes(descr=[("a", "<f4"), ("b", "<f4")], shape=(1, 8, 8, 3), data=b"\0" * 1536),
                   ["structured"]),
    "subarray": (npy_bytes(header="{'descr': [('a', '<f4', (2,))], 'fortran_order': False, 'shape': (1, 8, 8, 3)}",
                           data=b"\0" * 1536), ["dtype"]),
    "datetime": (npy_bytes(descr="<M8[s]", shape=(1, 8, 8, 3)), ["dtype"]),
    "timedelta": (npy_bytes(descr="<m8[s]", shape=(1, 8, 8, 3)), ["dtype"]),
    "void": (npy_bytes(descr="|V4", shape=(1, 8, 8, 3)), ["dtype"]),
    "wrong shape": (npy_bytes(shape=(1, 9, 9, 3)), ["(batch, 8, 8, 3)"]),
    "wrong rank": (npy_bytes(shape=(8, 8, 3)), ["(batch, 8, 8, 3)"]),
    "rank 9": (npy_bytes(shape=(1,) * 9), ["(batch, 8, 8, 3)"]),
}


@pytest.mark.parametrize("case", sorted(SAMPLES))
def test_hostile_samples_are_refused_from_the_header(case, tmp_path):
    content, words = SAMPLES[case]
    path = sample_file(tmp_path, content)
    refused(*STACK, *INPUT, "--sample", path, "--format", "json", words=["--sample", *words])


@pytest.mark.parametrize("case", ["negative dimension", "claims 4 TB", "batch 0", "complex64", "object", "empty"])
def test_hostile_samples_are_refused_without_input_too(case, tmp_path):
    content, _ = SAMPLES[case]
    refused(*STACK, "--sample", sample_file(tmp_path, content), words=["--sample"])


def test_an_npz_given_as_sample(tmp_path):
    path = write_npz(tmp_path / "x.npz", {"x.npy": np.zeros((1, 8, 8, 3), np.float32)})
    refused(*STACK, "--sample", path, words=["zip", ".npy"])


@pytest.mark.parametrize("kind", ["fifo", "directory", "link-to-fifo", "link-to-directory", "dangling-link",
                                  "link-loop"])
def test_samples_that_are_not_regular_files_never_block(kind, tmp_path):
    target = make_target(kind, tmp_path)
    refused(*STACK, *INPUT, "--sample", target, words=["--sample"])


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/stdin", "/dev/urandom", "/proc/self/mem", "/"])
def test_devices_as_samples_are_refused(device):
    if not os.path.exists(device):
        pytest.skip(f"{device} does not exist here")
    refused(*STACK, *INPUT, "--sample", device, words=["--sample"])


@pytest.mark.parametrize(
    "array",
    [np.ones((1, 8, 8, 3), np.float16), np.ones((1, 8, 8, 3), ">f4"), np.ones((1, 8, 8, 3), np.int8),
     np.ones((1, 8, 8, 3), np.uint64), np.ones((1, 8, 8, 3), bool), np.ones((1, 8, 8, 3), np.longdouble),
     np.asfortranarray(np.arange(192, dtype=np.float32).reshape(1, 8, 8, 3))],
    ids=["float16", "big-endian", "int8", "uint64", "bool", "longdouble", "fortran"],
)
def test_plain_numeric_samples_still_run_and_equal_np_load(array, tmp_path):
    np.save(tmp_path / "x.npy", array)
    kernel = good_kernel()
    np.savez(tmp_path / "w.npz", **{"conv2d/kernel": kernel})
    out = accepted(*STACK, "--sample", tmp_path / "x.npy", "--weights", tmp_path / "w.npz", "--save", tmp_path / "y.npy")
    assert out["layers"][0]["measured_shape"] == [1, 6, 6, 4]
    x = np.load(tmp_path / "x.npy").astype(np.float64)
    expected = np.einsum("hwc,hwcf->f", x[0, :3, :3, :], kernel.astype(np.float64))
    np.testing.assert_allclose(np.load(tmp_path / "y.npy")[0, 0, 0], expected, rtol=1e-3)


# ---- family 6: the batch a run reports is the batch it runs --------------------------------------------


@pytest.mark.parametrize("sample_batch, flag", [(2, 5), (2, 1), (1, 2), (3, 30), (5, 4)])
def test_a_sample_and_a_different_batch_are_refused(sample_batch, flag, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((sample_batch, 8, 8, 3), np.float32))
    refused(*STACK, "--sample", tmp_path / "x.npy", "--batch", flag, "--format", "json",
            words=[f"--batch {flag}", f"batch of {sample_batch}"])


@pytest.mark.parametrize("extra", [[], ["--batch", "2"], ["--input", "8x8x3"], ["--input", "8x8x3", "--batch", "2"]])
def test_the_sample_batch_is_reported_everywhere(extra, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 8, 8, 3), np.float32))
    out = accepted(*STACK, "--sample", tmp_path / "x.npy", *extra)
    assert out["input_shape"][0] == 2 and out["output_shape"][0] == 2
    assert out["layers"][0]["measured_shape"][0] == 2 and out["run"]["batch"] == 2


def model_config(tmp_path, batch):
    """A Sequential model's to_json() with an InputLayer of ``batch_shape`` (batch, 8, 8, 3)."""
    layers = [
        {"module": "keras.layers", "class_name": "InputLayer",
         "config": {"batch_shape": [batch, 8, 8, 3], "dtype": "float32", "sparse": False, "name": "input_layer"}},
        {"module": "keras.layers", "class_name": "Conv2D",
         "config": {"name": "conv2d", "filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
                    "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "linear",
                    "use_bias": True}},
    ]
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    path = tmp_path / "model.json"
    path.write_text(json.dumps(config))
    return path


@pytest.mark.parametrize("model_batch, sample_batch", [(3, 3), (None, 2), (None, 1), (1, 1)])
def test_a_model_config_runs_a_sample_of_its_batch(model_batch, sample_batch, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((sample_batch, 8, 8, 3), np.float32))
    out = accepted("shape", "--file", model_config(tmp_path, model_batch), "--sample", tmp_path / "x.npy")
    assert out["input_shape"][0] in (model_batch, sample_batch)
    assert out["run"]["batch"] == sample_batch and out["layers"][-1]["measured_shape"][0] == sample_batch


@pytest.mark.parametrize("model_batch, sample_batch", [(3, 2), (1, 4), (2, 1)])
def test_a_model_config_with_a_fixed_batch_refuses_another_sample_batch(model_batch, sample_batch, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((sample_batch, 8, 8, 3), np.float32))
    refused("shape", "--file", model_config(tmp_path, model_batch), "--sample", tmp_path / "x.npy",
            words=[f"batch of {sample_batch}", f"fixed batch of {model_batch}"])


@pytest.mark.parametrize("flag", [[], ["--batch", "2"]])
def test_a_stack_file_runs_and_reports_the_sample_batch(flag, tmp_path):
    (tmp_path / "s.toml").write_text('input = "8x8x3"\n[[layers]]\nspec = "Conv2D(4, 3)"\n')
    np.save(tmp_path / "x.npy", np.zeros((2, 8, 8, 3), np.float32))
    out = accepted("shape", "--file", tmp_path / "s.toml", "--sample", tmp_path / "x.npy", *flag)
    assert out["input_shape"][0] == out["output_shape"][0] == out["run"]["batch"] == 2


@pytest.mark.parametrize("batch", ["0", "-1", "-5", str(-2**70)])
def test_zero_and_negative_batches_are_refused_by_the_cli(batch):
    result = run(*STACK, *INPUT, "--batch", batch, "--run")
    assert result.exit_code == 2 and "Traceback" not in result.stderr


@pytest.mark.parametrize("batch", [0, -1, True, False, 2.0, "2", 2**63, 10**310])
def test_bad_batches_are_refused_by_the_request(batch):
    from convcalc.errors import ConvcalcError
    from convcalc.request import ShapeRequest, compute_request

    with pytest.raises(ConvcalcError, match="--batch"):
        compute_request(ShapeRequest(layers=("Conv2D(4, 3)",), input=("8x8x3",), batch=batch, run=True))


# ---- families 2, 6 and 8: --weights, checked from the archive's directory and headers --------------


def weights_case(name, tmp_path):
    """Build the hostile --weights file ``name``; returns (path, words of the error)."""
    path = tmp_path / "w.npz"
    kernel_npy = npy_bytes(shape=KERNEL)
    if name == "npy instead of npz":
        np.save(tmp_path / "w.npy", good_kernel())
        return tmp_path / "w.npy", ["one .npy array", ".npz"]
    if name == "empty file":
        path.write_bytes(b"")
        return path, ["not a .npz archive"]
    if name == "text file":
        path.write_text("conv2d/kernel = 1\n")
        return path, ["not a .npz archive"]
    if name == "truncated zip":
        write_npz(path, {"conv2d/kernel.npy": good_kernel()})
        path.write_bytes(path.read_bytes()[:200])
        return path, ["--weights"]
    if name == "zip magic then junk":
        path.write_bytes(b"PK\x03\x04" + b"\xff" * 100)
        return path, ["--weights"]
    if name == "unknown name":
        return write_npz(path, {"dense/kernel.npy": np.zeros((3, 3))}), ["'dense/kernel'", "conv2d/kernel"]
    if name == "name without .npy":
        return write_npz(path, {"conv2d/kernel": kernel_npy}), [".npy"]
    if name == "duplicate name":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            write_npz(path, {"conv2d/kernel.npy": kernel_npy})
            with zipfile.ZipFile(path, "a") as archive:
                archive.writestr("conv2d/kernel.npy", kernel_npy)
        return path, ["twice"]
    if name == "10000 members":
        with zipfile.ZipFile(path, "w") as archive:
            for i in range(10000):
                archive.writestr(f"m{i}.npy", b"")
        return path, ["10000 arrays", "2 weights"]
    if name == "3 members for 2 weights":
        return write_npz(path, {"conv2d/kernel.npy": kernel_npy, "conv2d/bias.npy": npy_bytes(shape=(4,)),
                                "x.npy": b""}), ["3 arrays"]
    if name == "encrypted":
        return patch_zip(write_npz(path, {"conv2d/kernel.npy": kernel_npy}), flags=1), ["encrypted"]
    if name == "unknown compression":
        return patch_zip(write_npz(path, {"conv2d/kernel.npy": kernel_npy}), method=99), ["compression method 99"]
    if name == "corrupt deflate":
        write_npz(path, {"conv2d/kernel.npy": kernel_npy}, zipfile.ZIP_DEFLATED)
        data = bytearray(path.read_bytes())
        start = data.find(b"conv2d/kernel.npy") + len("conv2d/kernel.npy")
        data[start:start + 40] = b"\xff" * 40
        path.write_bytes(bytes(data))
        return path, ["--weights"]
    if name == "bad crc":
        return patch_zip(write_npz(path, {"conv2d/kernel.npy": kernel_npy}), crc=12345), ["--weights"]
    if name == "claims 4 GB uncompressed":
        return patch_zip(write_npz(path, {"conv2d/kernel.npy": kernel_npy}), usize=2**32 - 1), ["uncompressed"]
    if name == "claims 4 GB compressed":
        return patch_zip(write_npz(path, {"conv2d/kernel.npy": kernel_npy}), csize=2**32 - 1), ["--weights"]
    if name == "claims fewer bytes than it holds":
        return patch_zip(write_npz(path, {"conv2d/kernel.npy": kernel_npy}, zipfile.ZIP_DEFLATED),
                         usize=200), ["--weights"]
    if name == "zip bomb":  # a right header, then 64 MiB of zeros that deflate to 64 KiB
        bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
        body = bomb.compress(kernel_npy) + b"".join(bomb.compress(bytes(2**20)) for _ in range(64)) + bomb.flush()
        info = zipfile.ZipInfo("conv2d/kernel.npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(info, kernel_npy)
        size = len(kernel_npy) + 64 * 2**20
        data = path.read_bytes()
        local_end = 30 + len("conv2d/kernel.npy")
        old_body_end = data.find(b"PK\x01\x02")
        rebuilt = bytearray(data[:local_end] + body + data[old_body_end:])
        crc = zlib.crc32(bytes(2**20) * 64, zlib.crc32(kernel_npy))
        path.write_bytes(bytes(rebuilt))
        patch_zip(path, csize=len(body), usize=size, crc=crc)
        data = bytearray(path.read_bytes())  # the end record's directory offset moved with the body
        central = data.find(b"PK\x01\x02")
        end = data.rfind(b"PK\x05\x06")
        struct.pack_into("<I", data, end + 16, central)
        path.write_bytes(bytes(data))
        return path, ["uncompressed", "more than"]
    if name.startswith("header "):
        headers = {
            "header 4 TB": npy_bytes(shape=(1000, 1000, 1000, 1000), data=b""),
            "header 10**40": npy_bytes(shape=(10**40,), data=b""),
            "header negative": npy_bytes(shape=(3, 3, -3, 4), data=b""),
            "header wrong shape": npy_bytes(shape=(3, 3, 3, 5)),
            "header transposed": npy_bytes(shape=(4, 3, 3, 3)),
            "header rank 0": npy_bytes(shape=()),
            "header 4 GB long": npy_bytes(shape=KERNEL, version=2, length=2**32 - 1),
            "header not literal": npy_bytes(header="{'descr': print, 'fortran_order': False, 'shape': (3, 3, 3, 4)}"),
            "header no magic": b"\x00" * 200,
            "header empty member": b"",
            "header data cut": npy_bytes(shape=KERNEL, data=b"\0" * 10),
        }
        return write_npz(path, {"conv2d/kernel.npy": headers[name]}), ["--weights"]
    if name.startswith("dtype "):
        descr = {"dtype complex64": "<c8", "dtype complex128": "<c16", "dtype unicode": "<U2", "dtype bytes": "|S2",
                 "dtype object": "|O", "dtype structured": [("a", "<f4")], "dtype datetime": "<M8[D]",
                 "dtype void": "|V4"}[name]
        data = b"\0" * (108 * 8)
        return write_npz(path, {"conv2d/kernel.npy": npy_bytes(descr=descr, shape=KERNEL, data=data)}), ["dtype"]
    if name == "complex via np.savez":
        np.savez(path, **{"conv2d/kernel": np.ones(KERNEL, np.complex64)})
        return path, ["complex"]
    if name == "string via np.savez":
        np.savez(path, **{"conv2d/bias": np.array(["a", "b", "c", "d"])})
        return path, ["string"]
    if name == "structured via np.savez":
        np.savez(path, **{"conv2d/bias": np.zeros(4, [("a", "<f4"), ("b", "<i4")])})
        return path, ["structured"]
    if name == "object via np.savez":
        np.savez(path, **{"conv2d/bias": np.array([1, "a", None, 2.0], dtype=object)}, allow_pickle=True)
        return path, ["object"]
    raise AssertionError(name)


WEIGHTS = [
    "npy instead of npz", "empty file", "text file", "truncated zip", "zip magic then junk", "unknown name",
    "name without .npy", "duplicate name", "10000 members", "3 members for 2 weights", "encrypted",
    "unknown compression", "corrupt deflate", "bad crc", "claims 4 GB uncompressed", "claims 4 GB compressed",
    "claims fewer bytes than it holds", "zip bomb", "header 4 TB", "header 10**40", "header negative",
    "header wrong shape", "header transposed", "header rank 0", "header 4 GB long", "header not literal",
    "header no magic", "header empty member", "header data cut", "dtype complex64", "dtype complex128",
    "dtype unicode", "dtype bytes", "dtype object", "dtype structured", "dtype datetime", "dtype void",
    "complex via np.savez", "string via np.savez", "structured via np.savez", "object via np.savez",
]


@pytest.mark.parametrize("case", WEIGHTS)
def test_hostile_weights_are_refused_before_decompressing(case, tmp_path):
    path, words = weights_case(case, tmp_path)
    refused(*STACK, *INPUT, "--weights", path, "--format", "json", words=["--weights", *words])


def test_a_zip_bomb_is_refused_without_inflating_it(tmp_path):
    import tracemalloc

    from convcalc.config import DataFormat
    from convcalc.errors import ConvcalcError
    from convcalc.run import load_weights
    from convcalc.stack import compute_stack

    path, _ = weights_case("zip bomb", tmp_path)
    result = compute_stack(["Conv2D(4, 3)"], DataFormat("channels_last", "test"), (8, 8, 3), 1)
    tracemalloc.start()
    try:
        with pytest.raises(ConvcalcError, match="uncompressed"):
            load_weights(path, result, np.dtype(np.float32))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20


@pytest.mark.parametrize("kind", ["fifo", "directory", "link-to-fifo", "dangling-link", "link-loop"])
def test_weights_that_are_not_regular_files_never_block(kind, tmp_path):
    refused(*STACK, *INPUT, "--weights", make_target(kind, tmp_path), words=["--weights"])


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom", "/dev/stdin"])
def test_devices_as_weights_are_refused(device):
    if not os.path.exists(device):
        pytest.skip(f"{device} does not exist here")
    refused(*STACK, *INPUT, "--weights", device, words=["--weights"])


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
@pytest.mark.parametrize("dtype", ["<f4", ">f8", "<f2", "<i2", "|u1", "|b1"])
def test_honest_weights_of_any_real_dtype_and_compression_are_read(compression, dtype, tmp_path):
    kernel = (np.arange(np.prod(KERNEL)) % 3).reshape(KERNEL).astype(dtype)
    bias = np.arange(4).astype(dtype)
    path = write_npz(tmp_path / "w.npz", {"conv2d/kernel.npy": np.asfortranarray(kernel), "conv2d/bias.npy": bias},
                     compression)
    out = accepted(*STACK, *INPUT, "--fill", "1", "--weights", path, "--save", tmp_path / "y.npy")
    assert out["layers"][0]["measured_shape"] == [1, 6, 6, 4]
    expected = kernel.astype(np.float64).sum(axis=(0, 1, 2)) + bias.astype(np.float64)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy")[0, 0, 0], expected, rtol=1e-3)


# ---- family 8: seeds and initializer arguments -------------------------------------------------------


@pytest.mark.parametrize("seed", ["-1", "-2", str(-2**63), str(2**32), str(2**64), str(2**200), "9" * 400])
def test_seeds_outside_what_keras_takes_are_refused(seed):
    result = refused(*STACK, *INPUT, "--run", "--seed", seed, "--format", "json")
    if len(seed) < 100:
        assert "--seed" in result.stderr


@pytest.mark.parametrize("seed", ["0", "1", str(2**31), str(2**32 - 1)])
def test_seeds_keras_takes_run(seed):
    assert accepted(*STACK, *INPUT, "--run", "--seed", seed)["run"]["all_shapes_agree"]


# Keras 3.15 accepts these at construction and draws from them: so does convcalc
KERAS_ACCEPTS = [
    "RandomNormal(seed=-1)", "RandomNormal(seed=-2147483648)", "RandomNormal(seed=9223372036854775807)",
    "RandomNormal(seed=-9223372036854775808)", "RandomNormal(stddev=-1)", "RandomNormal(stddev=0)",
    "RandomNormal(mean=-3, stddev=-0.5, seed=-7)", "TruncatedNormal(stddev=-1)", "TruncatedNormal(seed=-1)",
    "RandomUniform(minval=1, maxval=0)", "RandomUniform(minval=1, maxval=1)", "RandomUniform(-1, -2, -3)",
    "GlorotUniform(seed=-5)", "HeNormal(seed=-1)", "LecunUniform(-1)", "Orthogonal(gain=-1, seed=-1)",
    "VarianceScaling(distribution='normal')", "VarianceScaling(distribution='UNIFORM')",
    "VarianceScaling(scale=1e-30, seed=-1)", "Constant(-1e30)",
]


@pytest.mark.parametrize("initializer", KERAS_ACCEPTS)
def test_initializer_arguments_keras_accepts_run(initializer):
    spec = f"Conv2D(4, 3, kernel_initializer={initializer}, bias_initializer={initializer})"
    result = run("shape", spec, *INPUT, "--run", "--format", "json")
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert result.stderr == ""


@pytest.mark.parametrize("initializer, words", [
    ("RandomNormal(stddev=-1, seed=3)", (-1.0, 0.0)),
    ("RandomUniform(minval=1, maxval=0, seed=3)", (0.0, 1.0)),
])
def test_reversed_ranges_draw_as_keras_does(initializer, words):
    from convcalc import initializers
    from convcalc.parse import parse_call

    values = initializers.initialize(parse_call(f"keras.initializers.{initializer}"), (1000,), 0)
    low, high = words
    if "Uniform" in initializer:
        assert low <= values.min() and values.max() <= high
    else:
        assert abs(values.mean()) < 0.2 and 0.8 < values.std() < 1.2


# Keras refuses these when the initializer is constructed (or the layer built): so does convcalc, before any run
KERAS_REFUSES = [
    ("VarianceScaling(scale=-1.0)", "scale must be a positive float"),
    ("VarianceScaling(scale=0)", "scale must be a positive float"),
    ("VarianceScaling(-5, 'fan_in')", "scale must be a positive float"),
    ("VarianceScaling(mode='fan_everything')", "mode must be fan_in, fan_out or fan_avg"),
    ("VarianceScaling(mode='FAN_IN')", "mode must be fan_in, fan_out or fan_avg"),
    ("VarianceScaling(mode=None)", "mode"),
    ("VarianceScaling(distribution='gaussian')", "distribution must be"),
    ("VarianceScaling(distribution=3)", "distribution"),
    ("VarianceScaling(distribution=None)", "distribution"),
    ("RandomNormal(seed=1.5)", "seed"),
    ("RandomNormal(seed=True)", "seed"),
    ("RandomNormal(seed='a')", "seed"),
    ("RandomNormal(seed=2**63)", "seed"),
    ("RandomNormal(seed=-2**63-1)", "seed"),
    ("RandomNormal(stddev='x')", "stddev"),
    ("RandomUniform(minval=None)", "minval"),
    ("Constant(value=True)", "value"),
    ("Orthogonal(gain=[1])", "gain"),
    ("GlorotUniform(seed=1e3)", "seed"),
]


@pytest.mark.parametrize("initializer, words", KERAS_REFUSES)
@pytest.mark.parametrize("runs", [False, True])
def test_initializer_arguments_keras_refuses_are_refused_before_any_run(initializer, words, runs):
    spec = f"Conv2D(4, 3, kernel_initializer={initializer})"
    result = refused("shape", spec, *INPUT, *(["--run"] if runs else []), "--format", "json")
    assert result.stdout == ""
    if "2**" not in initializer:
        assert words in result.stderr, result.stderr


@pytest.mark.parametrize("text", [
    "VarianceScaling(scale=-1.0)", "VarianceScaling(distribution='x')", "RandomNormal(seed=1.5)",
])
def test_resolve_refuses_with_keras_reason(text):
    from convcalc import initializers
    from convcalc.errors import ConvcalcError
    from convcalc.parse import parse_call

    with pytest.raises(ConvcalcError):
        initializers.resolve(parse_call(f"keras.initializers.{text}"))


# ---- family 7 for run options: big numbers where they enter -------------------------------------------


@pytest.mark.parametrize("size", ["9" * 400, "9" * 400 + "TiB", "1" + "0" * 30 + "TiB", "9" * 20, "99999999999TiB",
                                  "1" * 5000, "0." + "0" * 400 + "1TiB"])
def test_max_memory_out_of_range_is_refused_or_refuses_nothing_wrongly(size):
    result = run(*STACK, *INPUT, "--run", "--max-memory", size, "--format", "json")
    assert "Traceback" not in result.stderr and result.exit_code in (0, 2), (result.stderr, result.exception)
    if result.exit_code == 2:
        assert result.stderr.startswith("Error: ") and "--max-memory" in result.stderr and len(result.stderr) < 400


@pytest.mark.parametrize("batch", [str(10**310), str(2**63), str(2**62), str(2**40), "9" * 1000])
@pytest.mark.parametrize("limit", [[], ["--max-memory", "8000000000000000000"]])
def test_huge_batches_are_refused_before_allocating(batch, limit):
    refused(*STACK, *INPUT, "--batch", batch, "--run", *limit, "--format", "json")


@pytest.mark.parametrize("shape", ["100000x100000x3", "4000000000x4000000000x3", f"{10**18}x{10**18}x3"])
@pytest.mark.parametrize("limit", [[], ["--max-memory", "8000000000000000000"]])
def test_huge_inputs_are_refused_before_allocating(shape, limit):
    refused(*STACK, "--input", shape, "--run", *limit, "--format", "json")


def test_the_size_in_a_refusal_never_overflows():
    from convcalc.run import _size

    for count in (0, 1023, 2**40, 2**100, 10**400, 10**5000):
        text = _size(count)
        assert text and len(text) < 40

