"""The basis test: helpers against hand values, determinism, and a planted axis-aligned net."""

from __future__ import annotations

import numpy as np
import pytest
from synens.core.analysis.basis import LayerError, basis_test, hidden_layers, permutation_test
from synens.core.analysis.segment import best_iou, binarise, colour_segments, iou, kmeans, otsu
from synens.core.base.topology import BIAS, X_IN, Topology, layered
from synens.core.network.render import render, to_uint8


def stripes_net(n: int = 8, k: float = 200.0) -> tuple[Topology, np.ndarray]:
    """Layer 1: steps at the n-1 edges of n vertical stripes; layer 2: one indicator per stripe
    (+1 inside, -1 outside); the outputs paint stripe j with the RGB-cube corner j."""
    syn = []
    for b, xb in enumerate(-1 + 2 * np.arange(1, n) / n):
        syn += [(BIAS, b, -k * xb), (X_IN, b, k)]
    s0 = n - 1
    syn.append((0, s0, -3.0))
    for j in range(1, n - 1):
        syn += [(BIAS, s0 + j, -3.0), (j - 1, s0 + j, 3.0), (j, s0 + j, -3.0)]
    syn.append((n - 2, s0 + n - 1, 3.0))
    outs = [2 * n - 1 + c for c in range(3)]
    for c in range(3):
        syn += [(s0 + j, outs[c], 1.0 if (j >> c) & 1 else -1.0) for j in range(n)]
    src, dst, w = (np.array(v) for v in zip(*syn, strict=True))
    topo, perm = Topology.from_arrays(src, dst, 2 * n + 2, outs, spec={"kind": "stripes"})
    return topo, w.astype(np.float64)[perm]


@pytest.fixture(scope="module")
def stripes():
    topo, w = stripes_net()
    return topo, w, to_uint8(render(topo, w, 64, 8, np.float64))


def test_hidden_layers_are_depth_levels():
    layers = hidden_layers(layered())
    assert [x.tolist() for x in layers] == [list(range(0, 9)), list(range(9, 14)),
                                            list(range(14, 24)), list(range(24, 34))]
    topo, _ = stripes_net(4)
    assert [x.tolist() for x in hidden_layers(topo)] == [[0, 1, 2], [3, 4, 5, 6]]


def test_otsu_iou_and_kmeans_on_hand_values():
    v = np.array([0.0, 0.1, 0.2, 0.9, 1.0, 1.1])
    t = otsu(v)
    assert 0.2 < t <= 0.9
    assert binarise(v).tolist() == [False] * 3 + [True] * 3
    assert otsu(np.full(5, 2.0)) == 2.0
    a = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], bool)
    b = np.array([[1, 0, 0, 0], [1, 1, 1, 1]], bool)
    np.testing.assert_allclose(iou(a, b), [[0.5, 0.5], [0.0, 0.0]])
    np.testing.assert_allclose(best_iou(a, b[:1], False), [0.5, 0.0])
    np.testing.assert_allclose(best_iou(a, b[:1], True), [0.5, 1 / 4])
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 1]], float)
    x = np.repeat(centres, 50, axis=0) + rng.normal(0, 0.02, (150, 3))
    labels, found = kmeans(x, 3, seed=1)
    assert len(set(labels[:50])) == len(set(labels[50:100])) == len(set(labels[100:])) == 1
    assert len(set(labels.tolist())) == 3
    np.testing.assert_allclose(np.sort(found, axis=0), np.sort(centres, axis=0), atol=0.02)
    np.testing.assert_array_equal(kmeans(x, 3, seed=1)[0], labels)


def test_colour_segments_recover_flat_colours(stripes):
    _, _, img = stripes
    segs = colour_segments(img, 8, seed=0)
    assert segs.shape == (8, 8, 64)
    assert sorted(segs.reshape(8, -1).sum(1).tolist()) == [64] * 8
    assert np.all(segs.sum(0) == 1)


def test_permutation_test():
    rng = np.random.default_rng(0)
    same = permutation_test(rng.random(30), rng.random(30), 2000, 1)
    apart = permutation_test(rng.random(30) + 1, rng.random(30), 2000, 1)
    assert same > 0.05 and apart < 0.001
    assert permutation_test([1, 2, 3.0], [0.5, 1.5], 500, 3) == permutation_test(
        [1, 2, 3.0], [0.5, 1.5], 500, 3)


def test_axis_aligned_neurons_beat_random_directions(stripes):
    topo, w, img = stripes
    res = basis_test(topo, w, img, layer=2, n_colours=8, n_random=200, n_perm=4000, seed=0)
    neurons, rand = res.scores["neurons"]["colour"], res.scores["random"]["colour"]
    assert neurons.size == 8 and rand.size == 200
    assert np.median(neurons) > 0.95  # each neuron is exactly one stripe
    assert np.median(rand) < 0.6  # a random mix marks several stripes at once
    test = next(t for t in res.tests if (t["a"], t["b"], t["reference"])
                == ("neurons", "random", "colour"))
    assert test["diff"] > 0.3 and test["p"] < 0.01
    assert res.conclusion.startswith("Single neurons are a better unit of meaning")


def test_deterministic_with_a_seed(stripes):
    topo, w, img = stripes
    a = basis_test(topo, w, img, layer=1, n_random=50, n_perm=500, seed=3)
    b = basis_test(topo, w, img, layer=1, n_random=50, n_perm=500, seed=3)
    for k in a.scores:
        for ref in a.scores[k]:
            np.testing.assert_array_equal(a.scores[k][ref], b.scores[k][ref])
    assert a.tests == b.tests and a.conclusion == b.conclusion
    c = basis_test(topo, w, img, layer=1, n_random=50, n_perm=500, seed=4)
    assert not np.array_equal(a.scores["random"]["colour"], c.scores["random"]["colour"]) \
        or a.tests != c.tests


def test_default_layer_and_missing_layers(stripes):
    topo, w, img = stripes
    res = basis_test(topo, w, img, n_random=10, n_perm=100)
    assert res.layer == 2 and res.layer_neurons.tolist() == list(range(7, 15))
    for layer in (0, 3, -1):
        with pytest.raises(LayerError, match=f"layer {layer} does not exist: the network has "
                                             "hidden layers 1..2"):
            basis_test(topo, w, img, layer=layer)
