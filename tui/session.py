"""One explorer session, free of Textual: weights, their version, undo, renderers, analyses."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
from synens.core.files.model import Model
from synens.core.network.render import IncrementalRenderer, rmse
from synens.core.reports.figures import sweep_deltas

from . import workers as W
from .state import MAX_INCREMENTAL, NO_EDIT_TOL, Edit, ExplorerState, Rect

T = TypeVar("T")


def _always_ready(stage: str) -> bool:
    return True

#: The largest |weight| the explorer sets: the bound ``synens-tui render`` uses for its
#: --delta and --sweep values (tanh saturates long before it; float32 kernels need it).
MAX_WEIGHT = 1000.0
#: The display renderer re-renders in full after this many incremental edits.
FULL_EVERY = 256


def bounded(values: np.ndarray) -> np.ndarray:
    """``values`` float64[k] clipped into [-MAX_WEIGHT, MAX_WEIGHT]; ValueError when not finite."""
    v = np.array(values, np.float64, ndmin=1)
    if not np.all(np.isfinite(v)):
        raise ValueError("weights must be finite")
    return np.clip(v, -MAX_WEIGHT, MAX_WEIGHT)


@dataclass(frozen=True)
class Tagged(Generic[T]):
    """An analysis result with the weights version (and key, e.g. the region) it was made for."""

    version: int
    key: Any
    value: T


@dataclass
class Analyses:
    """The analysis functions the session calls (pluggable; the only place they are named).

    region(model, weights float64[S], rect) -> Control (``region_control``'s first answer);
    null(control, boxes, seed, progress(done, total), cancelled() -> bool) -> NullResult | None
    (None: no random box fits; raises InterruptedError when cancelled);
    atlas(model, weights) -> float[K, h, w];
    report(model, weights, rect, control | None, null | None) -> text (control None: computed;
    null None: "not run").
    ``null_boxes``/``null_seed``: the null's boxes and seed (the report command's defaults).
    """

    region: Callable[[Model, np.ndarray, Rect], Any] = W.analyse
    null: Callable[..., Any] = W.null_for
    atlas: Callable[[Model, np.ndarray], np.ndarray] = W.atlas_parts
    report: Callable[..., str] = W.report_text
    null_boxes: int = W.NULL_BOXES
    null_seed: int = W.NULL_SEED


@dataclass
class Session:
    """One explorer session: the only owner of the weights the explorer edits and shows.

    ``state`` holds weights, trained and saved weights (float64[S]), undo/redo, selection and
    region; ``version`` grows by one with every change of ``state.weights``. ``renderer``
    paints at the canvas's size, ``scorer`` at the training resolution (for the RMSE); both
    follow every edit. ``preview`` (float64[S] or None) is what they show instead of the
    weights during a sweep or a training. ``results`` holds analyses tagged with a version.
    """

    model: Model
    analyses: Analyses = field(default_factory=Analyses)
    full_every: int = FULL_EVERY
    state: ExplorerState = field(init=False)
    version: int = field(init=False, default=0)
    renderer: IncrementalRenderer | None = field(init=False, default=None)
    preview: np.ndarray | None = field(init=False, default=None)
    results: dict[str, Tagged] = field(init=False, default_factory=dict)
    kernels_ready: Callable[[str], bool] = field(default=_always_ready, repr=False)

    def __post_init__(self) -> None:
        m = self.model
        self.state = ExplorerState(m.topo, m.weights, m.size)
        self.scorer = IncrementalRenderer(m.topo, self.state.weights, *m.size, self.full_every)
        self.rmse_now = self.rmse_trained = rmse(self.scorer.image(), m.image)
        self._since_full = 0
        self._pending: set[int] | None = set()

    # -- the weights -------------------------------------------------------------------
    @property
    def weights(self) -> np.ndarray:
        """The edited weights float64[S] (read them; change them only through the session)."""
        return self.state.weights

    @property
    def shown(self) -> np.ndarray:
        """The weights on screen: a preview's, else the edited ones (float64[S])."""
        return self.preview if self.preview is not None else self.state.weights

    @property
    def edit_count(self) -> int:
        """How many weights differ from the trained ones by more than NO_EDIT_TOL."""
        return int(np.count_nonzero(np.abs(self.state.weights - self.state.trained) > NO_EDIT_TOL))

    @property
    def dirty(self) -> bool:
        return self.state.dirty

    def snapshot(self) -> tuple[int, np.ndarray]:
        """(version, a copy of the weights): what a worker computes on."""
        return self.version, self.state.weights.copy()

    # -- edits (the single choke point: every weight the explorer sets passes here) -------
    def edit(self, ids: Any, new: Any, what: str, full: bool = False) -> Edit | None:
        """Set weights[ids] = new, bounded to ±MAX_WEIGHT, as one undoable edit (None when
        nothing changes); ValueError for non-finite values. ``full``: re-render in full."""
        return self._changed(self.state.apply(ids, bounded(new), what), full)

    def nudge(self, sign: int, factor: float = 1.0) -> Edit | None:
        s = self.state.selected
        return self.edit(s, self.state.weights[s] + sign * self.state.step * factor, "nudge")

    def reset_synapse(self) -> Edit | None:
        return self._changed(self.state.reset_synapse(), True)

    def reset_all(self) -> Edit | None:
        return self._changed(self.state.reset_all(), True)

    def undo(self) -> Edit | None:
        return self._changed(self.state.undo(), True)

    def redo(self) -> Edit | None:
        return self._changed(self.state.redo(), True)

    def replace_all(self, weights: np.ndarray, what: str) -> Edit | None:
        """Every weight at once (a training's result) as one undoable edit."""
        w = bounded(weights)
        if w.shape != self.state.weights.shape:
            raise ValueError(f"expected {self.state.weights.size} weights, got {w.size}")
        return self._changed(self.state.replace_all(w, what), True)

    def _changed(self, edit: Edit | None, full: bool) -> Edit | None:
        if edit is None:
            return None
        self.version += 1
        self.preview = None
        self._since_full += 1
        ids = edit.ids
        if full or len(ids) > MAX_INCREMENTAL or self._since_full >= self.full_every \
                or not self.kernels_ready("nudge"):
            self._since_full = 0
            self._pending = None
            if self.renderer is not None:
                self.renderer.set_weights(self.state.weights)
        else:
            if self._pending is not None:
                self._pending |= set(ids)
            if self.renderer is not None:
                for s in ids:
                    self.renderer.set_weight(s, float(self.state.weights[s]))
        return edit

    def mark_saved(self, new_baseline: bool = False) -> None:
        """The weights are saved; with new_baseline they are the trained ones too."""
        self.state.mark_saved(new_baseline)
        if new_baseline:
            self.rmse_trained = self.rmse_now

    # -- renderers ---------------------------------------------------------------------
    def resize(self, width: int, height: int) -> IncrementalRenderer:
        """A new display renderer at (width, height) px showing ``shown``."""
        self.renderer = IncrementalRenderer(self.model.topo, self.shown, width, height,
                                            self.full_every)
        return self.renderer

    def score(self) -> float:
        """Bring the scorer to ``shown`` and return the RMSE at the training resolution."""
        ids, self._pending = self._pending, set()
        if self.preview is not None or ids is None:
            self.scorer.set_weights(self.shown)
        else:
            for s in ids:
                self.scorer.set_weight(s, float(self.state.weights[s]))
        self.rmse_now = rmse(self.scorer.image(), self.model.image)
        return self.rmse_now

    def show_preview(self, weights: np.ndarray, score: float | None = None) -> None:
        """Show ``weights`` float64[S] (a training's newest) without editing; ``score``: its
        RMSE when known (else the scorer renders it on the next ``score()``)."""
        self.preview = bounded(weights)
        if self.renderer is not None:
            self.renderer.set_weights(self.preview)
        if score is None:
            self._pending = None
        else:
            self.rmse_now = float(score)

    def preview_weight(self, s: int, value: float) -> float:
        """Show the weights with weight s = value (bounded), not as an edit; returns the value."""
        v = float(bounded(value)[0])
        if self.preview is None:
            self.preview = self.state.weights.copy()
        self.preview[s] = v
        incremental = self.kernels_ready("nudge")
        for r in (self.renderer, self.scorer):
            if r is not None and incremental:
                r.set_weight(s, v)
            elif r is not None:
                r.set_weights(self.preview)
        self.rmse_now = rmse(self.scorer.image(), self.model.image)
        return v

    def end_preview(self) -> None:
        """Show the edited weights again, re-rendered in full (no drift from the preview)."""
        self.preview = None
        self._pending = None
        if self.renderer is not None:
            self.renderer.set_weights(self.state.weights)
        self.score()

    def sweep(self, s: int, lo: float, hi: float, frames: int) -> tuple[np.ndarray, np.ndarray]:
        """(Δ float64[n], weights float64[n]) of a sweep of weight s: trained[s] + Δ, bounded
        (the Δ range first to ±2·MAX_WEIGHT, so that no step of it overflows)."""
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError("a sweep's range must be finite")
        lo, hi = (min(max(float(v), -2 * MAX_WEIGHT), 2 * MAX_WEIGHT) for v in (lo, hi))
        deltas = sweep_deltas(lo, hi, frames)
        return deltas, bounded(self.state.trained[s] + deltas)

    # -- analyses ----------------------------------------------------------------------
    def put(self, name: str, version: int, key: Any, value: Any) -> bool:
        """Keep a worker's result, tagged; returns whether it is for the current weights."""
        self.results[name] = Tagged(version, key, value)
        return version == self.version

    def get(self, name: str, key: Any = None, current: bool = False) -> Tagged | None:
        """The kept result ``name`` (for ``key`` when given; only a current one if asked)."""
        tag = self.results.get(name)
        if tag is None or (key is not None and tag.key != key):
            return None
        return tag if not current or tag.version == self.version else None

    def is_current(self, tag: Tagged | None) -> bool:
        return tag is not None and tag.version == self.version

    def forget(self, name: str) -> None:
        self.results.pop(name, None)

    def analyse_region(self, weights: np.ndarray, rect: Rect) -> Any:
        return self.analyses.region(self.model, weights, rect)

    def atlas(self, weights: np.ndarray) -> np.ndarray:
        return self.analyses.atlas(self.model, weights)

    def region_null(self, control: Any, progress: Callable[[int, int], None] | None = None,
                    cancelled: Callable[[], bool] | None = None) -> Any:
        """The null of a region analysis (``Analyses.null`` with its boxes and seed)."""
        a = self.analyses
        return a.null(control, a.null_boxes, a.null_seed, progress, cancelled)

    def report(self, rect: Rect, weights: np.ndarray, control: Any = None,
               null: Any = None) -> str:
        """The report text for ``rect`` and ``weights`` (control None: computed here)."""
        return self.analyses.report(self.model, weights, rect, control, null)

    # -- files -------------------------------------------------------------------------
    def save(self, folder: str | Path, suffix: str, weights: np.ndarray | None = None) -> Path:
        """The weights (or ``weights``) as a NEW model file named model + ``suffix``."""
        if weights is None:
            weights = self.state.weights
            score = self.rmse_now if self.preview is None and self._pending == set() else None
        else:
            score = None
        if score is None or not math.isfinite(score):
            score = self.model.rmse(weights)
        return W.save_new(self.model, weights, folder, W.model_stem(self.model) + suffix,
                          edited_from=self.model.path, rmse=score)

    def autosave(self, folder: str | Path, weights: np.ndarray | None = None) -> Path | None:
        """Unsaved edits (or ``weights``, a training's newest) to NAME-autosave.npz; None
        when there is nothing unsaved."""
        if weights is None and not self.dirty:
            return None
        return self.save(folder, "-autosave", weights)
