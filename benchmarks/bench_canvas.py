"""Benchmark the half-block canvas: frame build and the real Textual output path, vs peers.

Run: python benchmarks/bench_canvas.py [--frames N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from synens.tui.canvas import HalfBlockCanvas, encode_frame
from textual.app import App, ComposeResult
from textual.drivers.headless_driver import HeadlessDriver
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

ASSET = Path(__file__).resolve().parents[1] / "assets" / "scarlet_macaw.png"
COLS, ROWS = 200, 60


def load_picture() -> np.ndarray:
    """The photo as uint8[120, 200, 3]."""
    img = Image.open(ASSET).convert("RGB").resize((COLS, 2 * ROWS), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.uint8)


def variants(img: np.ndarray, n: int) -> list[np.ndarray]:
    """n distinct 'nudged' pictures (brightness shifts), so every row changes each frame."""
    shifts = [((i * 7) % 31) - 15 or 16 for i in range(n)]
    return [np.clip(img.astype(np.int16) + s, 0, 255).astype(np.uint8) for s in shifts]


def naive_line(rgb: np.ndarray, y: int) -> Strip:
    """Peer: one new Style (and two Colors) per cell."""
    top, bot = rgb[2 * y].tolist(), rgb[2 * y + 1].tolist()
    return Strip(
        [
            Segment("▀", Style(color=Color.from_rgb(*t), bgcolor=Color.from_rgb(*b)))
            for t, b in zip(top, bot, strict=True)
        ],
        len(top),
    )


def cached_strips(rgb: np.ndarray, cache: dict[int, Segment]) -> list[Strip]:
    """Peer: one cached Segment per colour pair, one Strip per cell row."""
    c = rgb.astype(np.int64)
    packed = c[..., 0] << 16 | c[..., 1] << 8 | c[..., 2]
    keys = (packed[0::2] << 24 | packed[1::2]).tolist()
    strips = []
    for row in keys:
        line = []
        for k in row:
            seg = cache.get(k)
            if seg is None:
                f, b = k >> 24, k & 0xFFFFFF
                style = Style.from_color(
                    Color.from_rgb(f >> 16, f >> 8 & 255, f & 255),
                    Color.from_rgb(b >> 16, b >> 8 & 255, b & 255),
                )
                seg = cache[k] = Segment("▀", style)
            line.append(seg)
        strips.append(Strip(line, len(row)))
    return strips


class NaiveCanvas(Widget):
    rgb = np.zeros((2 * ROWS, COLS, 3), dtype=np.uint8)

    def set_image(self, rgb: np.ndarray) -> None:
        self.rgb = rgb
        self.refresh()

    def render_line(self, y: int) -> Strip:
        return naive_line(self.rgb, y)


class CachedCanvas(Widget):
    cache: dict[int, Segment] = {}
    strips = [Strip.blank(COLS)] * ROWS

    def set_image(self, rgb: np.ndarray) -> None:
        self.strips = cached_strips(rgb, self.cache)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        return self.strips[y]


class CaptureDriver(HeadlessDriver):
    """A headless driver that reports itself as a terminal, so App._display really writes."""

    writes: list[tuple[float, int]] = []

    @property
    def is_headless(self) -> bool:
        return False

    def write(self, data: str) -> None:
        self.writes.append((time.perf_counter(), len(data.encode())))


class BenchApp(App[None]):
    CSS = "Screen { layout: vertical; } #c { width: 100%; height: 100%; }"

    def __init__(self, widget: Widget, **kwargs) -> None:
        super().__init__(**kwargs)
        self.widget = widget
        self.widget.id = "c"

    def compose(self) -> ComposeResult:
        yield self.widget


def terminal(colors: str) -> None:
    """Make the next App's console detect a truecolor or a 256-colour terminal."""
    os.environ["TERM"] = "xterm-256color"
    if colors == "truecolor":
        os.environ["COLORTERM"] = "truecolor"
    else:
        os.environ.pop("COLORTERM", None)


def ms(values: list[float]) -> float:
    return statistics.median(values) * 1e3


class Dialog(ModalScreen[None]):
    DEFAULT_CSS = "Dialog { align: center middle; } Dialog > Static { width: 30; height: 5; }"

    def __init__(self, background: str | None = None) -> None:
        super().__init__()
        if background is not None:
            self.styles.background = background

    def compose(self) -> ComposeResult:
        yield Static("a modal dialog")


async def output_path(
    widget: Widget, pictures: list[np.ndarray], modal: bool = False
) -> dict[str, float]:
    """Time set_image -> compositor update -> ANSI string, as Screen/App._display do it.

    With ``modal`` a ModalScreen covers the canvas (the styled fallback path).
    """
    app = BenchApp(widget)
    build, comp, enc, size = [], [], [], []
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        widget.set_image(pictures[-1])
        await pilot.pause()
        if modal:
            await app.push_screen(Dialog())
            await pilot.pause()
        screen = app.screen
        for pic in pictures:
            t0 = time.perf_counter()
            widget.set_image(pic)
            t1 = time.perf_counter()
            base = widget.screen._compositor
            base.update_widgets({widget})  # as Screen._on_timer_update does
            if modal:  # a background screen hands its dirty regions to the top screen
                screen.refresh(*base._dirty_regions)
                base._dirty_regions.clear()
                screen._compositor.update_widgets({screen})
            update = screen._compositor.render_update(screen_stack=app._background_screens)
            t2 = time.perf_counter()
            text = "" if update is None else update.render_segments(app.console)  # as _display
            t3 = time.perf_counter()
            build.append(t1 - t0), comp.append(t2 - t1), enc.append(t3 - t2)
            size.append(len(text.encode()))
            await pilot.pause()
    total = [a + b + c for a, b, c in zip(build, comp, enc, strict=True)]
    return {
        "build": ms(build), "compositor": ms(comp), "encode": ms(enc), "total": ms(total),
        "bytes": statistics.median(size),
    }  # fmt: skip


def first_big_write(since: float) -> float | None:
    """Seconds from ``since`` to the first large (frame-sized) write, if any."""
    big = [t for t, n in CaptureDriver.writes if n > 10_000 and t >= since]
    return big[0] - since if big else None


async def keypress_latency(
    widget: Widget, pictures: list[np.ndarray], modal: bool = False, clear: bool = False
) -> dict[str, float]:
    """Key handler -> bytes handed to the driver, through Textual's own update timer.

    With ``modal``: also the time to open and to close a ModalScreen (translucent, the
    default, or fully transparent with ``clear``).
    """
    stamps: list[float] = []
    state = {"i": 0}

    class KeyApp(BenchApp):
        def on_key(self) -> None:
            stamps.append(time.perf_counter())
            widget.set_image(pictures[state["i"] % len(pictures)])
            state["i"] += 1

    CaptureDriver.writes = []
    app = KeyApp(widget, driver_class=CaptureDriver)
    lat, out = [], {}
    async with app.run_test(headless=False, size=(COLS, ROWS)) as pilot:
        widget.set_image(pictures[-1])
        await pilot.pause(0.5)
        if modal:
            CaptureDriver.writes.clear()
            t0 = time.perf_counter()
            await app.push_screen(Dialog("transparent" if clear else None))
            await pilot.pause(1.5)
            out["open"] = first_big_write(t0) or float("nan")
        for _ in pictures:
            CaptureDriver.writes.clear()
            await pilot.press("n")
            await pilot.pause(0.1)
            if (dt := first_big_write(stamps[-1])) is not None:
                lat.append(dt)
        if modal:
            CaptureDriver.writes.clear()
            t0 = time.perf_counter()
            app.pop_screen()
            await pilot.pause(1.5)
            out["close"] = first_big_write(t0) or float("nan")
    out["key"] = statistics.median(lat) if lat else float("nan")
    return {k: v * 1e3 for k, v in out.items()}


def bench(fn, reps: int) -> float:
    times = []
    for i in range(reps):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return ms(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=15, help="frames for the fast paths")
    args = parser.parse_args()
    img = load_picture()
    pics = variants(img, args.frames)
    encode_frame(img)  # JIT warm-up (cached on disk after the first run)
    encode_frame(img, "256")
    c = img.astype(np.int64)
    packed = c[..., 0] << 16 | c[..., 1] << 8 | c[..., 2]
    pairs = len(np.unique(packed[0::2] << 24 | packed[1::2]))
    print(f"picture {img.shape[1]}x{img.shape[0]} px -> {COLS}x{ROWS} cells, {pairs} colour pairs")

    print("\n== frame build (median ms) ==")
    naive = bench(lambda i: [naive_line(pics[i % 5], y) for y in range(ROWS)], 5)
    cache: dict[int, Segment] = {}
    cached_cold = bench(lambda i: cached_strips(pics[i], {}), 5)
    cached_strips(pics[0], cache)
    cached_warm = bench(lambda i: cached_strips(pics[0], cache), 5)
    ours = bench(lambda i: encode_frame(pics[i % len(pics)]), 3 * len(pics))
    ours256 = bench(lambda i: encode_frame(pics[i % len(pics)], "256"), 3 * len(pics))
    for name, v in [
        ("naive per-cell Style segments", naive),
        ("cached Segment per pair (cold cache)", cached_cold),
        ("cached Segment per pair (warm, same picture)", cached_warm),
        ("encode_frame truecolor (this design)", ours),
        ("encode_frame 256 colours (this design)", ours256),
    ]:
        print(f"  {name:46s} {v:8.2f} ms   naive/this = {naive / v:6.1f}x")

    print("\n== real output path, full canvas update, 200x60 terminal (median ms) ==")

    def live() -> HalfBlockCanvas:
        canvas = HalfBlockCanvas()
        canvas.live_behind_modal = True
        return canvas

    rows = [
        ("naive per-cell Style widget", NaiveCanvas(), pics[:5], "truecolor"),
        ("cached-segment widget", CachedCanvas(), pics[:8], "truecolor"),
        ("HalfBlockCanvas truecolor", HalfBlockCanvas(), pics, "truecolor"),
        ("naive widget, 256-colour term", NaiveCanvas(), pics[:5], "256"),
        ("HalfBlockCanvas 256", HalfBlockCanvas("256"), pics, "256"),
        ("HalfBlockCanvas, modal, live", live(), pics[:5], "truecolor"),
    ]
    results = {}
    for name, widget, p, colors in rows:
        terminal(colors)
        results[name] = asyncio.run(output_path(widget, p, modal="modal" in name))
    base = results["naive per-cell Style widget"]["total"]
    print(f"  {'':30s} {'build':>8s} {'compos.':>8s} {'encode':>8s} {'total':>8s} {'bytes':>8s}")
    for name, r in results.items():
        print(
            f"  {name:30s} {r['build']:8.2f} {r['compositor']:8.2f} {r['encode']:8.2f}"
            f" {r['total']:8.2f} {r['bytes']:8.0f}   naive/this = {base / r['total']:6.1f}x"
        )

    print("\n== keypress -> driver.write, through Textual's event loop (median ms) ==")
    terminal("truecolor")
    for name, w, p in [
        ("naive per-cell Style widget", NaiveCanvas(), pics[:5]),
        ("HalfBlockCanvas truecolor", HalfBlockCanvas(), pics),
        ("HalfBlockCanvas 256", HalfBlockCanvas("256"), pics),
        ("HalfBlockCanvas, modal, live", live(), pics[:5]),
        ("HalfBlockCanvas, modal, deferred", HalfBlockCanvas(), pics[:5]),
        ("HalfBlockCanvas, clear modal, live", live(), pics[:5]),
        ("naive widget, modal, live", NaiveCanvas(), pics[:3]),
    ]:
        r = asyncio.run(keypress_latency(w, p, modal="modal" in name, clear="clear" in name))
        extra = f"  modal open {r['open']:.0f} ms, close {r['close']:.0f} ms" if "open" in r else ""
        print(f"  {name:34s} key->write {r['key']:8.2f} ms{extra}")
    print("  (add ~1 ms for the app's network re-render; nan = nothing written)")


if __name__ == "__main__":
    main()
