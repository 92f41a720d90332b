"""Non-negative matrix factorisation in NumPy: seeded HALS (hierarchical alternating LS)."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from synens.core.base.errors import SynensError

#: Floor of every factor entry during the updates (keeps HALS away from dead components).
FLOOR = 1e-12


class NMFResult(NamedTuple):
    """M ≈ W @ H with W float64[P, K] (columns of unit max), H float64[K, S], both >= 0.

    rel_error = |M − WH|_F / |M|_F; iterations run; converged: the stop rule was met.
    """

    W: np.ndarray
    H: np.ndarray
    rel_error: float
    iterations: int
    converged: bool


def _sq_error(m2: float, wtm: np.ndarray, wtw: np.ndarray, h: np.ndarray) -> float:
    """|M − WH|_F² from |M|², WᵀM, WᵀW and H, without forming WH."""
    return max(m2 - 2.0 * float(np.sum(h * wtm)) + float(np.sum(wtw * (h @ h.T))), 0.0)


def nmf(m: np.ndarray, k: int, seed: int = 0, max_iter: int = 300, tol: float = 1e-5,
        progress: Callable[[int, int], None] | None = None) -> NMFResult:
    """Factorise a non-negative matrix m (float[P, S]) into K parts.

    Seeded uniform initialisation scaled to the data, then HALS sweeps (all H rows, then
    all W columns) until the relative error improves by less than ``tol`` over one sweep
    or ``max_iter`` sweeps ran. Deterministic for a given seed (and machine).
    ``progress(sweep, max_iter)``, if given, is called before the first sweep (0) and
    after every sweep.
    """
    m = np.asarray(m, np.float64)
    if m.ndim != 2 or m.size == 0:
        raise SynensError("NMF needs a non-empty 2-D matrix")
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise SynensError("NMF needs a finite non-negative matrix")
    p, s = m.shape
    k = int(k)
    if not 1 <= k <= min(p, s):
        raise SynensError(f"K must lie in 1..{min(p, s)}, got {k}")
    rng = np.random.default_rng(seed)
    scale = np.sqrt(max(float(m.mean()), FLOOR) / k)
    w = rng.uniform(0.0, 2.0 * scale, (p, k)) + FLOOR
    h = rng.uniform(0.0, 2.0 * scale, (k, s)) + FLOOR
    m2 = float(np.sum(m * m))
    if m2 == 0:
        return NMFResult(np.zeros((p, k)), np.zeros((k, s)), 0.0, 0, True)
    if progress is not None:
        progress(0, max_iter)
    prev = np.inf
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - `it` is reported
        wtm = w.T @ m
        wtw = w.T @ w
        for j in range(k):
            d = wtw[j, j]
            if d > 0:
                h[j] = np.maximum(h[j] + (wtm[j] - wtw[j] @ h) / d, FLOOR)
        mht = m @ h.T
        hht = h @ h.T
        for j in range(k):
            d = hht[j, j]
            if d > 0:
                w[:, j] = np.maximum(w[:, j] + (mht[:, j] - w @ hht[:, j]) / d, FLOOR)
        err = np.sqrt(_sq_error(m2, w.T @ m, w.T @ w, h) / m2)
        if progress is not None:
            progress(it, max_iter)
        if prev - err < tol * max(prev, 1e-300) and it > 1:
            converged = True
            break
        prev = err
    top = w.max(axis=0)
    top[top == 0] = 1.0
    w /= top
    h *= top[:, None]
    err = float(np.linalg.norm(m - w @ h) / np.sqrt(m2))
    return NMFResult(w, h, err, it, converged)
