"""A slow SSH link in a pty: the app's output drains at a fixed rate through a ~2 MB buffer.

The installed ``synens-tui`` runs in a pseudo-terminal. A reader thread takes what the app
writes into a buffer of ``buffer`` bytes (sshd's and TCP's; when it is full the reader stops
and the app's writes block, as over SSH), and delivers it to the "terminal" at ``rate_bps``.
Queries are answered only when the link has delivered them, ``rtt`` seconds later (the
network's round trip): the cursor-position request (DSR 6) and Textual's synchronised-output
query. Delivered bytes are kept with their times
and replayed through ``pyte`` (a terminal emulator; too slow to run inline at 10 Mbit/s) to
read back the screen and find when it last changed. Used by tests/test_wire.py and
benchmarks/bench_wire.py.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import sys
import termios
import threading
import time
from pathlib import Path

import pyte

CPR_QUERY, CPR_ANSWER = b"\x1b[6n", b"\x1b[1;1R"
SYNC_QUERY, SYNC_ANSWER = b"\x1b[?2026$p", b"\x1b[?2026;2$y"
HALF = "\u2580"


def app_command() -> list[str]:
    """The installed ``synens-tui`` beside this interpreter, else PATH's (else ``-m``)."""
    beside = Path(sys.executable).with_name("synens-tui")
    script = str(beside) if beside.is_file() else shutil.which("synens-tui")
    return [script] if script else [sys.executable, "-m", "synens.tui.cli"]


def term_env(truecolor: bool = True) -> dict[str, str]:
    env = dict(os.environ, TERM="xterm-256color")
    env.pop("TEXTUAL_DRIVER", None)
    if truecolor:
        env["COLORTERM"] = "truecolor"
    else:
        env.pop("COLORTERM", None)
    return env


class SlowLink:
    """``argv`` in a cols x rows pty behind a link of ``rate_bps`` bits/s and a byte buffer."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        rate_bps: float,
        *,
        cols: int = 200,
        rows: int = 60,
        buffer: int = 2 << 20,
        tick: float = 0.002,
        rtt: float = 0.0,
    ) -> None:
        self.cols, self.rows = cols, rows
        self.rate = rate_bps / 8.0  # bytes/s
        self.cap, self.tick, self.rtt = buffer, tick, rtt
        self._answers: list[tuple[float, bytes]] = []  # (due time, bytes) on their way back
        self.t_start = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # child: size the terminal, then become the app
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execvpe(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        self.lock = threading.Lock()
        self.pending = bytearray()  # written by the app, not yet delivered
        self.deliveries: list[tuple[float, bytes]] = []
        self.app_bytes = 0  # everything the app wrote
        self.last_app_write = time.perf_counter()
        self.answers = 0
        self.closed = False
        self._tail = b""
        self._stop = False
        self.screen = pyte.Screen(cols, rows)
        self._stream = pyte.ByteStream(self.screen)
        self._fed = 0  # deliveries replayed into the screen
        self._rowsig: dict[int, tuple] = {}
        self.last_change = 0.0  # delivery time of the last replayed byte that changed the screen
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    # -- the link ------------------------------------------------------------------------
    def _run(self) -> None:
        budget, t_last = 0.0, time.perf_counter()
        while not self._stop:
            room = self.cap - len(self.pending)
            wait = [self.fd] if room > 0 and not self.closed else []
            ready, _, _ = select.select(wait, [], [], self.tick) if wait else ([], [], [])
            if not wait:
                time.sleep(self.tick)
            if ready:
                try:
                    data = os.read(self.fd, min(room, 1 << 16))
                except OSError:
                    data = b""
                if not data:
                    self.closed = True
                else:
                    with self.lock:
                        self.pending += data
                        self.app_bytes += len(data)
                        self.last_app_write = time.perf_counter()
            now = time.perf_counter()
            while self._answers and self._answers[0][0] <= now:
                self._send_back(self._answers.pop(0)[1])
            budget = min(budget + self.rate * (now - t_last), self.rate * 0.02 + 1)
            t_last = now
            n = min(len(self.pending), int(budget))
            if n:
                with self.lock:
                    chunk = bytes(self.pending[:n])
                    del self.pending[:n]
                    self.deliveries.append((now, chunk))
                budget -= n
                self._answer(chunk)

    def _answer(self, chunk: bytes) -> None:
        """Answer the queries that this delivery completes (they may span deliveries)."""
        seen = self._tail + chunk
        answers = b""
        for query, answer in ((CPR_QUERY, CPR_ANSWER), (SYNC_QUERY, SYNC_ANSWER)):
            start = 0
            while (i := seen.find(query, start)) >= 0:
                if i + len(query) > len(self._tail):  # not answered with an earlier delivery
                    answers += answer
                    self.answers += query == CPR_QUERY
                start = i + 1
        self._tail = seen[-16:]
        if answers:
            self._answers.append((time.perf_counter() + self.rtt, answers))

    def _send_back(self, answers: bytes) -> None:
        if not self.closed:
            try:
                os.write(self.fd, answers)
            except OSError:
                pass

    # -- the user ------------------------------------------------------------------------
    def press(self, key: bytes) -> float:
        t = time.perf_counter()
        os.write(self.fd, key)
        return t

    def wait_painted(self, timeout: float = 60.0) -> float:
        """Wait for the first painted screen (many half blocks delivered), then quiet."""
        deadline = time.perf_counter() + timeout
        half, count, seen = HALF.encode(), 0, 0
        while count < self.cols * self.rows // 4:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"no painting; {self.app_bytes} bytes from the app")
            time.sleep(0.05)
            with self.lock:
                todo, seen = self.deliveries[seen:], len(self.deliveries)
            count += sum(chunk.count(half) for _, chunk in todo)
        return self.wait_quiet(idle=1.5, timeout=timeout)

    def wait_quiet(self, idle: float = 0.6, timeout: float = 30.0) -> float:
        """Wait until the link is drained and the app has written nothing for ``idle`` s.

        Returns the time of the last delivery.
        """
        deadline = time.perf_counter() + timeout
        time.sleep(idle)  # let the app start writing
        while time.perf_counter() < deadline:
            time.sleep(0.02)
            with self.lock:
                drained = not self.pending
                quiet = time.perf_counter() - self.last_app_write > idle
            if drained and quiet:
                return self.deliveries[-1][0] if self.deliveries else self.t_start
        raise TimeoutError(f"the link did not go quiet; pending {len(self.pending)} bytes")

    # -- the terminal model --------------------------------------------------------------
    def replay(self) -> pyte.Screen:
        """Feed the deliveries not yet replayed into the screen; note when rows changed."""
        with self.lock:
            todo = self.deliveries[self._fed :]
            self._fed = len(self.deliveries)
        screen = self.screen
        for t, chunk in todo:
            self._stream.feed(chunk)
            for y in screen.dirty:
                line = screen.buffer[y]
                sig = tuple((c.data, c.fg, c.bg) for c in (line[x] for x in range(self.cols)))
                if self._rowsig.get(y) != sig:
                    self._rowsig[y] = sig
                    self.last_change = t
            screen.dirty.clear()
        return screen

    def painting(self) -> dict[tuple[int, int], tuple[str, str]]:
        """The painting's cells: (x, y) -> (fg, bg) over the block of half blocks at the
        screen's top-left corner (each row's run from column 0; other half blocks, such as
        a sparkline in a pane, are not the painting)."""
        screen = self.replay()
        out = {}
        for y in range(self.rows):
            line = screen.buffer[y]
            if line[0].data != HALF:
                if out:
                    break
                continue
            for x in range(self.cols):
                c = line[x]
                if c.data != HALF:
                    break
                out[x, y] = (c.fg, c.bg)
        return out

    def close(self) -> None:
        """SIGTERM (the app autosaves edits), keep draining until it exits, stop the link."""
        self.rate = 1e12  # drain whatever the app still writes
        try:
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.perf_counter() + 15.0
            while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
                if time.perf_counter() > deadline:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    break
                time.sleep(0.05)
        except OSError:
            pass
        self._stop = True
        self._thread.join(timeout=2)
        os.close(self.fd)
