"""Training: determinism for a seed, RMSE below a stated bound, stop rules, resume, and L-BFGS."""

from __future__ import annotations

import numpy as np
import pytest
from synens.core.base.errors import SynensError
from synens.core.base.topology import layered
from synens.core.network.lbfgs import LBFGS
from synens.core.network.render import render, rmse
from synens.core.network.train import TrainConfig, init_weights, train

#: Bound that 300 seeded epochs must beat on the 32×24 flat-shapes picture below. Measured:
#: 0.040 on this machine (other machines differ only by float rounding); untrained it is > 0.5.
RMSE_BOUND = 0.12


def shapes(w: int = 32, h: int = 24) -> np.ndarray:
    """Flat-coloured shapes: uint8[h, w, 3]."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.full((h, w, 3), (230, 225, 200), np.uint8)
    img[(xx >= 3) & (xx < 14) & (yy >= 3) & (yy < 12)] = (200, 40, 40)
    img[(xx - 22) ** 2 + (yy - 8) ** 2 < 36] = (40, 90, 200)
    img[(yy >= 15) & (yy < 21) & (xx >= 6) & (xx < 28)] = (250, 190, 30)
    return img


@pytest.mark.parametrize("batch", [64, 300, 1 << 20])  # one-chunk kernel, large batch, full batch
def test_training_is_bit_for_bit_deterministic(batch):
    topo, img = layered((5, 5)), shapes()
    cfg = TrainConfig(seed=7, epochs=30, batch=batch, adam_share=0.5)
    a, b = train(topo, img, cfg), train(topo, img, cfg)
    assert a.weights.tobytes() == b.weights.tobytes()
    assert a.rmse == b.rmse and a.epochs == b.epochs == 30
    other = train(topo, img, TrainConfig(seed=8, epochs=30, batch=batch, adam_share=0.5))
    assert other.weights.tobytes() != a.weights.tobytes()


def test_training_lowers_rmse_below_the_bound():
    topo, img = layered(), shapes()
    start = rmse(render(topo, init_weights(topo, 0), 32, 24), img)
    result = train(topo, img, TrainConfig(seed=0, epochs=300))
    assert start > 0.5
    assert result.rmse < RMSE_BOUND
    # the reported RMSE is that of the returned weights
    assert result.rmse == pytest.approx(rmse(render(topo, result.weights, 32, 24), img), abs=1e-6)


def test_best_weights_are_kept_and_history_is_monotone_in_time():
    result = train(layered((4, 4)), shapes(), TrainConfig(seed=1, epochs=40))
    times = [t for t, _ in result.history]
    assert times == sorted(times)
    assert result.rmse == pytest.approx(min(r for _, r in result.history), abs=1e-6)


def test_callback_sees_progress_and_can_stop():
    seen = []

    def cb(p):
        seen.append((p.phase, p.epoch, p.rmse, p.best_rmse, p.fraction))
        return p.epoch == 5

    result = train(layered((4, 4)), shapes(), TrainConfig(seed=2, epochs=50), callback=cb)
    assert result.interrupted and result.epochs == 5 and len(seen) == 5
    assert [e for _, e, _, _, _ in seen] == [1, 2, 3, 4, 5]
    assert all(best <= now + 1e-12 for _, _, now, best, _ in seen)
    assert seen[-1][4] == pytest.approx(5 / 50)


def test_keyboard_interrupt_returns_the_best_so_far():
    def cb(p):
        if p.epoch == 3:
            raise KeyboardInterrupt

    result = train(layered((4, 4)), shapes(), TrainConfig(seed=2, epochs=50), callback=cb)
    assert result.interrupted and result.epochs == 3
    assert np.all(np.isfinite(result.weights))


def test_target_rmse_and_phases():
    phases = []
    result = train(layered((4, 4)), shapes(), TrainConfig(seed=0, target_rmse=0.3, epochs=400),
                   callback=lambda p: phases.append(p.phase))
    assert result.rmse <= 0.3 and result.epochs < 400
    adam_only = []
    train(layered((4, 4)), shapes(), TrainConfig(seed=0, epochs=6, adam_share=1.0),
          callback=lambda p: adam_only.append(p.phase))
    assert set(adam_only) == {"adam"}
    lbfgs = []
    train(layered((4, 4)), shapes(), TrainConfig(seed=0, epochs=10, adam_share=0.5),
          callback=lambda p: lbfgs.append(p.phase))
    assert lbfgs[:5] == ["adam"] * 5 and set(lbfgs[5:]) == {"lbfgs"}


def test_resume_continues_from_the_given_weights():
    """Resuming starts at the given weights and improves on them (the best-so-far rule alone
    would keep ``again.rmse <= first.rmse`` even if training ignored them)."""
    topo, img = layered((5, 5)), shapes()
    first = train(topo, img, TrainConfig(seed=0, epochs=40))
    seen = []
    again = train(topo, img, TrainConfig(seed=0, epochs=20), weights=first.weights,
                  callback=lambda p: seen.append(p.rmse))
    scratch = []
    train(topo, img, TrainConfig(seed=0, epochs=20), callback=lambda p: scratch.append(p.rmse))
    assert seen[0] < 1.25 * first.rmse < scratch[0]  # the first epoch starts where first ended
    assert again.rmse < first.rmse - 1e-3  # and training went on from there
    assert again.rmse < min(scratch)


@pytest.mark.parametrize("kwargs", [
    {}, {"epochs": 0}, {"seconds": -1.0}, {"target_rmse": 3.0}, {"epochs": 5, "batch": 0},
    {"epochs": 5, "lr": 0.0}, {"epochs": 5, "l2": -1.0}, {"epochs": 5, "adam_share": 1.5},
])
def test_bad_configs_are_refused(kwargs):
    with pytest.raises(SynensError):
        train(layered((3,)), shapes(8, 6), TrainConfig(**kwargs))


def test_lbfgs_minimises_the_rosenbrock_function():
    def fg(v):
        x, y = v
        f = (1 - x) ** 2 + 100 * (y - x * x) ** 2
        g = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
        return f, g

    opt = LBFGS(fg, np.array([-1.2, 1.0]))
    for _ in range(200):
        opt.step()
        if opt.converged or opt.f < 1e-14:
            break
    np.testing.assert_allclose(opt.w, [1.0, 1.0], atol=1e-5)


def test_lbfgs_never_increases_the_loss():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((30, 10))
    hess = a.T @ a + np.eye(10)
    b = rng.standard_normal(10)

    def fg(v):
        return 0.5 * v @ hess @ v - b @ v, hess @ v - b

    opt = LBFGS(fg, np.zeros(10))
    losses = [opt.f]
    for _ in range(30):
        opt.step()
        losses.append(opt.f)
    assert all(b_ <= a_ + 1e-12 for a_, b_ in zip(losses, losses[1:], strict=False))
    np.testing.assert_allclose(opt.w, np.linalg.solve(hess, b), rtol=1e-6, atol=1e-8)
