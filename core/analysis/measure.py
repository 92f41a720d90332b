"""Non-linear selectivity of moves: scale each to a stated RMS change inside R, re-render, measure.

A move is a direction v (float64[S], weight units). ``measure_many`` finds for every move a
scale t > 0 such that the RMS (over R's pixels and the 3 channels, colour units on the
[-1, 1] scale) of ``render(w + t·σ·v) − render(w)`` is ``level`` (default LEVEL = 0.075,
about 10/255, within TOL). All moves are searched in lockstep: each round renders every
pending move in one batched call (``BatchRenderer``). The sign σ, unless given, is the one
whose sel is higher at the linear guess t0 = level / RMS_R(J v) (both signs are rendered in
the first round). The 1-D search models the efficiency g(t) = in(t)/t as linear in t
through the last two known points, the first of them (0, RMS_R(J v)), the exact slope of in
at 0, and renders next where t·g(t) = level (where the model never gets there, at its
highest point), while that stays inside the bracket (Illinois regula falsi otherwise); steps
are clamped to [1 + TOL, 4]× while nothing overshoots; no weight may move by more than
MAX_STEP ("not reached").
Renders are float32 at the training resolution. Reported: scale = σ·t (the step is
scale·v), in, out (RMS over O), sel = in / (out + FLOOR), max_out (largest |change| over O's
pixels and channels) and border (share of O's squared change within BORDER_PX pixels of R,
Chebyshev distance).

FLOOR = 1e-4 RMS colour units: 1/78 of one 8-bit level (2/255), so an outside change below
it is invisible in any 8-bit picture, and 100× above float32 render noise (the float32 tanh
is within 3e-7 of tanh; fastmath results differ in the last bits between CPUs). It caps sel
at level / FLOOR (750 at 0.075), so no sel is a ratio of rounding errors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from synens.core.analysis.masks import border_band
from synens.core.base.errors import SynensError
from synens.core.base.topology import Topology
from synens.core.kernels import batch as KB
from synens.core.network.batch import BatchRenderer

#: Default RMS change inside R that every measured move is scaled to (colour units).
LEVEL = 0.075
#: The other levels each headline move is also measured at.
LEVELS = (0.05, 0.1, 0.2)
#: No step may move any weight by more than this (weight units): beyond it, "not reached".
MAX_STEP = 20.0
#: Relative tolerance of the 1-D search on the RMS change inside R.
TOL = 5e-3
#: sel = in / (out + FLOOR): RMS colour units, see the module docstring.
FLOOR = 1e-4
#: Kept for /1 readers: the guard of the linear ratios (not of the measured sel).
EPS = 1e-9
BORDER_PX = 3
#: Most moves rendered in one batched call (memory: BATCH × 3 × P float32).
BATCH = 96
#: Most search rounds per move.
ROUNDS = 40


class UnreachableError(SynensError):
    """No step of at most MAX_STEP per weight along the move changes R by the stated RMS."""


@dataclass(frozen=True)
class Measured:
    """One real re-render of w + scale·v: RMS in/out, sel, max |change| over O, border share."""

    scale: float
    in_: float
    out: float
    sel: float
    max_out: float
    border: float
    level: float

    def as_dict(self) -> dict:
        return {"scale": self.scale, "in": self.in_, "out": self.out, "sel": self.sel,
                "max_out": self.max_out, "border": self.border, "level": self.level}


def selectivity(r_in: float, r_out: float) -> float:
    """The measured sel: in / (out + FLOOR)."""
    return r_in / (r_out + FLOOR)


class Renderer:
    """The picture of one region analysis: weights, R's mask, its border band, the base render.

    weights float64[S]; mask bool[H, W]; base_flat float32[3, P] (P = H·W, row-major pixels);
    code int8[P] (1 in R, 2 in O within BORDER_PX of R, 0 elsewhere). ``renders`` counts renders.
    """

    def __init__(self, topo: Topology, weights: np.ndarray, mask: np.ndarray,
                 batch: BatchRenderer | None = None) -> None:
        """``batch``: a BatchRenderer of the same weights at the mask's size, to share."""
        self.topo = topo
        self.weights = np.asarray(weights, np.float64)
        self.mask = np.asarray(mask, bool)
        self.height, self.width = self.mask.shape
        self.flat = self.mask.ravel()
        self.inside = self.flat.astype(np.float64)
        self.n_inside = float(self.inside.sum())
        band = border_band(self.mask, BORDER_PX).ravel()
        self.code = np.where(self.flat, 1, 2 * band).astype(np.int8)  # R 1, O's band 2, O 0
        self.batch = batch if batch is not None else BatchRenderer(
            topo, self.weights, self.width, self.height)
        self.base_flat = self.batch.base                       # float32[3, P]
        self.renders = 0
        self.calls = 0

    def renders_of(self, steps: np.ndarray) -> np.ndarray:
        """Renders of w + step for each row of steps (float64[D, S]): float32[D, 3, ≥P],
        C-contiguous, the P pixels first in each row (``BatchRenderer.render_padded``), BATCH
        rows per kernel call (counted in ``renders`` and ``calls``)."""
        out = []
        for i in range(0, steps.shape[0], BATCH):
            part = steps[i:i + BATCH]
            self.renders += part.shape[0]
            self.calls += 1
            out.append(self.batch.render_padded(self.weights[None, :] + part))
        return out[0] if len(out) == 1 else np.concatenate(out)

    def stats(self, rend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """RMS change over R and over O (float64[D] each) of renders float32[D, 3, ≥P]
        (C-contiguous; columns past P ignored) against the base."""
        sums = np.empty((rend.shape[0], 2))
        KB._split_sumsq(rend, self.base_flat, self.inside, sums)
        n_in = 3.0 * self.n_inside
        return np.sqrt(sums[:, 0] / n_in), np.sqrt(sums[:, 1] / (3.0 * self.flat.size - n_in))

    def summary_of(self, rend: np.ndarray, scale: float, level: float) -> Measured:
        """The Measured of the render float32[3, ≥P] (C-contiguous) of the step scale·v: RMS
        over R and over O of the change, max |change| over O and O's share within the band."""
        sums = np.empty(4)
        KB._change_summary(rend, self.base_flat, self.code, sums)
        n_in = 3.0 * self.n_inside
        r_in = float(np.sqrt(sums[0] / n_in))
        r_out = float(np.sqrt(sums[1] / (3.0 * self.flat.size - n_in)))
        border = float(sums[2] / sums[1]) if sums[1] > 0 else 0.0
        return Measured(float(scale), r_in, r_out, selectivity(r_in, r_out), float(sums[3]),
                        border, float(level))


class _Search:
    """The 1-D search of one move (see the module docstring): what to render next, and when."""

    def __init__(self, v: np.ndarray, lin_in: float, level: float, sign: float | None) -> None:
        self.v = v
        self.level = level
        self.slope = lin_in if lin_in > 0 else 0.0      # d in / dt at t = 0 (J v's RMS over R)
        vmax = float(np.abs(v).max())
        self.t_max = MAX_STEP / vmax
        t0 = level / lin_in if lin_in > 0 else 1e-3 * self.t_max
        self.t = min(t0, self.t_max)
        self.sign = sign
        self.lo, self.f_lo = 0.0, -level
        self.hi: float | None = None
        self.f_hi = 0.0
        self.prev: tuple[float, float] | None = None      # the last (t, in(t)/t)
        self.side = 0
        self.rounds = 0
        self.result: tuple[float, np.ndarray] | None = None
        self.done = False

    def steps(self) -> list[np.ndarray]:
        """The steps to render this round: ±t·v while the sign is open, else σ·t·v."""
        if self.sign is None:
            return [self.t * self.v, -self.t * self.v]
        return [self.sign * self.t * self.v]

    def pick_sign(self, sels: tuple[float, float]) -> None:
        """σ: the sign whose sel at t0 is higher (ties: +)."""
        self.sign = 1.0 if sels[0] >= sels[1] else -1.0

    def _model_step(self, t: float, f: float) -> float | None:
        """The next t from the model: the efficiency g(t) = in(t)/t linear in t through the
        last two known points (the first of them (0, s), s = RMS_R(J v), the exact slope of in
        at 0), solved for t·g(t) = level."""
        g1 = (f + self.level) / t
        if self.prev is None:
            if self.slope <= 0:
                return None
            t0, g0 = 0.0, self.slope
        else:
            t0, g0 = self.prev
        m = (g1 - g0) / (t - t0) if t != t0 else 0.0
        b = g1 - m * t
        if m == 0.0:
            return self.level / b if b > 0 else None
        disc = b * b + 4.0 * m * self.level
        if disc < 0:                   # the model never reaches the level: its highest point
            return b / (-2.0 * m) if m < 0 and b > 0 else None
        if b + np.sqrt(disc) <= 0:
            return None
        return 2.0 * self.level / (b + np.sqrt(disc))

    def update(self, d: np.ndarray, rms: float) -> None:
        """Take the render d (float32[3, P]) at the current t, whose RMS change over R is
        ``rms``."""
        f = rms - self.level
        t = self.t
        self.rounds += 1
        if abs(f) <= TOL * self.level or (self.hi is not None and
                                          self.hi - self.lo <= 1e-12 * self.hi):
            self.result, self.done = (t, d), True
            return
        if self.rounds >= ROUNDS:
            self.result, self.done = ((t, d) if self.hi is not None else None), True
            return
        if f <= 0 and self.hi is None and t >= self.t_max:
            self.done = True                               # not reached within MAX_STEP
            return
        nxt = self._model_step(t, f)
        self.prev = (t, (f + self.level) / t)
        if f > 0:
            self.hi, self.f_hi = t, f
            if self.side == 1:
                self.f_lo *= 0.5                           # Illinois, for regula falsi
            self.side = 1
        else:
            self.lo, self.f_lo = t, f
            if self.side == -1:
                self.f_hi *= 0.5
            self.side = -1
        if self.hi is None:                                # below the level so far: go up
            if nxt is None or not np.isfinite(nxt) or nxt <= t:
                nxt = 4.0 * t
            self.t = min(min(max(nxt, (1.0 + TOL) * t), 4.0 * t), self.t_max)
        elif nxt is not None and np.isfinite(nxt) and self.lo < nxt < self.hi \
                and self.rounds < ROUNDS // 4:
            self.t = nxt
        else:                                              # Illinois regula falsi
            self.t = (self.lo * self.f_hi - self.hi * self.f_lo) / (self.f_hi - self.f_lo)


def measure_many(r: Renderer, moves: list[tuple[np.ndarray, float, float, float | None]],
                 renderers: list[Renderer] | None = None) -> list[Measured | None]:
    """Measure moves (v float64[S], lin_in = RMS_R(J v), level, sign or None) in lockstep.

    ``renderers``: one Renderer per move, each with its own region but all sharing ``r``'s
    BatchRenderer (the same weights and size), so moves of several regions share each batched
    render; by default every move is measured on ``r``. Returns one Measured per move, None
    where the move does not reach its level.
    """
    rs = renderers if renderers is not None else [r] * len(moves)
    if any(x.batch is not r.batch for x in rs):
        raise ValueError("measure_many: every renderer must share one BatchRenderer")
    rank: dict[int, int] = {}
    for x in rs:
        rank.setdefault(id(x), len(rank))
    out: list[Measured | None] = [None] * len(moves)
    live: list[tuple[int, _Search]] = []
    for i, (v, lin_in, level, sign) in enumerate(moves):
        v = np.asarray(v, np.float64)
        if np.abs(v).max(initial=0.0) > 0:
            live.append((i, _Search(v, float(lin_in), float(level), sign)))
    live.sort(key=lambda t: rank[id(rs[t[0]])])          # stable: each region's jobs together
    while live:
        steps = [s for _, job in live for s in job.steps()]
        rend = r.renders_of(np.array(steps))
        owner = [rs[i] for i, job in live for _ in job.steps()]
        rms, rms_o = np.empty(len(steps)), np.empty(len(steps))
        lo = 0
        while lo < len(steps):                           # one stats call per region's run
            hi = lo
            while hi < len(steps) and owner[hi] is owner[lo]:
                hi += 1
            rms[lo:hi], rms_o[lo:hi] = owner[lo].stats(rend[lo:hi])
            lo = hi
        pos, still = 0, []
        for i, job in live:
            if job.sign is None:
                job.pick_sign((selectivity(rms[pos], rms_o[pos]),
                               selectivity(rms[pos + 1], rms_o[pos + 1])))
                k = pos if job.sign > 0 else pos + 1
                pos += 2
            else:
                k = pos
                pos += 1
            job.update(rend[k], float(rms[k]))
            if not job.done:
                still.append((i, job))
            elif job.result is not None:
                t, rk = job.result
                out[i] = rs[i].summary_of(rk, job.sign * t, job.level)
        live = still
    return out


def measure(r: Renderer, v: np.ndarray, lin_in: float, level: float = LEVEL,
            sign: float | None = None) -> Measured | None:
    """The move v (float64[S]) measured at ``level``, or None when it does not reach it."""
    return measure_many(r, [(v, lin_in, level, sign)])[0]


def level_jobs(v: np.ndarray, lin_in: float, first: Measured,
               levels: tuple[float, ...] = LEVELS) -> list[tuple]:
    """The measure_many jobs of a move at each of ``levels``, with the sign of ``first``."""
    sign = 1.0 if first.scale >= 0 else -1.0
    return [(v, lin_in, lv, sign) for lv in levels]


def levels_dict(found: list[Measured | None], levels: tuple[float, ...] = LEVELS
                ) -> dict[str, dict | None]:
    """{"0.05": {...} | None, ...} from the results of ``level_jobs``."""
    return {f"{lv:g}": (m.as_dict() if m is not None else None)
            for lv, m in zip(levels, found, strict=True)}
