"""Pilot tests of the explorer's navigation, nudges, undo, sweeps, views and pure state."""

from __future__ import annotations

import numpy as np
import pytest
from app_fixtures import SIZE, run, settle, wait_until
from PIL import Image
from synens.core.files.model import load_model
from synens.core.network.render import render, to_uint8
from synens.tui.app import KEYMAP
from synens.tui.screens import GotoScreen, HelpScreen
from synens.tui.state import STEP_DEFAULT


def shown_painting(app) -> np.ndarray:
    """The painting the canvas shows (at the layout's render size)."""
    lay = app.painter.layout
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
        assert app.keys.sweeping is not None and "sweep" in app.painter.extra
        # the sweep's first frame is on screen: the trained value - 0.8 (the article's span)
        assert app.renderer.weights[1] == pytest.approx(st.trained[1] - 0.8)
        assert "Δ -0.800" in app.painter.extra and "RMSE" in app.painter.extra
        await pilot.press("j")  # stops the sweep and does nothing else
        assert app.keys.sweeping is None and st.selected == 1
        assert np.array_equal(st.weights, before) and not st.undo_stack
        await pilot.pause()
        assert np.allclose(app.renderer.weights, before)

    run(app, body)


def test_sweep_ends_by_itself_and_restores(app):
    async def body(pilot):
        before = app.state.weights.copy()
        await pilot.press("w")
        await wait_until(pilot, lambda: app.keys.sweeping is None, "the end of the sweep")
        assert app.painter.extra == ""
        assert np.array_equal(app.renderer.weights, before)

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
        lay = app.painter.layout  # view 2: the original picture, resampled (LANCZOS) to size
        inside = (slice(lay.oy, lay.oy + lay.rh), slice(lay.ox, lay.ox + lay.rw))
        original = Image.fromarray(app.model.image).resize((lay.rw, lay.rh), Image.LANCZOS)
        assert np.array_equal(pictures[2][inside], np.asarray(original))
        grey = pictures[4][inside]
        assert np.array_equal(grey[..., 0], grey[..., 1])  # activation in grey

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
        await wait_until(pilot, lambda: app.state.selected == 1, "the palette's command")

    run(app, body)


def test_too_small_message_recovers(app):
    async def body(pilot):
        assert app.has_class("-too-small")
        assert app.query_one("#too-small").display
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        assert not app.has_class("-too-small") and app.painter.layout is not None

    run(app, body, size=(60, 20))


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


def test_atlas_starts_only_when_its_view_is_asked_for(app):
    async def body(pilot):
        for view in "12345":
            await pilot.press(view)
        await settle(pilot)
        assert app.atlas is None and "atlas" not in app.jobs.busy
        await pilot.press("6")
        await settle(pilot)
        assert app.atlas is not None and app.session.is_current(app.session.get("atlas"))
        await pilot.press("l")  # an edit: the atlas is stale, and no worker starts by itself
        await pilot.pause()
        assert "atlas" not in app.jobs.busy and not app.session.is_current(app.session.get("atlas"))
        assert "weights changed: 6 re-runs" in app.painter.label
        await pilot.press("6")
        await settle(pilot)
        assert app.session.is_current(app.session.get("atlas"))
        assert "re-runs" not in app.painter.label

    run(app, body)


@pytest.mark.parametrize("span", [(-1e308, 1e308), (-1e38, 1e38)])
def test_a_huge_sweep_neither_crashes_nor_leaves_a_wrong_painting(model_path, tmp_path, span):
    """Found failure 5: --sweep=-1e308,1e308, a nudge, then w gave a traceback; with ±1e38
    the painting stayed wrong after the sweep, even after R and u."""
    from synens.tui.app import ExplorerApp

    app = ExplorerApp(load_model(model_path), save_dir=str(tmp_path), sweep=span)

    def shows(weights) -> bool:
        lay = app.painter.layout
        full = render(app.model.topo, weights, lay.rw, lay.rh)
        img = app.renderer.image()
        return bool(np.all(np.isfinite(img)) and np.abs(img - full).max() < 1e-4)

    async def body(pilot):
        await pilot.press("j", "l")
        edited = app.state.weights.copy()
        app.action_sweep()
        assert np.all(np.abs(app.keys.sweeping["values"]) <= 1000)
        for _ in range(100):
            await pilot.pause(0.05)
            if app.keys.sweeping is None:
                break
        assert app.keys.sweeping is None and np.array_equal(app.state.weights, edited)
        assert shows(edited) and np.isfinite(app.rmse_now)
        await pilot.press("R")
        assert shows(app.state.trained)
        await pilot.press("u")
        assert shows(edited)
        assert app.state.dirty and not list(tmp_path.glob("*autosave*"))

    run(app, body)
