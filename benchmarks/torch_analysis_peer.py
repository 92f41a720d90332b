"""The region analysis of synens.core done with PyTorch's torch.func (benchmark peer).

Runs in the benchmark venv (benchmarks/torch_env.sh), in its own process: Numba and PyTorch
in one process starve each other's OpenMP threads. synens is not imported; the network is
benchmarks/torch_net.py's TorchNet. The computation is the same as ``region_ensemble``:
the full Jacobian (vmap of jacrev), in/out/sel, membership (in >= 0.2 max in), the members'
Gram matrices over R and O, opposing pairs, the top 3 moves of A v = mu (B + lam I) v, and
the non-linear check (one render per move, plus J v for the prediction).

Usage: python benchmarks/torch_analysis_peer.py MODEL.npz x0,y0,x1,y1 [x0,y0,x1,y1 ...]
Prints one JSON line: {"torch": version, "threads": n, "regions": [{"region", "seconds",
"median", "members", "top_selectivity"}, ...]}.
"""

from __future__ import annotations

import json
import statistics
import sys
from functools import partial
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import timings  # noqa: E402
from torch_net import TorchNet, jacobian, pixel_grid  # noqa: E402

SHARE, EPS, LAM, STEP_IN, N_MOVES, PAIR_MAX = 0.2, 1e-9, 1e-3, 0.05, 3, 0.5


def analyse(net: TorchNet, xy: torch.Tensor, width: int, height: int,
            region: tuple[int, int, int, int]) -> dict:
    """One region analysis, end to end (float32 maps, float64 small linear algebra)."""
    x0, y0, x1, y1 = region
    inside = torch.zeros(height, width, dtype=torch.bool)
    inside[y0:y1, x0:x1] = True
    inside = inside.reshape(-1)
    n_in, n_out = int(inside.sum()), int((~inside).sum())
    w = net.w.detach()
    j = jacobian(net, xy)  # [P, 3, S]
    j2 = (j * j).sum(dim=1, dtype=torch.float64)  # [P, S]
    in_ = torch.sqrt(j2[inside].sum(0) / (3 * n_in))
    out = torch.sqrt(j2[~inside].sum(0) / (3 * n_out))
    sel = in_ / (out + EPS)
    ids = torch.nonzero(in_ >= SHARE * in_.max()).ravel()
    ids = ids[torch.argsort(-in_[ids], stable=True)]
    jm = j[:, :, ids].to(torch.float64)
    jr, jo = jm[inside].reshape(-1, ids.numel()), jm[~inside].reshape(-1, ids.numel())
    a, b = jr.T @ jr / (3 * n_in), jo.T @ jo / (3 * n_out)
    da, db = torch.sqrt(torch.diag(a)), torch.sqrt(torch.diag(b))
    rho_in, rho_out = a / torch.outer(da, da), b / torch.outer(db, db)
    pairs = torch.nonzero(torch.triu((rho_in > 0) & (2 * (1 + rho_out) <= PAIR_MAX), 1))
    best = int(torch.argmax(sel[ids]))
    lam = max(LAM * float(b[best, best]), 1e-14 * float(torch.diag(b).max()))
    low = torch.linalg.cholesky(b + lam * torch.eye(ids.numel(), dtype=torch.float64))
    m = torch.linalg.solve_triangular(low, torch.linalg.solve_triangular(low, a, upper=False).T,
                                      upper=False)
    mu, y = torch.linalg.eigh(0.5 * (m + m.T))
    v = torch.linalg.solve_triangular(low.T, y[:, -N_MOVES:].flip(1), upper=True).T
    v = v / torch.linalg.norm(v, dim=1, keepdim=True)
    big = v.gather(1, torch.argmax(v.abs(), dim=1, keepdim=True))
    v = v * torch.where(big < 0, -1.0, 1.0).to(v.dtype)  # largest component positive
    sels = torch.sqrt(torch.einsum("ks,st,kt->k", v, a, v)) / (
        torch.sqrt(torch.einsum("ks,st,kt->k", v, b, v)) + EPS)
    checks = []
    with torch.inference_mode():
        base = net(xy, w)
        for vec in v:
            t = STEP_IN / float(torch.sqrt(vec @ a @ vec))
            moved = w.clone()
            moved[ids] += (t * vec).to(w.dtype)
            d = (net(xy, moved) - base).to(torch.float64)
            pred = (jm @ (t * vec)).reshape(-1, 3)
            checks.append([float(torch.sqrt(torch.mean(d[inside] ** 2))),
                           float(torch.sqrt(torch.mean(d[~inside] ** 2))),
                           float(torch.sqrt(torch.mean(pred[inside] ** 2)))])
    return {"members": ids.tolist(), "pairs": int(pairs.shape[0]),
            "top_selectivity": float(sels[0]), "checks": checks}


def main(argv: list[str]) -> int:
    net, arr = TorchNet.from_npz(argv[0])
    height, width = arr["image"].shape[:2]
    xy = pixel_grid(width, height)
    regions = []
    for text in argv[1:]:
        region = tuple(int(v) for v in text.split(","))
        res = analyse(net, xy, width, height, region)  # warm-up
        ts = timings(partial(analyse, net, xy, width, height, region), repeat=7, warmup=0)
        regions.append({"region": list(region), "seconds": ts, "median": statistics.median(ts),
                        **res})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "regions": regions}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
