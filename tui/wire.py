"""Frames that fit the wire: a row diff encoder (cursor-forward over same cells), flow control.

Diff: a changed canvas row is sent as only its changed cells; runs of unchanged cells are
skipped with ``CSI n C`` when that is shorter than repainting them. It is exact only when the
terminal shows the base row, so ``ScreenRows`` records, per canvas row, which frame the
terminal shows (set when a pre-encoded row is written raw, cleared whenever anything else
could have drawn there), and a diff is chosen at write time only against that frame.

Flow: ``Wire`` keeps at most one canvas frame in flight. Each frame is followed by a
cursor-position request (``CSI 6 n``); the next frame goes out only when the terminal's
answer arrives (Textual's parser turns it into ``events.CursorPosition``, never a key), or
after a timeout for terminals that never answer. Updates meanwhile are coalesced: only the
newest state is encoded and sent, and ``busy`` is set while frames are being dropped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit
from synens.core.base.jit import JIT

from .ansi import _put_colour

if TYPE_CHECKING:
    from textual.app import App

__all__ = ["QUERY", "ScreenRows", "Wire", "encode_diff_rows", "wire_enabled", "wire_for"]

QUERY = "\x1b[6n"  # DSR cursor-position request; the answer is "\x1b[row;colR"
FIRST_TIMEOUT = 0.5  # s to wait for an answer before the terminal has ever answered
TIMEOUT = 3.0  # s to wait once it has answered (a slow link's backlog takes seconds)
BAND_SECONDS = 0.25  # a frame bigger than this much link time goes out in bands of rows
BAND_MIN = 16384  # bytes: the smallest band
FALLBACK_QUERY = 0.1  # s after a frame: write the request if no frame row has carried it


def wire_enabled(environ: Any = os.environ) -> bool:
    """False when SYNENS_WIRE=0 turns off diffs and flow control (for comparisons)."""
    return environ.get("SYNENS_WIRE", "1") != "0"


# -- the diff encoder --------------------------------------------------------------------
@njit(**JIT)
def _put_cell(buf, p, f, b, ch, pf, pb, indexed):  # pragma: no cover - compiled
    """Write one cell (SGR for the colours that changed, then the UTF-8 character)."""
    if indexed:
        kf = np.int64(f[0])
        kb = np.int64(b[0])
    else:
        kf = (np.int64(f[0]) << 16) | (np.int64(f[1]) << 8) | np.int64(f[2])
        kb = (np.int64(b[0]) << 16) | (np.int64(b[1]) << 8) | np.int64(b[2])
    if kf != pf or kb != pb:
        buf[p] = 27
        buf[p + 1] = 91
        p += 2
        if kf != pf:
            p = _put_colour(buf, p, f, 51, indexed)
        if kb != pb:
            if kf != pf:
                buf[p] = 59
                p += 1
            p = _put_colour(buf, p, b, 52, indexed)
        buf[p] = 109
        p += 1
    if ch < 0x80:
        buf[p] = ch
        p += 1
    elif ch < 0x800:
        buf[p] = 0xC0 | (ch >> 6)
        buf[p + 1] = 0x80 | (ch & 0x3F)
        p += 2
    else:
        buf[p] = 0xE0 | (ch >> 12)
        buf[p + 1] = 0x80 | ((ch >> 6) & 0x3F)
        buf[p + 2] = 0x80 | (ch & 0x3F)
        p += 3
    return p, kf, kb


@njit(**JIT)
def _skip_len(n):  # pragma: no cover - compiled
    """Bytes of "\\x1b[nC" (n omitted when 1)."""
    if n == 1:
        return 3
    d = 1
    while n >= 10:
        n //= 10
        d += 1
    return 3 + d


@njit(**JIT)
def _encode_diff_rows(fg, bg, chars, bfg, bbg, bchars, indexed, out, lengths):  # pragma: no cover
    rows, width = chars.shape
    depth = fg.shape[2]
    for r in range(rows):
        buf = out[r]
        p = 0
        pf = np.int64(-1)
        pb = np.int64(-1)
        x = 0
        while x < width:
            e = x
            while e < width:  # the run of unchanged cells starting at x
                same = chars[r, e] == bchars[r, e]
                for c in range(depth):
                    same = same and fg[r, e, c] == bfg[r, e, c] and bg[r, e, c] == bbg[r, e, c]
                if not same:
                    break
                e += 1
            if e > x:  # repaint the run tentatively; keep it only if not longer than a skip
                p0, f0, b0 = p, pf, pb
                for c in range(x, e):
                    p, pf, pb = _put_cell(buf, p, fg[r, c], bg[r, c], np.int64(chars[r, c]),
                                          pf, pb, indexed)
                n = e - x
                if p - p0 > _skip_len(n):
                    p, pf, pb = p0, f0, b0
                    buf[p] = 27
                    buf[p + 1] = 91
                    p += 2
                    if n > 1:
                        s = 1
                        while s * 10 <= n:
                            s *= 10
                        while s > 0:
                            buf[p] = 48 + n // s % 10
                            p += 1
                            s //= 10
                    buf[p] = 67  # "C"
                    p += 1
                x = e
            else:
                p, pf, pb = _put_cell(buf, p, fg[r, x], bg[r, x], np.int64(chars[r, x]),
                                      pf, pb, indexed)
                x += 1
        for i in range(4):  # "\x1b[0m"
            buf[p + i] = (27, 91, 48, 109)[i]
        lengths[r] = p + 4


def encode_diff_rows(
    fg: np.ndarray,
    bg: np.ndarray,
    chars: np.ndarray,
    base: tuple[np.ndarray, np.ndarray, np.ndarray],
    indexed: bool,
) -> list[str]:
    """Encode cell rows as changes from ``base`` rows the terminal already shows.

    fg, bg: uint8[R, W, 3] RGB (uint8[R, W, 1] xterm indices when ``indexed``); chars:
    uint32[R, W]; base: (fg, bg, chars) of the same shapes. Each returned string starts
    with the cursor at the row's first cell, leaves it after the row's last cell and ends
    with a reset, like ``encode_rows``; runs of cells equal to the base are skipped with
    cursor-forward (``CSI n C``) where that is shorter than repainting them.
    """
    bfg, bbg, bchars = base
    if not (fg.shape == bg.shape == bfg.shape == bbg.shape) or chars.shape != bchars.shape:
        raise ValueError("diff rows and their base differ in shape")
    if fg.ndim != 3 or fg.shape[:2] != chars.shape or fg.shape[2] != (1 if indexed else 3):
        raise ValueError(f"expected fg, bg uint8[R, W, {1 if indexed else 3}], got {fg.shape}")
    rows, width = chars.shape
    out = np.empty((rows, width * 40 + 8), dtype=np.uint8)
    lengths = np.empty(rows, dtype=np.int64)
    c = np.ascontiguousarray
    _encode_diff_rows(c(fg), c(bg), c(chars), c(bfg), c(bbg), c(bchars), indexed, out, lengths)
    return [out[r, : lengths[r]].tobytes().decode() for r in range(rows)]


def band(costs: list[int], budget: float) -> int:
    """How many leading rows (byte costs ``costs``) fit in ``budget`` bytes; at least one."""
    total = 0
    for n, cost in enumerate(costs):
        total += cost
        if n and total > budget:
            return n
    return len(costs)


# -- what the terminal shows -------------------------------------------------------------
class ScreenRows:
    """Per canvas row, the frame whose row the terminal shows (None: unknown).

    ``written`` is called when a pre-encoded row goes to the terminal raw; ``lost`` when
    the row went out through Textual's segment path (cropped, divided, tinted: something
    else may cover part of it) or the canvas was repainted from scratch (``reset``).
    """

    def __init__(self) -> None:
        self.rows: dict[int, object] = {}

    def shows(self, y: int) -> object | None:
        return self.rows.get(y)

    def written(self, y: int, frame: object) -> None:
        self.rows[y] = frame

    def lost(self, y: int) -> None:
        self.rows.pop(y, None)

    def reset(self) -> None:
        self.rows.clear()


# -- flow control ------------------------------------------------------------------------
class Wire:
    """At most one canvas frame in flight, learnt from the terminal's answers.

    ``hold(key, resend)`` asks to send a frame: False means go ahead (then call ``sent``);
    True means a frame is in flight, and ``resend()`` will be called once the answer has
    arrived (only the newest request per key is kept: intermediate frames are dropped).
    """

    def __init__(
        self,
        write: Callable[[str], None] | None,
        set_timer: Callable[[float, Callable[[], None]], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = write is not None
        self._write = write
        self._set_timer = set_timer
        self._clock = clock
        self.in_flight = False
        self.query_due = False  # a frame was handed over; its query is not written yet
        self.answers_seen = 0
        self.frames_sent = 0
        self.frames_dropped = 0
        self.timeouts = 0
        self._waiting: dict[object, Callable[[], None]] = {}
        self._timer: Any = None
        self._busy = False
        self._busy_listeners: list[Callable[[bool], None]] = []
        self.last_rtt: float | None = None
        self._t_query = 0.0
        self.rate: float | None = None  # link bytes/s, learnt from answers (None: unknown)
        self._bytes = 0  # bytes of the frame in flight
        self.min_rtt = float("inf")
        self._releasing = False

    # state
    @property
    def busy(self) -> bool:
        """True while frames are being dropped because the terminal is behind."""
        return self._busy

    def on_busy(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener(busy)`` whenever ``busy`` changes (for a status-bar mark)."""
        self._busy_listeners.append(listener)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            for listener in list(self._busy_listeners):
                listener(busy)

    # sending
    def hold(self, key: object, resend: Callable[[], None]) -> bool:
        """True (and remember ``resend``) while a frame is in flight; False: send now."""
        if not (self.enabled and self.in_flight) or self._releasing:
            return False
        if key in self._waiting:
            self.frames_dropped += 1
            self._set_busy(True)
        self._waiting[key] = resend
        return True

    def budget(self) -> float:
        """Bytes the next frame may take: ``BAND_SECONDS`` of the learnt link rate."""
        return float("inf") if self.rate is None else max(BAND_MIN, self.rate * BAND_SECONDS)

    def again(self, key: object, resend: Callable[[], None]) -> None:
        """Call ``resend()`` after the next answer (the rest of a frame sent in bands)."""
        if self.enabled:
            self._waiting.setdefault(key, resend)

    def sent(self, nbytes: int = 0) -> None:
        """A canvas frame of ``nbytes`` went to the compositor: in flight until answered."""
        if not self.enabled:
            return
        self.frames_sent += 1
        self._bytes += nbytes
        if not self.query_due:
            self.query_due = True
            self.in_flight = True
            if self._set_timer is not None:  # a frame whose rows went out cut carries none
                self._set_timer(FALLBACK_QUERY, self._ensure_query)

    def take_query(self) -> str:
        """The request to append to a frame's last row as it is written ("" if none is due)."""
        if not self.query_due:
            return ""
        self._query_written()
        return QUERY

    def _ensure_query(self) -> None:
        """Shortly after a frame: write the request if no frame row has carried it."""
        if self.query_due and self._write is not None:
            self._query_written()
            self._write(QUERY)

    def _query_written(self) -> None:
        self.query_due = False
        self._t_query = self._clock()
        if self._set_timer is not None:
            if self._timer is not None:
                self._timer.stop()
            timeout = TIMEOUT if self.answers_seen else FIRST_TIMEOUT
            self._timer = self._set_timer(timeout, self._timed_out)

    # answers
    def answered(self) -> None:
        """The terminal answered a request: the frame before it has arrived."""
        self.answers_seen += 1
        self.last_rtt = rtt = self._clock() - self._t_query
        self.min_rtt = min(self.min_rtt, rtt)  # the round trip without a backlog: latency
        transfer = rtt - self.min_rtt
        if transfer > 0.05 and self._bytes and not self.query_due:  # the link's rate showed
            rate = self._bytes / transfer
            self.rate = rate if self.rate is None else 0.5 * (self.rate + rate)
        self._release()

    def _timed_out(self) -> None:
        self._timer = None
        if self.in_flight and not self.query_due:
            self.timeouts += 1
            self._release()

    def _release(self) -> None:
        if self.query_due:  # a newer frame is already on its way, its query not yet out
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.in_flight = False
        self._bytes = 0
        waiting, self._waiting = self._waiting, {}
        if not waiting:
            self._set_busy(False)
        self._releasing = True  # every waiting canvas goes out in this one frame
        try:
            for resend in waiting.values():
                resend()
        finally:
            self._releasing = False


def wire_for(app: App) -> Wire:
    """The app's one Wire (disabled when headless, without a driver, or SYNENS_WIRE=0)."""
    wire = getattr(app, "_synens_wire", None)
    if wire is None:
        driver = getattr(app, "_driver", None)  # Textual private: the terminal writer
        live = driver is not None and not app.is_headless and wire_enabled()
        wire = Wire(
            driver.write if live else None,
            set_timer=lambda delay, callback: app.set_timer(delay, callback),
        )
        app._synens_wire = wire  # type: ignore[attr-defined]
    return wire
