"""Neuron alignment across seeds: a known permutation is recovered; synapse maps; Jaccard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synens.core.analysis.align import (
    activation_maps,
    align,
    hidden_layers,
    jaccard,
    neuron_depth,
    permute_neurons,
    random_jaccard,
    synapse_match,
)
from synens.core.base.topology import layered
from synens.core.files.model import load_model
from synens.core.network.render import render

DEFAULT_MODEL = Path(__file__).parent.parent / "assets" / "default.npz"


def _layer_permutation(topo, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    perm = np.arange(topo.n_neurons)
    for layer in hidden_layers(topo):
        perm[layer] = layer[rng.permutation(layer.size)]
    return perm


def test_layers_of_the_default_network():
    topo = layered()
    sizes = [len(layer) for layer in hidden_layers(topo)]
    assert sizes == [9, 5, 10, 10]
    assert neuron_depth(topo)[topo.outputs].tolist() == [5, 5, 5]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_alignment_recovers_a_known_permutation(seed):
    model = load_model(DEFAULT_MODEL)
    topo, w = model.topo, model.weights
    perm = _layer_permutation(topo, seed)
    assert not np.array_equal(perm, np.arange(topo.n_neurons))
    topo2, w2 = permute_neurons(topo, w, perm)
    # the painting is the same: the rewiring is right
    a = render(topo, w, 24, 24, np.float64)
    b = render(topo2, w2, 24, 24, np.float64)
    np.testing.assert_allclose(a, b, atol=1e-12)
    match, score = align(topo, activation_maps(topo, w), activation_maps(topo2, w2))
    # model 2's neuron perm[n] is model 1's neuron n
    np.testing.assert_array_equal(match[perm], np.arange(topo.n_neurons))
    assert score.min() > 0.999
    # synapses map back too: synapse s of model 2 carries the weight of its match in model 1
    smap = synapse_match(topo2, match)
    np.testing.assert_array_equal(w2, w[smap])


def test_sign_flipped_neuron_still_matches():
    model = load_model(DEFAULT_MODEL)
    topo, w = model.topo, model.weights.copy()
    n = int(hidden_layers(topo)[1][0])
    w2 = w.copy()
    w2[topo.dst == n] *= -1  # negate the neuron's input: tanh odd, its output flips sign
    w2[topo.src == n] *= -1  # and its outgoing weights undo it
    np.testing.assert_allclose(render(topo, w, 16, 16, np.float64),
                               render(topo, w2, 16, 16, np.float64), atol=1e-12)
    match, _ = align(topo, activation_maps(topo, w), activation_maps(topo, w2))
    np.testing.assert_array_equal(match, np.arange(topo.n_neurons))


def test_jaccard_and_its_random_baseline():
    assert jaccard([1, 2, 3], [2, 3, 4]) == pytest.approx(0.5)
    assert jaccard([], []) == 1.0
    # two random 2-subsets of 4: E[J] = P(same)*1 + P(one shared)*1/3 = 1/6 + 4/6 * 1/3
    assert random_jaccard(4, 2, 2, draws=20000, seed=0) == pytest.approx(1 / 6 + 4 / 18, abs=0.01)
    assert random_jaccard(10, 3, 3, seed=5) == random_jaccard(10, 3, 3, seed=5)
