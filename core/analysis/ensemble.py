"""Region ensembles: per-synapse in/out/sel scores, membership, core/shared split and neurons.

Definitions (all at the picture's training resolution; R is the half-open rectangle, O the
rest of the picture; J[p, c, s] is d(painting)/d(weight[s]) in colour units in [-1, 1]):

* ``in(s)  = sqrt(mean over p in R and c of J[p, c, s]²)``, ``out(s)`` the same over O;
* ``sel(s) = in(s) / (out(s) + eps)``;
* member: ``in(s) >= share * max_t in(t)`` (so no non-member has a larger ``in``);
* core: a member with ``sel > core_sel`` (1 by default); shared: the other members.

Pairs and coordinated moves live in ``moves.py``; ``region_ensemble`` runs everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from numpy.typing import DTypeLike
from synens.core.analysis.changemap import check_region
from synens.core.base.errors import SynensError
from synens.core.base.topology import Topology
from synens.core.network.streaming import SplitSamples, split_samples, split_sumsq


@dataclass(frozen=True)
class RegionRule:
    """Every threshold of the region analysis (the report states all of them).

    share: membership threshold on ``in`` as a share of the strongest ``in``.
    core_sel: core members have ``sel > core_sel``. eps: the ``eps`` of ``sel``.
    pair_min_rho_in, pair_max_out_energy: a pair is opposing when the correlation of the two
    change maps over R exceeds ``pair_min_rho_in`` and the joint move (each member scaled
    to the same RMS change over O) has at most ``pair_max_out_energy`` times the energy
    (mean square change) over O of each member alone. lam: the ridge λ of the coordinated
    moves, relative to ``out²`` of the most selective member. n_moves: directions reported.
    step_in: the non-linear check steps along each direction until the *linear* RMS change
    over R is ``step_in`` colour units.
    """

    share: float = 0.2
    core_sel: float = 1.0
    eps: float = 1e-9
    pair_min_rho_in: float = 0.0
    pair_max_out_energy: float = 0.5
    lam: float = 1e-3
    n_moves: int = 3
    step_in: float = 0.05

    def validate(self) -> None:
        if not 0.0 < self.share <= 1.0:
            raise SynensError(f"the membership share must lie in (0, 1], got {self.share}")
        if not self.eps > 0 or not self.lam > 0 or not self.step_in > 0:
            raise SynensError("eps, lam and step_in must be positive")
        if not 1 <= self.n_moves <= 100:
            raise SynensError("n_moves must lie in 1..100")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["membership"] = "in >= share * max(in)"
        d["core"] = "sel > core_sel"
        d["sel"] = "in / (out + eps)"
        d["lam_scale"] = "lam * out^2 of the most selective member (floor 1e-14 * max out^2)"
        d["pair"] = ("rho_in > pair_min_rho_in and out_energy <= pair_max_out_energy, "
                     "out_energy = 2 * (1 + rho_out)")
        d["step"] = "t * v with linear RMS_R(t J v) = step_in"
        return d


@dataclass
class RegionScores:
    """in, out, sel float64[S] of every synapse for one region, and the pixel counts."""

    region: tuple[int, int, int, int]
    size: tuple[int, int]
    in_: np.ndarray
    out: np.ndarray
    sel: np.ndarray
    n_in: int
    n_out: int


@dataclass
class RegionEnsemble:
    """The ensemble of one region (see the module docstring for every definition).

    members int64[k], ordered by ``in`` descending; core bool[k]; neurons int64[m] sorted;
    gram float64[2, k, k] = the pixel-mean Gram matrices A (over R) and B (over O) of the
    members' change maps, so that RMS_R(J v)² = vᵀAv; pairs and moves are lists of dicts
    (see moves.py); check holds the non-linear verification of the moves.
    """

    topo: Topology
    weights: np.ndarray
    scores: RegionScores
    rule: RegionRule
    members: np.ndarray
    core: np.ndarray
    neurons: np.ndarray
    gram: np.ndarray
    pairs: list = field(default_factory=list)
    moves: list = field(default_factory=list)

    @property
    def region(self) -> tuple[int, int, int, int]:
        return self.scores.region

    @property
    def threshold(self) -> float:
        """The ``in`` a synapse needs to be a member."""
        return self.rule.share * float(self.scores.in_.max())


def region_scores(topo: Topology, weights: np.ndarray, image: np.ndarray, region: Sequence[int],
                  eps: float = 1e-9, dtype: DTypeLike = np.float32,
                  split: SplitSamples | None = None) -> RegionScores:
    """in, out and sel of every synapse for ``region`` of ``image`` (uint8[H, W, 3]).

    One streaming pass over the pixels, R's and O's in separate chunks (``split_sumsq``).
    """
    h, w = np.shape(image)[:2]
    region = check_region(region, w, h)
    split = split if split is not None else split_samples(w, h, region, dtype)
    ss = split_sumsq(topo, weights, split)
    io = np.sqrt(np.maximum(ss, 0.0) / (3.0 * np.array([split.n_in, split.n_out]))[:, None])
    return RegionScores(region, (w, h), io[0], io[1], io[0] / (io[1] + eps), split.n_in,
                        split.n_out)


def above_share(values: np.ndarray, share: float) -> np.ndarray:
    """Ids of the values (float[S]) >= share × the largest, largest first, ties by id: int64[k].

    None when the largest value is not positive.
    """
    top = float(values.max())
    if not top > 0:
        return np.zeros(0, np.int64)
    ids = np.flatnonzero(values >= share * top)
    return ids[np.lexsort((ids, -values[ids]))].astype(np.int64)


def membership(scores: RegionScores, rule: RegionRule) -> tuple[np.ndarray, np.ndarray]:
    """Members int64[k] (``in`` descending, ties by id) and their core flags bool[k]."""
    ids = above_share(scores.in_, rule.share)
    return ids, scores.sel[ids] > rule.core_sel


def ensemble_neurons(topo: Topology, members: np.ndarray) -> np.ndarray:
    """Distinct neurons the members touch, as source or target: int64[m] sorted."""
    src = topo.src[members]
    both = np.concatenate([src[src >= 0], topo.dst[members]]).astype(np.int64)
    return np.unique(both)
