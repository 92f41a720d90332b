"""Half-block colour canvas: a Textual widget that shows an RGB array, two pixels per cell."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache, partial

import numpy as np
from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from textual.events import Resize
from textual.filter import ANSIToTruecolor, LineFilter, Monochrome, NoColor
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from . import diff as _diff
from . import wire as _wire
from .ansi import (
    HALF_BLOCK,
    Label,
    Rect,
    check_color_mode,
    compose_cells,
    encode_rows,
    preferred_color_mode,
)
from .textual_compat import lazy_strip

__all__ = ["Frame", "HalfBlockCanvas", "encode_frame", "preferred_color_mode"]

_BUSY_MARK = " link busy "  # wire: drawn top-right while frames are being dropped


@lru_cache(maxsize=1 << 16)
def _colour(value: int, indexed: bool) -> Color:
    """A rich Color for a 24-bit RGB value or an xterm-256 index."""
    if indexed:
        return Color.from_ansi(value)
    triplet = ColorTriplet(value >> 16, (value >> 8) & 255, value & 255)
    return Color(f"#{value:06x}", ColorType.TRUECOLOR, triplet=triplet)  # = from_triplet


@lru_cache(maxsize=1 << 16)
def _pair_style(key: int, indexed: bool) -> Style:
    """One cached Style per (foreground, background) pair; key = fg << 24 | bg."""
    return Style.from_color(_colour(key >> 24, indexed), _colour(key & 0xFFFFFF, indexed))


def _row_segments(
    fg: np.ndarray, bg: np.ndarray, chars: np.ndarray, indexed: bool
) -> list[Segment]:
    """Styled Segments for a cell row (fg, bg: uint8[W, 3] or [W, 1]; chars: uint32[W])."""
    f, b = fg.astype(np.int64), bg.astype(np.int64)
    if not indexed:  # pack RGB into 24 bits
        f, b = (
            (f[:, :1] << 16 | f[:, 1:2] << 8 | f[:, 2:]),
            (b[:, :1] << 16 | b[:, 1:2] << 8 | b[:, 2:]),
        )
    key = f[:, 0] << 24 | b[:, 0]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]).tolist()
    ends = starts[1:] + [len(key)]
    text = "".join(map(chr, chars.tolist())) if (chars != HALF_BLOCK).any() else "▀" * len(key)
    keys = key[starts].tolist()
    return [
        Segment(text[a:e], _pair_style(k, indexed))
        for a, e, k in zip(starts, ends, keys, strict=True)
    ]


class Frame:
    """One encoded canvas frame.

    fg, bg: uint8[R, W, 3] upper / lower pixel colours per cell (RGB; in 256 mode
    uint8[R, W, 1] xterm indices); chars: uint32[R, W] code points; rows: R raw ANSI
    strings; strips: R Strips of W cells.
    """

    def __init__(self, fg: np.ndarray, bg: np.ndarray, chars: np.ndarray, indexed: bool) -> None:
        self.fg, self.bg, self.chars, self.indexed = fg, bg, chars, indexed
        self.size = (chars.shape[1], chars.shape[0])  # (columns, rows)
        self.rows = encode_rows(fg, bg, chars, indexed)
        self.strips: list[Strip] = [
            lazy_strip(_row_segments, (fg[y], bg[y], chars[y], indexed), raw, self.size[0],
                       partial(self._write_row, y), partial(self._row_cut, y))
            for y, raw in enumerate(self.rows)
        ]
        # wire (tui/diff.py, tui/wire.py): set by the canvas when it tracks what the terminal shows
        self.screen: _diff.ScreenRows | None = None
        self.link: _wire.Wire | None = None
        self.diffs: dict[int, tuple[Frame, str]] = {}  # row -> (base frame, diff encoding)
        self.query_row = -1  # the row after which the answer request goes out

    def _write_row(self, y: int) -> str:
        """What goes out for row y written whole: the raw row, or (wire) its diff when the
        terminal shows the diff's base row."""
        return self.rows[y] if self.screen is None else _diff.write_row(self, y)

    def _row_cut(self, y: int) -> None:
        """Row y goes out as Segments (cut, tinted): the terminal no longer shows it raw."""
        if self.screen is not None:
            self.screen.lost(y)


def encode_frame(
    rgb: np.ndarray,
    mode: str = "truecolor",
    *,
    size: tuple[int, int] | None = None,
    labels: Iterable[Label] = (),
    outline: Rect | None = None,
    cursor: tuple[int, int] | None = None,
) -> Frame:
    """Encode an RGB picture uint8[H, W, 3] as a half-block Frame (see ``compose_cells``)."""
    cells = compose_cells(rgb, mode, size=size, labels=labels, outline=outline, cursor=cursor)
    return Frame(*cells)


class HalfBlockCanvas(Widget):
    """Shows a uint8[H, W, 3] picture with "▀" cells: fg = upper pixel, bg = lower pixel.

    Rows are pre-encoded to raw ANSI once per picture and handed to the compositor as
    cached strip renders; only rows whose encoding changed are refreshed.
    """

    DEFAULT_CSS = "HalfBlockCanvas { width: 1fr; height: 1fr; }"

    class PixelSizeChanged(Message):
        """Posted when the canvas's size in pixels changes (the app should re-render)."""

        def __init__(self, width: int, height: int) -> None:
            super().__init__()
            self.width, self.height = width, height

    def __init__(
        self,
        color_mode: str = "truecolor",
        *,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's keyword
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._color_mode = check_color_mode(color_mode)
        self._rgb = np.zeros((0, 0, 3), dtype=np.uint8)
        self._outline: Rect | None = None
        self._cursor: tuple[int, int] | None = None
        self._caption = ""
        self._labels: list[Label] = []
        self._frame: Frame | None = None
        self._posted_size: tuple[int, int] | None = None
        self._pending = False
        self._screen_rows = _diff.ScreenRows()  # wire: which frame the terminal shows per row
        self._link: _wire.Wire | None = None  # wire: set on mount (disabled when headless)
        self._marked = False  # wire: the current frame carries the "link busy" mark
        self._deferred: set[int] = set()  # wire: changed rows not sent yet (over the budget)
        self.live_behind_modal = False
        """Keep updating while another screen covers the canvas (slow, see ``_update``)."""

    @property
    def color_mode(self) -> str:
        """ "truecolor" (exact 24-bit SGR) or "256" (nearest xterm-256 colour)."""
        return self._color_mode

    @color_mode.setter
    def color_mode(self, mode: str) -> None:
        self._color_mode = check_color_mode(mode)
        self._update()

    @property
    def pixel_size(self) -> tuple[int, int]:
        """(width_px, height_px) = (content columns, 2 x content rows)."""
        width, height = self.content_size
        return width, 2 * height

    @property
    def frame(self) -> Frame:
        """The current encoded frame (built for the current content size)."""
        width, height = self.content_size
        if not (width and height):
            width, height = self._rgb.shape[1], (self._rgb.shape[0] + 1) // 2
        if self._frame is None or self._frame.size != (width, height):
            mark = _BUSY_MARK if self._link is not None and self._link.busy and width >= 40 else ""
            self._marked = bool(mark)
            self._frame = encode_frame(
                self._rgb, self._color_mode, size=(width, height),
                labels=[*self._labels, (0, height - 1, self._caption),
                        (width - len(mark), 0, mark)],
                outline=self._outline, cursor=self._cursor,
            )  # fmt: skip
            if self._link is not None:  # wire: track rows and carry the answer request
                self._frame.screen, self._frame.link = self._screen_rows, self._link
        return self._frame

    def set_image(self, rgb: np.ndarray) -> None:
        """Show a new picture, uint8[H, W, 3] (ideally of size ``pixel_size``)."""
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected uint8[H, W, 3], got {rgb.dtype}{list(rgb.shape)}")
        self._rgb = rgb
        self._update()

    def set_outline(self, rect: Rect | None) -> None:
        """Outline a picture-pixel rectangle (x0, y0, x1, y1), half-open; None removes it."""
        self._outline = None if rect is None else tuple(int(v) for v in rect)  # type: ignore[assignment]
        self._update()

    def set_cursor(self, x: int | None, y: int | None = None) -> None:
        """Mark picture pixel (x, y) with a small cross; ``set_cursor(None)`` removes it."""
        self._cursor = None if x is None or y is None else (int(x), int(y))
        self._update()

    def set_caption(self, text: str) -> None:
        """Write ``text`` in the canvas's lower-left corner ("" for none)."""
        self._caption = text
        self._update()

    def set_labels(self, labels: Iterable[Label]) -> None:
        """Extra text labels as (column, row, text) cell positions."""
        self._labels = list(labels)
        self._update()

    def _covered(self) -> bool:
        """True while another screen (a modal, say) is on top of the canvas's screen."""
        return self.screen is not self.app.screen

    def _update(self) -> None:
        """Re-encode, then refresh only the rows whose raw encoding changed.

        While covered by another screen the update waits (unless ``live_behind_modal``):
        Textual re-tints every segment of a translucent modal's background screen, which
        for a photo costs ~0.5-1 s per redraw. It is applied when the screen is on top again.
        """
        if not self.is_mounted:
            self._frame = None
            return
        if self._covered() and not self.live_behind_modal:
            self._pending = True
            return
        link = self._link
        if link is not None and link.hold(self, self._update):  # wire: a frame is in flight
            return
        self._pending = False
        old, self._frame = self._frame, None
        new = self.frame
        if old is None or old.size != new.size or self.content_offset != (0, 0):
            self._screen_rows.reset()
            self._deferred = set()
            new.query_row = new.size[1] - 1
            self.refresh()
            if link is not None:
                link.sent(sum(map(len, new.rows)))
            return
        changed = [y for y, (a, b) in enumerate(zip(old.rows, new.rows, strict=True)) if a != b]
        if link is not None:  # wire: send a band of the changes (diffs), then ask for an answer
            changed, self._deferred = _diff.next_band(
                new, self._screen_rows, link, changed, self._deferred
            )
            if self._deferred:  # the rest of the frame: after the answer
                link.again(self, self._update)
        lookup = set(changed)  # runs of changed rows, without list scans on the nudge path
        starts = [y for y in changed if y - 1 not in lookup]
        ends = [y + 1 for y in changed if y + 1 not in lookup]
        if changed:
            width = new.size[0]
            self.refresh(*(Region(0, a, width, b - a) for a, b in zip(starts, ends, strict=True)))

    def on_mount(self) -> None:
        self.app.screen_change_signal.subscribe(self, self._screen_changed)
        link = _wire.wire_for(self.app)
        if link.enabled:
            self._link = link
            link.on_busy(self._busy_changed)
            self._frame = None

    def _busy_changed(self, busy: bool) -> None:
        if not busy and self._marked:  # wire: take the "link busy" mark off
            self._update()

    def _screen_changed(self, screen: object) -> None:
        self._screen_rows.reset()  # another screen may have drawn over the canvas
        if self._pending and not self._covered():
            self._update()

    def on_resize(self, event: Resize) -> None:
        self._screen_rows.reset()
        self._deferred = set()
        self._frame = None
        if self.pixel_size != self._posted_size:
            self._posted_size = self.pixel_size
            self.post_message(self.PixelSizeChanged(*self.pixel_size))

    def get_line_filters(self) -> list[LineFilter]:
        """The app's filters less NO_COLOR's: the painting is the data, so it keeps its colours
        while NO_COLOR turns the rest of the UI monochrome (issue 8, colour)."""
        return [f for f in super().get_line_filters() if not isinstance(f, Monochrome | NoColor)]

    def render_line(self, y: int) -> Strip:
        strips = self.frame.strips
        return strips[y] if 0 <= y < len(strips) else Strip.blank(self.content_size.width)

    def _is_plain(self) -> bool:
        """True when Textual's per-line styling would be a no-op (no gutter, tint, filters)."""
        styles = self.styles
        return (
            self.content_offset == (0, 0)
            and self.content_size == self.size
            and not styles.tint.a
            and self.opacity == 1
            and styles.text_opacity == 1
            and not styles.has_rule("hatch")
            and not any(edge for edge, _ in styles.outline)
            and all(type(f) is ANSIToTruecolor for f in self.get_line_filters())
        )

    def render_lines(self, crop: Region) -> list[Strip]:
        """Hand the frame's strips to the compositor as they are (cropped only if clipped)."""
        if not self._is_plain():
            return super().render_lines(crop)
        strips = self.frame.strips
        x1, x2 = crop.column_span
        return [strips[y].crop(x1, x2) for y in crop.line_range]
