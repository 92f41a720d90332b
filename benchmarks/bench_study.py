"""Study benchmark: tasks per minute on 1 and 2 local workers, Dask's overhead per task, and an
external ``dask scheduler`` + 2 ``dask worker`` processes against the embedded cluster.

Usage (from the repository root; about 1-2 minutes on a 2-core machine):
    python benchmarks/bench_study.py [--seeds 6] [--json FILE]

Each study is the same: the flat-shapes picture at 32 px, a (4, 4) network, 200 epochs, one
box region and a 3-box null, seeds 0..N-1. Every worker first runs one warm-up task (loading
Numba's on-disk cache), so the rates are those of warm workers; cluster start-up is reported
apart. Overhead per task: (workers × wall − Σ task seconds) / tasks, where a task's seconds are
measured inside the task; it holds Dask's scheduling, transfer and the client's file writes.
The scheduler's own round trip is also measured on 200 no-op tasks.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as C  # noqa: E402

BIN = Path(sys.executable).parent
ENV = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
       "OPENBLAS_NUM_THREADS": "1"}


def config(picture: Path, seeds: int) -> dict:
    from synens.tui.commands.study_spec import CONFIG_FORMAT, file_sha256, name_regions

    return {"format": CONFIG_FORMAT, "pictures": [{"name": picture.name,
                                                   "sha256": file_sha256(picture)}],
            "seeds": seeds, "size": 32,
            "train": {"epochs": 200, "target_rmse": None, "hidden": [4, 4], "skip": 2,
                      "batch": 64, "lr": 0.01, "l2": 0.0},
            "regions": name_regions([{"kind": "box", "fraction": [0.1, 0.1, 0.45, 0.5]}]),
            "null_boxes": 3, "null_seed": 0}


def _noop(i: int) -> int:
    return i


def _warm(spec: dict, data: bytes) -> float:
    from synens.tui.commands.study_tasks import run_task

    t0 = time.perf_counter()
    run_task({**spec, "seed": 10_000}, data)
    return time.perf_counter() - t0


def measure(client, workers: int, picture: Path, seeds: int) -> dict:
    """Warm every worker, then run a fresh study of ``seeds`` tasks and time it."""
    from synens.tui.commands.study_collect import task_specs
    from synens.tui.commands.study_run import run_tasks

    cfg = config(picture, seeds)
    specs = task_specs(cfg)
    data = picture.read_bytes()
    t0 = time.perf_counter()
    warm = client.gather([client.submit(_warm, specs[0], data, pure=False,
                                        workers=[w]) for w in client.nthreads()])
    t_warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = 200
    client.gather(client.map(_noop, range(n), pure=False))
    noop = (time.perf_counter() - t0) / n
    with tempfile.TemporaryDirectory(prefix="bench-study-") as tmp:
        out = run_tasks(client, specs, {picture.name: data}, Path(tmp), quiet=True)
    assert out.ran == seeds and not out.failed, out.failed
    task_mean = float(np.mean(out.task_seconds))
    overhead = (workers * out.seconds - sum(out.task_seconds)) / out.ran
    return {"workers": workers, "tasks": out.ran, "wall_s": out.seconds,
            "tasks_per_min": 60.0 * out.ran / out.seconds, "task_mean_s": task_mean,
            "task_cpu_mean_s": float(np.mean(out.task_cpu_seconds)),
            "overhead_per_task_s": overhead, "overhead_share": overhead / task_mean,
            "noop_roundtrip_ms": 1e3 * noop, "warmup_s": t_warm, "warm_task_s": warm}


def embedded(workers: int, picture: Path, seeds: int) -> dict:
    from synens.tui.commands.study_run import open_client

    t0 = time.perf_counter()
    with open_client(None, workers) as client:
        start = time.perf_counter() - t0
        res = measure(client, workers, picture, seeds)
    return {"where": f"embedded, {workers} worker(s)", "start_s": start, **res}


def external(workers: int, picture: Path, seeds: int) -> dict:
    from synens.tui.commands.study_run import open_client

    with tempfile.TemporaryDirectory(prefix="bench-sched-") as tmp:
        sfile = Path(tmp) / "scheduler.json"
        t0 = time.perf_counter()
        procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                                   "--port", "0", "--no-dashboard", "--scheduler-file",
                                   str(sfile)], env=ENV, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)]
        try:
            while not (sfile.exists() and sfile.stat().st_size):
                time.sleep(0.05)
            address = json.loads(sfile.read_text())["address"]
            for _ in range(workers):
                procs.append(subprocess.Popen(
                    [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--host",
                     "127.0.0.1", "--no-dashboard"], env=ENV, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL, start_new_session=True))
            with open_client(address, workers) as client:
                client.wait_for_workers(workers, timeout=60)
                start = time.perf_counter() - t0
                res = measure(client, workers, picture, seeds)
        finally:
            for p in reversed(procs):
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=30)
    return {"where": f"external dask scheduler + {workers} dask worker(s)", "start_s": start,
            **res}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=6, help="tasks per study (default 6)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args()
    print(f"load average at the start: {os.getloadavg()} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-pic-") as tmp:
        picture = Path(tmp) / "shapes.png"
        Image.fromarray(C.flat_shapes(32)).save(picture)
        rows = [embedded(1, picture, args.seeds), embedded(2, picture, args.seeds),
                external(2, picture, args.seeds)]
    eff = rows[1]["tasks_per_min"] / (2 * rows[0]["tasks_per_min"])
    print(f"study benchmark: {args.seeds} tasks per study (32 px, hidden 4,4, 200 epochs, "
          "1 region, 3 null boxes), warm workers")
    print(f"{'cluster':<42} {'start s':>7} {'wall s':>7} {'tasks/min':>9} {'task s':>7} "
          f"{'task cpu s':>10} {'overhead/task':>13} {'no-op ms':>8}")
    for r in rows:
        print(f"{r['where']:<42} {r['start_s']:7.2f} {r['wall_s']:7.2f} "
              f"{r['tasks_per_min']:9.1f} {r['task_mean_s']:7.2f} {r['task_cpu_mean_s']:10.2f} "
              f"{r['overhead_per_task_s']:+8.3f} s {100 * r['overhead_share']:+4.1f}% "
              f"{r['noop_roundtrip_ms']:8.2f}")
    print(f"parallel efficiency at 2 embedded workers: {100 * eff:.0f} % (target >= 85 %)")
    print(f"external / embedded tasks per minute at 2 workers: "
          f"{rows[2]['tasks_per_min'] / rows[1]['tasks_per_min']:.2f}")
    print("task s is a task's wall time inside its worker, task cpu s its CPU time: where wall "
          "exceeds CPU, the worker waited for a core (other processes on the machine).")
    print(f"load average at the end: {os.getloadavg()} on {os.cpu_count()} cores")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "efficiency": eff}, indent=1))


if __name__ == "__main__":
    main()
