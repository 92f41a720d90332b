"""Batched renders (cached base, dirty neurons only) against the NumPy reference forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref
from synens.core.base.topology import layered
from synens.core.network.batch import BatchRenderer
from synens.core.network.render import render


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_batched_render_matches_the_numpy_reference(dtype, tol):
    topo = layered()
    rng = np.random.default_rng(5)
    w = rng.normal(0, 0.8, topo.n_synapses)
    br = BatchRenderer(topo, w, 19, 13, dtype)
    steps = np.zeros((5, topo.n_synapses))
    steps[1, 3] = 0.7                                  # a first-layer synapse: everything dirty
    steps[2, np.flatnonzero(topo.dst == topo.outputs[1])[:4]] = -1.1   # only the green output
    steps[3] = rng.normal(0, 0.3, topo.n_synapses)
    late = np.flatnonzero(np.isin(topo.dst, topo.outputs))
    steps[4, late[::7]] = 0.5
    got = br.render(w + steps)
    assert got.shape == (5, 13, 19, 3) and got.dtype == dtype
    for d in range(5):
        want = ref.render(topo, w + steps[d], 19, 13)
        assert np.abs(got[d] - want).max() < tol
    # an unchanged vector is the base painting; the plain renderer agrees
    assert np.array_equal(got[0].transpose(2, 0, 1).reshape(3, -1), br.base)
    assert np.abs(render(topo, w + steps[3], 19, 13, dtype) - got[3]).max() < tol


def test_batched_render_refuses_bad_rows():
    topo = layered()
    br = BatchRenderer(topo, np.zeros(topo.n_synapses), 8, 8)
    with pytest.raises(ValueError, match="rows of"):
        br.render_flat(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        br.render_flat(np.full((1, topo.n_synapses), np.nan))


def test_split_sumsq_matches_numpy():
    from synens.core.kernels.batch import _split_sumsq

    rng = np.random.default_rng(1)
    rend = rng.normal(size=(4, 3, 50)).astype(np.float32)
    base = rng.normal(size=(3, 50)).astype(np.float32)
    inside = (rng.random(50) < 0.3).astype(np.float64)
    out = np.empty((4, 2))
    _split_sumsq(rend, base, inside, out)
    d = rend.astype(np.float64) - base.astype(np.float64)
    m = inside.astype(bool)
    assert np.allclose(out[:, 0], (d[:, :, m] ** 2).sum(axis=(1, 2)), rtol=1e-6)
    assert np.allclose(out[:, 1], (d[:, :, ~m] ** 2).sum(axis=(1, 2)), rtol=1e-6)


def test_change_summary_matches_the_numpy_reference():
    """The one-pass summary kernel (RMS in/out, max |change| out, band share) against NumPy,
    through Renderer.summary_of on a real mask, and the kernel alone on random data."""
    from synens.core.analysis.masks import border_band, rect_mask
    from synens.core.analysis.measure import Renderer, selectivity
    from synens.core.kernels.batch import _change_summary

    rng = np.random.default_rng(2)
    rend = rng.normal(size=(3, 60)).astype(np.float32)
    base = rng.normal(size=(3, 60)).astype(np.float32)
    code = rng.integers(0, 3, 60).astype(np.int8)
    out = np.empty(4)
    _change_summary(rend, base, code, out)
    d = (rend - base).astype(np.float64)  # the change in float32, summed in float64
    assert np.allclose(out[:3], [(d[:, code == 1] ** 2).sum(), (d[:, code != 1] ** 2).sum(),
                                 (d[:, code == 2] ** 2).sum()], rtol=1e-9)
    assert out[3] == np.abs(d[:, code != 1]).max()

    topo = layered()
    w = rng.normal(0, 0.8, topo.n_synapses)
    mask = rect_mask((4, 3, 11, 9), 19, 13)
    r = Renderer(topo, w, mask)
    step = rng.normal(0, 0.2, (1, topo.n_synapses))
    one = r.renders_of(step)[0]                       # float32[3, ≥P]: the P pixels first
    assert np.array_equal(one[:, :mask.size], r.batch.render_flat(w + step)[0])
    m = r.summary_of(one, 0.5, 0.075)
    want = ref.change_summary(one[:, :mask.size], r.base_flat, mask.ravel(),
                              border_band(mask, 3).ravel())
    assert np.allclose([m.in_, m.out, m.max_out, m.border], want, rtol=1e-9)
    assert m.sel == selectivity(m.in_, m.out) and m.scale == 0.5 and m.level == 0.075
