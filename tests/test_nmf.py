"""NMF: reconstructs a planted low-rank non-negative matrix, deterministic with a seed."""

from __future__ import annotations

import numpy as np
import pytest
from synens.core.analysis.nmf import nmf
from synens.core.base.errors import SynensError


def planted(seed=1, p=240, s=70, k=4):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0, 1, (p, k)) * (rng.random((p, k)) < 0.5)
    h = rng.uniform(0, 1, (k, s)) * (rng.random((k, s)) < 0.5)
    return w @ h, w, h


def test_reconstructs_a_planted_low_rank_matrix_and_its_parts():
    m, _, h0 = planted()
    res = nmf(m, 4, seed=3, max_iter=3000, tol=1e-12)
    assert res.rel_error < 1e-3
    assert res.rel_error == pytest.approx(np.linalg.norm(m - res.W @ res.H) / np.linalg.norm(m))
    assert np.all(res.W >= 0) and np.all(res.H >= 0)
    np.testing.assert_allclose(res.W.max(axis=0), 1.0)
    # each planted part is recovered (up to order and scale): cosine of loadings near 1
    unit = res.H / np.linalg.norm(res.H, axis=1, keepdims=True)
    cos = (h0 / np.linalg.norm(h0, axis=1, keepdims=True)) @ unit.T
    assert np.all(cos.max(axis=1) > 0.99)


def test_too_few_parts_leave_an_error_and_more_parts_lower_it():
    m, _, _ = planted()
    errs = [nmf(m, k, seed=0, max_iter=800, tol=1e-10).rel_error for k in (1, 2, 3, 4)]
    assert errs[0] > 0.1 and errs[3] < 0.01
    assert all(a > b for a, b in zip(errs, errs[1:], strict=False))


def test_deterministic_with_a_seed():
    m, _, _ = planted(2)
    a = nmf(m, 3, seed=7)
    b = nmf(m, 3, seed=7)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.H, b.H)
    assert a.iterations == b.iterations
    c = nmf(m, 3, seed=8)
    assert not np.array_equal(a.W, c.W)


def test_zero_matrix_and_bad_input():
    z = nmf(np.zeros((5, 4)), 2)
    assert z.rel_error == 0 and not z.W.any()
    with pytest.raises(SynensError, match="non-negative"):
        nmf(-np.ones((4, 4)), 2)
    with pytest.raises(SynensError, match="non-negative"):
        nmf(np.full((4, 4), np.nan), 2)
    for k in (0, 5):
        with pytest.raises(SynensError, match="K must lie in 1..4"):
            nmf(np.ones((4, 6)), k)
    with pytest.raises(SynensError, match="2-D"):
        nmf(np.ones(4), 1)
