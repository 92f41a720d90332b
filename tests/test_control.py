"""The control instrument: planted ensembles, measured figures against NumPy, pairs, the null."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import reference as ref
from synens.core.analysis.control import fan_in, region_control
from synens.core.analysis.masks import rect_mask
from synens.core.analysis.measure import UnreachableError
from synens.core.analysis.null import region_null
from synens.core.base.topology import BIAS, X_IN, Topology

#: 16×12 pictures; the box is columns 5..10, every row. Steps fall between pixel centres.
SIZE = (16, 12)
BOX = (5, 0, 11, 12)
K = 400.0  # so steep that no step within MAX_STEP moves an edge past a pixel centre
XA, XB = -0.375, 0.375  # x of the box's left and right edges


def _net(syn, n, outputs):
    src, dst, w = (np.array(v) for v in zip(*syn, strict=True))
    topo, perm = Topology.from_arrays(src, dst, n, outputs, spec={"kind": "control-test"})
    return topo, w.astype(np.float64)[perm]


def _id(topo, s, d):
    return int(np.flatnonzero((topo.src == s) & (topo.dst == d))[0])


def cross_net():
    """Exactly one 3-synapse set across R and M changes the box without touching the rest.

    H1 (0) and H2 (1) are steep steps at the box's edges, saturated at every pixel centre.
    M (2) = tanh(0.3 + 0.3 H2) is 0 left of the right edge and tanh(0.6) right of it.
    R (3) = tanh(0.3 H1 + 3 M) has no bias, so its fan-in alone cannot cancel outside; G (4)
    and B (5) are constants. Over the three x-pieces (left, box, right) H1→R gives
    (−1, 1, 1), M→R (0, 0, q), bias→M and H2→M M'·(1, 1, 1) and M'·(−1, −1, 1): no 2-set can
    cancel both outer pieces. To first order three 3-sets can; measured at a real step, only
    {H1→R, bias→M, H2→M} keeps the outside clean (the others leak through M's curvature), and
    the test measures every 2- and 3-set to show it. Returns (topo, weights, that set).
    """
    syn = [(BIAS, 0, -K * XA), (X_IN, 0, K), (BIAS, 1, -K * XB), (X_IN, 1, K),
           (BIAS, 2, 0.3), (1, 2, 0.3), (0, 3, 0.3), (2, 3, 3.0),
           (BIAS, 4, 0.2), (BIAS, 5, -0.3)]
    topo, w = _net(syn, 6, [3, 4, 5])
    return topo, w, {_id(topo, 0, 3), _id(topo, BIAS, 2), _id(topo, 1, 2)}


def fanin_net(down: bool = False):
    """R (2) = tanh(b + 0.5 H1 + 0.5 H2): R's own fan-in {bias, H1→R, H2→R} controls the box.

    H2 steps up at the right edge, or with ``down`` steps down there.
    """
    s = -1.0 if down else 1.0
    syn = [(BIAS, 0, -K * XA), (X_IN, 0, K), (BIAS, 1, -s * K * XB), (X_IN, 1, s * K),
           (BIAS, 2, 0.1), (0, 2, 0.5), (1, 2, 0.5), (BIAS, 3, 0.2), (BIAS, 4, -0.3)]
    topo, w = _net(syn, 5, [2, 3, 4])
    return topo, w, (_id(topo, 0, 2), _id(topo, 1, 2))


def control(topo, w, box=BOX, **kw):
    return region_control(topo, w, rect_mask(box, *SIZE), k_max=8, **kw)


def test_cross_neuron_ensemble_is_exactly_the_planted_set():
    topo, w, want = cross_net()
    c = control(topo, w)
    assert c.reached and c.k == 3 and set(c.members.tolist()) == want
    assert c.spread == [2, 3] and c.targets == [2, 3]
    # measured, every set: no 2-set and no other 3-set reaches the ensemble's threshold
    thr = 0.8 * c.ceiling.sel
    for r in (2, 3):
        sets = [list(t) for t in itertools.combinations(range(topo.n_synapses), r)]
        reach = [set(t) for t, m in zip(sets, c.ctx.bests(sets), strict=True) if m.sel >= thr]
        assert reach == ([] if r == 2 else [want])
    bl = c.baselines
    # no single neuron cancels outside: the ensemble is clearly better than each
    assert bl["gain"]["neuron"] > 5 and bl["gain"]["synapse"] > 5
    assert not bl["neuron_matches"]
    assert c.ensemble.sel > 50


def test_one_neurons_fan_in_matches_the_ensemble():
    topo, w, _ = fanin_net()
    c = control(topo, w)
    assert set(c.members.tolist()) <= set(fan_in(topo, 2).tolist())
    assert c.spread == [2]
    assert c.baselines["neuron"][0] == 2 and c.baselines["neuron_matches"]


@pytest.mark.parametrize("down", [False, True])
def test_pairs_are_found_in_both_sign_patterns(down):
    topo, w, (a, b) = fanin_net(down)
    c = control(topo, w)
    pairs = {(p["a"], p["b"]) if p["a"] < p["b"] else (p["b"], p["a"]): p for p in c.pairs}
    p = pairs[(min(a, b), max(a, b))]
    comp = p["move"].components()
    # steps up at both edges: H1 - H2 is the box (opposite signs); a step down: H1 + H2
    assert (np.sign(comp[a]) == np.sign(comp[b])) == down
    assert p["gain"] > 5 and p["same_target"]


def _numpy_measure(topo, w, step, mask):
    d = ref.render(topo, w + step, *SIZE) - ref.render(topo, w, *SIZE)
    d_in, d_out = d[mask], d[~mask]
    r_in, r_out = np.sqrt(np.mean(d_in ** 2)), np.sqrt(np.mean(d_out ** 2))
    return r_in, r_out, np.abs(d_out).max()


def test_measured_agrees_with_an_independent_numpy_render():
    topo, w, _ = cross_net()
    c = control(topo, w)
    mask = rect_mask(BOX, *SIZE)
    for mv in (c.ensemble, c.ceiling, c.baselines["neuron"][1], *(p.move for p in c.curve)):
        m = mv.measured
        r_in, r_out, mx = _numpy_measure(topo, w, m.scale * mv.vector, mask)
        assert r_in == pytest.approx(m.in_, rel=1e-3, abs=1e-6)
        assert r_out == pytest.approx(m.out, rel=2e-2, abs=1e-5)
        assert mx == pytest.approx(m.max_out, rel=2e-2, abs=1e-5)
        assert m.in_ == pytest.approx(0.075, rel=6e-3)
        comps = mv.components()
        assert np.allclose([comps[s] for s in mv.synapses], m.scale * mv.vector[mv.synapses])


def test_no_move_reaches_the_level_in_a_saturated_network():
    syn = [(BIAS, 0, 0.0), (X_IN, 0, 1.0), (BIAS, 1, 60.0), (0, 1, 1.0),
           (BIAS, 2, 60.0), (BIAS, 3, -60.0)]
    topo, w = _net(syn, 4, [1, 2, 3])
    with pytest.raises(UnreachableError, match="no move reaches"):
        control(topo, w)


def test_null_is_deterministic_for_a_seed_and_reports_progress():
    topo, w, _ = cross_net()
    c = control(topo, w, extras=False)
    seen = []
    n1 = region_null(c, 5, seed=3, progress=lambda i, n: seen.append((i, n)))
    n2 = region_null(c, 5, seed=3)
    n3 = region_null(c, 5, seed=4)
    assert seen == [(i, 5) for i in range(1, 6)]
    assert n1.boxes == n2.boxes and np.array_equal(n1.values, n2.values, equal_nan=True)
    assert n1.percentile == n2.percentile and n1.boxes != n3.boxes
    for x0, y0, x1, y1 in n1.boxes:
        assert (x1 - x0, y1 - y0) == (6, 12) and 0 <= x0 and x1 <= 16
    for key in ("ceiling", "ensemble", "k"):
        p = n1.percentile[key]
        assert p is None or 0.0 <= p <= 100.0


def test_null_is_the_same_with_one_thread_or_several():
    """Box paths in worker threads, bisections in lockstep: the same values as one thread."""
    topo, w, _ = cross_net()
    c = control(topo, w, extras=False)
    one = region_null(c, 7, seed=5, workers=1)
    three = region_null(c, 7, seed=5, workers=3)
    assert np.array_equal(one.values, three.values, equal_nan=True)
    assert one.percentile == three.percentile and one.unreachable == three.unreachable
