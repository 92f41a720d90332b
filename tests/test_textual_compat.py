"""The canvas's use of Textual's private Strip API: the probe, and the public fallback."""

from __future__ import annotations

import asyncio

import pytest
from synens.tui import textual_compat as tc
from synens.tui.canvas import HalfBlockCanvas, encode_frame
from test_canvas import PICS, SIZE, CanvasApp, emulate, screen_text
from textual.strip import Strip


@pytest.fixture(autouse=True)
def truecolor_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", "truecolor")


def test_the_probe_passes_on_the_pinned_textual():
    assert tc.PROBE_ERROR is None and tc.FAST_PATH


def test_the_probe_notices_a_missing_slot(monkeypatch):
    monkeypatch.setattr(tc, "_SEGMENTS", None)
    assert tc._probe() == "Strip has no _segments slot"


def test_the_probe_notices_a_render_that_ignores_the_cache(monkeypatch):
    def render(self, console):  # a Textual that always renders from the Segments
        return "".join(seg.text for seg in self._segments)

    monkeypatch.setattr(Strip, "render", render)
    assert "_render_cache" in tc._probe()


def test_fallback_strips_are_public_strips(monkeypatch):
    fast = encode_frame(PICS[0])
    monkeypatch.setattr(tc, "FAST_PATH", False)
    slow = encode_frame(PICS[0])
    assert all(type(s) is Strip for s in slow.strips)
    assert all(type(s) is not Strip for s in fast.strips)
    assert [list(a) for a in fast.strips] == [list(b) for b in slow.strips]
    assert [a.cell_length for a in fast.strips] == [b.cell_length for b in slow.strips]


async def _screens(mode: str) -> tuple[str, list, str, bool]:
    app = CanvasApp(mode)
    async with app.run_test(size=SIZE) as pilot:
        canvas = app.query_one(HalfBlockCanvas)
        canvas.set_image(PICS[1])
        canvas.set_cursor(4, 3)
        await pilot.pause()
        text = screen_text(app)
        raw_used = all(row in text for row in canvas.frame.rows)
        return text, emulate(text, size=SIZE), app.export_screenshot(), raw_used


@pytest.mark.parametrize("mode", ["truecolor", "256"])
def test_fast_path_and_fallback_give_the_same_screen(monkeypatch, mode):
    fast_text, fast_grid, fast_svg, fast_raw = asyncio.run(_screens(mode))
    monkeypatch.setattr(tc, "FAST_PATH", False)
    slow_text, slow_grid, slow_svg, _ = asyncio.run(_screens(mode))
    assert fast_raw  # the fast path hands over the pre-encoded rows
    assert fast_grid == slow_grid  # and the terminal shows the same cells
    assert fast_svg == slow_svg
    assert all(cell is not None for row in fast_grid for cell in row)  # every cell was written
