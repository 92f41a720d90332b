"""Tests for the half-block canvas: encoding, 256-colour mapping and the Textual output path."""

from __future__ import annotations

import asyncio
import re

import numpy as np
import pytest
from rich._palettes import EIGHT_BIT_PALETTE
from synens.tui.ansi import DITHER, rgb_to_xterm256, xterm256_palette
from synens.tui.canvas import HalfBlockCanvas, encode_frame, preferred_color_mode
from synens.tui.dither import to_xterm256
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.widgets import Static

PALETTE = xterm256_palette()
TOKEN = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|(.)", re.S)


def sgr_colours(codes: list[int], fg, bg):
    """Apply one SGR parameter list to the (fg, bg) state; colours as RGB tuples."""
    i = 0
    while i < len(codes):
        code = codes[i]
        if code == 0:
            fg = bg = None
        elif code in (38, 48):
            if codes[i + 1] == 2:
                colour, i = tuple(codes[i + 2 : i + 5]), i + 4
            else:
                colour, i = tuple(int(v) for v in PALETTE[codes[i + 2]]), i + 2
            fg, bg = (colour, bg) if code == 38 else (fg, colour)
        elif code == 39:
            fg = None
        elif code == 49:
            bg = None
        i += 1
    return fg, bg


def emulate(text: str, grid: list[list] | None = None, size=(0, 0)) -> list[list]:
    """A tiny terminal: returns grid[y][x] = (char, fg, bg) after writing ``text``."""
    if grid is None:
        grid = [[None] * size[0] for _ in range(size[1])]
    x = y = 0
    fg = bg = None
    for m in TOKEN.finditer(text):
        params, cmd, ch = m.groups()
        if ch == "\n":
            x, y = 0, y + 1
        elif ch is not None:
            grid[y][x] = (ch, fg, bg)
            x += 1
        elif cmd == "H":
            row, col = (params or "1;1").split(";")
            y, x = int(row) - 1, int(col) - 1
        elif cmd == "m":
            fg, bg = sgr_colours([int(c) for c in (params or "0").split(";") if c], fg, bg)
    return grid


def expected_cells(px: np.ndarray) -> list[list]:
    """(char, fg, bg) per cell for a picture uint8[2R, W, 3] with even height."""
    rows = []
    for y in range(px.shape[0] // 2):
        top, bot = px[2 * y].tolist(), px[2 * y + 1].tolist()
        rows.append([("▀", tuple(t), tuple(b)) for t, b in zip(top, bot, strict=True)])
    return rows


def frame_cells(frame) -> list[list]:
    """(char, fg, bg) per cell from a truecolor Frame's colour arrays."""
    fg, bg, ch = frame.fg.tolist(), frame.bg.tolist(), frame.chars.tolist()
    return [
        [(chr(c), tuple(f), tuple(b)) for c, f, b in zip(*row, strict=True)]
        for row in zip(ch, fg, bg, strict=True)
    ]


def strip_cells(strip) -> list:
    cells = []
    for seg in strip:
        fg = seg.style.color.get_truecolor() if seg.style and seg.style.color else None
        bg = seg.style.bgcolor.get_truecolor() if seg.style and seg.style.bgcolor else None
        cells += [(ch, tuple(fg) if fg else None, tuple(bg) if bg else None) for ch in seg.text]
    return cells


def test_two_by_two_picture_gives_top_fg_and_bottom_bg():
    px = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [10, 20, 30]]], dtype=np.uint8)
    frame = encode_frame(px)
    assert frame.size == (2, 1)
    want = [("▀", (255, 0, 0), (0, 0, 255)), ("▀", (0, 255, 0), (10, 20, 30))]
    assert strip_cells(frame.strips[0]) == want  # styled Segments (fallback path)
    assert emulate(frame.rows[0], size=(2, 1))[0] == want  # raw ANSI (fast path)
    assert (
        frame.rows[0] == "\x1b[38;2;255;0;0;48;2;0;0;255m▀\x1b[38;2;0;255;0;48;2;10;20;30m▀\x1b[0m"
    )


def test_odd_height_pads_the_last_lower_half_with_black():
    px = np.arange(3 * 2 * 3, dtype=np.uint8).reshape(3, 2, 3) * 7
    frame = encode_frame(px)
    assert frame.size == (2, 2)
    last = emulate(frame.rows[1], size=(2, 1))[0]
    assert [c[1] for c in last] == [tuple(px[2, 0]), tuple(px[2, 1])]
    assert [c[2] for c in last] == [(0, 0, 0), (0, 0, 0)]
    assert strip_cells(frame.strips[1]) == last


def test_equal_neighbours_share_one_sgr_and_one_segment():
    px = np.full((2, 5, 3), 9, dtype=np.uint8)
    frame = encode_frame(px)
    assert frame.rows[0].count("\x1b[") == 2  # one colour change, one reset
    assert len(list(frame.strips[0])) == 1


def test_256_mode_maps_palette_colours_to_themselves():
    idx = np.arange(16, 256)
    assert (rgb_to_xterm256(PALETTE[16:]) == idx).all()
    assert [tuple(PALETTE[i]) for i in idx] == [tuple(EIGHT_BIT_PALETTE[i]) for i in idx]
    px = np.stack([PALETTE[16:], PALETTE[16:][::-1]])  # 2 x 240: one cell row
    frame = encode_frame(px, "256")
    codes = [(int(a), int(b)) for a, b in re.findall(r"38;5;(\d+);48;5;(\d+)", frame.rows[0])]
    assert codes == list(zip(idx.tolist(), idx[::-1].tolist(), strict=True))
    assert emulate(frame.rows[0], size=(240, 1))[0] == expected_cells(px)[0]


def test_256_mode_is_the_nearest_palette_colour():
    rgb = np.random.default_rng(1).integers(0, 256, (500, 3), dtype=np.uint8)
    d = ((rgb[:, None, :].astype(int) - PALETTE[None, 16:].astype(int)) ** 2).sum(-1)
    assert (d[np.arange(500), rgb_to_xterm256(rgb) - 16] == d.min(axis=1)).all()


def test_overlays_caption_outline_cursor():
    px = np.zeros((8, 10, 3), dtype=np.uint8)
    frame = encode_frame(px, labels=[(0, 3, "E=1")], outline=(1, 0, 5, 4), cursor=(8, 4))
    assert [c[0] for c in strip_cells(frame.strips[3])][:4] == ["E", "=", "1", "▀"]
    white = (255, 255, 255)
    assert tuple(frame.fg[0, 1]) == white and tuple(frame.fg[0, 2]) == white  # top edge
    assert tuple(frame.bg[0, 1]) == white and tuple(frame.bg[0, 2]) == (0, 0, 0)  # side, inside
    assert tuple(frame.bg[1, 3]) == white and tuple(frame.fg[1, 3]) == (0, 0, 0)  # bottom edge
    assert tuple(frame.fg[2, 8]) == white and tuple(frame.fg[2, 6]) == white  # cursor arm
    assert tuple(frame.fg[0, 8]) == (0, 0, 0)


def test_preferred_color_mode():
    assert preferred_color_mode({"COLORTERM": "truecolor"}) == "truecolor"
    assert preferred_color_mode({"TERM": "xterm-256color"}) == "256"


class Dialog(ModalScreen[None]):
    DEFAULT_CSS = "Dialog { align: center middle; } Dialog > Static { width: 2; height: 1; }"

    def __init__(self, clear: bool) -> None:
        super().__init__()
        if clear:
            self.styles.background = "transparent"

    def compose(self) -> ComposeResult:
        yield Static("hi")


class CanvasApp(App[None]):
    CSS = """
    Screen { layers: base top; }
    HalfBlockCanvas { width: 100%; height: 100%; }
    #over { layer: top; offset: 3 2; width: 4; height: 1; }
    """

    def __init__(self, mode: str = "truecolor", overlay: bool = False) -> None:
        super().__init__()
        self.mode, self.overlay = mode, overlay

    def compose(self) -> ComposeResult:
        yield HalfBlockCanvas(self.mode)
        if self.overlay:
            yield Static("ABCD", id="over")


def screen_text(app: App, full: bool = True) -> str:
    update = app.screen._compositor.render_update(full=full, screen_stack=app._background_screens)
    return "" if update is None else update.render_segments(app.console)


@pytest.fixture(autouse=True)
def truecolor_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", "truecolor")


SIZE = (12, 5)
PICS = [np.random.default_rng(s).integers(0, 256, (10, 12, 3), dtype=np.uint8) for s in (2, 3)]


@pytest.mark.parametrize("mode", ["truecolor", "256"])
def test_pilot_render_line_and_terminal_output(mode):
    asyncio.run(_test_pilot_render_line_and_terminal_output(mode))


async def _test_pilot_render_line_and_terminal_output(mode):
    app = CanvasApp(mode)
    async with app.run_test(size=SIZE) as pilot:
        canvas = app.query_one(HalfBlockCanvas)
        assert canvas.pixel_size == (12, 10)
        canvas.set_image(PICS[0])
        await pilot.pause()
        px = PICS[0] if mode == "truecolor" else PALETTE[to_xterm256(PICS[0], DITHER)]
        want = expected_cells(px)
        for y in range(5):
            assert strip_cells(canvas.render_line(y)) == want[y]
        text = screen_text(app)
        assert all(row in text for row in canvas.frame.rows)  # the pre-encoded rows were used
        assert emulate(text, size=SIZE) == want
        svg = app.export_screenshot()  # screenshots/snapshots see the styled Segments
        assert all(f"#{r:02x}{g:02x}{b:02x}" in svg for r, g, b in px[:2, :3].reshape(-1, 3))


def test_pilot_only_changed_rows_are_redrawn():
    asyncio.run(_test_pilot_only_changed_rows_are_redrawn())


async def _test_pilot_only_changed_rows_are_redrawn():
    app = CanvasApp()
    async with app.run_test(size=SIZE) as pilot:
        canvas = app.query_one(HalfBlockCanvas)
        canvas.set_image(PICS[0])
        await pilot.pause()
        grid = emulate(screen_text(app), size=SIZE)
        canvas.set_cursor(5, 9)  # pixel row 9 -> only cell rows 3 and 4 change
        app.screen._compositor.update_widgets({canvas})
        update = app.screen._compositor.render_update(screen_stack=[])
        assert sorted({y for y, _, _ in update.spans}) == [3, 4]
        emulate(update.render_segments(app.console), grid)
        assert grid == frame_cells(canvas.frame)


@pytest.mark.parametrize(("clear", "live"), [(True, True), (False, True), (True, False)])
def test_pilot_modal_screen_covering_the_canvas(clear, live):
    asyncio.run(_test_pilot_modal_screen_covering_the_canvas(clear, live))


async def _test_pilot_modal_screen_covering_the_canvas(clear, live):
    app = CanvasApp()
    async with app.run_test(size=SIZE) as pilot:
        canvas = app.query_one(HalfBlockCanvas)
        canvas.live_behind_modal = live
        canvas.set_image(PICS[0])
        await pilot.pause()
        await app.push_screen(Dialog(clear))
        canvas.set_image(PICS[1])  # a new picture arrives while the modal is up
        await pilot.pause()
        text = screen_text(app)
        assert not any(row in text for row in canvas.frame.rows)  # styled fallback, not raw
        grid = emulate(text, size=SIZE)
        assert "".join(c[0] for c in grid[2][5:7]) == "hi"
        behind = expected_cells(PICS[1] if live else PICS[0])  # deferred unless live
        for y in range(5):
            for x in range(12):
                if (y, x) not in ((2, 5), (2, 6)):
                    assert grid[y][x][0] == "▀"
                    assert (grid[y][x] == behind[y][x]) == clear  # tinted unless clear
        app.pop_screen()
        await pilot.pause()
        assert emulate(screen_text(app), size=SIZE) == expected_cells(PICS[1])


def test_pilot_widget_overlapping_part_of_the_canvas():
    asyncio.run(_test_pilot_widget_overlapping_part_of_the_canvas())


async def _test_pilot_widget_overlapping_part_of_the_canvas():
    app = CanvasApp(overlay=True)
    async with app.run_test(size=SIZE) as pilot:
        canvas = app.query_one(HalfBlockCanvas)
        canvas.set_image(PICS[0])
        await pilot.pause()
        grid = emulate(screen_text(app), size=SIZE)
        canvas.set_image(PICS[1])  # partial update: cut rows fall back to Segments
        canvas.refresh(Region(1, 0, 3, 1))  # a sub-row dirty span forces a real crop
        app.screen._compositor.update_widgets({canvas})
        emulate(screen_text(app, full=False), grid)
        want = expected_cells(PICS[1])
        assert "".join(c[0] for c in grid[2][3:7]) == "ABCD"
        for y in range(5):
            for x in range(12):
                if not (y == 2 and 3 <= x < 7):
                    assert grid[y][x] == want[y][x], (y, x)


class BorderApp(App[None]):
    CSS = "HalfBlockCanvas { width: 100%; height: 100%; border: solid red; }"

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[tuple[int, int]] = []

    def compose(self) -> ComposeResult:
        yield HalfBlockCanvas()

    def on_half_block_canvas_pixel_size_changed(self, event: HalfBlockCanvas.PixelSizeChanged):
        self.sizes.append((event.width, event.height))


def test_pilot_border_uses_textual_styling_and_resize_reports_pixel_size():
    asyncio.run(_test_pilot_border_uses_textual_styling_and_resize_reports_pixel_size())


async def _test_pilot_border_uses_textual_styling_and_resize_reports_pixel_size():
    app = BorderApp()
    async with app.run_test(size=SIZE) as pilot:
        canvas = app.query_one(HalfBlockCanvas)
        assert canvas.pixel_size == (10, 6)  # 12x5 minus the border
        canvas.set_image(PICS[0][:6, :10])
        await pilot.pause()
        grid = emulate(screen_text(app), size=SIZE)
        assert grid[0][0][0] == "┌" and grid[4][11][0] == "┘"
        assert [row[1:11] for row in grid[1:4]] == expected_cells(PICS[0][:6, :10])
        await pilot.resize_terminal(8, 4)
        await pilot.pause()
        assert canvas.pixel_size == (6, 4)
        assert app.sizes[-1] == (6, 4)
        grid = emulate(screen_text(app), size=(8, 4))  # picture cropped to the new size
        assert [row[1:7] for row in grid[1:3]] == expected_cells(PICS[0][:4, :6])


def test_no_color_keeps_the_painting_in_colour(monkeypatch):
    """NO_COLOR makes Textual's chrome monochrome; the canvas keeps its exact colours."""
    monkeypatch.setenv("NO_COLOR", "1")
    asyncio.run(_test_no_color())


async def _test_no_color():
    app = CanvasApp("truecolor", overlay=True)
    assert app.no_color
    async with app.run_test(size=SIZE) as pilot:
        canvas = app.query_one(HalfBlockCanvas)
        canvas.set_image(PICS[0])
        await pilot.pause()
        assert canvas._is_plain()
        want = expected_cells(PICS[0])
        for y in range(5):
            if y != 2:  # row 2 carries the overlay
                assert strip_cells(canvas.render_line(y)) == want[y]
        text = screen_text(app)
        assert canvas.frame.rows[0] in text  # written as encoded, unfiltered
        sgr = set(re.findall(r"\x1b\[([0-9;]*)m", text))
        assert any(p.startswith("38;2;") for p in sgr)
        over = app.query_one("#over")
        assert any(type(f).__name__ in ("Monochrome", "NoColor") for f in over.get_line_filters())
