"""The region pipeline: ceiling, greedy curve, ensemble, neurons, baselines and pairs, in order.

This module owns the region analysis; its parts are ``masks`` (regions), ``sparse`` (best
moves over synapse sets, greedy selection), ``measure`` (non-linear selectivity by re-render),
``baselines`` (single synapse, single neuron, pairs) and ``null`` (random boxes). Rules:

* Gram matrices A, B (float64[S, S]) over R and O: pixel-mean JᵀJ over the pixels and the
  3 channels, one streaming pass (``split_gram``), so ``in(s) = sqrt(A_ss)`` as in report/1.
* λ = c · λ₀ with λ₀ = (FLOOR / LEVEL)² · trace(A)/S and c on the grid LAM_GRID, extended
  by LAM_STEP while the best is at its edge (within LAM_LIMITS): the c whose ceiling move
  measures the highest non-linear sel (ties: the larger c). λ₀ is the ridge
  that, for a move of average in-gain scaled to LEVEL, adds FLOOR of RMS to the out-change
  (λ t²‖v‖² = FLOOR² at t² = LEVEL² S / trace(A)): it prices an outside change on the same
  floor as the measured sel = in / (out + FLOOR). The same λ serves every eigenproblem.
* Ceiling: top generalised eigenvector of (A, B + λI) over all synapses.
* Curve: greedy forward selection (``sparse.greedy_path``) to K_MAX synapses along two paths:
  from nothing, and first through the fan-in of the neuron whose fan-in move has the
  highest μ, then freely. Kept: of the paths whose final μ is at least that neuron's μ,
  the one whose μ first reaches ENSEMBLE_SHARE² × the ceiling's μ (the linear analogue of
  the ensemble rule), then the higher mean log μ over k, then the plain path. Every k is
  measured; all measurements of one stage run in lockstep (``measure.measure_many``).
* Ensemble: the smallest k whose measured sel ≥ ENSEMBLE_SHARE × the ceiling's; if no k
  does, the k with the best measured sel (``reached`` False). Also k at K_SHARES.
* Neurons: each target neuron's share of ‖v‖² of the ensemble move; spread over those with
  share ≥ SPREAD_SHARE; targets = neurons the members feed; touched = sources and targets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import DTypeLike
from synens.core.analysis.measure import (
    FLOOR,
    LEVEL,
    Measured,
    Renderer,
    UnreachableError,
    level_jobs,
    levels_dict,
    measure_many,
)
from synens.core.analysis.sparse import (
    best_move,
    greedy_path,
    linear_sel,
    prefix_moves,
    ridge_basis,
    ridge_path,
)
from synens.core.base.grid import pixel_coords, samples
from synens.core.base.topology import Topology
from synens.core.network.batch import BatchRenderer
from synens.core.network.streaming import SplitSamples, split_gram, split_samples

#: λ = c · λ₀: c starts on LAM_GRID and extends by LAM_STEP while the best is at an edge,
#: within LAM_LIMITS (at 1e-3 λ₀ the ridge is worth 3e-6 RMS, float32 render noise).
LAM_GRID = (0.1, 1.0, 10.0)
LAM_STEP = 10.0
LAM_LIMITS = (1e-3, 1e3)
K_MAX = 64
ENSEMBLE_SHARE = 0.8
K_SHARES = (0.5, 0.95)
SPREAD_SHARE = 0.1
EPS = 1e-9


@dataclass
class Move:
    """A move over ``synapses`` (int64[k]): unit vector float64[S], μ (ridged, squared linear
    sel), lin_in = RMS_R(J v), sel_linear = RMS_R(J v) / (RMS_O(J v) + EPS), its measure at
    LEVEL (None: not reached) and, for headline moves, at the other levels."""

    synapses: np.ndarray
    vector: np.ndarray
    mu: float
    lin_in: float
    sel_linear: float
    measured: Measured | None
    levels: dict | None = None

    @property
    def sel(self) -> float:
        """Measured sel, 0 when the move does not reach LEVEL."""
        return self.measured.sel if self.measured is not None else 0.0

    def components(self) -> dict[int, float]:
        """The step actually applied, scale·v_s, in weight units, by |v_s| descending."""
        scale = self.measured.scale if self.measured is not None else 1.0
        order = self.synapses[np.argsort(-np.abs(self.vector[self.synapses]), kind="stable")]
        return {int(s): float(scale * self.vector[s]) for s in order}


@dataclass
class Context:
    """One region's shared state: topology, Gram matrices float64[S, S], renderer, λ."""

    topo: Topology
    a: np.ndarray
    b: np.ndarray
    n_in: int
    n_out: int
    renderer: Renderer
    lam: float = 0.0
    lam_rel: float = 0.0
    lam0: float = 0.0
    extra: list = field(default_factory=list)
    fan_in_cache: tuple | None = None

    def move(self, mu: float, v: np.ndarray, levels: bool = False) -> Move:
        """Measure the unit move v over its support."""
        mv = self.moves([(mu, v)])[0]
        if levels:
            self.add_levels([mv])
        return mv

    def unmeasured(self, mu: float, v: np.ndarray) -> Move:
        """The unit move v with its linear figures; ``measured`` still None."""
        lin_in, sel_lin = linear_sel(self.a, self.b, v, EPS)
        return Move(np.flatnonzero(v), v, float(mu), lin_in, sel_lin, None)

    def moves(self, items: list[tuple[float, np.ndarray]], extra: list[tuple] = ()
              ) -> list[Move]:
        """Measure the unit moves (μ, v) in lockstep, with ``extra`` measure_many jobs in the
        same batches (their results go to ``self.extra``)."""
        out = [self.unmeasured(mu, v) for mu, v in items]
        jobs = [(mv.vector, mv.lin_in, LEVEL, None) for mv in out]
        found = measure_many(self.renderer, jobs + list(extra))
        for mv, m in zip(out, found, strict=False):
            mv.measured = m
        self.extra = found[len(out):]
        return out

    def level_jobs(self, moves: list[Move]) -> list[tuple]:
        """measure_many jobs of every LEVELS for each measured move."""
        return [j for mv in moves if mv.measured is not None
                for j in level_jobs(mv.vector, mv.lin_in, mv.measured)]

    def take_levels(self, moves: list[Move], found: list) -> None:
        """Set .levels of each measured move from results of ``level_jobs(moves)``."""
        i = 0
        for mv in moves:
            if mv.measured is not None:
                mv.levels = levels_dict(found[i:i + 3])
                i += 3

    def add_levels(self, moves: list[Move]) -> None:
        """Measure every move at every LEVELS, in lockstep."""
        self.take_levels(moves, measure_many(self.renderer, self.level_jobs(moves)))

    def best(self, idx: np.ndarray | list[int], levels: bool = False) -> Move:
        mu, v = best_move(self.a, self.b, self.lam, idx)
        return self.move(mu, v, levels)

    def bests(self, sets: list[np.ndarray | list[int]], extra: list[tuple] = ()) -> list[Move]:
        """The measured best move over each synapse set, in lockstep."""
        return self.moves([best_move(self.a, self.b, self.lam, idx) for idx in sets], extra)


@dataclass
class CurvePoint:
    """Step k of the curve: the synapse added and the best move over the first k."""

    k: int
    added: int
    move: Move


@dataclass
class Control:
    """The answer for one region; see the module docstring for every rule."""

    ctx: Context
    mask: np.ndarray
    lam_grid: list[tuple[float, float | None]]
    ceiling: Move
    curve: list[CurvePoint]
    path: str
    k: int
    reached: bool
    k_at: dict[str, int | None]
    neuron_share: dict[int, float] = field(default_factory=dict)
    spread: list[int] = field(default_factory=list)
    targets: list[int] = field(default_factory=list)
    touched: list[int] = field(default_factory=list)
    baselines: dict = field(default_factory=dict)
    pairs: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ensemble(self) -> Move:
        return self.curve[self.k - 1].move

    @property
    def members(self) -> np.ndarray:
        """The ensemble's synapses in the order the curve added them: int64[k]."""
        return np.array([p.added for p in self.curve[:self.k]], np.int64)


def context(topo: Topology, weights: np.ndarray, mask: np.ndarray,
            dtype: DTypeLike = np.float32) -> Context:
    """Gram matrices over R (mask bool[H, W]) and O, and the renderer of the base picture.

    A and B each come from their own pixels, in one streaming pass (``split_gram``): B is
    never G − A, whose rounding (about 1e-16 of G) would swamp what a move that cancels
    outside leaves there.
    """
    h, w = mask.shape
    sp = split_samples(w, h, mask, dtype)
    g = split_gram(topo, np.asarray(weights, np.float64), sp, None)
    a, b = g[0] / (3.0 * sp.n_in), g[1] / (3.0 * sp.n_out)
    return Context(topo, a, b, sp.n_in, sp.n_out, Renderer(topo, weights, mask))


def box_context(topo: Topology, weights: np.ndarray, mask: np.ndarray, g_sum: np.ndarray,
                batch: BatchRenderer) -> Context:
    """A Context for ``mask`` from the full Gram sum g_sum float64[S, S]: A over the mask's
    pixels, B = G − A, and a Renderer sharing ``batch`` (the weights' BatchRenderer)."""
    x, y = pixel_coords(mask.shape[1], mask.shape[0])
    inside = mask.ravel()
    r = samples(x[inside], y[inside], batch.grid.samples.x.dtype)
    sp = SplitSamples(r.x, r.y, r.mask, r.x.shape[0], r.n, int((~inside).sum()))
    a_sum = split_gram(topo, np.asarray(weights, np.float64), sp, None)[0]
    a, b = a_sum / (3.0 * sp.n_in), (g_sum - a_sum) / (3.0 * sp.n_out)
    return Context(topo, a, b, sp.n_in, sp.n_out, Renderer(topo, weights, mask, batch))


def fan_in(topo: Topology, n: int) -> np.ndarray:
    """Synapse ids into neuron n: int64[f]."""
    return np.flatnonzero(topo.dst == n).astype(np.int64)


def lam_zero(a: np.ndarray) -> float:
    """λ₀ = (FLOOR / LEVEL)² · trace(A)/S (module docstring); A float64[S, S]."""
    s = a.shape[0]
    return (FLOOR / LEVEL) ** 2 * (float(np.trace(a)) / s or 1.0)


def choose_ceiling(ctx: Context, levels: bool = True) -> tuple[Move, list]:
    """Set ctx.lam by the measured λ grid (module docstring) and return the ceiling move and
    the grid's sels [(c, sel | None), ...] in increasing c."""
    ctx.lam0 = lam_zero(ctx.a)
    tried: dict[float, Move] = {}
    basis = ridge_basis(ctx.a, ctx.b)                   # once: every grid extension reuses it

    def run(cs: list[float]) -> None:
        lams = [c * ctx.lam0 for c in cs]
        for c, mv in zip(cs, ctx.moves(ridge_path(ctx.a, ctx.b, lams, basis)), strict=True):
            tried[c] = mv

    run(list(LAM_GRID))
    while True:
        ok = [(mv.sel, c) for c, mv in tried.items() if mv.measured is not None]
        if not ok:
            break
        c_best = max(ok)[1]
        lo, hi = min(tried), max(tried)
        if c_best == lo and lo / LAM_STEP >= LAM_LIMITS[0] * (1 - 1e-9):
            run([lo / LAM_STEP])
        elif c_best == hi and hi * LAM_STEP <= LAM_LIMITS[1] * (1 + 1e-9):
            run([hi * LAM_STEP])
        else:
            break
    grid = [(c, tried[c].measured.sel if tried[c].measured is not None else None)
            for c in sorted(tried)]
    ok = [(mv.sel, c) for c, mv in tried.items() if mv.measured is not None]
    if not ok:
        raise UnreachableError(
            f"no move reaches an RMS change of {LEVEL:g} inside the region (steps of at most "
            "20 per weight along the best move, every ridge tried): it cannot be controlled")
    c = max(ok)[1]
    ctx.lam_rel, ctx.lam = c, c * ctx.lam0
    mv = tried[c]
    if levels:
        ctx.add_levels([mv])
    return mv, grid


def fan_in_moves(ctx: Context) -> list[tuple[float, np.ndarray]]:
    """(μ, unit move) of every neuron's fan-in at ctx.lam, computed once per λ."""
    if ctx.fan_in_cache is None or ctx.fan_in_cache[0] != ctx.lam:
        ctx.fan_in_cache = (ctx.lam, [best_move(ctx.a, ctx.b, ctx.lam, fan_in(ctx.topo, n))
                                      for n in range(ctx.topo.n_neurons)])
    return ctx.fan_in_cache[1]


def best_neuron_first(ctx: Context) -> tuple[int, float]:
    """The neuron whose fan-in move has the highest μ, and that μ."""
    mus = [mu for mu, _ in fan_in_moves(ctx)]
    n = int(np.argmax(mus))
    return n, float(mus[n])


def choose_path(ctx: Context, k_max: int, mu_ceiling: float) -> tuple[list[int], str]:
    """The greedy order kept for the curve, and how it started (see the module docstring)."""
    n, mu_n = best_neuron_first(ctx)
    plain = greedy_path(ctx.a, ctx.b, ctx.lam, k_max)
    seeded = greedy_path(ctx.a, ctx.b, ctx.lam, k_max, (fan_in(ctx.topo, n), None))
    paths = [(plain, "greedy from nothing"),
             (seeded, f"greedy through neuron {n}'s fan-in first")]
    scored = []
    for (order, mu), name in paths:
        if mu[-1] >= mu_n * (1 - 1e-9):
            hit = np.flatnonzero(mu >= ENSEMBLE_SHARE ** 2 * mu_ceiling)
            first = int(hit[0]) if hit.size else len(mu)
            mean = float(np.mean(np.log(np.maximum(mu, 1e-300))))
            scored.append((-first, mean, order, name))
    best = max(scored, key=lambda t: t[:2]) if scored else (0, 0.0, seeded[0], paths[1][1])
    return best[2], best[3]


def measure_curve(ctx: Context, order: list[int], stop_at: float | None = None,
                  extra: list[tuple] = ()) -> list[CurvePoint]:
    """Measure the best move over each prefix of ``order``, all in lockstep (``stop_at``:
    drop the points after the first whose sel ≥ stop_at)."""
    moves = ctx.moves(prefix_moves(ctx.a, ctx.b, ctx.lam, order), extra)
    out = []
    for i, mv in enumerate(moves):
        out.append(CurvePoint(i + 1, int(order[i]), mv))
        if stop_at is not None and mv.sel >= stop_at:
            break
    return out


def membership(curve: list[CurvePoint], ceiling_sel: float) -> tuple[int, bool, dict]:
    """Ensemble k, whether ENSEMBLE_SHARE was reached, and {"0.5": k | None, "0.95": ...}."""
    sels = np.array([p.move.sel for p in curve])

    def first(share: float) -> int | None:
        hit = np.flatnonzero(sels >= share * ceiling_sel)
        return int(hit[0]) + 1 if hit.size else None

    k = first(ENSEMBLE_SHARE)
    at = {f"{s:g}": first(s) for s in K_SHARES}
    if k is None:
        return int(np.argmax(sels)) + 1, False, at
    return k, True, at


def neurons_of(topo: Topology, move: Move) -> tuple[dict[int, float], list[int], list[int],
                                                    list[int]]:
    """Target shares of ‖v‖², spread, targets and touched neurons of a move."""
    syn = move.synapses
    v2 = move.vector[syn] ** 2
    tot = float(v2.sum()) or 1.0
    share: dict[int, float] = {}
    for s, e in zip(syn, v2, strict=True):
        share[int(topo.dst[s])] = share.get(int(topo.dst[s]), 0.0) + float(e) / tot
    share = dict(sorted(share.items(), key=lambda kv: (-kv[1], kv[0])))
    spread = sorted(n for n, sh in share.items() if sh >= SPREAD_SHARE)
    src = topo.src[syn]
    touched = sorted({int(n) for n in src[src >= 0]} | set(share))
    return share, spread, sorted(share), touched


def region_control(topo: Topology, weights: np.ndarray, mask: np.ndarray, k_max: int = K_MAX,
                   extras: bool = True, dtype: DTypeLike = np.float32) -> Control:
    """The whole first answer for a region (mask bool[H, W]): see the module docstring.

    ``extras`` adds the baselines and the pairs (``baselines.py``). Raises UnreachableError
    when no move reaches LEVEL inside R.
    """
    from synens.core.analysis.baselines import finish, plan_baselines

    t0 = time.perf_counter()
    ctx = context(topo, weights, mask, dtype)
    ceiling, grid = choose_ceiling(ctx, levels=False)
    order, name = choose_path(ctx, min(k_max, topo.n_synapses), ceiling.mu)
    plan = plan_baselines(ctx) if extras else None
    first = ctx.level_jobs([ceiling]) + (plan.jobs() if plan is not None else [])
    curve = measure_curve(ctx, order, extra=first)
    ctx.take_levels([ceiling], ctx.extra[:3])
    k, reached, at = membership(curve, ceiling.sel)
    c = Control(ctx, mask, grid, ceiling, curve, name, k, reached, at)
    ens = c.ensemble
    c.neuron_share, c.spread, c.targets, c.touched = neurons_of(topo, ens)
    if plan is not None:
        plan.take(ctx.extra[3:])
        finish(c, plan)
    else:
        ctx.add_levels([ens])
    c.seconds = time.perf_counter() - t0
    return c
