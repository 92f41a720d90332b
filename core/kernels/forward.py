"""Jitted kernels: per-chunk forward and backprop, full renders and the one-weight re-render.

Layout: activations are ``a[node, sample]`` for one chunk of samples (float32 in production,
float64 for exact reference checks; Numba compiles one version per dtype). Every kernel here
takes only arrays and scalars; the wrappers in render.py and grad.py validate and pack.
Gradient, Jacobian and training kernels built on these chunk functions are in kernels_grad.py.
Per-chunk results go to per-chunk buffers and are summed in a fixed order, so parallel
kernels are deterministic.
"""

from __future__ import annotations

import numpy as np
from numba import prange
from synens.core.base.jit import kernel, parallel_kernel, tanh_, zero_of


@kernel
def _source_row(sv, a, x, y, out):
    """Copy the values of source ``sv`` over one chunk into out (float[m])."""
    if sv >= 0:
        b = a[sv]
        for i in range(out.size):
            out[i] = b[i]
    elif sv == -1:
        for i in range(out.size):
            out[i] = 1.0
    elif sv == -2:
        for i in range(out.size):
            out[i] = x[i]
    else:
        for i in range(out.size):
            out[i] = y[i]


@kernel
def _chunk_forward(w, src, ptr, order, x, y, z, a):
    """Forward pass over one chunk: z, a (float[N, m]) get pre-activations and activations."""
    m = x.size
    for k in range(order.size):
        n = order[k]
        zn = z[n]
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
        an = a[n]
        for i in range(m):
            an[i] = tanh_(zn[i])


@kernel
def _chunk_dz(w, src, ptr, order, a, d):
    """Backprop over one chunk: d (float[N, m]) holds dL/da on entry and dL/dz on exit."""
    m = a.shape[1]
    for k in range(order.size - 1, -1, -1):
        n = order[k]
        an = a[n]
        dn = d[n]
        for i in range(m):
            dn[i] *= 1.0 - an[i] * an[i]  # dL/dz = dL/da * tanh'
        for s in range(ptr[n], ptr[n + 1]):
            sv = src[s]
            if sv >= 0:  # dL/da[src] += w * dL/dz
                ws = w[s]
                db = d[sv]
                for i in range(m):
                    db[i] += ws * dn[i]


@kernel
def _chunk_backward(w, src, ptr, order, a, x, y, d, g):
    """Backprop over one chunk, adding dL/dw to g (float64[S]).

    d (float[N, m]) holds dL/da on entry and dL/dz on exit. Per neuron, in reverse topological
    order: dL/dz = dL/da * tanh'; for each incoming synapse, dL/dw = sum_i dL/dz * source and,
    when the source is a neuron, dL/da[source] += w * dL/dz.
    """
    m = x.size
    for k in range(order.size - 1, -1, -1):
        n = order[k]
        an = a[n]
        dn = d[n]
        for i in range(m):
            dn[i] *= 1.0 - an[i] * an[i]
        for s in range(ptr[n], ptr[n + 1]):
            sv = src[s]
            acc = zero_of(dn)
            if sv >= 0:
                b = a[sv]
                db = d[sv]
                ws = w[s]
                for i in range(m):
                    acc += dn[i] * b[i]
                    db[i] += ws * dn[i]
            elif sv == -1:
                for i in range(m):
                    acc += dn[i]
            elif sv == -2:
                for i in range(m):
                    acc += dn[i] * x[i]
            else:
                for i in range(m):
                    acc += dn[i] * y[i]
            g[s] += acc


@kernel
def _chunk_loss_grad(w, src, ptr, order, outs, x, y, t, mask, z, a, d, g):
    """Squared-error sum over one chunk (t: float[3, m], mask: float[m]); adds its grad to g."""
    m = x.size
    _chunk_forward(w, src, ptr, order, x, y, z, a)
    d[:] = 0.0
    loss = 0.0
    for k in range(3):
        o = outs[k]
        ao = a[o]
        do = d[o]
        tk = t[k]
        part = zero_of(ao)
        for i in range(m):
            r = (ao[i] - tk[i]) * mask[i]
            part += r * r
            do[i] = 2.0 * r
        loss += part
    _chunk_backward(w, src, ptr, order, a, x, y, d, g)
    return loss


@parallel_kernel
def _render(w, src, ptr, order, outs, X, Y, out):
    """Paint every chunk: X, Y float[C, CH]; out float[C, 3, CH]."""
    n = ptr.size - 1
    for c in prange(X.shape[0]):
        z = np.empty((n, X.shape[1]), X.dtype)
        a = np.empty_like(z)
        _chunk_forward(w, src, ptr, order, X[c], Y[c], z, a)
        for k in range(3):
            out[c, k, :] = a[outs[k]]


@parallel_kernel
def _forward_cache(w, src, ptr, order, X, Y, Z, A):
    """Forward pass keeping every neuron: Z, A float[C, N, CH]."""
    for c in prange(X.shape[0]):
        _chunk_forward(w, src, ptr, order, X[c], Y[c], Z[c], A[c])


@parallel_kernel
def _nudge(w, src, ptr, order, pos, X, Y, Z, A, s, target, delta):
    """Propagate a change ``delta`` of weight s (target neuron ``target``) through Z, A.

    Only the target and the neurons it reaches are touched; each adds w * (change of its
    changed sources) to its cached pre-activation. ``w`` already holds the new weight.
    """
    n_all = ptr.size - 1
    sv = src[s]
    for c in prange(X.shape[0]):
        x, y, zc, ac = X[c], Y[c], Z[c], A[c]
        m = x.size
        dA = np.empty((n_all, m), X.dtype)
        hit = np.zeros(n_all, np.bool_)
        row = np.empty(m, X.dtype)
        _source_row(sv, ac, x, y, row)
        zt, at, dt = zc[target], ac[target], dA[target]
        for i in range(m):
            zt[i] += delta * row[i]
            new = tanh_(zt[i])
            dt[i] = new - at[i]
            at[i] = new
        hit[target] = True
        for k in range(pos[target] + 1, order.size):
            n = order[k]
            zn = zc[n]
            touched = False
            for q in range(ptr[n], ptr[n + 1]):
                sq = src[q]
                if sq >= 0 and hit[sq]:
                    touched = True
                    wq = w[q]
                    dq = dA[sq]
                    for i in range(m):
                        zn[i] += wq * dq[i]
            if touched:
                hit[n] = True
                an, dn = ac[n], dA[n]
                for i in range(m):
                    new = tanh_(zn[i])
                    dn[i] = new - an[i]
                    an[i] = new


@kernel
def _chunk_jac_start(w, src, ptr, order, x, y, k):
    """Forward pass over one chunk, and the buffers of _chunk_jac.

    Returns a (float[N, m], the activations), d (float[N, m], scratch) and jc (float[k, m],
    uninitialised) for ``_chunk_jac(..., a, d, ch, cols, jc)``.
    """
    z = np.empty((ptr.size - 1, x.size), x.dtype)
    a = np.empty_like(z)
    _chunk_forward(w, src, ptr, order, x, y, z, a)
    return a, z, np.empty((k, x.size), x.dtype)


@kernel
def _chunk_jac(w, src, dst, ptr, order, outs, x, y, a, d, ch, cols, jc):
    """Column block of the Jacobian of output ``ch`` for one chunk: jc float[k, m]."""
    d[:] = 0.0
    d[outs[ch]] = 1.0
    _chunk_dz(w, src, ptr, order, a, d)
    row = np.empty(x.size, x.dtype)
    for j in range(cols.size):
        s = cols[j]
        _source_row(src[s], a, x, y, row)
        dn = d[dst[s]]
        jj = jc[j]
        for i in range(x.size):
            jj[i] = dn[i] * row[i]
