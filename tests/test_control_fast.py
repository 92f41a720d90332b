"""The fast paths of the control instrument give the figures of the plain definitions."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref
from synens.core.analysis.control import context, lam_zero, measure_curve, membership
from synens.core.analysis.masks import rect_mask
from synens.core.analysis.measure import FLOOR, LEVEL, Renderer, measure, measure_many
from synens.core.analysis.null import box_answer, box_context
from synens.core.analysis.sparse import best_move
from synens.core.base.topology import layered

SIZE = (24, 18)


@pytest.fixture(scope="module")
def net():
    topo = layered((6, 5), 2)
    w = np.random.default_rng(11).normal(0, 1.0, topo.n_synapses)
    return topo, w


def test_box_gram_from_the_full_gram_matches_a_direct_pass(net):
    topo, w = net
    big = context(topo, w, rect_mask((2, 3, 20, 15), *SIZE))
    g = big.a * (3.0 * big.n_in) + big.b * (3.0 * big.n_out)
    box = rect_mask((5, 1, 11, 9), *SIZE)
    fast = box_context(topo, w, box, g, big.renderer.batch)
    slow = context(topo, w, box)
    scale = np.abs(slow.a).max()
    assert np.abs(fast.a - slow.a).max() < 1e-9 * scale
    assert np.abs(fast.b - slow.b).max() < 1e-6 * np.abs(slow.b).max()
    assert (fast.n_in, fast.n_out) == (slow.n_in, slow.n_out) == (48, 24 * 18 - 48)


def test_lockstep_measures_equal_one_at_a_time_and_a_numpy_render(net):
    topo, w = net
    mask = rect_mask((4, 4, 12, 10), *SIZE)
    ctx = context(topo, w, mask)
    r = Renderer(topo, w, mask)
    moves = []
    for idx in ([0], [3, 7, 20], list(range(topo.n_synapses))):
        _, v = best_move(ctx.a, ctx.b, 1e-6, idx)
        moves.append((v, float(np.sqrt(v @ ctx.a @ v)), LEVEL, None))
    together = measure_many(r, moves)
    for (v, lin, lv, _), m in zip(moves, together, strict=True):
        alone = measure(Renderer(topo, w, mask), v, lin, lv)
        assert m is not None and alone is not None
        assert m.scale == pytest.approx(alone.scale, rel=1e-9)
        assert m.sel == pytest.approx(alone.sel, rel=1e-9)
        d = ref.render(topo, w + m.scale * v, *SIZE) - ref.render(topo, w, *SIZE)
        r_in = np.sqrt(np.mean(d[mask] ** 2))
        r_out = np.sqrt(np.mean(d[~mask] ** 2))
        assert r_in == pytest.approx(LEVEL, rel=6e-3)
        assert m.sel == pytest.approx(r_in / (r_out + FLOOR), rel=2e-2)


def test_lam0_is_the_floor_ridge(net):
    topo, w = net
    ctx = context(topo, w, rect_mask((4, 4, 12, 10), *SIZE))
    s = topo.n_synapses
    lam0 = lam_zero(ctx.a)
    # a move of average in-gain scaled to LEVEL: t² = LEVEL² S / trace(A); λ t² = FLOOR²
    t2 = LEVEL ** 2 * s / np.trace(ctx.a)
    assert lam0 * t2 == pytest.approx(FLOOR ** 2, rel=1e-12)


def test_null_box_answer_fast_path_agrees_with_the_plain_pipeline(net):
    topo, w = net
    big = context(topo, w, rect_mask((2, 3, 20, 15), *SIZE))
    g = big.a * (3.0 * big.n_in) + big.b * (3.0 * big.n_out)
    for box in ((0, 0, 8, 6), (10, 9, 18, 15)):
        mask = rect_mask(box, *SIZE)
        fast = box_answer(topo, w, mask, 16, full=(g, big.renderer.batch))
        slow = box_answer(topo, w, mask, 16)
        assert fast[2] == slow[2]
        assert fast[0] == pytest.approx(slow[0], rel=2e-2)
        # bisection against the whole measured curve (the region's rule)
        from synens.core.analysis.control import choose_ceiling, choose_path
        ctx = context(topo, w, mask)
        ceiling, _ = choose_ceiling(ctx, levels=False)
        order, _ = choose_path(ctx, 16, ceiling.mu)
        curve = measure_curve(ctx, order)
        sels = np.array([p.move.sel for p in curve])
        thr = 0.8 * ceiling.sel
        k, _, _ = membership(curve, ceiling.sel)
        crosses = np.count_nonzero(np.diff((sels >= thr).astype(int)) != 0)
        if crosses <= 1:
            assert slow[2] == k


def test_greedy_path_equals_brute_force_greedy():
    from synens.core.analysis.sparse import greedy_path

    rng = np.random.default_rng(2)
    s = 40
    ja, jb = rng.normal(size=(30, s)), rng.normal(size=(200, s))
    ja[:, :5] *= 4.0
    a, b = ja.T @ ja / 30, jb.T @ jb / 200
    lam = 1e-3
    order, mus = greedy_path(a, b, lam, 12)
    chosen: list[int] = []
    for step in range(12):
        scores = [best_move(a, b, lam, chosen + [j])[0] if j not in chosen else -np.inf
                  for j in range(s)]
        j = int(np.argmax(scores))
        assert order[step] == j
        assert mus[step] == pytest.approx(scores[j], rel=1e-9)
        chosen.append(j)


def _greedy_rescored(a, b, lam, k_max, phases=(None,)):
    """The greedy path with every step scored from scratch by the reference's
    ``candidate_scores``."""
    bl = b + lam * np.eye(a.shape[0])
    chosen, mus = [], []
    for phase in phases:
        pool = np.arange(a.shape[0]) if phase is None else np.asarray(phase)
        while len(chosen) < k_max:
            cand = np.setdiff1d(pool, chosen)
            if cand.size == 0:
                break
            sc = ref.candidate_scores(a, bl, chosen, cand)
            if not np.isfinite(sc).any():
                break
            j = int(np.argmax(sc))
            chosen.append(int(cand[j]))
            mus.append(float(sc[j]))
    return chosen, np.array(mus)


def test_incremental_greedy_path_equals_rescoring_every_step(net):
    from synens.core.analysis.sparse import greedy_path

    topo, w = net
    for box in ((4, 4, 12, 10), (0, 8, 6, 16)):
        ctx = context(topo, w, rect_mask(box, *SIZE))
        lam = lam_zero(ctx.a)
        fan = np.flatnonzero(topo.dst == topo.dst[-1])
        for phases in ((None,), (fan, None)):
            k_max = min(40, topo.n_synapses)
            order, mus = greedy_path(ctx.a, ctx.b, lam, k_max, phases)
            ref, ref_mus = _greedy_rescored(ctx.a, ctx.b, lam, k_max, phases)
            assert order == ref
            np.testing.assert_allclose(mus, ref_mus, rtol=1e-8)
            assert np.all(np.diff(mus) >= -1e-9 * mus[-1])


def test_ridge_path_equals_the_cholesky_eigenproblem(net):
    from synens.core.analysis.sparse import ridge_path

    topo, w = net
    ctx = context(topo, w, rect_mask((4, 4, 12, 10), *SIZE))
    lam0 = lam_zero(ctx.a)
    every = np.arange(topo.n_synapses)
    for lam, (mu, v) in zip((0.1 * lam0, lam0, 10 * lam0),
                            ridge_path(ctx.a, ctx.b, (0.1 * lam0, lam0, 10 * lam0)), strict=True):
        mu2, v2 = best_move(ctx.a, ctx.b, lam, every)
        assert mu == pytest.approx(mu2, rel=1e-6)
        assert abs(float(v @ v2)) == pytest.approx(1.0, abs=1e-6)
        bl = ctx.b + lam * np.eye(topo.n_synapses)
        assert float(v @ ctx.a @ v) / float(v @ bl @ v) == pytest.approx(mu, rel=1e-9)


def test_ridge_path_with_a_precomputed_basis_is_the_same_path(net):
    from synens.core.analysis.sparse import ridge_basis, ridge_path

    topo, w = net
    ctx = context(topo, w, rect_mask((4, 4, 12, 10), *SIZE))
    lams = [c * lam_zero(ctx.a) for c in (0.01, 1.0, 100.0)]
    basis = ridge_basis(ctx.a, ctx.b)
    beta, u, au = basis
    np.testing.assert_allclose((u * beta) @ u.T, ctx.b, atol=1e-9 * np.abs(ctx.b).max())
    got = ridge_path(ctx.a, ctx.b, lams, basis)
    for (mu, v), (mu2, v2) in zip(got, ridge_path(ctx.a, ctx.b, lams), strict=True):
        assert mu == pytest.approx(mu2, rel=1e-12)
        np.testing.assert_allclose(v, v2, atol=1e-12)


def test_top_eigen_equals_eigh():
    from synens.core.analysis.sparse import top_eigen

    rng = np.random.default_rng(4)
    for n, decay in ((300, 0.9), (200, 0.99), (50, 0.5)):
        q, _ = np.linalg.qr(rng.normal(size=(n, n)))
        w = decay ** np.arange(n) * 1e3
        m = (q * w) @ q.T
        mu, y = top_eigen(m)
        assert mu == pytest.approx(1e3, rel=1e-9)
        assert abs(float(y @ q[:, 0])) == pytest.approx(1.0, abs=1e-8)
