"""Opposing pairs and coordinated moves of a region ensemble, and their non-linear check.

Both work in the members' weight space from the pixel-mean Gram matrices A (over R) and
B (over O) of ``RegionEnsemble.gram``: for a direction v (float64[k]),
``RMS_R(J v) = sqrt(vᵀAv)`` and ``RMS_O(J v) = sqrt(vᵀBv)``. The selectivity of a
direction is ``RMS_R(J v) / (RMS_O(J v) + eps)`` for the unit vector v/|v|, so e_s gives
``sel(s)``.

Opposing pair (a, b): ``rho_in = A_ab / sqrt(A_aa A_bb)`` (agreement over R) and
``rho_out = B_ab / sqrt(B_aa B_bb)``. The joint move u = e_a/out_a + e_b/out_b scales each
member to the same RMS change over O; its energy (mean square) over O is
``out_energy = 2 (1 + rho_out)`` times that of each member alone. A pair is opposing
when ``rho_in > pair_min_rho_in`` and ``out_energy <= pair_max_out_energy``.

Coordinated moves: the top eigenvectors of A v = μ (B + λI) v (Cholesky whitening of
B + λI, then ``eigh``), with λ = ``lam`` × out² of the most selective member (see ridge).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from synens.core.analysis.changemap import region_masks
from synens.core.network.render import render
from synens.core.network.streaming import jvp

if TYPE_CHECKING:
    from synens.core.analysis.ensemble import RegionEnsemble


def direction_sel(v: np.ndarray, a: np.ndarray, b: np.ndarray, eps: float) -> float:
    """Selectivity of direction v (float[k]) from the Gram matrices a, b (float64[k, k])."""
    u = np.asarray(v, np.float64)
    u = u / np.linalg.norm(u)
    r_in = np.sqrt(max(float(u @ a @ u), 0.0))
    r_out = np.sqrt(max(float(u @ b @ u), 0.0))
    return r_in / (r_out + eps)


def opposing_pairs(ens: RegionEnsemble) -> list[dict]:
    """Opposing pairs of a RegionEnsemble, least leakage over O first (list of dicts).

    Each dict: a, b (synapse ids), rho_in, rho_out, out_energy, sel (of the joint move),
    gain (sel over the better member's sel) and direction {a: u_a, b: u_b} (unit norm).
    """
    k = ens.members.size
    if k < 2:
        return []
    rule = ens.rule
    a, b = ens.gram
    da, db = np.diag(a).copy(), np.diag(b).copy()
    ok = (da > 0) & (db > 0)
    sa, sb = np.sqrt(np.where(ok, da, 1.0)), np.sqrt(np.where(ok, db, 1.0))
    rho_in = a / np.outer(sa, sa)
    rho_out = b / np.outer(sb, sb)
    out_energy = np.maximum(2.0 * (1.0 + rho_out), 0.0)
    hit = (rho_in > rule.pair_min_rho_in) & (out_energy <= rule.pair_max_out_energy)
    hit &= np.outer(ok, ok) & np.triu(np.ones((k, k), bool), 1)
    sel_m = ens.scores.sel[ens.members]
    ii, jj = np.nonzero(hit)
    # the unit move u = (e_i/out_i + e_j/out_j) / norm, in closed form (no BLAS in the loop)
    ui, uj = 1.0 / sb[ii], 1.0 / sb[jj]
    norm2 = ui * ui + uj * uj
    r_in = (a[ii, ii] * ui * ui + a[jj, jj] * uj * uj + 2 * a[ii, jj] * ui * uj) / norm2
    r_out = (b[ii, ii] * ui * ui + b[jj, jj] * uj * uj + 2 * b[ii, jj] * ui * uj) / norm2
    sel = np.sqrt(np.maximum(r_in, 0.0)) / (np.sqrt(np.maximum(r_out, 0.0)) + rule.eps)
    pairs = []
    for n, (i, j) in enumerate(zip(ii, jj, strict=True)):
        s = float(sel[n])
        pairs.append({
            "a": int(ens.members[i]), "b": int(ens.members[j]),
            "rho_in": float(rho_in[i, j]), "rho_out": float(rho_out[i, j]),
            "out_energy": float(out_energy[i, j]), "sel": s,
            "gain": s / max(float(sel_m[i]), float(sel_m[j]), 1e-300),
            "direction": {int(ens.members[i]): float(ui[n] / np.sqrt(norm2[n])),
                          int(ens.members[j]): float(uj[n] / np.sqrt(norm2[n]))},
        })
    pairs.sort(key=lambda p: (p["out_energy"], -p["gain"], p["a"], p["b"]))
    return pairs


def generalized_top(a: np.ndarray, b: np.ndarray, lam: float,
                    n: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Top n solutions of A v = μ (B + lam I) v for symmetric A, B (float64[k, k]).

    Cholesky B + lam I = L Lᵀ, then ``eigh`` of L⁻¹ A L⁻ᵀ. Returns μ float64[n] (descending),
    unit vectors V float64[n, k], each with its largest-magnitude component positive, and
    the λ used: should rounding leave B + lam I not positive definite, λ grows 10× a time.
    """
    k = a.shape[0]
    for _ in range(40):
        try:
            low = np.linalg.cholesky(b + lam * np.eye(k))
            break
        except np.linalg.LinAlgError:
            lam *= 10.0
    else:  # pragma: no cover - B would have to be far from symmetric PSD
        raise np.linalg.LinAlgError("B + lam I is not positive definite")
    m = np.linalg.solve(low, np.linalg.solve(low, a).T)
    mu, y = np.linalg.eigh(0.5 * (m + m.T))
    order = np.argsort(-mu, kind="stable")[:n]
    v = np.linalg.solve(low.T, y[:, order]).T
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    flip = v[np.arange(v.shape[0]), np.argmax(np.abs(v), axis=1)] < 0
    v[flip] *= -1.0
    return mu[order], v, lam


def ridge(ens: RegionEnsemble) -> float:
    """λ = lam × out² of the most selective member, at least 1e-14 × the largest out².

    Then the top move's selectivity is at least sel(best member) / sqrt(1 + lam) (unless
    the floor is active, which only happens when that member barely touches O at all).
    """
    a, b = ens.gram
    db = np.diag(b)
    best = int(np.argmax(ens.scores.sel[ens.members]))
    floor = 1e-14 * float(db.max())
    if not floor > 0:
        floor = 1e-14 * float(np.diag(a).max()) or 1e-300
    return max(ens.rule.lam * float(db[best]), floor)


def coordinated_moves(ens: RegionEnsemble) -> list[dict]:
    """Top ``rule.n_moves`` coordinated moves of a RegionEnsemble (list of dicts).

    Each dict: vector float64[k] (unit norm, over ``ens.members``), ratio μ, selectivity,
    rms_in, rms_out (per unit step), lam, components [(synapse, v_s)] by |v_s| descending.
    """
    k = ens.members.size
    if k == 0:
        return []
    rule = ens.rule
    a, b = ens.gram
    lam = ridge(ens)
    mu, vecs, lam = generalized_top(a, b, lam, min(rule.n_moves, k))
    moves = []
    for m, v in zip(mu, vecs, strict=True):
        order = np.argsort(-np.abs(v), kind="stable")
        moves.append({
            "vector": v, "ratio": float(m), "lam": lam,
            "selectivity": direction_sel(v, a, b, rule.eps),
            "rms_in": float(np.sqrt(max(v @ a @ v, 0.0))),
            "rms_out": float(np.sqrt(max(v @ b @ v, 0.0))),
            "components": [(int(ens.members[i]), float(v[i])) for i in order],
        })
    return moves


# The helpers below avoid BLAS on purpose: a multi-threaded BLAS call between two parallel
# Numba kernels makes the two thread pools fight over the cores (10+ ms per switch).
def _dot(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.einsum("i,i->", p.ravel(), q.ravel(), dtype=np.float64))


def _rms(d: np.ndarray) -> float:
    return float(np.sqrt(_dot(d, d) / d.size)) if d.size else 0.0


def _cos(p: np.ndarray, q: np.ndarray) -> float:
    den = np.sqrt(_dot(p, p) * _dot(q, q))
    return _dot(p, q) / den if den > 0 else 0.0


def verify_moves(ens: RegionEnsemble) -> None:
    """Apply a real step along each move, re-render, and record what changed (in place).

    The step is t·v with t = step_in / rms_in, so that the linear prediction changes R by
    ``step_in`` RMS. Adds to each move: step; measured {in, out}: RMS of render(w + t v) −
    render(w) over R and O (float32 renders); predicted {in, out}: the linear t·RMS(J v)
    from the Gram matrices; cos_in, cos_out: cosine between the measured change and the
    linear one t·J v (forward mode, ``jvp``; J is never formed) over R, O; ratio_in:
    measured / predicted over R; agrees: cos_in > 0.5 and 1/3 <= ratio_in <= 3.
    """
    topo, w = ens.topo, ens.weights
    width, height = ens.scores.size
    inside = region_masks(width, height, ens.region)[0]
    steps = np.zeros((len(ens.moves), w.size))
    for i, mv in enumerate(ens.moves):
        t = ens.rule.step_in / mv["rms_in"] if mv["rms_in"] > 0 else 0.0
        mv["step"] = float(t)
        steps[i, ens.members] = t * mv["vector"]
    lin = jvp(topo, w, steps, width, height)
    base = render(topo, w, width, height)
    for mv, step, jv in zip(ens.moves, steps, lin, strict=True):
        t = mv["step"]
        d = render(topo, w + step, width, height) - base
        d_in, d_out, p_in, p_out = d[inside], d[~inside], jv[inside], jv[~inside]
        mi, mo = _rms(d_in), _rms(d_out)
        pi, po = t * mv["rms_in"], t * mv["rms_out"]
        mv["measured"] = {"in": mi, "out": mo}
        mv["predicted"] = {"in": pi, "out": po}
        mv["cos_in"] = _cos(d_in, p_in)
        mv["cos_out"] = _cos(d_out, p_out)
        mv["ratio_in"] = mi / pi if pi > 0 else float("inf")
        mv["agrees"] = bool(mv["cos_in"] > 0.5 and 1 / 3 <= mv["ratio_in"] <= 3)
