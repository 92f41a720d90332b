"""The split-region kernels against plain NumPy sums over the reference Jacobian."""

from __future__ import annotations

import numpy as np
import pytest
import reference as R
from conftest import random_dag
from synens.core.base.topology import layered
from synens.core.kernels.split import _syrk_lower
from synens.core.network.render import render
from synens.core.network.streaming import (
    jvp,
    split_gram,
    split_samples,
    split_sumsq,
)

W, H = 21, 17  # 357 pixels: R and O both span several chunks, the last ones padded


def _inside(region):
    x0, y0, x1, y1 = region
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_split_samples_put_r_first():
    sp = split_samples(W, H, (3, 2, 9, 7))
    x, y = R.pixel_coords(W, H)
    m = _inside((3, 2, 9, 7)).ravel()
    assert (sp.n_in, sp.n_out) == (30, W * H - 30) and sp.c_in == 1
    np.testing.assert_allclose(sp.x[0, :30], x[m], rtol=1e-6)
    np.testing.assert_allclose(sp.y[0, :30], y[m], rtol=1e-6)
    assert sp.mask[0].sum() == 30 and sp.mask[1:].sum() == W * H - 30
    np.testing.assert_allclose(sp.x[1:][sp.mask[1:] > 0], x[~m], rtol=1e-6)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("region", [(3, 2, 9, 7), (0, 0, 21, 16), (20, 16, 21, 17)])
def test_split_sumsq_and_gram_match_numpy(seed, region):
    topo, w = random_dag(seed)
    j = R.jacobian(topo, w, W, H)
    m = _inside(region)
    want_ss = np.stack([np.sum(j[m] ** 2, axis=(0, 1)), np.sum(j[~m] ** 2, axis=(0, 1))])
    cols = np.arange(topo.n_synapses)[::-1][: max(1, topo.n_synapses - 2)]  # k not always 4n
    jc = j[..., cols]
    want_g = np.stack([np.einsum("pcs,pct->st", jc[m], jc[m]),
                       np.einsum("pcs,pct->st", jc[~m], jc[~m])])
    sp64 = split_samples(W, H, region, np.float64)
    np.testing.assert_allclose(split_sumsq(topo, w, sp64), want_ss, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(split_gram(topo, w, sp64, cols), want_g, rtol=1e-10,
                               atol=1e-13)
    sp32 = split_samples(W, H, region)
    scale = np.abs(want_g).max() + 1e-30
    np.testing.assert_allclose(split_sumsq(topo, w, sp32), want_ss, rtol=2e-4,
                               atol=1e-6 * scale)
    g32 = split_gram(topo, w, sp32, cols)
    np.testing.assert_allclose(g32, want_g, rtol=2e-4, atol=2e-6 * scale)
    assert np.array_equal(g32, g32.transpose(0, 2, 1))


def test_split_gram_on_the_default_net():
    topo = layered()
    w = np.random.default_rng(0).normal(0, 0.4, topo.n_synapses)
    j = R.jacobian(topo, w, 12, 9)
    region = (2, 1, 7, 6)
    m = np.zeros((9, 12), bool)
    m[1:6, 2:7] = True
    cols = np.array([0, 1, 57, 200, 418, 459, 3])
    jc = j[..., cols]
    want = np.einsum("pcs,pct->st", jc[~m], jc[~m])
    got = split_gram(topo, w, split_samples(12, 9, region, np.float64), cols)[1]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("k", [1, 4, 7, 13])
def test_syrk_lower_matches_numpy(k):
    rng = np.random.default_rng(k)
    k4 = -(-k // 4) * 4
    jc = np.zeros((k4, 40))
    jc[:k] = rng.standard_normal((k, 40))
    g = np.full((k4, k4), 0.5)
    _syrk_lower(jc, k4, g)
    want = 0.5 + jc @ jc.T
    low = np.tril(np.ones((k4, k4), bool))
    np.testing.assert_allclose(g[low], want[low], rtol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_jvp_matches_the_reference_jacobian(seed):
    topo, w = random_dag(seed)
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((3, topo.n_synapses))
    v[1, ::2] = 0.0  # sparse directions skip their zero entries
    j = R.jacobian(topo, w, W, H)
    want = np.einsum("hwcs,ds->dhwc", j, v)
    np.testing.assert_allclose(jvp(topo, w, v, W, H, np.float64), want, rtol=1e-10,
                               atol=1e-12)
    scale = np.abs(want).max()
    np.testing.assert_allclose(jvp(topo, w, v, W, H), want, rtol=1e-4, atol=1e-5 * scale)
    assert jvp(topo, w, v[0], W, H).shape == (1, H, W, 3)


def _render_dir_fd(topo, w, v, h=1e-6):
    """Central differences of the float64 painting along v: float64[H, W, 3]."""
    return (render(topo, w + h * v, W, H, np.float64)
            - render(topo, w - h * v, W, H, np.float64)) / (2 * h)


# J v against central differences, h = 1e-6, float64, unit-norm directions (so |J v| = O(1),
# ~1.8 at most on these nets). Truncation is h^2/6 |d^3 f/dt^3| ~ 1e-12; round-off is a few ulps
# of the O(1) paintings over 2h, plus the rounding of w +- h v (ulp(w) / 2h per synapse, random
# signs): ~1e-9 in all. atol 1e-8 keeps a >10x margin over the measured worst (6.9e-10 over the
# 10 random DAGs and layered()) and is ~1e-8 relative: any wrong term in the kernel shows far above.
JVP_FD_ATOL = 1e-8


def _jvp_fd_error(topo, w):
    """Worst |jvp - central differences| over three seeded unit directions (one sparse)."""
    rng = np.random.default_rng(topo.n_synapses)
    v = rng.standard_normal((3, topo.n_synapses))
    v[2, ::2] = 0.0  # a sparse direction: the kernel skips its zero entries
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    got = jvp(topo, w, v, W, H, np.float64)
    assert got.dtype == np.float64 and got.shape == (3, H, W, 3)
    return max(float(np.max(np.abs(got[d] - _render_dir_fd(topo, w, v[d])))) for d in range(3))


def test_jvp_matches_central_differences_on_random_dags(dag):
    assert _jvp_fd_error(*dag) < JVP_FD_ATOL


def test_jvp_matches_central_differences_on_layered(net):
    assert _jvp_fd_error(*net) < JVP_FD_ATOL
