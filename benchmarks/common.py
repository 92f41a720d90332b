"""Benchmark helpers: medians, the machine's float32 peak, test pictures, tables and JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
#: The benchmark-only virtual environment (created by benchmarks/torch_env.sh).
VENV_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
#: Floating-point operations per sample of the article's network (see the performance notes):
#: forward + backward + gradient, and the forward pass alone.
FLOPS_TRAIN = 2673
FLOPS_FORWARD = 883


def timings(fn: Callable[[], object], repeat: int = 7, warmup: int = 1,
            min_seconds: float = 0.0) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls of ``fn`` after ``warmup`` calls.

    With ``min_seconds`` it keeps calling until that much time has passed as well.
    """
    for _ in range(warmup):
        fn()
    out: list[float] = []
    start = time.perf_counter()
    while len(out) < repeat or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def median(values) -> float:
    """Median of a non-empty sequence of numbers."""
    return float(statistics.median(values))


def peak_flops(n: int = 4096, repeat: int = 7) -> dict:
    """Measured float32 matmul rate (n×n @ n×n, NumPy's BLAS): median and best, in flop/s."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty_like(a)
    ts = timings(lambda: np.matmul(a, b, out=c), repeat=repeat, warmup=1)
    flops = 2.0 * n ** 3
    return {"n": n, "median": flops / median(ts), "best": flops / min(ts),
            "seconds": ts}


def flat_shapes(size: int = 128) -> np.ndarray:
    """A deterministic picture of flat-coloured shapes: uint8[size, size, 3]."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / size
    img = np.empty((size, size, 3), np.uint8)
    img[:] = (236, 228, 204)                                   # paper background
    img[(xx > 0.1) & (xx < 0.45) & (yy > 0.12) & (yy < 0.5)] = (200, 40, 40)   # red square
    img[(xx - 0.68) ** 2 + (yy - 0.32) ** 2 < 0.19 ** 2] = (40, 90, 200)      # blue disc
    tri = (yy > 0.55) & (yy < 0.92) & (np.abs(xx - 0.35) < (yy - 0.55) * 0.7)
    img[tri] = (250, 190, 30)                                  # yellow triangle
    img[(xx > 0.58) & (xx < 0.9) & (np.abs(yy - 0.75) < 0.06)] = (30, 140, 70)  # green bar
    return img


def macaw(size: int = 128) -> np.ndarray:
    """The shipped default picture at ``size`` px longer side: uint8[H, W, 3]."""
    from synens.core.files.picture import load_picture

    return load_picture(ROOT / "assets" / "scarlet_macaw.png", size)


def machine() -> dict:
    """What ran the benchmark."""
    import numba

    return {"python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "cpus": os.cpu_count(),
            "processor": _cpu_name(), "numba_threads": numba.get_num_threads(),
            "numba_threading_layer": _threading_layer()}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _threading_layer() -> str:
    import numba

    try:
        return numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        return "not started"


def run_json(cmd: list[str], env: dict | None = None, timeout: float = 1800) -> dict:
    """Run a command that prints one JSON object on its last stdout line; return it."""
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({proc.returncode}):\n"
                           f"{proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def torch_python() -> str | None:
    """The benchmark venv's python if it exists and has torch, else None: $SYNENS_BENCH_VENV
    where set (as benchmarks/torch_env.sh reads it), else VENV_PYTHON."""
    venv = os.environ.get("SYNENS_BENCH_VENV")
    py = Path(venv) / "bin" / "python" if venv else VENV_PYTHON
    if not py.exists():
        return None
    ok = subprocess.run([str(py), "-c", "import torch"], capture_output=True)
    return str(py) if ok.returncode == 0 else None


def fmt(value: float | None, unit: str = "") -> str:
    """A compact human number: 1.23 M, 456 k, 0.85 ms ..."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if unit == "s":
        if value < 1e-3:
            return f"{value * 1e6:.0f} µs"
        if value < 1.0:
            return f"{value * 1e3:.3g} ms"
        return f"{value:.3g} s"
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}".strip()


def table(rows: list[list[str]], header: list[str]) -> str:
    """Plain text table with left-aligned first column and right-aligned others."""
    cols = list(zip(header, *rows, strict=False))
    widths = [max(len(str(c)) for c in col) for col in cols]

    def line(cells):
        parts = [str(c).ljust(widths[0]) if i == 0 else str(c).rjust(widths[i])
                 for i, c in enumerate(cells)]
        return "  ".join(parts)

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Write ``data`` as indented JSON (NumPy values made plain)."""
    def plain(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(type(o).__name__)

    Path(path).write_text(json.dumps(data, indent=2, default=plain) + "\n")


def log(msg: str) -> None:
    """Progress line on stderr (stdout is kept for the table)."""
    print(msg, file=sys.stderr, flush=True)


def _mark(ok: bool | None) -> str:
    return "" if ok is None else (" ok" if ok else " MISS")


def core_report(d: dict) -> str:
    """The table of bench_core.py from its measurement dict."""
    peak = d["peak"]["median"]
    fl = d["flops"]
    o, t = d["ours"], d.get("torch", {})
    rows: list[list[str]] = []

    def pct(rate_flops: float | None) -> str:
        return "n/a" if rate_flops is None else f"{100 * rate_flops / peak:.2f} %"

    for key, res in o["train"].items():
        pic, b = key.split("/")
        b = int(b)
        shape = "x".join(str(s) for s in d["pictures"][pic][1::-1])
        theirs = t.get(key, {}).get("samples_per_s")
        ratio = res["samples_per_s"] / theirs if theirs else None
        need = 30.0 if b else 4.0
        rows.append([f"Adam {'batch ' + str(b) if b else 'full batch'}, {pic} {shape} [samples/s]",
                     fmt(res["samples_per_s"]), fmt(theirs),
                     "n/a" if ratio is None else f"{ratio:.1f}x",
                     f">= {need:.0f}x" + _mark(None if ratio is None else ratio >= need),
                     pct(res["samples_per_s"] * fl["train"]),
                     pct(theirs * fl["train"] if theirs else None)])
    px = 128 * 128
    r_o, r_t = o["render"]["public"]["median"], t.get("render", {}).get("median")
    rows.append(["Full render 128x128 (render())", fmt(r_o, "s"), fmt(r_t, "s"),
                 "n/a" if r_t is None else f"{r_t / r_o:.1f}x",
                 "<= 1 ms" + _mark(r_o <= 1e-3), pct(px * fl["forward"] / r_o),
                 pct(px * fl["forward"] / r_t if r_t else None)])
    rk = o["render"]["kernel"]["median"]
    rows.append(["  kernel only (_render, grid prebuilt)", fmt(rk, "s"), "", "", "",
                 pct(px * fl["forward"] / rk), ""])
    nd = o["nudge"]["set_weight"]
    rows.append(["Re-render after 1 weight (set_weight), median", fmt(nd["median"], "s"), "", "",
                 "<= 0.3 ms" + _mark(nd["median"] <= 3e-4), "", ""])
    rows.append(["  p90 / max over all synapses",
                 f"{fmt(nd['p90'], 's')} / {fmt(nd['max'], 's')}", "", "", "", "", ""])
    rows.append(["  set_weight + image()", fmt(o["nudge"]["set_weight_and_image"]["median"],
                                                "s"), "", "", "", "", ""])
    j = o["jacobian"]
    jo, jt = j["public"]["median"], t.get("jacobian", {}).get("median")
    rows.append(["Full Jacobian 128x128x3 x 460 (jacobian())", fmt(jo, "s"), fmt(jt, "s"),
                 "n/a" if jt is None else f"{jt / jo:.1f}x",
                 ">= 5x" + _mark(None if jt is None else jt / jo >= 5),
                 pct(px * fl["jacobian"] / jo), pct(px * fl["jacobian"] / jt if jt else None)])
    for key, label in (("public_reused_out", "jacobian(out=...), output buffer reused"),
                       ("first_touch_86MiB", "just filling a fresh 86 MiB array")):
        v = j[key]["median"]
        rows.append([f"  {label}", fmt(v, "s"), "",
                     "" if jt is None or key == "first_touch_86MiB" else f"{jt / v:.1f}x", "",
                     "" if key == "first_touch_86MiB" else pct(px * fl["jacobian"] / v), ""])
    if "compile" in d:
        c = d["compile"]
        for name in ("cold", "warm"):
            x = c[name]
            need = "< 2 s" + _mark(x["import_render"] < 2.0) if name == "warm" else ""
            rows.append([f"{name.capitalize()} start: import synens.core + 1st render",
                         fmt(x["import_render"], "s"), "", "", need, "", ""])
            rows.append([f"  {name}: 1st training epoch / every kernel / process wall",
                         f"{fmt(x['first_epoch'], 's')} / {fmt(x['all_kernels'], 's')} / "
                         f"{fmt(x['process_wall'], 's')}", "", "", "", "", ""])
    q = d.get("quality")
    if q:
        tp, ts = q.get("torch_lbfgs_photo"), q.get("torch_lbfgs_shapes")
        op, os_ = q["ours_photo_30s"]["rmse"], q["ours_shapes_60s"]["rmse"]
        tp120 = tp["at"]["120"] if tp else None
        rows.append(["RMSE photo: ours @30 s vs torch L-BFGS @120 s", f"{op:.4f}",
                     "n/a" if tp is None else f"{tp120:.4f}",
                     "" if tp is None else f"{op / tp120:.3f}",
                     "ours <= torch" + _mark(None if tp is None else op <= tp120), "", ""])
        if "ours_adam_only_photo_30s" in q:
            oa = q["ours_adam_only_photo_30s"]["rmse"]
            rows.append(["  ours @30 s with Adam alone (no L-BFGS stage)", f"{oa:.4f}", "",
                         f"{op / oa:.3f}", "L-BFGS lower" + _mark(op < oa), "", ""])
        if tp:
            rows.append(["  torch L-BFGS @30 s / @60 s", "",
                         f"{tp['at']['30']:.4f} / {tp['at']['60']:.4f}", "", "", "", ""])
        ts60 = ts["at"]["60"] if ts else None
        rows.append(["RMSE shapes @60 s: ours vs torch L-BFGS", f"{os_:.4f}",
                     "n/a" if ts is None else f"{ts60:.4f}",
                     "" if ts is None else f"{100 * (1 - os_ / ts60):.1f}% lower",
                     ">= 15% lower" + _mark(None if ts is None else os_ <= 0.85 * ts60), "", ""])
    head = ["figure (medians)", "ours", "torch", "ratio", "target", "ours/peak", "torch/peak"]
    m = d["machine"]
    top = (f"machine: {m['processor']}, {m['cpus']} CPUs; numba {m['numba']} "
           f"({m['numba_threads']} threads, {m['numba_threading_layer']}), numpy {m['numpy']}, "
           f"torch {d.get('torch_version', 'not run')} ({d.get('torch_threads', '-')} threads)\n"
           f"peak: float32 {d['peak']['n']}^2 matmul (NumPy) {fmt(peak, 'FLOP/s')} median, "
           f"{fmt(d['peak']['best'], 'FLOP/s')} best; flops/sample: train {fl['train']}, "
           f"forward {fl['forward']}, Jacobian {fl['jacobian']}")
    noisy = [f"{k} {100 * v['others']:.0f} %" for k, v in d.get("background_load", {}).items()
             if v["others"] > 0.10]
    if noisy:
        top += "\nWARNING: other processes used the cores during: " + ", ".join(noisy)
    return top + "\n\n" + table(rows, head)


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    f = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    return sum(f) - idle, sum(f)


def background_load(interval: float = 0.5) -> float:
    """Fraction of all cores busy with other processes during ``interval`` seconds."""
    try:
        b0, t0 = _cpu_ticks()
    except (OSError, ValueError, IndexError):
        return 0.0
    own0 = sum(os.times()[:2])
    time.sleep(interval)
    b1, t1 = _cpu_ticks()
    own = (sum(os.times()[:2]) - own0) * os.sysconf("SC_CLK_TCK")
    return max(0.0, (b1 - b0 - own) / max(1, t1 - t0))


#: Longest wait for calm before each benchmark section (seconds); bench_core sets it.
MAX_WAIT = 60.0


def wait_quiet(threshold: float = 0.10, max_wait: float | None = None) -> dict:
    """Wait (up to max_wait s, default MAX_WAIT) until others use under ``threshold`` of the cores.

    Parallel kernels stall badly when another process holds a core (a thread misses the
    barrier for a whole time slice), so on a shared machine every section waits for calm.
    """
    max_wait = MAX_WAIT if max_wait is None else max_wait
    start = time.perf_counter()
    load = background_load()
    told = False
    while load > threshold and time.perf_counter() - start < max_wait:
        if not told:
            log(f"  waiting for other processes to go quiet (load {100 * load:.0f} %) ...")
            told = True
        load = background_load(1.0)
    return {"load": load, "waited": time.perf_counter() - start}


class Section:
    """Context manager: waits for calm, then records the share of the cores that other
    processes used while the block ran (``others``, 0..1) into ``record[name]``."""

    def __init__(self, record: dict, name: str, quiet: bool = True) -> None:
        self.record, self.name, self.quiet = record, name, quiet

    def __enter__(self) -> Section:
        self.waited = wait_quiet() if self.quiet else {"load": None, "waited": 0.0}
        self.t0 = _cpu_ticks()
        self.own0 = sum(os.times()[:4])
        return self

    def __exit__(self, *exc) -> None:
        b1, t1 = _cpu_ticks()
        own = (sum(os.times()[:4]) - self.own0) * os.sysconf("SC_CLK_TCK")
        others = max(0.0, (b1 - self.t0[0] - own) / max(1, t1 - self.t0[1]))
        self.record[self.name] = {"others": others, **self.waited}
