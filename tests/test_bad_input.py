"""Bad input and faults, as an adversary would try them (issue 9): nothing the user made is lost
or replaced, and every refusal is one line with exit code 2, never a traceback."""

from __future__ import annotations

import errno
import io
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from app_fixtures import SMALL_MODEL, picture
from PIL import Image
from synens.core.base.errors import ModelFileError, OutputError
from synens.core.base.memory import format_bytes, parse_size
from synens.core.files import atomic
from synens.core.files.atomic import write_atomic
from synens.core.files.model import load_model, save_model
from synens.tui.cli import main
from synens.tui.commands.cache import ensure_numba_cache

PREFIX = "synens-tui: error: "
TRAIN = ("--epochs", "2", "--size", "8", "--hidden", "3", "-q")


def call(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.startswith(PREFIX) and err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and ".tmp" not in err, err
    for w in words:
        assert w in err, err


@pytest.fixture
def model(tmp_path) -> Path:
    path = tmp_path / "small.npz"
    path.write_bytes(SMALL_MODEL.read_bytes())
    return path


@pytest.fixture
def pic(tmp_path) -> Path:
    path = tmp_path / "pic.png"
    Image.fromarray(picture()).save(path)
    return path


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rezip(path: Path, items: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in items.items():
            zf.writestr(name, data)
    return path


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def special_files(folder: Path) -> dict[str, Path]:
    """A FIFO, a symlink to a regular file, a socket and (as root) a character device."""
    made = {}
    (folder / "target.txt").write_text("keep me")
    os.mkfifo(folder / "fifo")
    made["FIFO"] = folder / "fifo"
    os.symlink(folder / "target.txt", folder / "link.png")
    made["symlink"] = folder / "link.png"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "sock"))
    sock.close()
    made["socket"] = folder / "sock"
    try:
        os.mknod(folder / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        made["device"] = folder / "null"
    except (PermissionError, OSError):
        pass
    return made


# ------------------------------------------------------------ 2. special files at -o


@pytest.mark.parametrize("force", [False, True])
def test_special_outputs_are_refused(capsys, tmp_path, model, pic, force):
    extra = ("--force",) if force else ()
    for kind, path in special_files(tmp_path).items():
        before = os.lstat(path)
        for argv in (("render", model, "-o", path),
                     ("train", pic, "-o", path, *TRAIN),
                     ("report", model, "--region", "0,0,8,8", "-o", path),
                     ("atlas", model, "--grid", "1", "--null-boxes", "1", "--png", path)):
            code, _, err = call(capsys, *argv, *extra)
            assert_one_line(code, err, str(path), "not a regular file")
            after = os.lstat(path)
            assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode), kind
            assert after.st_ino == before.st_ino, kind
    assert (tmp_path / "target.txt").read_text() == "keep me"


@pytest.mark.parametrize("replace", [False, True])
def test_write_never_replaces_a_special_file_that_appeared_meanwhile(tmp_path, replace):
    out = tmp_path / "out.png"

    def write(fh):
        fh.write(b"data")
        os.mkfifo(out)  # appears after any check the caller made

    with pytest.raises(OutputError, match="FIFO"):
        write_atomic(out, write, replace=replace)
    assert stat.S_ISFIFO(os.lstat(out).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no temporary file


# ------------------------------------------------------------ 3. create-new at commit time


def test_commit_is_create_new(tmp_path):
    out = tmp_path / "out.txt"

    def write(fh):
        fh.write(b"new")
        out.write_text("made meanwhile")

    with pytest.raises(FileExistsError) as info:
        write_atomic(out, write, replace=False)
    assert str(out) in str(info.value) and ".tmp" not in str(info.value)
    assert out.read_text() == "made meanwhile"
    out.unlink()
    assert write_atomic(out, write, replace=False, unique=True) == tmp_path / "out-2.txt"
    assert out.read_text() == "made meanwhile"
    assert (tmp_path / "out-2.txt").read_bytes() == b"new"
    assert write_atomic(out, lambda fh: fh.write(b"forced")) == out  # replace=True
    assert out.read_bytes() == b"forced"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out-2.txt", "out.txt"]


def test_commit_without_hard_links(tmp_path, monkeypatch):
    def no_link(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted", src, dst)

    monkeypatch.setattr(atomic.os, "link", no_link)
    out = tmp_path / "out.txt"
    out.write_text("old")
    assert write_atomic(out, lambda fh: fh.write(b"x"), replace=False, unique=True) == \
        tmp_path / "out-2.txt"
    assert out.read_text() == "old" and (tmp_path / "out-2.txt").read_bytes() == b"x"
    assert len(list(tmp_path.iterdir())) == 2


def test_a_file_made_at_output_during_training_is_kept(capsys, tmp_path, pic, monkeypatch):
    from synens.tui.commands import train as cmd

    out = tmp_path / "m.npz"
    real = cmd._train

    def meanwhile(*a, **k):
        result = real(*a, **k)
        out.write_text("the user's file")
        return result

    monkeypatch.setattr(cmd, "_train", meanwhile)
    code, stdout, err = call(capsys, "train", pic, "-o", out, *TRAIN)
    assert code == 0, err
    assert out.read_text() == "the user's file"
    assert err.count("\n") == 1 and "m-2.npz" in err and "appeared" in err, err
    assert "m-2.npz" in stdout
    load_model(tmp_path / "m-2.npz")


def test_two_trainings_to_one_output_both_keep_their_results(capsys, tmp_path, pic,
                                                             monkeypatch):
    from synens.tui.commands import train as cmd

    out = tmp_path / "m.npz"
    real = cmd._train
    inner = []

    def with_a_second_training(*a, **k):
        result = real(*a, **k)
        if not inner:  # the second training starts and finishes while the first runs
            inner.append(None)
            inner[0] = main(["train", str(pic), "-o", str(out), *TRAIN, "--seed", "5"])
        return result

    monkeypatch.setattr(cmd, "_train", with_a_second_training)
    code, _, err = call(capsys, "train", pic, "-o", out, *TRAIN, "--seed", "1")
    assert code == 0 and inner == [0], err
    first, second = load_model(tmp_path / "m-2.npz"), load_model(out)
    assert first.meta["seed"] == 1 and second.meta["seed"] == 5


# ------------------------------------------------------------ 4, 9. signals


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "run.py"
    path.write_text(body)
    return path


def _wait_for(path: Path, proc: subprocess.Popen, seconds: float = 120.0) -> None:
    end = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, "the child never got there"
        time.sleep(0.02)


def test_double_ctrl_c_still_saves(tmp_path, pic):
    """The first Ctrl-C stops training; the second arrives while the model is being saved."""
    out = tmp_path / "m.npz"
    script = _script(tmp_path, f"""
import sys, time
from pathlib import Path
import synens.core.network.train as T
import synens.core.files.model as M
real_train, real_write = T.train, M.write_atomic
def train(topo, image, config, weights=None, callback=None):
    def tick(progress):  # called after each epoch: training runs
        Path({str(tmp_path / 'training')!r}).touch()
        return callback(progress) if callback else None
    return real_train(topo, image, config, weights, tick)
def write(*a, **k):
    Path({str(tmp_path / 'saving')!r}).touch()
    time.sleep(1.0)
    return real_write(*a, **k)
T.train, M.write_atomic = train, write
from synens.tui.cli import main
sys.exit(main(["train", {str(pic)!r}, "-o", {str(out)!r}, "--seconds", "60", "-q",
               "--size", "16", "--hidden", "3"]))
""")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(tmp_path / "training", proc)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _wait_for(tmp_path / "saving", proc)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "saved the best weights" in stdout, (stdout, stderr)
    assert load_model(out).topo.n_synapses > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path, model):
    out = tmp_path / "out.png"
    script = _script(tmp_path, f"""
import sys, time
from pathlib import Path
from PIL import Image
real = Image.Image.save
def slow(self, fh, *a, **k):
    real(self, fh, *a, **k)
    Path({str(tmp_path / 'writing')!r}).touch()
    time.sleep(60)
Image.Image.save = slow
from synens.tui.cli import main
sys.exit(main(["render", {str(model)!r}, "-o", {str(out)!r}]))
""")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(tmp_path / "writing", proc)
        assert [p for p in tmp_path.iterdir() if p.name.startswith(".out.png.")]
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert "terminated" in stderr and "Traceback" not in stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# ------------------------------------------------------------ 6. damaged model files


def damaged_models(folder: Path, model: Path) -> dict[str, Path]:
    good = members(model)
    cases = {
        "garbage weights": {**good, "weights.npy": b"garbage" * 20},
        "garbage format": {**good, "format.npy": b"\x93NUMPY garbage"},
        "plain format": {"format": b"synens-model/1",
                         **{k: v for k, v in good.items() if k != "format.npy"}},
        "plain weights": {"weights": b"\x00" * 64,
                          **{k: v for k, v in good.items() if k != "weights.npy"}},
        "object meta": {**good, "meta.npy": npy(np.array([{"a": 1}], dtype=object))},
        "weights 1e308": {**good, "weights.npy": npy(
            np.full(np.load(io.BytesIO(good["weights.npy"])).shape, 1e308))},
        "weights nan": {**good, "weights.npy": npy(
            np.full(np.load(io.BytesIO(good["weights.npy"])).shape, np.nan))},
        "weights float32": {**good, "weights.npy": npy(
            np.load(io.BytesIO(good["weights.npy"])).astype(np.float32))},
        "image 2-D": {**good, "image.npy": npy(np.zeros((4, 4), np.uint8))},
    }
    paths = {name: rezip(folder / f"bad{i}.npz", items) for i, (name, items)
             in enumerate(cases.items())}
    truncated = folder / "truncated.npz"
    truncated.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    paths["truncated"] = truncated
    return paths


def test_damaged_model_files_are_one_line_everywhere(capsys, tmp_path, model, pic):
    for name, bad in damaged_models(tmp_path, model).items():
        for argv in (("render", bad, "-o", tmp_path / "x.png"),
                     ("report", bad, "--region", "0,0,5,5"),
                     ("atlas", bad), ("basis", bad),
                     ("train", "--resume", bad, "-o", tmp_path / "y.npz", *TRAIN[:2], "-q"),
                     (bad,)):  # the explorer, launched on it
            code, _, err = call(capsys, *argv)
            assert_one_line(code, err, str(bad))
        assert not (tmp_path / "x.png").exists(), name


def test_damaged_weights_messages(tmp_path, model):
    paths = damaged_models(tmp_path, model)
    with pytest.raises(ModelFileError, match="beyond"):
        load_model(paths["weights 1e308"])
    with pytest.raises(ModelFileError, match="not finite"):
        load_model(paths["weights nan"])
    with pytest.raises(ModelFileError, match="Python objects"):
        load_model(paths["object meta"])
    with pytest.raises(ModelFileError, match="'format' member is not an .npy"):
        load_model(paths["plain format"])


def test_a_fifo_is_neither_a_model_nor_a_picture(capsys, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code, _, err = call(capsys, "render", fifo, "-o", tmp_path / "x.png")
    assert_one_line(code, err, "FIFO", "not a regular file")
    code, _, err = call(capsys, "train", fifo, "-o", tmp_path / "m.npz", *TRAIN)
    assert_one_line(code, err, "FIFO", "not a regular file")
    assert "empty" not in err


# ------------------------------------------------------------ 7. the Numba cache


def test_numba_cache_dir_not_a_folder_gets_a_temporary_one(tmp_path, model):
    a_file = tmp_path / "file"
    a_file.write_text("")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(a_file / "not-a-dir")}
    proc = subprocess.run(["synens-tui", "render", str(model), "-o", str(tmp_path / "x.png")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "not a writable folder" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and (tmp_path / "x.png").exists()


def test_unwritable_package_and_home_fall_back(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")  # folders below a regular file can never be made, even by root
    env = {"HOME": str(blocker)}
    notice = ensure_numba_cache(env, [blocker / "pkg" / "__pycache__"])
    assert notice is not None and "the Numba cache is in" in notice
    assert Path(env["NUMBA_CACHE_DIR"]).is_dir()
    assert ensure_numba_cache(env, [blocker / "pkg" / "__pycache__"]) is None  # usable now
    ok = {"HOME": str(blocker)}
    assert ensure_numba_cache(ok, [tmp_path / "pkg" / "__pycache__"]) is None
    assert "NUMBA_CACHE_DIR" not in ok


# ------------------------------------------------------------ 8. memory budget


def huge_picture_model(folder: Path, model: Path, side: int) -> Path:
    """A valid model whose picture is side×side (zeros, streamed: small on disk)."""
    path = folder / "huge.npz"
    good = members(model)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in good.items():
            if name != "image.npy":
                zf.writestr(name, data)
        with zf.open("image.npy", "w", force_zip64=True) as fh:
            header = {"descr": "|u1", "fortran_order": False, "shape": (side, side, 3)}
            np.lib.format.write_array_header_1_0(fh, header)
            chunk = bytes(side * 3 * 256)
            for _ in range(side // 256):
                fh.write(chunk)
    return path


def test_a_huge_picture_in_a_model_is_refused_before_decoding(capsys, tmp_path, model):
    huge = huge_picture_model(tmp_path, model, 16384)
    assert huge.stat().st_size < 2_000_000
    code, _, err = call(capsys, "render", huge, "-o", tmp_path / "x.png")
    assert_one_line(code, err, "16384×16384", "memory budget of 2.0 GB")


def test_budget_option_and_variable(capsys, tmp_path, model, monkeypatch):
    out = tmp_path / "x.png"
    code, _, err = call(capsys, "render", model, "-o", out, "--width", "2000",
                        "--memory-budget", "64M")
    assert_one_line(code, err, "memory budget of 64.0 MB")
    monkeypatch.setenv("SYNENS_MEMORY_BUDGET", "64M")
    code, _, err = call(capsys, "render", model, "-o", out, "--width", "2000")
    assert_one_line(code, err, "memory budget of 64.0 MB")
    code, _, err = call(capsys, "render", model, "-o", out, "--width", "200")
    assert code == 0 and out.exists(), err
    code, _, err = call(capsys, "render", model, "-o", out, "--memory-budget", "lots")
    assert_one_line(code, err, "memory budget", "'lots'")
    assert parse_size("2G") == 2 * 1024**3 and parse_size("512MiB") == 512 * 1024**2
    assert format_bytes(3 * 1024**3) == "3.0 GB"


def test_a_huge_network_is_refused_before_it_is_built(capsys, tmp_path, pic, monkeypatch):
    from synens.core.base import topology

    def never(*a, **k):
        raise AssertionError("layered() was called")

    monkeypatch.setattr(topology, "layered", never)
    hidden = ",".join(["1000"] * 100)
    code, _, err = call(capsys, "train", pic, "-o", tmp_path / "m.npz", "--hidden", hidden)
    assert_one_line(code, err, "100 layers", "memory budget")
    assert not (tmp_path / "m.npz").exists()


def test_atlas_shows_progress(capsys, tmp_path, model, monkeypatch):
    """Found failure 8: atlas ran minutes with no progress. It reports each region analysed."""
    from synens.core.analysis import atlas as atlas_module
    from synens.tui.commands import common

    show = common.StderrProgress("atlas: regions analysed", after=0.0)
    show(3, 40)
    show.finish()
    assert capsys.readouterr().err.startswith("\ratlas: regions analysed 3/40")
    seen = []
    real = atlas_module.ensemble_atlas

    def spy(*args, progress=None, **kw):
        return real(*args, progress=lambda d, n: (seen.append((d, n)), progress(d, n)), **kw)

    monkeypatch.setattr(atlas_module, "ensemble_atlas", spy)
    code, _, _ = call(capsys, "atlas", model, "--grid", "1", "--null-boxes", "2")
    assert code == 0 and seen and seen[-1][0] == seen[-1][1]
    assert [d for d, _ in seen] == list(range(1, seen[-1][1] + 1))


# ------------------------------------------------------------ 9. smaller faults


def test_full_disk_at_the_end_of_training_keeps_the_weights(capsys, tmp_path, pic,
                                                            monkeypatch):
    import tempfile

    import synens.core.files.model as M

    rescue_dir = tmp_path / "tmpdir"
    rescue_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(rescue_dir))
    real = M.write_atomic

    def full_disk(path, *a, **k):
        if Path(path).parent != rescue_dir:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, *a, **k)

    monkeypatch.setattr(M, "write_atomic", full_disk)
    out = tmp_path / "m.npz"
    code, _, err = call(capsys, "train", pic, "-o", out, *TRAIN)
    assert_one_line(code, err, "No space left on device", str(out),
                    str(rescue_dir / "m-rescued.npz"))
    assert not out.exists()
    kept = load_model(rescue_dir / "m-rescued.npz")
    assert kept.topo.n_synapses == 27  # hidden 3, skip 2: 3*(1+2) + 3*(1+2+3)


def test_errors_never_name_temporary_files(tmp_path):
    out = tmp_path / "out.bin"

    def fail(fh):
        raise OSError(errno.ENOSPC, "No space left on device")

    def fail_naming_the_temporary_file(fh):
        tmp = next(p for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp))

    for write in (fail, fail_naming_the_temporary_file):
        with pytest.raises(OSError) as info:
            write_atomic(out, write)
        assert info.value.filename == str(out) and ".tmp" not in str(info.value)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError) as info:
        write_atomic(blocker / "out.bin", lambda fh: None)
    assert ".tmp" not in str(info.value) and "out.bin" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_region_with_a_leading_minus_gets_a_hint(capsys, model):
    code, _, err = call(capsys, "report", model, "--region", "-5,0,10,10")
    assert_one_line(code, err, "expected one argument", "write --region=-5,0,10,10")
    code, _, err = call(capsys, "report", model, "--region=-5,0,10,10")
    assert code == 2 and "expected one argument" not in err and err.count("\n") == 1, err


def test_saving_a_model_refuses_to_replace_a_symlink(tmp_path, model):
    link = tmp_path / "link.npz"
    os.symlink(model, link)
    before = model.read_bytes()
    with pytest.raises(OutputError, match="symlink"):
        save_model(load_model(model), link)
    assert link.is_symlink() and model.read_bytes() == before


def test_report_shows_the_nulls_progress(capsys, model, monkeypatch):
    """The report's null takes seconds on a real model: it shows its progress on stderr."""
    from synens.tui.commands import common

    class Now(common.StderrProgress):
        def __init__(self, label: str) -> None:
            super().__init__(label, after=0.0)

    monkeypatch.setattr(common, "StderrProgress", Now)
    code, _, err = call(capsys, "report", model, "--region", "2,2,10,10", "--null-boxes", "3")
    assert code == 0 and "null: random boxes analysed" in err and err.endswith("\n")
