"""What the explorer's keys do (bound on the app, carried out here): edits, sweep, region, mouse."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from .screens import GotoScreen, QuitScreen, StopTrainingScreen
from .state import RegionCursor

if TYPE_CHECKING:
    from .app import ExplorerApp

SWEEP_FRAMES, SWEEP_FPS = 45, 30.0


class Controller:
    """Key handling. Arrows mean: cursor (region mode), coordinated move (c), else the table.

    Every edit goes through the session; ``sweeping`` (a running sweep) and ``coord`` (the
    coordinated move being followed) are the only state kept here.
    """

    def __init__(self, app: ExplorerApp) -> None:
        self.app, self.session, self.painter = app, app.session, app.painter
        self.state = app.session.state
        self.sweeping: dict[str, Any] | None = None
        self.coord: dict[str, Any] | None = None
        self.dragging = False

    def can_edit(self) -> bool:
        if self.app.jobs.trainer is not None:
            self.app.notify("Training is running: press t to stop it first.", severity="warning")
            return False
        return True

    def _redraw(self) -> None:
        self.painter.paint()
        self.painter.update_status()

    # -- synapses and edits ------------------------------------------------------------
    def vertical(self, n: int) -> None:
        if self.state.cursor is not None:
            self.state.move_cursor(0, n)
            self._redraw()
            return
        self.state.move(n if abs(n) != 8 else n // 8)
        self.painter.selection_changed()

    def horizontal(self, sign: int, n: int) -> None:
        st = self.state
        if st.cursor is not None:
            st.move_cursor(sign * (8 if n > 1 else 1), 0)
            self._redraw()
        elif self.coord is not None:
            self.coord_step(sign * n)
        elif self.can_edit():
            self.painter.edited(self.session.nudge(sign, n))

    def neuron(self, direction: int) -> None:
        self.state.next_neuron(direction)
        self.painter.selection_changed()

    def goto(self) -> None:
        def done(s: int | None) -> None:
            if s is not None:
                self.state.select(s)
                self.painter.selection_changed()

        self.app.push_screen(GotoScreen(self.state.n_synapses), done)

    def step(self, factor: float) -> None:
        self.state.scale_step(factor)
        self.painter.update_status()

    def edit(self, what: str) -> None:
        """reset, reset_all, undo or redo: one session edit, re-rendered in full."""
        if self.can_edit():
            self.painter.edited(getattr(self.session, what)())

    def view(self, view: int) -> None:
        """Show a view; the atlas view starts the atlas when it is missing or stale."""
        self.state.view = int(view)
        if self.state.view == 6 and not self.session.is_current(self.session.get("atlas")):
            self.app.jobs.compute_atlas()
        self._redraw()

    # -- sweep -------------------------------------------------------------------------
    def sweep(self) -> None:
        """Animate the selected weight through trained + Δ (a preview, not an edit)."""
        if self.session.renderer is None or not self.can_edit():
            return
        s = self.state.selected
        deltas, values = self.session.sweep(s, *self.app.sweep_range, SWEEP_FRAMES)
        self.sweeping = {
            "s": s,
            "deltas": deltas,
            "values": values,
            "i": 0,
            "t0": time.perf_counter(),
            "timer": self.app.set_interval(1 / SWEEP_FPS, self._sweep_tick),
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
        self.painter.extra = (f"sweep w[{sw['s']}]: Δ {sw['deltas'][i]:+.3f} → {v:+.4f}, "
                              f"RMSE {self.session.rmse_now:.4f} (any key stops)")
        self.painter.paint()
        self.painter.update_neuron()
        self.painter.update_status()
        if due >= n - 1:
            sw["i"] = n  # the last frame is shown: the next tick ends the sweep

    def stop_sweep(self) -> None:
        """End the sweep (if one runs) and put the weight back, re-rendered in full."""
        sw, self.sweeping = self.sweeping, None
        if sw is None:
            return
        sw["timer"].stop()
        self.session.end_preview()
        self.painter.extra = ""
        self.painter.paint()
        self.painter.numbers_later()

    # -- region ------------------------------------------------------------------------
    def region(self) -> None:
        self.coord = None
        self.state.start_region()
        self.painter.extra = "space: corner · enter: analyse · esc: cancel"
        self._redraw()

    def corner(self) -> None:
        if self.state.cursor is not None:
            self.state.fix_corner()
            self._redraw()

    def confirm(self) -> None:
        """enter: analyse the rectangle being selected, or re-run a stale analysis."""
        st, jobs = self.state, self.app.jobs
        if st.cursor is None:
            if st.region is not None and self.session.get("region", st.region, True) is None:
                jobs.run_analysis(st.region)
            return
        if st.cursor.anchor is None:
            self.app.notify("Press space first to fix a corner of the rectangle.")
            return
        from synens.core.analysis.changemap import RegionError, check_region

        try:
            check_region(st.cursor.rect(), *self.session.model.size)
        except RegionError as err:
            self.app.notify(str(err), severity="error")
            return
        rect = st.confirm_region()
        self.painter.extra = ""
        self.session.forget("region")
        self._redraw()
        jobs.run_analysis(rect)

    def cancel(self) -> None:
        if self.state.cursor is not None:
            self.state.cancel_region()
        elif self.coord is not None:
            self.coord = None
        else:
            return
        self.painter.extra = ""
        self._redraw()

    def start_coord(self) -> None:
        tag = self.session.get("region", self.state.region)
        ens = None if tag is None else tag.value
        if ens is None or not ens.moves:
            self.app.notify("Select a region first (s … enter): moves come from its ensemble.")
            return
        if self.coord is not None:
            self.cancel()
            return
        self.coord = {"ids": ens.members.copy(), "v": np.asarray(ens.moves[0]["vector"]), "t": 0.0}
        self.painter.extra = "move: ←/→ along the top move, esc leaves"
        self.painter.update_status()

    def coord_step(self, n: int) -> None:
        if not self.can_edit():
            return
        c = self.coord
        dt = n * self.state.step
        c["t"] += dt
        new = self.state.weights[c["ids"]] + dt * c["v"]
        self.painter.extra = f"move t = {c['t']:+.3f} (esc leaves)"
        self.painter.edited(self.session.edit(c["ids"], new, "coordinated move"))

    # -- mouse (an extra: everything works without it) ---------------------------------
    def press(self, pixel: tuple[int, int]) -> None:
        self.coord = None
        self.state.cursor = RegionCursor(*pixel, anchor=pixel)
        self.dragging = True
        self._redraw()

    def drag(self, pixel: tuple[int, int]) -> None:
        if self.dragging and self.state.cursor is not None:
            self.state.cursor.x, self.state.cursor.y = pixel
            self._redraw()

    def release(self) -> None:
        if self.dragging:
            self.dragging = False
            cur = self.state.cursor
            if cur is not None and (cur.x, cur.y) != cur.anchor:
                self.confirm()

    def select(self, s: int) -> None:
        self.state.select(s)
        self.painter.selection_changed()

    # -- quit --------------------------------------------------------------------------
    def quit(self) -> None:
        app = self.app
        trainer = app.jobs.trainer
        if trainer is not None and trainer.fresh and app.train_to is not None:
            def stop(yes: bool | None) -> None:
                if yes and app.jobs.trainer is trainer:
                    app.jobs.quit_after_training = True
                    app.jobs.train()  # stops it; _trained saves what was learnt, then quits

            app.push_screen(StopTrainingScreen(str(app.train_to)), stop)
            return
        if trainer is not None:
            app.notify("Training is running: press t to stop it first (its result is kept).")
            return
        if not self.session.dirty:
            app.exit(None)
            return

        def chosen(choice: str | None) -> None:
            if choice == "discard":
                app.exit(None)
            elif choice == "keep":
                app.jobs.autosave_and_quit()

        app.push_screen(QuitScreen(), chosen)
