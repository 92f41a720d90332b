"""Training: a Python loop over jitted epochs, mini-batch Adam then full-batch L-BFGS."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from synens.core.base.errors import SynensError
from synens.core.base.grid import chunked, grid, image_targets, pack, pixel_coords, samples
from synens.core.base.jit import CHUNK
from synens.core.base.topology import Topology
from synens.core.kernels import backward as KG
from synens.core.network.grad import loss_and_grad
from synens.core.network.lbfgs import LBFGS
from synens.core.network.render import render, rmse


@dataclass
class TrainConfig:
    """How to train. Stop rules (any that is set ends training): epochs, seconds, target_rmse.

    An epoch is one Adam pass over every pixel, or one L-BFGS iteration over the full batch.
    ``adam_share`` of the budget goes to Adam, the rest to L-BFGS.
    """

    seed: int = 0
    epochs: int | None = None
    seconds: float | None = None
    target_rmse: float | None = None
    batch: int = 64
    lr: float = 0.01
    l2: float = 0.0
    adam_share: float = 0.2

    def validate(self) -> None:
        if self.epochs is None and self.seconds is None and self.target_rmse is None:
            raise SynensError("give a stop rule: epochs, seconds or a target RMSE")
        if self.epochs is not None and self.epochs < 1:
            raise SynensError("epochs must be at least 1")
        if self.seconds is not None and not self.seconds > 0:
            raise SynensError("seconds must be positive")
        if self.target_rmse is not None and not 0 < self.target_rmse < 2:
            raise SynensError("the target RMSE must lie in (0, 2)")
        if not 1 <= self.batch <= 1 << 20:
            raise SynensError("the batch size must lie in 1..1048576")
        if not 0 < self.lr < 10:
            raise SynensError("the learning rate must lie in (0, 10)")
        if not 0 <= self.l2 < 1:
            raise SynensError("the L2 factor must lie in [0, 1)")
        if not 0 <= self.adam_share <= 1:
            raise SynensError("adam_share must lie in [0, 1]")


@dataclass
class Progress:
    """What the callback sees after each epoch. ``weights`` float64[S] are the current ones."""

    phase: str
    epoch: int
    total_epochs: int | None
    rmse: float
    best_rmse: float
    samples_per_s: float
    elapsed: float
    fraction: float | None
    weights: np.ndarray


@dataclass
class TrainResult:
    """Best weights (float64[S]) and how training went; history holds (seconds, rmse)."""

    weights: np.ndarray
    rmse: float
    epochs: int
    seconds: float
    interrupted: bool
    history: list[tuple[float, float]] = field(default_factory=list)


def init_weights(topo: Topology, seed: int) -> np.ndarray:
    """Seeded initial weights: normal with std 1/sqrt(fan-in) of the target (float64[S])."""
    rng = np.random.default_rng(seed)
    fan_in = np.diff(topo.ptr)[topo.dst].astype(np.float64)
    return rng.standard_normal(topo.n_synapses) / np.sqrt(fan_in)


class _Budget:
    """Tracks the stop rules and the Adam/L-BFGS split."""

    def __init__(self, cfg: TrainConfig, start: float) -> None:
        self.cfg, self.start = cfg, start

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def fraction(self, epoch: int) -> float | None:
        parts = []
        if self.cfg.epochs is not None:
            parts.append(epoch / self.cfg.epochs)
        if self.cfg.seconds is not None:
            parts.append(self.elapsed() / self.cfg.seconds)
        return min(1.0, max(parts)) if parts else None

    def in_adam(self, epoch: int) -> bool:
        share = self.cfg.adam_share
        if share >= 1:
            return True
        if self.cfg.epochs is None and self.cfg.seconds is None:
            return epoch < 50 * share  # target-RMSE runs: a short Adam warm-up
        f = self.fraction(epoch)
        return f is not None and f < share

    def done(self, epoch: int, best: float) -> bool:
        if self.cfg.target_rmse is not None and best <= self.cfg.target_rmse:
            return True
        f = self.fraction(epoch)
        return f is not None and f >= 1.0


def train(topo: Topology, image: np.ndarray, config: TrainConfig,
          weights: np.ndarray | None = None,
          callback: Callable[[Progress], bool | None] | None = None) -> TrainResult:
    """Fit the network to ``image`` (uint8[H, W, 3]); resume from ``weights`` if given.

    Runs Adam epochs (jitted, one call per epoch) and then L-BFGS iterations, calling
    ``callback`` between them; a callback returning True stops training. Ctrl-C
    (KeyboardInterrupt) also stops it. Either way the best weights so far are returned.
    With ``epochs`` or ``target_rmse`` as the stop rule, a seed reproduces the result bit
    for bit on one machine; a ``seconds`` budget depends on the machine's speed.
    """
    config.validate()
    h, w_ = image.shape[:2]
    w64 = init_weights(topo, config.seed) if weights is None else np.array(weights, np.float64)
    g = grid(w_, h, np.float32)
    targets = image_targets(image)
    xs, ys = (v.astype(np.float32) for v in pixel_coords(w_, h))
    ts = np.ascontiguousarray(image.reshape(-1, 3).T.astype(np.float32) / 255.0 * 2.0 - 1.0)
    n_px = xs.size
    rng = np.random.default_rng(config.seed + 1)
    net = pack(topo, w64, np.float32)
    m = np.zeros(topo.n_synapses)
    v = np.zeros(topo.n_synapses)
    step = np.zeros(1, np.int64)

    def fg(wv: np.ndarray) -> tuple[float, np.ndarray]:
        return loss_and_grad(topo, wv, g.samples, targets, config.l2)

    def score(wv: np.ndarray) -> float:
        return rmse(render(topo, wv, w_, h, grid_=g), image)

    best_w, best = w64.copy(), score(w64)
    history = [(0.0, best)]
    budget = _Budget(config, time.perf_counter())
    epoch, interrupted, opt = 0, False, None
    try:
        while not budget.done(epoch, best):
            t0 = time.perf_counter()
            if budget.in_adam(epoch) and opt is None:
                phase = "adam"
                if config.batch >= n_px:
                    _, grad = fg(w64)
                    _adam_update(w64, grad, m, v, step, config.lr)
                else:
                    perm = rng.permutation(n_px)
                    if config.batch <= CHUNK:
                        KG._adam_epoch(w64, net.w, net.src, net.ptr, net.order, net.outs,
                                       xs, ys, ts, perm, config.batch, config.lr, config.l2,
                                       m, v, step)
                    else:
                        _large_batch_epoch(topo, w64, xs, ys, ts, perm, config, m, v, step)
                seen = n_px
                current = w64
            else:
                phase = "lbfgs"
                if opt is None:
                    opt = LBFGS(fg, w64)
                if opt.converged:
                    break
                seen = opt.step() * n_px
                current = opt.w
            epoch += 1
            now = score(current)
            if now < best:
                best, best_w = now, current.copy()
            history.append((budget.elapsed(), now))
            if callback is not None:
                dt = time.perf_counter() - t0
                prog = Progress(phase, epoch, config.epochs, now, best,
                                seen / max(dt, 1e-9), budget.elapsed(),
                                budget.fraction(epoch), current)
                if callback(prog):
                    interrupted = True
                    break
    except KeyboardInterrupt:
        interrupted = True
    return TrainResult(best_w, best, epoch, budget.elapsed(), interrupted, history)


def _adam_update(w64, grad, m, v, step, lr, b1=0.9, b2=0.999, eps=1e-8) -> None:
    """One Adam step in NumPy on float64[S] arrays (same rule as the epoch kernel)."""
    step[0] += 1
    m *= b1
    m += (1 - b1) * grad
    v *= b2
    v += (1 - b2) * grad * grad
    w64 -= lr * (m / (1 - b1 ** step[0])) / (np.sqrt(v / (1 - b2 ** step[0])) + eps)


def _large_batch_epoch(topo, w64, xs, ys, ts, perm, cfg, m, v, step) -> None:
    """One Adam epoch with batches larger than a chunk, each batch's gradient in parallel."""
    for b in range(0, perm.size, cfg.batch):
        idx = perm[b:b + cfg.batch]
        s = samples(xs[idx], ys[idx])
        _, grad = loss_and_grad(topo, w64, s, chunked(ts[:, idx]), cfg.l2)
        _adam_update(w64, grad, m, v, step, cfg.lr)
