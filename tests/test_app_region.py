"""Pilot tests of the explorer's region mode, ensemble analysis, coordinated moves and dumps."""

from __future__ import annotations

import numpy as np
from app_fixtures import H, W, run, settle
from synens.core.analysis.region import region_ensemble
from synens.core.reports.region import region_report_text, summary_line


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
        x0, y0, x1, y1 = app.painter.layout.rect_to_canvas(st.region)
        assert app.painter.shown["outline"] == (x0, y0, x1, y1)
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
        assert app.keys.coord is None
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
        assert np.array_equal(st.weights, st.trained) and app.keys.coord is None

    run(app, body)


def test_mouse_drag_selects_a_region_and_click_selects_a_synapse(app):
    async def body(pilot):
        lay = app.painter.layout
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


def test_failing_worker_keeps_app_usable(app):
    def boom(*args):
        raise RuntimeError("analysis exploded")

    app.session.analyses.region = boom  # the one place the region analysis is called

    async def body(pilot):
        await pilot.press("s", "space", "right", "enter")
        await settle(pilot)
        assert app.ensemble is None and "analysis failed" in app.painter.extra
        assert any("analysis exploded" in str(n.message) for n in app._notifications)
        await pilot.press("j", "l")
        assert app.state.selected == 1 and app.state.undo_stack

    run(app, body)


def test_a_dump_after_edits_says_the_weights_were_edited(app, tmp_path):
    async def body(pilot):
        st = app.state
        await pilot.press("s", "space", "right", "right", "down", "enter")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("l", "j", "l")  # two weights edited
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        clean, edited = sorted(tmp_path.glob("*.txt"), key=lambda p: p.stat().st_mtime_ns)
        assert "weights:" not in clean.read_text()
        n = app.model.n_synapses
        note = f"edited in the explorer: 2 of {n} weights differ from the model file"
        assert f"weights:  {note}" in edited.read_text().splitlines()
        ens = region_ensemble(app.model.topo, st.weights, app.model.image, st.region)
        assert edited.read_text() == region_report_text(ens, app.model.path, weights_note=note)

    run(app, body)


def test_an_edit_marks_the_ensemble_stale_and_enter_reruns_it(app, tmp_path):
    async def body(pilot):
        st = app.state
        await pilot.press("s", "space", "right", "right", "down", "enter")
        await settle(pilot)
        first = app.ensemble
        pane = app.query_one("#ensemble-text")
        assert "weights changed" not in str(pane.render())
        await pilot.press("l")  # an edit: the pane must not pass the old analysis as current
        await pilot.pause()
        assert str(pane.render()).startswith("weights changed: enter re-runs")
        assert not app.session.is_current(app.session.get("region"))
        await pilot.press("d")  # d reports the weights in use, not the stale analysis's
        await settle(pilot)
        assert any("edited weights in use (1 differ from trained)" in str(n.message)
                   for n in app._notifications)
        report = next(tmp_path.glob("synens-report-*.txt")).read_text()
        ens = region_ensemble(app.model.topo, st.weights, app.model.image, st.region)
        assert summary_line(ens) in report
        await pilot.press("enter")  # re-runs the analysis on the edited weights
        await settle(pilot)
        assert app.ensemble is not first and app.session.is_current(app.session.get("region"))
        assert "weights changed" not in str(pane.render())
        assert np.array_equal(app.ensemble.members, ens.members)

    run(app, body)


def test_a_late_result_for_older_weights_is_shown_as_stale(app):
    async def body(pilot):
        await pilot.press("s", "space", "right", "right", "down", "enter")
        await settle(pilot)
        version, weights = app.session.snapshot()
        await pilot.press("l")
        ens = region_ensemble(app.model.topo, weights, app.model.image, app.state.region)
        app.jobs.analysed(app.state.region, version, ens)  # as a slow worker would post it
        await pilot.pause()
        assert app.ensemble is ens
        assert str(app.query_one("#ensemble-text").render()).startswith("weights changed")

    run(app, body)
