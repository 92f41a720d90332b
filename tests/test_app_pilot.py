"""Pilot tests of the explorer: every key path, asserting on state (weights, undo, region...)."""

from __future__ import annotations

import argparse
import asyncio

import numpy as np
import pytest
from app_fixtures import H, W, small_model
from synens.core.ensemble import region_ensemble
from synens.core.model import load_model
from synens.core.render import render, to_uint8
from synens.core.report import region_report_text, summary_line
from synens.core.train import TrainConfig
from synens.tui import workers
from synens.tui.app import KEYMAP, ExplorerApp
from synens.tui.screens import GotoScreen, HelpScreen, QuitScreen
from synens.tui.state import STEP_DEFAULT

SIZE = (120, 36)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "small.npz"
    small_model(path)
    return path


@pytest.fixture
def app(model_path, tmp_path):
    return ExplorerApp(load_model(model_path), report_dir=str(tmp_path), save_dir=str(tmp_path))


def run(app, body, size=SIZE):
    """Run ``body(pilot)`` in the app at ``size`` (after the first paint)."""

    async def main():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(pilot)

    asyncio.run(main())


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def shown_painting(app) -> np.ndarray:
    """The painting the canvas shows (at the layout's render size)."""
    lay = app.layout
    return to_uint8(app.renderer.image()), lay


def test_navigation(app):
    async def body(pilot):
        st = app.state
        await pilot.press("j", "down", "j")
        assert st.selected == 3 and app.table._shown == 3
        await pilot.press("k")
        assert st.selected == 2
        await pilot.press("pagedown", "pagedown")
        assert st.selected == 22
        await pilot.press("pageup")
        assert st.selected == 12
        await pilot.press("up", *["pageup"] * 5)
        assert st.selected == 0  # clamped
        await pilot.press("n")
        assert st.selected == int(app.model.topo.ptr[1]) and st.neuron == 1
        await pilot.press("n", "N")
        assert st.neuron == 1
        await pilot.press("g")
        assert isinstance(app.screen, GotoScreen)
        await pilot.press("9", "9", "9", "enter")  # out of range: stays open, says so
        assert isinstance(app.screen, GotoScreen)
        await pilot.press("backspace", "backspace", "backspace", "4", "2", "enter")
        await pilot.pause()
        assert st.selected == 42 and not isinstance(app.screen, GotoScreen)

    run(app, body)


def test_nudge_step_undo_redo_reset(app):
    async def body(pilot):
        st = app.state
        trained = st.trained.copy()
        await pilot.press("j", "j")
        await pilot.press("l", "right")
        assert st.weights[2] == pytest.approx(trained[2] + 2 * STEP_DEFAULT)
        await pilot.press("h")
        assert st.weights[2] == pytest.approx(trained[2] + STEP_DEFAULT)
        await pilot.press("L")  # shift: ×10
        assert st.weights[2] == pytest.approx(trained[2] + 11 * STEP_DEFAULT)
        await pilot.press("right_square_bracket", "shift+left")
        assert st.step == 2 * STEP_DEFAULT
        assert st.weights[2] == pytest.approx(trained[2] - 9 * STEP_DEFAULT)
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert st.step == STEP_DEFAULT / 2
        assert len(st.undo_stack) == 5 and st.dirty
        # the canvas shows the edited painting (incremental render == full render)
        await pilot.pause()
        pic, lay = shown_painting(app)
        full = to_uint8(render(app.model.topo, st.weights, lay.rw, lay.rh))
        assert np.abs(pic.astype(int) - full).max() <= 1
        assert not np.array_equal(full, to_uint8(render(app.model.topo, trained, lay.rw, lay.rh)))
        await pilot.press("u", "u")
        assert st.weights[2] == pytest.approx(trained[2] + STEP_DEFAULT)
        assert len(st.undo_stack) == 3 and len(st.redo_stack) == 2
        await pilot.press("ctrl+r")
        assert st.weights[2] == pytest.approx(trained[2] + 11 * STEP_DEFAULT)
        await pilot.press("0")
        assert st.weights[2] == trained[2]
        await pilot.press("j", "l", "j", "h")
        assert np.count_nonzero(st.weights != trained) == 2
        await pilot.press("R")
        assert np.array_equal(st.weights, trained) and not st.dirty
        await pilot.press("u")  # reset-all is one undoable edit
        assert np.count_nonzero(st.weights != trained) == 2
        await pilot.pause()
        assert app.rmse_now != app.rmse_trained

    run(app, body)


def test_sweep_runs_and_any_key_stops_it(app):
    async def body(pilot):
        st = app.state
        before = st.weights.copy()
        await pilot.press("j")
        app.action_sweep()  # as the key w does (pilot.press would wait for the sweep's end)
        assert app.sweeping is not None and "sweep" in app.extra
        assert app.renderer.weights[1] == -0.8  # the sweep's first value is on screen
        await pilot.press("j")  # stops the sweep and does nothing else
        assert app.sweeping is None and st.selected == 1
        assert np.array_equal(st.weights, before) and not st.undo_stack
        await pilot.pause()
        assert np.allclose(app.renderer.weights, before)

    run(app, body)


def test_region_mode_and_ensemble_equal_core(app):
    async def body(pilot):
        st = app.state
        await pilot.press("s")
        assert (st.cursor.x, st.cursor.y) == (W // 2, H // 2)
        await pilot.press("left", "shift+left", "up")  # 16-1-8, 12-1
        await pilot.press("space")
        await pilot.press("right", "right", "shift+down")  # to 9, 19
        assert st.cursor.rect() == (7, 11, 10, 20)
        await pilot.press("enter")
        await settle(pilot)
        assert st.region == (7, 11, 10, 20) and st.cursor is None
        ens = region_ensemble(app.model.topo, app.model.weights, app.model.image, st.region)
        assert np.array_equal(app.ensemble.members, ens.members)
        assert np.array_equal(app.ensemble.core, ens.core)
        assert app.table.influence is not None
        assert set(app.table.members) == set(ens.members.tolist())
        text = str(app.query_one("#ensemble-text").render())
        assert summary_line(ens) in text
        # the outline on the canvas covers the region in canvas pixels
        x0, y0, x1, y1 = app.layout.rect_to_canvas(st.region)
        assert app._shown["outline"] == (x0, y0, x1, y1)
        await pilot.press("s", "escape")  # esc cancels and keeps the old region
        assert st.cursor is None and st.region == (7, 11, 10, 20)

    run(app, body)


def test_region_needs_a_corner_and_a_valid_rectangle(app):
    async def body(pilot):
        await pilot.press("s", "enter")
        assert app.state.cursor is not None and app.state.region is None
        await pilot.press(*["shift+left"] * 4, *["shift+up"] * 4, "space")
        await pilot.press(*["shift+right"] * 6, *["shift+down"] * 4, "enter")
        assert app.state.region is None  # the whole picture is refused, mode stays
        await pilot.press("left", "enter")
        await settle(pilot)
        assert app.state.region == (0, 0, W - 1, H)

    run(app, body)


def test_coordinated_move_and_dump(app, tmp_path):
    async def body(pilot):
        st = app.state
        await pilot.press("c")  # no region yet: nothing happens
        assert app.coord is None
        await pilot.press("d")
        assert not list(tmp_path.glob("*.txt"))
        await pilot.press("s", "space", "right", "right", "down", "enter")
        await settle(pilot)
        region = st.region
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        files = sorted(tmp_path.glob("*.txt"))
        assert [f.name for f in files] == [
            "synens-report-16-12-19-14-2.txt",
            "synens-report-16-12-19-14.txt",
        ]
        ens = region_ensemble(app.model.topo, app.model.weights, app.model.image, region)
        assert files[1].read_text() == region_report_text(ens, app.model.path)
        await pilot.press("c", "right", "right")
        move = np.asarray(ens.moves[0]["vector"])
        assert np.allclose(st.weights[ens.members] - st.trained[ens.members], 2 * st.step * move)
        assert len(st.undo_stack) == 2
        await pilot.press("u", "u", "escape")
        assert np.array_equal(st.weights, st.trained) and app.coord is None

    run(app, body)


def test_views(app):
    async def body(pilot):
        pictures = {}
        for view in range(1, 7):
            await pilot.press(str(view))
            await settle(pilot)
            assert app.state.view == view
            pictures[view] = app.canvas._rgb.copy()
        assert app.atlas is not None and app.atlas.ndim == 3
        assert len({p.tobytes() for p in pictures.values()}) == 6
        assert np.array_equal(pictures[2][:, :, 0], pictures[2][:, :, 0])
        grey = pictures[4][app.layout.oy :, app.layout.ox : app.layout.ox + app.layout.rw]
        assert np.array_equal(grey[..., 0], grey[..., 1])  # activation in grey

    run(app, body)


def test_train_continues_and_stops(app):
    app.continue_config = TrainConfig(seed=0, seconds=600.0, adam_share=1.0)  # never converges

    async def body(pilot):
        st = app.state
        await pilot.press("t")
        assert app.trainer is not None
        for _ in range(100):
            await pilot.pause(0.05)
            if app.trainer is not None and app.trainer._last:
                break
        await pilot.press("l")  # edits wait while training runs
        assert not st.undo_stack
        await pilot.press("t")
        await settle(pilot)
        assert app.trainer is None
        assert st.undo_stack and st.undo_stack[-1].what == "train"
        assert not np.array_equal(st.weights, st.trained)
        await pilot.press("u")
        assert np.array_equal(st.weights, st.trained)

    run(app, body)


def test_save_writes_new_files(app, tmp_path):
    async def body(pilot):
        await pilot.press("j", "l", "ctrl+s")
        saved = tmp_path / "small-edited.npz"
        assert saved.exists() and not app.state.dirty
        assert np.array_equal(load_model(saved).weights, app.state.weights)
        await pilot.press("l", "ctrl+s")
        assert (tmp_path / "small-edited-2.npz").exists()
        assert np.array_equal(load_model(saved).weights[1], app.state.weights[1] - app.state.step)

    run(app, body)


@pytest.mark.parametrize("choice", ["y", "n", "escape"])
def test_quit_asks_with_unsaved_edits(app, tmp_path, choice):
    async def body(pilot):
        await pilot.press("l", "q")
        assert isinstance(app.screen, QuitScreen)
        await pilot.press(choice)
        await pilot.pause()

    run(app, body)
    autosaves = list(tmp_path.glob("*autosave*.npz"))
    if choice == "n":
        assert len(autosaves) == 1 and str(autosaves[0]) in app.return_value
        assert load_model(autosaves[0]).weights[0] == app.state.weights[0]
    else:
        assert not autosaves
    assert app.is_running is False or choice == "escape"


def test_quit_without_edits_exits(app):
    async def body(pilot):
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running

    run(app, body)


def test_help_and_palette(app):
    async def body(pilot):
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("x")
        assert not isinstance(app.screen, HelpScreen)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {t for *_, t in KEYMAP if t} <= titles
        await pilot.press("ctrl+p")
        await pilot.press(*"Next synapse", "enter")
        await pilot.pause(0.3)
        assert app.state.selected == 1

    run(app, body)


def test_too_small_message_recovers(app):
    async def body(pilot):
        assert app.has_class("-too-small")
        assert app.query_one("#too-small").display
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        assert not app.has_class("-too-small") and app.layout is not None

    run(app, body, size=(60, 20))


def test_failing_worker_keeps_app_usable(app, monkeypatch):
    def boom(*args):
        raise RuntimeError("analysis exploded")

    monkeypatch.setattr(workers, "analyse", boom)

    async def body(pilot):
        await pilot.press("s", "space", "right", "enter")
        await settle(pilot)
        assert app.ensemble is None and "analysis failed" in app.extra
        assert any("analysis exploded" in str(n.message) for n in app._notifications)
        await pilot.press("j", "l")
        assert app.state.selected == 1 and app.state.undo_stack

    run(app, body)


def test_sweep_ends_by_itself_and_restores(app):
    async def body(pilot):
        before = app.state.weights.copy()
        await pilot.press("w")
        for _ in range(100):
            await pilot.pause(0.05)
            if app.sweeping is None:
                break
        assert app.sweeping is None and app.extra == ""
        assert np.array_equal(app.renderer.weights, before)

    run(app, body)


def test_picture_launch_trains_live_and_saves(tmp_path):
    from app_fixtures import picture
    from PIL import Image
    from synens.tui.launch import add_arguments, open_target

    png = tmp_path / "shapes.png"
    Image.fromarray(picture()).save(png)
    args = add_arguments(argparse.ArgumentParser()).parse_args(
        [str(png), "--size", "32", "--seed", "1", "--save-dir", str(tmp_path)]
    )
    model, train_to = open_target(args)
    assert train_to == tmp_path / "shapes.npz" and model.path is None
    assert model.image.shape == (24, 32, 3)
    app = ExplorerApp(model, train_to=train_to, train_seconds=1.0, save_dir=str(tmp_path))
    seen = []
    progress = app._progress

    def spy(update):
        progress(update)
        seen.append((app.query_one("#train-row").has_class("-on"), app.rmse_now))

    app._progress = spy

    async def body(pilot):
        for _ in range(200):
            await pilot.pause(0.05)
            if app.trainer is None and seen:
                break
        await settle(pilot)

    run(app, body)
    assert seen and seen[0][0]  # the progress row showed while training
    assert seen[-1][1] < seen[0][1]  # and the painting improved live
    saved = load_model(train_to)
    assert app.model.path == str(train_to) and not app.state.dirty
    assert np.array_equal(saved.weights, app.state.weights)
    assert app.rmse_trained == pytest.approx(app.rmse_now) and app.rmse_now < 0.6


def test_launch_options_and_colour_mode(tmp_path, model_path, monkeypatch):
    from synens.core.errors import SynensError
    from synens.tui import launch

    got = {}

    class FakeApp:
        def __init__(self, model, **kwargs):
            got.update(kwargs, model=model)

        def run(self):
            return "unsaved edits kept in X"

    def parse(*argv):
        return launch.add_arguments(argparse.ArgumentParser()).parse_args(list(argv))

    monkeypatch.setenv("COLORTERM", "truecolor")
    assert launch.run(parse(str(model_path)), FakeApp) == 0
    assert got["color_mode"] == "truecolor" and got["train_to"] is None
    assert got["sweep"] == (-0.8, 0.3) and got["model"].path == str(model_path)
    monkeypatch.delenv("COLORTERM")
    launch.run(parse(str(model_path), "--sweep=-1,1"), FakeApp)
    assert got["color_mode"] == "256" and got["sweep"] == (-1.0, 1.0)
    monkeypatch.setenv("COLORTERM", "24bit")
    launch.run(parse(str(model_path), "--colors", "256"), FakeApp)
    assert got["color_mode"] == "256"
    monkeypatch.setattr(launch, "default_model_path", lambda: model_path)
    launch.run(parse(), FakeApp)
    assert got["model"].path == str(model_path)
    monkeypatch.setattr(launch, "default_model_path", lambda: tmp_path / "missing.npz")
    for argv, message in [
        ((), "default model is missing"),
        ((str(model_path), "--sweep", "1"), "--sweep"),
        ((str(model_path), "--report-dir", str(tmp_path / "no")), "--report-dir"),
        ((str(tmp_path / "none.png"),), "not found"),
    ]:
        with pytest.raises(SynensError, match=message):
            launch.run(parse(*argv), FakeApp)


def test_mouse_drag_selects_a_region_and_click_selects_a_synapse(app):
    async def body(pilot):
        lay = app.layout
        a, b = lay.to_canvas(4, 4), lay.to_canvas(12, 10)
        start = (a[0], a[1] // 2)
        end = (b[0], b[1] // 2)
        await pilot.mouse_down("#canvas", offset=start)
        assert app.state.cursor is not None and app.state.cursor.anchor is not None
        await pilot.hover("#canvas", offset=end)
        await pilot.mouse_up("#canvas", offset=end)
        await settle(pilot)
        assert app.state.region is not None and app.ensemble is not None
        assert app.state.region[:2] == lay.to_picture(a[0], 2 * start[1])
        await pilot.click("#table", offset=(5, 3))
        assert app.state.selected == 3

    run(app, body)


# -- the pure state (no Textual) ------------------------------------------------------
def test_layout_maps_canvas_pixels_to_picture_pixels():
    from synens.tui.state import Layout

    lay = Layout.fit((140, 116), (128, 99))  # the default model in a 200x60 terminal
    assert (lay.rw, lay.rh) == (140, 108) and lay.ox == 0
    wide = Layout.fit((300, 100), (32, 24))  # pillar-boxed: centred horizontally
    assert (wide.rw, wide.rh, wide.ox) == (133, 100, 83)
    for layout in (lay, wide, Layout.fit((20, 18), (128, 99))):
        for px in range(0, layout.pw, 7):
            for py in range(0, layout.ph, 5):
                if layout.rw >= layout.pw:  # each picture pixel has its own canvas pixel
                    assert layout.to_picture(*layout.to_canvas(px, py)) == (px, py)
    x0, y0, x1, y1 = wide.rect_to_canvas((0, 0, 32, 24))
    assert (x0, y0, x1, y1) == (wide.ox, 0, wide.ox + wide.rw, wide.rh)
    assert wide.to_picture(0, 0) == (0, 0) and wide.to_picture(299, 99) == (31, 23)


def test_state_edits_without_textual(model_path):
    from synens.tui.state import ExplorerState

    m = load_model(model_path)
    st = ExplorerState(m.topo, m.weights, m.size)
    assert st.nudge(+1) is not None and st.dirty
    assert st.apply(0, st.weights[0], "same") is None  # no change, no undo entry
    st.select(10**6)
    assert st.selected == m.topo.n_synapses - 1
    assert st.next_neuron(1) == st.selected  # the last neuron has no next
    st.select(0)
    for _ in range(3):
        st.next_neuron(1)
    assert st.neuron == 3 and st.selected == int(m.topo.ptr[3])
    edit = st.reset_all()
    assert edit.ids == (0,) and not st.dirty and len(st.undo_stack) == 2
    st.undo()
    assert st.dirty
    st.mark_saved()
    assert not st.dirty and st.undo_stack
    st.mark_saved(new_baseline=True)
    assert not st.undo_stack and np.array_equal(st.trained, st.weights)
    assert st.scale_step(1e-9) > 0 and st.scale_step(1e12) <= 16
    st.start_region()
    st.move_cursor(-1000, -1000)
    st.fix_corner()
    st.move_cursor(2, 3)
    assert st.confirm_region() == (0, 0, 3, 4) and st.cursor is None
    assert st.start_region().anchor == (0, 0)
    with pytest.raises(ValueError):
        st.apply(1, float("nan"), "bad")
