"""The null: the same pipeline on seeded random boxes of the region's size, and percentiles.

Boxes: ``n`` boxes with the width and height of the region's bounding box, their corner drawn
uniformly (``numpy.random.default_rng(seed)``) over every position inside the picture. On
each box the ceiling (λ chosen the same way), the greedy path and the ensemble are computed by
the same rules as for the region (``control``), through a cheaper path: the full picture's
Gram matrix G is taken once from the region's analysis, each box's A is a Gram pass over the
box's pixels only and B = G − A (both then pixel means; ``control.box_context``). The
ensemble's k is found
by bisection on the measured sel along the path (the smallest k with sel(k) ≥ ENSEMBLE_SHARE ×
the ceiling's and sel(k − 1) below it; the same k as the region's rule wherever sel crosses
that line once along the path; when even k = k_max does not reach it, every k is measured
and the best is taken, as for the region). Every sel is a real re-render. A box where no move
reaches the level is counted in ``unreachable`` and left out. Boxes go CHUNK at a time: their
paths one by one, then their bisections in lockstep (each round one batched render for all).
Percentile of a value v among
the boxes' values: 100 × (#below + ½ #equal) / #boxes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike
from synens.core.analysis.control import (
    ENSEMBLE_SHARE,
    K_MAX,
    Context,
    Control,
    box_context,
    choose_ceiling,
    choose_path,
    context,
)
from synens.core.analysis.masks import bounding_box, rect_mask
from synens.core.analysis.measure import LEVEL, UnreachableError, measure_many
from synens.core.analysis.sparse import prefix_moves
from synens.core.base.errors import SynensError
from synens.core.base.jit import worker_threads
from synens.core.base.topology import Topology

#: Default number of random boxes.
BOXES = 20
#: Boxes whose bisections run in lockstep (progress is reported as each finishes).
CHUNK = 5


@dataclass
class NullResult:
    """boxes list of (x0, y0, x1, y1); values float64[n, 3] (ceiling sel, ensemble sel, k;
    NaN rows for unreachable boxes); region float64[3]; percentile {"ceiling", "ensemble", "k"}."""

    seed: int
    boxes: list[tuple[int, int, int, int]]
    values: np.ndarray
    region: np.ndarray
    percentile: dict[str, float | None]
    unreachable: int


def null_possible(mask: np.ndarray) -> bool:
    """Whether a box of the mask's bounding-box size leaves pixels outside it."""
    x0, y0, x1, y1 = bounding_box(mask)
    return (x1 - x0, y1 - y0) != (mask.shape[1], mask.shape[0])


def random_boxes(mask: np.ndarray, n: int, seed: int) -> list[tuple[int, int, int, int]]:
    """``n`` seeded boxes of the size of the mask's bounding box, inside the picture."""
    h, w = mask.shape
    x0, y0, x1, y1 = bounding_box(mask)
    bw, bh = x1 - x0, y1 - y0
    if bw == w and bh == h:
        raise SynensError("the region's bounding box is the whole picture: no random box of "
                          "its size leaves anything outside")
    rng = np.random.default_rng(seed)
    xs = rng.integers(0, w - bw + 1, size=n)
    ys = rng.integers(0, h - bh + 1, size=n)
    return [(int(x), int(y), int(x) + bw, int(y) + bh) for x, y in zip(xs, ys, strict=True)]


def box_answer(topo: Topology, weights: np.ndarray, mask: np.ndarray, k_max: int = K_MAX,
               dtype: DTypeLike = np.float32, full: tuple | None = None
               ) -> tuple[float, float, int]:
    """(ceiling sel, ensemble sel, ensemble k) of a region by the rules of ``control``.

    ``full`` = (G float64[S, S], the Gram sum over every pixel and channel, BatchRenderer of
    the weights) takes the cheap exact path of the module docstring.
    """
    if full is None:
        ctx = context(topo, weights, mask, dtype)
    else:
        ctx = box_context(topo, weights, mask, *full)
    job = box_path(ctx, k_max)
    bisect_many([job])
    return job.answer()


def box_path(ctx: Context, k_max: int) -> Bisection:
    """A box's ceiling and greedy path by the rules of ``control``; its k still to find."""
    ceiling, _ = choose_ceiling(ctx, levels=False)
    order, _ = choose_path(ctx, min(k_max, ctx.topo.n_synapses), ceiling.mu)
    return Bisection(ctx, order, ceiling.sel)


class Bisection:
    """The ensemble's k along a box's path (module docstring), one round at a time, so that
    many boxes' rounds share batched renders (``bisect_many``)."""

    def __init__(self, ctx: Context, order: list[int], ceiling_sel: float) -> None:
        self.ctx, self.order, self.ceiling = ctx, list(order), float(ceiling_sel)
        self.thr = ENSEMBLE_SHARE * self.ceiling
        self.sels: dict[int, float] = {}
        self.lo, self.hi = 0, len(self.order)   # sel(hi) ≥ thr; sel(lo) < thr (k = 0: nothing)
        self.k: int | None = None
        self.index = -1                          # the box's place in the null's list

    def wanted(self) -> list[int]:
        """The prefix lengths to measure next ([] once k is known)."""
        n = len(self.order)
        if self.k is not None:
            return []
        if n not in self.sels:
            return [n]
        if self.sels[n] < self.thr:                  # never reached: every k, the best
            return [j for j in range(1, n + 1) if j not in self.sels]
        return [(self.lo + self.hi) // 2]

    def take(self, found: dict[int, float]) -> None:
        """Measured sels {k: sel} of the prefixes ``wanted()`` asked for."""
        self.sels.update(found)
        n = len(self.order)
        if self.sels[n] < self.thr:
            if len(self.sels) == n:
                self.k = max(range(1, n + 1), key=lambda j: (self.sels[j], -j))
            return
        for mid, sel in found.items():
            if mid == n:
                continue
            if sel >= self.thr:
                self.hi = mid
            else:
                self.lo = mid
        if self.hi - self.lo <= 1:
            self.k = self.hi

    def answer(self) -> tuple[float, float, int]:
        """(ceiling sel, ensemble sel, k) once k is known."""
        assert self.k is not None
        return self.ceiling, self.sels[self.k], self.k


def bisect_many(jobs: list[Bisection], done: Callable[[Bisection], None] | None = None,
                cancelled: Callable[[], bool] | None = None) -> None:
    """Find every job's k; each round measures all jobs' wanted prefixes in one lockstep
    ``measure_many`` (the boxes share the BatchRenderer). ``done(job)`` as each finishes."""
    live = list(jobs)
    while live:
        if cancelled is not None and cancelled():
            raise InterruptedError("null cancelled")
        items, owners, renderers = [], [], []
        for job in live:
            ks = job.wanted()
            cx = job.ctx
            for k, mu_v in zip(ks, prefix_moves(cx.a, cx.b, cx.lam, job.order, ks), strict=True):
                mv = cx.unmeasured(*mu_v)
                items.append((mv.vector, mv.lin_in, LEVEL, None))
                owners.append((job, k))
                renderers.append(cx.renderer)
        found = measure_many(renderers[0], items, renderers)
        got: dict[int, dict[int, float]] = {}
        for (job, k), m in zip(owners, found, strict=True):
            got.setdefault(id(job), {})[k] = m.sel if m is not None else 0.0
        still = []
        for job in live:
            job.take(got.get(id(job), {}))
            if job.k is None:
                still.append(job)
            elif done is not None:
                done(job)
        live = still


def percentile(value: float, sample: np.ndarray) -> float | None:
    """100 × (#below + ½ #equal) / n over the finite values of ``sample``; None if none."""
    s = sample[np.isfinite(sample)]
    if s.size == 0 or not np.isfinite(value):
        return None
    return float(100.0 * (np.sum(s < value) + 0.5 * np.sum(s == value)) / s.size)


def _consume(paths: Iterator[Bisection | None], boxes: int,
             bisect: Callable[[list[Bisection]], None], tick: Callable[[], None]) -> None:
    """Take the boxes' paths in order and bisect them CHUNK at a time (None: unreachable)."""
    jobs: list[Bisection] = []
    for i, job in enumerate(paths):
        if job is None:
            tick()
        else:
            jobs.append(job)
        if len(jobs) == CHUNK or (i == boxes - 1 and jobs):
            bisect(jobs)
            jobs = []


def region_null(control: Control, boxes: int = BOXES, seed: int = 0,
                progress: Callable[[int, int], None] | None = None,
                cancelled: Callable[[], bool] | None = None,
                workers: int | None = None) -> NullResult:
    """Run the null for a region already answered by ``region_control``.

    ``progress(done, total)`` is called as each box is done; when ``cancelled()`` turns true
    the run stops early and raises InterruptedError. Deterministic for a seed, whatever the
    threads: ``workers`` threads (default: Numba's thread count; 1 runs everything in the
    calling thread) find the boxes' paths while the calling thread bisects them.
    """
    if not 1 <= boxes <= 10_000:
        raise SynensError(f"--null-boxes must lie in 1..10000, got {boxes}")
    ctx = control.ctx
    topo, weights = ctx.topo, ctx.renderer.weights
    h, w = control.mask.shape
    drawn = random_boxes(control.mask, boxes, seed)
    values = np.full((boxes, 3), np.nan)
    k_max = len(control.curve)
    full = (ctx.a * (3.0 * ctx.n_in) + ctx.b * (3.0 * ctx.n_out), ctx.renderer.batch)
    finished = 0

    def tick() -> None:
        nonlocal finished
        finished += 1
        if progress is not None:
            progress(finished, boxes)

    def done(job: Bisection) -> None:
        values[job.index] = job.answer()
        tick()

    def path(i: int) -> Bisection | None:
        if cancelled is not None and cancelled():
            return None
        ctx_i = box_context(topo, weights, rect_mask(drawn[i], w, h), *full)
        try:
            job = box_path(ctx_i, k_max)
        except UnreachableError:
            return None
        job.index = i
        return job

    def bisect(jobs: list[Bisection]) -> None:
        if cancelled is not None and cancelled():
            raise InterruptedError("null cancelled")
        bisect_many(jobs, done, cancelled)

    threads = max(1, worker_threads() if workers is None else int(workers))
    if threads == 1:
        paths = (path(i) for i in range(boxes))
        _consume(paths, boxes, bisect, tick)
    else:
        with ThreadPoolExecutor(threads, thread_name_prefix="synens-null") as pool:
            futures = [pool.submit(path, i) for i in range(boxes)]
            try:
                _consume((f.result() for f in futures), boxes, bisect, tick)
            finally:
                for f in futures:
                    f.cancel()
    if cancelled is not None and cancelled():
        raise InterruptedError("null cancelled")
    region = np.array([control.ceiling.sel, control.ensemble.sel, float(control.k)])
    pct = {name: percentile(region[j], values[:, j])
           for j, name in enumerate(("ceiling", "ensemble", "k"))}
    return NullResult(int(seed), drawn, values, region, pct,
                      int(np.isnan(values[:, 0]).sum()))
