"""Greedy forward selection: ``greedy_path(a, b, lam, 64)`` with the Numba kernels against the
vectorised NumPy version they replaced (tests/reference.py), on a region's Gram matrices.

Usage (from the repository root):
    python benchmarks/bench_greedy.py [--model assets/default.npz] [--box 30,20,70,50]

Median of 20 warm calls each; also checks that both give the same synapse order.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from synens.tui.bootstrap import configure_process

configure_process()

import numpy as np  # noqa: E402
from synens.core.analysis.control import choose_ceiling, context  # noqa: E402
from synens.core.analysis.masks import rect_mask  # noqa: E402
from synens.core.analysis.sparse import greedy_path  # noqa: E402
from synens.core.files.model import load_model  # noqa: E402

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent / "tests"))
import common as C  # noqa: E402
import reference as R  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="assets/default.npz")
    ap.add_argument("--box", default="30,20,70,50")
    ap.add_argument("--k", type=int, default=64)
    args = ap.parse_args()
    model = load_model(args.model)
    box = tuple(int(v) for v in args.box.split(","))
    ctx = context(model.topo, model.weights, rect_mask(box, *model.size))
    choose_ceiling(ctx, levels=False)
    a, b, lam = ctx.a, ctx.b, ctx.lam
    new, old = greedy_path(a, b, lam, args.k), R.greedy_path(a, b, lam, args.k)
    pairs = enumerate(zip(new[0], old[0], strict=False))
    same = next((i for i, (x, y) in pairs if x != y), len(new[0]))
    t_new = C.median(C.timings(lambda: greedy_path(a, b, lam, args.k), repeat=20))
    t_old = C.median(C.timings(lambda: R.greedy_path(a, b, lam, args.k), repeat=20))
    print(f"{args.model} box {args.box}: S={a.shape[0]}, k={args.k}, lam={lam:.3g}")
    print(f"greedy_path, Numba kernels: {1e3 * t_new:7.2f} ms")
    print(f"greedy_path, NumPy (ref.):  {1e3 * t_old:7.2f} ms")
    print(f"same order for the first {same} of {len(new[0])} steps; max rel. mu difference "
          f"{np.max(np.abs(new[1][:same] / old[1][:same] - 1)):.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
