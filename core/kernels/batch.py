"""Jitted batched renders: D weight vectors painted in one call, parallel over (vector, chunk).

Each vector differs from a base network whose activations are cached (``A0[c, node, i]``).
A neuron is *dirty* for a vector when one of its input weights differs from the base or one of
its sources is dirty; only dirty neurons are recomputed, the rest are copied from the cache,
so a move over a few late synapses costs a fraction of a full render. The arithmetic of a
recomputed neuron is that of ``forward._chunk_forward``.
"""

from __future__ import annotations

import numpy as np
from numba import prange
from synens.core.base.jit import kernel, parallel_kernel, tanh_


@kernel
def _dirty(changed, src, ptr, order, dirty):
    """dirty bool[D, N]: neurons whose value may differ from the base, from changed bool[D, S]."""
    for d in range(changed.shape[0]):
        for k in range(order.size):
            n = order[k]
            hit = False
            for s in range(ptr[n], ptr[n + 1]):
                sv = src[s]
                if changed[d, s] or (sv >= 0 and dirty[d, sv]):
                    hit = True
                    break
            dirty[d, n] = hit


@parallel_kernel
def _render_many(W, dirty, src, ptr, order, outs, X, Y, A0, out):
    """Paint D vectors: W float[D, S]; dirty bool[D, N]; X, Y float[C, CH];
    A0 float[C, N, CH] (the base's activations); out float[D, 3, C·CH] (chunk c's pixels at
    [c·CH, (c + 1)·CH), so the first P columns are the painting's P pixels in order)."""
    n_all = ptr.size - 1
    n_c = X.shape[0]
    m = X.shape[1]
    for job in prange(W.shape[0] * n_c):
        d = job // n_c
        c = job - d * n_c
        w = W[d]
        x, y, a0 = X[c], Y[c], A0[c]
        a = np.empty((n_all, m), X.dtype)
        zn = np.empty(m, X.dtype)
        for k in range(order.size):
            n = order[k]
            an = a[n]
            if not dirty[d, n]:
                b0 = a0[n]
                for i in range(m):
                    an[i] = b0[i]
                continue
            for i in range(m):
                zn[i] = 0.0
            for s in range(ptr[n], ptr[n + 1]):
                ws = w[s]
                sv = src[s]
                if sv >= 0:
                    b = a[sv]
                    for i in range(m):
                        zn[i] += ws * b[i]
                elif sv == -1:
                    for i in range(m):
                        zn[i] += ws
                elif sv == -2:
                    for i in range(m):
                        zn[i] += ws * x[i]
                else:
                    for i in range(m):
                        zn[i] += ws * y[i]
            for i in range(m):
                an[i] = tanh_(zn[i])
        for k in range(3):
            out[d, k, c * m:(c + 1) * m] = a[outs[k]]


@parallel_kernel
def _split_sumsq(R, base, inside, out):
    """Sums of squared change over R's and O's pixels: R float[D, 3, ≥P] (renders; columns
    past P ignored), base
    float[3, P], inside float64[P] (1 in R, 0 in O); out float64[D, 2] (R, O)."""
    p = base.shape[1]
    for d in prange(R.shape[0]):
        s_in = 0.0
        s_out = 0.0
        for k in range(3):
            r = R[d, k]
            b = base[k]
            for i in range(p):
                e = np.float64(r[i] - b[i])
                e2 = e * e
                s_in += e2 * inside[i]
                s_out += e2 * (1.0 - inside[i])
        out[d, 0] = s_in
        out[d, 1] = s_out


@kernel
def _change_summary(r, base, code, out):
    """One render's change against the base: r float[3, ≥P] (columns past P ignored), base
    float[3, P]; code int8[P] (1 in R,
    2 in O within the border band, 0 elsewhere in O); out float64[4] = (sum of squares over
    R, over O, over O's band, max |change| over O), each change taken as float64(r − base)."""
    s_in = 0.0
    s_out = 0.0
    s_band = 0.0
    m_out = 0.0
    for k in range(3):
        rk = r[k]
        bk = base[k]
        for i in range(code.size):
            e = np.float64(rk[i] - bk[i])
            e2 = e * e
            c = code[i]
            if c == 1:
                s_in += e2
            else:
                s_out += e2
                if c == 2:
                    s_band += e2
                if abs(e) > m_out:
                    m_out = abs(e)
    out[0] = s_in
    out[1] = s_out
    out[2] = s_band
    out[3] = m_out
