"""Snapshot tests of the explorer (pytest-textual-snapshot) on the small fixed model.

Update after a deliberate change with ``pytest tests/test_app_snapshots.py --snapshot-update``
and look at the pictures (snapshot_report.html) before accepting them.
"""

from __future__ import annotations

import pytest
from app_fixtures import small_model
from synens.core.files.model import load_model
from synens.tui.app import ExplorerApp

SIZE = (100, 30)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("snap") / "small.npz"
    small_model(path)
    return path


def make_app(model_path, tmp_path, color_mode: str = "truecolor") -> ExplorerApp:
    return ExplorerApp(
        load_model(model_path),
        color_mode=color_mode,
        report_dir=str(tmp_path),
        save_dir=str(tmp_path),
    )


async def analyse_region(pilot) -> None:
    """Select the rectangle 7,11,10,20 and wait for its analysis."""
    await pilot.press("s", "left", "shift+left", "up", "space", "right", "right", "shift+down")
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_main_screen(snap_compare, model_path, tmp_path):
    """The painting, the synapse table on synapse 2 after two nudges, neuron pane, status."""
    assert snap_compare(make_app(model_path, tmp_path), press=["j", "j", "l", "l"],
                        terminal_size=SIZE)


def test_region_mode_rectangle(snap_compare, model_path, tmp_path):
    """Region mode: the cursor cross and the outline of the rectangle being stretched."""
    keys = ["s", "left", "shift+left", "up", "space", "right", "right", "shift+down"]
    assert snap_compare(make_app(model_path, tmp_path), press=keys, terminal_size=SIZE)


def test_ensemble_pane(snap_compare, model_path, tmp_path):
    """After enter: summary line, members, pairs and moves; the table shows influence."""
    assert snap_compare(make_app(model_path, tmp_path), run_before=analyse_region,
                        terminal_size=SIZE)


def test_help_screen(snap_compare, model_path, tmp_path):
    """? opens the help over the explorer."""
    assert snap_compare(make_app(model_path, tmp_path), press=["question_mark"],
                        terminal_size=SIZE)


def test_too_small_message(snap_compare, model_path, tmp_path):
    """Under 80×24 a clear message replaces the layout."""
    assert snap_compare(make_app(model_path, tmp_path), terminal_size=(60, 20))


def test_256_colour_mode(snap_compare, model_path, tmp_path):
    """--colors 256: the canvas in xterm-256 colours, and the status bar says so."""
    assert snap_compare(make_app(model_path, tmp_path, "256"), terminal_size=SIZE)


# -- the layout at every size (issue 8): the region analysed, so that every pane has content
@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40), (200, 60), (250, 70)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
def test_layout_at_size(snap_compare, model_path, tmp_path, size):
    """Below 120 columns one side pane with tabs (synapses shown), from 120 all three."""
    assert snap_compare(make_app(model_path, tmp_path), run_before=analyse_region,
                        terminal_size=size)


def test_ensemble_tab_focused_at_80x24(snap_compare, model_path, tmp_path):
    """e at 80×24: the ensemble tab, focused, scrolled down one page with PgDn."""

    async def before(pilot):
        await analyse_region(pilot)
        await pilot.press("e", "pagedown")

    assert snap_compare(make_app(model_path, tmp_path), run_before=before, terminal_size=(80, 24))


def test_region_hints_in_the_status_bar_at_80x24(snap_compare, model_path, tmp_path):
    """Region mode at 80×24: the status bar wraps, keeping the coordinates and the hints."""
    keys = ["s", "left", "shift+left", "up", "space", "right", "right", "shift+down"]
    assert snap_compare(make_app(model_path, tmp_path), press=keys, terminal_size=(80, 24))
