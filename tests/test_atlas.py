"""The ensemble atlas: planted regions come out as parts; members, neurons, participation."""

from __future__ import annotations

import numpy as np
import pytest
from synens.core.analysis.atlas import (
    atlas_picture,
    atlas_size,
    change_magnitudes,
    default_k,
    ensemble_atlas,
)
from synens.core.base.errors import SynensError
from synens.core.network.grad import jacobian
from test_ensemble import PLANTED_REGION, planted_picture, planted_region_net


@pytest.fixture(scope="module")
def planted():
    topo, w, want = planted_region_net()
    return topo, w, planted_picture(topo, w), want


def _region_masks():
    x0, y0, x1, y1 = PLANTED_REGION
    r = np.zeros((12, 16), bool)
    r[y0:y1, x0:x1] = True
    return r, ~r


def test_change_magnitudes_are_the_channel_norm_of_the_jacobian(planted):
    topo, w, _, _ = planted
    m = change_magnitudes(topo, w, 16, 12)
    j = jacobian(topo, w, 16, 12, None, np.float64)
    np.testing.assert_allclose(m, np.sqrt((j ** 2).sum(2)).reshape(-1, topo.n_synapses),
                               rtol=1e-4, atol=5e-5)  # float32 kernels


def test_planted_regions_become_the_parts(planted):
    topo, w, img, want = planted
    atlas = ensemble_atlas(topo, w, img)
    assert atlas.k == 2 and "SVD" in atlas.k_rule  # the default rule finds the two areas
    r, o = _region_masks()
    assert np.array_equal(atlas.regions[0], o) and np.array_equal(atlas.regions[1], r)
    np.testing.assert_allclose(atlas.share, [o.mean(), r.mean()])
    touches_r = want["core"] | want["shared"]
    inner = set(atlas.members[1].tolist())
    assert inner <= touches_r and len(inner) >= 7
    red = {int(s) for s in np.flatnonzero(topo.dst == 8)}
    assert red <= inner
    outer = set(atlas.members[0].tolist())
    assert not outer & want["core"]  # core members of R touch nothing outside it
    assert want["shared"] <= outer  # shared ones serve both parts
    # neurons and participation follow from the members
    for mem, neu in zip(atlas.members, atlas.neurons, strict=True):
        touched = set(topo.dst[mem].tolist()) | {int(v) for v in topo.src[mem] if v >= 0}
        assert set(neu.tolist()) == touched
    count = np.zeros(topo.n_neurons, int)
    for neu in atlas.neurons:
        count[neu] += 1
    np.testing.assert_array_equal(atlas.participation, count)
    assert atlas.participation[6] == 2  # hs feeds red (inside) and green (outside)


def test_members_follow_the_loading_threshold(planted):
    topo, w, img, _ = planted
    atlas = ensemble_atlas(topo, w, img, 3, seed=1)
    for load, mem in zip(atlas.loadings, atlas.members, strict=True):
        cut = atlas.member_share * load.max()
        assert np.all(load[mem] >= cut)
        assert np.all(np.delete(load, mem) < cut)
        assert np.all(np.diff(load[mem]) <= 0)


def test_deterministic_with_a_seed(planted):
    topo, w, img, _ = planted
    a = ensemble_atlas(topo, w, img, 3, seed=4)
    b = ensemble_atlas(topo, w, img, 3, seed=4)
    np.testing.assert_array_equal(a.maps, b.maps)
    np.testing.assert_array_equal(a.loadings, b.loadings)
    assert all(np.array_equal(x, y) for x, y in zip(a.members, b.members, strict=True))


def test_k_out_of_range_is_refused(planted):
    topo, w, img, _ = planted
    for k in (0, topo.n_synapses + 1, -3):
        with pytest.raises(SynensError, match=f"K must lie in 1..{topo.n_synapses}"):
            ensemble_atlas(topo, w, img, k)


def test_default_k_rule_and_grid():
    rng = np.random.default_rng(0)
    m = rng.uniform(0, 1, (300, 5)) @ rng.uniform(0, 1, (5, 40))
    assert 2 <= default_k(m) <= 5
    assert default_k(np.zeros((10, 4))) == 2
    assert atlas_size(128, 99) == (64, 50)
    assert atlas_size(99, 128) == (50, 64)
    assert atlas_size(16, 12) == (16, 12)


def test_atlas_picture_tiles_the_picture_and_each_part(planted):
    topo, w, img, _ = planted
    atlas = ensemble_atlas(topo, w, img, 2)
    pic = atlas_picture(atlas, img, per_row=4, gap=2)
    assert pic.dtype == np.uint8 and pic.shape == (12, 3 * 16 + 2 * 2, 3)
    np.testing.assert_array_equal(pic[:, :16], img)
    assert pic[:, 18:34].any() and pic[:, 36:52].any()
