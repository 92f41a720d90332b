"""The basis test: which kind of perturbation controls a region — one neuron, a random direction
of a layer, one neuron's input synapses, or a synapse ensemble — on semantic and random regions.

Every arm applies the same kind of object to the same region: a move in weight space, scaled so
that the RMS change inside the region is ``LEVEL`` and measured by re-rendering (``measure``):
its score is the measured sel. Per region:

1. ``neuron_gain``: the best of the layer's single-neuron gain moves (scale one neuron's
   outgoing weights; ``arms.gain_moves``);
2. ``random_direction``: the best of as many seeded random unit directions of the layer's
   activation space as the layer has neurons (the same directions for every region), applied
   the same way — so arms 1 and 2 try equally many directions;
3. ``neuron_inputs``: the best single neuron's input-synapse move (the region report's
   ``baselines.neuron``);
4. ``ensemble_same_k``: the best sparse move the instrument's search finds with the k of arm 3
   (the same number of synapses, from any neurons): the better of its two greedy paths
   (from nothing, and through the best neuron's fan-in first) cut at k.

Regions: *semantic* masks are the picture's colour segments holding SEMANTIC_SHARE of the
pixels, plus any user regions; *random* boxes have a semantic mask's pixel count and the
picture's aspect ratio, BOXES_PER_MASK seeded positions each. Arms are compared with paired
sign-flip permutation tests on log(1 + sel) over every region, and semantic against random with
a two-sided permutation test on the difference of medians. Hidden layers are depth levels
(inputs depth 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from synens.core.analysis.arms import gain_moves, random_direction_moves, unit
from synens.core.analysis.control import Context, best_neuron_first, fan_in, region_control
from synens.core.analysis.masks import rect_mask, segment_labels
from synens.core.analysis.measure import LEVEL, UnreachableError
from synens.core.analysis.sparse import greedy_path
from synens.core.base.errors import SynensError
from synens.core.base.topology import Topology

ARMS = ("neuron_gain", "random_direction", "neuron_inputs", "ensemble_same_k")
#: Pairs of arms tested against each other: (a, b, what a > b would mean).
COMPARISONS = (
    ("neuron_gain", "random_direction", "single neurons beat random directions of their layer"),
    ("ensemble_same_k", "neuron_inputs", "synapse ensembles beat one neuron's inputs"),
    ("ensemble_same_k", "neuron_gain", "synapse ensembles beat single neurons"),
)
SEMANTIC_SHARE = (0.01, 0.5)
BOXES_PER_MASK = 2
ALPHA = 0.05
N_PERM = 4999


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
    perm = rng.permuted(np.tile(np.concatenate([a, b]), (n_perm, 1)), axis=1)
    diff = np.abs(np.median(perm[:, :a.size], axis=1) - np.median(perm[:, a.size:], axis=1))
    return float((1 + np.count_nonzero(diff >= obs - 1e-12)) / (n_perm + 1))


def paired_test(a: np.ndarray, b: np.ndarray, n_perm: int, seed: int) -> float:
    """Two-sided p-value of the mean of d = log1p(a) − log1p(b) under random sign flips."""
    d = np.log1p(np.asarray(a, np.float64)) - np.log1p(np.asarray(b, np.float64))
    if d.size == 0:
        return 1.0
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(n_perm, d.size))
    null = np.abs((signs * d).mean(axis=1))
    return float((1 + np.count_nonzero(null >= abs(d.mean()) - 1e-12)) / (n_perm + 1))


@dataclass
class BasisResult:
    """Per region: name, kind ("semantic" | "random"), pixels, and sel float per arm."""

    layer: int
    layer_neurons: np.ndarray
    n_layers: int
    rule: dict
    regions: list[dict] = field(default_factory=list)
    tests: list[dict] = field(default_factory=list)
    medians: dict = field(default_factory=dict)
    verdict: list[str] = field(default_factory=list)

    def sels(self, arm: str, kind: str | None = None) -> np.ndarray:
        """float64[n]: the arm's measured sel over the regions (of one kind)."""
        return np.array([r["sel"][arm] for r in self.regions if kind in (None, r["kind"])])


def _best_direction(ctx: Context, moves: np.ndarray) -> float:
    """The highest measured sel over the moves (rows float[n, S]); 0 when none reaches LEVEL."""
    best = 0.0
    for v in moves:
        u = unit(v)
        if u is None:
            continue
        bl = float(u @ ctx.b @ u) + ctx.lam * float(u @ u)
        mv = ctx.move(float(u @ ctx.a @ u) / bl if bl > 0 else 0.0, u)
        best = max(best, mv.sel)
    return best


def arm_sels(topo: Topology, weights: np.ndarray, mask: np.ndarray, gains: np.ndarray,
             directions: np.ndarray) -> dict[str, float]:
    """The four arms' measured sel on one region (mask bool[H, W]); 0 where nothing reaches."""
    try:
        c = region_control(topo, weights, mask, extras=True)
    except UnreachableError:
        return dict.fromkeys(ARMS, 0.0)
    neuron = c.baselines.get("neuron")
    k3 = neuron[1].synapses.size if neuron is not None else 1
    ctx = c.ctx
    n, _ = best_neuron_first(ctx)
    paths = [greedy_path(ctx.a, ctx.b, ctx.lam, k3)[0],
             greedy_path(ctx.a, ctx.b, ctx.lam, k3, (fan_in(topo, n), None))[0]]
    same_k = max(ctx.best(np.asarray(p[:k3])).sel for p in paths)
    return {"neuron_gain": _best_direction(ctx, gains),
            "random_direction": _best_direction(ctx, directions),
            "neuron_inputs": neuron[1].sel if neuron is not None else 0.0,
            "ensemble_same_k": same_k}


def basis_masks(image: np.ndarray, regions: Sequence[tuple[str, np.ndarray]], seed: int,
                segments: bool = True, boxes_per_mask: int = BOXES_PER_MASK
                ) -> list[tuple[str, str, np.ndarray]]:
    """(name, kind, mask bool[H, W]) of the semantic masks and their random boxes."""
    h, w = image.shape[:2]
    semantic = list(regions)
    labels = segment_labels(image) if segments else np.zeros((0, 0), np.int64)
    for k in range(int(labels.max()) + 1 if labels.size else 0):
        m = labels == k
        if SEMANTIC_SHARE[0] <= m.mean() <= SEMANTIC_SHARE[1]:
            semantic.append((f"colour segment {k}", m))
    out = [(name, "semantic", m) for name, m in semantic]
    for i, (name, m) in enumerate(semantic):
        boxes = area_boxes(int(m.sum()), w, h, boxes_per_mask, seed + 1000 * (i + 1))
        out += [(f"box {','.join(map(str, b))} (area of {name})", "random", rect_mask(b, w, h))
                for b in boxes]
    return out


def area_boxes(pixels: int, width: int, height: int, n: int, seed: int
               ) -> list[tuple[int, int, int, int]]:
    """n seeded boxes (x0, y0, x1, y1) of about ``pixels`` pixels, in the picture's aspect."""
    f = min(1.0, np.sqrt(pixels / (width * height)))
    bw, bh = max(1, round(f * width)), max(1, round(f * height))
    if bw >= width and bh >= height:
        return []
    rng = np.random.default_rng(seed)
    xs, ys = rng.integers(0, width - bw + 1, n), rng.integers(0, height - bh + 1, n)
    return [(int(x), int(y), int(x) + bw, int(y) + bh) for x, y in zip(xs, ys, strict=True)]


def basis_test(topo: Topology, weights: np.ndarray, image: np.ndarray, layer: int | None = None,
               regions: Sequence[tuple[str, np.ndarray]] = (), seed: int = 0,
               progress: Callable[[int, int], None] | None = None, segments: bool = True,
               boxes_per_mask: int = BOXES_PER_MASK) -> BasisResult:
    """Run the four arms on the semantic masks and random boxes (see the module docstring);
    ``segments`` False uses the user regions alone."""
    layers = hidden_layers(topo)
    if not layers:
        raise LayerError("the network has no hidden layer")
    li = len(layers) if layer is None else layer
    if not 1 <= li <= len(layers):
        raise LayerError(f"layer {li} does not exist: the network has hidden layers "
                         f"1..{len(layers)}")
    neurons = layers[li - 1]
    weights = np.asarray(weights, np.float64)
    gains = gain_moves(topo, weights, neurons)
    directions = random_direction_moves(topo, weights, neurons, neurons.size, seed)
    masks = basis_masks(image, regions, seed, segments, boxes_per_mask)
    rule = {"level": LEVEL, "arms": list(ARMS), "semantic_share": list(SEMANTIC_SHARE),
            "segments": segments, "boxes_per_mask": boxes_per_mask,
            "random_directions": int(neurons.size),
            "test": "paired sign-flip on log1p(sel), two-sided", "n_perm": N_PERM,
            "alpha": ALPHA, "seed": seed}
    res = BasisResult(li, neurons, len(layers), rule)
    for i, (name, kind, m) in enumerate(masks):
        res.regions.append({"name": name, "kind": kind, "pixels": int(m.sum()),
                            "sel": arm_sels(topo, weights, m, gains, directions)})
        if progress is not None:
            progress(i + 1, len(masks))
    conclude(res)
    return res


def conclude(res: BasisResult) -> None:
    """Fill medians, tests and the verdict lines from the regions' sels."""
    res.medians = {arm: {kind: float(np.median(res.sels(arm, kind))) if res.sels(arm, kind).size
                         else None for kind in ("semantic", "random", None)}
                   for arm in ARMS}
    seed = int(res.rule["seed"])
    res.tests, res.verdict = [], []
    for a, b, meaning in COMPARISONS:
        sa, sb = res.sels(a), res.sels(b)
        p = paired_test(sa, sb, N_PERM, seed)
        ratio = float(np.exp(np.mean(np.log1p(sa) - np.log1p(sb)))) if sa.size else 1.0
        res.tests.append({"a": a, "b": b, "regions": int(sa.size), "median_a": _med(sa),
                          "median_b": _med(sb), "ratio": ratio, "p": p})
        holds = p < ALPHA and ratio > 1
        against = p < ALPHA and ratio < 1
        word = "yes" if holds else ("no, the reverse" if against else "not shown")
        res.verdict.append(f"{meaning}? {word}: median sel {_med(sa):.3g} vs {_med(sb):.3g}, "
                           f"geometric ratio {ratio:.2f}, p = {p:.3g} over {sa.size} regions")
    for arm in ("ensemble_same_k", "neuron_gain"):
        s, r = res.sels(arm, "semantic"), res.sels(arm, "random")
        p = permutation_test(s, r, N_PERM, seed)
        res.tests.append({"a": f"{arm}:semantic", "b": f"{arm}:random", "regions": int(s.size),
                          "median_a": _med(s), "median_b": _med(r), "p": p})
        more = p < ALPHA and _med(s) > _med(r)
        res.verdict.append(
            f"{arm} more selective on semantic regions than on random boxes? "
            f"{'yes' if more else 'not shown'}: median {_med(s):.3g} vs {_med(r):.3g}, "
            f"p = {p:.3g}")


def _med(v: np.ndarray) -> float:
    return float(np.median(v)) if np.size(v) else float("nan")
