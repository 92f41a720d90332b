"""The explorer's actions (keys and palette) as a mixin of ExplorerApp: edits, modes, views."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from textual import events

from .jobs import Jobs
from .screens import GotoScreen, HelpScreen, QuitScreen
from .state import MAX_INCREMENTAL, Edit, RegionCursor, push_weights, sweep_values

if TYPE_CHECKING:
    from .panes import SynapseTable

SWEEP_FRAMES, SWEEP_FPS = 45, 30.0


class Controller(Jobs):
    """Key handling. Arrows mean: cursor (region mode), coordinated move (c), else the table."""

    # -- edits -----------------------------------------------------------------------
    def edited(self, edit: Edit | None) -> None:
        """Show an edit (already in state.weights): canvas first, numbers after the frame."""
        if edit is None:
            return
        ids = edit.ids if len(edit.ids) <= MAX_INCREMENTAL else None
        if self.renderer is not None:
            push_weights(self.renderer, self.state.weights, ids)
        self.paint()
        if ids is None:
            self.table.refresh()
        else:
            for s in ids:
                self.table.refresh_synapse(s)
        self.numbers_later(ids)

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
            self.edited(st.nudge(sign, n))

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
            self.edited(self.state.reset_synapse())

    def action_reset_all(self) -> None:
        if self.can_edit():
            self.edited(self.state.reset_all())

    def action_undo(self) -> None:
        if self.can_edit():
            self.edited(self.state.undo())

    def action_redo(self) -> None:
        if self.can_edit():
            self.edited(self.state.redo())

    def action_view(self, view: int) -> None:
        self.state.view = int(view)
        self.paint()
        self.update_status()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    # -- sweep -----------------------------------------------------------------------
    def action_sweep(self) -> None:
        """Animate the selected weight through the sweep range (a preview, not an edit)."""
        if self.renderer is None or not self.can_edit():
            return
        self.sweeping = {
            "s": self.state.selected,
            "values": sweep_values(*self.sweep_range, SWEEP_FRAMES),
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
        sw["i"] = min(max(due, sw["i"]), n - 1)
        v = float(sw["values"][sw["i"]])
        self.renderer.set_weight(sw["s"], v)
        self.extra = f"sweep w[{sw['s']}] = {v:+.3f} (any key stops)"
        self.paint()
        self.numbers_later([sw["s"]])
        if due >= n - 1:
            sw["i"] = n  # the last frame is shown: the next tick ends the sweep

    def stop_sweep(self) -> None:
        """End the sweep and put the weight back."""
        sw, self.sweeping = self.sweeping, None
        if sw is None:
            return
        sw["timer"].stop()
        s = sw["s"]
        self.renderer.set_weight(s, float(self.state.weights[s]))
        self.extra = ""
        self.paint()
        self.numbers_later([s])

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
        st = self.state
        if st.cursor is None:
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
        self.ensemble = None
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
        self.edited(self.state.apply(c["ids"], new, "coordinated move"))

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
        if not self.state.dirty:
            self.exit(None)
            return

        def chosen(choice: str | None) -> None:
            if choice == "discard":
                self.exit(None)
            elif choice == "keep":
                self.autosave_and_quit()

        self.push_screen(QuitScreen(), chosen)
