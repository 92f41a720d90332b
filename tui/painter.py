"""What the explorer shows: canvas, caption, panes and status, all read from the Session."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text
from textual.widgets import Static

from . import frames, views
from .canvas import HalfBlockCanvas
from .panes import (
    StatusBar,
    TextLine,
    ensemble_text,
    member_marks,
    neuron_text,
    status_fields,
)
from .state import MAX_INCREMENTAL, Edit, Layout

if TYPE_CHECKING:
    from .app import ExplorerApp

NO_REGION = "No region yet: press s, move, space, move, enter."


class Painter:
    """Draws the session on the app's widgets; owns the layout, the caches and the hint line.

    ``extra``: the status bar's mode hint. Nothing here changes the weights or starts work.
    """

    def __init__(self, app: ExplorerApp) -> None:
        self.app, self.session = app, app.session
        self.layout: Layout | None = None
        self.cache: dict[object, np.ndarray] = {}
        self.shown: dict[str, object] = {}
        self.label = ""
        self.extra = ""
        self._numbers_due = False

    def relayout(self, width: int, height: int) -> None:
        """Re-render the network at the canvas's new pixel size."""
        self.layout = lay = Layout.fit((width, height), self.session.model.size)
        self.session.resize(lay.rw, lay.rh)
        self.cache.clear()
        self.paint()

    def paint(self) -> None:
        """Draw the current view, overlay and caption on the canvas."""
        lay, st = self.layout, self.session.state
        if lay is None or self.session.renderer is None:
            return
        canvas, shown = self.app.canvas, self.shown
        pic, self.label = frames.picture(self.session, lay, self.cache,
                                         "atlas" in self.app.jobs.busy)
        rect = st.cursor.rect() if st.cursor is not None else st.region
        outline = None if rect is None else lay.rect_to_canvas(rect)
        cursor = None if st.cursor is None else lay.to_canvas(st.cursor.x, st.cursor.y)
        if shown.get("outline", ()) != outline:
            canvas.set_outline(outline)
            shown["outline"] = outline
        if shown.get("cursor", ()) != cursor:
            canvas.set_cursor(*(cursor or (None, None)))
            shown["cursor"] = cursor
        self.caption()
        canvas.set_image(views.place(lay, pic))
        warm = self.app.warmup
        if warm is not None and not warm.going:  # the first painting: compile the rest now
            self.app.call_after_refresh(warm.go)

    def caption(self) -> None:
        text = f" RMSE {self.session.rmse_now:.4f} " + (f"· {self.label} " if self.label else "")
        warm = self.app.warmup
        if warm is not None and not warm.finished:
            text += f"· compiling kernels {warm.count()}/{len(warm.stages)}… "
        if self.shown.get("caption") != text:
            self.app.canvas.set_caption(text)
            self.shown["caption"] = text

    def kernels_compiled(self) -> None:
        """A warm-up stage is done: update the caption's mark; a view waiting for it paints."""
        if "compiling kernels" in self.label:
            self.paint()
        elif self.session.renderer is not None:
            self.caption()

    def edited(self, edit: Edit | None) -> None:
        """Show an edit the session has made (its renderers already follow it): canvas first,
        numbers after the frame; analyses of older weights now show as stale."""
        if edit is None:
            return
        self.paint()
        table = self.app.table
        if len(edit.ids) > MAX_INCREMENTAL:
            table.refresh()
        else:
            for s in edit.ids:
                table.refresh_synapse(s)
        self.numbers_later()
        self.update_ensemble()

    def selection_changed(self) -> None:
        self.app.table.follow()
        self.update_neuron()
        if self.session.state.view in (4, 5):
            self.paint()

    def update_numbers(self) -> None:
        """After an edit's frame is out: RMSE (training resolution), caption, panes."""
        self._numbers_due = False
        self.session.score()
        if self.session.renderer is not None:
            self.caption()
        self.update_neuron()
        self.update_status()

    def numbers_later(self) -> None:
        """Schedule update_numbers after the next refresh (once, however many edits)."""
        if not self._numbers_due:
            self._numbers_due = True
            self.app.call_after_refresh(self.update_numbers)

    def update_neuron(self) -> None:
        st, r = self.session.state, self.session.renderer
        line = self.app.query_one("#neuron-text", TextLine)
        line.show(neuron_text(st, line.content_size.width or 38))
        small = self.app.query_one("#neuron-map", HalfBlockCanvas)
        if r is None:
            return
        act = r.activation(st.neuron)
        w, h = small.pixel_size if small.pixel_size[0] else (20, 18)
        lay = Layout.fit((w, h), self.session.model.size)
        rows = ((np.arange(lay.rh) + 0.5) * act.shape[0] / lay.rh).astype(int)
        cols = ((np.arange(lay.rw) + 0.5) * act.shape[1] / lay.rw).astype(int)
        small.set_image(views.place(lay, views.grey(act[np.ix_(rows, cols)])))

    def update_status(self) -> None:
        s = self.session
        name = Path(s.model.path).name if s.model.path else "(new model)"
        fields = status_fields(s.state, model=name, rmse_now=s.rmse_now,
                               rmse_trained=s.rmse_trained, color_mode=self.app.color_mode,
                               color_reason=self.app.color_reason, extra=self.extra)
        self.app.query_one(StatusBar).show(fields)

    def update_ensemble(self) -> None:
        """The ensemble pane: the region's first answer, then its null (or the null's
        progress), marked stale when the weights changed (redrawn only when what it shows
        changes, not on every edit)."""
        s, jobs = self.session, self.app.jobs
        tag = s.get("region", s.state.region)
        busy = s.state.region is not None and "analysis" in jobs.busy
        if tag is None:
            key: tuple = (busy,)
        else:
            null = s.get("null", tag.key)
            null_value = null.value if null is not None and null.version == tag.version \
                else None
            line = jobs.region.null_line(tag.key, tag.version)
            key = (id(tag.value), s.is_current(tag), id(null_value), line)
        if self.shown.get("ensemble") == key:
            return
        self.shown["ensemble"] = key
        text = self.app.query_one("#ensemble-text", Static)
        if tag is None:
            text.update("analysing the region…" if busy else NO_REGION)
            self.app.table.set_influence(None, {})
            return
        control = tag.value
        pane = ensemble_text(control, null_value, line)
        if not s.is_current(tag):
            pane = Text.assemble(("weights changed: enter re-runs\n", "bold yellow"), pane)
        text.update(pane)
        self.app.table.set_influence(*member_marks(control))
