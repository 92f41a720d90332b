"""Analysis benchmark: region analysis (vs the same computation in torch.func), atlas, basis test.

Usage (from the repository root):
    bash benchmarks/torch_env.sh                       # once: the PyTorch venv
    python benchmarks/bench_analysis.py [--model assets/default.npz] [--json FILE] [--no-torch]
    python benchmarks/bench_analysis.py --control-only     # first answer and null only

Every figure is a median of wall-clock times of warm calls. The PyTorch peer
(benchmarks/torch_analysis_peer.py) runs in a separate process (.venv-bench), never at the same
time as the Numba side: the two starve each other's OpenMP threads in one process. It also
reports its members and top selectivity, so the two sides are checked to compute the same.
The environment (OPENBLAS_NUM_THREADS, OMP_WAIT_POLICY, ...) applies to the Numba side only;
where unset, it is the synens-tui command's own (``synens.tui.bootstrap``);
the peer runs with PyTorch's defaults. With 2 cores, OPENBLAS_NUM_THREADS=1 matters: OpenBLAS
threads that wake for the small LAPACK steps keep spinning and stall the parallel kernels.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# The process settings of the synens-tui command (OPENBLAS_NUM_THREADS=1,
# OMP_WAIT_POLICY=PASSIVE, ...), made before NumPy and Numba load, so the figures are those of
# the tool; a variable set in the environment wins (e.g. OMP_WAIT_POLICY=ACTIVE to measure
# Numba's default spin-wait, which on a busy 2-core machine adds ~6 ms to every parallel call).
from synens.tui.bootstrap import configure_process

configure_process()

from synens.core.analysis.atlas import ensemble_atlas  # noqa: E402
from synens.core.analysis.basis import basis_test  # noqa: E402
from synens.core.analysis.ensemble import RegionRule, membership, region_scores  # noqa: E402
from synens.core.analysis.moves import coordinated_moves, opposing_pairs, verify_moves  # noqa: E402
from synens.core.analysis.region import region_ensemble  # noqa: E402
from synens.core.files.model import load_model  # noqa: E402
from synens.core.network.streaming import split_gram, split_samples, split_sumsq  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

REGIONS = ((30, 20, 70, 50), (0, 60, 40, 99), (90, 50, 128, 99))
ENV_KEYS = ("OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "NUMBA_NUM_THREADS")


def stages(model, region) -> dict:
    """Median seconds of each stage of one region analysis."""
    topo, w, img = model.topo, model.weights, model.image
    members, _ = membership(region_scores(topo, w, img, region), RegionRule())
    sp = split_samples(*model.size, region)
    ens = region_ensemble(topo, w, img, region, verify=False)
    out = {"J^2 sums over R and O, all synapses": lambda: split_sumsq(topo, w, sp),
           f"Gram matrices over R and O, {members.size} members": lambda: split_gram(
               topo, w, sp, members),
           "pairs + moves (NumPy, LAPACK)": lambda: (opposing_pairs(ens),
                                                     coordinated_moves(ens)),
           "non-linear check (4 renders + 1 forward-mode J v)": lambda: verify_moves(ens)}
    return {k: C.median(C.timings(f, repeat=21)) for k, f in out.items()}


def control_times(model, region, null_boxes: int = 20, repeat: int = 5,
                  null_repeat: int = 3) -> dict:
    """Seconds of the control instrument's first answer (median of ``repeat`` warm calls) and
    of its null (median of ``null_repeat`` runs), with the renders each used."""
    import time

    from synens.core.analysis.control import region_control
    from synens.core.analysis.masks import rect_mask
    from synens.core.analysis.null import region_null

    mask = rect_mask(region, *model.size)
    c = region_control(model.topo, model.weights, mask)  # warm
    region_null(c, 2, 0)                                  # warm
    first = C.timings(lambda: region_control(model.topo, model.weights, mask),
                      repeat=repeat, warmup=0)
    nulls = []
    for _ in range(null_repeat):
        t = time.perf_counter()
        region_null(c, null_boxes, 0)
        nulls.append(time.perf_counter() - t)
    return {"first answer (ceiling, curve to 64, baselines, pairs)": C.median(first),
            f"null of {null_boxes} boxes": C.median(nulls) if nulls else None,
            "renders in the first answer": c.ctx.renderer.renders,
            "first answer seconds": first, "null seconds": nulls}


def control_main(args) -> int:
    """Only the control instrument: first answer on each region, null on the first."""
    model = load_model(args.model)
    rows = []
    data: dict = {"machine": C.machine(), "model": args.model,
                  "env": {k: os.environ.get(k) for k in ENV_KEYS}, "control": {}}
    load = data["background_load"] = {}
    for i, region in enumerate(REGIONS):
        name = ",".join(map(str, region))
        C.log(f"control instrument, region {name} ...")
        with C.Section(load, f"control {name}"):
            r = control_times(model, region, null_repeat=3 if i == 0 else 0)
        data["control"][name] = r
        rows.append([f"first answer, region {name} ({r['renders in the first answer']} renders)",
                     C.fmt(r["first answer (ceiling, curve to 64, baselines, pairs)"], "s"),
                     "<= 0.5 s"])
        if i == 0:
            rows.append([f"null of 20 boxes, region {name}", C.fmt(r["null of 20 boxes"], "s"),
                         "<= 3 s"])
    m = data["machine"]
    print(f"machine: {m['processor']}, {m['cpus']} CPUs; numba {m['numba']} "
          f"({m['numba_threads']} threads); load average at the end: {os.getloadavg()[0]:.1f}")
    noisy = [f"{k} {100 * v['others']:.0f} %" for k, v in load.items() if v["others"] > 0.10]
    if noisy:
        print("WARNING: other processes used the cores during: " + ", ".join(noisy))
    print(C.table(rows, ["figure (medians)", "ours", "target"]))
    if args.json:
        C.write_json(args.json, data)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(C.ROOT / "assets" / "default.npz"))
    ap.add_argument("--json", metavar="FILE", help="also write every measurement as JSON")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    ap.add_argument("--repeat", type=int, default=31, help="timed calls per region (31)")
    ap.add_argument("--control-only", action="store_true",
                    help="only the control instrument: first answers (median of 5) and the "
                         "20-box null (median of 3)")
    args = ap.parse_args(argv)
    if args.control_only:
        return control_main(args)
    model = load_model(args.model)
    topo, w, img = model.topo, model.weights, model.image
    data: dict = {"machine": C.machine(), "model": args.model, "picture": list(model.size),
                  "env": {k: os.environ.get(k) for k in ENV_KEYS}, "regions": {}}
    load = data["background_load"] = {}
    for region in REGIONS:
        name = ",".join(map(str, region))
        C.log(f"ours: region analysis {name} ...")
        with C.Section(load, f"region {name}"):
            ens = region_ensemble(topo, w, img, region)
            ts = C.timings(lambda r=region: region_ensemble(topo, w, img, r),
                           repeat=args.repeat, warmup=2)
            data["regions"][name] = {"seconds": ts, "median": C.median(ts), "best": min(ts),
                                     "members": ens.members.tolist(),
                                     "top_selectivity": ens.moves[0]["selectivity"],
                                     "pairs": len(ens.pairs)}
    C.log("ours: stages of the first region ...")
    with C.Section(load, "stages"):
        data["stages"] = stages(model, REGIONS[0])
    C.log("ours: control instrument, first region ...")
    with C.Section(load, "control"):
        data["control"] = {k: v for k, v in control_times(model, REGIONS[0]).items()
                           if not k.endswith("seconds")}
    C.log("ours: atlas and basis test ...")
    with C.Section(load, "atlas"):
        atlas = ensemble_atlas(topo, w, img)
        ts = C.timings(lambda: ensemble_atlas(topo, w, img), repeat=5)
        data["atlas"] = {"seconds": ts, "median": C.median(ts), "k": atlas.k,
                         "grid": list(atlas.size)}
    with C.Section(load, "basis"):
        ts = C.timings(lambda: basis_test(topo, w, img), repeat=3)
        given = C.timings(lambda: basis_test(topo, w, img, atlas=atlas), repeat=3)
        data["basis"] = {"seconds": ts, "median": C.median(ts), "median_atlas_given":
                         C.median(given)}
    data["machine"]["numba_threading_layer"] = C._threading_layer()
    py = None if args.no_torch else C.torch_python()
    if py is None and not args.no_torch:
        C.log("no PyTorch venv: run `bash benchmarks/torch_env.sh` for the peer column")
    if py:
        C.log("torch.func peer (separate process) ...")
        env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}  # torch's defaults
        with C.Section(load, "torch"):
            peer = C.run_json([py, str(Path(__file__).parent / "torch_analysis_peer.py"),
                               args.model, *(",".join(map(str, r)) for r in REGIONS)], env=env)
        data["torch"] = peer
    print(report(data))
    if args.json:
        C.write_json(args.json, data)
    return 0


def report(d: dict) -> str:
    """The table of medians, targets and the torch ratio."""
    peer = {",".join(map(str, r["region"])): r for r in d.get("torch", {}).get("regions", [])}
    rows = []
    for name, r in d["regions"].items():
        t = peer.get(name)
        ratio = t["median"] / r["median"] if t else None
        agree = t is not None and sorted(t["members"]) == sorted(r["members"]) and abs(
            t["top_selectivity"] / r["top_selectivity"] - 1) < 1e-2
        same = "n/a" if t is None else ("yes" if agree else "NO")
        rows.append([f"region analysis {name} ({len(r['members'])} members)",
                     f"{C.fmt(r['median'], 's')} (best {C.fmt(r['best'], 's')})",
                     C.fmt(t["median"] if t else None, "s"),
                     "n/a" if ratio is None else f"{ratio:.1f}x",
                     "< 0.3 s" + C._mark(r["median"] < 0.3) + ", >= 5x"
                     + C._mark(None if ratio is None else ratio >= 5), same])
    for k, v in d.get("control", {}).items():
        rows.append([f"  control: {k}", C.fmt(v, "s"), "", "", "", ""])
    for k, v in d["stages"].items():
        rows.append([f"  {k}", C.fmt(v, "s"), "", "", "", ""])
    a, b = d["atlas"], d["basis"]
    rows.append([f"atlas (K = {a['k']}, grid {a['grid'][0]}x{a['grid'][1]})",
                 C.fmt(a["median"], "s"), "", "", "", ""])
    rows.append(["basis test (atlas included)", C.fmt(b["median"], "s"), "", "", "", ""])
    rows.append(["  with the atlas given", C.fmt(b["median_atlas_given"], "s"), "", "", "", ""])
    m = d["machine"]
    env = ", ".join(f"{k}={v}" for k, v in d["env"].items() if v is not None) or "none set"
    top = (f"machine: {m['processor']}, {m['cpus']} CPUs; numba {m['numba']} "
           f"({m['numba_threads']} threads, {m['numba_threading_layer']}); torch "
           f"{d.get('torch', {}).get('torch', 'not run')} "
           f"({d.get('torch', {}).get('threads', '-')} threads)\n"
           f"model: {d['model']} ({d['picture'][0]}x{d['picture'][1]} px); env: {env}")
    noisy = [f"{k} {100 * v['others']:.0f} %" for k, v in d["background_load"].items()
             if v["others"] > 0.10]
    if noisy:
        top += "\nWARNING: other processes used the cores during: " + ", ".join(noisy)
    head = ["figure (medians)", "ours", "torch.func", "ratio", "target",
            "same members, top sel within 1 %"]
    return top + "\n\n" + C.table(rows, head)


if __name__ == "__main__":
    sys.exit(main())
