"""The explorer's Session without Textual: versions, undo/redo, stale results, bounds, autosave."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from synens.core.files.model import load_model
from synens.core.network.render import render, rmse
from synens.tui.session import MAX_WEIGHT, Analyses, Session, bounded, sweep_deltas

RW, RH = 40, 30  # the display renderer's size in these tests


@pytest.fixture
def session(model_path):
    s = Session(load_model(model_path))
    s.resize(RW, RH)
    return s


def shown_matches_full_render(s: Session, weights: np.ndarray) -> bool:
    """The display renderer shows ``weights`` (float32 tolerance, never exact equality)."""
    full = render(s.model.topo, weights, RW, RH)
    img = s.renderer.image()
    return bool(np.all(np.isfinite(img)) and np.abs(img - full).max() < 1e-4)


def test_the_session_module_never_imports_textual():
    code = ("import sys, synens.tui.session, synens.tui.frames; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_change_of_the_weights_gets_a_new_version(session):
    s = session
    assert s.version == 0
    s.state.select(2)
    assert s.nudge(+1) is not None and s.version == 1
    assert s.edit(2, s.weights[2], "same") is None and s.version == 1  # no change, no version
    s.nudge(+1, 10)
    assert s.version == 2
    s.undo()
    assert s.version == 3
    s.redo()
    assert s.version == 4
    assert s.reset_all() is not None and s.version == 5
    assert s.reset_all() is None and s.version == 5
    version, weights = s.snapshot()
    assert version == 5 and weights is not s.weights and np.array_equal(weights, s.weights)


def test_undo_redo_restore_weights_and_painting(session):
    s = session
    trained = s.state.trained.copy()
    for syn in (0, 5, 9):
        s.state.select(syn)
        s.nudge(+1, 7)
    after = s.weights.copy()
    assert np.count_nonzero(after != trained) == 3
    assert shown_matches_full_render(s, after)
    for _ in range(3):
        s.undo()
    assert np.array_equal(s.weights, trained) and s.undo() is None
    assert shown_matches_full_render(s, trained)
    for _ in range(3):
        s.redo()
    assert np.array_equal(s.weights, after) and s.redo() is None
    assert shown_matches_full_render(s, after)
    assert s.score() == pytest.approx(rmse(render(s.model.topo, after, *s.model.size),
                                           s.model.image), abs=1e-5)


def test_results_are_tagged_and_go_stale_after_an_edit(session):
    s = session
    version, weights = s.snapshot()
    assert s.put("region", version, (0, 0, 4, 4), "ensemble A") is True
    tag = s.get("region", (0, 0, 4, 4), current=True)
    assert tag is not None and tag.value == "ensemble A" and s.is_current(tag)
    assert s.get("region", (1, 1, 4, 4)) is None  # another region: not this result
    s.nudge(+1)
    assert not s.is_current(s.get("region"))
    assert s.get("region", (0, 0, 4, 4), current=True) is None
    assert s.get("region", (0, 0, 4, 4)).value == "ensemble A"  # still there, as stale
    # a worker that started before the edit posts its result late: it is kept as stale
    assert s.put("atlas", version, None, np.zeros((1, 2, 2))) is False
    assert not s.is_current(s.get("atlas"))
    s.undo()  # back to the same numbers, but a new version: still stale (never shown as current)
    assert not s.is_current(s.get("region"))


def test_analyses_are_pluggable_and_get_the_snapshot(session):
    seen = []

    def fake_region(model, weights, rect):
        seen.append((weights.copy(), rect))
        return "fake"

    s = Session(session.model, Analyses(region=fake_region))
    s.nudge(+1)
    version, weights = s.snapshot()
    assert s.analyse_region(weights, (1, 2, 3, 4)) == "fake"
    assert np.array_equal(seen[0][0], s.weights) and seen[0][1] == (1, 2, 3, 4)


def test_the_null_and_the_report_are_pluggable_with_the_null_settings(session):
    seen = {}

    def fake_null(control, boxes, seed, progress, cancelled):
        seen["null"] = (control, boxes, seed)
        progress(1, boxes)
        return "null result" if not cancelled() else None

    def fake_report(model, weights, rect, control, null):
        seen["report"] = (weights.copy(), rect, control, null)
        return "text"

    s = Session(session.model, Analyses(null=fake_null, report=fake_report, null_boxes=7,
                                        null_seed=3))
    steps = []
    assert s.region_null("control", lambda d, t: steps.append((d, t)),
                         lambda: False) == "null result"
    assert seen["null"] == ("control", 7, 3) and steps == [(1, 7)]
    s.nudge(+1)
    assert s.report((1, 2, 3, 4), s.weights, "control", "null result") == "text"
    w, rect, control, null = seen["report"]
    assert np.array_equal(w, s.weights) and rect == (1, 2, 3, 4)
    assert (control, null) == ("control", "null result")


def test_the_default_null_and_report_are_the_report_command_s():
    from synens.tui import workers as W

    a = Analyses()
    assert (a.null_boxes, a.null_seed) == (20, 0)  # synens-tui report's defaults
    assert a.null is W.null_for and a.report is W.report_text and a.region is W.analyse


def test_every_weight_the_session_sets_is_bounded(session):
    s = session
    s.state.select(3)
    s.edit(3, 1e308, "huge")
    assert s.weights[3] == MAX_WEIGHT and shown_matches_full_render(s, s.weights)
    s.edit([3, 4], [-1e300, 5.0], "two")
    assert s.weights[3] == -MAX_WEIGHT and s.weights[4] == 5.0
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="finite"):
            s.edit(3, bad, "bad")
    s.state.step = 16.0
    for _ in range(100):
        s.nudge(+1, 10)
    assert s.weights[3] == MAX_WEIGHT
    with pytest.raises(ValueError):
        s.replace_all(np.full(s.weights.size, np.nan), "train")
    s.replace_all(np.full(s.weights.size, 1e30), "train")
    assert np.all(s.weights == MAX_WEIGHT)
    assert np.array_equal(bounded([1e6, -2.5]), [MAX_WEIGHT, -2.5])


@pytest.mark.parametrize("span", [(-1e308, 1e308), (-1e38, 1e38)])
def test_a_huge_sweep_is_bounded_and_the_painting_recovers(session, span):
    """Found failure 5: a huge sweep crashed the app or left a wrong painting behind."""
    s = session
    s.state.select(6)
    s.nudge(+1)
    edited = s.weights.copy()
    deltas, values = s.sweep(6, *span, 45)
    assert np.all(np.abs(values) <= MAX_WEIGHT) and 0.0 in deltas
    for v in values:
        s.preview_weight(6, float(v))
        assert np.isfinite(s.rmse_now)
    assert np.array_equal(s.weights, edited)  # a sweep is a preview, not an edit
    s.end_preview()
    assert shown_matches_full_render(s, edited)
    s.reset_all()
    assert shown_matches_full_render(s, s.state.trained)
    s.undo()
    assert shown_matches_full_render(s, edited)


def test_sweep_is_relative_to_the_trained_value_with_a_zero_frame(session):
    s = session
    trained = s.state.trained
    for lo, hi, n in [(-0.8, 0.3, 45), (-0.8, 0.3, 8), (0.1, 0.5, 5), (0.3, -0.8, 7)]:
        d = sweep_deltas(lo, hi, n)
        assert np.count_nonzero(d == 0.0) == 1
        assert d[0] == pytest.approx(min(lo, 0.0) if lo < hi else max(lo, 0.0))
        assert np.all(np.diff(d) > 0) if lo < hi else np.all(np.diff(d) < 0)
    s.state.select(4)
    s.nudge(+1, 3)  # the sweep is around the trained value, not the edited one
    deltas, values = s.sweep(4, -0.8, 0.3, 45)
    assert np.allclose(values, trained[4] + deltas)
    zero = int(np.flatnonzero(deltas == 0.0)[0])
    s.preview_weight(4, float(values[zero]))
    s.state.select(4)
    trained_rmse = rmse(render(s.model.topo, np.where(np.arange(trained.size) == 4, trained[4],
                                                      s.weights), *s.model.size), s.model.image)
    assert s.rmse_now == pytest.approx(trained_rmse, abs=1e-5)
    s.end_preview()
    s.reset_all()
    s.preview_weight(4, float(values[zero]))
    assert s.rmse_now == pytest.approx(s.rmse_trained, abs=1e-5)  # Δ = 0: the trained RMSE


def test_a_weight_nudged_back_counts_as_no_edit(session):
    s = session
    s.state.step = 0.1
    # find a synapse whose weight does not come back bit for bit after +0.1, -0.1
    inexact = [i for i, w in enumerate(s.weights) if (w + 0.1) - 0.1 != w]
    assert inexact, "the test needs a weight that float rounding moves"
    s.state.select(inexact[0])
    s.nudge(+1)
    assert s.edit_count == 1 and s.dirty
    s.nudge(-1)
    assert s.weights[inexact[0]] != s.state.trained[inexact[0]]  # rounding left a trace...
    assert s.edit_count == 0 and not s.dirty  # ...that counts as no edit
    s.nudge(+1)
    assert s.edit_count == 1


def test_autosave_keeps_unsaved_edits(session, tmp_path):
    s = session
    assert s.autosave(tmp_path) is None  # nothing unsaved: no file
    s.nudge(+1, 4)
    path = s.autosave(tmp_path)
    stem = s.model.path.rsplit("/", 1)[-1].removesuffix(".npz")
    assert path.name == f"{stem}-autosave.npz"
    assert np.array_equal(load_model(path).weights, s.weights)
    again = s.autosave(tmp_path)  # never over an existing file
    assert again != path and again.exists() and path.exists()
    latest = s.weights + 0.5  # a training's newest weights are kept even when not edited
    s.mark_saved()
    assert np.array_equal(load_model(s.autosave(tmp_path, latest)).weights, latest)


def test_training_updates_never_wait_for_the_ui(model_path):
    """The worker only keeps its newest update and calls a non-blocking notify once until
    the UI takes it: a UI that never looks does not slow or stop the training."""
    from synens.core.network.train import TrainConfig
    from synens.tui.workers import Trainer

    model = load_model(model_path)
    calls = []
    trainer = Trainer(model, model.weights, TrainConfig(seed=0, epochs=40, adam_share=1.0),
                      lambda: calls.append(1), interval=0.0)
    result = trainer.run()
    assert result.epochs == 40
    assert len(calls) == 1  # nobody took the first update: no further notifications
    update = trainer.take_update()
    assert update is not None and update.epoch > 1  # the newest, not the first
    assert np.array_equal(trainer.latest, update.weights)
    assert trainer.take_update() is None
