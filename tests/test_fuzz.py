"""Property-based fuzzing of the command line (Hypothesis): damaged model files and argument
strings never give a traceback, only exit code 0 or 2 with one-line errors, and never change
the input file."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from app_fixtures import SMALL_MODEL
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from synens.tui.cli import main

GOOD = SMALL_MODEL.read_bytes()
with zipfile.ZipFile(io.BytesIO(GOOD)) as _zf:
    MEMBERS = {name: _zf.read(name) for name in _zf.namelist()}
NAMES = sorted(MEMBERS)
SETTINGS = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def fake_header(shape: tuple[int, ...], descr: str) -> bytes:
    """An .npy header claiming ``shape`` followed by almost no data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + b"\0" * 16


SPECIAL = [
    npy(np.array([1, "a", None], dtype=object)),
    npy(np.full(67, np.nan)), npy(np.full(67, np.inf)), npy(np.full(67, 1e308)),
    npy(np.array("synens-model/1")), npy(np.array("synens-model/9")), npy(np.array(b"x")),
    npy(np.zeros((2, 2), np.int32)), npy(np.array(7)), npy(np.array("{not json")),
    fake_header((16384, 16384, 3), "|u1"), fake_header((10**9,), "<f8"),
    fake_header((3, 5), "<U9"), b"", b"\x93NUMPY\x01\x00",
]

small_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.int32, np.int64, np.uint8, np.bool_]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=6),
).map(npy)

member_data = st.one_of(st.sampled_from(SPECIAL), small_arrays, st.binary(max_size=64))

KINDS = {
    "truncate": st.tuples(st.just("truncate"), st.integers(0, len(GOOD) - 1)),
    "flip": st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, len(GOOD) - 1),
                                                          st.integers(1, 255)),
                                                min_size=1, max_size=6)),
    "replace": st.tuples(st.just("replace"), st.sampled_from(NAMES), member_data),
    "rename": st.tuples(st.just("rename"), st.sampled_from(NAMES),
                        st.sampled_from(["format", "weights", "image", "x.npy", "meta.npy"])),
    "drop": st.tuples(st.just("drop"), st.sampled_from(NAMES)),
}
#: One kind of damage, the kinds drawn evenly (replacing members twice as often).
damage = st.sampled_from(["truncate", "flip", "replace", "replace", "rename", "drop"]).flatmap(
    KINDS.__getitem__)


def damaged(how: tuple) -> bytes:
    """The good model's bytes with one kind of damage."""
    kind = how[0]
    if kind == "truncate":
        return GOOD[: how[1]]
    if kind == "flip":
        data = bytearray(GOOD)
        for pos, mask in how[1]:
            data[pos] ^= mask
        return bytes(data)
    items = dict(MEMBERS)
    if kind == "replace":
        items[how[1]] = how[2]
    elif kind == "rename":
        items[how[2]] = items.pop(how[1])
    else:
        items.pop(how[1])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in items.items():
            zf.writestr(name, data)
    return buf.getvalue()


COMMANDS = [
    ["render", "{m}", "-o", "out.png", "--force"],
    ["render", "{m}", "-o", "out.png", "--force", "--neurons", "--width", "8"],
    ["report", "{m}", "--region", "0,0,6,6"],
    ["atlas", "{m}", "--grid", "1", "--null-boxes", "1"],
    ["basis", "{m}", "--layer", "1"],
    ["train", "--resume", "{m}", "-o", "t.npz", "--force", "--epochs", "1", "-q"],
]


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def check(code: int, out: str, err: str) -> None:
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err and "Traceback" not in out, err
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("synens-tui: error: "), err


@contextlib.contextmanager
def in_temp_folder():
    old = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            yield Path(folder)
        finally:
            os.chdir(old)


@SETTINGS
@given(how=damage, command=st.sampled_from(COMMANDS))
@example(how=("replace", "weights.npy", b"garbage"), command=COMMANDS[0])
@example(how=("replace", "format.npy", b"\x93NUMPY garbage"), command=COMMANDS[2])
@example(how=("rename", "format.npy", "format"), command=COMMANDS[3])
def test_damaged_model_files(how, command):
    data = damaged(how)
    with in_temp_folder() as folder:
        path = folder / "model.npz"
        path.write_bytes(data)
        before = hashlib.sha256(data).hexdigest()
        check(*run_cli([a.format(m=path) for a in command]))
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before


WORDS = ["--width", "--height", "--neuron", "--neurons", "--synapse", "--delta", "--sweep",
         "--region", "--top", "--share", "-k", "--seed", "--layer", "--random", "--format",
         "--memory-budget", "--force", "-o", "--png", "-1", "0", "1", "3", "7", "1e308", "nan",
         "-5,0,10,10", "0,0,5,5", "0:-0.8:0.3:3", "abc", "", "json", "text", "99999999999",
         "64M", "1K", "model.npz", "out.png", "x/y.png", "--region=-5,0,10,10", "--"]


@SETTINGS
@given(command=st.sampled_from(["render", "report", "atlas", "basis"]),
       words=st.lists(st.sampled_from(WORDS), max_size=8))
def test_argument_strings(command, words):
    with in_temp_folder() as folder:
        path = folder / "model.npz"
        path.write_bytes(GOOD)
        check(*run_cli([command, "model.npz", *words]))
        assert path.read_bytes() == GOOD
