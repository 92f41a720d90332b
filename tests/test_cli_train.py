"""The train command: a tiny budget in-process, --force, --resume, Ctrl-C (also a real SIGINT
to the installed script) and every bad input as one line with exit code 2."""

from __future__ import annotations

import os
import signal
import subprocess

import numpy as np
import pytest
from synens.core.files.model import load_model
from test_cli import SCRIPT, assert_error, call, make_model, make_picture


@pytest.fixture
def picture(tmp_path):
    return make_picture(tmp_path)


@pytest.fixture
def model_path(tmp_path):
    return make_model(tmp_path)


def test_train_tiny_budget_and_determinism(capsys, picture, tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    options = ["--epochs", 2, "--size", 16, "--hidden", "3,4", "--seed", 5]
    code, text, _ = call(capsys, "train", picture, "-o", a, *options, "-q")
    assert code == 0 and str(a) in text and "RMSE" in text
    code, _, err = call(capsys, "train", picture, "-o", b, *options)  # with the progress bar
    assert code == 0 and "epoch 2/2" in err
    ma, mb = load_model(a), load_model(b)
    assert ma.weights.tobytes() == mb.weights.tobytes()
    assert ma.image.shape == (12, 16, 3) and ma.topo.n_neurons == 10
    assert ma.meta["epochs"] == 2 and ma.meta["seed"] == 5 and ma.meta["picture"] == "pic.png"
    assert ma.meta["topology"] == {"kind": "layered", "hidden": [3, 4], "skip": 2}
    assert ma.meta["optimiser"]["lr"] == 0.01 and ma.meta["interrupted"] is False
    assert ma.meta["rmse"] == pytest.approx(ma.rmse(), abs=1e-9)


def test_train_force_and_resume(capsys, picture, tmp_path):
    out = tmp_path / "m.npz"
    args = ["train", picture, "-o", out, "--epochs", 1, "--size", 12, "-q"]
    assert call(capsys, *args)[0] == 0
    first = out.read_bytes()
    code, _, err = call(capsys, *args)
    assert_error(code, err, "--force")
    assert out.read_bytes() == first
    assert call(capsys, *args, "--force", "--seed", 1)[0] == 0
    assert out.read_bytes() != first
    resumed = tmp_path / "r.npz"
    code, _, _ = call(capsys, "train", "-o", resumed, "--resume", out, "--epochs", 2, "-q")
    assert code == 0
    before, after = load_model(out), load_model(resumed)
    assert after.meta["epochs"] == 3 and after.meta["resumed_from"] == "m.npz"
    np.testing.assert_array_equal(after.image, before.image)
    assert after.rmse() <= before.rmse()
    again = tmp_path / "a.npz"  # a new picture with --resume: at the model's size by default
    code, _, _ = call(capsys, "train", picture, "-o", again, "--resume", out, "--epochs", 1, "-q")
    assert code == 0 and load_model(again).image.shape == (9, 12, 3)


def test_ctrl_c_saves_the_best_weights(capsys, picture, tmp_path, monkeypatch):
    from rich.progress import Progress

    calls = []
    update = Progress.update

    def interrupt(self, *a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return update(self, *a, **k)

    monkeypatch.setattr(Progress, "update", interrupt)
    out = tmp_path / "m.npz"
    code, text, _ = call(capsys, "train", picture, "-o", out, "--epochs", 50, "--size", 12)
    assert code == 130 and "interrupted" in text and str(out) in text
    m = load_model(out)
    assert m.meta["interrupted"] is True and m.meta["epochs"] == 3
    assert m.meta["rmse"] == pytest.approx(m.rmse(), abs=1e-9)


TRAIN_ERRORS = [
    (["{missing}"], "not found"),
    (["{text}"], "not a picture"),
    ([], "needs a picture"),
    (["{pic}", "--hidden", "3,x"], "--hidden"),
    (["{pic}", "--hidden", "0"], "--hidden"),
    (["{pic}", "--skip", "0"], "--skip"),
    (["{pic}", "--size", "4"], "--size"),
    (["{pic}", "--size", "2000"], "--size"),
    (["{pic}", "--epochs", "0"], "epochs"),
    (["{pic}", "--seconds", "-1"], "seconds"),
    (["{pic}", "--lr", "-1"], "learning rate"),
    (["{pic}", "--lr", "nan"], "finite"),
    (["{pic}", "--batch", "0"], "batch"),
    (["{pic}", "--target-rmse", "5"], "target RMSE"),
    (["{pic}", "--seed", "-1"], "--seed"),
    (["{pic}", "--l2", "2"], "L2"),
    (["{pic}", "--resume", "{text}"], "not a synens model"),
    (["{pic}", "--resume", "{model}", "--hidden", "3"], "--resume"),
    (["--resume", "{model}", "--size", "20"], "--size"),
]


@pytest.mark.parametrize("extra, word", TRAIN_ERRORS, ids=[" ".join(e) for e, _ in TRAIN_ERRORS])
def test_train_bad_input(capsys, picture, model_path, tmp_path, extra, word):
    (tmp_path / "t.txt").write_text("hello")
    names = {
        "{missing}": tmp_path / "no.png",
        "{text}": tmp_path / "t.txt",
        "{pic}": picture,
        "{model}": model_path,
    }
    out = tmp_path / "out.npz"
    code, text, err = call(capsys, "train", *[names.get(e, e) for e in extra], "-o", out)
    assert_error(code, err, word)
    assert text == "" and not out.exists()


@pytest.mark.skipif(SCRIPT is None or os.name != "posix", reason="needs the script and SIGINT")
def test_installed_script_ctrl_c(picture, tmp_path):
    """A real SIGINT once training runs: the best weights are saved and the script says where."""
    out = tmp_path / "m.npz"
    env = {**os.environ, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"}  # live progress on a pipe
    proc = subprocess.Popen(
        [SCRIPT, "train", str(picture), "-o", str(out), "--size", "16", "--seconds", "100"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    seen = b""
    try:
        while b"epoch 3" not in seen:  # the progress bar shows training under way
            chunk = proc.stderr.read1(4096)
            assert chunk, seen[-300:]
            seen += chunk
        proc.send_signal(signal.SIGINT)
        text, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert b"interrupted" in text and str(out).encode() in text
    m = load_model(out)
    assert m.meta["interrupted"] is True and m.meta["epochs"] >= 3
    assert m.meta["rmse"] == pytest.approx(m.rmse(), abs=1e-9)
