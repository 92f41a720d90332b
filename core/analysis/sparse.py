"""Sparse moves: the best move over a set of synapses, and greedy forward selection of the set.

Everything works on the pixel-mean Gram matrices of the whole network, A (over R) and
B (over O), float64[S, S], so that RMS_R(J v)² = vᵀAv and RMS_O(J v)² = vᵀBv. The best move
over a set T is the top generalised eigenvector of (A_TT, B_TT + λI); its eigenvalue
μ(T) = vᵀAv / vᵀ(B + λI)v is the ridged squared linear selectivity. Adding a synapse never
lowers μ, so a greedy path's μ never falls.

Greedy forward selection adds, at each step, the candidate j that maximises μ(T ∪ {j}).
All candidates are scored at once: in the (B + λI)-whitened basis of T the bordered matrix
[[M, m_j], [m_jᵀ, c_j]] has its top eigenvalue at the largest root of the secular equation
θ − c_j − Σ_i z_ij² / (θ − μ_i) = 0 (z_j = Qᵀ m_j, M = Q diag(μ) Qᵀ), found by Newton steps
from a lower bound (the 2×2 interlacing bound), which converge monotonically.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from synens.core.analysis.moves import generalized_top

#: The smallest β + λ that ``ridge_path`` uses, relative to the largest: below it, B + λI is
#: numerically singular and the rest of the eigenproblem would be rounding.
RIDGE_FLOOR = 1e-12


def best_move(a: np.ndarray, b: np.ndarray, lam: float,
              idx: Sequence[int] | np.ndarray) -> tuple[float, np.ndarray]:
    """μ and the unit move float64[S] (zero off ``idx``) of the top eigenvector over ``idx``."""
    idx = np.asarray(idx, np.int64)
    v = np.zeros(a.shape[0])
    if idx.size == 0:
        return 0.0, v
    sub = np.ix_(idx, idx)
    mu, vec, _ = generalized_top(a[sub], b[sub], lam, 1)
    v[idx] = vec[0]
    return float(mu[0]), v


def best_moves(a: np.ndarray, b: np.ndarray, lam: float,
               sets: Sequence[Sequence[int] | np.ndarray]) -> list[tuple[float, np.ndarray]]:
    """``best_move`` over each synapse set, the sets of one size solved as one stack (the same
    LAPACK calls as ``generalized_top``, batched); a stack whose Cholesky fails (B + λI not
    numerically positive definite) falls back to ``best_move`` set by set."""
    out: list[tuple[float, np.ndarray] | None] = [None] * len(sets)
    by_size: dict[int, list[int]] = {}
    idx = [np.asarray(t, np.int64) for t in sets]
    for i, t in enumerate(idx):
        by_size.setdefault(t.size, []).append(i)
    s = a.shape[0]
    for size, which in by_size.items():
        if size == 0:
            for i in which:
                out[i] = (0.0, np.zeros(s))
            continue
        ids = np.stack([idx[i] for i in which])                   # g × f
        sub_a = a[ids[:, :, None], ids[:, None, :]]
        sub_b = b[ids[:, :, None], ids[:, None, :]] + lam * np.eye(size)
        try:
            low = np.linalg.cholesky(sub_b)
        except np.linalg.LinAlgError:
            for i in which:
                out[i] = best_move(a, b, lam, idx[i])
            continue
        m = np.linalg.solve(low, np.swapaxes(np.linalg.solve(low, sub_a), 1, 2))
        mu, y = np.linalg.eigh(0.5 * (m + np.swapaxes(m, 1, 2)))
        vec = np.linalg.solve(np.swapaxes(low, 1, 2), y[:, :, -1:])[:, :, 0]
        vec /= np.linalg.norm(vec, axis=1, keepdims=True)
        flip = vec[np.arange(len(which)), np.argmax(np.abs(vec), axis=1)] < 0
        vec[flip] *= -1.0
        for j, i in enumerate(which):
            v = np.zeros(s)
            v[idx[i]] = vec[j]
            out[i] = (float(mu[j, -1]), v)
    return out  # type: ignore[return-value]


def prefix_moves(a: np.ndarray, b: np.ndarray, lam: float, order: Sequence[int] | np.ndarray,
                 ks: Sequence[int] | None = None) -> list[tuple[float, np.ndarray]]:
    """``best_move`` over each prefix ``order[:k]`` (k in ``ks``, default 1..len(order)) from
    one Cholesky factor: B_TT + λI = L Lᵀ over the whole order, and the leading k×k block of
    L is the factor of the prefix's, so M_k = (L⁻¹ A_TT L⁻ᵀ)[:k, :k] and v = L_k⁻ᵀ y. Falls
    back to ``best_move`` prefix by prefix if the factor does not exist numerically."""
    t = np.asarray(order, np.int64)
    ks = list(range(1, t.size + 1)) if ks is None else [int(k) for k in ks]
    s = a.shape[0]
    try:
        low = np.linalg.cholesky(b[np.ix_(t, t)] + lam * np.eye(t.size))
    except np.linalg.LinAlgError:
        return [best_move(a, b, lam, t[:k]) for k in ks]
    p = np.linalg.solve(low, np.eye(t.size))                          # L⁻¹, lower triangular
    m = p @ a[np.ix_(t, t)] @ p.T
    out = []
    for k in ks:
        if k == 0:
            out.append((0.0, np.zeros(s)))
            continue
        mk = m[:k, :k]
        mu, y = np.linalg.eigh(0.5 * (mk + mk.T))
        vk = p[:k, :k].T @ y[:, -1]
        vk /= np.linalg.norm(vk)
        if vk[np.argmax(np.abs(vk))] < 0:
            vk = -vk
        v = np.zeros(s)
        v[t[:k]] = vk
        out.append((float(mu[-1]), v))
    return out


def ridge_basis(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(β float64[S], U float64[S, S], UᵀAU float64[S, S]) with B = U diag(β) Uᵀ: the part of
    ``ridge_path`` that does not depend on λ, to compute once per (A, B)."""
    beta, u = np.linalg.eigh(0.5 * (b + b.T))
    return beta, u, u.T @ a @ u


def ridge_path(a: np.ndarray, b: np.ndarray, lams: Sequence[float],
               basis: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
               ) -> list[tuple[float, np.ndarray]]:
    """(μ, unit move float64[S]) of the top eigenvector of (A, B + λI) over every synapse, for
    each λ of ``lams``: B = U diag(β) Uᵀ once (``basis``: ``ridge_basis(a, b)`` computed
    already), then per λ the eigenproblem of D UᵀAU D, D = diag((β + λ)^-½) (``best_move``
    where B + λI is numerically singular, each β + λ is at least RIDGE_FLOOR × the largest).
    Sign: the largest-magnitude component positive."""
    beta, u, au = ridge_basis(a, b) if basis is None else basis
    out = []
    for lam in lams:
        # B + λI numerically singular (β + λ below 1e-12 of the largest, or ≤ 0 by rounding):
        # those directions get the floor, an effective ridge of 1e-12 · (β_max + λ)
        d = 1.0 / np.sqrt(np.maximum(beta + lam, RIDGE_FLOOR * (beta[-1] + lam)))
        mu, y = top_eigen(d[:, None] * au * d[None, :])
        v = u @ (d * y)
        v /= np.linalg.norm(v)
        if v[np.argmax(np.abs(v))] < 0:
            v = -v
        out.append((float(mu), v))
    return out


def top_eigen(m: np.ndarray, steps: int = 96, rtol: float = 1e-10) -> tuple[float, np.ndarray]:
    """Top eigenpair of a symmetric float64[n, n]: Lanczos with full reorthogonalisation from a
    fixed start, accepted when ‖m y − μ y‖ ≤ rtol · max|eigenvalue| of the Ritz problem;
    otherwise (or for n ≤ steps) a full ``eigh``. Returns μ and the unit vector float64[n]."""
    n = m.shape[0]
    if n <= steps:
        w, y = np.linalg.eigh(m)
        return float(w[-1]), y[:, -1]
    q = np.empty((steps + 1, n))
    alpha, beta = np.zeros(steps), np.zeros(steps)
    x = np.linspace(1.0, 2.0, n)
    q[0] = x / np.linalg.norm(x)
    k = 0
    for k in range(steps):
        r = m @ q[k]
        alpha[k] = q[k] @ r
        r -= q[:k + 1].T @ (q[:k + 1] @ r)
        r -= q[:k + 1].T @ (q[:k + 1] @ r)
        beta[k] = np.linalg.norm(r)
        if beta[k] <= 1e-300:
            break
        q[k + 1] = r / beta[k]
        if k >= 8 and k % 8 == 0 or k == steps - 1:
            t = np.diag(alpha[:k + 1]) + np.diag(beta[:k], 1) + np.diag(beta[:k], -1)
            w, z = np.linalg.eigh(t)
            if beta[k] * abs(z[-1, -1]) <= rtol * max(abs(w[0]), abs(w[-1])):
                y = q[:k + 1].T @ z[:, -1]
                y /= np.linalg.norm(y)
                mu = float(y @ m @ y)
                if np.linalg.norm(m @ y - mu * y) <= 10 * rtol * max(abs(w[0]), abs(w[-1])):
                    return mu, y
    w, y = np.linalg.eigh(m)
    return float(w[-1]), y[:, -1]


def linear_sel(a: np.ndarray, b: np.ndarray, v: np.ndarray, eps: float = 1e-9) -> tuple[float,
                                                                                      float]:
    """Linear RMS_R(J v) and sel = RMS_R / (RMS_O + eps) of v (float64[S]) per unit of |v|."""
    u = v / np.linalg.norm(v)
    idx = np.flatnonzero(u)
    if 2 * idx.size < u.size:                   # a sparse move: its block of A and B only
        u = u[idx]
        a, b = a[np.ix_(idx, idx)], b[np.ix_(idx, idx)]
    r_in = float(np.sqrt(max(u @ a @ u, 0.0)))
    r_out = float(np.sqrt(max(u @ b @ u, 0.0)))
    return r_in, r_in / (r_out + eps)


def candidate_scores(a: np.ndarray, bl: np.ndarray, chosen: Sequence[int],
                     cand: np.ndarray) -> np.ndarray:
    """μ(chosen ∪ {j}) for every j of ``cand`` (int64[c]); bl = B + λI. float64[c], −inf if j
    is in ``chosen`` or numerically dependent on it. Exact for every candidate that can be
    the best; a candidate whose upper bound (M ≤ μ_top I) is below the best lower bound gets
    its lower bound instead (it cannot win)."""
    cand = np.asarray(cand, np.int64)
    dj_a, dj_b = a[cand, cand], bl[cand, cand]
    t = np.asarray(chosen, np.int64)
    if t.size == 0:
        return np.where(dj_b > 0, dj_a / np.where(dj_b > 0, dj_b, 1.0), -np.inf)
    low = np.linalg.cholesky(bl[np.ix_(t, t)])
    p = np.linalg.solve(low, np.eye(t.size))               # L⁻¹
    a_tt = a[np.ix_(t, t)]
    mu, q = np.linalg.eigh(p @ a_tt @ p.T)
    l_ = p @ bl[np.ix_(t, cand)]                           # k × c
    d2 = dj_b - np.einsum("ij,ij->j", l_, l_)
    ok = d2 > 1e-10 * np.maximum(dj_b, 1e-300)
    d = np.sqrt(np.where(ok, d2, 1.0))
    x = p.T @ l_
    a_tc = a[np.ix_(t, cand)]
    ax = a_tt @ x
    m = (p @ (a_tc - ax)) / d
    c = (np.einsum("ij,ij->j", x, ax) - 2 * np.einsum("ij,ij->j", x, a_tc) + dj_a) / (d * d)
    z2 = (q.T @ m) ** 2                                   # k × c
    return _secular_top(mu, z2, c, ok, np.isin(cand, t))


def _secular_top(mu: np.ndarray, z2: np.ndarray, c: np.ndarray, ok: np.ndarray,
                 taken: np.ndarray) -> np.ndarray:
    """Top eigenvalue of each bordered matrix [[diag(μ), z_j], [z_jᵀ, c_j]] (μ float64[k]
    ascending, z2 = z² float64[k, c], c float64[c]); −inf where not ``ok`` or ``taken``
    (bool[c]); pruned candidates get their lower bound (see ``candidate_scores``)."""
    top = mu[-1]
    zt2 = z2[-1]
    # bounds on the top eigenvalue of the bordered matrix: with z_top alone (below) and with
    # M ≤ top·I (above); candidates whose upper bound is under the best lower bound cannot win
    low_b = 0.5 * (top + c) + np.sqrt(0.25 * (top - c) ** 2 + zt2)
    up_b = 0.5 * (top + c) + np.sqrt(0.25 * (top - c) ** 2 + z2.sum(axis=0))
    low_b = np.maximum(low_b, np.maximum(top, c))
    out = np.where(ok, low_b, -np.inf)
    out[taken] = -np.inf
    best_low = out.max()
    keep = np.flatnonzero((out > -np.inf) & (up_b >= best_low))
    z2k, ck = z2[:, keep], c[keep]
    theta = low_b[keep]
    live = z2k > 1e-300
    for _ in range(50):
        gap = theta[None, :] - mu[:, None]
        gap = np.where(live, np.maximum(gap, 1e-150), 1.0)
        f = theta - ck - np.sum(np.where(live, z2k / gap, 0.0), axis=0)
        fp = 1.0 + np.sum(np.where(live, z2k / (gap * gap), 0.0), axis=0)
        step = -f / fp
        theta = theta + np.maximum(step, 0.0)
        if np.all(np.abs(step) <= 1e-13 * np.maximum(np.abs(theta), 1e-300)):
            break
    out[keep] = theta
    # pruned candidates keep their lower bound, which is below the winner's value
    return out


class _Whitened:
    """Greedy selection's state over every synapse for the chosen set T (k = |T|), updated by
    one row per added synapse (O(k·S)) instead of re-solved per step: P = L⁻¹ with
    LLᵀ = (B + λI)_TT (float64[k, k]), Lb = P (B + λI)_T: and La = P A_T: (float64[k, S]).
    Then M = P A_TT Pᵀ, and for a candidate j: l = Lb[:, j], d² = bl_jj − ‖l‖²,
    z = Qᵀ(La[:, j] − M l)/d and c_j = (a_jj − 2 lᵀLa[:, j] + lᵀMl)/d², the same bordered
    problem as ``candidate_scores``."""

    def __init__(self, a: np.ndarray, bl: np.ndarray) -> None:
        self.a, self.bl = a, bl
        s = a.shape[0]
        self.da, self.db = np.diag(a).copy(), np.diag(bl).copy()
        self.p = np.zeros((0, 0))
        self.lb = np.zeros((0, s))
        self.la = np.zeros((0, s))
        self.chosen: list[int] = []

    def scores(self, pool: np.ndarray) -> np.ndarray:
        """μ(T ∪ {j}) for every synapse j (float64[S]); −inf off ``pool`` (bool[S]), on T
        and where j is numerically dependent on T."""
        if not self.chosen:
            out = np.where(self.db > 0, self.da / np.where(self.db > 0, self.db, 1.0), -np.inf)
            return np.where(pool, out, -np.inf)
        t = np.asarray(self.chosen, np.int64)
        m_ = self.la[:, t] @ self.p.T
        mu, q = np.linalg.eigh(0.5 * (m_ + m_.T))
        d2 = self.db - np.einsum("ij,ij->j", self.lb, self.lb)
        ok = (d2 > 1e-10 * np.maximum(self.db, 1e-300)) & pool
        d = np.sqrt(np.where(ok, d2, 1.0))
        ql, qa = q.T @ self.lb, q.T @ self.la
        c = (self.da - 2 * np.einsum("ij,ij->j", self.lb, self.la)
             + np.einsum("i,ij->j", mu, ql * ql)) / (d * d)
        z2 = ((qa - mu[:, None] * ql) / d) ** 2
        taken = np.zeros(self.da.size, bool)
        taken[t] = True
        return _secular_top(mu, z2, c, ok, taken)

    def add(self, j: int) -> None:
        """Append synapse j to T: one new row of P, Lb and La."""
        l_ = self.lb[:, j]
        d = float(np.sqrt(self.bl[j, j] - l_ @ l_))
        k = len(self.chosen)
        p = np.zeros((k + 1, k + 1))
        p[:k, :k] = self.p
        p[k, :k] = -(l_ @ self.p) / d
        p[k, k] = 1.0 / d
        self.p = p
        self.lb = np.vstack([self.lb, (self.bl[j] - l_ @ self.lb) / d])
        self.la = np.vstack([self.la, (self.a[j] - l_ @ self.la) / d])
        self.chosen.append(int(j))


def greedy_path(a: np.ndarray, b: np.ndarray, lam: float, k_max: int,
                phases: Sequence[np.ndarray | None] = (None,)) -> tuple[list[int], np.ndarray]:
    """Synapses in the order greedy forward selection adds them (at most ``k_max``), and μ of
    each prefix's best move (float64[k], never falling).

    ``phases``: candidate sets used in turn, each until it is used up (None: every synapse);
    e.g. ``(fan_in, None)`` first completes a neuron's fan-in, then goes on freely. Ties go
    to the lower synapse id. Scores as ``candidate_scores``, with the whitened state kept
    from step to step (``_Whitened``).
    """
    s = a.shape[0]
    state = _Whitened(a, b + lam * np.eye(s))
    mus: list[float] = []
    for phase in phases:
        pool = np.zeros(s, bool)
        pool[np.arange(s) if phase is None else np.asarray(phase, np.int64)] = True
        while len(state.chosen) < k_max:
            pool[state.chosen] = False
            if not pool.any():
                break
            sc = state.scores(pool)
            if not np.isfinite(sc).any():
                break
            best = int(np.argmax(sc))
            mus.append(float(sc[best]))
            state.add(best)
    return state.chosen, np.array(mus)
