"""Thread workers of the explorer (analysis, atlas, report, training) and its file actions."""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from synens.core.network.render import rmse
from synens.core.network.train import TrainConfig
from textual import work

from . import workers as W

if TYPE_CHECKING:
    from pathlib import Path

    from synens.core.analysis.ensemble import RegionEnsemble
    from synens.core.network.train import TrainResult

    from .state import Rect

T = TypeVar("T")


#: Seconds a hang-up (SIGHUP/SIGTERM) leaves Textual to shut down before the process ends.
HANG_UP_GRACE = 3.0


class Jobs:
    """Mixin of ExplorerApp: heavy work in thread workers; failures are shown, never fatal."""

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
        """Analyse ``rect`` in a worker; a newer request makes older results obsolete."""
        self.extra = "analysing the region…"
        self.update_status()
        self._analysis(rect, self.state.weights.copy())

    @work(thread=True, exit_on_error=False, group="analysis")
    def _analysis(self, rect: Rect, weights: np.ndarray) -> None:
        self._off_thread("analysis", lambda: W.analyse(self.model, weights, rect), self._analysed)

    def _analysed(self, ens: RegionEnsemble) -> None:
        if self.state.region is None or tuple(ens.region) != tuple(self.state.region):
            return  # the user has chosen another region meanwhile
        self.ensemble = ens
        self.extra = ""
        self.update_ensemble()
        self.update_status()

    # -- atlas -----------------------------------------------------------------------
    def compute_atlas(self) -> None:
        """Start the atlas of the current weights (quietly ignored while one is running)."""
        if "atlas" not in self.busy:
            self.busy.add("atlas")
            self._atlas(self.state.weights.copy())

    @work(thread=True, exit_on_error=False, group="atlas")
    def _atlas(self, weights: np.ndarray) -> None:
        self._off_thread(
            "atlas",
            lambda: W.atlas_parts(self.model, weights),
            lambda parts: self._atlas_done(parts, weights),
        )

    def _atlas_done(self, parts: np.ndarray, weights: np.ndarray) -> None:
        self.busy.discard("atlas")
        self.atlas, self.atlas_weights = parts, weights
        self._cache.pop("atlas", None)
        if self.state.view == 6:
            self.paint()

    # -- report ----------------------------------------------------------------------
    def action_dump(self) -> None:
        region = self.state.region
        if region is None:
            self.notify("Select a region first (s … enter): the report is about a region.")
            return
        if self._start("report"):
            ens = self.ensemble
            fresh = (
                ens is not None
                and tuple(ens.region) == tuple(region)
                and np.array_equal(ens.weights, self.state.weights)
            )
            self._dump(region, self.state.weights.copy(), ens if fresh else None)

    @work(thread=True, exit_on_error=False, group="report")
    def _dump(self, region: Rect, weights: np.ndarray, ens: RegionEnsemble | None) -> None:
        def write() -> Path:
            text = W.report_text(self.model, weights, region, ens)
            return W.dump_report(text, self.report_dir, region)

        self._off_thread("report", write, self._dumped)

    def _dumped(self, path: Path) -> None:
        self.busy.discard("report")
        self.notify(f"Report written to {path}", title="report", timeout=8)

    # -- saving ----------------------------------------------------------------------
    def _save_edits(self, suffix: str, weights: np.ndarray | None = None) -> Path:
        """The edited weights (or ``weights``) as a NEW model file named model + ``suffix``."""
        if weights is None:
            weights, score = self.state.weights, self.rmse_now
        else:
            score = self.model.rmse(weights)
        return W.save_new(
            self.model,
            weights,
            self.save_dir,
            W.model_stem(self.model) + suffix,
            edited_from=self.model.path,
            rmse=score,
        )

    def hang_up(self) -> None:
        """SIGHUP or SIGTERM (terminal closed, SSH dropped): keep unsaved work, then quit.

        Unsaved edits, or the newest weights of a running training, go to an autosave file;
        nothing the user made is dropped without a file to show for it. A terminal that is
        gone can leave Textual's shutdown waiting on its output forever, so a watchdog ends
        the process a few seconds after the work is safe.
        """
        watchdog = threading.Timer(HANG_UP_GRACE, os._exit, args=(0,))
        watchdog.daemon = True
        watchdog.start()
        weights = None
        if self.trainer is not None:
            self.trainer.stop()
            weights = self.trainer.latest
        elif not self.state.dirty:
            self.exit(None)
            return
        try:
            path = self._save_edits("-autosave", weights)
        except Exception as err:  # noqa: BLE001 - nothing to show it on: exit with the reason
            self.exit(f"could not keep the unsaved edits: {err}")
            return
        self.exit(f"unsaved edits kept in {path}")

    def action_save(self) -> None:
        """ctrl+s: the edited weights as a NEW model file (atomic, never overwrites)."""
        try:
            path = self._save_edits("-edited")
        except Exception as err:  # noqa: BLE001
            self.failed("save", err)
            return
        self.state.mark_saved()
        self.notify(f"Saved the weights to {path}", title="saved", timeout=8)
        self.update_status()

    def autosave_and_quit(self) -> None:
        """Keep unsaved edits in an autosave file, show its path, then quit."""
        try:
            path = self._save_edits("-autosave")
        except Exception as err:  # noqa: BLE001
            self.failed("autosave", err)
            return
        self.exit(f"unsaved edits kept in {path}")

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
        if fresh:
            config = TrainConfig(seed=self.seed, seconds=self.train_seconds)
        else:
            config = self.continue_config
        self.trainer = W.Trainer(
            self.model,
            self.state.weights,
            config,
            lambda u: self.call_from_thread(self._progress, u),
        )
        self.trainer.latest = self.state.weights.copy()
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

    def _progress(self, u: W.TrainUpdate) -> None:
        if self.trainer is None or self.trainer.stopped:
            return
        self.trainer.latest = u.weights
        bar = self.query_one("#progress")
        if self.trainer.fresh and u.fraction is not None:
            bar.update(total=1.0, progress=u.fraction)
        else:
            bar.update(total=None)  # open-ended: t stops it
        self.query_one("#train-label").show(
            f" epoch {u.epoch}  RMSE {u.rmse:.4f} (best {u.best_rmse:.4f})  "
            f"{u.samples_per_s / 1e6:.2f} M samples/s  {u.elapsed:.0f} s"
        )
        if self.renderer is not None:
            self.renderer.set_weights(u.weights)
            self.paint()
        self.numbers_later(None)

    def _trained(self, trainer: W.Trainer, result: TrainResult | None) -> None:
        self.trainer = None
        self.query_one("#train-row").set_class(False, "-on")
        weights = result.weights if result is not None else self.state.weights
        edit = self.state.replace_all(weights, "train")
        self._cache.pop("trained", None)
        self.scorer.set_weights(self.state.weights)
        self.rmse_now = rmse(self.scorer.image(), self.model.image)
        self.extra = ""
        if result is not None and trainer.fresh and self.train_to is not None:
            self._save_trained(result)
        elif edit is not None:
            self.notify(f"Training stopped: RMSE {self.rmse_now:.4f} (u undoes it)")
        if self.renderer is not None:
            self.renderer.set_weights(self.state.weights)
            self.paint()
        self.table.refresh()
        self.numbers_later(None)

    def _save_trained(self, result: TrainResult) -> None:
        """Save a freshly trained network (PICTURE launch) next to ``train_to``, never over
        an existing file; it becomes the model being explored."""
        from synens.core.files.model import Model, make_meta

        meta = make_meta(
            self.model.topo,
            seed=self.seed,
            epochs=result.epochs,
            seconds=round(result.seconds, 3),
            rmse=result.rmse,
            picture=self.model.meta.get("picture"),
        )
        fresh = Model(self.model.topo, self.state.weights, self.model.image, meta)
        try:
            path = W.save_new(fresh, self.state.weights, self.train_to.parent, self.train_to.stem)
        except Exception as err:  # noqa: BLE001
            self.failed("saving the trained model", err)
            return
        self.model.path, self.model.meta = str(path), meta
        self.model.weights = self.state.weights.copy()
        self.state.mark_saved(new_baseline=True)
        self.rmse_trained = self.rmse_now
        self.notify(f"Trained model saved to {path}", title="saved", timeout=15)
