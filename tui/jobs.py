"""Thread workers of the explorer (analysis, atlas, report, training) and its file actions."""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from synens.core.network.train import TrainConfig
from textual import work
from textual.message import Message

from . import workers as W

if TYPE_CHECKING:
    from pathlib import Path

    from synens.core.network.train import TrainResult

    from .state import Rect

T = TypeVar("T")

#: Seconds a hang-up (SIGHUP/SIGTERM) leaves Textual to shut down before the process ends.
HANG_UP_GRACE = 3.0


class TrainProgress(Message):
    """A training worker has a newer update (the worker never waits for the UI)."""


class Jobs:
    """Mixin of ExplorerApp: heavy work in thread workers; failures are shown, never fatal.

    Every worker computes on a snapshot (version, weights) of the session and posts its
    result tagged with that version; the session keeps it, and the panes show it as stale
    when the weights have changed since.
    """

    def failed(self, what: str, err: BaseException) -> None:
        """Show a worker's error; the app stays usable."""
        self.busy.discard(what)
        line = " ".join(str(err).split()) or type(err).__name__
        self.extra = f"{what} failed"
        self.notify(f"{what} failed: {line}", severity="error", timeout=10)
        self.log.error(traceback.format_exception(err))
        self.update_status()

    def _start(self, what: str) -> bool:
        if what in self.busy:
            self.notify(f"{what} is already running")
            return False
        self.busy.add(what)
        return True

    def _off_thread(self, what: str, compute: Callable[[], T], done: Callable[[T], None]) -> None:
        """In a thread worker: ``compute()``, then ``done(result)`` on the UI thread, or
        ``failed(what, error)`` there if it raised."""
        try:
            result = compute()
        except Exception as err:  # noqa: BLE001 - shown to the user
            self.call_from_thread(self.failed, what, err)
            return
        self.call_from_thread(done, result)

    # -- region analysis -------------------------------------------------------------
    def run_analysis(self, rect: Rect) -> None:
        """Analyse ``rect`` with the weights in use, in a worker (newer requests win)."""
        self.extra = "analysing the region…"
        self.update_ensemble()
        self.update_status()
        self._analysis(rect, *self.session.snapshot())

    @work(thread=True, exit_on_error=False, group="analysis")
    def _analysis(self, rect: Rect, version: int, weights: np.ndarray) -> None:
        self._off_thread("analysis", lambda: self.session.analyse_region(weights, rect),
                         lambda ens: self._analysed(rect, version, ens))

    def _analysed(self, rect: Rect, version: int, ens: Any) -> None:
        if self.session.state.region != rect:
            return  # the user has chosen another region meanwhile: drop it
        self.session.put("region", version, rect, ens)
        self.extra = ""
        self.update_ensemble()
        self.update_status()

    # -- atlas (only when its view asks for it) ----------------------------------------
    def compute_atlas(self) -> None:
        """Start the atlas of the weights in use (quietly ignored while one is running)."""
        if "atlas" not in self.busy:
            self.busy.add("atlas")
            self._atlas(*self.session.snapshot())

    @work(thread=True, exit_on_error=False, group="atlas")
    def _atlas(self, version: int, weights: np.ndarray) -> None:
        self._off_thread("atlas", lambda: self.session.atlas(weights),
                         lambda parts: self._atlas_done(version, parts))

    def _atlas_done(self, version: int, parts: np.ndarray) -> None:
        self.busy.discard("atlas")
        self.session.put("atlas", version, None, parts)
        if self.session.state.view == 6:
            self.paint()

    # -- report ----------------------------------------------------------------------
    def action_dump(self) -> None:
        """d: the region's report for the weights in use (never an older analysis's)."""
        region = self.session.state.region
        if region is None:
            self.notify("Select a region first (s … enter): the report is about a region.")
            return
        if self._start("report"):
            tag = self.session.get("region", region, current=True)
            version, weights = self.session.snapshot()
            edits = self.session.edit_count
            self._dump(region, weights, None if tag is None else tag.value, edits)

    @work(thread=True, exit_on_error=False, group="report")
    def _dump(self, region: Rect, weights: np.ndarray, ens: Any, edits: int) -> None:
        def write() -> Path:
            text = self.session.report(region, weights, ens)
            return W.dump_report(text, self.report_dir, region)

        self._off_thread("report", write, lambda path: self._dumped(path, edits))

    def _dumped(self, path: Path, edits: int) -> None:
        self.busy.discard("report")
        which = (f"the edited weights in use ({edits} differ from trained)" if edits
                 else "the trained weights")
        self.notify(f"Report for {which} written to {path}", title="report", timeout=8)

    # -- saving ----------------------------------------------------------------------
    def hang_up(self) -> None:
        """SIGHUP or SIGTERM (terminal closed, SSH dropped): keep unsaved work, then quit.

        Unsaved edits, or the newest weights of a running training, go to an autosave file;
        a watchdog ends the process a few seconds after the work is safe, since a terminal
        that is gone can leave Textual's shutdown waiting on its output forever.
        """
        watchdog = threading.Timer(HANG_UP_GRACE, os._exit, args=(0,))
        watchdog.daemon = True
        watchdog.start()
        try:
            path = self.keep_unsaved()
        except Exception as err:  # noqa: BLE001 - nothing to show it on: exit with the reason
            self.exit(f"could not keep the unsaved edits: {err}")
            return
        self.exit(None if path is None else f"unsaved edits kept in {path}")

    def keep_unsaved(self) -> Path | None:
        """Stop a training; write unsaved edits (or its newest weights) to the autosave file."""
        weights = None
        if self.trainer is not None:
            self.trainer.stop()
            weights = self.trainer.latest
        return self.session.autosave(self.save_dir, weights)

    def action_save(self) -> None:
        """ctrl+s: the edited weights as a NEW model file (atomic, never overwrites)."""
        try:
            path = self.session.save(self.save_dir, "-edited")
        except Exception as err:  # noqa: BLE001
            self.failed("save", err)
            return
        self.session.mark_saved()
        self.notify(f"Saved the weights to {path}", title="saved", timeout=8)
        self.update_status()

    def autosave_and_quit(self) -> None:
        """Keep unsaved edits in an autosave file, show its path, then quit."""
        try:
            path = self.session.autosave(self.save_dir)
        except Exception as err:  # noqa: BLE001
            self.failed("autosave", err)
            return
        self.exit(None if path is None else f"unsaved edits kept in {path}")

    # -- training --------------------------------------------------------------------
    def action_train(self) -> None:
        if self.trainer is not None:
            self.trainer.stop()
            self.extra = "stopping training…"
            self.update_status()
            return
        self.start_training(False)

    def start_training(self, fresh: bool) -> None:
        """Train in a worker: from scratch into ``train_to`` (fresh) or on from the weights."""
        if self.sweeping is not None:
            self.stop_sweep()
        config = (TrainConfig(seed=self.seed, seconds=self.train_seconds) if fresh
                  else self.continue_config)
        self.trainer = W.Trainer(self.model, self.session.weights, config,
                                 lambda: self.post_message(TrainProgress()))
        self.trainer.fresh = fresh
        self.query_one("#train-row").set_class(True, "-on")
        where = f" → {self.train_to}" if fresh and self.train_to else " (t stops)"
        self.extra = "training" + where
        self.update_status()
        self._train(self.trainer)

    @work(thread=True, exit_on_error=False, group="train")
    def _train(self, trainer: W.Trainer) -> None:
        try:
            result = trainer.run()
        except Exception as err:  # noqa: BLE001
            self.call_from_thread(self._trained, trainer, None)
            self.call_from_thread(self.failed, "training", err)
            return
        self.call_from_thread(self._trained, trainer, result)

    def on_train_progress(self, message: TrainProgress) -> None:
        """The newest training update, if any is still unshown (older ones are skipped)."""
        trainer = self.trainer
        update = trainer.take_update() if trainer is not None else None
        if update is not None:
            self._progress(update)

    def _progress(self, u: W.TrainUpdate) -> None:
        """Show one training update: one render of its weights, its RMSE as training saw it."""
        if self.trainer is None or self.trainer.stopped:
            return
        bar = self.query_one("#progress")
        if self.trainer.fresh and u.fraction is not None:
            bar.update(total=1.0, progress=u.fraction)
        else:
            bar.update(total=None)  # open-ended: t stops it
        self.query_one("#train-label").show(
            f" epoch {u.epoch}  RMSE {u.rmse:.4f} (best {u.best_rmse:.4f})  "
            f"{u.samples_per_s / 1e6:.2f} M samples/s  {u.elapsed:.0f} s"
        )
        self.session.show_preview(u.weights, u.rmse)
        self.paint()
        self.update_neuron()
        self.update_status()

    def _trained(self, trainer: W.Trainer, result: TrainResult | None) -> None:
        self.trainer = None
        self.query_one("#train-row").set_class(False, "-on")
        s = self.session
        edit = s.replace_all(result.weights, "train") if result is not None else None
        s.end_preview()
        self._cache.pop("trained", None)
        self.extra = ""
        if result is not None and trainer.fresh and self.train_to is not None:
            self._save_trained(result)
        elif edit is not None:
            self.notify(f"Training stopped: RMSE {s.rmse_now:.4f} (u undoes it)")
        self.edited(edit)
        self.paint()
        self.update_status()

    def _save_trained(self, result: TrainResult) -> None:
        """Save a freshly trained network (PICTURE launch) next to ``train_to``, never over
        an existing file; it becomes the model being explored."""
        from synens.core.files.model import Model, make_meta

        s = self.session
        meta = make_meta(self.model.topo, seed=self.seed, epochs=result.epochs,
                         seconds=round(result.seconds, 3), rmse=result.rmse,
                         picture=self.model.meta.get("picture"))
        fresh = Model(self.model.topo, s.weights, self.model.image, meta)
        try:
            path = W.save_new(fresh, s.weights, self.train_to.parent, self.train_to.stem)
        except Exception as err:  # noqa: BLE001
            self.failed("saving the trained model", err)
            return
        self.model.path, self.model.meta = str(path), meta
        self.model.weights = s.weights.copy()
        s.mark_saved(new_baseline=True)
        self.notify(f"Trained model saved to {path}", title="saved", timeout=15)
