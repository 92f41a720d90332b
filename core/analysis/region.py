"""The region pipeline: scores, members, Gram matrices, pairs, moves and their check, in order.

The parts live in ``ensemble`` (data and scores) and ``moves`` (pairs, moves, the check).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike
from synens.core.analysis.changemap import check_region
from synens.core.analysis.ensemble import (
    RegionEnsemble,
    RegionRule,
    ensemble_neurons,
    membership,
    region_scores,
)
from synens.core.analysis.moves import coordinated_moves, opposing_pairs, verify_moves
from synens.core.base.topology import Topology
from synens.core.network.streaming import split_gram, split_samples


def region_ensemble(topo: Topology, weights: np.ndarray, image: np.ndarray, region: Sequence[int],
                    rule: RegionRule | None = None, verify: bool = True,
                    dtype: DTypeLike = np.float32) -> RegionEnsemble:
    """The full region analysis: scores, members, core/shared, neurons, pairs, moves, check.

    Two streaming passes over the picture (J² sums for all synapses, JᵀJ for the members;
    the Jacobian is never held) and, with ``verify``, three renders per move.
    """
    rule = rule or RegionRule()
    rule.validate()
    weights = np.asarray(weights, np.float64)
    h, w = np.shape(image)[:2]
    split = split_samples(w, h, check_region(region, w, h), dtype)
    scores = region_scores(topo, weights, image, region, rule.eps, dtype, split)
    members, core = membership(scores, rule)
    if members.size:
        g = split_gram(topo, weights, split, members)
        gram = g / (3.0 * np.array([scores.n_in, scores.n_out], np.float64))[:, None, None]
    else:
        gram = np.zeros((2, 0, 0))
    ens = RegionEnsemble(topo, weights, scores, rule, members, core,
                         ensemble_neurons(topo, members), gram)
    ens.pairs = opposing_pairs(ens)
    ens.moves = coordinated_moves(ens)
    if verify and ens.moves:
        verify_moves(ens)
    return ens
