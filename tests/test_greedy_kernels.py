"""Greedy forward selection's kernels (core/kernels/greedy.py) against the NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref
from synens.core.analysis.control import context, lam_zero
from synens.core.analysis.masks import rect_mask
from synens.core.analysis.sparse import GreedyState, best_move, greedy_path
from synens.core.base.topology import layered

SIZE = (24, 18)


def _spd_problem(seed: int, s: int = 48):
    """Random region and rest Gram matrices float64[s, s] and a ridge λ."""
    rng = np.random.default_rng(seed)
    ja, jb = rng.normal(size=(20, s)), rng.normal(size=(3 * s, s))
    ja[:, rng.choice(s, 6, replace=False)] *= 3.0
    return ja.T @ ja / 20, jb.T @ jb / (3 * s), 10.0 ** rng.uniform(-4, -1)


def _compare_steps(a, b, lam, k_max, phases, rtol):
    """Score every step of the reference path with both; return the worst relative error."""
    s = a.shape[0]
    state = GreedyState(a, b, lam, k_max)
    old = ref._Whitened(a, b + lam * np.eye(s))
    worst = 0.0
    for phase in phases:
        pool = np.zeros(s, bool)
        pool[np.arange(s) if phase is None else phase] = True
        while state.k < k_max:
            pool[state.chosen] = False
            if not pool.any():
                break
            new_sc, old_sc = state.scores(pool), old.scores(pool)
            fin = np.isfinite(old_sc)
            np.testing.assert_array_equal(np.isfinite(new_sc), fin)
            np.testing.assert_array_equal(new_sc[~fin], old_sc[~fin])
            if not fin.any():
                break
            j = int(np.argmax(old_sc))
            # the winner and every candidate near it are solved exactly by both
            near = fin & (old_sc >= old_sc[j] * (1 - 1e-3))
            np.testing.assert_allclose(new_sc[near], old_sc[near], rtol=rtol)
            worst = max(worst, float(np.max(np.abs(new_sc[near] / old_sc[near] - 1))))
            assert int(np.argmax(new_sc)) == j
            state.add(j)
            old.add(j)
    assert state.chosen == old.chosen
    return worst


@pytest.mark.parametrize("seed", range(6))
def test_kernel_scores_equal_the_numpy_scores_on_random_spd_problems(seed):
    a, b, lam = _spd_problem(seed)
    _compare_steps(a, b, lam, 30, (None,), rtol=1e-9)


def test_kernel_scores_with_phases_and_a_dependent_candidate():
    a, b, lam = _spd_problem(7)
    # synapse 5 is a copy of synapse 3 and B is rank deficient there: once 3 is chosen, 5 is
    # numerically dependent (−inf in both), and λ = 0
    a[:, 5], a[5, :] = a[:, 3], a[3, :]
    b[:, 5], b[5, :] = b[:, 3], b[3, :]
    _compare_steps(a, b, 0.0, 20, (np.array([3, 5, 9, 11]), None), rtol=1e-9)


@pytest.fixture(scope="module")
def net():
    topo = layered((6, 5), 2)
    w = np.random.default_rng(11).normal(0, 1.0, topo.n_synapses)
    return topo, w


@pytest.mark.parametrize("box", [(4, 4, 12, 10), (0, 8, 6, 16), (14, 2, 24, 9)])
def test_kernel_path_equals_the_numpy_path_on_a_network(net, box):
    topo, w = net
    ctx = context(topo, w, rect_mask(box, *SIZE))
    lam = lam_zero(ctx.a)
    fan = np.flatnonzero(topo.dst == topo.dst[-1])
    for phases in ((None,), (fan, None)):
        _compare_steps(ctx.a, ctx.b, lam, 40, phases, rtol=1e-8)
        order, mus = greedy_path(ctx.a, ctx.b, lam, 40, phases)
        ref_order, ref_mus = ref.greedy_path(ctx.a, ctx.b, lam, 40, phases)
        assert order == ref_order
        np.testing.assert_allclose(mus, ref_mus, rtol=1e-8)
        assert np.all(np.diff(mus) >= -1e-12 * mus[-1])
        # μ of the last prefix is that of its best move
        assert mus[-1] == pytest.approx(best_move(ctx.a, ctx.b, lam, order)[0], rel=1e-7)


def test_greedy_path_stops_when_every_candidate_is_used_or_dependent():
    a, b, lam = _spd_problem(3, s=12)
    order, mus = greedy_path(a, b, lam, 50)
    assert sorted(order) == list(range(12)) and mus.size == 12
    order, mus = greedy_path(a, b, lam, 5, (np.array([2, 4]),))
    assert order[:2] in ([2, 4], [4, 2]) and len(order) == 2
    assert greedy_path(a, b, lam, 0) == ([], pytest.approx(np.array([])))
    # rank-one B with λ = 0: only the first synapse has a finite score... every d² is ~0
    v = np.ones(12)
    order, _ = greedy_path(a, np.outer(v, v), 0.0, 5)
    assert len(order) == 1


def test_state_refuses_more_than_k_max():
    a, b, lam = _spd_problem(1, s=10)
    state = GreedyState(a, b, lam, 1)
    state.add(int(np.argmax(state.scores(np.ones(10, bool)))))
    with pytest.raises(ValueError, match="full"):
        state.add(0)
