"""Frames that fit the wire: diff encoder (reference, terminal model), flow control, slow link."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyte
import pytest
from reference import encode_diff_row
from synens.tui.ansi import HALF_BLOCK, encode_rows
from synens.tui.diff import encode_diff_rows
from synens.tui.wire import (
    BAND_SECONDS,
    FALLBACK_QUERY,
    FIRST_TIMEOUT,
    QUERY,
    SILENT_AFTER,
    TIMEOUT,
    Wire,
    band,
)

ROOT = Path(__file__).resolve().parent.parent


def cells(rng, rows: int, width: int, depth: int, colours: int = 4):
    """Random cell rows with few colours (so that runs and repeats occur)."""
    pal = rng.integers(0, 256, size=(colours, depth)).astype(np.uint8)
    fg = pal[rng.integers(0, colours, size=(rows, width))]
    bg = pal[rng.integers(0, colours, size=(rows, width))]
    chars = np.full((rows, width), HALF_BLOCK, dtype=np.uint32)
    chars[rng.random((rows, width)) < 0.05] = ord("a")
    return fg, bg, chars


def edited(rng, fg, bg, chars, share: float):
    """A copy with about ``share`` of the cells changed, in runs."""
    fg2, bg2, ch2 = fg.copy(), bg.copy(), chars.copy()
    rows, width = chars.shape
    for r in range(rows):
        for _ in range(rng.integers(0, 4)):
            a = rng.integers(0, width)
            e = min(width, a + max(1, int(rng.integers(1, width) * share)))
            fg2[r, a:e] = 255 - fg2[r, a:e]
            if rng.random() < 0.5:
                bg2[r, a:e] = bg2[r, a:e] // 2
            if rng.random() < 0.2:
                ch2[r, a:e] = ord("z")
    return fg2, bg2, ch2


@pytest.mark.parametrize("indexed", [False, True])
@pytest.mark.parametrize("share", [0.0, 0.05, 0.3, 1.0])
def test_diff_rows_match_reference(indexed: bool, share: float) -> None:
    rng = np.random.default_rng(int(share * 100) + indexed)
    base = cells(rng, 12, 73, 1 if indexed else 3)
    new = edited(rng, *base, share)
    got = encode_diff_rows(*new, base, indexed)
    want = [encode_diff_row(*(a[r] for a in (*new, *base)), indexed) for r in range(12)]
    assert got == want


def screen_after(width: int, rows: list[str]) -> pyte.Screen:
    """A terminal model after writing each row at the start of its line."""
    screen = pyte.Screen(width, len(rows))
    stream = pyte.Stream(screen)
    for y, row in enumerate(rows):
        stream.feed(f"\x1b[{y + 1};1H" + row)
    return screen


def cell_state(screen: pyte.Screen):
    return [[(c.data, c.fg, c.bg) for c in (screen.buffer[y][x] for x in range(screen.columns))]
            for y in range(screen.lines)]


@pytest.mark.parametrize("indexed", [False, True])
def test_diff_over_base_shows_the_new_rows(indexed: bool) -> None:
    """Writing the diff over the base leaves the screen exactly as writing the new rows."""
    rng = np.random.default_rng(7 + indexed)
    width = 60
    base = cells(rng, 8, width, 1 if indexed else 3)
    new = edited(rng, *base, 0.1)
    screen = screen_after(width, encode_rows(*base, indexed))
    stream = pyte.Stream(screen)
    diffs = encode_diff_rows(*new, base, indexed)
    for y, row in enumerate(diffs):
        stream.feed(f"\x1b[{y + 1};1H" + row)
        assert (screen.cursor.x, screen.cursor.y) == (width, y) or screen.cursor.x == width - 1
    assert cell_state(screen) == cell_state(screen_after(width, encode_rows(*new, indexed)))


def test_diff_is_short_for_a_small_change() -> None:
    rng = np.random.default_rng(3)
    base = cells(rng, 4, 200, 3, colours=64)
    new = tuple(a.copy() for a in base)
    new[0][:, 100:104] = 0  # four cells of each row change
    full = sum(len(r.encode()) for r in encode_rows(*new, False))
    diff = sum(len(r.encode()) for r in encode_diff_rows(*new, base, False))
    assert diff < full / 10
    unchanged = encode_diff_rows(*base, base, False)
    assert unchanged == ["\x1b[200C\x1b[0m"] * 4


def test_diff_checks_shapes() -> None:
    rng = np.random.default_rng(1)
    base = cells(rng, 2, 10, 3)
    with pytest.raises(ValueError, match="shape"):
        encode_diff_rows(*cells(rng, 2, 11, 3), base, False)
    with pytest.raises(ValueError, match="expected"):
        encode_diff_rows(*base, base, True)


# -- flow control -----------------------------------------------------------------------
class FakeTimer:
    def __init__(self, timers: list, delay: float, callback) -> None:
        self.delay, self.callback, self.stopped = delay, callback, False
        timers.append(self)

    def stop(self) -> None:
        self.stopped = True


class Harness:
    """A Wire with a recorded writer, manual timers and manual after-refresh callbacks."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.timers: list[FakeTimer] = []
        self.wire = Wire(self.written.append, lambda d, cb: FakeTimer(self.timers, d, cb))

    def refresh(self) -> None:
        """The fallback that writes the request if no frame row carried it."""
        for timer in [t for t in self.timers if t.delay == FALLBACK_QUERY and not t.stopped]:
            timer.stopped = True
            timer.callback()


def test_one_frame_in_flight_and_the_newest_wins() -> None:
    h = Harness()
    wire = h.wire
    sends: list[int] = []

    def update(i: int) -> None:
        if not wire.hold("canvas", lambda: update(i)):
            sends.append(i)
            wire.sent()

    update(0)
    h.refresh()
    assert sends == [0] and h.written == [QUERY] and wire.in_flight
    for i in range(1, 10):  # edits while the frame is in flight: held, coalesced
        update(i)
    assert sends == [0] and wire.busy and wire.frames_dropped == 8
    wire.answered()
    assert sends == [0, 9]  # only the newest state goes out
    h.refresh()
    wire.answered()
    assert not wire.in_flight and not wire.busy


def test_query_rides_on_the_frame_row() -> None:
    h = Harness()
    h.wire.sent()
    assert h.wire.take_query() == QUERY
    assert h.wire.take_query() == ""
    h.refresh()
    assert h.written == []  # already carried by the frame's last row
    h.wire.answered()
    h.wire.sent()
    h.refresh()
    assert h.written == [QUERY]  # no row carried it (the rows went out cut): written apart


def test_timeout_frees_the_link_for_a_terminal_that_never_answers() -> None:
    h = Harness()
    wire, sent = h.wire, []
    wire.sent()
    h.refresh()
    assert wire.hold("c", lambda: sent.append(1))
    assert h.timers[-1].delay == pytest.approx(FIRST_TIMEOUT)
    h.timers[-1].callback()
    assert sent == [1] and wire.timeouts == 1 and not wire.in_flight
    wire.sent()
    h.refresh()
    wire.answered()
    wire.sent()
    h.refresh()
    assert h.timers[-1].delay == pytest.approx(TIMEOUT)  # it answers: wait longer for a backlog


def test_a_terminal_that_never_answers_stops_the_waiting_and_an_answer_restarts_it() -> None:
    h = Harness()
    wire = h.wire
    for _ in range(SILENT_AFTER):
        wire.sent()
        h.refresh()
        assert wire.hold("c", lambda: None)  # still waiting for an answer
        h.timers[-1].callback()
    assert wire.silent and wire.timeouts == SILENT_AFTER
    wire.sent()
    h.refresh()
    assert not wire.hold("c", lambda: None)  # frames go out at once: no 0.5 s per frame
    wire.answered()  # a late answer: flow control is back
    assert not wire.silent
    wire.sent()
    h.refresh()
    assert wire.hold("c", lambda: None)


def test_disabled_wire_never_holds() -> None:
    wire = Wire(None)
    wire.sent()
    assert not wire.hold("c", lambda: None) and not wire.in_flight


# -- the canvas on a live (captured) terminal --------------------------------------------
def capture_driver(writes: list[str]):
    from textual.drivers.headless_driver import HeadlessDriver

    class CaptureDriver(HeadlessDriver):
        """Headless, but reports a terminal, so each update is rendered and written."""

        @property
        def is_headless(self) -> bool:
            return False

        def write(self, data: str) -> None:
            writes.append(data)

    return CaptureDriver


def hexes(col) -> str:
    return "".join(f"{int(v):02x}" for v in col)


def frame_hex_cells(frame) -> list[list]:
    from synens.tui.ansi import xterm256_palette

    pal = xterm256_palette()
    fg, bg = frame.fg, frame.bg
    if frame.indexed:
        fg, bg = pal[fg[..., 0]], pal[bg[..., 0]]
    return [[(chr(frame.chars[y, x]), hexes(fg[y, x]), hexes(bg[y, x]))
             for x in range(frame.size[0])] for y in range(frame.size[1])]


def screen_hex_cells(screen: pyte.Screen, cols: int, rows: int) -> list[list]:
    return [[(screen.buffer[y][x].data, screen.buffer[y][x].fg, screen.buffer[y][x].bg)
             for x in range(cols)] for y in range(rows)]


LIVE_SIZE = (48, 14)


@pytest.mark.parametrize("mode", ["truecolor", "256"])
def test_live_terminal_always_shows_the_current_frame(mode: str, monkeypatch) -> None:
    import asyncio

    monkeypatch.delenv("SYNENS_WIRE", raising=False)
    asyncio.run(_live(mode))


async def _live(mode: str) -> None:
    from synens.tui.canvas import HalfBlockCanvas
    from synens.tui.wire import wire_for
    from textual.app import App, ComposeResult
    from textual.screen import ModalScreen
    from textual.widgets import Static

    class Dialog(ModalScreen[None]):
        DEFAULT_CSS = "Dialog { align: center middle; } Dialog > Static { width: 8; height: 3; }"

        def compose(self) -> ComposeResult:
            yield Static("dialog")

    class Live(App[None]):
        CSS = "HalfBlockCanvas { width: 100%; height: 100%; }"

        def compose(self) -> ComposeResult:
            yield HalfBlockCanvas(mode)

    writes: list[str] = []
    app = Live()
    app.driver_class = capture_driver(writes)  # type: ignore[assignment]
    cols, rows = LIVE_SIZE
    screen = pyte.Screen(cols, rows)
    stream = pyte.Stream(screen)
    rng = np.random.default_rng(5)
    base = rng.integers(0, 256, (2 * rows, cols, 3), dtype=np.uint8)

    def picture(i: int) -> np.ndarray:
        pic = base.copy()
        pic[4 + i % 9 : 9 + i % 9, 10:30] = (20 * i) % 256  # a small moving patch
        x = (5 * i) % (cols - 2)
        pic[:, x : x + 2] = (255, 255 - 7 * i % 256, 0)  # and a moving full-height stripe
        return pic

    async with app.run_test(headless=False, size=LIVE_SIZE, notifications=True) as pilot:
        canvas = app.query_one(HalfBlockCanvas)
        wire = wire_for(app)
        assert wire.enabled and canvas._link is wire

        async def settle() -> None:
            for _ in range(20):  # answer every request once the output has "arrived"
                await pilot.pause()
                data = "".join(writes)
                writes.clear()
                stream.feed(data)
                if QUERY not in data and not wire.in_flight:
                    return
                for _ in range(data.count(QUERY)):
                    wire.answered()
            raise AssertionError("the wire did not settle")

        def shows_current() -> bool:
            return screen_hex_cells(screen, cols, rows) == frame_hex_cells(canvas.frame)

        canvas.set_image(picture(0))
        await settle()
        assert shows_current()
        diffs = 0
        for i in range(1, 12):  # a burst while a frame is in flight: coalesced
            canvas.set_image(picture(i))
            await pilot.pause()
            data = "".join(writes)
            diffs += len(__import__("re").findall(r"\x1b\[\d*C", data))
        assert wire.frames_dropped > 0 and wire.busy
        wire.answered()  # the next frame goes out with the "link busy" mark
        await pilot.pause()
        data = "".join(writes)
        writes.clear()
        stream.feed(data)
        assert any("link busy" in line for line in screen.display)
        for _ in range(data.count(QUERY)):
            wire.answered()
        await settle()
        assert shows_current() and not wire.busy
        assert not any("link busy" in line for line in screen.display)
        assert diffs > 0  # unchanged runs were skipped with cursor-forward
        app.notify("a toast over the canvas " * 3, timeout=30)
        await settle()
        for i in range(13, 20):  # the stripe passes under the toast
            canvas.set_image(picture(i))
            await settle()
        app.clear_notifications()
        await settle()
        canvas.set_image(picture(21))
        await settle()
        assert shows_current()
        await app.push_screen(Dialog())
        canvas.set_image(picture(30))
        await settle()
        app.pop_screen()
        await settle()
        canvas.set_image(picture(31))
        await settle()
        assert shows_current()
        await pilot.resize_terminal(cols - 4, rows - 2)
        screen.resize(rows - 2, cols - 4)
        await settle()
        canvas.set_image(picture(32))
        await settle()
        cols, rows = cols - 4, rows - 2
        assert screen_hex_cells(screen, cols, rows) == frame_hex_cells(canvas.frame)


def test_a_diff_is_written_only_over_its_base() -> None:
    """A row diff goes out only while the terminal shows its base; otherwise the full row."""
    from synens.tui.canvas import encode_frame
    from synens.tui.diff import ScreenRows, diff_from, write_row

    rng = np.random.default_rng(11)
    pics = [rng.integers(0, 256, (8, 30, 3), dtype=np.uint8) for _ in range(3)]
    for p in pics[1:]:
        p[:] = pics[0]
        p[:, rng.integers(0, 30)] = rng.integers(0, 256, 3)
    f0, f1, f2 = (encode_frame(p) for p in pics)
    screen = ScreenRows()
    for f in (f0, f1, f2):
        f.screen = screen
    for y in range(4):
        assert write_row(f0, y) == f0.rows[y] and screen.shows(y) is f0
    diff_from(f2, screen, [0, 1, 2, 3])
    assert set(f2.diffs) == {0, 1, 2, 3}
    assert write_row(f2, 0) == f2.diffs[0][1]  # the terminal shows the base: the diff
    screen.written(1, f1)  # something else drew row 1 meanwhile
    screen.lost(2)  # row 2 went out cut (a toast over it)
    assert write_row(f2, 1) == f2.rows[1]
    assert write_row(f2, 2) == f2.rows[2]
    assert write_row(f2, 0) == f2.rows[0]  # already written: a repaint sends it whole
    assert all(screen.shows(y) is f2 for y in range(3))


# -- the installed app over a slow link (a pty drained at 2 Mbit/s) ----------------------
@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs a pty (POSIX)")
def test_slow_link_quick_presses_end_on_the_final_painting(tmp_path) -> None:
    """30 quick → presses at 2 Mbit/s: the screen ends on the final weight's painting, drawn
    directly by a fresh app on the saved weights, and far fewer bytes than 30 frames go out."""
    from slowlink import SlowLink, app_command, term_env

    saves = tmp_path / "saves"
    saves.mkdir()
    env = term_env(truecolor=True)
    env["SYNENS_WIRE"] = "1"
    link = SlowLink(app_command() + ["--save-dir", str(saves)], env, 2e6)
    try:
        link.wait_painted(timeout=90)
        full = link.app_bytes  # the first screen: one full frame, and the panes
        before = link.painting()
        for _ in range(30):
            link.press(b"l")
            __import__("time").sleep(0.02)
        link.wait_quiet(idle=1.0, timeout=60)
        sent = link.app_bytes - full
        after = link.painting()
    finally:
        link.close()
    assert link.answers > 0  # the app asked, and learnt from the answers
    assert after != before  # the presses changed the painting
    assert sent < 30 * full / 4, (sent, full)
    (autosave,) = saves.iterdir()  # the edited weights, kept when the app was terminated
    direct = SlowLink(app_command() + [str(autosave), "--save-dir", str(tmp_path)], env, 1e9)
    try:
        direct.wait_painted(timeout=90)
        want = direct.painting()
    finally:
        direct.close()
    from synens.core.files.model import load_model

    edited = load_model(autosave).weights
    shipped = load_model(ROOT / "assets" / "default.npz").weights
    moved = np.flatnonzero(edited != shipped)  # no answer leaked into the keys as an edit
    assert moved.tolist() == [0] and edited[0] - shipped[0] == pytest.approx(30 * 0.05)
    assert len(want) > 200 * 60 // 4 and after.keys() == want.keys()
    got, ref = (np.array([[int(c[i : i + 2], 16) for c in cell for i in (0, 2, 4)]
                          for _, cell in sorted(d.items())]) for d in (after, want))
    # the explorer re-renders edits incrementally: within a few 1/255 of a full render
    assert np.abs(got - ref).max() <= 3
    common = sorted(before.keys() & want.keys())
    old, new = (np.array([[int(c[i : i + 2], 16) for c in d[k] for i in (0, 2, 4)]
                          for k in common]) for d in (before, want))
    assert np.abs(old - new).max() > 10  # while the presses moved the painting further


def test_bands_and_the_learnt_rate() -> None:
    assert band([10, 10, 10], float("inf")) == 3
    assert band([10, 10, 10], 25) == 2
    assert band([50, 10], 25) == 1  # at least one row, even over the budget
    clock = [0.0]
    h = Harness()
    wire = Wire(h.written.append, lambda d, cb: FakeTimer(h.timers, d, cb), clock=lambda: clock[0])
    assert wire.budget() == float("inf")  # nothing learnt yet: whole frames
    wire.sent(100)
    wire.take_query()
    clock[0] = 0.1  # a small frame: 0.1 s is the link's latency, not its rate
    wire.answered()
    assert wire.rate is None and wire.min_rtt == pytest.approx(0.1)
    clock[0] = 0.0
    wire.sent(250_000)
    assert wire.take_query() == QUERY
    clock[0] = 1.1  # the answer comes 1.1 s later: 1 s of transfer, the link carries 250 kB/s
    wire.answered()
    assert wire.rate == pytest.approx(250_000)
    assert wire.budget() == pytest.approx(250_000 * BAND_SECONDS)
    resent: list[int] = []
    clock[0] = 1.0
    wire.sent(1000)
    wire.again("c", lambda: resent.append(1))  # the rest of the frame, after the answer
    assert wire.take_query() == QUERY
    clock[0] = 1.15  # an answer within the latency teaches nothing about the rate
    wire.answered()
    assert resent == [1] and wire.rate == pytest.approx(250_000)
