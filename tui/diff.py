"""Row diffs for the canvas: changed cells only, over the row the terminal is known to show.

A changed canvas row is sent as only its changed cells; runs of unchanged cells are skipped
with cursor-forward (``CSI n C``) when that is shorter than repainting them. Textual's
compositor places every chop with an absolute cursor move and, within a full line, assumes the
cursor stands after the strip's cell length; a diff row leaves it there too (cursor-forward
over the trailing run), and it ends with a reset like a full row. A diff is exact only where
the terminal shows its base row, so ``ScreenRows`` records, per canvas row, which frame the
terminal shows: set when a pre-encoded row goes out raw, cleared when the row goes out through
Textual's segment path (cropped, divided, tinted: something else covers part of it) and on a
resize or a screen switch. ``write_row`` picks the diff or the full row at write time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from synens.core.base.jit import kernel

from .ansi import _put_colour

if TYPE_CHECKING:
    from .canvas import Frame
    from .wire import Wire

__all__ = ["ScreenRows", "diff_from", "encode_diff_rows", "next_band", "row_bytes", "write_row"]


# -- the diff encoder --------------------------------------------------------------------
@kernel
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


@kernel
def _skip_len(n):  # pragma: no cover - compiled
    """Bytes of "\\x1b[nC" (n omitted when 1)."""
    if n == 1:
        return 3
    d = 1
    while n >= 10:
        n //= 10
        d += 1
    return 3 + d


@kernel
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


# -- a frame's rows on the wire ------------------------------------------------------------
def write_row(frame: Frame, y: int) -> str:
    """Row y as written to the terminal now: its diff if the terminal shows the base.

    Records that the terminal now shows ``frame``'s row y; the frame's last row to go out
    carries the wire's answer request.
    """
    screen = frame.screen
    assert screen is not None
    out = frame.rows[y]
    diff = frame.diffs.get(y)
    if diff is not None and screen.shows(y) is diff[0]:
        out = diff[1]
    screen.written(y, frame)
    if y == frame.query_row and frame.link is not None:
        out += frame.link.take_query()
    return out


def row_bytes(frame: Frame, y: int) -> int:
    """Bytes row y takes on the wire (its diff if there is one)."""
    diff = frame.diffs.get(y)
    return len((frame.rows[y] if diff is None else diff[1]).encode())


def diff_from(frame: Frame, screen: ScreenRows, changed: list[int]) -> None:
    """Encode ``frame``'s changed rows against the frames the terminal shows there."""
    bases = [(y, screen.shows(y)) for y in changed]
    bases = [(y, b) for y, b in bases if b is not None and type(b) is type(frame)
             and b.size == frame.size and b.indexed == frame.indexed]  # type: ignore[attr-defined]
    if not bases:
        return
    ys = [y for y, _ in bases]
    base = tuple(np.stack([getattr(b, k)[y] for y, b in bases]) for k in ("fg", "bg", "chars"))
    diffs = encode_diff_rows(
        frame.fg[ys], frame.bg[ys], frame.chars[ys], base, frame.indexed  # type: ignore[arg-type]
    )
    for (y, b), text in zip(bases, diffs, strict=True):
        if len(text) < len(frame.rows[y]):
            frame.diffs[y] = (b, text)  # type: ignore[assignment]


def next_band(
    frame: Frame, screen: ScreenRows, link: Wire, changed: list[int], deferred: set[int]
) -> tuple[list[int], set[int]]:
    """The changed rows to send now, diff-encoded, within the link's byte budget.

    Rows held back by the last band (``deferred``) come first in order; rows over the budget
    are returned as the new deferred set, and wait for the next answer (they are then encoded
    from the newest picture). Marks the frame in flight on ``link``.
    """
    from .wire import band

    changed = sorted(set(changed) | deferred)
    if not changed:
        return changed, set()
    diff_from(frame, screen, changed)
    costs = [row_bytes(frame, y) for y in changed]
    n = band(costs, link.budget())
    frame.query_row = changed[n - 1]
    link.sent(sum(costs[:n]))
    return changed[:n], set(changed[n:])
