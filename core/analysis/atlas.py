"""The ensemble atlas: NMF of the change-magnitude matrix into parts, and neuron participation.

M[p, s] = sqrt(sum over channels of J[p, c, s]²) on a reduced grid (the picture scaled so
that its longer side is ``side`` px, 64 by default; point samples of the same functions).
NMF: M ≈ W H, K parts. Part k has the spatial map W[:, k] (unit max), the loadings H[k]
(its synapses), members = synapses with H[k, s] >= share * max_t H[k, t] (share 0.2, the
rule of the region ensembles), neurons = those the members touch, region = Otsu-thresholded
map, picture share = the region's share of the pixels. Default K: the smallest K whose
truncated SVD holds ``energy`` (75 %) of |M|_F², clamped to 2..12.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from synens.core.analysis.ensemble import above_share, ensemble_neurons
from synens.core.analysis.nmf import nmf
from synens.core.analysis.segment import binarise
from synens.core.base.errors import SynensError
from synens.core.base.topology import Topology
from synens.core.files.picture import fit_size
from synens.core.network.grad import jacobian

ATLAS_SIDE = 64
K_ENERGY = 0.75
K_RANGE = (2, 12)
MEMBER_SHARE = 0.2


@dataclass
class Atlas:
    """Parts of the atlas, sorted by picture share (largest first).

    maps float64[K, h, w] (unit max); loadings float64[K, S]; regions bool[K, h, w];
    share float64[K]; members / neurons: lists of int64 arrays (members by loading,
    largest first); ens_maps float64[K, h, w] the mean change magnitude of each part's
    members (its ensemble's change map); participation int64[N] = how many parts use
    each neuron; mag float64[h*w, S] the matrix M.
    """

    size: tuple[int, int]
    k: int
    k_rule: str
    seed: int
    rel_error: float
    iterations: int
    maps: np.ndarray
    loadings: np.ndarray
    regions: np.ndarray
    share: np.ndarray
    members: list = field(default_factory=list)
    neurons: list = field(default_factory=list)
    ens_maps: np.ndarray | None = None
    participation: np.ndarray | None = None
    mag: np.ndarray | None = None
    member_share: float = MEMBER_SHARE

    @property
    def rule(self) -> dict:
        """Every rule and threshold of the atlas, for the reports."""
        return {"grid": list(self.size), "grid_rule": f"longer side {max(self.size)} px",
                "matrix": "M[p, s] = sqrt(sum_c J[p, c, s]^2), raw magnitudes",
                "nmf": "HALS, seeded uniform start", "seed": self.seed, "k": self.k,
                "k_rule": self.k_rule, "member_share": self.member_share,
                "membership": "H[k, s] >= member_share * max_s H[k, s]",
                "region": "map >= Otsu threshold of the map"}


def atlas_bytes(n_synapses: int, width: int, height: int, k: int | None,
                side: int = ATLAS_SIDE) -> int:
    """Rough peak memory of ``ensemble_atlas``: the Jacobian on the atlas grid (float32),
    M and its Gram (float64), the NMF factors and their products."""
    aw, ah = atlas_size(width, height, side)
    p, s, kk = aw * ah, int(n_synapses), max(int(k or K_RANGE[1]), 1)
    return p * 3 * s * 4 + p * s * 8 * 2 + s * s * 8 + (p + s) * kk * 8 * 3


def atlas_size(width: int, height: int, side: int = ATLAS_SIDE) -> tuple[int, int]:
    """The reduced grid (w, h): longer side ``side`` px (never above the picture's own)."""
    return fit_size(width, height, min(side, max(width, height)))


def change_magnitudes(topo: Topology, weights: np.ndarray, width: int,
                      height: int) -> np.ndarray:
    """M[p, s] = sqrt(sum over channels of J[p, c, s]²) at W×H: float64[H*W, S]."""
    j = jacobian(topo, weights, width, height, None, np.float32)
    return np.sqrt(np.einsum("hwcs,hwcs->hws", j, j, dtype=np.float64)).reshape(-1,
                                                                                  j.shape[-1])


def default_k(mag: np.ndarray, energy: float = K_ENERGY, k_range: tuple[int, int] = K_RANGE) -> int:
    """Smallest K whose truncated SVD of mag (float64[P, S]) holds ``energy`` of |mag|².

    Clamped to k_range (and to S).
    """
    s2 = np.clip(np.linalg.eigvalsh(mag.T @ mag), 0.0, None)[::-1]
    total = float(s2.sum())
    if total <= 0:
        return k_range[0]
    k = int(np.searchsorted(np.cumsum(s2) / total, energy) + 1)
    return int(np.clip(k, k_range[0], min(k_range[1], mag.shape[1])))


def ensemble_atlas(topo: Topology, weights: np.ndarray, image: np.ndarray,
                   k: int | None = None, seed: int = 0, side: int = ATLAS_SIDE,
                   member_share: float = MEMBER_SHARE,
                   progress: Callable[[int, int], None] | None = None) -> Atlas:
    """The atlas of a network painting ``image`` (uint8[H, W, 3]); K parts (default: rule).

    ``progress(sweep, max_sweeps)`` is passed to the NMF (called after every sweep).
    """
    n_syn = topo.n_synapses
    if k is not None and (isinstance(k, bool) or not 1 <= int(k) <= n_syn):
        raise SynensError(f"K must lie in 1..{n_syn} (the number of synapses), got {k}")
    h, w = np.shape(image)[:2]
    aw, ah = atlas_size(w, h, side)
    mag = change_magnitudes(topo, np.asarray(weights, np.float64), aw, ah)
    if k is None:
        k, rule = default_k(mag), (f"smallest K whose SVD holds {K_ENERGY:.0%} of |M|^2, "
                                   f"in {K_RANGE[0]}..{K_RANGE[1]}")
    else:
        k, rule = int(k), "given"
    if k > mag.shape[0]:
        raise SynensError(f"K = {k} is more than the {mag.shape[0]} pixels of the atlas grid")
    res = nmf(mag, k, seed=seed, max_iter=500, tol=1e-6, progress=progress)
    maps = res.W.T.reshape(k, ah, aw)
    regions = np.stack([binarise(m) for m in maps])
    share = regions.reshape(k, -1).mean(axis=1)
    order = np.lexsort((np.arange(k), -share))
    maps, regions, share, load = maps[order], regions[order], share[order], res.H[order]
    members, neurons, ens_maps = [], [], np.zeros((k, ah, aw))
    part_of = np.zeros((k, topo.n_neurons), bool)
    for i in range(k):
        ids = above_share(load[i], member_share)
        members.append(ids)
        neurons.append(ensemble_neurons(topo, ids))
        part_of[i, neurons[-1]] = True
        if ids.size:
            ens_maps[i] = mag[:, ids].mean(axis=1).reshape(ah, aw)
    return Atlas((aw, ah), k, rule, int(seed), res.rel_error, res.iterations, maps, load,
                 regions, share, members, neurons, ens_maps,
                 part_of.sum(axis=0).astype(np.int64), mag, member_share)


def _heat(m: np.ndarray) -> np.ndarray:
    """A black-red-yellow-white colour scale of float[h, w] in [0, 1]: uint8[h, w, 3]."""
    t = np.clip(m, 0.0, 1.0)[..., None]
    rgb = np.concatenate([np.clip(3 * t, 0, 1), np.clip(3 * t - 1, 0, 1),
                          np.clip(3 * t - 2, 0, 1)], axis=-1)
    return (rgb * 255 + 0.5).astype(np.uint8)


def atlas_picture(atlas: Atlas, image: np.ndarray, per_row: int = 4, gap: int = 2) -> np.ndarray:
    """The picture beside every part's map (upscaled to the picture's size): uint8[H', W', 3].

    Tiles left to right, ``per_row`` per row: the picture, then part 1, 2, ... (heat scale).
    """
    h, w = image.shape[:2]
    tiles = [np.asarray(image, np.uint8)]
    for m in atlas.maps:
        small = Image.fromarray(_heat(m / max(float(m.max()), 1e-300)))
        tiles.append(np.asarray(small.resize((w, h), Image.Resampling.NEAREST)))
    rows = -(-len(tiles) // per_row)
    cols = min(per_row, len(tiles))
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap, 3), 32, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, per_row)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = t
    return out
