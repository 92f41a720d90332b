"""Topology: the layered default, canonical order, from_arrays validation, descendants."""

from __future__ import annotations

import numpy as np
import pytest
import reference as R
from conftest import DAG_SEEDS, random_dag
from synens.core.base.topology import BIAS, X_IN, Y_IN, Topology, TopologyError, from_spec, layered


def _canonical_key(src: np.ndarray, dst: np.ndarray) -> list[tuple[int, int]]:
    """(target, rank of source) with bias < x < y < neurons ascending, written out by hand."""
    rank = {BIAS: -3, X_IN: -2, Y_IN: -1}
    return [(int(d), rank.get(int(s), int(s))) for s, d in zip(src, dst, strict=True)]


def _assert_consistent(topo: Topology) -> None:
    """ptr, order and canonical order agree with src/dst."""
    n = topo.n_neurons
    keys = _canonical_key(topo.src, topo.dst)
    assert keys == sorted(keys)
    assert topo.src.dtype == np.int32 and topo.dst.dtype == np.int32
    assert topo.ptr.dtype == np.int32 and topo.order.dtype == np.int32
    assert topo.ptr[0] == 0 and topo.ptr[-1] == topo.n_synapses
    for m in range(n):
        assert np.all(topo.dst[topo.ptr[m]:topo.ptr[m + 1]] == m)
        assert np.array_equal(topo.synapses_of(m), np.arange(topo.ptr[m], topo.ptr[m + 1]))
    assert sorted(topo.order.tolist()) == list(range(n))
    pos = {int(m): k for k, m in enumerate(topo.order)}
    for s, d in zip(topo.src, topo.dst, strict=True):
        if s >= 0:
            assert pos[int(s)] < pos[int(d)]


def test_layered_default_shape():
    topo = layered()
    assert topo.n_neurons == 37
    assert topo.n_synapses == 460
    assert topo.outputs.tolist() == [34, 35, 36]
    _assert_consistent(topo)
    # Synapse 418 is the bias of the green output.
    assert topo.src[418] == BIAS and topo.dst[418] == 35
    assert topo.source_name(418) == "bias"
    assert topo.neuron_role(35) == "output G"
    assert topo.neuron_role(0) == "hidden layer 1" and topo.neuron_role(33) == "hidden layer 4"


def test_layered_connections():
    """Each layer sees a bias and every neuron of the 2 layers before it (x, y are layer 0)."""
    topo = layered()
    starts = [0, 9, 14, 24, 34, 37]
    layer_inputs = {1: [BIAS, X_IN, Y_IN], 2: [BIAS, X_IN, Y_IN, *range(0, 9)]}
    for li in (3, 4, 5):
        layer_inputs[li] = [BIAS, *range(starts[li - 3], starts[li - 1])]
    for li in range(1, 6):
        for m in range(starts[li - 1], starts[li]):
            assert topo.src[topo.synapses_of(m)].tolist() == layer_inputs[li]
    # The canonical order is the identity for the default net, so order is 0..36.
    assert topo.order.tolist() == list(range(37))


def test_from_arrays_reorders_and_returns_perm():
    ref = layered()
    rng = np.random.default_rng(3)
    shuffle = rng.permutation(ref.n_synapses)
    src, dst = ref.src[shuffle].astype(np.int64), ref.dst[shuffle].astype(np.int64)
    topo, perm = Topology.from_arrays(src, dst, 37, [34, 35, 36])
    assert np.array_equal(topo.src, ref.src) and np.array_equal(topo.dst, ref.dst)
    assert np.array_equal(src[perm], topo.src) and np.array_equal(dst[perm], topo.dst)
    assert np.array_equal(shuffle[perm], np.arange(ref.n_synapses))
    # Weights follow their synapse: a weight tagged with its (src, dst) pair stays with it.
    w_in = dst * 1000.0 + src
    assert np.array_equal(w_in[perm], topo.dst * 1000.0 + topo.src)


@pytest.mark.parametrize("seed", DAG_SEEDS)
def test_random_dags_consistent(seed):
    topo, _ = random_dag(seed)
    _assert_consistent(topo)
    assert R.topo_order(topo.src, topo.dst, topo.n_neurons)  # the reference agrees: no cycle


def test_random_dags_cover_the_cases():
    """The fixture must include: 3..12 neurons, neuron ids that are not a topological order,
    a neuron with no synapse, an output feeding another neuron, every special source."""
    topos = [random_dag(s)[0] for s in DAG_SEEDS]
    assert {t.n_neurons for t in topos} == set(range(3, 13))
    assert sum(not np.array_equal(t.order, np.arange(t.n_neurons)) for t in topos) >= 3
    assert any(np.any(np.diff(t.ptr) == 0) for t in topos)
    assert any(np.any(np.isin(t.outputs, t.src)) for t in topos)
    assert all({BIAS, X_IN, Y_IN} <= set(t.src.tolist()) for t in topos[3:])


def test_canonical_only():
    ref = layered()
    topo, perm = Topology.from_arrays(ref.src, ref.dst, 37, ref.outputs, canonical_only=True)
    assert np.array_equal(perm, np.arange(460)) and np.array_equal(topo.src, ref.src)
    swapped = np.arange(460)
    swapped[[0, 1]] = [1, 0]  # bias and x of neuron 0 swapped
    with pytest.raises(TopologyError, match="canonical"):
        Topology.from_arrays(ref.src[swapped], ref.dst[swapped], 37, ref.outputs,
                             canonical_only=True)
    with pytest.raises(TopologyError, match="canonical"):
        from_spec({}, ref.src[::-1], ref.dst[::-1], 37, ref.outputs)
    assert np.array_equal(from_spec({}, ref.src, ref.dst, 37, ref.outputs).src, ref.src)


@pytest.mark.parametrize("src, dst, n, outs, message", [
    ([0, 1, -1, -1, -1], [1, 0, 2, 3, 4], 5, [2, 3, 4], "cycle"),               # 0 -> 1 -> 0
    ([0, -1, -1], [0, 1, 2], 3, [0, 1, 2], "cycle"),                            # self-loop
    ([0, 1, 2, -1, -1], [1, 2, 0, 3, 4], 5, [2, 3, 4], "cycle"),                # 3-cycle
    ([-1, -1, -1, -2, -2], [0, 1, 2, 0, 0], 3, [0, 1, 2], "same source"),       # duplicate
    ([0, 0, -1], [1, 1, 2], 3, [0, 1, 2], "same source"),                       # duplicate
    ([-1, -1, -1], [0, 1, 3], 3, [0, 1, 2], "targets a neuron"),                # dst >= n
    ([-1, -1, -1], [0, -1, 2], 3, [0, 1, 2], "targets a neuron"),               # dst < 0
    ([-4, -1, -1], [0, 1, 2], 3, [0, 1, 2], "source outside"),                  # src < -3
    ([3, -1, -1], [0, 1, 2], 3, [0, 1, 2], "source outside"),                   # src >= n
    ([-1, -1, -1], [0, 1, 2], 3, [0, 1, 1], "distinct"),                        # same output
    ([-1, -1, -1], [0, 1, 2], 3, [0, 1, 3], "distinct"),                        # output >= n
    ([-1, -1, -1], [0, 1, 2], 3, [-1, 0, 1], "distinct"),                       # output < 0
    ([-1, -1, -1], [0, 1, 2], 3, [0, 1], "outputs"),                            # 2 outputs
    ([-1, -1, -1], [0, 1, 2], 3, [0.0, 1.0, 2.0], "outputs"),                   # float ids
    ([-1.0, -1.0], [0.0, 1.0], 3, [0, 1, 2], "integers"),                       # float src/dst
    ([-1, -1], [0, 1, 2], 3, [0, 1, 2], "same length"),                         # shape mismatch
    (np.zeros(0, int), np.zeros(0, int), 0, [0, 1, 2], "at least one neuron"),
])
def test_from_arrays_refuses(src, dst, n, outs, message):
    with pytest.raises(TopologyError, match=message):
        Topology.from_arrays(np.array(src), np.array(dst), n, np.array(outs))


def test_from_arrays_accepts_edge_cases():
    """A neuron with no synapse is allowed (its output is tanh(0) = 0); so are 3 neurons only."""
    topo, perm = Topology.from_arrays(np.array([-1, 1]), np.array([1, 2]), 3, np.array([0, 1, 2]))
    assert topo.ptr.tolist() == [0, 0, 1, 2]
    assert perm.tolist() == [0, 1]


@pytest.mark.parametrize("seed", DAG_SEEDS)
def test_descendants_match_brute_force(seed):
    topo, _ = random_dag(seed)
    pos = {int(m): k for k, m in enumerate(topo.order)}
    for n in range(topo.n_neurons):
        got = topo.descendants(n).tolist()
        assert set(got) == R.reachable(topo.src, topo.dst, topo.n_neurons, n)
        assert len(got) == len(set(got))
        assert [pos[m] for m in got] == sorted(pos[m] for m in got)  # topological order


def test_descendants_layered():
    topo = layered()
    assert topo.descendants(36).tolist() == [36]
    assert topo.descendants(24).tolist() == [24, 34, 35, 36]
    assert topo.descendants(0).tolist() == [0, *range(9, 37)]  # all layers after its own
    assert topo.descendants(9).tolist() == [9, *range(14, 37)]  # skips its own layer
