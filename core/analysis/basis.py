"""The basis test: single neurons vs random directions vs synapse ensembles as units of meaning.

For one hidden layer L (default: the last one), three kinds of map on the atlas grid:
single-neuron activation maps, activation maps of random unit directions in L's activation
space (``n_random`` seeded draws) and the atlas ensembles' change maps. Every map is scored
the same way: threshold it at Otsu's threshold, keep the high side (map >= threshold) and
score its best IoU against reference regions (a neuron or a random direction is an axis of
activation space, so both of its signs are tried; a change magnitude has one sign): the
atlas parts' regions, the k-means RGB segments of the picture (``n_colours``, seeded), and
both together.
Medians are compared with two-sided permutation tests on the difference of medians.
Hidden layers are depth levels: inputs have depth 0, a neuron 1 + the deepest of its
sources; outputs are not hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from synens.core.analysis.atlas import Atlas, ensemble_atlas
from synens.core.analysis.segment import best_iou, binarise, colour_segments
from synens.core.base.errors import SynensError
from synens.core.base.topology import Topology
from synens.core.network.render import activations

KINDS = ("neurons", "random", "ensembles")
REFERENCES = ("colour", "atlas", "both")
COMPARISONS = (("neurons", "random"), ("ensembles", "neurons"), ("ensembles", "random"))
ALPHA = 0.05


class LayerError(SynensError):
    """A hidden layer that does not exist."""


def hidden_layers(topo: Topology) -> list[np.ndarray]:
    """Hidden neurons grouped by depth: list of int64 arrays, layer 1 first."""
    depth = np.zeros(topo.n_neurons, np.int64)
    for n in topo.order:
        src = topo.src[topo.ptr[n]:topo.ptr[n + 1]]
        src = src[src >= 0]
        depth[n] = 1 + (int(depth[src].max()) if src.size else 0)
    hidden = np.setdiff1d(np.arange(topo.n_neurons), topo.outputs)
    levels = sorted(set(depth[hidden].tolist()))
    return [hidden[depth[hidden] == d].astype(np.int64) for d in levels]


def permutation_test(a: np.ndarray, b: np.ndarray, n_perm: int, seed: int) -> float:
    """Two-sided p-value of median(a) − median(b) under label permutation (seeded)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.size == 0 or b.size == 0:
        return 1.0
    obs = abs(np.median(a) - np.median(b))
    rng = np.random.default_rng(seed)
    pooled = np.tile(np.concatenate([a, b]), (n_perm, 1))
    perm = rng.permuted(pooled, axis=1)
    diff = np.abs(np.median(perm[:, :a.size], axis=1) - np.median(perm[:, a.size:], axis=1))
    return float((1 + np.count_nonzero(diff >= obs - 1e-12)) / (n_perm + 1))


@dataclass
class BasisResult:
    """Scores float64[n] per kind and reference; tests: one dict per comparison/reference."""

    layer: int
    layer_neurons: np.ndarray
    n_layers: int
    grid: tuple[int, int]
    rule: dict
    scores: dict = field(default_factory=dict)
    tests: list = field(default_factory=list)
    conclusion: str = ""


def _score(maps: np.ndarray, refs: dict, signed: bool) -> dict:
    """Best IoU of each map's high side (and, if signed, of its negation's) per reference."""
    if signed:
        maps = np.concatenate([maps, -maps])
    masks = np.stack([binarise(m) for m in maps]) if len(maps) else np.zeros((0, 1), bool)
    out = {"colour": best_iou(masks, refs["colour"], False),
           "atlas": best_iou(masks, refs["atlas"], False)}
    if signed:
        half = len(maps) // 2
        out = {k: np.maximum(v[:half], v[half:]) for k, v in out.items()}
    out["both"] = np.maximum(out["colour"], out["atlas"])
    return out


def basis_test(topo: Topology, weights: np.ndarray, image: np.ndarray, layer: int | None = None,
               atlas: Atlas | None = None, n_random: int = 200, n_colours: int = 6,
               n_perm: int = 5000, seed: int = 0) -> BasisResult:
    """Run the basis test on ``image`` (uint8[H, W, 3]); see the module docstring."""
    layers = hidden_layers(topo)
    if not layers:
        raise LayerError("the network has no hidden layer")
    if layer is None:
        layer = len(layers)
    if isinstance(layer, bool) or not 1 <= int(layer) <= len(layers):
        raise LayerError(f"layer {layer} does not exist: the network has hidden layers "
                         f"1..{len(layers)}")
    layer = int(layer)
    if n_random < 1 or n_perm < 1:
        raise SynensError("n_random and n_perm must be at least 1")
    atlas = atlas if atlas is not None else ensemble_atlas(topo, weights, image, seed=seed)
    aw, ah = atlas.size
    neurons = layers[layer - 1]
    acts = activations(topo, weights, aw, ah, np.float64)[neurons].reshape(neurons.size, -1)
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n_random, neurons.size))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    maps = {"neurons": acts, "random": np.einsum("rn,np->rp", u, acts),
            "ensembles": atlas.ens_maps.reshape(atlas.k, -1)}
    small = np.asarray(Image.fromarray(np.asarray(image, np.uint8)).resize(
        (aw, ah), Image.Resampling.BOX))
    refs = {"colour": colour_segments(small, n_colours, seed).reshape(-1, aw * ah),
            "atlas": atlas.regions.reshape(atlas.k, -1)}
    refs["both"] = np.concatenate([refs["colour"], refs["atlas"]])
    rule = {"layer": layer, "layer_rule": "default: the last hidden layer (depth level)",
            "grid": [aw, ah], "threshold": "map >= its Otsu threshold (for neurons and random "
            "directions the better of +map and -map)",
            "score": "best IoU against the reference regions",
            "references": {"colour": f"k-means in RGB, k = {n_colours}",
                           "atlas": f"the {atlas.k} atlas parts' regions"},
            "n_random": n_random, "n_perm": n_perm, "seed": seed, "alpha": ALPHA,
            "ensemble_map": "mean change magnitude of the part's members",
            "test": "two-sided permutation test on the difference of medians"}
    res = BasisResult(layer, neurons, len(layers), (aw, ah), rule)
    res.scores = {k: _score(maps[k], refs, k != "ensembles") for k in KINDS}
    for i, (a, b) in enumerate(COMPARISONS):
        for j, ref in enumerate(REFERENCES):
            sa, sb = res.scores[a][ref], res.scores[b][ref]
            ma, mb = float(np.median(sa)), float(np.median(sb))
            res.tests.append({"a": a, "b": b, "reference": ref, "median_a": ma, "median_b": mb,
                              "diff": ma - mb,
                              "p": permutation_test(sa, sb, n_perm, seed + 7 * i + j)})
    res.conclusion = conclude(res)
    return res


def _verdict(t: dict) -> str:
    if t["p"] < ALPHA and t["diff"] > 0:
        return "better"
    if t["p"] < ALPHA and t["diff"] < 0:
        return "worse"
    return "same"


def conclude(res: BasisResult) -> str:
    """The conclusion the numbers support, from the tests on the colour reference (the one
    that does not come from the ensembles themselves) and on both references."""
    get = {(t["a"], t["b"], t["reference"]): t for t in res.tests}
    words = {"better": "score higher than", "worse": "score lower than",
             "same": "are not distinguishable from"}
    parts = []
    for a, b in COMPARISONS:
        tc, tb = get[(a, b, "colour")], get[(a, b, "both")]
        vc, vb = _verdict(tc), _verdict(tb)
        text = f"{a} {words[vc]} {b} against the colour segments (p = {tc['p']:.3g})"
        if vb != vc:
            text += (f", but {words[vb]} them against either reference, colour or atlas "
                     f"(p = {tb['p']:.3g})")
        parts.append(text)
    n = _verdict(get[("neurons", "random", "colour")])
    lead = {"better": "Single neurons are a better unit of meaning than random directions",
            "worse": "Random directions are a better unit of meaning than single neurons",
            "same": "Single neurons are no better a unit of meaning than random directions "
                    "(as Szegedy et al. 2013 found)"}[n]
    e = [_verdict(get[("ensembles", b, "colour")]) for b in ("neurons", "random")]
    if all(v == "better" for v in e):
        tail = "synapse ensembles beat both."
    elif all(v == "worse" for v in e):
        tail = "synapse ensembles do worse than both."
    elif any(v == "better" for v in e):
        tail = "synapse ensembles beat only one of them."
    else:
        tail = "synapse ensembles do not beat them."
    return (f"{lead}; {tail} Details: " + "; ".join(parts) + ". The atlas reference favours "
            "the ensembles (their maps define the atlas parts), so the colour reference is "
            "the fair one.")
