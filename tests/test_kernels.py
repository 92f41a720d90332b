"""Numba kernels against the NumPy reference (tests/reference.py) and finite differences.

Tolerances: float64 kernels use exact tanh and differ from the reference only by summation
order, so they are held to ~1e-12 (a few hundred ulps of O(1) values). float32 kernels add
float32 rounding of inputs/weights (2^-24 ~ 6e-8 relative per operation) and the rational tanh
(<= 3.1e-7 abs); through <= 12 layers of O(1) weights that stays far below 1e-5.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import reference as R
from conftest import random_dag, render_fd
from numba import njit
from synens.core import kernels as K
from synens.core import kernels_grad as KG
from synens.core._jit import CHUNK, tanh_kernel
from synens.core.grad import jac_gram, jac_sumsq, jacobian, loss_and_grad
from synens.core.grid import chunked, grid, image_targets, pack, pixel_coords, samples, unchunked
from synens.core.render import IncrementalRenderer, activations, render

#: Grid sizes that are not multiples of the chunk, plus 16x16 (exactly one chunk, no padding).
SIZES = [(7, 5), (1, 1), (33, 17), (300, 1), (16, 16)]


def _scaled_err(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(1, max |b|): an absolute error for O(1) values, relative beyond."""
    b = np.asarray(b, np.float64)
    return float(np.max(np.abs(np.asarray(a, np.float64) - b)) / max(1.0, np.max(np.abs(b))))


# ---------------------------------------------------------------------------------- tanh


def test_tanh_float32_max_error():
    x = np.linspace(-20.0, 20.0, 400_001, dtype=np.float32)
    t = tanh_kernel(x)
    assert t.dtype == np.float32
    # The rational form's own error is ~3.1e-7; 5e-7 leaves room for float32 rounding only.
    assert np.max(np.abs(t - np.tanh(x.astype(np.float64)))) < 5e-7


def test_tanh_float32_odd_and_bounded():
    x = np.linspace(0.0, 20.0, 200_001, dtype=np.float32)
    # The numerator is odd and the denominator even in x, so tanh(-x) == -tanh(x) bit for bit.
    assert np.array_equal(tanh_kernel(-x), -tanh_kernel(x))
    assert np.all(np.abs(tanh_kernel(x)) <= 1.0)
    assert tanh_kernel(np.zeros(1, np.float32))[0] == 0.0
    tiny = np.array([1e-30, 1e-10, 1e-5], np.float32)
    np.testing.assert_allclose(tanh_kernel(tiny), tiny, rtol=1e-6)  # tanh(x) ~ x near 0


def test_tanh_float32_saturates():
    big = np.array([8.0, 10.0, 20.0, 1e4, 1e30, 3e38], np.float32)
    # Beyond the clamp (7.905) every input gives the same value, within the 3.1e-7 error of 1.
    assert np.all(np.abs(tanh_kernel(big) - 1.0) <= 3.1e-7)
    assert np.all(np.abs(tanh_kernel(-big) + 1.0) <= 3.1e-7)
    assert np.unique(tanh_kernel(big)).size == 1


def test_tanh_float64_exact():
    x = np.concatenate([np.linspace(-20.0, 20.0, 20_001), [0.0, 1e-300, 30.0, -700.0]])
    t = tanh_kernel(x)
    assert t.dtype == np.float64
    assert np.array_equal(t, [math.tanh(v) for v in x])  # libm tanh, bit for bit
    # np.tanh may use another (SIMD) implementation: allow 1 ulp of values <= 1.
    assert np.max(np.abs(t - np.tanh(x))) <= 2.0 ** -52


# ------------------------------------------------------------------------------- forward


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_render_float64_matches_reference(dag, size):
    topo, w = dag
    img = render(topo, w, *size, dtype=np.float64)
    assert img.dtype == np.float64 and img.shape == (size[1], size[0], 3)
    assert _scaled_err(img, R.render(topo, w, *size)) < 1e-12


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_render_float32_matches_reference(dag, size):
    topo, w = dag
    img = render(topo, w, *size)
    assert img.dtype == np.float32 and img.shape == (size[1], size[0], 3)
    assert _scaled_err(img, R.render(topo, w, *size)) < 1e-5


def test_render_layered(net):
    topo, w = net
    ref = R.render(topo, w, 33, 17)
    assert np.std(ref) > 0.1  # the weights paint something, not a flat colour
    assert _scaled_err(render(topo, w, 33, 17, dtype=np.float64), ref) < 1e-12
    assert _scaled_err(render(topo, w, 33, 17), ref) < 1e-5


def test_render_orientation():
    """x grows to the right, y grows downwards: a net with R = tanh(x), G = tanh(y), B = 0."""
    from synens.core.topology import Topology

    topo, perm = Topology.from_arrays(np.array([-2, -3]), np.array([0, 1]), 3, np.array([0, 1, 2]))
    img = render(topo, np.ones(2)[perm], 4, 3, dtype=np.float64)
    x, y = pixel_coords(4, 3)
    assert np.array_equal(img[..., 0], np.tanh(x.reshape(3, 4)))
    assert np.all(np.diff(img[..., 0], axis=1) > 0) and np.all(np.diff(img[..., 1], axis=0) > 0)
    assert np.all(img[..., 2] == 0.0)  # a neuron with no synapse paints tanh(0)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_activations_match_reference(dag, dtype, tol):
    topo, w = dag
    act = activations(topo, w, 33, 17, dtype=dtype)
    assert act.dtype == dtype and act.shape == (topo.n_neurons, 17, 33)
    assert _scaled_err(act, R.activations(topo, w, 33, 17)) < tol


# --------------------------------------------------------------------------- incremental


def _every_single_edit(topo, w, width, height, seed):
    """Largest |incremental - full render| over every synapse and deltas 0, ~1, ±50, 1e4."""
    rng = np.random.default_rng(seed)
    inc = IncrementalRenderer(topo, w, width, height)
    worst = 0.0
    for s in range(topo.n_synapses):
        for delta in (0.0, rng.normal(), 50.0 * rng.choice([-1.0, 1.0]), 1e4):
            inc.set_weights(w)
            w2 = w.copy()
            w2[s] += delta
            inc.set_weight(s, w2[s])
            assert inc.weights[s] == w2[s]
            worst = max(worst, float(np.max(np.abs(inc.image() - render(topo, w2, width,
                                                                         height)))))
    return worst


# One edit: the target's cached pre-activation gets z + delta*src (one more rounding than the
# full sum, ~2^-24|z|), downstream neurons add w*(change of a source); a few float32 ulps of
# O(1..10) values, amplified by O(1) weights: < 1e-5. Measured worst: 9e-7.
SINGLE_EDIT_TOL = 1e-5


def test_incremental_every_single_edit_random(dag):
    topo, w = dag
    assert _every_single_edit(topo, w, 23, 13, 1) < SINGLE_EDIT_TOL


def test_incremental_every_single_edit_layered(net):
    topo, w = net
    assert _every_single_edit(topo, w, 19, 11, 2) < SINGLE_EDIT_TOL


def _nudge_sequence_f64(topo, w, width, height, n_edits, rng):
    """Run _nudge in float64 over a sequence of edits; worst error against render(float64)."""
    g = grid(width, height, np.float64)
    s = g.samples
    net = pack(topo, w.copy(), np.float64)  # pack does not copy float64 weights
    shape = (s.x.shape[0], topo.n_neurons, s.x.shape[1])
    z, a = np.empty(shape), np.empty(shape)
    pos = np.empty(topo.n_neurons, np.int32)
    pos[topo.order] = np.arange(topo.n_neurons, dtype=np.int32)
    K._forward_cache(net.w, net.src, net.ptr, net.order, s.x, s.y, z, a)
    worst = 0.0
    for _ in range(n_edits):
        syn = int(rng.integers(topo.n_synapses))
        delta = rng.normal(0.0, 1.0) if rng.random() < 0.9 else rng.normal(0.0, 100.0)
        net.w[syn] += delta
        K._nudge(net.w, net.src, net.ptr, net.order, pos, s.x, s.y, z, a, syn,
                 int(topo.dst[syn]), delta)
        img = unchunked(a[:, topo.outputs, :], s.n).T.reshape(height, width, 3)
        worst = max(worst, _scaled_err(img, render(topo, net.w, width, height, np.float64)))
    return worst


# float64 _nudge: the propagation rule itself is exact. 150 edits (some of size ~100) stay
# within 1e-10 of a full render; measured worst 2.2e-13 (cancellation when a weight of ~300
# comes back near zero costs a few ulps of 300).
NUDGE64_TOL = 1e-10


def test_nudge_float64_sequence_is_exact(dag):
    assert _nudge_sequence_f64(*dag, 33, 17, 150, np.random.default_rng(5)) < NUDGE64_TOL


def test_nudge_float64_sequence_layered(net):
    assert _nudge_sequence_f64(*net, 33, 17, 150, np.random.default_rng(5)) < NUDGE64_TOL


def _float32_sequence(topo, w, seed):
    """200 float32 edits of size ~0.5, no refresh, then refresh().

    Each edit adds a rounding of ~2^-24·|z| (|z| <~ 20) to cached pre-activations, so the drift
    grows like edits x 2^-24 x |z|: tolerance 5e-5 (measured worst 4.7e-6 over the 10 random
    DAGs and layered()). refresh() runs the same
    forward kernel as render(), so it gives the full render bit for bit.
    """
    rng = np.random.default_rng(seed)
    inc = IncrementalRenderer(topo, w, 23, 13, refresh_every=10_000)
    w2 = w.copy()
    for _ in range(200):
        syn = int(rng.integers(topo.n_synapses))
        w2[syn] += rng.normal(0.0, 0.5)
        inc.set_weight(syn, w2[syn])
    assert np.array_equal(inc.weights, w2)
    full = render(topo, w2, 23, 13)
    assert np.max(np.abs(inc.image() - full)) < 5e-5
    inc.refresh()
    assert np.array_equal(inc.image(), full)
    act = activations(topo, w2, 23, 13)
    for n in range(topo.n_neurons):
        assert np.array_equal(inc.activation(n), act[n])


def test_incremental_sequence_float32(dag):
    _float32_sequence(*dag, 6)


def test_incremental_sequence_float32_layered(net):
    _float32_sequence(*net, 6)


def test_incremental_auto_refresh_and_set_weights(net):
    topo, w = net
    inc = IncrementalRenderer(topo, w, 9, 7, refresh_every=3)
    w2 = w.copy()
    for syn, delta in [(418, 0.7), (3, -1.2), (200, 2.5)]:  # the 3rd edit triggers refresh
        w2[syn] += delta
        inc.set_weight(syn, w2[syn])
    assert np.array_equal(inc.image(), render(topo, w2, 9, 7))
    w3 = w + 0.1
    inc.set_weights(w3)
    assert np.array_equal(inc.image(), render(topo, w3, 9, 7))
    assert inc.image().shape == (7, 9, 3) and inc.size == (9, 7)


def test_incremental_activation_matches_reference(dag):
    topo, w = dag
    inc = IncrementalRenderer(topo, w, 33, 17)
    w2 = w.copy()
    w2[0] += 0.8
    inc.set_weight(0, w2[0])
    ref = R.activations(topo, w2, 33, 17)
    for n in range(topo.n_neurons):
        assert _scaled_err(inc.activation(n), ref[n]) < SINGLE_EDIT_TOL


# ------------------------------------------------------------------------- loss and grad


def _sample_set(count: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, count), rng.uniform(-1, 1, count), rng.uniform(-1, 1, (3, count))


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


@pytest.mark.parametrize("count", [1, 255, 256, 257, 600])
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


def test_chunk_constant():
    assert CHUNK == 256  # the padding tests above straddle 256-sample chunks
