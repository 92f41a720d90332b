"""Thread workers of the explorer (analysis, atlas, report, training) and its file actions."""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from synens.core.network.train import TrainConfig
from textual.message import Message

from . import workers as W
from .regionjobs import RegionJobs

if TYPE_CHECKING:
    from pathlib import Path

    from synens.core.network.train import TrainResult

    from .app import ExplorerApp

T = TypeVar("T")

#: Seconds a hang-up (SIGHUP/SIGTERM) leaves Textual to shut down before the process ends.
HANG_UP_GRACE = 3.0


class TrainProgress(Message):
    """A training worker has a newer update (the worker never waits for the UI)."""


class KernelsCompiled(Message):
    """The warm-up thread has compiled one more stage of kernels (see warmup.py)."""


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
        #: Set when q stopped a first training: quit once its result is saved.
        self.quit_after_training = False
        #: The region analysis, its null and the report (``regionjobs.RegionJobs``).
        self.region = RegionJobs(self)
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
        if self.quit_after_training:  # q stopped the first training: quit once it is saved
            self.quit_after_training = False
            if result is not None and s.model.path and not s.dirty:
                self.app.exit(f"trained model saved to {s.model.path}")

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
