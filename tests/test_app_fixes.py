"""Pilot tests of issue 8's smaller fixes: q while first training, the palette, a weight
nudged back, the quit dialog's wording and the colour reason in the status bar."""

from __future__ import annotations

import argparse

import numpy as np
from app_fixtures import picture, run, settle
from PIL import Image
from synens.core.files.model import load_model
from synens.tui.app import KEYMAP, ExplorerApp
from synens.tui.launch import add_arguments, open_target
from synens.tui.panes import change_text
from synens.tui.screens import QuitScreen, StopTrainingScreen


def status(app) -> str:
    return "\n".join(line.plain for line in app.query_one("#status").lines)


def test_q_while_first_training_asks_then_saves_and_quits(tmp_path):
    png = tmp_path / "shapes.png"
    Image.fromarray(picture()).save(png)
    args = add_arguments(argparse.ArgumentParser()).parse_args(
        [str(png), "--size", "32", "--seed", "1", "--save-dir", str(tmp_path)])
    model, train_to = open_target(args)
    app = ExplorerApp(model, train_to=train_to, train_seconds=60.0, save_dir=str(tmp_path))

    async def body(pilot):
        for _ in range(100):  # until training runs
            await pilot.pause(0.05)
            if app.jobs.trainer is not None:
                break
        await pilot.press("q")
        assert isinstance(app.screen, StopTrainingScreen)
        await pilot.press("n")  # no: training goes on
        assert not isinstance(app.screen, StopTrainingScreen) and app.jobs.trainer is not None
        await pilot.pause(0.5)
        await pilot.press("q", "y")
        for _ in range(200):
            await pilot.pause(0.05)
            if not app.is_running:
                break

    run(app, body)
    assert not app.is_running and train_to.exists()
    assert app.return_value == f"trained model saved to {train_to}"
    saved = load_model(train_to)
    assert np.array_equal(saved.weights, app.state.weights)
    assert saved.meta["epochs"] > 0


def test_palette_lists_the_explorers_actions_with_footer_keys(app):
    async def body(pilot):
        commands = list(app.get_system_commands(app.screen))
        assert [c.title for c in commands] == [t for *_, t in KEYMAP if t]  # nothing else
        helps = {c.title: c.help for c in commands}
        assert helps["Double the nudge step"] == "key: ]"
        assert helps["Help: every key"] == "key: ?"
        assert helps["Nudge the weight by +10 steps"] == "key: shift+→"
        await pilot.press("ctrl+p")
        await pilot.press(*"Double", "enter")
        await pilot.pause(0.3)
        assert app.state.step == 0.1

    run(app, body)


def test_change_column_never_shows_minus_zero():
    assert change_text(0.0) == "·"
    assert change_text(-1e-13) == "0" and change_text(1e-13) == "0"
    assert change_text(-3e-6) == "-3e-06"
    assert change_text(-0.01) == "-0.0100" and change_text(0.25) == "+0.2500"


def test_weight_nudged_back_shows_0_and_is_no_edit(app):
    async def body(pilot):
        s = app.session
        await pilot.press("j", "right_square_bracket", "l", "l", "l", "h", "h", "h")
        assert not app.state.dirty and s.edit_count == 0
        assert "-0.0000" not in app.table.line_text(1)
        s.edit([1], [app.state.trained[1] - 1e-13], "nudge")  # back within 1e-12
        app.painter.update_status()
        await pilot.pause()
        change = app.table.line_text(1).split()[3]
        assert change == "0" and not app.state.dirty and s.edit_count == 0
        assert "unsaved" not in status(app)
        await pilot.press("l")
        assert "unsaved" in status(app)

    run(app, body)


def test_quit_dialog_words_match_its_keys(app):
    async def body(pilot):
        await pilot.press("l", "q")
        assert isinstance(app.screen, QuitScreen)
        text = str(app.screen.query_one("#question").render())
        assert "Discard the edits?" in text
        for line in ("y    yes: discard them and quit", "n    no: keep them",
                     "esc  don't quit"):
            assert line in text
        keys = {b.key for b in app.screen.BINDINGS}
        assert keys == {"y", "n", "escape"}
        await pilot.press("escape")

    run(app, body)


def test_status_bar_gives_the_256_colour_reason(model_path, tmp_path):
    for size, want in (((200, 60), "256 colours (no truecolor answer; --colors truecolor "
                                    "forces 24-bit)"),
                       ((80, 24), "256 colours (no truecolor answer; --colors truecolor)")):
        app = ExplorerApp(load_model(model_path), color_mode="256",
                          color_reason="no truecolor answer; --colors truecolor forces it",
                          report_dir=str(tmp_path), save_dir=str(tmp_path))

        async def body(pilot, app=app, want=want):
            await settle(pilot)
            assert want in status(app)

        run(app, body, size=size)
