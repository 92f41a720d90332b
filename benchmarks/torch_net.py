"""The same tanh DAG network in PyTorch (CPU): forward, Adam, L-BFGS, torch.func Jacobian.

Benchmark peer only: needs the venv made by benchmarks/torch_env.sh, never a project
dependency. Self-contained (NumPy + PyTorch + benchmarks/common.py; synens is not imported), so
it runs in its own process: Numba and PyTorch in one process starve each other's OpenMP threads.

Run as ``python benchmarks/torch_net.py JOB.json``: the job is {"tasks": [...]}, each task a
dict with "kind" (train | render | jacobian | lbfgs) and "model" (a synens model .npz); it
prints one JSON line {"results": [...], "torch": version, "threads": n}.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np
import torch
from common import timings


class Plan:
    """Dense per-level layout of a synapse list (see TorchNet).

    Level k (its neurons in id order) is one matrix Wb float[n_k, 1 + F_k]: column 0 is each
    neuron's bias, the others its weights from the contiguous feature blocks blo..bhi. A
    synapse that does not exist reads the extra zero weight at index S.
    """

    def __init__(self, src, dst, n_neurons: int, outputs) -> None:
        src = np.asarray(src, np.int64)
        dst = np.asarray(dst, np.int64)
        n = int(n_neurons)
        s_all = src.size
        level = _levels(src, dst, n)
        members = [np.flatnonzero(level == k) for k in range(int(level.max()) + 1)]
        # Feature columns: block 0 = (x, y), block k + 1 = the neurons of level k.
        starts = np.cumsum([0, 2] + [m.size for m in members])
        col = np.empty(n, np.int64)
        for k, m in enumerate(members):
            col[m] = starts[k + 1] + np.arange(m.size)
        self.levels: list[tuple] = []  # (gather int64[n_k, 1 + F_k], blo, bhi)
        self.n_synapses = s_all
        where = np.zeros(s_all, np.int64)  # column of each synapse in the flattened Wb's
        base = 0
        for m in members:
            pos = np.full(n, -1)
            pos[m] = np.arange(m.size)
            syn = np.flatnonzero(pos[dst] >= 0)
            c = np.where(src[syn] == -1, -1, np.where(
                src[syn] == -2, 0, np.where(src[syn] == -3, 1, col[np.maximum(src[syn], 0)])))
            feat = c >= 0
            blo = bhi = None
            width = 1
            if feat.any():
                blo = int(np.searchsorted(starts, c[feat].min(), side="right") - 1)
                bhi = int(np.searchsorted(starts, c[feat].max(), side="right") - 1)
                width += int(starts[bhi + 1] - starts[blo])
            slot = np.where(feat, c - (starts[blo] if blo is not None else 0) + 1, 0)
            gather = np.full((m.size, width), s_all)
            gather[pos[dst[syn]], slot] = syn
            where[syn] = base + pos[dst[syn]] * width + slot
            base += gather.size
            self.levels.append((torch.as_tensor(gather), blo, bhi))
        identity = np.array_equal(where, np.arange(s_all)) and base == s_all
        self.column_of_synapse = None if identity else torch.as_tensor(where)
        outs = col[np.asarray(outputs, np.int64)]
        last = starts[-2]
        self.out_slice = None
        if np.all(outs >= last) and np.all(np.diff(outs) == 1):
            self.out_slice = (int(outs[0] - last), int(outs[-1] - last + 1))
        self.out_cols = torch.as_tensor(outs)


def _levels(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    """Longest-path depth of each neuron from the inputs (int64[N]); refuses cycles."""
    level = np.zeros(n, np.int64)
    nn = src >= 0
    a, b = src[nn], dst[nn]
    indeg = np.bincount(b, minlength=n)
    ready = list(np.flatnonzero(indeg == 0))
    seen = 0
    children = [[] for _ in range(n)]
    for u, v in zip(a.tolist(), b.tolist(), strict=True):
        children[u].append(v)
    while ready:
        u = ready.pop()
        seen += 1
        for v in children[u]:
            level[v] = max(level[v], level[u] + 1)
            indeg[v] -= 1
            if indeg[v] == 0:
                ready.append(v)
    if seen != n:
        raise ValueError("the network has a cycle")
    return level


class TorchNet(torch.nn.Module):
    """The synens network: synapse s carries w[s] from src[s] to dst[s], tanh everywhere.

    Neurons of one topological level form one dense layer (a matmul over the feature blocks
    its sources live in, with zero weights where no synapse exists), which is how one would
    write this net in PyTorch. The weight vector float[S] is the only parameter.
    """

    def __init__(self, src, dst, n_neurons: int, outputs, weights,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.plan = Plan(src, dst, n_neurons, outputs)
        self.w = torch.nn.Parameter(torch.as_tensor(np.asarray(weights), dtype=dtype).clone())

    @classmethod
    def from_npz(cls, path: str, dtype: torch.dtype = torch.float32) -> tuple[TorchNet, dict]:
        """Load a synens model file; returns the net and the raw arrays (incl. ``image``)."""
        with np.load(path, allow_pickle=False) as z:
            arr = {k: z[k] for k in z.files}
        net = cls(arr["src"], arr["dst"], int(arr["n_neurons"]), arr["output_neurons"],
                  arr["weights"], dtype)
        return net, arr

    def dense(self, w: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Per level Wb float[n_k, 1 + F_k] (bias, then weights): the synapses as layers."""
        w = self.w if w is None else w
        wx = torch.cat([w, w.new_zeros(1)])  # index S reads a zero weight
        return [wx[gather] for gather, _, _ in self.plan.levels]

    def forward(self, xy: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
        """Colours float[B, 3] in [-1, 1] of points xy float[B, 2]."""
        return self.forward_dense(xy, self.dense(w))

    def forward_dense(self, xy: torch.Tensor, layers: list[torch.Tensor]) -> torch.Tensor:
        """forward() with the layers of dense() (what torch.func differentiates)."""
        blocks = [xy]
        for wb, (_, blo, bhi) in zip(layers, self.plan.levels, strict=True):
            if blo is None:
                z = wb[:, 0].expand(xy.shape[0], -1)
            else:
                inp = blocks[blo] if blo == bhi else torch.cat(blocks[blo:bhi + 1], dim=1)
                z = torch.addmm(wb[:, 0], inp, wb[:, 1:].T)
            blocks.append(torch.tanh(z))
        if self.plan.out_slice is not None:
            lo, hi = self.plan.out_slice
            return blocks[-1][:, lo:hi]
        return torch.cat(blocks, dim=1)[:, self.plan.out_cols]


def pixel_grid(width: int, height: int, dtype=torch.float32) -> torch.Tensor:
    """Pixel centres float[H*W, 2] (x, y), row-major, y down, as synens places them."""
    xs = -1.0 + 2.0 * (np.arange(width) + 0.5) / width
    ys = -1.0 + 2.0 * (np.arange(height) + 0.5) / height
    gx, gy = np.meshgrid(xs, ys)
    return torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=dtype)


def targets(image: np.ndarray, dtype=torch.float32) -> torch.Tensor:
    """Colours of uint8[H, W, 3] in [-1, 1]: float[H*W, 3]."""
    return torch.as_tensor(image.reshape(-1, 3).astype(np.float64) / 255.0 * 2.0 - 1.0,
                           dtype=dtype)


def render(net: TorchNet, xy: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """The painting float[H, W, 3] (no autograd)."""
    with torch.inference_mode():
        return net(xy).reshape(height, width, 3)


def jacobian(net: TorchNet, xy: torch.Tensor) -> torch.Tensor:
    """d colour / d w for every point: float[P, 3, S].

    torch.func vmap (over points) of jacrev with respect to the dense layers, as one would
    differentiate an nn.Module's parameters; the synapses' columns are then picked out.
    """
    def one(layers, p):
        return net.forward_dense(p[None], layers)[0]

    with torch.no_grad():
        layers = net.dense(net.w.detach())
    jl = torch.func.vmap(torch.func.jacrev(one), in_dims=(None, 0))(layers, xy)
    out = torch.cat([j.flatten(2) for j in jl], dim=2)
    cols = net.plan.column_of_synapse  # None where the layers hold the synapses in order
    return out if cols is None else out.index_select(2, cols)


def adam_epoch(net: TorchNet, opt, xy, t, batch: int, gen: torch.Generator) -> float:
    """One epoch of mini-batch Adam (batch ≥ P: one full-batch step); returns the mean loss."""
    n = xy.shape[0]
    if batch >= n:
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((net(xy) - t) ** 2)
        loss.backward()
        opt.step()
        return float(loss.detach())
    perm = torch.randperm(n, generator=gen)
    total = 0.0
    for lo in range(0, n, batch):
        idx = perm[lo:lo + batch]
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((net(xy[idx]) - t[idx]) ** 2)
        loss.backward()
        opt.step()
        total += float(loss.detach()) * idx.numel()
    return total / n


def lbfgs_run(net: TorchNet, xy, t, seconds: float, max_iter: int = 20,
              history: int = 20) -> list[tuple[float, float]]:
    """Full-batch torch.optim.LBFGS (strong Wolfe) for ``seconds``; (time, rmse) per eval."""
    opt = torch.optim.LBFGS([net.w], lr=1.0, max_iter=max_iter, history_size=history,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                            tolerance_change=1e-15)
    trace: list[tuple[float, float]] = []
    start = time.perf_counter()

    def closure():
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((net(xy) - t) ** 2)
        loss.backward()
        trace.append((time.perf_counter() - start, float(loss.detach()) ** 0.5))
        return loss

    with torch.no_grad():
        trace.append((0.0, float(torch.mean((net(xy) - t) ** 2)) ** 0.5))
    while time.perf_counter() - start < seconds:
        opt.step(closure)
    return trace


def run_task(task: dict) -> dict:
    """Carry out one benchmark task (see the module docstring)."""
    dtype = torch.float64 if task.get("dtype") == "float64" else torch.float32
    net, arr = TorchNet.from_npz(task["model"], dtype)
    image = arr["image"]
    h, w = image.shape[:2]
    kind = task["kind"]
    if kind == "render":
        width, height = task.get("width", w), task.get("height", h)
        xy = pixel_grid(width, height, dtype)
        ts = timings(lambda: render(net, xy, width, height), task.get("repeat", 50),
                     min_seconds=task.get("min_seconds", 0.5))
        return {"kind": kind, "seconds": ts, "median": statistics.median(ts)}
    if kind == "jacobian":
        width, height = task.get("width", w), task.get("height", h)
        xy = pixel_grid(width, height, dtype)
        shape = tuple(jacobian(net, xy).shape)
        ts = timings(lambda: jacobian(net, xy), task.get("repeat", 7))
        return {"kind": kind, "shape": shape, "seconds": ts, "median": statistics.median(ts)}
    xy, t = pixel_grid(w, h, dtype), targets(image, dtype)
    if kind == "train":
        torch.manual_seed(task.get("seed", 0))
        gen = torch.Generator().manual_seed(task.get("seed", 0))
        batch = int(task["batch"])
        opt = torch.optim.Adam([net.w], lr=task.get("lr", 0.01))
        ts = timings(lambda: adam_epoch(net, opt, xy, t, batch, gen), task.get("repeat", 5),
                     min_seconds=task.get("min_seconds", 1.0))
        rates = [xy.shape[0] / s for s in ts]
        return {"kind": kind, "batch": batch, "samples": int(xy.shape[0]), "seconds": ts,
                "samples_per_s": statistics.median(rates)}
    if kind == "lbfgs":
        trace = lbfgs_run(net, xy, t, task["seconds"], task.get("max_iter", 20),
                          task.get("history", 20))
        return {"kind": kind, "trace": trace, "evals": len(trace) - 1,
                "at": {str(c): best_by(trace, c) for c in task.get("checkpoints", [])}}
    raise ValueError(f"unknown task kind {kind!r}")


def best_by(trace: list[tuple[float, float]], seconds: float) -> float:
    """Lowest RMSE reached within ``seconds`` of a (time, rmse) trace."""
    return min(r for t, r in trace if t <= seconds)


def main(argv: list[str]) -> int:
    with open(argv[0]) as fh:
        job = json.load(fh)
    if "threads" in job:
        torch.set_num_threads(int(job["threads"]))
    results = [run_task(task) for task in job["tasks"]]
    print(json.dumps({"results": results, "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
