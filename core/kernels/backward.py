"""Jitted gradient kernels: full-batch loss and gradient, mini-batch Adam, Jacobian, JᵀJ.

They run the chunk functions of kernels.py (same layout: ``a[node, sample]`` per chunk; float32
in production, float64 for exact checks) and write per-chunk buffers that are summed in a fixed
order, so the parallel ones are deterministic. Only arrays and scalars go in.
"""

from __future__ import annotations

import numpy as np
from numba import prange
from synens.core.base.jit import kernel, parallel_kernel, zero_of
from synens.core.kernels.forward import _chunk_jac, _chunk_jac_start, _chunk_loss_grad


@parallel_kernel
def _loss_grad(w, src, ptr, order, outs, X, Y, T, M, G, L):
    """Full-batch squared error: T float[C, 3, CH], M float[C, CH]; G float64[C, S], L[C]."""
    n = ptr.size - 1
    for c in prange(X.shape[0]):
        z = np.empty((n, X.shape[1]), X.dtype)
        a = np.empty_like(z)
        d = np.empty_like(z)
        G[c, :] = 0.0
        L[c] = _chunk_loss_grad(w, src, ptr, order, outs, X[c], Y[c], T[c], M[c], z, a, d, G[c])


@parallel_kernel
def _jacobian(w, src, dst, ptr, order, outs, X, Y, cols, J):
    """d image / d w[cols] for the first P samples: J float[3, k, P] (channel, column, pixel)."""
    ch_len = X.shape[1]
    for c in prange(X.shape[0]):
        a, d, jc = _chunk_jac_start(w, src, ptr, order, X[c], Y[c], cols.size)
        lo = c * ch_len
        m = min(ch_len, J.shape[2] - lo)
        for ch in range(3):
            _chunk_jac(w, src, dst, ptr, order, outs, X[c], Y[c], a, d, ch, cols, jc)
            for j in range(cols.size):
                J[ch, j, lo:lo + m] = jc[j, :m]


@parallel_kernel
def _jac_sumsq(w, src, dst, ptr, order, outs, X, Y, masks, cols, out):
    """Streaming sum over masked pixels and channels of J[p, c, s]^2.

    masks float[C, G, CH] (a pixel may be in several groups); out float64[C, G, k].
    """
    k = cols.size
    for c in prange(X.shape[0]):
        a, d, jc = _chunk_jac_start(w, src, ptr, order, X[c], Y[c], k)
        out[c] = 0.0
        for ch in range(3):
            _chunk_jac(w, src, dst, ptr, order, outs, X[c], Y[c], a, d, ch, cols, jc)
            for g in range(masks.shape[1]):
                mg = masks[c, g]
                for j in range(k):
                    jj = jc[j]
                    acc = zero_of(jj)
                    for i in range(jj.size):
                        acc += mg[i] * jj[i] * jj[i]
                    out[c, g, j] += acc


@parallel_kernel
def _jac_gram(w, src, dst, ptr, order, outs, X, Y, masks, cols, out):
    """Streaming JᵀJ over masked pixels: out float64[C, G, k, k] (lower triangle filled)."""
    k = cols.size
    for c in prange(X.shape[0]):
        a, d, jc = _chunk_jac_start(w, src, ptr, order, X[c], Y[c], k)
        mj = np.empty(X.shape[1], X.dtype)
        out[c] = 0.0
        for ch in range(3):
            _chunk_jac(w, src, dst, ptr, order, outs, X[c], Y[c], a, d, ch, cols, jc)
            for g in range(masks.shape[1]):
                mg = masks[c, g]
                for p in range(k):
                    jp = jc[p]
                    for i in range(mj.size):
                        mj[i] = mg[i] * jp[i]
                    for q in range(p + 1):
                        jq = jc[q]
                        acc = zero_of(jq)
                        for i in range(mj.size):
                            acc += mj[i] * jq[i]
                        out[c, g, p, q] += acc


@kernel
def _adam_epoch(w64, w, src, ptr, order, outs, xs, ys, ts, perm, batch, lr, l2, m, v, step):
    """One epoch of mini-batch Adam over samples xs, ys float[P], ts float[3, P].

    ``perm`` int64[P] is the visiting order; batches of ``batch`` samples (≤ one chunk, the
    last one masked). w64 float64[S] are the master weights, w their kernel-dtype copy;
    m, v float64[S] the Adam moments; step int64[1] the step count. Returns the sum of
    squared errors seen during the epoch (float).
    """
    b1, b2, eps = 0.9, 0.999, 1e-8
    n_samples = perm.size
    n = ptr.size - 1
    z = np.empty((n, batch), w.dtype)
    a = np.empty_like(z)
    d = np.empty_like(z)
    x = np.empty(batch, w.dtype)
    y = np.empty_like(x)
    t = np.empty((3, batch), w.dtype)
    mask = np.empty_like(x)
    g = np.empty(w.size, np.float64)
    total = 0.0
    for lo in range(0, n_samples, batch):
        cnt = min(batch, n_samples - lo)
        for i in range(batch):
            if i < cnt:
                p = perm[lo + i]
                x[i] = xs[p]
                y[i] = ys[p]
                for k in range(3):
                    t[k, i] = ts[k, p]
                mask[i] = 1.0
            else:  # padding: finite values, masked out of loss and gradient
                x[i] = 0.0
                y[i] = 0.0
                for k in range(3):
                    t[k, i] = 0.0
                mask[i] = 0.0
        g[:] = 0.0
        total += _chunk_loss_grad(w, src, ptr, order, outs, x, y, t, mask, z, a, d, g)
        step[0] += 1
        c1 = 1.0 - b1 ** step[0]
        c2 = 1.0 - b2 ** step[0]
        scale = 1.0 / (3.0 * cnt)
        for s in range(w.size):
            gs = g[s] * scale + 2.0 * l2 * w64[s]
            m[s] = b1 * m[s] + (1.0 - b1) * gs
            v[s] = b2 * v[s] + (1.0 - b2) * gs * gs
            w64[s] -= lr * (m[s] / c1) / (np.sqrt(v[s] / c2) + eps)
            w[s] = w64[s]
    return total
