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
#: One ←/→ press of a coordinated move: this share of its measured step (the step that
#: changes the region by the stated RMS, 0.075), so four presses make the measured move.
COORD_STEP = 0.25
#: The moves ``c``/``C`` follow: (name, how the status bar calls it).
COORD_MOVES = {"ensemble": "ensemble move", "neuron": "best-neuron move"}


class Controller:
    """Key handling. Arrows mean: cursor (region mode), coordinated move (c/C), else the table.

    Every edit goes through the session; ``sweeping`` (a running sweep) and ``coord`` (the
    coordinated move being followed: which move, its position t in measured steps, and the
    moves) are the only state kept here.
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
            if st.region is None:
                return
            tag = self.session.get("region", st.region, True)
            if tag is None:
                jobs.region.run_analysis(st.region)
            elif self.session.get("null", st.region, True) is None and (
                    jobs.region.null_run is None or jobs.region.null_run.finished.is_set()):
                jobs.region.start_null(st.region, tag.version, tag.value)
                self.painter.update_ensemble()
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
        jobs.region.run_analysis(rect)

    def cancel(self) -> None:
        """esc: leave region mode, else the coordinated move, else stop a running null."""
        if self.state.cursor is not None:
            self.state.cancel_region()
        elif self.coord is not None:
            self.coord = None
        elif self.app.jobs.region.cancel_null():
            self.app.notify("Stopping the null (enter runs it again).")
            return
        else:
            return
        self.painter.extra = ""
        self._redraw()

    def coord_moves(self) -> dict[str, tuple[np.ndarray, np.ndarray, Any]] | None:
        """{name: (synapse ids int64[k], measured step float64[k], Move)} of the region's
        ensemble move and best-neuron move (a move that reaches no level is left out)."""
        tag = self.session.get("region", self.state.region)
        if tag is None:
            return None
        c = tag.value
        neuron = c.baselines.get("neuron") if c.baselines else None
        out = {}
        for name, mv in (("ensemble", c.ensemble), ("neuron", neuron and neuron[1])):
            if mv is not None and mv.measured is not None:
                ids = np.asarray(mv.synapses, np.int64)
                out[name] = (ids, mv.measured.scale * mv.vector[ids], mv)
        return out

    def start_coord(self, which: str = "ensemble") -> None:
        """c: follow the ensemble move with ←/→ (c again or esc leaves); C: toggle between
        it and the best-neuron move at the same position (one undoable edit)."""
        moves = self.coord_moves()
        if not moves:
            self.app.notify("Select a region first (s … enter): moves come from its analysis.")
            return
        c = self.coord
        if c is not None and which == "ensemble" and c["which"] == "ensemble":
            self.cancel()
            return
        if c is not None and which != "ensemble":  # C while following: the other move
            which = "neuron" if c["which"] == "ensemble" else "ensemble"
        if which not in moves:
            self.app.notify(f"No {COORD_MOVES[which]} reaches the stated RMS change inside "
                            "the region.", severity="warning")
            return
        if c is None:
            self.coord = {"which": which, "t": 0.0, "moves": moves}
        else:
            self._switch(which)
        self._coord_status()

    def _switch(self, which: str) -> None:
        """Replace the followed move at position t by the other one at the same t."""
        c = self.coord
        if c["t"] != 0.0 and not self.can_edit():
            return  # training: the weights stay on the move they are on
        old, new = c["moves"][c["which"]], c["moves"][which]
        c["which"] = which
        if c["t"] == 0.0:
            return
        ids = np.union1d(old[0], new[0])
        delta = np.zeros(ids.size)
        delta[np.searchsorted(ids, old[0])] -= c["t"] * old[1]
        delta[np.searchsorted(ids, new[0])] += c["t"] * new[1]
        self.painter.edited(self.session.edit(ids, self.state.weights[ids] + delta,
                                              f"coordinated move: {COORD_MOVES[which]}"))

    def _coord_status(self) -> None:
        c = self.coord
        ids, _, mv = c["moves"][c["which"]]
        m = mv.measured
        self.painter.extra = (f"{COORD_MOVES[c['which']]} (k={ids.size}, sel {m.sel:.3g} at RMS "
                              f"{m.level:g} inside): t = {c['t']:+.2f} × measured step · ←/→ "
                              "move · C other move · esc leaves")
        self.painter.update_status()

    def coord_step(self, n: int) -> None:
        if not self.can_edit():
            return
        c = self.coord
        ids, step, _ = c["moves"][c["which"]]
        dt = n * COORD_STEP
        c["t"] += dt
        self._coord_status()
        self.painter.edited(self.session.edit(ids, self.state.weights[ids] + dt * step,
                                              f"coordinated move: {COORD_MOVES[c['which']]}"))

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
