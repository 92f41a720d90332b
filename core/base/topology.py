"""The network as a list of synapses: validation, canonical order and the layered default."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

#: Special source ids: the bias (constant 1.0), the x input and the y input.
BIAS, X_IN, Y_IN = -1, -2, -3
SOURCE_NAMES = {BIAS: "bias", X_IN: "x", Y_IN: "y"}
#: Hidden sizes and skip depth of the article's network: 37 neurons, 460 synapses.
DEFAULT_HIDDEN = (9, 5, 10, 10)
DEFAULT_SKIP = 2


class TopologyError(ValueError):
    """A synapse list that is not a valid feed-forward network."""


def _source_key(src: np.ndarray) -> np.ndarray:
    """Sort key inside one neuron: bias, x, y, then neurons ascending (int64[S])."""
    key = src.astype(np.int64)
    return np.where(key < 0, -4 - key, key)  # -1 -> -3, -2 -> -2, -3 -> -1


@dataclass(frozen=True, eq=False)
class Topology:
    """A feed-forward DAG of tanh neurons.

    Attributes:
        src: int32[S], source of each synapse (a neuron id, or BIAS, X_IN, Y_IN).
        dst: int32[S], target neuron of each synapse; synapses are in canonical order.
        n_neurons: number of neurons N.
        outputs: int32[3], the R, G, B output neurons.
        ptr: int32[N+1], synapses of neuron n are ``ptr[n]:ptr[n+1]``.
        order: int32[N], neurons in topological order.
    """

    src: np.ndarray
    dst: np.ndarray
    n_neurons: int
    outputs: np.ndarray
    ptr: np.ndarray = field(repr=False)
    order: np.ndarray = field(repr=False)
    spec: dict = field(default_factory=dict, compare=False)

    @property
    def n_synapses(self) -> int:
        return int(self.src.size)

    @classmethod
    def from_arrays(cls, src: ArrayLike, dst: ArrayLike, n_neurons: int, outputs: ArrayLike,
                    spec: dict | None = None,
                    canonical_only: bool = False) -> tuple[Topology, np.ndarray]:
        """Validate a synapse list and put it in canonical order.

        Returns the topology and ``perm`` (int64[S]) such that synapse ``k`` of the topology is
        synapse ``perm[k]`` of the input (use it to reorder weights). With ``canonical_only``
        an input that is not already in canonical order is refused.
        """
        src = np.asarray(src)
        dst = np.asarray(dst)
        outputs = np.asarray(outputs)
        n = int(n_neurons)
        if src.ndim != 1 or dst.shape != src.shape:
            raise TopologyError("src and dst must be 1-D arrays of the same length")
        if not (np.issubdtype(src.dtype, np.integer) and np.issubdtype(dst.dtype, np.integer)):
            raise TopologyError("src and dst must hold integers")
        if n < 1:
            raise TopologyError("a network needs at least one neuron")
        if outputs.shape != (3,) or not np.issubdtype(outputs.dtype, np.integer):
            raise TopologyError("outputs must be 3 neuron ids (R, G, B)")
        if np.any((outputs < 0) | (outputs >= n)) or len(set(outputs.tolist())) != 3:
            raise TopologyError("outputs must be 3 distinct neuron ids")
        if src.size and (dst.min() < 0 or dst.max() >= n):
            raise TopologyError(f"a synapse targets a neuron outside 0..{n - 1}")
        if src.size and (src.min() < Y_IN or src.max() >= n):
            raise TopologyError(f"a synapse comes from a source outside -3..{n - 1}")
        perm = np.lexsort((_source_key(src), dst))
        if canonical_only and np.any(perm != np.arange(src.size)):
            raise TopologyError("synapses are not in canonical order (by target, then source)")
        src = src[perm].astype(np.int32)
        dst = dst[perm].astype(np.int32)
        pairs = dst.astype(np.int64) * (n + 4) + (src.astype(np.int64) + 3)
        if np.unique(pairs).size != pairs.size:
            raise TopologyError("two synapses join the same source and target")
        ptr = np.zeros(n + 1, np.int32)
        np.cumsum(np.bincount(dst, minlength=n), out=ptr[1:])
        order = _topological_order(src, dst, n)
        topo = cls(src, dst, n, outputs.astype(np.int32), ptr, order, dict(spec or {}))
        return topo, perm

    def source_name(self, s: int) -> str:
        """'bias', 'x', 'y' or the neuron number of synapse s's source."""
        v = int(self.src[s])
        return SOURCE_NAMES.get(v, str(v))

    def neuron_role(self, n: int) -> str:
        """'output R/G/B', 'hidden layer k' (layered networks) or 'hidden'."""
        outs = self.outputs.tolist()
        if n in outs:
            return "output " + "RGB"[outs.index(n)]
        hidden = self.spec.get("hidden")
        if hidden:
            edges = np.cumsum(hidden)
            return f"hidden layer {int(np.searchsorted(edges, n, side='right')) + 1}"
        return "hidden"

    def synapses_of(self, n: int) -> np.ndarray:
        """Ids of the synapses into neuron n (int64[k])."""
        return np.arange(self.ptr[n], self.ptr[n + 1])

    def descendants(self, n: int) -> np.ndarray:
        """Neurons downstream of neuron n, n included, in topological order (int32[k])."""
        hit = np.zeros(self.n_neurons, bool)
        hit[n] = True
        for m in self.order:
            syn = slice(self.ptr[m], self.ptr[m + 1])
            s = self.src[syn]
            if np.any(hit[s[s >= 0]]):
                hit[m] = True
        return self.order[hit[self.order]]


def _topological_order(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    """Kahn's algorithm over neuron-to-neuron synapses; refuses cycles (int32[N])."""
    nn = src >= 0
    a, b = src[nn], dst[nn]
    indeg = np.bincount(b, minlength=n)
    children: list[list[int]] = [[] for _ in range(n)]
    for u, v in zip(a.tolist(), b.tolist(), strict=True):
        children[u].append(v)
    ready = sorted(np.flatnonzero(indeg == 0).tolist(), reverse=True)
    order: list[int] = []
    while ready:
        u = ready.pop()
        order.append(u)
        for v in children[u]:
            indeg[v] -= 1
            if indeg[v] == 0:
                ready.append(v)
        ready.sort(reverse=True)
    if len(order) != n:
        raise TopologyError("the network has a cycle; it must be feed-forward")
    return np.asarray(order, np.int32)


def layered(hidden: tuple[int, ...] | list[int] = DEFAULT_HIDDEN, skip: int = DEFAULT_SKIP,
            n_out: int = 3) -> Topology:
    """A layered network: each layer gets a bias and all neurons of the `skip` layers before it.

    The inputs x, y count as layer 0. ``layered()`` is the article's network: 37 neurons,
    outputs 34, 35, 36 and 460 synapses.
    """
    hidden = [int(h) for h in hidden]
    if not hidden or any(h < 1 for h in hidden):
        raise TopologyError("hidden layer sizes must be positive integers")
    if skip < 1:
        raise TopologyError("skip must be at least 1")
    if n_out != 3:
        raise TopologyError("the network paints RGB: it has 3 outputs")
    sizes = hidden + [n_out]
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    src: list[int] = []
    dst: list[int] = []
    for li, size in enumerate(sizes):
        layer = li + 1  # inputs are layer 0
        inputs: list[int] = [BIAS]
        for prev in range(max(0, layer - skip), layer):
            if prev == 0:
                inputs += [X_IN, Y_IN]
            else:
                inputs += list(range(starts[prev - 1], starts[prev]))
        for k in range(size):
            src += inputs
            dst += [starts[li] + k] * len(inputs)
    n = int(starts[-1])
    spec = {"kind": "layered", "hidden": hidden, "skip": int(skip)}
    topo, _ = Topology.from_arrays(np.array(src), np.array(dst), n,
                                   np.arange(n - 3, n), spec=spec)
    return topo


def from_spec(spec: dict, src: ArrayLike, dst: ArrayLike, n_neurons: int,
              outputs: ArrayLike) -> Topology:
    """Rebuild a topology from a model file's arrays (refusing non-canonical order)."""
    topo, _ = Topology.from_arrays(src, dst, n_neurons, outputs, spec=spec, canonical_only=True)
    return topo
