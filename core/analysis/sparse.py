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
from a lower bound (the 2×2 interlacing bound), which converge monotonically. The scoring
and the one-row update of the whitened state are jitted (``core/kernels/greedy.py``); only
the k×k ``eigh`` of M stays in LAPACK. The vectorised NumPy version they replaced is the
tests' reference (``tests/reference.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from synens.core.analysis.moves import generalized_top
from synens.core.kernels.greedy import _greedy_add, _greedy_scores

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


class GreedyState:
    """Greedy selection's state for the chosen set T (k = |T| ≤ k_max) over every synapse,
    preallocated at k_max rows and grown by one row per added synapse (O(k·S)): P, Lb, La,
    M and G of ``core/kernels/greedy.py`` (whitened by bl = B + λI). a, b float64[S, S]."""

    def __init__(self, a: np.ndarray, b: np.ndarray, lam: float, k_max: int) -> None:
        self.a = np.ascontiguousarray(a, np.float64)
        s = self.a.shape[0]
        self.bl = np.ascontiguousarray(b, np.float64) + lam * np.eye(s)
        self.k_max = max(0, min(int(k_max), s))
        self.da, self.db = np.diag(self.a).copy(), np.diag(self.bl).copy()
        self.p, self.m = np.zeros((self.k_max, self.k_max)), np.zeros((self.k_max, self.k_max))
        self.lb, self.la, self.g = (np.zeros((self.k_max, s)) for _ in range(3))
        self.order = np.zeros(self.k_max, np.int64)
        self.taken = np.zeros(s, bool)
        self.k = 0

    @property
    def chosen(self) -> list[int]:
        """T in the order its synapses were added."""
        return self.order[:self.k].tolist()

    def scores(self, pool: np.ndarray) -> np.ndarray:
        """μ(T ∪ {j}) for every synapse j (float64[S]); −inf off ``pool`` (bool[S]), on T
        and where j is numerically dependent on T. Exact for every candidate that can be the
        best; one whose upper bound is below the best lower bound gets its lower bound."""
        pool = np.asarray(pool, bool)
        out = np.full(self.da.size, -np.inf)
        k = self.k
        if k == 0:
            ok = pool & (self.db > 0)
            out[ok] = self.da[ok] / self.db[ok]
            return out
        mu, q = np.linalg.eigh(self.m[:k, :k])
        _greedy_scores(mu, np.ascontiguousarray(q), self.m[:k, :k], self.g[:k], self.lb[:k],
                       self.la[:k], self.da, self.db, pool, self.taken, out)
        return out

    def add(self, j: int) -> None:
        """Append synapse j (not in T, with a finite score) to T."""
        if self.k >= self.k_max:
            raise ValueError(f"greedy state is full ({self.k_max} synapses)")
        self.order[self.k] = j
        _greedy_add(int(j), self.k, self.order, self.a, self.bl, self.p, self.lb, self.la,
                    self.g, self.m)
        self.taken[j] = True
        self.k += 1


def greedy_path(a: np.ndarray, b: np.ndarray, lam: float, k_max: int,
                phases: Sequence[np.ndarray | None] = (None,)) -> tuple[list[int], np.ndarray]:
    """Synapses in the order greedy forward selection adds them (at most ``k_max``), and μ of
    each prefix's best move (float64[k], never falling).

    a, b float64[S, S]; ``phases``: candidate sets used in turn, each until it is used up
    (None: every synapse); e.g. ``(fan_in, None)`` first completes a neuron's fan-in, then
    goes on freely. Ties go to the lower synapse id. Each step scores every candidate with
    the jitted ``_greedy_scores`` (the secular equation of the bordered eigenproblem, see the
    module docstring) after a k×k LAPACK ``eigh`` of M, and ``_greedy_add`` appends one row
    to the whitened state (``GreedyState``, ``core/kernels/greedy.py``).
    """
    state = GreedyState(a, b, lam, k_max)
    s = state.da.size
    mus: list[float] = []
    for phase in phases:
        pool = np.zeros(s, bool)
        pool[np.arange(s) if phase is None else np.asarray(phase, np.int64)] = True
        while state.k < state.k_max:
            pool &= ~state.taken
            if not pool.any():
                break
            sc = state.scores(pool)
            best = int(np.argmax(sc))
            if not np.isfinite(sc[best]):
                break
            mus.append(float(sc[best]))
            state.add(best)
    return state.chosen, np.array(mus)
