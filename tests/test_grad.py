"""loss_and_grad, jacobian, jac_sumsq and jac_gram: reference, finite differences, determinism."""

# Tolerances: float64 kernels use exact tanh and differ from the reference only by summation
# order, so they are held to ~1e-12 (a few hundred ulps of O(1) values). float32 kernels add
# float32 rounding of inputs/weights (2^-24 ~ 6e-8 relative per operation) and the rational tanh
# (<= 3.1e-7 abs); through <= 12 layers of O(1) weights that stays far below 1e-5.

from __future__ import annotations

import numpy as np
import pytest
import reference as R
from conftest import _sample_set, _scaled_err, random_dag, render_fd
from synens.core.base.grid import chunked, grid, image_targets, samples
from synens.core.base.jit import CHUNK
from synens.core.network.grad import jac_gram, jac_sumsq, jacobian, loss_and_grad
from synens.core.network.render import render

# ------------------------------------------------------------------------- loss and grad


def _kernel_loss(topo, w, x, y, t, l2, dtype=np.float64):
    return loss_and_grad(topo, w, samples(x, y, dtype), chunked(t.astype(dtype)), l2)


@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_loss_and_grad_matches_reference(dag, l2):
    topo, w = dag
    x, y, t = _sample_set(300, 1)
    loss, grad = _kernel_loss(topo, w, x, y, t, l2)
    ref_loss, ref_grad = R.loss_and_grad(topo, w, x, y, t, l2)
    assert grad.dtype == np.float64 and grad.shape == (topo.n_synapses,)
    # float64 sums over 300 samples in another order: relative 1e-10 is ~1e6 ulps of margin.
    assert abs(loss - ref_loss) <= 1e-10 * ref_loss
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-10 * np.max(np.abs(ref_grad)))


def _central_fd(f, w, syns, h=1e-6):
    out = np.empty(len(syns))
    for k, s in enumerate(syns):
        wp, wm = w.copy(), w.copy()
        wp[s] += h
        wm[s] -= h
        out[k] = (f(wp) - f(wm)) / (2 * h)
    return out


# Central differences with h = 1e-6: truncation ~h^2·|f'''| ~ 1e-12, round-off ~
# eps·|f|/h ~ 2e-10 for |f| ~ 1. rtol 1e-6 plus atol 1e-8 covers both with margin.
FD_RTOL, FD_ATOL = 1e-6, 1e-8


@pytest.mark.parametrize("l2", [0.0, 0.03])
def test_loss_grad_finite_differences(dag, l2):
    topo, w = dag
    x, y, t = _sample_set(200, 2)
    _, grad = _kernel_loss(topo, w, x, y, t, l2)
    fd = _central_fd(lambda v: R.loss(topo, v, x, y, t, l2), w, range(topo.n_synapses))
    np.testing.assert_allclose(grad, fd, rtol=FD_RTOL, atol=FD_ATOL)


def test_loss_grad_layered(net):
    topo, w = net
    x, y, t = _sample_set(300, 3)
    loss, grad = _kernel_loss(topo, w, x, y, t, 0.01)
    ref_loss, ref_grad = R.loss_and_grad(topo, w, x, y, t, 0.01)
    assert abs(loss - ref_loss) <= 1e-10 * ref_loss
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-10 * np.max(np.abs(ref_grad)))
    syns = [0, 1, 2, 100, 230, 396, 397, 418, 459]
    fd = _central_fd(lambda v: R.loss(topo, v, x, y, t, 0.01), w, syns)
    np.testing.assert_allclose(grad[syns], fd, rtol=FD_RTOL, atol=FD_ATOL)


#: Sample counts of the padding test: a padded lone chunk, an exact chunk, padding after full ones.
PADDING_COUNTS = (1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 88)


@pytest.mark.parametrize("count", PADDING_COUNTS)
def test_loss_grad_padding_mask(count):
    """Padding samples (to a multiple of 256) must not count: compare with the exact set."""
    topo, w = random_dag(4)
    x, y, t = _sample_set(count, count)
    loss, grad = _kernel_loss(topo, w, x, y, t, 0.0)
    ref_loss, ref_grad = R.loss_and_grad(topo, w, x, y, t)
    assert abs(loss - ref_loss) <= 1e-10 * ref_loss
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-10 * np.max(np.abs(ref_grad)))


def test_loss_grad_float32(dag):
    """float32 kernel: the forward's <1e-6 error and per-chunk float32 sums of 256 terms
    (error ~ sqrt(256)·6e-8 typical): 1e-5 relative (measured worst 4e-7)."""
    topo, w = dag
    x, y, t = _sample_set(600, 4)
    loss, grad = _kernel_loss(topo, w, x, y, t, 0.0, np.float32)
    ref_loss, ref_grad = R.loss_and_grad(topo, w, x, y, t)
    assert abs(loss - ref_loss) <= 1e-5 * ref_loss
    np.testing.assert_allclose(grad, ref_grad, rtol=0, atol=1e-5 * np.max(np.abs(ref_grad)))


def test_loss_grad_on_picture(dag, tiny_picture):
    """The pixel grid and image_targets line up with the reference's pixel order."""
    topo, w = dag
    h, wd = tiny_picture.shape[:2]
    g = grid(wd, h, np.float64)
    loss, grad = loss_and_grad(topo, w, g.samples, image_targets(tiny_picture, np.float64))
    x, y = R.pixel_coords(wd, h)
    t = tiny_picture.reshape(-1, 3).T / 255.0 * 2.0 - 1.0
    ref_loss, ref_grad = R.loss_and_grad(topo, w, x, y, t)
    assert abs(loss - ref_loss) <= 1e-10 * ref_loss
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-10 * np.max(np.abs(ref_grad)))


# ------------------------------------------------------------------------------ jacobian


def test_jacobian_matches_reference(dag):
    topo, w = dag
    ref = R.jacobian(topo, w, 33, 17)
    j64 = jacobian(topo, w, 33, 17, dtype=np.float64)
    assert j64.dtype == np.float64 and j64.shape == (17, 33, 3, topo.n_synapses)
    assert _scaled_err(j64, ref) < 1e-12
    j32 = jacobian(topo, w, 33, 17)
    assert j32.dtype == np.float32
    # float32: the backward pass multiplies <= 12 factors (1 - a^2)·w, each carrying the
    # forward's <1e-6 error: 1e-5 relative to the largest entry (measured worst 6.5e-7).
    assert _scaled_err(j32, ref) < 1e-5


def test_jacobian_finite_differences(dag):
    topo, w = dag
    j = jacobian(topo, w, 7, 5, dtype=np.float64)
    np.testing.assert_allclose(j, render_fd(topo, w, 7, 5, range(topo.n_synapses)),
                               rtol=FD_RTOL, atol=FD_ATOL)


def test_jacobian_layered(net):
    topo, w = net
    j = jacobian(topo, w, 7, 5, dtype=np.float64)
    assert _scaled_err(j, R.jacobian(topo, w, 7, 5)) < 1e-12
    syns = [0, 2, 57, 230, 397, 418, 459]
    np.testing.assert_allclose(j[..., syns], render_fd(topo, w, 7, 5, syns),
                               rtol=FD_RTOL, atol=FD_ATOL)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_jacobian_subsets(dag, net, dtype):
    """Column j of jacobian(synapses=cols) is column cols[j] of the full one, bit for bit
    (same arithmetic per column), in the order asked, duplicates included."""
    for topo, w in (dag, net):
        full = jacobian(topo, w, 33, 17, dtype=dtype)
        rng = np.random.default_rng(topo.n_synapses)
        cols = rng.choice(topo.n_synapses, min(6, topo.n_synapses), replace=False)
        cols = np.concatenate([cols, cols[:1], [topo.n_synapses - 1, 0]])
        sub = jacobian(topo, w, 33, 17, synapses=cols.tolist(), dtype=dtype)
        assert sub.shape == (17, 33, 3, cols.size)
        assert np.array_equal(sub, full[..., cols])
        assert jacobian(topo, w, 33, 17, synapses=[], dtype=dtype).shape == (17, 33, 3, 0)
        with pytest.raises(IndexError):
            jacobian(topo, w, 33, 17, synapses=[topo.n_synapses])


# -------------------------------------------------------------------- jac_sumsq, jac_gram


def _masks(height: int, width: int, seed: int) -> np.ndarray:
    """Four overlapping masks float64[4, H, W]: all, a random half, weights in [0, 2), one."""
    rng = np.random.default_rng(seed)
    m = np.zeros((4, height, width))
    m[0] = 1.0
    m[1] = rng.random((height, width)) < 0.5
    m[2] = rng.uniform(0.0, 2.0, (height, width))
    m[3, height // 2, width // 3] = 1.0
    return m


def test_jac_sumsq_matches_reference(dag):
    topo, w = dag
    masks = _masks(17, 33, 1)
    ref_j = R.jacobian(topo, w, 33, 17)
    ref = R.jac_sumsq(ref_j, masks)
    got = jac_sumsq(topo, w, masks, dtype=np.float64)
    assert got.dtype == np.float64 and got.shape == (4, topo.n_synapses)
    # float64 sums of ~1700 non-negative terms: 1e-12 relative to the largest.
    assert _scaled_err(got, ref) < 1e-12
    # float32: the Jacobian's <1e-5 relative error, doubled by the square, plus float32 sums
    # of 256 non-negative terms per chunk: 1e-5 relative (measured worst 1.4e-7).
    assert np.max(np.abs(jac_sumsq(topo, w, masks) - ref)) < 1e-5 * np.max(np.abs(ref))
    cols = [topo.n_synapses - 1, 0, 1]
    sub = jac_sumsq(topo, w, masks.astype(bool), synapses=cols, dtype=np.float64)
    assert _scaled_err(sub, R.jac_sumsq(ref_j, masks.astype(bool))[:, cols]) < 1e-12


def test_jac_gram_matches_reference(dag):
    topo, w = dag
    masks = _masks(17, 33, 2)
    ref_j = R.jacobian(topo, w, 33, 17)
    got = jac_gram(topo, w, masks, synapses=None, dtype=np.float64)
    ref = R.jac_gram(ref_j, masks)
    assert got.shape == (4, topo.n_synapses, topo.n_synapses)
    assert np.array_equal(got, got.transpose(0, 2, 1))  # mirrored, so exactly symmetric
    assert _scaled_err(got, ref) < 1e-12
    diag = np.diagonal(got, axis1=1, axis2=2)
    assert _scaled_err(diag, jac_sumsq(topo, w, masks, dtype=np.float64)) < 1e-12
    cols = [3 % topo.n_synapses, topo.n_synapses - 1, 0]
    sub = jac_gram(topo, w, masks, synapses=cols)  # float32 kernel, float64 output
    assert np.max(np.abs(sub - ref[:, cols][:, :, cols])) < 1e-5 * np.max(np.abs(ref))


def test_jac_sumsq_gram_layered(net):
    topo, w = net
    masks = _masks(11, 19, 3)
    ref_j = R.jacobian(topo, w, 19, 11)
    assert _scaled_err(jac_sumsq(topo, w, masks, dtype=np.float64), R.jac_sumsq(ref_j, masks)) \
        < 1e-12
    cols = [418, 0, 459, 230, 397, 14]
    got = jac_gram(topo, w, masks, synapses=cols, dtype=np.float64)
    assert _scaled_err(got, R.jac_gram(ref_j[..., cols], masks)) < 1e-12


def test_jac_sumsq_gram_refuse_bad_masks_and_synapses(net):
    topo, w = net
    for f in (jac_sumsq, jac_gram):
        with pytest.raises(ValueError, match=r"masks must have shape \(G, H, W\)"):
            f(topo, w, np.ones((5, 7)))
        with pytest.raises(IndexError, match="synapse ids must lie in 0..459"):
            f(topo, w, np.ones((1, 5, 7)), synapses=[0, 460])


# --------------------------------------------------------------------------- determinism


def test_parallel_kernels_bit_identical(net):
    """Chunks run in parallel but write per-chunk buffers summed in a fixed order."""
    topo, w = net
    x, y, t = _sample_set(3000, 12)  # 12 chunks
    s, tc = samples(x, y), chunked(t.astype(np.float32))
    first = (render(topo, w, 64, 48), loss_and_grad(topo, w, s, tc, 0.01),
             jacobian(topo, w, 40, 30, synapses=range(0, 460, 7)),
             jac_sumsq(topo, w, _masks(30, 40, 4)))
    for _ in range(3):
        assert np.array_equal(render(topo, w, 64, 48), first[0])
        loss, grad = loss_and_grad(topo, w, s, tc, 0.01)
        assert loss == first[1][0] and np.array_equal(grad, first[1][1])
        assert np.array_equal(jacobian(topo, w, 40, 30, synapses=range(0, 460, 7)), first[2])
        assert np.array_equal(jac_sumsq(topo, w, _masks(30, 40, 4)), first[3])


def test_padding_counts_straddle_chunks():
    """The padding test's counts really produce padded, exact and multi-chunk sample sets."""
    masks = {n: samples(*_sample_set(n, n)[:2]).mask for n in PADDING_COUNTS}
    for n, m in masks.items():
        assert m.shape == (-(-n // CHUNK), CHUNK) and m.sum() == n
        assert np.all(m.ravel()[:n] == 1) and np.all(m.ravel()[n:] == 0)
    assert any(m.size > n and m.shape[0] == 1 for n, m in masks.items())  # padded lone chunk
    assert any(m.size == n for n, m in masks.items())  # no padding at all
    assert any(m.size > n and m.shape[0] > 1 for n, m in masks.items())  # padding after full
