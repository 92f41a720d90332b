"""First run: the warm-up thread's order and gate, edits while kernels compile, --precompile."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from app_fixtures import SMALL_MODEL, installed_script
from synens.core.files.model import load_model
from synens.core.kernels import forward as K
from synens.core.network.render import IncrementalRenderer, render
from synens.tui import frames
from synens.tui.session import Session
from synens.tui.state import Layout
from synens.tui.warmup import STAGES, Stage, Warmup, dispatchers, stages

APP = installed_script()


def test_stages_run_in_order_and_wait_for_go_after_the_first():
    ran: list[str] = []
    second_started = threading.Event()

    def stage(name: str) -> Stage:
        def run() -> None:
            ran.append(name)
            if name == "b":
                second_started.set()

        return Stage(name, name, run)

    seen: list[int] = []
    warm = Warmup(lambda i, s: seen.append(i), (stage("a"), stage("b"), stage("c"))).start()
    assert warm.wait("a", 5.0)
    assert not second_started.wait(0.2), "stage b ran before go()"
    assert warm.ready("a") and not warm.ready("b") and not warm.finished
    assert warm.ready("no such stage")
    warm.go()
    assert warm.wait("c", 5.0)
    assert ran == ["a", "b", "c"] and seen == [0, 1, 2] and warm.finished and warm.count() == 3


def test_a_failing_stage_is_kept_and_the_rest_still_run():
    def boom() -> None:
        raise RuntimeError("no compiler")

    warm = Warmup(None, (Stage("a", "a", boom), Stage("b", "b", lambda: None)), hold=0).start()
    assert warm.wait("b", 5.0)
    assert isinstance(warm.error, RuntimeError)


def test_painting_stage_comes_first_and_covers_the_first_frame_in_its_colour_mode():
    names = [s.name for s in stages("256")]
    assert names[:2] == ["paint", "nudge"] and names[-1] == "training"
    assert [s.name for s in STAGES] == names


def test_edits_before_the_nudge_kernel_is_ready_re_render_in_full(monkeypatch):
    model = load_model(SMALL_MODEL)
    session = Session(model, kernels_ready=lambda stage: stage != "nudge")
    session.resize(40, 30)

    def no_nudge(*args):
        raise AssertionError("the incremental kernel ran before it was compiled")

    monkeypatch.setattr(K, "_nudge", no_nudge)
    for _ in range(3):
        assert session.nudge(+1, 4.0) is not None
    session.preview_weight(2, 0.7)
    session.end_preview()
    session.score()
    want = render(model.topo, session.weights, 40, 30)
    np.testing.assert_allclose(session.renderer.image(), want, atol=1e-5)
    expect = render(model.topo, session.weights, *model.size)
    assert session.rmse_now == pytest.approx(
        np.sqrt(np.mean((expect.astype(np.float64) - (model.image / 127.5 - 1.0)) ** 2)),
        abs=1e-5)


def test_views_waiting_for_kernels_show_the_painting_and_say_so():
    model = load_model(SMALL_MODEL)
    session = Session(model, kernels_ready=lambda stage: False)
    lay = Layout.fit((40, 30), model.size)
    session.resize(lay.rw, lay.rh)
    for view in (3, 5):
        session.state.view = view
        pic, label = frames.picture(session, lay, {})
        assert "compiling kernels" in label and pic.shape == (lay.rh, lay.rw, 3)
    session.kernels_ready = lambda stage: True
    _, label = frames.picture(session, lay, {})
    assert label.startswith("d paint/d w")


def test_every_kernel_is_named_and_a_renderer_works_during_warm_up():
    names = {d.py_func.__name__.split("__fm")[0].split("__nofm")[0] for d in dispatchers()}
    assert {"_render", "_forward_cache", "_nudge", "_adam_epoch", "_encode_rows",
            "_render_many", "_encode_diff_rows"} <= names  # parallel ones and the tui's too
    r = IncrementalRenderer(load_model(SMALL_MODEL).topo, np.zeros(
        load_model(SMALL_MODEL).n_synapses), 4, 4)
    assert r.image().shape == (4, 4, 3)


# The explorer's real work after --precompile, in a fresh process on the same cache: it
# prints how many kernel compilations missed the cache (must be 0) and how many it loaded.
CHILD = r"""
import json, numpy as np
from synens.core.files.model import load_model
from synens.core.network.render import to_uint8
from synens.core.network.train import TrainConfig, train
from synens.tui import frames, workers as W
from synens.tui.ansi import compose_cells, encode_rows
from synens.tui.session import Session
from synens.tui.state import Layout
from synens.tui.warmup import dispatchers
model = load_model({model!r})
s = Session(model)
lay = Layout.fit((60, 40), model.size)
s.resize(lay.rw, lay.rh)
s.nudge(+1)
for view in (1, 3, 4, 5):
    s.state.view = view
    pic, _ = frames.picture(s, lay, {{}})
    for mode in ("truecolor", "256"):
        encode_rows(*compose_cells(pic, mode, outline=(1, 1, 9, 9), cursor=(3, 3)))
s.score()
ens = W.analyse(model, s.weights, (4, 4, 20, 16))
W.report_text(model, s.weights, (4, 4, 20, 16), ens, W.null_for(ens, boxes=2))
W.atlas_parts(model, s.weights)
train(model.topo, model.image, TrainConfig(epochs=2, seed=0, adam_share=0.5))
train(model.topo, model.image, TrainConfig(epochs=1, seed=0, adam_share=0.0), weights=s.weights)
model.rmse(s.weights)
ds = list(dispatchers())
print(json.dumps({{
    "misses": {{d.py_func.__name__: len(d.stats.cache_misses) for d in ds
               if d.stats.cache_misses}},
    "hits": sum(len(d.stats.cache_hits) for d in ds)}}))
"""


@pytest.mark.skipif(APP is None, reason="synens-tui is not installed (pip install -e .)")
def test_precompile_fills_the_cache_so_a_warm_start_compiles_nothing(tmp_path):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    done = subprocess.run([APP, "--precompile"], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert sum("compiling kernels" in line for line in lines) == len(STAGES)
    assert "kernels compiled into the cache" in lines[-1]
    # cache files are named MODULE.KERNEL[__FLAGTAG]-LINE...; the tag marks the fast-math set
    index_files = {re.sub(r"__(fm[0-9a-f]+|nofm)$", "", p.name.split("-")[0])
                   for p in cache.rglob("*.nbi")}
    for name in ("forward._render", "forward._forward_cache", "forward._nudge",
                 "backward._adam_epoch", "ansi._encode_rows", "dither._dither_ordered"):
        assert name in index_files, f"{name} is not in the cache: {sorted(index_files)}"
    child = CHILD.format(model=str(SMALL_MODEL))
    warm = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True,
                          text=True, timeout=600, cwd=Path(__file__).parent)
    assert warm.returncode == 0, warm.stderr
    result = json.loads(warm.stdout.strip().splitlines()[-1])
    assert result["misses"] == {}, f"compiled again after --precompile: {result['misses']}"
    assert result["hits"] >= 10


def test_keys_while_kernels_compile_answer_at_once(model_path, tmp_path, monkeypatch):
    """The nudge stage is held (its kernel 'compiling'): → still updates the weight, the
    table, the painting (full re-render) and shows the compiling mark; the mark goes when
    the stages are done."""
    from app_fixtures import run
    from synens.tui.app import ExplorerApp

    release = threading.Event()
    fake = (Stage("paint", "painting", lambda: None),
            Stage("nudge", "nudge", lambda: release.wait(30)),
            Stage("training", "training", lambda: None))
    warm = Warmup(stages=fake).start()
    assert warm.wait("paint", 5)
    app = ExplorerApp(load_model(model_path), report_dir=str(tmp_path), save_dir=str(tmp_path),
                      warmup=warm)

    def no_nudge(*args):
        raise AssertionError("the incremental kernel ran before it was compiled")

    monkeypatch.setattr(K, "_nudge", no_nudge)

    async def body(pilot):
        before = app.state.weights[0]
        await pilot.press("right")
        assert app.state.weights[0] == pytest.approx(before + app.state.step)
        assert app.table._shown == 0 and app.session.dirty
        assert "compiling kernels 1/3" in app.canvas._caption
        want = render(app.model.topo, app.state.weights, *app.renderer.size)
        np.testing.assert_allclose(app.renderer.image(), want, atol=1e-5)
        monkeypatch.undo()
        release.set()
        assert warm.wait("training", 5)
        for _ in range(50):
            await pilot.pause(0.05)
            if "compiling" not in app.canvas._caption:
                break
        assert "compiling" not in app.canvas._caption
        await pilot.press("right")  # now the incremental path
        want = render(app.model.topo, app.state.weights, *app.renderer.size)
        np.testing.assert_allclose(app.renderer.image(), want, atol=1e-4)

    run(app, body)
