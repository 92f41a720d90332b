"""The explorer's actions (keys and palette) as a mixin of ExplorerApp: edits, modes, views."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from textual import events

from .jobs import Jobs
from .screens import GotoScreen, HelpScreen, QuitScreen
from .state import MAX_INCREMENTAL, Edit, RegionCursor

if TYPE_CHECKING:
    from .panes import SynapseTable

SWEEP_FRAMES, SWEEP_FPS = 45, 30.0


class Controller(Jobs):
    """Key handling. Arrows mean: cursor (region mode), coordinated move (c), else the table."""

    # -- edits -----------------------------------------------------------------------
    def edited(self, edit: Edit | None) -> None:
        """Show an edit the session has made (renderers already follow it): canvas first,
        numbers after the frame; analyses of older weights now show as stale."""
        if edit is None:
            return
        self.paint()
        if len(edit.ids) > MAX_INCREMENTAL:
            self.table.refresh()
        else:
            for s in edit.ids:
                self.table.refresh_synapse(s)
        self.numbers_later()
        self.update_ensemble()

    def selection_changed(self) -> None:
        self.table.follow()
        self.update_neuron()
        if self.state.view in (4, 5):
            self.paint()

    def can_edit(self) -> bool:
        if self.trainer is not None:
            self.notify("Training is running: press t to stop it first.", severity="warning")
            return False
        return True

    # -- keys ------------------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        if (
            isinstance(event, events.Key)
            and self.sweeping is not None
            and not event.is_forwarded
            and self.screen is self.screen_stack[0]
        ):
            self.stop_sweep()  # any key stops the sweep, and does nothing else
            return
        await super().on_event(event)

    def action_up(self, n: int = 1) -> None:
        self._vertical(-n)

    def action_down(self, n: int = 1) -> None:
        self._vertical(n)

    def _vertical(self, n: int) -> None:
        if self.state.cursor is not None:
            self.state.move_cursor(0, n)
            self.paint()
            self.update_status()
            return
        self.state.move(n if abs(n) != 8 else n // 8)
        self.selection_changed()

    def action_left(self, n: int = 1) -> None:
        self._horizontal(-1, n)

    def action_right(self, n: int = 1) -> None:
        self._horizontal(1, n)

    def _horizontal(self, sign: int, n: int) -> None:
        st = self.state
        if st.cursor is not None:
            st.move_cursor(sign * (8 if n > 1 else 1), 0)
            self.paint()
            self.update_status()
        elif self.coord is not None:
            self.coord_step(sign * n)
        elif self.can_edit():
            self.edited(self.session.nudge(sign, n))

    def action_neuron(self, direction: int) -> None:
        self.state.next_neuron(direction)
        self.selection_changed()

    def action_goto(self) -> None:
        def done(s: int | None) -> None:
            if s is not None:
                self.state.select(s)
                self.selection_changed()

        self.push_screen(GotoScreen(self.state.n_synapses), done)

    def action_step(self, factor: float) -> None:
        self.state.scale_step(factor)
        self.update_status()

    def action_reset(self) -> None:
        if self.can_edit():
            self.edited(self.session.reset_synapse())

    def action_reset_all(self) -> None:
        if self.can_edit():
            self.edited(self.session.reset_all())

    def action_undo(self) -> None:
        if self.can_edit():
            self.edited(self.session.undo())

    def action_redo(self) -> None:
        if self.can_edit():
            self.edited(self.session.redo())

    def action_view(self, view: int) -> None:
        """Show a view; the atlas view starts the atlas when it is missing or stale."""
        self.state.view = int(view)
        if self.state.view == 6 and not self.session.is_current(self.session.get("atlas")):
            self.compute_atlas()
        self.paint()
        self.update_status()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    # -- sweep -----------------------------------------------------------------------
    def action_sweep(self) -> None:
        """Animate the selected weight through trained + Δ (a preview, not an edit)."""
        if self.renderer is None or not self.can_edit():
            return
        s = self.state.selected
        deltas, values = self.session.sweep(s, *self.sweep_range, SWEEP_FRAMES)
        self.sweeping = {
            "s": s,
            "deltas": deltas,
            "values": values,
            "i": 0,
            "t0": time.perf_counter(),
            "timer": self.set_interval(1 / SWEEP_FPS, self._sweep_tick),
        }
        self._sweep_tick()

    def _sweep_tick(self) -> None:
        """Show the frame due now (frames follow the clock, so slow machines skip some)."""
        sw = self.sweeping
        if sw is None:
            return
        n = len(sw["values"])
        due = int((time.perf_counter() - sw["t0"]) * SWEEP_FPS)
        if sw["i"] >= n:
            self.stop_sweep()
            return
        sw["i"] = i = min(max(due, sw["i"]), n - 1)
        v = self.session.preview_weight(sw["s"], float(sw["values"][i]))
        self.extra = (f"sweep w[{sw['s']}]: Δ {sw['deltas'][i]:+.3f} → {v:+.4f}, "
                      f"RMSE {self.session.rmse_now:.4f} (any key stops)")
        self.paint()
        self.update_neuron()
        self.update_status()
        if due >= n - 1:
            sw["i"] = n  # the last frame is shown: the next tick ends the sweep

    def stop_sweep(self) -> None:
        """End the sweep and put the weight back (re-rendered in full)."""
        sw, self.sweeping = self.sweeping, None
        if sw is None:
            return
        sw["timer"].stop()
        self.session.end_preview()
        self.extra = ""
        self.paint()
        self.numbers_later()

    # -- region ----------------------------------------------------------------------
    def action_region(self) -> None:
        self.coord = None
        self.state.start_region()
        self.extra = "space: corner · enter: analyse · esc: cancel"
        self.paint()
        self.update_status()

    def action_corner(self) -> None:
        if self.state.cursor is not None:
            self.state.fix_corner()
            self.paint()
            self.update_status()

    def action_confirm(self) -> None:
        """enter: analyse the rectangle being selected, or re-run a stale analysis."""
        st = self.state
        if st.cursor is None:
            if st.region is not None and self.session.get("region", st.region, True) is None:
                self.run_analysis(st.region)
            return
        if st.cursor.anchor is None:
            self.notify("Press space first to fix a corner of the rectangle.")
            return
        from synens.core.analysis.changemap import RegionError, check_region

        try:
            check_region(st.cursor.rect(), *self.model.size)
        except RegionError as err:
            self.notify(str(err), severity="error")
            return
        rect = st.confirm_region()
        self.extra = ""
        self.session.forget("region")
        self.paint()
        self.update_status()
        self.run_analysis(rect)

    def action_cancel(self) -> None:
        if self.state.cursor is not None:
            self.state.cancel_region()
        elif self.coord is not None:
            self.coord = None
        else:
            return
        self.extra = ""
        self.paint()
        self.update_status()

    def action_coord(self) -> None:
        ens = self.ensemble
        if ens is None or not ens.moves:
            self.notify("Select a region first (s … enter): moves come from its ensemble.")
            return
        if self.coord is not None:
            self.action_cancel()
            return
        self.coord = {"ids": ens.members.copy(), "v": np.asarray(ens.moves[0]["vector"]), "t": 0.0}
        self.extra = "move: ←/→ along the top move, esc leaves"
        self.update_status()

    def coord_step(self, n: int) -> None:
        if not self.can_edit():
            return
        c = self.coord
        dt = n * self.state.step
        c["t"] += dt
        new = self.state.weights[c["ids"]] + dt * c["v"]
        self.extra = f"move t = {c['t']:+.3f} (esc leaves)"
        self.edited(self.session.edit(c["ids"], new, "coordinated move"))

    # -- mouse (an extra: everything works without it) ---------------------------------
    def _canvas_pixel(self, event: events.MouseEvent) -> tuple[int, int] | None:
        """The picture pixel under the mouse, or None off the canvas / under a modal."""
        region = self.canvas.content_region
        if self.layout is None or self.screen is not self.screen_stack[0] \
                or not region.contains(event.screen_x, event.screen_y):
            return None
        return self.layout.to_picture(event.screen_x - region.x, 2 * (event.screen_y - region.y))

    def on_mouse_down(self, event: events.MouseDown) -> None:
        pixel = self._canvas_pixel(event)
        if pixel is not None:
            self.coord = None
            self.state.cursor = RegionCursor(*pixel, anchor=pixel)
            self._dragging = True
            self.paint()
            self.update_status()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        pixel = self._canvas_pixel(event) if self._dragging else None
        if pixel is not None and self.state.cursor is not None:
            self.state.cursor.x, self.state.cursor.y = pixel
            self.paint()
            self.update_status()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._dragging:
            self._dragging = False
            cur = self.state.cursor
            if cur is not None and (cur.x, cur.y) != cur.anchor:
                self.action_confirm()

    def on_synapse_table_clicked(self, message: SynapseTable.Clicked) -> None:
        self.state.select(message.synapse)
        self.selection_changed()

    # -- quit ------------------------------------------------------------------------
    async def action_quit(self) -> None:
        if self.trainer is not None:
            self.notify("Training is running: press t to stop it first (its result is kept).")
            return
        if not self.session.dirty:
            self.exit(None)
            return

        def chosen(choice: str | None) -> None:
            if choice == "discard":
                self.exit(None)
            elif choice == "keep":
                self.autosave_and_quit()

        self.push_screen(QuitScreen(), chosen)
