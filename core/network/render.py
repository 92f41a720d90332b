"""Painting: full renders, activation maps and the incremental re-render after one edit."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike
from synens.core.base.grid import Grid, grid, pack, unchunked
from synens.core.base.topology import Topology
from synens.core.kernels import forward as K


def render(topo: Topology, weights: np.ndarray, width: int, height: int,
           dtype: DTypeLike = np.float32, grid_: Grid | None = None) -> np.ndarray:
    """Paint the picture at W×H: float[H, W, 3] in [-1, 1] (dtype float32 or float64)."""
    g = grid_ if grid_ is not None else grid(width, height, dtype)
    net = pack(topo, weights, g.samples.x.dtype)
    s = g.samples
    out = np.empty((s.x.shape[0], 3, s.x.shape[1]), s.x.dtype)
    K._render(net.w, net.src, net.ptr, net.order, net.outs, s.x, s.y, out)
    return unchunked(out, s.n).T.reshape(g.height, g.width, 3)


def activations(topo: Topology, weights: np.ndarray, width: int, height: int,
                dtype: DTypeLike = np.float32) -> np.ndarray:
    """Every neuron's output over the W×H plane: float[N, H, W] in [-1, 1]."""
    g = grid(width, height, dtype)
    net = pack(topo, weights, dtype)
    s = g.samples
    c, ch = s.x.shape
    z = np.empty((c, topo.n_neurons, ch), dtype)
    a = np.empty_like(z)
    K._forward_cache(net.w, net.src, net.ptr, net.order, s.x, s.y, z, a)
    return unchunked(a, s.n).reshape(topo.n_neurons, height, width)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Map colours in [-1, 1] (float[..., 3]) to uint8 0..255, rounding and clipping."""
    return np.clip(np.rint((np.asarray(image, np.float64) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def rmse(image: np.ndarray, target: np.ndarray) -> float:
    """Root mean squared error over pixels and channels on the [-1, 1] scale.

    image float[H, W, 3] in [-1, 1]; target uint8[H, W, 3].
    """
    t = target.astype(np.float64) / 255.0 * 2.0 - 1.0
    return float(np.sqrt(np.mean((image.astype(np.float64) - t) ** 2)))


class IncrementalRenderer:
    """Keeps every neuron's activation over one grid, so a one-weight edit re-renders fast.

    ``set_weight`` propagates only the change, through the edited synapse's target and the
    neurons it reaches. Float error accumulates slowly over many edits, so ``refresh``
    (a full render) runs every ``refresh_every`` edits and whenever the caller asks.
    """

    def __init__(self, topo: Topology, weights: np.ndarray, width: int, height: int,
                 refresh_every: int = 256) -> None:
        self.topo = topo
        self.grid = grid(width, height, np.float32)
        self.weights = np.array(weights, np.float64)
        self.refresh_every = refresh_every
        s = self.grid.samples
        shape = (s.x.shape[0], topo.n_neurons, s.x.shape[1])
        self._z = np.empty(shape, np.float32)
        self._a = np.empty(shape, np.float32)
        self._pos = np.empty(topo.n_neurons, np.int32)
        self._pos[topo.order] = np.arange(topo.n_neurons, dtype=np.int32)
        self.refresh()

    @property
    def size(self) -> tuple[int, int]:
        return self.grid.width, self.grid.height

    def refresh(self) -> None:
        """Full forward pass with the current weights."""
        self._net = pack(self.topo, self.weights, np.float32)
        s = self.grid.samples
        K._forward_cache(self._net.w, self._net.src, self._net.ptr, self._net.order,
                         s.x, s.y, self._z, self._a)
        self._edits = 0

    def set_weights(self, weights: np.ndarray) -> None:
        """Replace every weight (float[S]) and re-render in full."""
        self.weights = np.array(weights, np.float64)
        self.refresh()

    def set_weight(self, s: int, value: float) -> None:
        """Set weight s to ``value`` and propagate only the change."""
        if not 0 <= s < self.topo.n_synapses:
            raise IndexError(f"synapse {s} is outside 0..{self.topo.n_synapses - 1}")
        if not np.isfinite(value):
            raise ValueError("a weight must be finite")
        self.weights[s] = value
        old = self._net.w[s]
        self._net.w[s] = np.float32(value)
        delta = np.float32(self._net.w[s] - old)
        if delta == 0:
            return
        self._edits += 1
        if self._edits >= self.refresh_every:
            self.refresh()
            return
        s_ = self.grid.samples
        K._nudge(self._net.w, self._net.src, self._net.ptr, self._net.order, self._pos,
                 s_.x, s_.y, self._z, self._a, s, int(self.topo.dst[s]), delta)

    def image(self) -> np.ndarray:
        """The painting: float32[H, W, 3] in [-1, 1]."""
        a = self._a[:, self.topo.outputs, :]
        return unchunked(a, self.grid.samples.n).T.reshape(self.grid.height, self.grid.width, 3)

    def activation(self, n: int) -> np.ndarray:
        """Neuron n's output: float32[H, W] in [-1, 1]."""
        flat = unchunked(self._a[:, n, :], self.grid.samples.n)
        return flat.reshape(self.grid.height, self.grid.width)
