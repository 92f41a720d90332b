"""Change maps of single synapses, regions and influence: finite differences, NumPy checks."""

from __future__ import annotations

import numpy as np
import pytest
import reference as R
from conftest import layered_weights, random_dag, render_fd
from synens.core.analysis.changemap import (
    RegionError,
    check_region,
    exact_change_map,
    influence,
    linear_change_map,
    magnitude,
    parse_region,
    region_masks,
)
from synens.core.base.errors import SynensError
from synens.core.base.topology import layered
from synens.core.network.render import render

W, H = 9, 7


def _fd(topo, w, s):
    return render_fd(topo, w, W, H, [s])[..., 0]


@pytest.mark.parametrize("seed", range(8))
def test_linear_change_map_matches_finite_differences(seed):
    topo, w = random_dag(seed)
    for s in range(topo.n_synapses):
        lin = linear_change_map(topo, w, s, W, H)
        assert lin.shape == (H, W, 3) and lin.dtype == np.float64
        np.testing.assert_allclose(lin, _fd(topo, w, s), atol=2e-8, rtol=1e-5)


def test_linear_change_map_on_the_default_net():
    topo = layered()
    w = layered_weights(topo, 3)
    for s in (0, 1, 2, 57, 200, 418, 459):
        np.testing.assert_allclose(linear_change_map(topo, w, s, W, H), _fd(topo, w, s),
                                   atol=2e-8, rtol=1e-5)


def test_exact_change_map_is_a_render_difference_and_tends_to_the_linear_one():
    topo, w = random_dag(3)
    s = topo.n_synapses - 1
    big = exact_change_map(topo, w, s, -0.8, W, H)
    moved = w.copy()
    moved[s] = -0.8
    np.testing.assert_array_equal(big, render(topo, moved, W, H, np.float64)
                                  - render(topo, w, W, H, np.float64))
    d = 1e-5
    small = exact_change_map(topo, w, s, w[s] + d, W, H) / d
    np.testing.assert_allclose(small, linear_change_map(topo, w, s, W, H), atol=1e-5)
    assert np.all(magnitude(big) >= 0)
    np.testing.assert_allclose(magnitude(big), np.sqrt((big ** 2).sum(-1)))


def test_change_maps_refuse_missing_synapses():
    topo, w = random_dag(1)
    for s in (-1, topo.n_synapses):
        with pytest.raises(SynensError, match="does not exist"):
            linear_change_map(topo, w, s, W, H)
        with pytest.raises(SynensError, match="does not exist"):
            exact_change_map(topo, w, s, 0.3, W, H)


@pytest.mark.parametrize("seed", range(5))
def test_influence_matches_numpy_from_the_full_jacobian(seed):
    topo, w = random_dag(seed)
    rng = np.random.default_rng(seed)
    masks = rng.random((3, H, W)) < 0.4
    masks[2] = False  # an empty mask gives 0
    j = R.jacobian(topo, w, W, H)
    want = np.zeros((3, topo.n_synapses))
    for g in range(2):
        want[g] = np.sqrt(np.mean(j[masks[g]] ** 2, axis=(0, 1)))
    np.testing.assert_allclose(influence(topo, w, masks, dtype=np.float64), want,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(influence(topo, w, masks), want, rtol=2e-4, atol=1e-6)
    sub = [0, topo.n_synapses - 1]
    np.testing.assert_allclose(influence(topo, w, masks, sub, np.float64), want[:, sub],
                               rtol=1e-9, atol=1e-12)


def test_region_masks_are_half_open():
    m = region_masks(W, H, (2, 1, 5, 4))
    assert m.shape == (2, H, W) and m.dtype == bool
    assert m[0].sum() == 9 and np.array_equal(m[1], ~m[0])
    assert m[0, 1, 2] and m[0, 3, 4] and not m[0, 4, 4] and not m[0, 3, 5] and not m[0, 0, 2]


@pytest.mark.parametrize("text, words", [
    ("1,2,3", "four integers"), ("a,b,c,d", "four integers"), ("1,2,3,4,5", "four integers"),
    ("1.5,0,3,3", "four integers"), ("", "four integers"),
    ("5,1,2,4", "inverted"), ("1,5,4,2", "inverted"),
    ("2,2,2,5", "empty"), ("1,3,4,3", "empty"),
    ("0,0,10,5", "outside"), ("-1,0,2,2", "outside"), ("0,0,3,8", "outside"),
    ("0,0,9,7", "whole picture"),
])
def test_bad_regions_are_refused_with_their_message(text, words):
    with pytest.raises(RegionError, match=words) as info:
        parse_region(text, W, H)
    assert "\n" not in str(info.value)


def test_good_regions_parse():
    assert parse_region(" 0, 0 ,9,6", W, H) == (0, 0, 9, 6)
    assert parse_region("8,6,9,7", W, H) == (8, 6, 9, 7)
    assert check_region(np.array([1, 1, 2, 2]), W, H) == (1, 1, 2, 2)
    with pytest.raises(RegionError):
        check_region((0.5, 0, 2, 2), W, H)
