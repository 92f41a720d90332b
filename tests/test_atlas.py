"""The atlas: candidates, the null rule, merging by ensemble overlap, pixel ownership."""

from __future__ import annotations

import numpy as np
import pytest
from synens.core.analysis.atlas import (
    Candidate,
    atlas_picture,
    candidates,
    ensemble_atlas,
    jaccard,
    merge,
)
from synens.core.base.errors import SynensError
from test_ensemble import planted_picture, planted_region_net


@pytest.fixture(scope="module")
def planted():
    topo, w, _ = planted_region_net()
    return topo, w, planted_picture(topo, w)


def box(h, w, x0, y0, x1, y1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def cand(name, mask, sel, members, pct):
    return Candidate(name, "box", mask, sel, sel, len(members), np.array(members, np.int64), pct)


def test_jaccard():
    assert jaccard(np.array([1, 2, 3]), np.array([2, 3, 4])) == 0.5
    assert jaccard(np.array([], np.int64), np.array([], np.int64)) == 0.0


def test_merge_joins_overlapping_ensembles_and_gives_pixels_to_the_most_selective():
    h, w = 6, 8
    a = cand("a", box(h, w, 0, 0, 4, 6), 10.0, [1, 2, 3, 4], 95.0)
    b = cand("b", box(h, w, 2, 0, 6, 6), 20.0, [1, 2, 3, 5], 99.0)  # Jaccard 3/5 with a: merged
    c = cand("c", box(h, w, 6, 0, 8, 3), 5.0, [7, 8], 100.0)
    d = cand("d", box(h, w, 6, 3, 8, 6), 50.0, [9], 50.0)  # not specific: no part
    parts, labels = merge([a, b, c, d], h, w)
    assert [p.candidates for p in parts] == [["a", "b"], ["c"]]  # largest first
    np.testing.assert_array_equal(parts[0].members, [1, 2, 3, 4, 5])
    assert parts[0].share == pytest.approx(36 / 48) and parts[1].share == pytest.approx(6 / 48)
    assert np.all(labels[:, :6] == 0) and np.all(labels[:3, 6:] == 1)
    assert np.all(labels[3:, 6:] == -1)  # d's pixels belong to no part
    assert parts[0].sel == 20.0


def test_candidates_are_segments_and_a_grid(planted):
    _, _, img = planted
    cands = candidates(img, grid=2)
    boxes = [c for c in cands if c.kind == "box"]
    assert len(boxes) == 4 and np.all(sum(c.mask.astype(int) for c in boxes) == 1)
    for c in cands:
        if c.kind == "segment":
            assert 0.01 <= c.mask.mean() <= 0.5


def test_atlas_is_deterministic_and_consistent(planted):
    topo, w, img = planted
    a = ensemble_atlas(topo, w, img, grid=2, null_boxes=3, seed=1)
    b = ensemble_atlas(topo, w, img, grid=2, null_boxes=3, seed=1)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert [c.percentile for c in a.candidates] == [c.percentile for c in b.candidates]
    for i, p in enumerate(a.parts):
        assert np.array_equal(p.mask, a.labels == i) and p.share == pytest.approx(p.mask.mean())
        specific = {c.name for c in a.candidates if c.specific}
        assert set(p.candidates) <= specific
    assert a.maps.shape == (len(a.parts), *img.shape[:2])
    pic = atlas_picture(a, img)
    assert pic.shape == (img.shape[0], 2 * img.shape[1] + 2, 3)
    np.testing.assert_array_equal(pic[:, :img.shape[1]], img)


def test_bad_arguments(planted):
    topo, w, img = planted
    with pytest.raises(SynensError, match="grid must lie in 1..8"):
        ensemble_atlas(topo, w, img, grid=0)
    with pytest.raises(SynensError, match="null boxes must lie in 1..1000"):
        ensemble_atlas(topo, w, img, null_boxes=0)
