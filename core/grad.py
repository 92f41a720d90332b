"""Gradients and Jacobians: full-batch loss and gradient, d(image)/d(weights), streaming JᵀJ."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import kernels_grad as KG
from .grid import Grid, Samples, chunked, grid, pack
from .topology import Topology


def _cols(topo: Topology, synapses) -> np.ndarray:
    if synapses is None:
        return np.arange(topo.n_synapses, dtype=np.int32)
    cols = np.asarray(synapses, np.int64).ravel()
    if cols.size and (cols.min() < 0 or cols.max() >= topo.n_synapses):
        raise IndexError(f"synapse ids must lie in 0..{topo.n_synapses - 1}")
    return cols.astype(np.int32)


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
    cols = _cols(topo, synapses)
    s = g.samples
    shape = (3, cols.size, s.n)
    if out is None:
        out = np.empty(shape, dtype)
    elif out.shape != shape or out.dtype != np.dtype(dtype) or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous {np.dtype(dtype)} array of shape {shape}")
    KG._jacobian(net.w, net.src, net.dst, net.ptr, net.order, net.outs, s.x, s.y, cols, out)
    return out.reshape(3, cols.size, height, width).transpose(2, 3, 0, 1)


def _masks(g: Grid, masks: np.ndarray) -> np.ndarray:
    m = np.asarray(masks)
    if m.ndim != 3 or m.shape[1:] != (g.height, g.width):
        raise ValueError(f"masks must have shape (G, {g.height}, {g.width})")
    flat = m.reshape(m.shape[0], -1).astype(g.samples.x.dtype)
    return chunked(flat)  # (C, G, CH)


def jac_sumsq(topo: Topology, weights: np.ndarray, masks: np.ndarray,
              synapses: ArrayLike | None = None, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Per-synapse sum of J[p, c, s]² over the pixels of each mask and the 3 channels.

    masks float or bool[G, H, W] (pixel weights, usually 0/1). Returns float64[G, k].
    Streams over chunks of pixels: the Jacobian is never held.
    """
    g_, h, w = np.shape(masks)
    g = grid(w, h, dtype)
    net = pack(topo, weights, dtype)
    cols = _cols(topo, synapses)
    m = _masks(g, masks)
    out = np.empty((m.shape[0], g_, cols.size), np.float64)
    s = g.samples
    KG._jac_sumsq(net.w, net.src, net.dst, net.ptr, net.order, net.outs, s.x, s.y, m, cols, out)
    return out.sum(axis=0)


def jac_gram(topo: Topology, weights: np.ndarray, masks: np.ndarray,
             synapses: ArrayLike | None = None, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Gram matrices JᵀJ over each mask's pixels and the 3 channels: float64[G, k, k].

    Streams over chunks of pixels (cost grows with k², so pass a subset for large nets).
    """
    g_, h, w = np.shape(masks)
    g = grid(w, h, dtype)
    net = pack(topo, weights, dtype)
    cols = _cols(topo, synapses)
    m = _masks(g, masks)
    out = np.empty((m.shape[0], g_, cols.size, cols.size), np.float64)
    s = g.samples
    KG._jac_gram(net.w, net.src, net.dst, net.ptr, net.order, net.outs, s.x, s.y, m, cols, out)
    low = out.sum(axis=0)
    return low + np.tril(low, -1).transpose(0, 2, 1)
