"""Jitted kernels of greedy forward selection: score every candidate synapse, add one to the set.

They take only arrays and scalars; ``synens.core.analysis.sparse.greedy_path`` validates,
preallocates and calls them. The state for the chosen set T (k = |T|, S synapses, all
float64, rows 0..k-1 of arrays preallocated at k_max rows) is, with bl = B + λI and
LLᵀ = bl_TT:

* P = L⁻¹, float64[k, k] (lower triangular);
* Lb = P bl_T: and La = P A_T:, float64[k, S];
* M = P A_TT Pᵀ, float64[k, k] (symmetric; its eigenpairs μ ascending, Q come from LAPACK);
* G = La − M Lb, float64[k, S]: the whitened cross term of every candidate (zero on T).

For a candidate j with l = Lb[:, j]: d² = bl_jj − ‖l‖², z = Qᵀ G[:, j] / d and
c = (a_jj − lᵀLa[:, j] − lᵀG[:, j]) / d²; μ(T ∪ {j}) is the top eigenvalue of the bordered
matrix [[diag(μ), z], [zᵀ, c]]: the largest root of θ − c − Σ_i z_i² / (θ − μ_i) = 0.
"""

from __future__ import annotations

import math

import numpy as np
from synens.core.base.jit import kernel

#: Newton iterations at most per candidate, and the relative step that ends them.
NEWTON_STEPS = 50
NEWTON_RTOL = 1e-13


@kernel
def _secular_root(mu, z2, c, theta):
    """Largest root of θ − c − Σ_i z2_i / (θ − μ_i) (μ float64[k] ascending, z2 float64[k])
    by Newton steps from the lower bound ``theta``, which only rise (the function is convex
    and increasing right of μ_top). Terms with z2 ≤ 1e-300 are left out."""
    k = mu.size
    for _ in range(NEWTON_STEPS):
        f = theta - c
        fp = 1.0
        for i in range(k):
            zi = z2[i]
            if zi > 1e-300:
                gap = max(theta - mu[i], 1e-150)
                f -= zi / gap
                fp += zi / (gap * gap)
        step = -f / fp
        theta += max(step, 0.0)
        if abs(step) <= NEWTON_RTOL * max(abs(theta), 1e-300):
            break
    return theta


@kernel
def _greedy_scores(mu, q, m, g, lb, la, da, db, pool, taken, out):
    """μ(T ∪ {j}) for every synapse j into out float64[S]; −inf off ``pool``, on ``taken``
    (bool[S]) and where j is numerically dependent on T (d² ≤ 1e-10 bl_jj).

    mu float64[k] ascending and q float64[k, k] (columns: eigenvectors) of m float64[k, k];
    g, lb, la float64[k, S] (k ≥ 1); da, db float64[S]: the diagonals of A and bl. A
    candidate whose upper bound (M ≤ μ_top I) is below the best lower bound (the 2×2
    bordered matrix with z_top alone) cannot win and gets its lower bound, computed from the
    incrementally updated G; every other one gets its exact root, with its column of G and
    c recomputed from La, Lb and M (O(k²)), so that the winner does not carry G's rounding
    drift."""
    k, s = g.shape
    top = mu[k - 1]
    ll = np.zeros(s)     # ‖l‖²
    lla = np.zeros(s)    # lᵀ La
    llg = np.zeros(s)    # lᵀ G
    gg = np.zeros(s)     # ‖G_j‖²
    gt = np.zeros(s)     # q_topᵀ G_j
    for i in range(k):
        qt = q[i, k - 1]
        for j in range(s):
            li, gi = lb[i, j], g[i, j]
            ll[j] += li * li
            lla[j] += li * la[i, j]
            llg[j] += li * gi
            gg[j] += gi * gi
            gt[j] += qt * gi
    d2 = np.ones(s)
    c = np.zeros(s)
    up = np.zeros(s)
    best_low = -np.inf
    for j in range(s):
        out[j] = -np.inf
        if not pool[j] or taken[j]:
            continue
        dj = db[j] - ll[j]
        if not dj > 1e-10 * max(db[j], 1e-300):
            continue
        d2[j] = dj
        cj = (da[j] - lla[j] - llg[j]) / dj
        c[j] = cj
        h = 0.25 * (top - cj) ** 2
        low = 0.5 * (top + cj) + math.sqrt(h + gt[j] * gt[j] / dj)
        low = max(low, max(top, cj))
        up[j] = 0.5 * (top + cj) + math.sqrt(h + gg[j] / dj)
        out[j] = low
        best_low = max(best_low, low)
    z2 = np.empty(k)
    col = np.empty(k)
    for j in range(s):
        if out[j] == -np.inf or up[j] < best_low:
            continue
        lg = 0.0
        for r in range(k):
            x = la[r, j]
            for t in range(k):
                x -= m[r, t] * lb[t, j]
            col[r] = x
            lg += lb[r, j] * x
        cj = (da[j] - lla[j] - lg) / d2[j]
        for i in range(k):
            z = 0.0
            for r in range(k):
                z += q[r, i] * col[r]
            z2[i] = z * z / d2[j]
        out[j] = _secular_root(mu, z2, cj, out[j])


@kernel
def _greedy_add(j, k, chosen, a, bl, p, lb, la, g, m):
    """Append synapse j to T (|T| = k before; chosen int64[≥ k+1] holds T, chosen[k] = j):
    row k of P, Lb, La and G, row and column k of M, and the rank-one update of G's rows
    0..k-1 (O(k·S)). p, m float64[k_max, k_max]; lb, la, g float64[k_max, S]; a, bl
    float64[S, S]. Returns d = √(bl_jj − ‖l‖²) (> 0 for a candidate that scored finite)."""
    s = a.shape[0]
    l_ = np.empty(k)
    gj = np.empty(k)
    ss = bl[j, j]
    for i in range(k):
        l_[i] = lb[i, j]
        gj[i] = g[i, j]
        ss -= l_[i] * l_[i]
    d = math.sqrt(ss)
    for t in range(k):
        acc = 0.0
        for i in range(t, k):          # P is lower triangular
            acc += l_[i] * p[i, t]
        p[k, t] = -acc / d
    p[k, k] = 1.0 / d
    for col in range(s):
        lb[k, col] = bl[j, col]
        la[k, col] = a[j, col]
    for i in range(k):
        li = l_[i]
        for col in range(s):
            lb[k, col] -= li * lb[i, col]
            la[k, col] -= li * la[i, col]
    for col in range(s):
        lb[k, col] /= d
        la[k, col] /= d
    mkk = 0.0
    for t in range(k + 1):
        mkk += la[k, chosen[t]] * p[k, t]
    for i in range(k):
        m[i, k] = gj[i] / d
        m[k, i] = gj[i] / d
    m[k, k] = mkk
    for col in range(s):
        g[k, col] = la[k, col] - mkk * lb[k, col]
    for i in range(k):
        mik = m[i, k]
        for col in range(s):
            g[k, col] -= mik * lb[i, col]
            g[i, col] -= mik * lb[k, col]
    return d
