"""Region ensembles: scores against NumPy, a planted network, opposing pairs, coordinated moves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import reference as R
from conftest import layered_weights, random_dag
from synens.core.analysis.ensemble import (
    RegionRule,
    ensemble_neurons,
    membership,
    region_scores,
)
from synens.core.analysis.moves import direction_sel, generalized_top
from synens.core.analysis.region import region_ensemble
from synens.core.base.errors import SynensError
from synens.core.base.topology import BIAS, X_IN, Y_IN, Topology, layered
from synens.core.network.render import render, to_uint8

#: The planted network paints 16×12 pixels; its region R is columns 4..9, rows 3..8.
PLANTED_SIZE = (16, 12)
PLANTED_REGION = (4, 3, 10, 9)


def _net(syn, n, outputs, kind):
    src, dst, w = (np.array(v) for v in zip(*syn, strict=True))
    topo, perm = Topology.from_arrays(src, dst, n, outputs, spec={"kind": kind})
    return topo, w.astype(np.float64)[perm]


def planted_region_net() -> tuple[Topology, np.ndarray, dict]:
    """A hand-built net where only 10 known synapses touch PLANTED_REGION.

    Neurons 0-3 are steep steps at R's four edges (edges fall between pixel centres) and
    neuron 4 (d) is +1 inside R, -1 outside; both are saturated at every pixel centre, so
    their synapses touch nothing. The red output (8) is open (unsaturated) only inside R,
    green (9) and blue (10) only outside. Red reads d, hc (5) and hs (6); green reads hs.
    So the members are red's 4 synapses and hc's and hs's 3 input synapses each; hs's inputs
    move O more than R (shared), the other 7 move R only (core).
    Returns (topo, weights, expected) with expected ids in the topology's order.
    """
    k = 200.0
    syn = [
        (BIAS, 0, 0.5 * k), (X_IN, 0, k), (BIAS, 1, 0.25 * k), (X_IN, 1, -k),
        (BIAS, 2, 0.5 * k), (Y_IN, 2, k), (BIAS, 3, 0.5 * k), (Y_IN, 3, -k),
        (BIAS, 4, -105.0), (0, 4, 30.0), (1, 4, 30.0), (2, 4, 30.0), (3, 4, 30.0),
        (BIAS, 5, 0.3), (X_IN, 5, 0.8), (Y_IN, 5, -0.5),
        (BIAS, 6, -0.2), (X_IN, 6, -0.6), (Y_IN, 6, 0.7),
        (X_IN, 7, 0.5), (Y_IN, 7, 0.5),
        (BIAS, 8, -19.8), (4, 8, 20.0), (5, 8, 1.0), (6, 8, 1.0),
        (BIAS, 9, -19.9), (4, 9, -20.0), (6, 9, 2.0),
        (BIAS, 10, -20.0), (4, 10, -20.0), (7, 10, 1.0),
    ]
    topo, w = _net(syn, 11, [8, 9, 10], "planted-region")

    def ids(pairs):
        return {int(np.flatnonzero((topo.src == s) & (topo.dst == d))[0]) for s, d in pairs}

    core = ids([(BIAS, 8), (4, 8), (5, 8), (6, 8), (BIAS, 5), (X_IN, 5), (Y_IN, 5)])
    shared = ids([(BIAS, 6), (X_IN, 6), (Y_IN, 6)])
    return topo, w, {"core": core, "shared": shared, "neurons": {4, 5, 6, 8}}


def planted_picture(topo, w) -> np.ndarray:
    return to_uint8(render(topo, w, *PLANTED_SIZE, np.float64))


def planted_pair_net() -> tuple[Topology, np.ndarray, tuple[int, int]]:
    """Neuron 0 is +1 on the left half, -1 on the right; red = tanh(0.5 n0 + 0.1).

    Over the left half (R) the change maps of red's bias and of n0 -> red agree; over the
    right half they are exact opposites: an opposing pair. Returns it as (bias id, n0 id).
    """
    syn = [(X_IN, 0, -20.0), (BIAS, 1, 0.1), (0, 1, 0.5), (Y_IN, 2, 0.4),
           (BIAS, 3, 0.2), (X_IN, 3, 0.3)]
    topo, w = _net(syn, 4, [1, 2, 3], "planted-pair")
    a = int(np.flatnonzero((topo.src == BIAS) & (topo.dst == 1))[0])
    b = int(np.flatnonzero((topo.src == 0) & (topo.dst == 1))[0])
    return topo, w, (a, b)


def small_model(seed=0, size=(12, 9)):
    topo = layered((4, 3), skip=2)
    w = layered_weights(topo, seed) * 1.5
    return topo, w, np.zeros((size[1], size[0], 3), np.uint8)


def _numpy_scores(j, region):
    x0, y0, x1, y1 = region
    m = np.zeros(j.shape[:2], bool)
    m[y0:y1, x0:x1] = True
    return (np.sqrt(np.mean(j[m] ** 2, axis=(0, 1))), np.sqrt(np.mean(j[~m] ** 2, axis=(0, 1))),
            m)


@pytest.mark.parametrize("seed", range(4))
def test_in_out_sel_match_numpy_from_the_full_jacobian(seed):
    topo, w, img = small_model(seed)
    region = (2, 1, 7, 6)
    j = R.jacobian(topo, w, 12, 9)
    want_in, want_out, m = _numpy_scores(j, region)
    s = region_scores(topo, w, img, region, dtype=np.float64)
    np.testing.assert_allclose(s.in_, want_in, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(s.out, want_out, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(s.sel, want_in / (want_out + 1e-9), rtol=1e-8)
    assert (s.n_in, s.n_out) == (25, 12 * 9 - 25)
    s32 = region_scores(topo, w, img, region)
    np.testing.assert_allclose(s32.in_, want_in, rtol=1e-4, atol=1e-7)
    # the members' Gram matrices are pixel means of J^T J over R and O
    ens = region_ensemble(topo, w, img, region, dtype=np.float64, verify=False)
    jm = j[..., ens.members]
    a = np.einsum("pcs,pct->st", jm[m], jm[m]) / (3 * m.sum())
    b = np.einsum("pcs,pct->st", jm[~m], jm[~m]) / (3 * (~m).sum())
    np.testing.assert_allclose(ens.gram[0], a, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(ens.gram[1], b, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("seed", range(4))
def test_membership_is_a_threshold_on_in(seed):
    topo, w = random_dag(seed)
    img = np.zeros((7, 9, 3), np.uint8)
    rule = RegionRule(share=0.3)
    s = region_scores(topo, w, img, (1, 1, 5, 4))
    members, core = membership(s, rule)
    others = np.setdiff1d(np.arange(topo.n_synapses), members)
    assert members.size >= 1
    assert np.all(s.in_[members] >= 0.3 * s.in_.max())
    if others.size:
        assert s.in_[others].max() < s.in_[members].min()
    assert np.all(np.diff(s.in_[members]) <= 0)
    np.testing.assert_array_equal(core, s.sel[members] > 1.0)
    neurons = ensemble_neurons(topo, members)
    touched = set(topo.dst[members].tolist()) | {int(v) for v in topo.src[members] if v >= 0}
    assert set(neurons.tolist()) == touched


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("share", [None, 0.01])
def test_planted_network_gives_exactly_the_planted_ensemble(dtype, share):
    topo, w, want = planted_region_net()
    img = planted_picture(topo, w)
    rule = RegionRule() if share is None else RegionRule(share=share)
    ens = region_ensemble(topo, w, img, PLANTED_REGION, rule, dtype=dtype)
    members = ens.members.tolist()
    assert set(members) == want["core"] | want["shared"]
    assert {m for m, c in zip(members, ens.core, strict=True) if c} == want["core"]
    assert {m for m, c in zip(members, ens.core, strict=True) if not c} == want["shared"]
    assert set(ens.neurons.tolist()) == want["neurons"]
    # nothing else touches R: every non-member's in is negligible next to the members'
    others = np.setdiff1d(np.arange(topo.n_synapses), ens.members)
    assert ens.scores.in_[others].max() < 1e-4 * ens.scores.in_[ens.members].min()


def test_planted_opposing_pair_is_found_and_its_measure_is_right():
    topo, w, (a, b) = planted_pair_net()
    img = to_uint8(render(topo, w, 16, 12, np.float64))
    region = (0, 0, 8, 12)
    ens = region_ensemble(topo, w, img, region, RegionRule(share=0.05), dtype=np.float64)
    assert {a, b} <= set(ens.members.tolist())
    top = ens.pairs[0]
    assert {top["a"], top["b"]} == {a, b}
    j = R.jacobian(topo, w, 16, 12)
    _, out, m = _numpy_scores(j, region)
    ja, jb = j[..., top["a"]], j[..., top["b"]]
    rho_in = np.sum(ja[m] * jb[m]) / np.sqrt(np.sum(ja[m] ** 2) * np.sum(jb[m] ** 2))
    rho_out = np.sum(ja[~m] * jb[~m]) / np.sqrt(np.sum(ja[~m] ** 2) * np.sum(jb[~m] ** 2))
    assert top["rho_in"] == pytest.approx(rho_in, abs=1e-9) and rho_in > 0.9
    assert top["rho_out"] == pytest.approx(rho_out, abs=1e-9) and rho_out < -0.99
    # the joint move, each member scaled to unit RMS over O, cancels outside R
    joint = ja / out[top["a"]] + jb / out[top["b"]]
    energy = np.mean(joint[~m] ** 2)
    assert top["out_energy"] == pytest.approx(energy, abs=1e-9) and energy < 0.02
    assert top["gain"] > 1 and top["sel"] > ens.scores.sel[[a, b]].max()
    for p in ens.pairs:
        assert p["rho_in"] > 0 and p["out_energy"] <= 0.5


def test_generalized_top_solves_the_generalized_eigenproblem():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((2, 30, 6))
    a, b, lam = x.T @ x, y.T @ y, 0.3
    mu, v, used = generalized_top(a, b, lam, 3)
    assert used == lam
    c = b + lam * np.eye(6)
    want = np.sort(np.linalg.eigvals(np.linalg.solve(c, a)).real)[::-1][:3]
    np.testing.assert_allclose(mu, want, rtol=1e-9)
    for m, vec in zip(mu, v, strict=True):
        np.testing.assert_allclose(a @ vec, m * c @ vec, atol=1e-9 * np.abs(a).max())
        assert np.linalg.norm(vec) == pytest.approx(1.0)
        assert vec[np.argmax(np.abs(vec))] > 0
    # a B that rounding made slightly indefinite: the ridge grows until Cholesky works
    bad = b - (np.linalg.eigvalsh(b)[0] + 1e-3) * np.eye(6)
    _, _, used = generalized_top(a, bad, 1e-6, 2)
    assert used >= 1e-3 and np.all(np.linalg.eigvalsh(bad + used * np.eye(6)) > 0)


@pytest.fixture(scope="module")
def trained():
    """The default net trained briefly (100 epochs, seeded) on the macaw at 24 px: 24×19."""
    from synens.core.files.picture import load_picture
    from synens.core.network.train import TrainConfig, train

    img = load_picture(Path(__file__).resolve().parent.parent / "assets" / "scarlet_macaw.png",
                       24)
    topo = layered()
    return topo, train(topo, img, TrainConfig(seed=0, epochs=100)).weights, img


@pytest.mark.parametrize("region", [(3, 2, 9, 7), (0, 10, 8, 18), (15, 0, 24, 6)])
def test_top_move_beats_every_single_member_and_its_check_agrees(trained, region):
    topo, w, img = trained
    ens = region_ensemble(topo, w, img, region, dtype=np.float64)
    a, b = ens.gram
    best = ens.scores.sel[ens.members].max()
    top = ens.moves[0]
    assert top["selectivity"] >= best
    assert top["selectivity"] == pytest.approx(direction_sel(top["vector"], a, b, 1e-9))
    for i, s in enumerate(ens.members):  # e_s gives sel(s)
        e = np.zeros(ens.members.size)
        e[i] = 1.0
        assert direction_sel(e, a, b, 1e-9) == pytest.approx(ens.scores.sel[s], rel=1e-7)
    assert [m["ratio"] for m in ens.moves] == sorted((m["ratio"] for m in ens.moves),
                                                     reverse=True)
    # the non-linear check: a real step, re-rendered, agrees in sign and order of magnitude
    assert top["predicted"]["in"] == pytest.approx(ens.rule.step_in, rel=1e-6)
    assert top["cos_in"] > 0.5 and 1 / 3 <= top["ratio_in"] <= 3 and top["agrees"]
    assert 0.1 <= top["measured"]["out"] / top["predicted"]["out"] <= 10
    moved = w.copy()
    moved[ens.members] += top["step"] * top["vector"]
    h, wd = img.shape[:2]
    d = render(topo, moved, wd, h, np.float64) - render(topo, w, wd, h, np.float64)
    x0, y0, x1, y1 = region
    inside = np.zeros((h, wd), bool)
    inside[y0:y1, x0:x1] = True
    assert top["measured"]["in"] == pytest.approx(np.sqrt(np.mean(d[inside] ** 2)), rel=1e-4)
    assert top["measured"]["out"] == pytest.approx(np.sqrt(np.mean(d[~inside] ** 2)), rel=1e-4)


def test_bad_rules_and_regions_are_refused():
    topo, w, img = small_model()
    with pytest.raises(SynensError, match="share"):
        region_ensemble(topo, w, img, (1, 1, 3, 3), RegionRule(share=0.0))
    with pytest.raises(SynensError, match="outside"):
        region_ensemble(topo, w, img, (1, 1, 30, 3))
