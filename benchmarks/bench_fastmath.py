"""Speed of the kernels under candidate fast-math flag sets (SYNENS_FASTMATH), one process each.

Usage (from the repository root):
    NUMBA_NUM_THREADS=1 python benchmarks/bench_fastmath.py [--sets "fast;contract,afn;0"]

On a shared, busy machine read the minimum (the medians then measure the other load).

Each set runs in its own process (the flags are read at import, and each set compiles into its
own cache files). Per set: the minimum and the median of a full 128×128 render and of one full-batch
loss-and-gradient (the training step) on the default network. "fast" is the old
``fastmath=True`` (it includes nnan and ninf), for comparison only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

SETS = "fast;contract,reassoc,nsz,arcp,afn;contract,reassoc,nsz;0"

CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import common as C
from synens.core.base.grid import grid, image_targets
from synens.core.base.jit import FASTMATH
from synens.core.base.topology import layered
from synens.core.network.grad import loss_and_grad
from synens.core.network.render import render
from synens.core.network.train import init_weights
topo = layered()
w = init_weights(topo, 0)
img = C.flat_shapes(128)
g = grid(128, 128, np.float32)
tg = image_targets(img)
r = C.timings(lambda: render(topo, w, 128, 128), repeat=30, warmup=2, min_seconds=2)
lg = C.timings(lambda: loss_and_grad(topo, w, g.samples, tg, 0.0), repeat=30, warmup=2,
               min_seconds=2)
print(json.dumps({"flags": sorted(FASTMATH), "render_ms": [1e3 * min(r), 1e3 * C.median(r)],
                  "loss_grad_ms": [1e3 * min(lg), 1e3 * C.median(lg)]}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=SETS, help="';'-separated SYNENS_FASTMATH values")
    args = ap.parse_args()
    here = str(Path(__file__).resolve().parent)
    print(f"{'SYNENS_FASTMATH':32} {'render ms (min / median)':>25} {'loss+grad ms':>18}")
    for value in args.sets.split(";"):
        env = {**os.environ, "SYNENS_FASTMATH": value}
        out = subprocess.run([sys.executable, "-c", CHILD, here], env=env, check=True,
                             capture_output=True, text=True).stdout
        d = json.loads(out.strip().splitlines()[-1])
        r, lg = d["render_ms"], d["loss_grad_ms"]
        print(f"{value:32} {r[0]:12.2f} / {r[1]:9.2f} {lg[0]:9.2f} / {lg[1]:6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
