"""The command line: train and render in-process and as the installed script; every bad input
gives one line on stderr and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from app_fixtures import installed_script
from PIL import Image
from synens.core.base.topology import layered
from synens.core.files.model import Model, load_model, make_meta, save_model
from synens.core.network.render import activations, render, rmse, to_uint8
from synens.core.network.train import init_weights
from synens.core.reports import figures as F
from synens.tui import cli
from synens.tui.cli import main

PREFIX = "synens-tui: error: "


def make_model(folder) -> Path:
    """A small layered model (2 hidden layers) with seeded weights and a 10×14 picture."""
    topo = layered((4, 3), skip=2)
    image = np.random.default_rng(4).integers(0, 256, (10, 14, 3), dtype=np.uint8)
    weights = init_weights(topo, 0) * 2.0
    path = folder / "m.npz"
    save_model(Model(topo, weights, image, make_meta(topo, seed=0)), path)
    return path


def make_picture(folder) -> Path:
    """A 32×24 PNG: two colours, a lighter lower half."""
    path = folder / "pic.png"
    a = np.zeros((24, 32, 3), np.uint8)
    a[:, :16] = (200, 40, 40)
    a[12:] += 30
    Image.fromarray(a).save(path)
    return path


@pytest.fixture
def model_path(tmp_path) -> Path:
    return make_model(tmp_path)


def call(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_error(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(PREFIX), err
    assert "Traceback" not in err
    for w in words:
        assert w in err, err


def png(path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "RGB"
        return np.asarray(im)


# ---------------------------------------------------------------- render


def test_render_painting_default_size(capsys, model_path, tmp_path):
    out = tmp_path / "p.png"
    code, text, err = call(capsys, "render", model_path, "-o", out)
    assert code == 0 and err == "" and str(out) in text
    m = load_model(model_path)
    np.testing.assert_array_equal(png(out), to_uint8(render(m.topo, m.weights, 14, 10)))


@pytest.mark.parametrize(
    "size, expect",
    [
        (("--width", 28), (28, 20)),
        (("--height", 5), (7, 5)),
        (("--width", 3, "--height", 40), (3, 40)),
        (("--width", 1), (1, 1)),
    ],
)
def test_render_sizes(capsys, model_path, tmp_path, size, expect):
    out = tmp_path / "p.png"
    code, _, _ = call(capsys, "render", model_path, "-o", out, *size)
    assert code == 0
    a = png(out)
    assert (a.shape[1], a.shape[0]) == expect


def test_render_neuron_is_grey_activation(capsys, model_path, tmp_path):
    out = tmp_path / "n.png"
    code, _, _ = call(capsys, "render", model_path, "-o", out, "--neuron", 5, "--width", 21)
    assert code == 0
    a = png(out)
    assert a.shape == (15, 21, 3)
    m = load_model(model_path)
    want = to_uint8(activations(m.topo, m.weights, 21, 15)[5])
    np.testing.assert_array_equal(a[..., 0], want)
    assert np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 0], a[..., 2])


def test_render_neurons_grid(capsys, model_path, tmp_path):
    out = tmp_path / "grid.png"
    code, _, _ = call(capsys, "render", model_path, "-o", out, "--neurons", "--width", 28)
    assert code == 0
    a = png(out)
    m = load_model(model_path)
    fig = F.neurons_figure(m, 28, 20)
    assert len(fig.boxes) == m.topo.n_neurons == 10
    assert (a.shape[1], a.shape[0]) == fig.image.size
    acts = activations(m.topo, m.weights, 28, 20)
    cols = {x for x, _, _, _ in fig.boxes}
    assert len(cols) == 4 and a.shape[1] >= 4 * 28  # ceil(sqrt(10)) columns
    for n, (x, y, w, h) in enumerate(fig.boxes):
        assert (w, h) == (28, 20)
        np.testing.assert_array_equal(a[y : y + h, x : x + w, 1], to_uint8(acts[n]))


def test_render_synapse_change_map(capsys, model_path, tmp_path):
    m = load_model(model_path)
    green_bias = int(m.topo.synapses_of(int(m.topo.outputs[1]))[0])
    assert m.topo.source_name(green_bias) == "bias"
    out = tmp_path / "s.png"
    code, _, _ = call(
        capsys, "render", model_path, "-o", out, "--synapse", green_bias, "--delta", "-0.4"
    )
    assert code == 0
    a = png(out)
    fig = F.synapse_figure(m, green_bias, -0.4, 14, 10)
    assert (a.shape[1], a.shape[0]) == fig.image.size and len(fig.boxes) == 4
    panels = [a[y : y + h, x : x + w] for x, y, w, h in fig.boxes]
    moved = m.weights.copy()
    moved[green_bias] -= 0.4
    np.testing.assert_array_equal(panels[0], to_uint8(render(m.topo, moved, 14, 10, np.float64)))
    assert np.all(panels[1] == 255) and np.all(panels[3] == 255)  # R and B do not change
    g = panels[2]
    assert np.all(g[..., 2] == 255) and np.array_equal(g[..., 0], g[..., 1])  # blue side: G fell
    assert g[..., 0].min() == 0  # the largest change reaches the end of the scale


def test_change_map_is_exact(model_path):
    m = load_model(model_path)
    after, change = F.change_map(m, 7, 0.3, 9, 6)
    w = m.weights.copy()
    w[7] += 0.3
    base = render(m.topo, m.weights, 9, 6, np.float64)
    np.testing.assert_array_equal(after, render(m.topo, w, 9, 6, np.float64))
    np.testing.assert_array_equal(change, after - base)


def test_render_sweep(capsys, model_path, tmp_path):
    out = tmp_path / "sweep.png"
    code, _, _ = call(
        capsys, "render", model_path, "-o", out, "--sweep", "3:-0.8:0.3:5", "--width", 84,
        "--absolute",
    )
    assert code == 0
    a = png(out)
    m = load_model(model_path)
    values = F.sweep_values(-0.8, 0.3, 5)
    np.testing.assert_allclose(values, [-0.8, -0.525, -0.25, 0.025, 0.3])
    fig = F.sweep_figure(m, 3, values, 84, 60)
    assert (a.shape[1], a.shape[0]) == fig.image.size and len(fig.boxes) == 5
    xs = [b[0] for b in fig.boxes]
    assert xs == sorted(xs) and len({b[1] for b in fig.boxes}) == 1  # one strip
    for v, (x, y, w, h) in zip(values, fig.boxes, strict=True):
        wv = m.weights.copy()
        wv[3] = v
        frame = a[y : y + h, x : x + w]
        want = to_uint8(render(m.topo, wv, w, h))
        np.testing.assert_array_equal(frame[: h // 2], want[: h // 2])  # above the RMSE label
        np.testing.assert_array_equal(frame[:, -5:], want[:, -5:])
        corner = frame[h - 12 :, :30]
        assert np.all(corner[-1, 0] == 0) and corner.min(axis=-1).max() > 200  # white on black


def test_render_sweep_is_relative_to_the_trained_weight(capsys, model_path, tmp_path):
    """w_trained + Δ, Δ from FROM to TO; Δ = 0 is always a frame and has the trained RMSE."""
    m = load_model(model_path)
    out = tmp_path / "sweep.png"
    code, text, _ = call(capsys, "render", model_path, "-o", out, "--sweep", "3:-0.8:0.3:4")
    assert code == 0
    lines = [ln.split() for ln in text.splitlines() if ln.strip().startswith("Δ")]
    deltas = [float(ln[1]) for ln in lines]
    # linspace(-0.8, 0.3, 4) = -0.8, -0.433, -0.067, 0.3: the frame nearest 0 becomes 0
    assert deltas == pytest.approx([-0.8, -0.4333, 0.0, 0.3], abs=1e-4)
    weights = [float(ln[3]) for ln in lines]
    assert weights == pytest.approx([m.weights[3] + d for d in deltas], abs=1e-4)
    fig = F.sweep_figure(m, 3, m.weights[3] + np.array(deltas), 14, 10)
    zero = next(f for f in fig.frames if f["delta"] == 0.0)
    assert zero["rmse"] == pytest.approx(m.rmse(), abs=1e-6)
    assert float(lines[2][5]) == pytest.approx(m.rmse(), abs=1e-4)
    frames = png(out)
    assert frames.shape[1] > 4 * 14  # four panels side by side


def test_render_sweep_default_span_and_no_zero_inside(capsys, model_path, tmp_path):
    code, text, _ = call(capsys, "render", model_path, "-o", tmp_path / "a.png", "--sweep", "2")
    deltas = [float(ln.split()[1]) for ln in text.splitlines() if ln.strip().startswith("Δ")]
    assert code == 0 and deltas[0] == pytest.approx(-0.8) and deltas[-1] == pytest.approx(0.3)
    assert 0.0 in deltas and len(deltas) == 8
    code, text, _ = call(capsys, "render", model_path, "-o", tmp_path / "b.png",
                         "--sweep", "2:0.1:0.3:3")
    deltas = [float(ln.split()[1]) for ln in text.splitlines() if ln.strip().startswith("Δ")]
    assert deltas == pytest.approx([0.0, 0.1, 0.2, 0.3])  # Δ = 0 added in order


def test_sweep_rmse_is_against_the_training_picture(model_path):
    m = load_model(model_path)
    w = m.weights.copy()
    w[2] = 0.5
    assert m.rmse(w) == pytest.approx(rmse(render(m.topo, w, 14, 10), m.image))
    assert m.rmse(w) != pytest.approx(m.rmse())


def test_force_is_needed_to_overwrite_a_render(capsys, model_path, tmp_path):
    out = tmp_path / "p.png"
    out.write_bytes(b"old")
    code, _, err = call(capsys, "render", model_path, "-o", out)
    assert_error(code, err, "--force")
    assert out.read_bytes() == b"old"
    code, _, _ = call(capsys, "render", model_path, "-o", out, "--force")
    assert code == 0 and png(out).shape == (10, 14, 3)


RENDER_ERRORS = [
    (["--width", "0"], "--width"),
    (["--width", "4097"], "--width"),
    (["--height", "-2"], "--height"),
    (["--neuron", "10"], "neuron 10"),
    (["--neuron", "-1"], "neuron -1"),
    (["--synapse", "9999", "--delta", "1"], "synapse 9999"),
    (["--synapse", "-1", "--delta", "1"], "synapse -1"),
    (["--synapse", "0"], "--delta"),
    (["--delta", "1"], "--synapse"),
    (["--synapse", "0", "--delta", "nan"], "-1000..1000"),
    (["--synapse", "0", "--delta", "1e308"], "-1000..1000"),
    (["--sweep", "1:2"], "S:FROM:TO:STEPS"),
    (["--sweep", "a:0:1:3"], "S:FROM:TO:STEPS"),
    (["--sweep", "0:0:1:2.5"], "S:FROM:TO:STEPS"),
    (["--sweep", "0:0:1:0"], "STEPS"),
    (["--sweep", "0:0:1:65"], "STEPS"),
    (["--sweep", "9999:0:1:3"], "synapse 9999"),
    (["--sweep", "0:inf:1:3"], "finite"),
    (["--sweep", "0:-1e308:1e308:8"], "-1000..1000"),
    (["--sweep", "0:-1e300:1:8"], "-1000..1000"),
    (["--sweep", "0:-1000:1000:2"], "beyond"),
    (["--absolute"], "--sweep"),
    (["--neurons", "--width", "4000"], "too many pixels"),
    (["--neuron", "x"], "invalid int"),
    (["--neuron", "1", "--neurons"], "not allowed"),
    (["--bogus"], "unrecognized"),
]


@pytest.mark.parametrize("extra, word", RENDER_ERRORS, ids=[" ".join(e) for e, _ in RENDER_ERRORS])
def test_render_bad_arguments(capsys, model_path, tmp_path, extra, word):
    out = tmp_path / "x.png"
    code, text, err = call(capsys, "render", model_path, "-o", out, *extra)
    assert_error(code, err, word)
    assert text == "" and not out.exists()


def test_render_bad_files(capsys, model_path, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(np.random.default_rng(0).bytes(200))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(model_path.read_bytes()[:300])
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir.png").mkdir()
    cases = [
        (tmp_path / "none.npz", "x.png", "not found"),
        (bad, "x.png", "not a synens model"),
        (cut, "x.png", "damaged"),
        (tmp_path, "x.png", "folder"),
        (model_path, "nodir/x.png", "does not exist"),
        (model_path, "file/x.png", "not a folder"),
        (model_path, "dir.png", "is a folder"),
    ]
    for model, out, word in cases:
        code, _, err = call(capsys, "render", model, "-o", tmp_path / out)
        assert_error(code, err, word)
    assert not (tmp_path / "x.png").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder(capsys, model_path, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        code, _, err = call(capsys, "render", model_path, "-o", ro / "x.png")
    finally:
        ro.chmod(0o700)
    assert_error(code, err, "not writable")


def test_os_errors_while_writing_are_one_line(capsys, model_path, tmp_path, monkeypatch):
    def deny(image, path, **how):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(F, "save_png", deny)
    code, _, err = call(capsys, "render", model_path, "-o", tmp_path / "x.png")
    assert_error(code, err, "Permission denied", "x.png")


# ---------------------------------------------------------------- parser, bare command


def test_usage_errors_are_one_line(capsys):
    for argv in (["bogus"], ["render"], ["train", "--epochs", "x", "-o", "m.npz"], ["--nope"]):
        code, _, err = call(capsys, *argv)
        assert_error(code, err)


def test_help_and_registry(capsys):
    code, out, _ = call(capsys, "--help")
    assert code == 0 and "train" in out and "render" in out
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert {"train", "render"} <= set(sub.choices)
    assert set(sub.choices) <= set(cli.COMMANDS)


def test_bare_command_prints_help_without_a_tui(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "synens.tui.app", None)  # as if app.py did not exist
    code, out, err = call(capsys)
    assert code == 0 and "usage: synens-tui" in out and err == ""


def test_bare_command_runs_the_tui(capsys, monkeypatch):
    seen = []
    fake = type(sys)("synens.tui.app")
    fake.run = lambda args: seen.append(args) or 0
    monkeypatch.setitem(sys.modules, "synens.tui.app", fake)
    code, _, _ = call(capsys)
    assert code == 0 and len(seen) == 1


# ---------------------------------------------------------------- the installed script

SCRIPT = installed_script()


@pytest.mark.skipif(SCRIPT is None, reason="synens-tui is not installed")
def test_installed_script(model_path, tmp_path):
    out = tmp_path / "p.png"
    ok = subprocess.run(
        [SCRIPT, "render", str(model_path), "-o", str(out), "--width", "30"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and ok.stderr == "" and str(out) in ok.stdout
    assert png(out).shape == (21, 30, 3)
    bad = subprocess.run(
        [SCRIPT, "render", str(tmp_path / "nope.npz"), "-o", "x.png"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert_error(bad.returncode, bad.stderr, "not found")


def test_help_does_not_import_numba():
    code = (
        "import sys; from synens.tui.cli import main; main(['--help']); "
        "main(['render', '--help']); main(['train', '--help']); "
        "print('numba' in sys.modules, 'rich' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith("False False")
