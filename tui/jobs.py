"""Thread workers of the explorer (analysis, atlas, report, training) and its file actions."""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from synens.core.network.train import TrainConfig
from textual.message import Message

from . import workers as W

if TYPE_CHECKING:
    from pathlib import Path

    from synens.core.network.train import TrainResult

    from .app import ExplorerApp
    from .state import Rect

T = TypeVar("T")

#: Seconds a hang-up (SIGHUP/SIGTERM) leaves Textual to shut down before the process ends.
HANG_UP_GRACE = 3.0


class TrainProgress(Message):
    """A training worker has a newer update (the worker never waits for the UI)."""


class NullProgress(Message):
    """A null worker has finished one more random box, or has ended (``run.finished``)."""

    def __init__(self, run: NullRun) -> None:
        super().__init__()
        self.run = run


@dataclass
class NullRun:
    """One null computation for (region ``rect``, weights ``version``), run in a worker.

    The worker sets ``done`` after each box, then ``result`` or ``error`` and ``finished``
    (a threading.Event other workers may wait on); ``cancel`` asks it to stop.
    """

    rect: Rect
    version: int
    total: int
    done: int = 0
    result: Any = None
    error: BaseException | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def cancelled(self) -> bool:
        return isinstance(self.error, InterruptedError)

    def line(self) -> str:
        """What the ensemble pane says about this null while it is not there."""
        if not self.finished.is_set():
            return (f"null: {self.done} of {self.total} random boxes of this size done… "
                    "(esc cancels)")
        if self.cancelled:
            return "null: cancelled (enter runs it again)"
        return "null: failed (enter runs it again)"


class Jobs:
    """The explorer's heavy work in thread workers; failures are shown, never fatal.

    Every worker computes on a snapshot (version, weights) of the session and posts its
    result tagged with that version; the session keeps it, and the panes show it as stale
    when the weights have changed since. ``busy``: names of the jobs running; ``trainer``:
    the running training, or None.
    """

    def __init__(self, app: ExplorerApp, seed: int = 0) -> None:
        self.app, self.session, self.painter = app, app.session, app.painter
        self.busy: set[str] = set()
        self.trainer: W.Trainer | None = None
        #: The newest null computation (running, finished or cancelled), or None.
        self.null_run: NullRun | None = None
        #: How ``t`` trains on: L-BFGS until stopped (or converged).
        self.continue_config = TrainConfig(seed=seed, seconds=24 * 3600.0, adam_share=0.0)

    def notify(self, message: str, **kwargs: Any) -> None:
        self.app.notify(message, **kwargs)

    def call_from_thread(self, callback: Callable[..., Any], *args: Any) -> None:
        self.app.call_from_thread(callback, *args)

    def _worker(self, group: str, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn(*args)`` in a thread worker of ``group`` (its errors never end the app)."""
        self.app.run_worker(partial(fn, *args), thread=True, group=group, exit_on_error=False)

    def failed(self, what: str, err: BaseException) -> None:
        """Show a worker's error; the app stays usable."""
        self.busy.discard(what)
        line = " ".join(str(err).split()) or type(err).__name__
        self.painter.extra = f"{what} failed"
        self.notify(f"{what} failed: {line}", severity="error", timeout=10)
        self.app.log.error(traceback.format_exception(err))
        self.painter.update_ensemble()
        self.painter.update_status()

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
        """Analyse ``rect`` with the weights in use, in a worker (newer requests win); the
        null follows in its own worker once the first answer is shown."""
        self.cancel_null()
        self.busy.add("analysis")
        self.painter.extra = "analysing the region…"
        self.painter.update_ensemble()
        self.painter.update_status()
        version, weights = self.session.snapshot()
        self._worker("analysis", self._off_thread, "analysis",
                     lambda: self.session.analyse_region(weights, rect),
                     lambda control: self.analysed(rect, version, control))

    def analysed(self, rect: Rect, version: int, control: Any) -> None:
        """A region analysis is done: keep it tagged (dropped if the region has changed),
        show it, then start its null."""
        self.busy.discard("analysis")
        if self.session.state.region != rect:
            return  # the user has chosen another region meanwhile: drop it
        self.session.put("region", version, rect, control)
        self.session.forget("null")
        self.painter.extra = ""
        self.start_null(rect, version, control)
        self.painter.update_ensemble()
        self.painter.update_status()

    # -- the null (after the first answer, never before it) -----------------------------
    def start_null(self, rect: Rect, version: int, control: Any) -> None:
        """Run the null of ``control`` (made for ``version``) in a worker, with progress."""
        self.cancel_null()
        run = NullRun(rect, version, self.session.analyses.null_boxes)
        self.null_run = run
        self.busy.add("null")
        self._worker("null", self._null, run, control)

    def _null(self, run: NullRun, control: Any) -> None:
        """In a worker: the null, box by box; every step posts a NullProgress (never waits)."""
        def progress(done: int, total: int) -> None:
            run.done, run.total = done, total
            self.app.post_message(NullProgress(run))

        try:
            run.result = self.session.region_null(control, progress, run.cancel.is_set)
        except BaseException as err:  # noqa: BLE001 - kept on the run, shown by null_done
            run.error = err
        run.finished.set()
        self.app.post_message(NullProgress(run))

    def null_progress(self, run: NullRun) -> None:
        """On NullProgress (UI thread): show the progress, or keep and show the result."""
        if run is not self.null_run:
            return  # an older run (cancelled and replaced)
        if run.finished.is_set():
            self.busy.discard("null")
            if run.error is None:
                self.session.put("null", run.version, run.rect, run.result)
            elif not run.cancelled:
                self.failed("null", run.error)
                return
        self.painter.update_ensemble()

    def cancel_null(self) -> bool:
        """Ask the running null to stop; returns whether one was running."""
        run = self.null_run
        if run is None or run.finished.is_set():
            return False
        run.cancel.set()
        return True

    def null_line(self, rect: Rect | None, version: int) -> str | None:
        """The pane's null line while the null for (rect, version) is not there, else None."""
        tag = self.session.get("null", rect)
        if tag is not None and tag.version == version:
            return None
        run = self.null_run
        if run is not None and run.rect == rect and run.version == version:
            return run.line()
        return "null: not run (enter runs it)"

    # -- atlas (only when its view asks for it) ----------------------------------------
    def compute_atlas(self) -> None:
        """Start the atlas of the weights in use (quietly ignored while one is running)."""
        if "atlas" not in self.busy:
            self.busy.add("atlas")
            version, weights = self.session.snapshot()
            self._worker("atlas", self._off_thread, "atlas", lambda: self.session.atlas(weights),
                         lambda parts: self._atlas_done(version, parts))

    def _atlas_done(self, version: int, parts: np.ndarray) -> None:
        self.busy.discard("atlas")
        self.session.put("atlas", version, None, parts)
        if self.session.state.view == 6:
            self.painter.paint()

    # -- report ----------------------------------------------------------------------
    def dump(self) -> None:
        """d: the region's report for the weights in use (never an older analysis's): the
        text ``synens-tui report`` prints, null included (a running null is waited for)."""
        region = self.session.state.region
        if region is None:
            self.notify("Select a region first (s … enter): the report is about a region.")
            return
        if self._start("report"):
            s = self.session
            tag = s.get("region", region, current=True)
            null = s.get("null", region, current=True)
            run = self.null_run
            if run is None or (run.rect, run.version) != (region, s.version) or tag is None:
                run = None
            version, weights = s.snapshot()
            edits = s.edit_count
            self.notify("Writing the report for the weights in use"
                        + ("" if null is not None else " (with its null: a moment)…"),
                        title="report", timeout=4)
            self._worker("report", self._dump, region, weights,
                         None if tag is None else tag.value, null, run, edits)

    def _dump(self, region: Rect, weights: np.ndarray, control: Any, null: Any,
              run: NullRun | None, edits: int) -> None:
        """In a worker: what is missing (analysis, null), then the report file."""
        def write() -> Path:
            s = self.session
            c = control if control is not None else s.analyse_region(weights, region)
            if null is not None:
                result = null.value
            elif run is not None and run.finished.wait() and run.error is None:
                result = run.result  # the null the pane is waiting for: computed once
            else:
                result = s.region_null(c)
            text = s.report(region, weights, c, result)
            return W.dump_report(text, self.app.report_dir, region)

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
            self.app.exit(f"could not keep the unsaved edits: {err}")
            return
        self.app.exit(None if path is None else f"unsaved edits kept in {path}")

    def keep_unsaved(self) -> Path | None:
        """Stop a training; write unsaved edits (or its newest weights) to the autosave file."""
        weights = None
        if self.trainer is not None:
            self.trainer.stop()
            weights = self.trainer.latest
        return self.session.autosave(self.app.save_dir, weights)

    def save(self) -> None:
        """ctrl+s: the edited weights as a NEW model file (atomic, never overwrites)."""
        try:
            path = self.session.save(self.app.save_dir, "-edited")
        except Exception as err:  # noqa: BLE001
            self.failed("save", err)
            return
        self.session.mark_saved()
        self.notify(f"Saved the weights to {path}", title="saved", timeout=8)
        self.painter.update_status()

    def autosave_and_quit(self) -> None:
        """Keep unsaved edits in an autosave file, show its path, then quit."""
        try:
            path = self.session.autosave(self.app.save_dir)
        except Exception as err:  # noqa: BLE001
            self.failed("autosave", err)
            return
        self.app.exit(None if path is None else f"unsaved edits kept in {path}")

    # -- training --------------------------------------------------------------------
    def train(self) -> None:
        """t: train on from the weights in use, or stop the running training."""
        if self.trainer is not None:
            self.trainer.stop()
            self.painter.extra = "stopping training…"
            self.painter.update_status()
            return
        self.start_training(False)

    def start_training(self, fresh: bool) -> None:
        """Train in a worker: from scratch into ``train_to`` (fresh) or on from the weights."""
        app = self.app
        app.keys.stop_sweep()
        config = (TrainConfig(seed=app.seed, seconds=app.train_seconds) if fresh
                  else self.continue_config)
        self.trainer = W.Trainer(self.session.model, self.session.weights, config,
                                 lambda: app.post_message(TrainProgress()))
        self.trainer.fresh = fresh
        app.query_one("#train-row").set_class(True, "-on")
        where = f" → {app.train_to}" if fresh and app.train_to else " (t stops)"
        self.painter.extra = "training" + where
        self.painter.update_status()
        self._worker("train", self._train, self.trainer)

    def _train(self, trainer: W.Trainer) -> None:
        try:
            result = trainer.run()
        except Exception as err:  # noqa: BLE001
            self.call_from_thread(self._trained, trainer, None)
            self.call_from_thread(self.failed, "training", err)
            return
        self.call_from_thread(self._trained, trainer, result)

    def take_progress(self) -> None:
        """On TrainProgress: show the newest update, if one is unshown (older ones are
        skipped)."""
        trainer = self.trainer
        update = trainer.take_update() if trainer is not None else None
        if update is not None:
            self.progress(update)

    def progress(self, u: W.TrainUpdate) -> None:
        """Show one training update: one render of its weights, its RMSE as training saw it."""
        if self.trainer is None or self.trainer.stopped:
            return
        bar = self.app.query_one("#progress")
        if self.trainer.fresh and u.fraction is not None:
            bar.update(total=1.0, progress=u.fraction)
        else:
            bar.update(total=None)  # open-ended: t stops it
        self.app.query_one("#train-label").show(
            f" epoch {u.epoch}  RMSE {u.rmse:.4f} (best {u.best_rmse:.4f})  "
            f"{u.samples_per_s / 1e6:.2f} M samples/s  {u.elapsed:.0f} s"
        )
        self.session.show_preview(u.weights, u.rmse)
        self.painter.paint()
        self.painter.update_neuron()
        self.painter.update_status()

    def _trained(self, trainer: W.Trainer, result: TrainResult | None) -> None:
        self.trainer = None
        self.app.query_one("#train-row").set_class(False, "-on")
        s, d = self.session, self.painter
        edit = s.replace_all(result.weights, "train") if result is not None else None
        s.end_preview()
        d.cache.pop("trained", None)
        d.extra = ""
        if result is not None and trainer.fresh and self.app.train_to is not None:
            self._save_trained(result)
        elif edit is not None:
            self.notify(f"Training stopped: RMSE {s.rmse_now:.4f} (u undoes it)")
        d.edited(edit)
        d.paint()
        d.update_status()

    def _save_trained(self, result: TrainResult) -> None:
        """Save a freshly trained network (PICTURE launch) next to ``train_to``, never over
        an existing file; it becomes the model being explored."""
        from synens.core.files.model import Model, make_meta

        s, model, train_to = self.session, self.session.model, self.app.train_to
        meta = make_meta(model.topo, seed=self.app.seed, epochs=result.epochs,
                         seconds=round(result.seconds, 3), rmse=result.rmse,
                         picture=model.meta.get("picture"))
        fresh = Model(model.topo, s.weights, model.image, meta)
        try:
            path = W.save_new(fresh, s.weights, train_to.parent, train_to.stem)
        except Exception as err:  # noqa: BLE001
            self.failed("saving the trained model", err)
            return
        model.path, model.meta = str(path), meta
        model.weights = s.weights.copy()
        s.mark_saved(new_baseline=True)
        self.notify(f"Trained model saved to {path}", title="saved", timeout=15)
