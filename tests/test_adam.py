"""The Adam epoch kernel (kernels_grad._adam_epoch) against the NumPy reference epoch."""

from __future__ import annotations

import numpy as np
import pytest
import reference as R
from conftest import _sample_set, random_dag
from numba import njit
from synens.core.base.grid import pack
from synens.core.kernels import backward as KG

# ----------------------------------------------------------------------------------- Adam


def _adam_case(topo, w, count, batch, seed, lr=1e-2, l2=1e-3):
    """Run the kernel's and the reference's epoch from the same state (float64)."""
    rng = np.random.default_rng(seed)
    xs, ys, ts = _sample_set(count, seed)
    perm = rng.permutation(count)
    m0 = rng.normal(0.0, 0.01, topo.n_synapses)
    v0 = rng.uniform(0.0, 1e-3, topo.n_synapses)
    net = pack(topo, w, np.float64)
    w64, wk, m, v = w.copy(), net.w.copy(), m0.copy(), v0.copy()
    step = np.array([5], np.int64)
    total = KG._adam_epoch(w64, wk, net.src, net.ptr, net.order, net.outs, xs, ys, ts, perm,
                          batch, lr, l2, m, v, step)
    ref = R.adam_epoch(topo, w, xs, ys, ts, perm, batch, lr, l2, m0, v0, 5)
    return (w64, wk, m, v, int(step[0]), total), ref


def _assert_adam_equal(got, ref):
    w64, wk, m, v, step, total = got
    rw, rm, rv, rstep, rtotal = ref
    assert step == rstep
    # Same float64 operations up to summation order; Adam's update m/sqrt(v) is smooth away
    # from v ~ 0 (v0 > 0 here), so 1e-10 leaves ~1e4x margin over the measured ~1e-14.
    np.testing.assert_allclose(w64, rw, rtol=0, atol=1e-10)
    assert np.array_equal(wk, w64)  # the kernel-dtype copy follows the master weights
    np.testing.assert_allclose(m, rm, rtol=1e-10, atol=1e-10 * np.max(np.abs(rm)))
    np.testing.assert_allclose(v, rv, rtol=1e-10, atol=1e-10 * np.max(np.abs(rv)))
    assert abs(total - rtotal) <= 1e-10 * rtotal


@pytest.mark.parametrize("batch", [1, 7, 64, 256])
def test_adam_epoch_matches_reference(batch):
    for topo, w in (random_dag(3), random_dag(8)):
        # 300 samples: not a multiple of 7, 64 or 256, so the last batch is partial.
        got, ref = _adam_case(topo, w, 300, batch, seed=batch)
        _assert_adam_equal(got, ref)
        assert np.max(np.abs(got[0] - w)) > 1e-3  # the epoch did move the weights


def test_adam_epoch_layered(net):
    topo, w = net
    _assert_adam_equal(*_adam_case(topo, w, 300, 64, seed=9))


@njit
def _poison_heap(n: int) -> float:
    """Allocate and free NaN-filled arrays of every size < n, so that the next np.empty of
    those sizes likely reuses NaN-filled memory (what a long-running process may hold)."""
    total = 0.0
    for k in range(1, n):
        total += np.full(k, np.nan)[0]
    return total


@pytest.mark.parametrize("batch", [7, 64, 256])
def test_adam_epoch_fewer_samples_than_batch(batch):
    """With fewer samples than one batch, the padded slots of the first batch are masked,
    but their x, y, targets must still be finite: 0 * NaN is NaN and would poison the
    gradient. The kernel leaves them uninitialised (np.empty)."""
    topo, w = random_dag(3)
    _poison_heap(4 * batch)
    got, ref = _adam_case(topo, w, 5, batch, seed=11)
    assert np.all(np.isfinite(got[0])) and np.isfinite(got[5])
    _assert_adam_equal(got, ref)
