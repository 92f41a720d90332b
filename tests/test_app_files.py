"""Pilot tests of the explorer's training, saving, quitting and launch from the command line."""

from __future__ import annotations

import argparse
import functools

import numpy as np
import pytest
from app_fixtures import run, settle, wait_until
from synens.core.files.model import load_model
from synens.core.network.train import TrainConfig
from synens.tui.app import ExplorerApp
from synens.tui.screens import QuitScreen

#: Epochs of the live training after a PICTURE launch (test_picture_launch_trains_live_and_saves).
EPOCHS = 120


def test_train_continues_and_stops(app):
    app.jobs.continue_config = TrainConfig(seed=0, seconds=600.0, adam_share=1.0)  # never converges

    async def body(pilot):
        st = app.state
        await pilot.press("t")
        assert app.jobs.trainer is not None
        await wait_until(pilot, lambda: app.jobs.trainer is not None and app.jobs.trainer._last,
                         "a training update")
        await pilot.press("l")  # edits wait while training runs
        assert not st.undo_stack
        await pilot.press("t")
        await settle(pilot)
        assert app.jobs.trainer is None
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
        if choice == "escape":  # back to the explorer, the edit still there and unsaved
            assert app.is_running and not isinstance(app.screen, QuitScreen)
            assert app.state.dirty and app.state.weights[0] != app.model.weights[0]
        else:
            assert not app.is_running

    run(app, body)
    autosaves = list(tmp_path.glob("*autosave*.npz"))
    if choice == "n":
        assert len(autosaves) == 1 and str(autosaves[0]) in app.return_value
        assert load_model(autosaves[0]).weights[0] == app.state.weights[0]
    else:
        assert not autosaves


def test_quit_without_edits_exits(app):
    async def body(pilot):
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running

    run(app, body)


def test_picture_launch_trains_live_and_saves(tmp_path, monkeypatch):
    from app_fixtures import picture
    from PIL import Image
    from synens.tui import jobs, workers
    from synens.tui.launch import add_arguments, open_target

    # A fixed amount of work, every epoch reported: a busy machine cannot change the outcome
    # (with a time budget it gave a single progress update, and nothing to compare).
    def fixed(seed, seconds, **kw):  # the picture launch's config: a fixed epoch count
        return TrainConfig(seed=seed, epochs=EPOCHS, **kw)

    monkeypatch.setattr(jobs, "TrainConfig", fixed)
    monkeypatch.setattr(workers, "Trainer", functools.partial(workers.Trainer, interval=0.0))

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
    progress = app.jobs.progress

    def spy(update):
        progress(update)
        seen.append((app.query_one("#train-row").has_class("-on"), app.rmse_now))

    app.jobs.progress = spy

    async def body(pilot):
        await wait_until(pilot, lambda: app.jobs.trainer is None and seen, "the end of training")
        await settle(pilot)

    run(app, body)
    # updates are coalesced (the UI takes only the newest), so between 2 and EPOCHS arrive
    assert 2 <= len(seen) <= EPOCHS and seen[0][0]  # the progress row showed while training
    assert seen[-1][1] < seen[0][1]  # and the painting improved live
    saved = load_model(train_to)
    assert app.model.path == str(train_to) and not app.state.dirty
    assert np.array_equal(saved.weights, app.state.weights)
    assert app.rmse_trained == pytest.approx(app.rmse_now) and app.rmse_now < 0.6


def test_launch_options_and_colour_mode(tmp_path, model_path, monkeypatch):
    from synens.core.base.errors import SynensError
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
        ((str(model_path), "--sweep=-1e308,1e308"), "must lie in -1000..1000"),
        ((str(model_path), "--report-dir", str(tmp_path / "no")), "--report-dir"),
        ((str(tmp_path / "none.png"),), "not found"),
    ]:
        with pytest.raises(SynensError, match=message):
            launch.run(parse(*argv), FakeApp)


def test_an_unhandled_error_first_keeps_the_unsaved_edits(app, tmp_path):
    def broken() -> None:
        raise RuntimeError("a bug in an action")

    async def body(pilot):
        await pilot.press("l", "j", "l")  # two unsaved edits
        app.action_help = broken  # the next key runs code that raises
        await pilot.press("question_mark")
        await pilot.pause()

    with pytest.raises(RuntimeError, match="a bug in an action"):
        run(app, body)
    autosaves = list(tmp_path.glob("*-autosave.npz"))
    assert len(autosaves) == 1 and app.crash_note == f"unsaved edits kept in {autosaves[0]}"
    assert np.array_equal(load_model(autosaves[0]).weights, app.state.weights)
    assert np.count_nonzero(app.state.weights != app.state.trained) == 2
