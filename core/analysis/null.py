"""The null: the same pipeline on seeded random boxes of the region's size, and percentiles.

Boxes: ``n`` boxes with the width and height of the region's bounding box, their corner drawn
uniformly (``numpy.random.default_rng(seed)``) over every position inside the picture. On
each box the ceiling (λ chosen the same way), the greedy path and the ensemble are computed by
the same rules as for the region (``control``), through a cheaper exact path: the full
picture's Gram matrix G is taken once from the region's analysis, each box's A is a Gram pass
over the box's pixels only and B = G − A (both then pixel means). The ensemble's k is found
by bisection on the measured sel along the path (the smallest k with sel(k) ≥ ENSEMBLE_SHARE ×
the ceiling's and sel(k − 1) below it; the same k as the region's rule wherever sel crosses
that line once along the path; when even k = k_max does not reach it, every k is measured
and the best is taken, as for the region). Every sel is a real re-render. A box where no move
reaches the level is counted in ``unreachable`` and left out. Percentile of a value v among
the boxes' values: 100 × (#below + ½ #equal) / #boxes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike
from synens.core.analysis.control import (
    ENSEMBLE_SHARE,
    K_MAX,
    Context,
    Control,
    choose_ceiling,
    choose_path,
    context,
    measure_curve,
)
from synens.core.analysis.masks import bounding_box, rect_mask
from synens.core.analysis.measure import Renderer, UnreachableError
from synens.core.base.errors import SynensError
from synens.core.base.grid import pixel_coords, samples
from synens.core.base.topology import Topology
from synens.core.network.batch import BatchRenderer
from synens.core.network.streaming import SplitSamples, split_gram

#: Default number of random boxes.
BOXES = 20


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
    ceiling, _ = choose_ceiling(ctx, levels=False)
    order, _ = choose_path(ctx, min(k_max, topo.n_synapses), ceiling.mu)
    k, sel = bisect_k(ctx, order, ENSEMBLE_SHARE * ceiling.sel)
    return ceiling.sel, sel, k


def box_context(topo: Topology, weights: np.ndarray, mask: np.ndarray, g_sum: np.ndarray,
                batch: BatchRenderer) -> Context:
    """A Context for ``mask`` from the full Gram sum: A over the box's pixels, B = G − A."""
    x, y = pixel_coords(mask.shape[1], mask.shape[0])
    inside = mask.ravel()
    r = samples(x[inside], y[inside], batch.grid.samples.x.dtype)
    sp = SplitSamples(r.x, r.y, r.mask, r.x.shape[0], r.n, int((~inside).sum()))
    a_sum = split_gram(topo, np.asarray(weights, np.float64), sp, None)[0]
    a, b = a_sum / (3.0 * sp.n_in), (g_sum - a_sum) / (3.0 * sp.n_out)
    return Context(topo, a, b, sp.n_in, sp.n_out, Renderer(topo, weights, mask, batch))


def bisect_k(ctx: Context, order: list[int], thr: float) -> tuple[int, float]:
    """The ensemble's k and sel along ``order`` by bisection (module docstring)."""
    sels: dict[int, float] = {}

    def sel(k: int) -> float:
        if k not in sels:
            sels[k] = ctx.best(order[:k]).sel
        return sels[k]

    n = len(order)
    if sel(n) < thr:
        for p in measure_curve(ctx, order):
            sels[p.k] = p.move.sel
        k = max(range(1, n + 1), key=lambda j: (sels[j], -j))
        return k, sels[k]
    lo, hi = 0, n                       # sel(hi) ≥ thr; sel(lo) < thr (k = 0: nothing)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if sel(mid) >= thr:
            hi = mid
        else:
            lo = mid
    return hi, sels[hi]


def percentile(value: float, sample: np.ndarray) -> float | None:
    """100 × (#below + ½ #equal) / n over the finite values of ``sample``; None if none."""
    s = sample[np.isfinite(sample)]
    if s.size == 0 or not np.isfinite(value):
        return None
    return float(100.0 * (np.sum(s < value) + 0.5 * np.sum(s == value)) / s.size)


def region_null(control: Control, boxes: int = BOXES, seed: int = 0,
                progress: Callable[[int, int], None] | None = None,
                cancelled: Callable[[], bool] | None = None) -> NullResult:
    """Run the null for a region already answered by ``region_control``.

    ``progress(done, total)`` is called after each box; when ``cancelled()`` turns true the
    run stops early and raises InterruptedError. Deterministic for a seed.
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
    for i, box in enumerate(drawn):
        if cancelled is not None and cancelled():
            raise InterruptedError("null cancelled")
        try:
            values[i] = box_answer(topo, weights, rect_mask(box, w, h), k_max, full=full)
        except UnreachableError:
            pass
        if progress is not None:
            progress(i + 1, boxes)
    region = np.array([control.ceiling.sel, control.ensemble.sel, float(control.k)])
    pct = {name: percentile(region[j], values[:, j])
           for j, name in enumerate(("ceiling", "ensemble", "k"))}
    return NullResult(int(seed), drawn, values, region, pct,
                      int(np.isnan(values[:, 0]).sum()))
