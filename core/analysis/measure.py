"""Non-linear selectivity of a move: scale it to a stated RMS change inside R, re-render, measure.

A move is a direction v (float64[S], weight units). ``measure`` finds a scale t > 0 such
that the RMS (over R's pixels and the 3 channels, colour units on the [-1, 1] scale) of
``render(w + t·σ·v) − render(w)`` is ``level`` (default LEVEL = 0.075, about 10/255, within
TOL), by a short 1-D search from the linear guess; the sign σ is the one whose sel is higher
at the linear guess (both are rendered). Renders are float32 at the
training resolution. Reported: scale = σ·t (so the step is scale·v), in, out (RMS over O),
sel = in / (out + EPS), max_out (largest |change| over O's pixels and channels) and border
(share of O's squared change within BORDER_PX pixels of R, Chebyshev distance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from synens.core.analysis.masks import border_band
from synens.core.base.errors import SynensError
from synens.core.base.topology import Topology
from synens.core.network.render import render

#: Default RMS change inside R that every measured move is scaled to (colour units).
LEVEL = 0.075
#: The other levels each headline move is also measured at.
LEVELS = (0.05, 0.1, 0.2)
#: No step may move any weight by more than this (weight units): beyond it, "not reached".
MAX_STEP = 20.0
#: Relative tolerance of the 1-D search on the RMS change inside R.
TOL = 5e-3
EPS = 1e-9
BORDER_PX = 3


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


class Renderer:
    """The picture of one region analysis: weights, R's mask, its border band, the base render.

    weights float64[S]; mask bool[H, W]; base float32[H, W, 3]. ``renders`` counts renders.
    """

    def __init__(self, topo: Topology, weights: np.ndarray, mask: np.ndarray) -> None:
        self.topo = topo
        self.weights = np.asarray(weights, np.float64)
        self.mask = np.asarray(mask, bool)
        self.height, self.width = self.mask.shape
        self.band = border_band(self.mask, BORDER_PX)[~self.mask]
        self.base = render(topo, self.weights, self.width, self.height)
        self.renders = 0

    def change(self, step: np.ndarray) -> np.ndarray:
        """render(w + step) − render(w): float32[H, W, 3]."""
        self.renders += 1
        return render(self.topo, self.weights + step, self.width, self.height) - self.base

    def rms_in(self, d: np.ndarray) -> float:
        """RMS over R's pixels and channels of a change float[H, W, 3]."""
        x = d[self.mask]
        return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))

    def summary(self, d: np.ndarray, scale: float, level: float) -> Measured:
        """The Measured of a change d float[H, W, 3] made by the step scale·v."""
        d_in, d_out = d[self.mask].astype(np.float64), d[~self.mask].astype(np.float64)
        r_in = float(np.sqrt(np.mean(d_in * d_in)))
        e_out = (d_out * d_out).sum(axis=1)
        r_out = float(np.sqrt(e_out.sum() / d_out.size))
        tot = float(e_out.sum())
        border = float(e_out[self.band].sum() / tot) if tot > 0 else 0.0
        return Measured(float(scale), r_in, r_out, r_in / (r_out + EPS),
                        float(np.abs(d_out).max()), border, float(level))


def find_scale(r: Renderer, v: np.ndarray, level: float, t: float,
               first: np.ndarray | None = None) -> tuple[float, np.ndarray] | None:
    """t > 0 with RMS_R(render(w + t v) − render(w)) = level (within TOL), and that change.

    Starts at ``t`` (whose change ``first`` may be given), brackets by growing the step up
    to ``MAX_STEP / max |v|``, then regula falsi (Illinois) inside the bracket. None when
    no step up to that bound reaches ``level``.
    """
    t_max = MAX_STEP / float(np.abs(v).max())
    lo, f_lo = 0.0, -level
    hi = f_hi = None
    d = first
    for _ in range(40):
        if d is None:
            d = r.change(t * v)
        f = r.rms_in(d) - level
        if abs(f) <= TOL * level:
            return t, d
        if f > 0:
            hi, f_hi = t, f
            break
        lo, f_lo = t, f
        if t >= t_max:
            return None
        grow = level / (f + level) if f + level > 0 else 4.0
        t = min(t * min(max(1.25 * grow, 1.25), 4.0), t_max)
        d = None
    if hi is None:
        return None
    side = 0
    for _ in range(60):
        t = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        d = r.change(t * v)
        f = r.rms_in(d) - level
        if abs(f) <= TOL * level or hi - lo <= 1e-12 * hi:
            return t, d
        if f > 0:
            hi, f_hi = t, f
            if side == 1:
                f_lo *= 0.5
            side = 1
        else:
            lo, f_lo = t, f
            if side == -1:
                f_hi *= 0.5
            side = -1
    return t, d


def measure(r: Renderer, v: np.ndarray, lin_in: float, level: float = LEVEL,
            sign: float | None = None) -> Measured | None:
    """The move v (float64[S]) measured at ``level``, or None when it does not reach it.

    ``lin_in`` = linear RMS_R(J v) gives the first step t0 = level / lin_in. Without
    ``sign``, both ±v are rendered at t0 and the sign with the higher sel there is searched.
    """
    v = np.asarray(v, np.float64)
    vmax = float(np.abs(v).max())
    if not vmax > 0:
        return None
    t0 = min(level / lin_in if lin_in > 0 else 1e-3 * MAX_STEP / vmax, MAX_STEP / vmax)
    if sign is None:
        tries = []
        for s in (1.0, -1.0):
            d = r.change(s * t0 * v)
            tries.append((r.summary(d, s * t0, level).sel, -s, s, d))
        _, _, sign, first = max(tries, key=lambda x: (x[0], x[1]))
    else:
        first = None
    sign = float(sign)
    found = find_scale(r, sign * v, level, t0, first)
    if found is None:
        return None
    t, d = found
    return r.summary(d, sign * t, level)


def measure_levels(r: Renderer, v: np.ndarray, lin_in: float, first: Measured,
                   levels: tuple[float, ...] = LEVELS) -> dict[str, dict | None]:
    """The move at each of ``levels`` with the sign of ``first``: {"0.05": {...} | None, ...}."""
    sign = 1.0 if first.scale >= 0 else -1.0
    out: dict[str, dict | None] = {}
    for lv in levels:
        m = measure(r, v, lin_in, lv, sign)
        out[f"{lv:g}"] = m.as_dict() if m is not None else None
    return out
