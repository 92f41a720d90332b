"""Frames that fit the wire: flow control learnt from the terminal's answers (diffs: ``diff.py``).

``Wire`` keeps at most one canvas frame in flight. Each frame is followed by a
cursor-position request (``CSI 6 n``); the next frame goes out only when the terminal's
answer arrives (Textual's parser turns it into ``events.CursorPosition``, never a key), or
after a timeout for terminals that never answer. Updates meanwhile are coalesced: only the
newest state is encoded and sent, and ``busy`` is set while frames are being dropped. The
link's rate is learnt from the answers' round trips beyond the latency floor; a frame bigger
than ``BAND_SECONDS`` of it goes out in bands of rows, one band in flight, so that what is
in flight when the user stops is small and the newest picture follows at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

__all__ = ["QUERY", "Wire", "band", "wire_enabled", "wire_for"]

QUERY = "\x1b[6n"  # DSR cursor-position request; the answer is "\x1b[row;colR"
FIRST_TIMEOUT = 0.5  # s to wait for an answer before the terminal has ever answered
TIMEOUT = 3.0  # s to wait once it has answered (a slow link's backlog takes seconds)
#: Timeouts without a single answer (4 s at 0.5 s each, longer than a slow link's first full
#: frame) after which the terminal is taken to answer nothing: frames
#: then go out at once (their requests still ride along, and the first answer turns waiting on).
SILENT_AFTER = 8
BAND_SECONDS = 0.25  # a frame bigger than this much link time goes out in bands of rows
BAND_MIN = 16384  # bytes: the smallest band
FALLBACK_QUERY = 0.1  # s after a frame: write the request if no frame row has carried it


def wire_enabled(environ: Any = os.environ) -> bool:
    """False when SYNENS_WIRE=0 turns off diffs and flow control (for comparisons)."""
    return environ.get("SYNENS_WIRE", "1") != "0"


def band(costs: list[int], budget: float) -> int:
    """How many leading rows (byte costs ``costs``) fit in ``budget`` bytes; at least one."""
    total = 0
    for n, cost in enumerate(costs):
        total += cost
        if n and total > budget:
            return n
    return len(costs)


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
        self.silent = False  # the terminal has never answered SILENT_AFTER requests in a row
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
        if not (self.enabled and self.in_flight) or self._releasing or self.silent:
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
        self.silent = False
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
            if not self.answers_seen and self.timeouts >= SILENT_AFTER:
                self.silent = True  # a terminal that answers nothing must not wait per frame
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
