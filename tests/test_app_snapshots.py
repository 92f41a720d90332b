"""Snapshot tests of the explorer (pytest-textual-snapshot) on the small fixed model.

Update after a deliberate change with ``pytest tests/test_app_snapshots.py --snapshot-update``
and look at the pictures (snapshot_report.html) before accepting them.

Portable on any CPU: the app's float32 renders differ in the last bit between instruction sets
and fast-math flag sets (about 1e-6), and one such bit moved a colour by one unit (``#b61f16``
against ``#b71f16`` on AMD). Here the painting and the neuron maps are rendered in float64
from the same weights instead (noise ~1e-15), and every value shown is checked to lie at least
MARGIN (in units of one colour step) from a rounding boundary, so no last bit can move a colour.
"""

from __future__ import annotations

import numpy as np
import pytest
import synens.tui.frames as frames_module
from app_fixtures import settle, small_model
from conftest import NULL_BOXES
from synens.core.files.model import load_model
from synens.core.network.render import IncrementalRenderer, activations, render
from synens.tui.app import ExplorerApp
from synens.tui.session import Analyses

#: Least distance, in colour steps, from every shown value to a rounding boundary of to_uint8.
#: Float64 renders agree across CPUs and flag sets to ~1e-12 colour steps.
MARGIN = 1e-9

SIZE = (100, 30)


def boundary_margin(values: np.ndarray) -> float:
    """Least distance of (values + 1) * 127.5 to a rounding boundary (k + 0.5) of to_uint8."""
    x = (np.asarray(values, np.float64) + 1.0) * 127.5
    inside = x[(x > 0.5) & (x < 254.5)]
    return float(np.abs(inside - np.floor(inside) - 0.5).min()) if inside.size else 0.5


@pytest.fixture(autouse=True)
def float64_paintings(monkeypatch):
    """The app's renderers paint in float64 from their float64 weights (see the docstring)."""
    margins: list[float] = []

    def image(self: IncrementalRenderer) -> np.ndarray:
        img = render(self.topo, self.weights, *self.size, dtype=np.float64)
        margins.append(boundary_margin(img))
        return img

    def activation(self: IncrementalRenderer, n: int) -> np.ndarray:
        act = activations(self.topo, self.weights, *self.size, dtype=np.float64)[n]
        margins.append(boundary_margin(act))
        return act

    def render64(topo, weights, width, height, dtype=None, grid_=None):
        img = render(topo, weights, width, height, np.float64)
        margins.append(boundary_margin(img))
        return img

    monkeypatch.setattr(IncrementalRenderer, "image", image)
    monkeypatch.setattr(IncrementalRenderer, "activation", activation)
    monkeypatch.setattr(frames_module, "render", render64)
    yield margins
    assert margins, "the app showed no painting"
    assert min(margins) > MARGIN, f"a shown colour lies {min(margins):.1e} from a rounding edge"


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
