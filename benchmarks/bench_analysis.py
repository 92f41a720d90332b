"""Analysis benchmark: region analysis (vs the same computation in torch.func), atlas, basis test.

Usage (from the repository root):
    bash benchmarks/torch_env.sh                       # once: the PyTorch venv
    python benchmarks/bench_analysis.py [--model assets/default.npz] [--json FILE] [--no-torch]
    python benchmarks/bench_analysis.py --control-only [--repeat 3]
        # the control instrument only: first answer, null, and the curve against its peer

Every figure is a median of wall-clock times of warm calls. The PyTorch peer
(benchmarks/torch_analysis_peer.py) runs in a separate process (.venv-bench), never at the same
time as the Numba side: the two starve each other's OpenMP threads in one process. It also
reports its members and top selectivity, so the two sides are checked to compute the same.
With --control-only the peer is benchmarks/torch_control_peer.py: the curve (Gram matrices,
greedy path from nothing to 64 at the λ that synens chose, every prefix measured by
re-render), timed against the same sub-computation on our side (``control.context``,
``sparse.greedy_path``, ``control.measure_curve``) and checked, from float64 Gram matrices on
both sides, to give the same path, μ and measured sel (exit code 1 where it does not).
$SYNENS_BENCH_VENV names another benchmark venv (e.g. the main checkout's).
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
    of its null (median of ``null_repeat`` runs), with the renders each used and the λ chosen."""
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
            "renders in the first answer": c.ctx.renderer.renders, "lam": c.ctx.lam,
            "first answer seconds": first, "null seconds": nulls}


def control_curve(model, region, lam: float, k_max: int = 64, dtype=None) -> tuple[dict, int]:
    """The torch peer's computation on our side: Gram (``control.context``), greedy path from
    nothing at λ (``sparse.greedy_path``), every prefix measured (``control.measure_curve``).
    Returns {"path", "mu", "sel"} and the renders used. ``dtype``: the Gram's (float32)."""
    import numpy as np
    from synens.core.analysis.control import context, measure_curve
    from synens.core.analysis.masks import rect_mask
    from synens.core.analysis.sparse import greedy_path

    mask = rect_mask(region, *model.size)
    ctx = context(model.topo, model.weights, mask, np.float32 if dtype is None else dtype)
    ctx.lam = lam
    order, mu = greedy_path(ctx.a, ctx.b, lam, min(k_max, model.topo.n_synapses))
    pts = measure_curve(ctx, order)
    return {"path": [int(s) for s in order], "mu": [float(m) for m in mu],
            "sel": [p.move.sel if p.move.measured is not None else None for p in pts]
            }, ctx.renderer.renders


def curve_times(model, region, lam: float, repeat: int) -> dict:
    """Median seconds of ``control_curve`` (warm), its result, and the same curve from
    float64 Gram matrices (``check``: what the peer's --check is compared with)."""
    import numpy as np

    res, renders = control_curve(model, region, lam)                        # warm
    ts = C.timings(lambda: control_curve(model, region, lam), repeat=repeat, warmup=0)
    check, _ = control_curve(model, region, lam, dtype=np.float64)
    return {"median": C.median(ts), "seconds": ts, "renders": renders, **res, "check": check}


#: The agreement rules of the curve check (float64 Gram matrices on both sides).
AGREE_PATH, AGREE_MU, AGREE_SEL = 10, 1e-6, 0.02


def curve_agreement(ours: dict, peer: dict) -> tuple[bool, str, dict]:
    """Whether two curves ({"path", "mu", "sel"}) agree: the same first AGREE_PATH synapses
    (or, where a near-tie swaps the order, the same sets), μ within AGREE_MU relative and
    measured sel within AGREE_SEL relative (or both not reached) at every k whose prefixes are
    the same set. Returns (ok, a short verdict, the figures)."""
    po, pt = ours["path"], peer["path"]
    n = min(len(po), len(pt))
    same = 0                       # the longest k whose prefixes are the same set
    for k in range(1, n + 1):
        if set(po[:k]) == set(pt[:k]):
            same = k
    first = min(AGREE_PATH, n)
    order = po[:first] == pt[:first]
    sets = set(po[:first]) == set(pt[:first])
    mu = max((abs(b / a - 1) for a, b in zip(ours["mu"][:same], peer["mu"][:same],
                                             strict=True) if a), default=0.0)
    sel_bad, sel = 0, 0.0
    for a, b in zip(ours["sel"][:same], peer["sel"][:same], strict=True):
        if (a is None) != (b is None):
            sel_bad += 1
        elif a is not None and a > 0:
            sel = max(sel, abs(b / a - 1))
    figures = {"same_order": order, "same_first_set": sets, "prefixes_same_set": same,
               "k": n, "mu_rel": mu, "sel_rel": sel, "sel_reached_differs": sel_bad}
    ok = sets and first == AGREE_PATH and mu <= AGREE_MU and sel <= AGREE_SEL and not sel_bad
    verdict = (f"{'yes' if ok else 'NO'}: first {first} "
               f"{'same order' if order else ('same set' if sets else 'DIFFER')}, "
               f"{same}/{n} prefixes, mu {mu:.0e}, sel {100 * sel:.2g} %"
               + (f", {sel_bad} reached on one side only" if sel_bad else ""))
    return ok, verdict, figures


def run_peer(model: str, regions: list[tuple], lams: list[float], repeat: int) -> dict | None:
    """The torch.func peer of the curve (benchmarks/torch_control_peer.py) in its own process,
    with PyTorch's default environment; None when there is no benchmark venv."""
    py = C.torch_python()
    if py is None:
        C.log("no PyTorch venv: run `bash benchmarks/torch_env.sh` for the peer column")
        return None
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}  # torch's defaults
    args = [f"{','.join(map(str, r))}:{lam!r}" for r, lam in zip(regions, lams, strict=True)]
    return C.run_json([py, str(Path(__file__).parent / "torch_control_peer.py"), model, *args,
                       "--repeat", str(repeat), "--check"], env=env)


def control_main(args) -> int:
    """Only the control instrument: first answer on each region, null on the first, and the
    curve (Gram + greedy + measured prefixes) against its torch.func peer."""
    model = load_model(args.model)
    repeat = args.repeat or 5
    rows = []
    data: dict = {"machine": C.machine(), "model": args.model,
                  "env": {k: os.environ.get(k) for k in ENV_KEYS}, "control": {}, "curve": {}}
    load = data["background_load"] = {}
    for i, region in enumerate(REGIONS):
        name = ",".join(map(str, region))
        C.log(f"control instrument, region {name} ...")
        with C.Section(load, f"control {name}"):
            r = control_times(model, region, repeat=repeat, null_repeat=3 if i == 0 else 0)
        data["control"][name] = r
        C.log(f"curve (Gram + greedy from nothing to 64 + every prefix measured), {name} ...")
        with C.Section(load, f"curve {name}"):
            data["curve"][name] = curve_times(model, region, r["lam"], repeat)
        rows.append([f"first answer, region {name} ({r['renders in the first answer']} renders)",
                     C.fmt(r["first answer (ceiling, curve to 64, baselines, pairs)"], "s"),
                     "", "", "<= 0.5 s", ""])
        if i == 0:
            rows.append([f"null of 20 boxes, region {name}", C.fmt(r["null of 20 boxes"], "s"),
                         "", "", "<= 3 s", ""])
    peer = None
    if not args.no_torch:
        C.log("torch.func peer of the curve (separate process) ...")
        with C.Section(load, "torch"):
            peer = run_peer(args.model, list(REGIONS),
                            [data["control"][",".join(map(str, r))]["lam"] for r in REGIONS],
                            repeat)
        data["torch"] = peer
    by_region = {",".join(map(str, t["region"])): t for t in (peer or {}).get("regions", [])}
    failed = []
    for name, ours in data["curve"].items():
        t = by_region.get(name)
        verdict, ratio = "n/a", None
        if t is not None:
            ok, verdict, figs = curve_agreement(ours["check"], t["check"])
            _, _, figs32 = curve_agreement(ours, t)
            ours["agreement"] = {"float64_gram": figs, "float32_gram": figs32, "ok": ok}
            ratio = t["median"] / ours["median"]
            if not ok:
                failed.append(name)
        rows.append([f"curve to 64, region {name} (Gram + greedy at the chosen λ + "
                     f"{ours['renders']} renders)", C.fmt(ours["median"], "s"),
                     C.fmt(t["median"] if t else None, "s"),
                     "n/a" if ratio is None else f"{ratio:.1f}x", "", verdict])
    m = data["machine"]
    print(f"machine: {m['processor']}, {m['cpus']} CPUs; numba {m['numba']} "
          f"({m['numba_threads']} threads); torch {(peer or {}).get('torch', 'not run')} "
          f"({(peer or {}).get('threads', '-')} threads); load average at the end: "
          f"{os.getloadavg()[0]:.1f}")
    noisy = [f"{k} {100 * v['others']:.0f} %" for k, v in load.items() if v["others"] > 0.10]
    if noisy:
        print("WARNING: other processes used the cores during: " + ", ".join(noisy))
    print(C.table(rows, ["figure (medians)", "ours", "torch.func", "torch / ours", "target",
                         f"same curve (float64 Gram; first {AGREE_PATH} synapses, mu within "
                         f"{AGREE_MU:g}, sel within {100 * AGREE_SEL:g} %)"]))
    if args.json:
        C.write_json(args.json, data)
    if failed:
        print(f"FAILED: the torch peer's curve differs on {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(C.ROOT / "assets" / "default.npz"))
    ap.add_argument("--json", metavar="FILE", help="also write every measurement as JSON")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    ap.add_argument("--repeat", type=int, default=None,
                    help="timed calls per region (31; with --control-only: 5)")
    ap.add_argument("--control-only", action="store_true",
                    help="only the control instrument: first answers and the curve (median of "
                         "--repeat) against the torch.func peer, and the 20-box null (median "
                         "of 3)")
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
                           repeat=args.repeat or 31, warmup=2)
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
