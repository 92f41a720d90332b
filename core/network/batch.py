"""Batched renders around a base network: many weight vectors painted in one kernel call."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike
from synens.core.base.grid import grid, pack, unchunked
from synens.core.base.topology import Topology
from synens.core.kernels import batch as KB
from synens.core.kernels import forward as K


class BatchRenderer:
    """Paints weight vectors near ``weights`` (float[S]) at W×H, D at a time.

    The base's activations are cached once (float[C, N, CH]); ``render_flat`` recomputes for
    each vector only the neurons its changed weights reach. ``base`` is the base painting as
    float[3, P] (P = H·W, row-major pixels).
    """

    def __init__(self, topo: Topology, weights: np.ndarray, width: int, height: int,
                 dtype: DTypeLike = np.float32) -> None:
        self.topo = topo
        self.width, self.height = int(width), int(height)
        self.grid = grid(self.width, self.height, dtype)
        self.net = pack(topo, weights, dtype)
        s = self.grid.samples
        shape = (s.x.shape[0], topo.n_neurons, s.x.shape[1])
        z = np.empty(shape, s.x.dtype)
        self.cache = np.empty_like(z)
        K._forward_cache(self.net.w, self.net.src, self.net.ptr, self.net.order, s.x, s.y,
                         z, self.cache)
        self.base = np.ascontiguousarray(unchunked(self.cache[:, topo.outputs, :], s.n))

    def render_flat(self, weights: np.ndarray) -> np.ndarray:
        """Paint each row of ``weights`` (float[D, S]): float[D, 3, P], the kernels' dtype."""
        return self.render_padded(weights)[:, :, :self.grid.samples.n]

    def render_padded(self, weights: np.ndarray) -> np.ndarray:
        """Paint each row of ``weights`` (float[D, S]): float[D, 3, C·CH], C-contiguous, the
        P pixels first in each row (then the last chunk's padding), written in place."""
        s = self.grid.samples
        w = np.ascontiguousarray(np.atleast_2d(weights), dtype=s.x.dtype)
        if w.shape[1] != self.topo.n_synapses:
            raise ValueError(f"expected rows of {self.topo.n_synapses} weights, got {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError("weights must be finite")
        dirty = np.empty((w.shape[0], self.topo.n_neurons), np.bool_)
        KB._dirty(w != self.net.w[None, :], self.net.src, self.net.ptr, self.net.order, dirty)
        out = np.empty((w.shape[0], 3, s.x.shape[0] * s.x.shape[1]), s.x.dtype)
        KB._render_many(w, dirty, self.net.src, self.net.ptr, self.net.order, self.net.outs,
                        s.x, s.y, self.cache, out)
        return out

    def render(self, weights: np.ndarray) -> np.ndarray:
        """Paint each row of ``weights`` (float[D, S]): float[D, H, W, 3]."""
        flat = self.render_flat(weights)
        return np.ascontiguousarray(flat.transpose(0, 2, 1)).reshape(
            flat.shape[0], self.height, self.width, 3)
