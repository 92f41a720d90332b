"""The explorer's region work in thread workers: the first answer, its null, the report."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from textual.message import Message

from . import workers as W

if TYPE_CHECKING:
    from pathlib import Path

    from .jobs import Jobs
    from .state import Rect


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


class RegionJobs:
    """Region analysis (``region_control``) first, then its null in its own worker, with
    progress and cancellable; both are tagged with the weights version they were made for.
    ``d`` writes the report ``synens-tui report`` prints, for the weights in use.
    """

    def __init__(self, jobs: Jobs) -> None:
        self.jobs, self.session, self.painter, self.app = jobs, jobs.session, jobs.painter, jobs.app
        #: The newest null computation (running, finished or cancelled), or None.
        self.null_run: NullRun | None = None

    # -- region analysis -------------------------------------------------------------
    def run_analysis(self, rect: Rect) -> None:
        """Analyse ``rect`` with the weights in use, in a worker (newer requests win); the
        null follows in its own worker once the first answer is shown."""
        self.cancel_null()
        self.jobs.busy.add("analysis")
        self.painter.extra = "analysing the region…"
        self.painter.update_ensemble()
        self.painter.update_status()
        version, weights = self.session.snapshot()
        self.jobs._worker("analysis", self.jobs._off_thread, "analysis",
                          lambda: self.session.analyse_region(weights, rect),
                          lambda control: self.analysed(rect, version, control))

    def analysed(self, rect: Rect, version: int, control: Any) -> None:
        """A region analysis is done: keep it tagged (dropped if the region has changed),
        show it, then start its null."""
        self.jobs.busy.discard("analysis")
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
        self.jobs.busy.add("null")
        self.jobs._worker("null", self._null, run, control)

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
            self.jobs.busy.discard("null")
            if run.error is None:
                self.session.put("null", run.version, run.rect, run.result)
            elif not run.cancelled:
                self.jobs.failed("null", run.error)
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

    # -- report ----------------------------------------------------------------------
    def dump(self) -> None:
        """d: the region's report for the weights in use (never an older analysis's): the
        text ``synens-tui report`` prints, null included (a running null is waited for)."""
        region = self.session.state.region
        if region is None:
            self.jobs.notify("Select a region first (s … enter): the report is about a region.")
            return
        if self.jobs._start("report"):
            s = self.session
            tag = s.get("region", region, current=True)
            null = s.get("null", region, current=True)
            run = self.null_run
            if run is None or (run.rect, run.version) != (region, s.version) or tag is None:
                run = None
            version, weights = s.snapshot()
            edits = s.edit_count
            self.jobs.notify("Writing the report for the weights in use"
                        + ("" if null is not None else " (with its null: a moment)…"),
                        title="report", timeout=4)
            self.jobs._worker("report", self._dump, region, weights,
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

        self.jobs._off_thread("report", write, lambda path: self._dumped(path, edits))

    def _dumped(self, path: Path, edits: int) -> None:
        self.jobs.busy.discard("report")
        which = (f"the edited weights in use ({edits} differ from trained)" if edits
                 else "the trained weights")
        self.jobs.notify(f"Report for {which} written to {path}", title="report", timeout=8)
