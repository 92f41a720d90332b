"""The moves of the basis test's arms, as weight-space directions float64[S].

A hidden neuron's *gain move* scales its outgoing weights: δw_s = w_s for every synapse s whose
source is the neuron, so moving by t multiplies its output's effect by (1 + t). A *direction
move* in a layer's activation space u (float[L]) does the same along u: δw_s = u[i] · w_s for
the synapses leaving the layer's neuron i. A neuron's gain move is the direction move along its
own axis, so arms 1 and 2 differ only in which directions they try.
"""

from __future__ import annotations

import numpy as np
from synens.core.base.topology import Topology


def direction_move(topo: Topology, weights: np.ndarray, layer: np.ndarray,
                   u: np.ndarray) -> np.ndarray:
    """δw float64[S] scaling the outgoing weights of layer (int64[L]) along u (float[L])."""
    pos = np.full(topo.n_neurons, -1, np.int64)
    pos[layer] = np.arange(layer.size)
    src = topo.src
    out = np.zeros(topo.n_synapses)
    leaving = (src >= 0) & (pos[np.maximum(src, 0)] >= 0)
    out[leaving] = np.asarray(u, np.float64)[pos[src[leaving]]] * np.asarray(weights)[leaving]
    return out


def gain_moves(topo: Topology, weights: np.ndarray, layer: np.ndarray) -> np.ndarray:
    """Each layer neuron's gain move: float64[L, S] (a zero row for a neuron with no outputs)."""
    return np.stack([direction_move(topo, weights, layer, np.eye(layer.size)[i])
                     for i in range(layer.size)])


def random_direction_moves(topo: Topology, weights: np.ndarray, layer: np.ndarray, n: int,
                           seed: int) -> np.ndarray:
    """n seeded random unit directions of the layer's activation space as moves: float64[n, S]."""
    u = np.random.default_rng(seed).standard_normal((n, layer.size))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return np.stack([direction_move(topo, weights, layer, ui) for ui in u])


def unit(v: np.ndarray) -> np.ndarray | None:
    """v / ‖v‖, or None for a zero vector."""
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else None
