"""Core benchmark: synens' Numba kernels against the same network in PyTorch (CPU).

Usage (from the repository root):
    bash benchmarks/torch_env.sh                       # once: the PyTorch venv
    python benchmarks/bench_core.py [--quality] [--json FILE] [--no-torch] [--no-compile]

The PyTorch side runs in a separate process (.venv-bench), never at the same time as the
Numba side: the two starve each other's OpenMP threads in one process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from synens.core.base.grid import grid, image_targets, pack, pixel_coords
from synens.core.base.topology import layered
from synens.core.files.model import Model, save_model
from synens.core.kernels import backward as KG
from synens.core.kernels import forward as K
from synens.core.network.grad import jacobian, loss_and_grad
from synens.core.network.render import IncrementalRenderer, render
from synens.core.network.train import TrainConfig, _adam_update, init_weights, train

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

BATCHES = (64, 256, 0)  # 0 = full batch
SIDE = 128


def ours_train(topo, w0, image, batch: int, min_seconds: float) -> dict:
    """Adam throughput: the epoch kernel (batch ≤ 256) or loss_and_grad + a NumPy Adam step."""
    h, w_ = image.shape[:2]
    xs, ys = (v.astype(np.float32) for v in pixel_coords(w_, h))
    ts = np.ascontiguousarray(image.reshape(-1, 3).T.astype(np.float32) / 255.0 * 2.0 - 1.0)
    n = xs.size
    w64 = w0.copy()
    net = pack(topo, w64, np.float32)
    m, v, step = np.zeros(w64.size), np.zeros(w64.size), np.zeros(1, np.int64)
    rng = np.random.default_rng(1)
    perms = [rng.permutation(n) for _ in range(8)]
    k = [0]
    if batch:
        def epoch():
            k[0] += 1
            KG._adam_epoch(w64, net.w, net.src, net.ptr, net.order, net.outs, xs, ys, ts,
                          perms[k[0] % 8], batch, 0.01, 0.0, m, v, step)
    else:
        g = grid(w_, h, np.float32)
        tg = image_targets(image)

        def epoch():
            _, grad = loss_and_grad(topo, w64, g.samples, tg, 0.0)
            _adam_update(w64, grad, m, v, step, 0.01)
    ts_ = C.timings(epoch, repeat=7, min_seconds=min_seconds)
    return {"batch": batch, "samples": n, "seconds": ts_,
            "samples_per_s": C.median([n / t for t in ts_])}


def ours_render(topo, w0) -> dict:
    g = grid(SIDE, SIDE)
    out = {"public": C.timings(lambda: render(topo, w0, SIDE, SIDE), 50, min_seconds=0.5),
           "prebuilt_grid": C.timings(lambda: render(topo, w0, SIDE, SIDE, grid_=g), 50,
                                      min_seconds=0.5)}
    net, s = pack(topo, w0), g.samples
    buf = np.empty((s.x.shape[0], 3, s.x.shape[1]), np.float32)
    out["kernel"] = C.timings(lambda: K._render(net.w, net.src, net.ptr, net.order, net.outs,
                                                s.x, s.y, buf), 50, min_seconds=0.5)
    return {k: {"median": C.median(v), "seconds": v} for k, v in out.items()}


def ours_nudge(topo, w0) -> dict:
    """set_weight on every synapse (+0.1, then back), timed one call at a time."""
    r = IncrementalRenderer(topo, w0, SIDE, SIDE)
    r.set_weight(0, w0[0] + 0.1)  # warm-up
    r.set_weight(0, w0[0])
    sw, swi = [], []
    for rnd in range(2):
        for s in range(topo.n_synapses):
            value = w0[s] + (0.1 if rnd == 0 else 0.0)
            t0 = time.perf_counter()
            r.set_weight(s, value)
            t1 = time.perf_counter()
            r.image()
            t2 = time.perf_counter()
            sw.append(t1 - t0)
            swi.append(t2 - t0)
    return {"set_weight": {"median": C.median(sw), "p90": float(np.percentile(sw, 90)),
                           "max": max(sw)},
            "set_weight_and_image": {"median": C.median(swi)}}


def ours_jacobian(topo, w0) -> dict:
    n = SIDE * SIDE
    shape = (3, topo.n_synapses, n)
    reused = np.zeros(shape, np.float32)  # touched once: no page faults later

    def touch():
        np.empty(shape, np.float32).fill(0.0)

    out = {"public": C.timings(lambda: jacobian(topo, w0, SIDE, SIDE), 9),
           "public_reused_out": C.timings(lambda: jacobian(topo, w0, SIDE, SIDE, out=reused), 9),
           "first_touch_86MiB": C.timings(touch, 9)}
    return {k: {"median": C.median(v), "seconds": v} for k, v in out.items()}


def jacobian_flops(topo) -> int:
    """Flops per pixel of the Jacobian: a forward pass, then per channel a backward pass
    (3 per neuron, 2 per neuron-to-neuron synapse) and one product per non-bias synapse."""
    nb = int(np.sum(topo.src != -1))
    nn = int(np.sum(topo.src >= 0))
    return C.FLOPS_FORWARD + 3 * (3 * topo.n_neurons + 2 * nn + nb)


def compile_child() -> None:
    """Child process: time import, first render, first epoch, then every other kernel."""
    t0 = time.perf_counter()
    from synens.core.base import topology as T
    from synens.core.network import grad as G
    from synens.core.network import render as R
    from synens.core.network import train as TR
    t_import = time.perf_counter() - t0
    topo = T.layered()
    w = TR.init_weights(topo, 0)
    R.render(topo, w, SIDE, SIDE)
    t_render = time.perf_counter() - t0
    img = C.flat_shapes(32)
    TR.train(topo, img, TR.TrainConfig(epochs=1, seed=0))
    t_epoch = time.perf_counter() - t0
    r = R.IncrementalRenderer(topo, w, 32, 32)
    r.set_weight(5, 0.3)
    R.activations(topo, w, 32, 32)
    G.jacobian(topo, w, 32, 32)
    masks = np.ones((1, 32, 32), np.float32)
    G.jac_sumsq(topo, w, masks)
    G.jac_gram(topo, w, masks, synapses=[0, 1, 2])
    TR.train(topo, img, TR.TrainConfig(epochs=2, seed=0, adam_share=0.5, batch=1024))
    t_all = time.perf_counter() - t0
    print(json.dumps({"import": t_import, "import_render": t_render,
                      "first_epoch": t_epoch - t_render, "all_kernels": t_all}))


def compile_times() -> dict:
    """Cold start (empty NUMBA_CACHE_DIR), then a warm start from the same cache."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="synens-numba-cache-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for name in ("cold", "warm"):
            t0 = time.perf_counter()
            res = C.run_json([sys.executable, __file__, "--compile-child"], env=env)
            res["process_wall"] = time.perf_counter() - t0
            out[name] = res
    return out


def torch_job(py: str, tasks: list[dict], workdir: str) -> list[dict]:
    job = Path(workdir) / "job.json"
    job.write_text(json.dumps({"tasks": tasks}))
    res = C.run_json([py, str(Path(__file__).parent / "torch_net.py"), str(job)])
    return res["results"], res["torch"], res["threads"]


def quality_ours(topo, image, seconds: float, adam_share: float | None = None) -> dict:
    cfg = TrainConfig(seconds=seconds, seed=0)
    if adam_share is not None:
        cfg.adam_share = adam_share
    res = train(topo, image, cfg)
    return {"rmse": res.rmse, "epochs": res.epochs, "seconds": res.seconds,
            "history": res.history}


def calm(load: dict, name: str, fn, tries: int = 3):
    """Run fn() in a C.Section; rerun (up to ``tries`` in all) while other processes used
    over 10 % of the cores, keeping the calmest run's result."""
    best = None
    for _ in range(tries):
        rec: dict = {}
        with C.Section(rec, name):
            res = fn()
        if best is None or rec[name]["others"] < best[0][name]["others"]:
            best = (rec, res)
        if rec[name]["others"] <= 0.10:
            break
        C.log(f"  {name}: other processes used {100 * rec[name]['others']:.0f} % of the "
              "cores; measuring again")
    load.update(best[0])
    return best[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="FILE", help="also write every measurement as JSON")
    ap.add_argument("--quality", action="store_true",
                    help="add the time-to-quality runs (~5 more minutes)")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    ap.add_argument("--no-compile", action="store_true", help="skip the compile-time runs")
    ap.add_argument("--compile-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--min-seconds", type=float, default=1.5,
                    help="minimum time per throughput measurement (default 1.5)")
    ap.add_argument("--max-wait", type=float, default=60.0,
                    help="longest wait for other processes to go quiet before each section "
                         "(seconds, default 60; 0 = never wait)")
    args = ap.parse_args(argv)
    C.MAX_WAIT = args.max_wait
    if args.compile_child:
        compile_child()
        return 0
    topo = layered()
    w0 = init_weights(topo, 0)
    pics = {"photo": C.macaw(SIDE), "shapes": C.flat_shapes(SIDE)}
    data: dict = {"machine": C.machine(), "pictures": {k: list(v.shape) for k, v in
                                                       pics.items()}}
    load = data["background_load"] = {}
    C.log("peak: float32 matmul ...")
    data["peak"] = calm(load, "peak", C.peak_flops)
    ours: dict = {"train": {}}
    for name, img in pics.items():
        for b in BATCHES:
            C.log(f"ours: Adam on {name}, batch {b or 'full'} ...")
            ours["train"][f"{name}/{b}"] = calm(
                load, f"ours train {name}/{b}",
                lambda img=img, b=b: ours_train(topo, w0, img, b, args.min_seconds))
    C.log("ours: render, re-render, Jacobian ...")
    ours["render"] = calm(load, "ours render", lambda: ours_render(topo, w0))
    ours["nudge"] = calm(load, "ours set_weight", lambda: ours_nudge(topo, w0))
    ours["jacobian"] = calm(load, "ours jacobian", lambda: ours_jacobian(topo, w0))
    data["ours"] = ours
    data["machine"]["numba_threading_layer"] = C._threading_layer()
    py = None if args.no_torch else C.torch_python()
    if py is None and not args.no_torch:
        C.log("no PyTorch venv: run `bash benchmarks/torch_env.sh` for the peer column")
    with tempfile.TemporaryDirectory(prefix="synens-bench-") as tmp:
        paths = {}
        for name, img in pics.items():
            paths[name] = save_model(Model(topo, w0, img, {}), Path(tmp) / f"{name}.npz")
        if py:
            C.log("torch: Adam, render, Jacobian (separate process) ...")
            tasks = [{"kind": "train", "model": str(paths[n]), "batch": b or 1 << 30,
                      "min_seconds": args.min_seconds, "repeat": 7}
                     for n in pics for b in BATCHES]
            tasks += [{"kind": "render", "model": str(paths["shapes"])},
                      {"kind": "jacobian", "model": str(paths["shapes"])}]
            res, data["torch_version"], data["torch_threads"] = calm(
                load, "torch", lambda: torch_job(py, tasks, tmp), tries=2)
            keys = [f"{n}/{b}" for n in pics for b in BATCHES] + ["render", "jacobian"]
            data["torch"] = dict(zip(keys, res, strict=True))
        if not args.no_compile:
            C.log("numba compile: cold and warm start (subprocesses) ...")
            data["compile"] = calm(load, "compile", compile_times, tries=2)
        if args.quality:
            q: dict = {}
            C.log("quality: ours 30 s on the photo, 60 s on the shapes ...")
            with C.Section(load, "quality ours"):
                q["ours_photo_30s"] = quality_ours(topo, pics["photo"], 30.0)
                q["ours_adam_only_photo_30s"] = quality_ours(topo, pics["photo"], 30.0,
                                                             adam_share=1.0)
                q["ours_shapes_60s"] = quality_ours(topo, pics["shapes"], 60.0)
            if py:
                C.log("quality: torch L-BFGS 120 s on the photo, 60 s on the shapes ...")
                with C.Section(load, "quality torch"):
                    res, _, _ = torch_job(py, [
                        {"kind": "lbfgs", "model": str(paths["photo"]), "seconds": 120.0,
                         "checkpoints": [30, 60, 120]},
                        {"kind": "lbfgs", "model": str(paths["shapes"]), "seconds": 60.0,
                         "checkpoints": [30, 60]}], tmp)
                q["torch_lbfgs_photo"], q["torch_lbfgs_shapes"] = res
            data["quality"] = q
    data["flops"] = {"train": C.FLOPS_TRAIN, "forward": C.FLOPS_FORWARD,
                     "jacobian": jacobian_flops(topo)}
    print(C.core_report(data))
    if args.json:
        C.write_json(args.json, data)
        C.log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
