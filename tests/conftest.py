"""Shared fixtures: seeded random DAGs, the default layered net, a tiny picture, the explorer."""

from __future__ import annotations

import numpy as np
import pytest
from app_fixtures import small_model
from synens.core.base.topology import Topology, layered
from synens.core.files.model import load_model
from synens.core.network.render import render

#: Random boxes of the explorer fixture's null (``synens-tui report --null-boxes`` to compare).
NULL_BOXES = 2

#: Seeds of the random DAGs every kernel test runs on (each seed is one network).
DAG_SEEDS = tuple(range(10))


def random_dag(seed: int, weight_scale: float = 1.0) -> tuple[Topology, np.ndarray]:
    """A random feed-forward net of 3 + seed % 10 neurons and its weights float64[S].

    Each neuron draws its sources at random among bias, x, y and every neuron before it in a
    hidden logical order (so skip links are common, and a neuron may have no synapse at all).
    Even seeds relabel the neurons at random, so neuron ids are usually not a topological
    order; odd seeds keep them in order. Outputs are usually the last three neurons, but
    sometimes random ones (an output may then feed other neurons). The synapse list is
    shuffled before ``from_arrays``; the weights are reordered with the returned ``perm``.
    """
    rng = np.random.default_rng(seed)
    n = 3 + seed % 10  # seeds 0..9 cover every size from 3 to 12 neurons
    labels = rng.permutation(n) if seed % 2 == 0 else np.arange(n)
    src: list[int] = []
    dst: list[int] = []
    for i in range(n):
        p = rng.uniform(0.25, 0.9)
        for c in [-1, -2, -3, *range(i)]:
            if rng.random() < p:
                src.append(int(labels[c]) if c >= 0 else c)
                dst.append(int(labels[i]))
    if rng.random() < 0.7:
        outs = labels[n - 3:]
    else:
        outs = labels[rng.choice(n, 3, replace=False)]
    src_a, dst_a = np.array(src, np.int64), np.array(dst, np.int64)
    shuffle = rng.permutation(src_a.size)
    w_in = rng.normal(0.0, weight_scale, src_a.size)
    topo, perm = Topology.from_arrays(src_a[shuffle], dst_a[shuffle], n, outs,
                                      spec={"kind": "random", "seed": seed})
    return topo, w_in[shuffle][perm]


def layered_weights(topo: Topology, seed: int = 0) -> np.ndarray:
    """Weights float64[S] for a layered net, scaled like a trained one (std 1/sqrt(fan-in))."""
    rng = np.random.default_rng(seed)
    fan_in = np.diff(topo.ptr)[topo.dst]
    return rng.normal(0.0, 1.0, topo.n_synapses) * 1.5 / np.sqrt(fan_in)


def render_fd(topo: Topology, w: np.ndarray, width: int, height: int, synapses,
              h: float = 1e-6) -> np.ndarray:
    """Central differences of the float64 painting: float64[H, W, 3, k] for the k synapses."""
    cols = []
    for s in synapses:
        wp, wm = w.copy(), w.copy()
        wp[s] += h
        wm[s] -= h
        diff = render(topo, wp, width, height, np.float64) - render(topo, wm, width, height,
                                                                    np.float64)
        cols.append(diff / (2 * h))
    return np.stack(cols, axis=-1)


def _scaled_err(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(1, max |b|): an absolute error for O(1) values, relative beyond."""
    b = np.asarray(b, np.float64)
    return float(np.max(np.abs(np.asarray(a, np.float64) - b)) / max(1.0, np.max(np.abs(b))))


def _sample_set(count: int, seed: int):
    """Seeded samples in [-1, 1]: x, y float64[count] and targets float64[3, count]."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, count), rng.uniform(-1, 1, count), rng.uniform(-1, 1, (3, count))


@pytest.fixture(params=DAG_SEEDS, ids=[f"dag{s}" for s in DAG_SEEDS])
def dag(request) -> tuple[Topology, np.ndarray]:
    """One random DAG and its weights, for each seed of DAG_SEEDS."""
    return random_dag(request.param)


@pytest.fixture
def net() -> tuple[Topology, np.ndarray]:
    """The default layered() network (37 neurons, 460 synapses) with seeded weights."""
    topo = layered()
    return topo, layered_weights(topo)


@pytest.fixture(scope="session")
def tiny_picture() -> np.ndarray:
    """A seeded 5×7 RGB picture: uint8[5, 7, 3] (H=5, W=7)."""
    return np.random.default_rng(7).integers(0, 256, (5, 7, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """The small fixed model, copied once per test module (the pilot tests' own file)."""
    path = tmp_path_factory.mktemp("model") / "small.npz"
    small_model(path)
    return path


@pytest.fixture
def app(model_path, tmp_path):
    """A fresh explorer on the small model, writing reports and saves to ``tmp_path``."""
    from synens.tui.app import ExplorerApp  # imported here: most tests need no Textual
    from synens.tui.session import Analyses

    # a 2-box null: the same pipeline as the default 20 boxes, in a tenth of the time
    return ExplorerApp(load_model(model_path), report_dir=str(tmp_path), save_dir=str(tmp_path),
                       analyses=Analyses(null_boxes=NULL_BOXES))
