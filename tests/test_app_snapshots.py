"""Snapshot tests of the explorer (pytest-textual-snapshot) on the small fixed model.

Update after a deliberate change with ``pytest tests/test_app_snapshots.py --snapshot-update``
and look at the pictures (snapshot_report.html) before accepting them.
"""

from __future__ import annotations

import pytest
from app_fixtures import settle, small_model
from conftest import NULL_BOXES
from synens.core.files.model import load_model
from synens.tui.app import ExplorerApp
from synens.tui.session import Analyses

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
        analyses=Analyses(null_boxes=NULL_BOXES),
    )


async def analyse_region(pilot) -> None:
    """Select the rectangle 7,11,10,20 and wait for its analysis and its null."""
    await pilot.press("s", "left", "shift+left", "up", "space", "right", "right", "shift+down")
    await pilot.press("enter")
    await settle(pilot)


def test_main_screen(snap_compare, model_path, tmp_path):
    """The painting, the synapse table on synapse 2 after two nudges, neuron pane, status."""
    assert snap_compare(make_app(model_path, tmp_path), press=["j", "j", "l", "l"],
                        terminal_size=SIZE)


def test_region_mode_rectangle(snap_compare, model_path, tmp_path):
    """Region mode: the cursor cross and the outline of the rectangle being stretched."""
    keys = ["s", "left", "shift+left", "up", "space", "right", "right", "shift+down"]
    assert snap_compare(make_app(model_path, tmp_path), press=keys, terminal_size=SIZE)


def test_ensemble_pane(snap_compare, model_path, tmp_path):
    """After enter: the answer first (summary, sel, gains, curve sparkline, the null's
    percentile), then members, spread, pairs and the rule; the table shows influence."""
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
