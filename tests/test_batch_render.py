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
