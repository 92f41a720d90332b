"""Pilot tests of the explorer's region mode: first answer, null, c/C moves, stale marks, dumps."""

from __future__ import annotations

import threading

import numpy as np
from app_fixtures import H, W, run, settle
from conftest import NULL_BOXES
from synens.core.analysis.control import region_control
from synens.core.analysis.masks import rect_mask
from synens.core.files.model import load_model, save_model
from synens.core.reports.control import summary_line
from synens.tui.controller import COORD_STEP
from test_cli import call

#: The keys that select the rectangle 16,12,19,14 (the cursor starts at 16,12).
SELECT = ("s", "space", "right", "right", "down", "enter")
RECT = (16, 12, 19, 14)


def control_of(app, weights, rect):
    """The region analysis computed here, outside the app."""
    return region_control(app.model.topo, np.asarray(weights, np.float64), rect_mask(rect, W, H))


def pane(app) -> str:
    return str(app.query_one("#ensemble-text").render())


def cli_report(capsys, model_path, rect) -> str:
    code, out, err = call(capsys, "report", model_path, "--region", ",".join(map(str, rect)),
                          "--null-boxes", NULL_BOXES)
    assert code == 0, err
    return out


def test_region_mode_and_the_first_answer_equal_core(app):
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
        c = control_of(app, app.model.weights, st.region)
        assert np.array_equal(app.ensemble.members, c.members)
        assert set(app.table.members) == set(c.members.tolist())
        assert np.allclose(app.table.influence, np.sqrt(np.diag(c.ctx.a)), rtol=1e-4, atol=1e-9)
        text = pane(app)
        lines = text.splitlines()
        # the answer first: summary, sel, gains, curve, null; details after
        assert lines[1] == summary_line(c)
        order = [text.index(w) for w in ("gain over best synapse", "gain over best neuron",
                                         "curve k 1..", "specificity:", "members (", "rule:")]
        assert order == sorted(order)
        assert f"percentile of {NULL_BOXES} random boxes" in text
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


def test_the_null_arrives_after_the_first_answer_and_updates_the_pane(app):
    release, calls = threading.Event(), []
    real = app.session.analyses.null

    def slow_null(control, boxes, seed, progress, cancelled):
        calls.append((boxes, seed))
        progress(1, boxes)
        assert release.wait(30)  # held until the test has seen the first answer
        return real(control, boxes, seed, progress, cancelled)

    app.session.analyses.null = slow_null

    async def body(pilot):
        await pilot.press(*SELECT)
        while "analysis" in app.jobs.busy:  # the first answer, while the null is held
            await pilot.pause(0.05)
        await pilot.pause(0.1)
        text = pane(app)
        assert "ensemble:" in text and "specificity" not in text
        assert f"null: 1 of {NULL_BOXES} random boxes of this size done" in text
        run = app.jobs.region.null_run
        assert run is not None and not run.finished.is_set()
        release.set()
        await settle(pilot)
        assert calls == [(NULL_BOXES, 0)]
        tag = app.session.get("null", RECT, current=True)
        assert tag is not None and tag.value.percentile["ensemble"] is not None
        text = pane(app)
        assert "specificity: " in text and "null: 1 of" not in text
        assert f"percentile of {NULL_BOXES - tag.value.unreachable} random boxes" in text

    run(app, body)


def test_esc_cancels_the_null_and_enter_runs_it_again(app):
    started, real = threading.Event(), app.session.analyses.null

    def waiting_null(control, boxes, seed, progress, cancelled):
        started.set()
        while not cancelled():
            threading.Event().wait(0.01)
        raise InterruptedError("null cancelled")

    app.session.analyses.null = waiting_null

    async def body(pilot):
        await pilot.press(*SELECT)
        while not started.is_set():
            await pilot.pause(0.05)
        await pilot.press("escape")
        await settle(pilot)
        assert "null: cancelled (enter runs it again)" in pane(app)
        assert "null" not in app.jobs.busy and app.session.get("null") is None
        app.session.analyses.null = real
        await pilot.press("enter")  # the analysis is current: only the null runs again
        await settle(pilot)
        assert app.session.get("null", RECT, current=True) is not None
        assert "specificity:" in pane(app)

    run(app, body)


def test_c_follows_the_ensemble_move_and_C_toggles_to_the_best_neuron(app):
    async def body(pilot):
        st = app.state
        await pilot.press("c")  # no region yet: nothing happens
        assert app.keys.coord is None
        await pilot.press(*SELECT)
        await settle(pilot)
        c = control_of(app, app.model.weights, RECT)
        ens, (_, neuron) = c.ensemble, c.baselines["neuron"]
        e_ids, n_ids = ens.synapses, neuron.synapses
        e_step = ens.measured.scale * ens.vector[e_ids]
        n_step = neuron.measured.scale * neuron.vector[n_ids]
        await pilot.press("c", "right", "right")
        t = 2 * COORD_STEP
        d = st.weights - st.trained
        assert np.allclose(d[e_ids], t * e_step, rtol=1e-6, atol=1e-12)
        assert np.count_nonzero(d) <= e_ids.size
        assert "ensemble move" in app.painter.extra
        assert f"sel {ens.measured.sel:.3g}" in app.painter.extra
        await pilot.press("C")  # the best neuron's move at the same position
        d = st.weights - st.trained
        assert np.allclose(d[n_ids], t * n_step, rtol=1e-6, atol=1e-12)
        assert np.allclose(np.delete(d, n_ids), 0.0, atol=1e-12)
        assert "best-neuron move" in app.painter.extra
        assert f"sel {neuron.measured.sel:.3g}" in app.painter.extra
        await pilot.press("right")
        d = st.weights - st.trained
        assert np.allclose(d[n_ids], 3 * COORD_STEP * n_step, rtol=1e-6, atol=1e-12)
        await pilot.press("C")  # and back
        d = st.weights - st.trained
        assert np.allclose(d[e_ids], 3 * COORD_STEP * ens.measured.scale * ens.vector[e_ids],
                           rtol=1e-6, atol=1e-12)
        assert "ensemble move" in app.painter.extra
        assert len(st.undo_stack) == 5
        await pilot.press("u", "u", "u", "u", "u", "escape")
        assert np.array_equal(st.weights, st.trained) and app.keys.coord is None

    run(app, body)


def test_d_writes_what_the_report_command_prints(app, tmp_path, model_path, capsys):
    async def body(pilot):
        await pilot.press("d")
        await settle(pilot)
        assert not list(tmp_path.glob("*.txt"))  # no region yet: nothing written
        await pilot.press(*SELECT)
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        files = sorted(tmp_path.glob("*.txt"))
        assert [f.name for f in files] == [
            "synens-report-16-12-19-14-2.txt",
            "synens-report-16-12-19-14.txt",
        ]
        assert files[0].read_text() == files[1].read_text()
        assert any("trained weights written to" in str(n.message) for n in app._notifications)

    run(app, body)
    dump = (tmp_path / "synens-report-16-12-19-14.txt").read_text()
    assert dump.startswith("synens-tui region report (control instrument, synens-report/2)")
    assert "weights:" not in dump
    assert dump == cli_report(capsys, model_path, RECT)


def test_d_before_the_null_has_arrived_waits_for_it(app, tmp_path, model_path, capsys):
    release, real = threading.Event(), app.session.analyses.null

    def held_null(control, boxes, seed, progress, cancelled):
        assert release.wait(30)
        return real(control, boxes, seed, progress, cancelled)

    app.session.analyses.null = held_null

    async def body(pilot):
        await pilot.press(*SELECT)
        while "analysis" in app.jobs.busy:
            await pilot.pause(0.05)
        await pilot.press("d")  # the null is still running: the dump waits for it
        await pilot.pause(0.2)
        assert not list(tmp_path.glob("*.txt"))
        release.set()
        await settle(pilot)

    run(app, body)
    (dump,) = tmp_path.glob("*.txt")
    assert dump.read_text() == cli_report(capsys, model_path, RECT)


def test_a_dump_after_edits_is_for_the_weights_in_use_and_says_so(app, tmp_path, capsys):
    async def body(pilot):
        await pilot.press(*SELECT)
        await settle(pilot)
        await pilot.press("l", "j", "l")  # two weights edited
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert any("edited weights in use (2 differ from trained)" in str(n.message)
                   for n in app._notifications)

    run(app, body)
    (dump,) = tmp_path.glob("*.txt")
    text = dump.read_text()
    n = app.model.n_synapses
    note = f"edited in the explorer: 2 of {n} weights differ from the model file"
    assert f"weights:  {note}" in text.splitlines()
    # the same report as the command's on a model file holding the edited weights
    edited = load_model(app.model.path)
    edited.weights = app.state.weights.copy()
    path = tmp_path / "edited.npz"
    save_model(edited, path)
    cli = cli_report(capsys, path, RECT)

    def body_of(t: str) -> list[str]:
        return [ln for ln in t.splitlines() if not ln.startswith(("model:", "weights:"))]

    assert body_of(text) == body_of(cli)
    assert body_of(text) != body_of(cli_report(capsys, app.model.path, RECT))


def test_an_edit_marks_the_pane_stale_and_enter_reruns_it(app):
    async def body(pilot):
        st = app.state
        await pilot.press(*SELECT)
        await settle(pilot)
        first = app.ensemble
        assert "weights changed" not in pane(app)
        await pilot.press("l")  # an edit: the pane must not pass the old analysis as current
        await pilot.pause()
        assert pane(app).startswith("weights changed: enter re-runs")
        assert "specificity:" in pane(app)  # the old null stays, under the stale mark
        assert not app.session.is_current(app.session.get("region"))
        await pilot.press("enter")  # re-runs the analysis (and the null) on the edited weights
        await settle(pilot)
        assert app.ensemble is not first and app.session.is_current(app.session.get("region"))
        assert app.session.get("null", RECT, current=True) is not None
        assert "weights changed" not in pane(app)
        c = control_of(app, st.weights, RECT)
        assert np.array_equal(app.ensemble.members, c.members)

    run(app, body)


def test_a_late_result_for_older_weights_is_shown_as_stale(app):
    async def body(pilot):
        await pilot.press(*SELECT)
        await settle(pilot)
        version, weights = app.session.snapshot()
        await pilot.press("l")
        c = control_of(app, weights, app.state.region)
        app.jobs.region.analysed(app.state.region, version, c)  # as a slow worker would post it
        await settle(pilot)
        assert app.ensemble is c
        assert pane(app).startswith("weights changed")

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
