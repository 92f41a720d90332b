"""Neuron alignment across seeds: match each layer's neurons by the correlation of their maps.

Neurons permute between trainings. ``align`` matches every hidden neuron of one model to a
neuron of a reference model of the same topology, layer by layer, by an optimal assignment
(``scipy.optimize.linear_sum_assignment``) on the absolute correlation of their activation
maps (absolute, since tanh is odd: flipping a neuron's input and output signs keeps the
painting). Output neurons are fixed (R, G, B stay R, G, B).
"""

from __future__ import annotations

import numpy as np
from synens.core.base.topology import Topology
from synens.core.network.render import activations

#: Side of the square grid over the (x, y) plane on which activation maps are compared.
ALIGN_SIDE = 32


def neuron_depth(topo: Topology) -> np.ndarray:
    """Longest path from the inputs to each neuron: int64[N] (a neuron fed only by inputs is 1)."""
    depth = np.zeros(topo.n_neurons, np.int64)
    for n in topo.order:
        src = topo.src[topo.ptr[n]:topo.ptr[n + 1]]
        src = src[src >= 0]
        depth[n] = 1 + (int(depth[src].max()) if src.size else 0)
    return depth


def hidden_layers(topo: Topology) -> list[np.ndarray]:
    """The hidden neurons grouped by depth: a list of int64 arrays, shallowest first.

    Only neurons of the same depth may swap; outputs are never in a layer.
    """
    depth = neuron_depth(topo)
    hidden = np.setdiff1d(np.arange(topo.n_neurons), topo.outputs)
    return [hidden[depth[hidden] == d] for d in np.unique(depth[hidden])]


def activation_maps(topo: Topology, weights: np.ndarray, side: int = ALIGN_SIDE) -> np.ndarray:
    """Every neuron's activation over a side×side grid of the plane: float64[N, side*side]."""
    return activations(topo, weights, side, side, np.float64).reshape(topo.n_neurons, -1)


def _abs_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|Pearson correlation| between rows of a float[m, P] and b float[n, P]: float64[m, n].

    A constant row correlates 0 with everything.
    """
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    den = np.outer(na, nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(den > 0, (a @ b.T) / np.where(den > 0, den, 1.0), 0.0)
    return np.abs(c)


def align(topo: Topology, ref_maps: np.ndarray, maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Match neurons of a model to a reference model of the same topology.

    ref_maps, maps: float[N, P] activation maps (``activation_maps``) of the reference and
    of the model. Returns ``(match, score)``: ``match`` int64[N] with ``match[n]`` the
    reference neuron that the model's neuron n plays the part of (outputs map to
    themselves), and ``score`` float64[N], the |correlation| of each matched pair (1 for
    outputs). The assignment maximises the summed |correlation| within each layer.
    """
    from scipy.optimize import linear_sum_assignment

    n = topo.n_neurons
    if ref_maps.shape != maps.shape or ref_maps.shape[0] != n:
        raise ValueError(f"maps must both be float[{n}, P], got {ref_maps.shape} and {maps.shape}")
    match = np.arange(n, dtype=np.int64)
    score = np.ones(n)
    for layer in hidden_layers(topo):
        c = _abs_correlation(maps[layer], ref_maps[layer])
        rows, cols = linear_sum_assignment(c, maximize=True)
        match[layer[rows]] = layer[cols]
        score[layer[rows]] = c[rows, cols]
    return match, score


def synapse_match(topo: Topology, match: np.ndarray) -> np.ndarray:
    """The synapse map that a neuron match induces: int64[S], synapse s -> reference synapse.

    Synapse (src -> dst) maps to (match[src] -> match[dst]); inputs and the bias stay.
    """
    src = topo.src.astype(np.int64)
    msrc = np.where(src >= 0, match[np.maximum(src, 0)], src)
    mdst = match[topo.dst.astype(np.int64)]
    index = {(int(s), int(d)): i for i, (s, d) in enumerate(zip(topo.src, topo.dst, strict=True))}
    try:
        return np.array([index[(int(s), int(d))] for s, d in zip(msrc, mdst, strict=True)],
                        np.int64)
    except KeyError as err:
        raise ValueError(f"the match maps synapse {err.args[0]} outside the topology") from None


def permute_neurons(topo: Topology, weights: np.ndarray,
                    perm: np.ndarray) -> tuple[Topology, np.ndarray]:
    """Relabel neurons (neuron n becomes ``perm[n]``) and rewire the synapses to match.

    The painting is unchanged. Returns the new topology (canonical order) and its weights
    float64[S]. Used to check that ``align`` recovers a known permutation.
    """
    perm = np.asarray(perm, np.int64)
    src = topo.src.astype(np.int64)
    new_src = np.where(src >= 0, perm[np.maximum(src, 0)], src)
    new_dst = perm[topo.dst.astype(np.int64)]
    new_topo, order = Topology.from_arrays(new_src, new_dst, topo.n_neurons, perm[topo.outputs],
                                           spec=dict(topo.spec))
    return new_topo, np.asarray(weights, np.float64)[order]


def jaccard(a: np.ndarray | list[int], b: np.ndarray | list[int]) -> float:
    """|a ∩ b| / |a ∪ b| of two sets of ids (1.0 when both are empty)."""
    sa, sb = set(int(x) for x in a), set(int(x) for x in b)
    union = sa | sb
    return len(sa & sb) / len(union) if union else 1.0


def random_jaccard(universe: int, size_a: int, size_b: int, draws: int = 2000,
                   seed: int = 0) -> float:
    """Mean Jaccard of two seeded random subsets of sizes a and b from ``universe`` ids."""
    if universe < 1:
        return 1.0
    rng = np.random.default_rng(seed)
    size_a, size_b = min(size_a, universe), min(size_b, universe)
    total = 0.0
    for _ in range(draws):
        a = rng.choice(universe, size_a, replace=False)
        b = rng.choice(universe, size_b, replace=False)
        total += jaccard(a, b)
    return total / draws
