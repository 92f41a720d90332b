"""Benchmark the explorer: nudge latency to the terminal, frame build and warm start.

Run: python benchmarks/bench_tui.py [--model MODEL.npz] [--presses 200] [--starts 3] [--json F]

* nudge latency (in process): key press -> the compositor's update rendered to the ANSI string
  that Textual's driver writes (App._display with a capturing driver), 200x60 terminal;
* nudge latency (pty): the installed app in a pseudo-terminal, key byte written -> the
  synchronised-output frame holding the canvas read back from the terminal;
* frame build: painting -> uint8 -> canvas frame (raw ANSI rows) for 200x120 pixels;
* warm start: process start -> first painted frame on the pty (median of --starts runs);
* cold start (--cold N runs, each with an empty NUMBA_CACHE_DIR): first output, first painted
  frame, and the first nudge's response and painting (see cold_tui.py).
  ``--cold 3 --only-cold`` measures just that.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, fmt, log, machine, median, write_json  # noqa: E402

COLS, ROWS = 200, 60
SYNC_ON, SYNC_OFF, SYNC_QUERY = "\x1b[?2026h", "\x1b[?2026l", "\x1b[?2026$p"
#: The issue's targets: nudge latency (median), frame build, warm start.
TARGETS = {"nudge": 0.030, "frame": 0.010, "warm_start": 2.0}


def default_model() -> Path:
    return ROOT / "assets" / "default.npz"


# -- in process ----------------------------------------------------------------------
def capture_driver():
    from textual.drivers.headless_driver import HeadlessDriver

    class CaptureDriver(HeadlessDriver):
        """Headless, but reports a terminal, so App._display renders and writes each update."""

        writes: list[tuple[float, str]] = []

        @property
        def is_headless(self) -> bool:
            return False

        def write(self, data: str) -> None:
            self.writes.append((time.perf_counter(), data))

    return CaptureDriver


def canvas_written(data: str, cols: int) -> bool:
    """True when a written update holds canvas rows (many 24-bit half-block cells)."""
    return data.count("▀") >= 8 * cols and "\x1b[38;2;" in data


async def inprocess_latency(model_path: Path, presses: int) -> dict:
    from synens.core.files.model import load_model
    from synens.tui.app import ExplorerApp

    os.environ["COLORTERM"] = "truecolor"
    driver = capture_driver()
    app = ExplorerApp(load_model(model_path), color_mode="truecolor")
    app.driver_class = driver  # type: ignore[assignment]
    lat, sizes = [], []
    async with app.run_test(headless=False, size=(COLS, ROWS)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("j")  # a weight that changes the whole picture
        await pilot.pause(0.2)
        cols = app.canvas.size.width
        for i in range(presses + 10):
            driver.writes.clear()
            t0 = time.perf_counter()
            await pilot.press("l" if i % 2 == 0 else "h")
            deadline = t0 + 2.0
            hit = None
            while hit is None and time.perf_counter() < deadline:
                hit = next(((t, d) for t, d in driver.writes if canvas_written(d, cols)), None)
                if hit is None:
                    await asyncio.sleep(0.0005)
            if hit is not None and i >= 10:  # the first 10 are warm-up
                lat.append(hit[0] - t0)
                sizes.append(len(hit[1].encode()))
            await pilot.pause(0.01)
        steps = await breakdown(app, pilot)
        cells = list(app.canvas.size)
    return {"median": median(lat), "p90": float(np.percentile(lat, 90)), "n": len(lat),
            "bytes": median(sizes), "canvas_cells": cells, **steps}


async def breakdown(app, pilot, n: int = 60) -> dict:
    """Time the pieces of one nudge: handler (state, render, frame), compositor, encoding."""
    screen = app.screen
    handler, comp, enc = [], [], []
    for i in range(n):
        t0 = time.perf_counter()
        app.action_right(1) if i % 2 == 0 else app.action_left(1)
        t1 = time.perf_counter()
        widgets = {app.canvas, app.table, app.query_one("#status")}
        screen._compositor.update_widgets(widgets)
        update = screen._compositor.render_update(screen_stack=app._background_screens)
        t2 = time.perf_counter()
        update.render_segments(app.console)
        t3 = time.perf_counter()
        handler.append(t1 - t0), comp.append(t2 - t1), enc.append(t3 - t2)
        await pilot.pause(0.01)
    return {"handler": median(handler), "compositor": median(comp), "encode": median(enc)}


def frame_build(model_path: Path, reps: int = 200) -> dict:
    """Painting -> uint8 -> canvas frame for 200x120 px (the network rendered at that size)."""
    import numba
    from synens.core.files.model import load_model
    from synens.core.network.render import IncrementalRenderer, to_uint8
    from synens.tui.canvas import encode_frame
    from synens.tui.state import Layout
    from synens.tui.views import place

    numba.set_num_threads(1)  # as on the app's UI thread
    m = load_model(model_path)
    lay = Layout.fit((COLS, 2 * ROWS), m.size)
    r = IncrementalRenderer(m.topo, m.weights, lay.rw, lay.rh)
    s = int(m.topo.n_synapses // 2)
    encode_frame(place(lay, to_uint8(r.image())))
    full, enc = [], []
    for i in range(reps):
        t0 = time.perf_counter()
        r.set_weight(s, float(m.weights[s] + (0.05 if i % 2 == 0 else 0.0)))
        rgb = place(lay, to_uint8(r.image()))
        t1 = time.perf_counter()
        encode_frame(rgb, size=(COLS, ROWS), labels=[(0, ROWS - 1, " RMSE 0.1234 ")])
        t2 = time.perf_counter()
        full.append(t2 - t0), enc.append(t2 - t1)
    return {"nudge+frame": median(full), "frame": median(enc), "picture_px": [lay.rw, lay.rh]}


# -- in a pseudo-terminal --------------------------------------------------------------
class Terminal:
    """The app in a pty of COLS x ROWS that answers Textual's synchronised-output query."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.t_start = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # child: size the terminal, then become the app
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
            os.execvpe(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        self.buf = bytearray()  # output not yet consumed
        self.tail = b""  # the last bytes read, for error messages
        self._answered = False

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.fd, 1 << 20)
        except OSError:
            raise RuntimeError(f"the app exited: {self.tail[-500:]!r}") from None
        self.buf += data
        self.tail = (self.tail + data)[-2000:]
        if not self._answered and SYNC_QUERY.encode() in self.buf:
            os.write(self.fd, b"\x1b[?2026;2$y")  # "supported": updates come as sync frames
            self._answered = True
        return True

    def next_frame(self, want, timeout: float = 10.0) -> tuple[float, bytes]:
        """Wait for a complete synchronised frame for which want(frame bytes) holds."""
        on, off = SYNC_ON.encode(), SYNC_OFF.encode()
        deadline = time.perf_counter() + timeout
        while True:
            start = self.buf.find(on)
            end = self.buf.find(off, start) if start >= 0 else -1
            if end >= 0:
                frame = bytes(self.buf[start:end])
                del self.buf[: end + len(off)]
                if want(frame):
                    return time.perf_counter(), frame
                continue
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no matching frame; output tail: {self.tail[-300:]!r}")
            self._read(0.05)

    def press(self, key: bytes) -> float:
        while self._read(0):  # drop what came before
            pass
        self.buf.clear()
        t0 = time.perf_counter()
        os.write(self.fd, key)
        return t0

    def close(self) -> None:
        """SIGTERM, then keep reading the pty until the app has exited (its shutdown writes)."""
        try:
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.perf_counter() + 10.0
            while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
                if time.perf_counter() > deadline:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    break
                try:
                    self._read(0.05)
                except RuntimeError:  # the pty closed: the app is on its way out
                    time.sleep(0.01)
        except OSError:
            pass
        os.close(self.fd)


def app_argv(model_path: Path) -> list[str]:
    # the nudges leave unsaved edits, which the app autosaves when it is terminated
    saves = tempfile.mkdtemp(prefix="synens-bench-tui-")
    return [sys.executable, "-m", "synens.tui.cli", str(model_path), "--save-dir", saves]


def term_env() -> dict[str, str]:
    env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
    env.pop("TEXTUAL_DRIVER", None)
    return env


HALF = "▀".encode()


def painted(frame: bytes) -> bool:
    """The canvas shows a picture: many half blocks and many 24-bit colour changes."""
    return frame.count(HALF) >= 8 * COLS // 2 and frame.count(b"\x1b[38;2;") >= 1000


def pty_run(model_path: Path, presses: int) -> dict:
    """Warm start (spawn -> first painted frame) and key -> canvas frame latency."""
    term = Terminal(app_argv(model_path), term_env())
    try:
        t_first, _ = term.next_frame(painted, timeout=60)
        start = t_first - term.t_start
        lat = []
        if presses:
            time.sleep(0.5)
            term.press(b"j")
            time.sleep(0.3)
            for i in range(presses + 10):
                t0 = term.press(b"l" if i % 2 == 0 else b"h")
                t1, _ = term.next_frame(lambda f: f.count(HALF) >= 8 * 40, timeout=5)
                if i >= 10:
                    lat.append(t1 - t0)
                time.sleep(0.01)
    finally:
        term.close()
    out = {"start": start}
    if lat:
        out.update(median=median(lat), p90=float(np.percentile(lat, 90)), n=len(lat))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model())
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--cold", type=int, default=1, metavar="N",
                        help="cold starts with an empty Numba cache (default 1; 0: none)")
    parser.add_argument("--only-cold", action="store_true", help="measure the cold starts only")
    parser.add_argument("--json", metavar="FILE", help="also write every measurement as JSON")
    args = parser.parse_args()
    if not args.model.exists():
        sys.exit(f"bench_tui: no model at {args.model}; pass --model MODEL.npz")
    cold = []
    if args.cold:
        from cold_tui import cold_lines, cold_runs

        log("cold starts (empty Numba cache) ...")
        cold = cold_runs(args.model, args.cold)
        print("\n".join(cold_lines(cold)))
    if args.only_cold:
        print(f"load average during the run: {os.getloadavg()[0]:.2f} (2 cores)")
        if args.json:
            write_json(args.json, {"machine": machine(), "model": str(args.model),
                                   "terminal": [COLS, ROWS], "cold": cold})
        return
    log("frame build ...")
    fb = frame_build(args.model)
    log("warm start and pty latency ...")
    pty_run(args.model, 0)  # cold: fills Numba's and Python's caches
    starts = [pty_run(args.model, 0)["start"] for _ in range(args.starts)]
    ptyl = pty_run(args.model, args.presses)
    log("in-process latency ...")
    inproc = asyncio.run(inprocess_latency(args.model, args.presses))
    print(f"model {args.model}; terminal {COLS}x{ROWS}; canvas {inproc['canvas_cells']} cells")
    print(f"frame build 200x120 px (picture {fb['picture_px']}): frame {fmt(fb['frame'], 's')}"
          f", nudge+paint+frame {fmt(fb['nudge+frame'], 's')} (median of 200)")
    print(f"nudge latency, key -> ANSI string written by the driver (in process): median "
          f"{fmt(inproc['median'], 's')}, p90 {fmt(inproc['p90'], 's')}, n={inproc['n']}, "
          f"{inproc['bytes'] / 1e3:.0f} kB per update")
    print(f"  pieces: handler {fmt(inproc['handler'], 's')}, compositor "
          f"{fmt(inproc['compositor'], 's')}, encode {fmt(inproc['encode'], 's')}")
    print(f"nudge latency, key byte -> canvas frame read from a pty: median "
          f"{fmt(ptyl['median'], 's')}, p90 {fmt(ptyl['p90'], 's')}, n={ptyl['n']}")
    print(f"warm start to first painted frame: median {fmt(median(starts), 's')} "
          f"({', '.join(fmt(s, 's') for s in starts)})")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} (2 cores; quote quiet runs)")
    if args.json:
        write_json(args.json, {"machine": machine(), "model": str(args.model),
                               "terminal": [COLS, ROWS], "frame_build": fb,
                               "nudge_inprocess": inproc, "nudge_pty": ptyl,
                               "warm_start": starts, "cold": cold, "targets_s": TARGETS})


if __name__ == "__main__":
    main()
