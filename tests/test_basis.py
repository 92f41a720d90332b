"""The basis test: helpers against hand values, the arms' moves, determinism, a planted net."""

from __future__ import annotations

import numpy as np
import pytest
from synens.core.analysis.arms import direction_move, gain_moves, random_direction_moves
from synens.core.analysis.basis import (
    LayerError,
    basis_test,
    hidden_layers,
    paired_test,
    permutation_test,
)
from synens.core.analysis.segment import best_iou, binarise, colour_segments, iou, kmeans, otsu
from synens.core.base.topology import BIAS, X_IN, Topology, layered
from synens.core.network.render import render, to_uint8


def stripes_net(n: int = 8, k: float = 200.0) -> tuple[Topology, np.ndarray]:
    """Layer 1: steps at the n-1 edges of n vertical stripes; layer 2: one indicator per stripe
    (about 1 inside, 0 outside); the outputs paint stripe j with the RGB-cube corner j."""
    syn = []
    for b, xb in enumerate(-1 + 2 * np.arange(1, n) / n):
        syn += [(BIAS, b, -k * xb), (X_IN, b, k)]
    s0 = n - 1  # indicator j: 1.5 × (how many of its two edges lie on its side) → tanh 0 or ±1
    syn += [(BIAS, s0, 1.5), (0, s0, -1.5)]
    for j in range(1, n - 1):
        syn += [(j - 1, s0 + j, 1.5), (j, s0 + j, -1.5)]
    syn += [(BIAS, s0 + n - 1, 1.5), (n - 2, s0 + n - 1, 1.5)]
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


def test_paired_test():
    rng = np.random.default_rng(0)
    a = rng.random(20) * 5
    assert paired_test(a, a + rng.normal(0, 0.05, 20), 2000, 1) > 0.05
    assert paired_test(a + 3, a, 2000, 1) < 0.001
    assert paired_test(a, a + 1, 500, 3) == paired_test(a, a + 1, 500, 3)


def test_arm_moves_scale_outgoing_weights(stripes):
    topo, w, _ = stripes
    layer = hidden_layers(topo)[1]
    g = gain_moves(topo, w, layer)
    for i, n in enumerate(layer):
        out = topo.src == n
        np.testing.assert_array_equal(g[i][out], w[out])  # δw_s = w_s on the neuron's outputs
        assert not np.any(g[i][~out])
    u = np.random.default_rng(1).standard_normal(layer.size)
    d = direction_move(topo, w, layer, u)
    np.testing.assert_allclose(d, u @ g)  # a direction mixes the neurons' gain moves
    r = random_direction_moves(topo, w, layer, 5, seed=2)
    assert r.shape == (5, topo.n_synapses)
    np.testing.assert_array_equal(r, random_direction_moves(topo, w, layer, 5, seed=2))


def test_axis_aligned_neurons_beat_random_directions(stripes):
    """Each layer-2 neuron paints exactly one stripe: its gain move controls that stripe,
    while a random direction of the layer changes several stripes at once."""
    topo, w, img = stripes
    cols = np.arange(64)[None, :].repeat(8, axis=0)
    stripes_ = [(f"stripe {j}", (cols >= 8 * j) & (cols < 8 * j + 8)) for j in (1, 3, 4, 6)]
    res = basis_test(topo, w, img, layer=2, regions=stripes_, seed=0, segments=False,
                     boxes_per_mask=1)
    assert [r["kind"] for r in res.regions] == ["semantic"] * 4 + ["random"] * 4
    gain, rand = res.sels("neuron_gain", "semantic"), res.sels("random_direction", "semantic")
    assert np.median(gain) > 5 * np.median(rand)
    test = next(t for t in res.tests if (t["a"], t["b"]) == ("neuron_gain", "random_direction"))
    assert test["ratio"] > 2 and test["p"] < 0.2  # 8 regions: the sign-flip test's floor is 1/128
    assert res.verdict[0].startswith("single neurons beat random directions of their layer? yes")


def test_deterministic_with_a_seed(stripes):
    topo, w, img = stripes
    left = [("left", np.arange(64)[None, :].repeat(8, axis=0) < 16)]
    a = basis_test(topo, w, img, layer=1, regions=left, seed=3, segments=False)
    b = basis_test(topo, w, img, layer=1, regions=left, seed=3, segments=False)
    assert a.regions == b.regions and a.tests == b.tests and a.verdict == b.verdict
    c = basis_test(topo, w, img, layer=1, regions=left, seed=4, segments=False)
    assert [r["name"] for r in a.regions] != [r["name"] for r in c.regions]  # other boxes


def test_default_layer_and_missing_layers(stripes):
    topo, w, img = stripes
    res = basis_test(topo, w, img, regions=[("left", np.arange(64)[None, :].repeat(8, 0) < 8)],
                     segments=False, boxes_per_mask=1)
    assert res.layer == 2 and res.layer_neurons.tolist() == list(range(7, 15))
    assert res.regions[0]["name"] == "left" and res.regions[0]["kind"] == "semantic"
    for layer in (0, 3, -1):
        with pytest.raises(LayerError, match=f"layer {layer} does not exist: the network has "
                                             "hidden layers 1..2"):
            basis_test(topo, w, img, layer=layer)
