"""tanh, render, activations and the incremental renderer against the NumPy reference."""

# Tolerances: float64 kernels use exact tanh and differ from the reference only by summation
# order, so they are held to ~1e-12 (a few hundred ulps of O(1) values). float32 kernels add
# float32 rounding of inputs/weights (2^-24 ~ 6e-8 relative per operation) and the rational tanh
# (<= 3.1e-7 abs); through <= 12 layers of O(1) weights that stays far below 1e-5.

from __future__ import annotations

import math

import numpy as np
import pytest
import reference as R
from conftest import _scaled_err
from synens.core.base.grid import grid, pack, pixel_coords, unchunked
from synens.core.base.jit import tanh_kernel
from synens.core.kernels import forward as K
from synens.core.network.render import IncrementalRenderer, activations, render

#: Grid sizes that are not multiples of the chunk, plus 16x16 (exactly one chunk, no padding).
SIZES = [(7, 5), (1, 1), (33, 17), (300, 1), (16, 16)]


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
    from synens.core.base.topology import Topology

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
