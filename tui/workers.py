"""Work the explorer runs off the UI thread, and its files: analysis, atlas, training, saving."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from synens.core.files.model import Model, save_model
from synens.core.network.train import Progress, TrainConfig, TrainResult, train

if TYPE_CHECKING:
    from synens.core.analysis.control import Control
    from synens.core.analysis.null import NullResult

#: The null's defaults: those of ``synens-tui report`` (--null-boxes 20, --seed 0).
NULL_BOXES, NULL_SEED = 20, 0
#: Pairs listed in a dump: ``synens-tui report``'s --top default.
REPORT_TOP = 10


def unique_path(folder: str | os.PathLike, stem: str, suffix: str) -> Path:
    """The first of folder/stem+suffix, folder/stem-2+suffix, ... that does not exist."""
    folder = Path(folder)
    path = folder / f"{stem}{suffix}"
    k = 2
    while path.exists():
        path = folder / f"{stem}-{k}{suffix}"
        k += 1
    return path


def _create_unique(
    folder: str | os.PathLike, stem: str, suffix: str, create: Callable[[Path], object], what: str
) -> Path:
    """``create(path)`` at the first free name of ``unique_path``; tries the next free name
    when another process took that one meanwhile (``create`` raises FileExistsError)."""
    for _ in range(1000):
        path = unique_path(folder, stem, suffix)
        try:
            create(path)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free {what} file name in {folder}")


def model_stem(model: Model) -> str:
    """A file stem for the model: its file's stem, or its picture's, or 'model'."""
    if model.path:
        return Path(model.path).stem
    picture = model.meta.get("picture")
    return Path(picture).stem if isinstance(picture, str) and picture else "model"


def region_name(rect: tuple[int, int, int, int]) -> str:
    """How ``synens-tui report --region`` names a rectangle: 'rectangle x0,y0,x1,y1'."""
    return "rectangle " + ",".join(str(int(v)) for v in rect)


def analyse(model: Model, weights: np.ndarray, rect: tuple[int, int, int, int]) -> Control:
    """The first answer for ``rect`` (picture pixels, half-open) with ``weights`` float64[S]:
    ``region_control`` (ceiling, curve, ensemble, baselines, pairs), exactly as the report
    command computes it."""
    from synens.core.analysis.control import region_control
    from synens.core.analysis.masks import rect_mask

    w, h = model.size
    return region_control(model.topo, np.array(weights, np.float64), rect_mask(rect, w, h))


def null_for(
    control: Control,
    boxes: int = NULL_BOXES,
    seed: int = NULL_SEED,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> NullResult | None:
    """The region's null (``region_null``) as the report command runs it; None when no box
    of the region's size leaves anything outside (the report then says "not run").
    Raises InterruptedError when ``cancelled()`` turns true."""
    from synens.core.analysis.null import null_possible, region_null

    if boxes <= 0 or not null_possible(control.mask):
        return None
    return region_null(control, boxes, seed, progress, cancelled)


def weights_note(model: Model, weights: np.ndarray) -> str | None:
    """The report's ``weights:`` line for weights edited in the explorer (None: unedited)."""
    changed = int(np.count_nonzero(np.asarray(weights) != model.weights))
    return (f"edited in the explorer: {changed} of {model.n_synapses} weights differ from the "
            "model file") if changed else None


def report_text(
    model: Model,
    weights: np.ndarray,
    rect: tuple[int, int, int, int],
    control: Control | None = None,
    null: NullResult | None = None,
) -> str:
    """The text of ``synens-tui report MODEL --region rect`` for these weights (synens-report/2).

    ``control``: the region's analysis (computed when None); ``null``: its null (None: the
    report says the null was not run; pass ``null_for(control)`` for the command's text)."""
    from synens.core.reports.control_text import control_text

    if control is None:
        control = analyse(model, weights, rect)
    control = replace(control, pairs=control.pairs[:REPORT_TOP])
    return control_text(control, null, model.path, region_name(rect),
                        weights_note=weights_note(model, weights))


def dump_report(text: str, folder: str | os.PathLike, rect: tuple[int, int, int, int]) -> Path:
    """Write ``text`` to a NEW file folder/synens-report-x0-y0-x1-y1[-k].txt (never overwrites)."""
    from synens.core.files.atomic import create_new

    stem = "synens-report-" + "-".join(str(v) for v in rect)
    return _create_unique(folder, stem, ".txt", lambda path: create_new(path, text), "report")


def save_new(
    model: Model, weights: np.ndarray, folder: str | os.PathLike, stem: str, **meta
) -> Path:
    """Save ``weights`` with the model's network and picture as a NEW .npz, never overwriting.

    Written atomically to a hidden temporary file, then hard-linked to the first free name.
    """
    edited = Model(model.topo, np.array(weights, np.float64), model.image,
                   {**model.meta, **meta})
    tmp = save_model(edited, Path(folder) / f".{stem}.{os.getpid()}.tmp.npz")
    try:
        return _create_unique(folder, stem, ".npz", lambda path: os.link(tmp, path), "model")
    finally:
        tmp.unlink(missing_ok=True)


def atlas_parts(model: Model, weights: np.ndarray) -> np.ndarray:
    """The ensemble atlas's part maps on its reduced grid: float[K, h, w], unit max."""
    from synens.core.analysis.atlas import ensemble_atlas

    atlas = ensemble_atlas(model.topo, np.array(weights, np.float64), model.image)
    return np.asarray(atlas.maps, np.float64)


@dataclass
class TrainUpdate:
    """What the UI shows while training (weights float64[S] are a copy)."""

    epoch: int
    rmse: float
    best_rmse: float
    samples_per_s: float
    fraction: float | None
    elapsed: float
    weights: np.ndarray


class Trainer:
    """Runs core.train.train on the calling (worker) thread; ``stop()`` ends it from any thread.

    At most every ``interval`` seconds (and never after stop) it keeps the newest TrainUpdate
    and calls ``notify()``, which must not block (e.g. post a message); the UI thread then
    takes the newest update with ``take_update()``, so a slow UI skips updates and never
    holds the training back. ``latest`` is the newest weights float64[S].
    """

    def __init__(
        self,
        model: Model,
        weights: np.ndarray,
        config: TrainConfig,
        notify: Callable[[], object],
        interval: float = 0.1,
    ) -> None:
        self.model, self.weights, self.config = model, np.array(weights, np.float64), config
        self.notify, self.interval = notify, interval
        self.latest = self.weights.copy()
        self.fresh = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._update: TrainUpdate | None = None
        self._last = 0.0

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def take_update(self) -> TrainUpdate | None:
        """The newest update not yet taken (None if there is none)."""
        with self._lock:
            update, self._update = self._update, None
        return update

    def _callback(self, p: Progress) -> bool:
        now = time.perf_counter()
        if now - self._last >= self.interval and not self._stop.is_set():
            self._last = now
            update = TrainUpdate(p.epoch, p.rmse, p.best_rmse, p.samples_per_s, p.fraction,
                                 p.elapsed, np.array(p.weights, np.float64))
            with self._lock:
                pending = self._update is not None
                self._update = update
                self.latest = update.weights
            if not pending:
                self.notify()
        return self._stop.is_set()

    def run(self) -> TrainResult:
        return train(self.model.topo, self.model.image, self.config, self.weights, self._callback)
