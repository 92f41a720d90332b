"""Jitted kernels of the region-split streaming pass: a register-blocked JᵀJ and forward-mode J v.

They take only arrays and scalars; ``synens.core.network.streaming`` validates and packs.
"""

from __future__ import annotations

import numpy as np
from numba import prange
from synens.core.base.jit import kernel, parallel_kernel
from synens.core.kernels import forward as K


@kernel
def _syrk_lower(jc, k, g):
    """g[p, q] += sum_i jc[p, i] * jc[q, i] for the 4×4 tiles with q0 <= p0 (float64 g).

    jc float[k4, m] with k4 a multiple of 4 (rows k.. are zero); tiles on the diagonal are
    written in full, so only g's lower triangle is meaningful.
    """
    m = jc.shape[1]
    for p0 in range(0, k, 4):
        r0, r1, r2, r3 = jc[p0], jc[p0 + 1], jc[p0 + 2], jc[p0 + 3]
        for q0 in range(0, p0 + 1, 4):
            s0, s1, s2, s3 = jc[q0], jc[q0 + 1], jc[q0 + 2], jc[q0 + 3]
            z = r0[0] - r0[0]
            c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = z
            c20 = c21 = c22 = c23 = c30 = c31 = c32 = c33 = z
            for i in range(m):
                a0, a1, a2, a3 = r0[i], r1[i], r2[i], r3[i]
                b0, b1, b2, b3 = s0[i], s1[i], s2[i], s3[i]
                c00 += a0 * b0
                c01 += a0 * b1
                c02 += a0 * b2
                c03 += a0 * b3
                c10 += a1 * b0
                c11 += a1 * b1
                c12 += a1 * b2
                c13 += a1 * b3
                c20 += a2 * b0
                c21 += a2 * b1
                c22 += a2 * b2
                c23 += a2 * b3
                c30 += a3 * b0
                c31 += a3 * b1
                c32 += a3 * b2
                c33 += a3 * b3
            g[p0, q0] += c00
            g[p0, q0 + 1] += c01
            g[p0, q0 + 2] += c02
            g[p0, q0 + 3] += c03
            g[p0 + 1, q0] += c10
            g[p0 + 1, q0 + 1] += c11
            g[p0 + 1, q0 + 2] += c12
            g[p0 + 1, q0 + 3] += c13
            g[p0 + 2, q0] += c20
            g[p0 + 2, q0 + 1] += c21
            g[p0 + 2, q0 + 2] += c22
            g[p0 + 2, q0 + 3] += c23
            g[p0 + 3, q0] += c30
            g[p0 + 3, q0 + 1] += c31
            g[p0 + 3, q0 + 2] += c32
            g[p0 + 3, q0 + 3] += c33


@parallel_kernel
def _gram_chunks(w, src, dst, ptr, order, outs, X, Y, M, cols, out):
    """JᵀJ of each chunk over its valid samples (M[c, i] = 1) and the 3 channels.

    X, Y, M float[C, CH]; cols int32[k]; out float64[C, k4, k4] (k4 = k rounded up to 4;
    lower triangle filled, see _syrk_lower).
    """
    k = cols.size
    k4 = out.shape[1]
    ch_len = X.shape[1]
    for c in prange(X.shape[0]):
        a, d, jc = K._chunk_jac_start(w, src, ptr, order, X[c], Y[c], k4)
        jc[k:] = 0.0
        jk = jc[:k]
        mc = M[c]
        out[c] = 0.0
        for ch in range(3):
            K._chunk_jac(w, src, dst, ptr, order, outs, X[c], Y[c], a, d, ch, cols, jk)
            for j in range(k):
                row = jk[j]
                for i in range(ch_len):
                    row[i] *= mc[i]
            _syrk_lower(jc, k4, out[c])


@parallel_kernel
def _jvp(w, src, ptr, order, outs, X, Y, V, out):
    """Forward-mode J v of the painting for each direction: V float[D, S] (weight changes);
    out float[C, D, 3, CH]. The tangent of neuron n is (1 - a_n²) Σ_s (v_s src_s + w_s t_src).
    """
    n = ptr.size - 1
    ch_len = X.shape[1]
    for c in prange(X.shape[0]):
        x, y = X[c], Y[c]
        z = np.empty((n, ch_len), X.dtype)
        a = np.empty_like(z)
        t = np.empty_like(z)
        row = np.empty(ch_len, X.dtype)
        K._chunk_forward(w, src, ptr, order, x, y, z, a)
        for dd in range(V.shape[0]):
            v = V[dd]
            for k in range(order.size):
                nn = order[k]
                tn = t[nn]
                tn[:] = 0.0
                for s in range(ptr[nn], ptr[nn + 1]):
                    sv = src[s]
                    vs = v[s]
                    if vs != 0.0:
                        K._source_row(sv, a, x, y, row)
                        for i in range(ch_len):
                            tn[i] += vs * row[i]
                    if sv >= 0:
                        ws = w[s]
                        ts = t[sv]
                        for i in range(ch_len):
                            tn[i] += ws * ts[i]
                an = a[nn]
                for i in range(ch_len):
                    tn[i] *= 1.0 - an[i] * an[i]
            for ch in range(3):
                out[c, dd, ch, :] = t[outs[ch]]
