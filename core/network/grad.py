"""Gradients and Jacobians: full-batch loss and gradient, d(image)/d(weights), streaming JᵀJ."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike
from synens.core.base.grid import NetArrays, Samples, chunked, grid, pack, synapse_columns
from synens.core.base.topology import Topology
from synens.core.kernels import backward as KG


def loss_and_grad(topo: Topology, weights: np.ndarray, s: Samples, targets: np.ndarray,
                  l2: float = 0.0) -> tuple[float, np.ndarray]:
    """Mean squared error over samples and channels, and its gradient.

    targets float[C, 3, CH] chunked like ``s``. Returns (loss, float64[S]). The loss adds
    ``l2 * sum(w**2)``. The gradient is Jᵀr from one reverse pass per chunk.
    """
    net = pack(topo, weights, s.x.dtype)
    c = s.x.shape[0]
    g = np.empty((c, topo.n_synapses), np.float64)
    lc = np.empty(c, np.float64)
    KG._loss_grad(net.w, net.src, net.ptr, net.order, net.outs, s.x, s.y, targets, s.mask, g, lc)
    scale = 1.0 / (3.0 * s.n)
    w64 = np.asarray(weights, np.float64)
    loss = float(lc.sum() * scale + l2 * np.dot(w64, w64))
    grad = g.sum(axis=0) * scale + 2.0 * l2 * w64
    return loss, grad


def jacobian(topo: Topology, weights: np.ndarray, width: int, height: int,
             synapses: ArrayLike | None = None, dtype: DTypeLike = np.float32,
             out: np.ndarray | None = None) -> np.ndarray:
    """d(painting)/d(weight): float[H, W, 3, k] for the k synapses asked for (default all).

    The result is a view of a C-contiguous float[3, k, H, W] buffer, so ``J[..., j]`` (the
    linear change map of the j-th synapse asked for) reads contiguous rows. ``out``, a
    C-contiguous float[3, k, H*W] array of ``dtype``, is reused instead of a new buffer.
    """
    g = grid(width, height, dtype)
    net = pack(topo, weights, dtype)
    cols = synapse_columns(topo, synapses)
    s = g.samples
    shape = (3, cols.size, s.n)
    if out is None:
        out = np.empty(shape, dtype)
    elif out.shape != shape or out.dtype != np.dtype(dtype) or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous {np.dtype(dtype)} array of shape {shape}")
    KG._jacobian(net.w, net.src, net.dst, net.ptr, net.order, net.outs, s.x, s.y, cols, out)
    return out.reshape(3, cols.size, height, width).transpose(2, 3, 0, 1)


def _masked_inputs(topo: Topology, weights: np.ndarray, masks: np.ndarray,
                   synapses: ArrayLike | None,
                   dtype: DTypeLike) -> tuple[NetArrays, Samples, np.ndarray, np.ndarray]:
    """The kernel inputs of jac_sumsq and jac_gram, on the grid of the masks (G, H, W).

    Returns (net, samples, masks float[C, G, CH] chunked like the samples, cols int32[k]).
    """
    m = np.asarray(masks)
    if m.ndim != 3:
        raise ValueError(f"masks must have shape (G, H, W), got {list(m.shape)}")
    g = grid(m.shape[2], m.shape[1], dtype)
    net = pack(topo, weights, dtype)
    cols = synapse_columns(topo, synapses)
    flat = m.reshape(m.shape[0], -1).astype(g.samples.x.dtype)
    return net, g.samples, chunked(flat), cols


def jac_sumsq(topo: Topology, weights: np.ndarray, masks: np.ndarray,
              synapses: ArrayLike | None = None, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Per-synapse sum of J[p, c, s]² over the pixels of each mask and the 3 channels.

    masks float or bool[G, H, W] (pixel weights, usually 0/1). Returns float64[G, k].
    Streams over chunks of pixels: the Jacobian is never held.
    """
    net, s, m, cols = _masked_inputs(topo, weights, masks, synapses, dtype)
    out = np.empty((m.shape[0], m.shape[1], cols.size), np.float64)
    KG._jac_sumsq(net.w, net.src, net.dst, net.ptr, net.order, net.outs, s.x, s.y, m, cols, out)
    return out.sum(axis=0)


def jac_gram(topo: Topology, weights: np.ndarray, masks: np.ndarray,
             synapses: ArrayLike | None = None, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Gram matrices JᵀJ over each mask's pixels and the 3 channels: float64[G, k, k].

    masks float or bool[G, H, W] as for jac_sumsq. Streams over chunks of pixels (cost grows
    with k², so pass a subset for large nets).
    """
    net, s, m, cols = _masked_inputs(topo, weights, masks, synapses, dtype)
    out = np.empty((m.shape[0], m.shape[1], cols.size, cols.size), np.float64)
    KG._jac_gram(net.w, net.src, net.dst, net.ptr, net.order, net.outs, s.x, s.y, m, cols, out)
    low = out.sum(axis=0)
    return low + np.tril(low, -1).transpose(0, 2, 1)
