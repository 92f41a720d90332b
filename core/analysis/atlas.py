"""The atlas: the parts of the picture that synapse ensembles control, found by the region test.

Candidates cover the picture: its colour segments holding CANDIDATE_SHARE of the pixels and a
``grid`` × ``grid`` grid of boxes. Each candidate gets the region pipeline's answer (ceiling,
ensemble, k; ``null.box_answer``) and a null: ``null_boxes`` seeded boxes of its pixel count
in the picture's aspect (``basis.area_boxes``; candidates of one area share one null). A
candidate is *specific* when its ensemble sel lies at or above SPECIFIC_PCT of its null.
Specific candidates whose ensembles overlap (Jaccard of the synapse sets ≥ MERGE_JACCARD) are
merged into one part. Each pixel belongs to the part of the most selective specific candidate
covering it, or to no part. NMF of change-map magnitudes (the former atlas) gave one part over
almost the whole picture on the shipped model, so it is not used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from synens.core.analysis.basis import area_boxes
from synens.core.analysis.masks import rect_mask, segment_labels
from synens.core.analysis.measure import UnreachableError
from synens.core.analysis.null import box_answer, percentile
from synens.core.base.errors import SynensError
from synens.core.base.topology import Topology

CANDIDATE_SHARE = (0.01, 0.5)
GRID = 3
NULL_BOXES = 10
SPECIFIC_PCT = 90.0
MERGE_JACCARD = 0.5


@dataclass
class Candidate:
    """One candidate region: mask bool[H, W], its answer and its null percentile."""

    name: str
    kind: str
    mask: np.ndarray
    ceiling: float = 0.0
    sel: float = 0.0
    k: int = 0
    members: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    percentile: float | None = None

    @property
    def specific(self) -> bool:
        return self.percentile is not None and self.percentile >= SPECIFIC_PCT


@dataclass
class Part:
    """A part: the candidates merged into it, its pixels bool[H, W] and its members int64[m]."""

    candidates: list[str]
    mask: np.ndarray
    members: np.ndarray
    sel: float
    share: float = 0.0


@dataclass
class Atlas:
    """Candidates, parts (largest first), labels int64[H, W] (-1: no part) and the rule."""

    size: tuple[int, int]
    candidates: list[Candidate]
    parts: list[Part]
    labels: np.ndarray
    rule: dict

    @property
    def maps(self) -> np.ndarray:
        """float64[K, H, W]: 1 where the pixel belongs to part k (the explorer's view 6)."""
        return np.stack([(self.labels == i).astype(np.float64) for i in range(len(self.parts))]) \
            if self.parts else np.zeros((0, *self.labels.shape))


def candidates(image: np.ndarray, grid: int = GRID) -> list[Candidate]:
    """The colour segments (CANDIDATE_SHARE of the pixels) and the grid boxes."""
    h, w = image.shape[:2]
    labels = segment_labels(image)
    out = [Candidate(f"colour segment {k}", "segment", labels == k)
           for k in range(int(labels.max()) + 1)
           if CANDIDATE_SHARE[0] <= float(np.mean(labels == k)) <= CANDIDATE_SHARE[1]]
    xs, ys = np.linspace(0, w, grid + 1).round().astype(int), \
        np.linspace(0, h, grid + 1).round().astype(int)
    for j in range(grid if grid > 1 else 0):  # a 1×1 grid's box is the whole picture: none
        for i in range(grid):
            box = (int(xs[i]), int(ys[j]), int(xs[i + 1]), int(ys[j + 1]))
            out.append(Candidate(f"box {','.join(map(str, box))}", "box", rect_mask(box, w, h)))
    return out


def ensemble_atlas(topo: Topology, weights: np.ndarray, image: np.ndarray, grid: int = GRID,
                   null_boxes: int = NULL_BOXES, seed: int = 0,
                   progress: Callable[[int, int], None] | None = None) -> Atlas:
    """The atlas of a model (see the module docstring); progress(done, total) per region run."""
    if not 1 <= grid <= 8:
        raise SynensError(f"the atlas grid must lie in 1..8, got {grid}")
    if not 1 <= null_boxes <= 1000:
        raise SynensError(f"the atlas's null boxes must lie in 1..1000, got {null_boxes}")
    h, w = image.shape[:2]
    weights = np.asarray(weights, np.float64)
    cands = candidates(image, grid)
    areas = sorted({int(c.mask.sum()) for c in cands})
    total, done = len(cands) + len(areas) * null_boxes, 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    for c in cands:
        try:
            c.ceiling, c.sel, c.k, c.members = _answer(topo, weights, c.mask)
        except UnreachableError:
            pass
        tick()
    nulls = {}
    for a in areas:
        sels = []
        for box in area_boxes(a, w, h, null_boxes, seed + a):
            try:
                sels.append(box_answer(topo, weights, rect_mask(box, w, h))[1])
            except UnreachableError:
                sels.append(0.0)
            tick()
        nulls[a] = np.asarray(sels)
    for c in cands:
        null = nulls[int(c.mask.sum())]
        c.percentile = percentile(c.sel, null) if c.sel > 0 and null.size else None
    parts, labels = merge(cands, h, w)
    rule = {"candidates": f"colour segments holding {CANDIDATE_SHARE[0]:.0%}.."
            f"{CANDIDATE_SHARE[1]:.0%} of the pixels and a {grid}×{grid} grid of boxes",
            "null_boxes": null_boxes, "seed": seed, "specific_percentile": SPECIFIC_PCT,
            "merge_jaccard": MERGE_JACCARD, "grid": grid,
            "pixel": "the part of the most selective specific candidate covering it"}
    return Atlas((w, h), cands, parts, labels, rule)


def _answer(topo: Topology, weights: np.ndarray, mask: np.ndarray
            ) -> tuple[float, float, int, np.ndarray]:
    from synens.core.analysis.control import region_control

    c = region_control(topo, weights, mask, extras=False)
    return c.ceiling.sel, c.ensemble.sel, c.k, np.sort(c.members)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """|a ∩ b| / |a ∪ b| of two synapse sets (0 for two empty sets)."""
    union = np.union1d(a, b).size
    return np.intersect1d(a, b).size / union if union else 0.0


def merge(cands: list[Candidate], h: int, w: int) -> tuple[list[Part], np.ndarray]:
    """Parts of the specific candidates (merged by ensemble overlap) and the pixel labels."""
    spec = [c for c in cands if c.specific]
    root = list(range(len(spec)))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i in range(len(spec)):
        for j in range(i + 1, len(spec)):
            if jaccard(spec[i].members, spec[j].members) >= MERGE_JACCARD:
                root[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(spec)):
        groups.setdefault(find(i), []).append(i)
    owner = np.full((h, w), -1, np.int64)
    best = np.full((h, w), -np.inf)
    group_of = {i: g for g, members in enumerate(groups.values()) for i in members}
    for i, c in enumerate(spec):
        take = c.mask & (c.sel > best)
        owner[take], best[take] = group_of[i], c.sel
    parts = []
    for g, members in enumerate(groups.values()):
        mask = owner == g
        parts.append(Part([spec[i].name for i in members], mask,
                          np.unique(np.concatenate([spec[i].members for i in members])),
                          max(spec[i].sel for i in members), float(mask.mean())))
    order = sorted((g for g in range(len(parts)) if parts[g].share > 0),
                   key=lambda g: -parts[g].share)
    labels = np.full((h, w), -1, np.int64)
    for new, g in enumerate(order):
        labels[owner == g] = new
    return [parts[g] for g in order], labels


PART_COLOURS = np.array([(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200),
                         (245, 130, 48), (145, 30, 180), (70, 240, 240), (240, 50, 230),
                         (210, 245, 60), (250, 190, 212), (0, 128, 128), (170, 110, 40)],
                        np.uint8)


def atlas_picture(atlas: Atlas, image: np.ndarray) -> np.ndarray:
    """The picture beside its parts (each part's colour over the dimmed picture; no part: grey
    dimmed): uint8[H, 2W + 2, 3]."""
    h, w = image.shape[:2]
    over = (np.asarray(image, np.float64) * 0.35).round().astype(np.uint8)
    for i in range(len(atlas.parts)):
        over[atlas.labels == i] = PART_COLOURS[i % len(PART_COLOURS)]
    out = np.full((h, 2 * w + 2, 3), 32, np.uint8)
    out[:, :w], out[:, w + 2:] = image, over
    return out
