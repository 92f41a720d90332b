"""The one place that uses Textual's private Strip internals: the canvas's pre-encoded rows.

The canvas hands the compositor Strips whose ANSI rendering is ready (``_render_cache``) and
whose styled Segments are built only when something reads them (``_segments``, a slot of
Strip). Those names are private to Textual. At import a probe builds one such Strip and checks
that Textual still uses them the way this module expects; if not (or if FAST_PATH is set
False) ``lazy_strip`` falls back to the public ``Strip(segments, width)``, which gives the same
screen output, only slower. pyproject pins Textual to the series the probe was written for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

__all__ = ["FAST_PATH", "PROBE_ERROR", "lazy_strip"]

Builder = Callable[..., list[Segment]]


def _slot() -> Any:
    """Strip's ``_segments`` slot descriptor, or None when Strip has no such slot."""
    slot = Strip.__dict__.get("_segments")
    return slot if hasattr(slot, "__set__") and hasattr(slot, "__get__") else None


_SEGMENTS = _slot()


class _LazyStrip(Strip):
    """A Strip whose render() is a pre-encoded ANSI row; its Segments are built on first use.

    The compositor writes an uncut full-width strip with ``render()`` (the cached raw string).
    Anything that crops, divides, joins, tints or inspects it reads ``_segments`` and gets
    real styled Segments, so covered or clipped widgets stay correct (the slow path).
    """

    __slots__ = ("_source", "_writer", "_on_cut")

    def __init__(self, build: Builder, args: tuple, raw: str, width: int,
                 writer: Callable[[], str] | None = None,
                 on_cut: Callable[[], None] | None = None) -> None:
        self._source: tuple | None = None
        self._writer, self._on_cut = None, None
        super().__init__((), width)
        self._source = (build, args)
        self._render_cache = raw
        self._writer, self._on_cut = writer, on_cut

    def render(self, console: Console) -> str:
        """The pre-encoded row, or what ``writer`` says to write instead (a diff of it)."""
        return self._writer() if self._writer is not None else super().render(console)

    @property
    def _segments(self) -> list[Segment]:  # type: ignore[override]
        if self._on_cut is not None:  # the row goes out as Segments: cut, tinted or joined
            self._on_cut()
        if self._source is not None:
            build, args = self._source
            _SEGMENTS.__set__(self, build(*args))
            self._source = None
        return _SEGMENTS.__get__(self, Strip)

    @_segments.setter
    def _segments(self, segments: list[Segment]) -> None:
        _SEGMENTS.__set__(self, segments)

    def __bool__(self) -> bool:
        return bool(self._cell_length)


def _probe() -> str | None:
    """Check the private names on real Strips; None when the fast path behaves, else why not."""
    if _SEGMENTS is None:
        return "Strip has no _segments slot"
    try:
        style = Style.parse("#ff0000 on #0000ff")
        segments = [Segment("ab", style), Segment("c", style)]
        console = Console(color_system="truecolor", force_terminal=True, width=20)
        public = Strip(list(segments), 3)
        raw = public.render(console)
        if not hasattr(public, "_render_cache") or public._render_cache != raw:
            return "Strip.render no longer caches in _render_cache"
        strip = _LazyStrip(lambda: list(segments), (), "RAW", 3)
        if strip.render(console) != "RAW":
            return "Strip.render no longer returns _render_cache"
        if strip.cell_length != 3 or not strip:
            return "Strip no longer keeps its width in _cell_length"
        if list(strip) != segments or strip.text != "abc":
            return "Strip no longer reads its Segments from _segments"
        if list(strip.crop(1, 3)) != list(public.crop(1, 3)):
            return "a cropped Strip differs from the public one"
        if strip.crop(1, 3).render(console) != public.crop(1, 3).render(console):
            return "a re-rendered Strip differs from the public one"
    except Exception as err:  # any change in the private API means: use the public one
        return f"{type(err).__name__}: {err}"
    return None


#: Why the fast path is off (None when the probe passed).
PROBE_ERROR: str | None = _probe()

#: True while the canvas may hand the compositor pre-encoded rows (tests may set it False).
FAST_PATH: bool = PROBE_ERROR is None


def lazy_strip(build: Builder, args: tuple, raw: str, width: int,
               writer: Callable[[], str] | None = None,
               on_cut: Callable[[], None] | None = None) -> Strip:
    """A Strip of ``width`` cells showing ``build(*args)`` (styled Segments); ``raw`` is their
    ANSI rendering, used as it is on the fast path and ignored on the public one. On the fast
    path, ``writer()`` (if given) supplies the string written when the row goes out whole, and
    ``on_cut()`` is called when the row goes out as Segments instead (the wire's diffs,
    tui/diff.py, use both; the public path never writes a diff)."""
    if FAST_PATH:
        return _LazyStrip(build, args, raw, width, writer, on_cut)
    return Strip(build(*args), width)
