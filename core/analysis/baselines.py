"""Baselines (best single synapse, best single neuron, one-neuron move of the same k) and pairs.

Rules (stated in every report):

* synapse: of the N_SYNAPSES synapses with the highest μ_s = A_ss / (B_ss + λ), the one whose
  measured sel is highest (moves that do not reach the level are skipped);
* neuron: of the N_NEURONS neurons whose fan-in move has the highest μ, the one whose fan-in
  move measures the highest sel; it "matches" the ensemble when its measured sel is at
  least ENSEMBLE_SHARE × the ensemble's;
* neuron_same_k: for the same neurons, greedy selection inside the fan-in up to the ensemble's
  k synapses; the best measured;
* pairs (sign-invariant): for two ensemble members a, b, the best 2-synapse move v (top
  eigenvector of the 2×2 problem, signs free) is opposing when its O energy keeps at most
  PAIR_OUT_KEEP of what the two members would give apart (vᵀBv ≤ PAIR_OUT_KEEP ·
  (v_a² B_aa + v_b² B_bb): they cancel outside) while its R energy keeps at least
  PAIR_IN_OVER_OUT times that share (they do not cancel inside). The N_PAIRS with the largest
  linear gain are measured; gain = measured pair sel / measured sel of the better member.
"""

from __future__ import annotations

import numpy as np
from synens.core.analysis.control import (
    ENSEMBLE_SHARE,
    Context,
    Control,
    Move,
    fan_in,
    fan_in_moves,
)
from synens.core.analysis.measure import LEVEL, measure_many
from synens.core.analysis.sparse import best_move, greedy_path

N_SYNAPSES = 8
N_NEURONS = 5
N_PAIRS = 10
PAIR_OUT_KEEP = 0.5
PAIR_IN_OVER_OUT = 2.0


def _best(moves: list[tuple[int, Move]]) -> tuple[int, Move] | None:
    ok = [(i, m) for i, m in moves if m.measured is not None]
    return max(ok, key=lambda t: (t[1].sel, -t[0])) if ok else None


def _gain(ens: Move, base: Move | None) -> float | None:
    if base is None or base.measured is None or ens.measured is None or base.sel <= 0:
        return None
    return ens.sel / base.sel


def _unit(s: int, n: int) -> np.ndarray:
    v = np.zeros(n)
    v[s] = 1.0
    return v


class Plan:
    """The baselines' moves that do not depend on the ensemble (single synapses, neurons'
    fan-ins), measured in the same lockstep batch as the curve."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        topo = ctx.topo
        da, db = np.diag(ctx.a), np.diag(ctx.b)
        mu_s = np.where(da > 0, da / (db + ctx.lam), -np.inf)
        top_s = [int(s) for s in np.argsort(-mu_s, kind="stable")[:N_SYNAPSES] if mu_s[s] > 0]
        self.syn = [(s, ctx.unmeasured(float(mu_s[s]), _unit(s, topo.n_synapses)))
                    for s in top_s]
        fans = fan_in_moves(ctx)
        mu_n = np.array([mu for mu, _ in fans])
        self.top_n = [int(n) for n in np.argsort(-mu_n, kind="stable")[:N_NEURONS]]
        self.neu = [(n, ctx.unmeasured(*fans[n])) for n in self.top_n]

    def all(self) -> list[Move]:
        return [m for _, m in self.syn] + [m for _, m in self.neu]

    def jobs(self) -> list[tuple]:
        """measure_many jobs of every planned move at LEVEL."""
        return [(m.vector, m.lin_in, LEVEL, None) for m in self.all()]

    def take(self, found: list) -> None:
        """Set the planned moves' measures from the results of ``jobs()``."""
        for m, f in zip(self.all(), found, strict=False):
            m.measured = f


def plan_baselines(ctx: Context) -> Plan:
    """The ensemble-independent baseline moves, not yet measured."""
    return Plan(ctx)


def finish(c: Control, plan: Plan) -> None:
    """Fill c.baselines and c.pairs once the planned moves are measured: the same-k moves,
    the pairs, their members alone and every headline move's other levels in lockstep."""
    ctx, topo = c.ctx, c.ctx.topo
    same_items = []
    for n in plan.top_n:
        f = fan_in(topo, n)
        order = f if f.size <= c.k else greedy_path(ctx.a, ctx.b, ctx.lam, c.k, (f,))[0]
        same_items.append(best_move(ctx.a, ctx.b, ctx.lam, np.asarray(order)))
    cands = pair_candidates(ctx.a, ctx.b, ctx.lam, c.members)[:N_PAIRS]
    known = {s: m for s, m in plan.syn}
    need = sorted({s for p in cands for s in (p["a"], p["b"])} - set(known))
    single_items = [(ctx.a[s, s] / (ctx.b[s, s] + ctx.lam), _unit(s, topo.n_synapses))
                    for s in need]
    b_syn, b_neu = _best(plan.syn), _best(plan.neu)
    heads = [c.ensemble] + [b[1] for b in (b_syn, b_neu) if b is not None]
    moves = ctx.moves(same_items + single_items + [(p["mu"], p["v"]) for p in cands],
                      ctx.level_jobs(heads))
    ctx.take_levels(heads, ctx.extra)
    ns, nn = len(same_items), len(single_items)
    same = list(zip(plan.top_n, moves[:ns], strict=True))
    known.update(zip(need, moves[ns:ns + nn], strict=True))
    b_same = _best(same)
    if b_same is not None:
        ctx.add_levels([b_same[1]])
    ens = c.ensemble
    c.baselines = {
        "synapse": b_syn, "neuron": b_neu, "neuron_same_k": b_same,
        "gain": {"synapse": _gain(ens, b_syn[1] if b_syn else None),
                 "neuron": _gain(ens, b_neu[1] if b_neu else None),
                 "neuron_same_k": _gain(ens, b_same[1] if b_same else None)},
        "neuron_matches": bool(b_neu is not None and b_neu[1].sel >= ENSEMBLE_SHARE * ens.sel),
    }
    pairs = []
    for p, mv in zip(cands, moves[ns + nn:], strict=True):
        if mv.measured is None:
            continue
        better = max(known[p["a"]].sel, known[p["b"]].sel)
        p.update(move=mv, gain=mv.sel / better if better > 0 else None,
                 same_target=bool(topo.dst[p["a"]] == topo.dst[p["b"]]))
        pairs.append(p)
    pairs.sort(key=lambda p: (-(p["gain"] if p["gain"] is not None else np.inf), p["a"], p["b"]))
    c.pairs = pairs


def add_baselines(c: Control) -> None:
    """Fill c.baselines (and c.pairs): {"synapse": (s, Move), "neuron": (n, Move),
    "neuron_same_k": ..., "gain": {...}, "neuron_matches": bool}; None where nothing
    reaches the level."""
    plan = plan_baselines(c.ctx)
    plan.take(measure_many(c.ctx.renderer, plan.jobs()))
    finish(c, plan)


def pair_candidates(a: np.ndarray, b: np.ndarray, lam: float,
                    members: np.ndarray) -> list[dict]:
    """Opposing pairs among ``members`` by the linear rule (module docstring), largest linear
    gain first: dicts a, b, rho_in, rho_out, v (float64[2], unit), mu, gain_linear."""
    out = []
    m = [int(s) for s in members]
    for i in range(len(m)):
        for j in range(i + 1, len(m)):
            sa, sb = m[i], m[j]
            idx = [sa, sb]
            mu, v = best_move(a, b, lam, idx)
            va, vb = v[sa], v[sb]
            sep_b = va * va * b[sa, sa] + vb * vb * b[sb, sb]
            sep_a = va * va * a[sa, sa] + vb * vb * a[sb, sb]
            if not (sep_b > 0 and sep_a > 0):
                continue
            keep_out = float(v[idx] @ b[np.ix_(idx, idx)] @ v[idx]) / sep_b
            keep_in = float(v[idx] @ a[np.ix_(idx, idx)] @ v[idx]) / sep_a
            if keep_out > PAIR_OUT_KEEP or keep_in < PAIR_IN_OVER_OUT * keep_out:
                continue
            single = max(a[s, s] / (b[s, s] + lam) for s in idx)
            out.append({"a": sa, "b": sb, "mu": mu, "v": v,
                        "rho_in": float(a[sa, sb] / np.sqrt(a[sa, sa] * a[sb, sb])),
                        "rho_out": float(b[sa, sb] / np.sqrt(b[sa, sa] * b[sb, sb])),
                        "keep_in": keep_in, "keep_out": keep_out,
                        "gain_linear": float(np.sqrt(mu / single)) if single > 0 else None})
    out.sort(key=lambda p: (-(p["gain_linear"] or 0.0), p["a"], p["b"]))
    return out


def add_pairs(c: Control) -> None:
    """Fill c.pairs (with the baselines: ``add_baselines`` does both)."""
    add_baselines(c)
