"""Cold start of the explorer on a pty with an empty Numba cache (bench_tui.py --cold).

Each run gets a fresh, empty NUMBA_CACHE_DIR, so every kernel the app needs compiles in it:
* first output: process start -> the first bytes that show something (the "compiling kernels"
  screen, or a synchronised frame);
* first frame: process start -> the first painted canvas frame;
* first nudge: one → pressed 0.3 s after that frame -> the first frame of any kind (the
  immediate response: weight, table, "compiling…" mark) and -> the canvas frame holding the
  new painting.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from bench_tui import HALF, Terminal, app_argv, painted, term_env

NUDGE_KEY = b"\x1b[C"  # →


def cold_run(model_path: Path, timeout: float = 90.0) -> dict:
    """One cold start in a pty; seconds of each step (see the module docstring)."""
    cache = tempfile.mkdtemp(prefix="synens-cold-cache-")
    env = dict(term_env(), NUMBA_CACHE_DIR=cache)
    term = Terminal(app_argv(model_path), env)
    out: dict = {}
    try:
        deadline = time.perf_counter() + timeout
        while b"compiling" not in term.buf and b"\x1b[?2026h" not in term.buf:
            if time.perf_counter() > deadline:
                raise TimeoutError("no output")
            term._read(0.01)
        out["first_output"] = time.perf_counter() - term.t_start
        t_first, _ = term.next_frame(painted, timeout=timeout)
        out["first_frame"] = t_first - term.t_start
        time.sleep(0.3)
        t0 = term.press(NUDGE_KEY)
        t_any, frame = term.next_frame(lambda f: True, timeout=timeout)
        out["nudge_response"] = t_any - t0
        t_paint = t_any if frame.count(HALF) >= 8 * 40 else None
        if t_paint is None:
            t_paint, _ = term.next_frame(lambda f: f.count(HALF) >= 8 * 40, timeout=timeout)
        out["nudge_paint"] = t_paint - t0
    finally:
        term.close()
        shutil.rmtree(cache, ignore_errors=True)
    return out


#: The issue's targets (seconds): a first frame or the compiling screen, the first nudge.
COLD_TARGETS = {"first_output": 2.0, "nudge_paint": 5.0}


def cold_runs(model_path: Path, n: int) -> list[dict]:
    return [cold_run(model_path) for _ in range(n)]


def cold_lines(runs: list[dict]) -> list[str]:
    """The report's lines for ``runs`` (medians, each run's value in brackets)."""
    from common import fmt, median

    def show(key: str) -> str:
        values = [r[key] for r in runs]
        mark = ""
        if key in COLD_TARGETS:
            ok = median(values) <= COLD_TARGETS[key]
            mark = f" (target <= {COLD_TARGETS[key]:g} s: {'ok' if ok else 'MISSED'})"
        return f"median {fmt(median(values), 's')} ({', '.join(fmt(v, 's') for v in values)}){mark}"

    return [
        f"cold start, empty Numba cache, {len(runs)} runs:",
        f"  process start -> first output (the compiling-kernels line): {show('first_output')}",
        f"  process start -> first painted frame: {show('first_frame')}",
        f"  first nudge (→ 0.3 s after that frame) -> first frame after the key: "
        f"{show('nudge_response')}",
        f"  first nudge -> the canvas frame with the new painting: {show('nudge_paint')}",
    ]


if __name__ == "__main__":  # one quick run: python benchmarks/cold_tui.py
    from bench_tui import default_model

    print(cold_run(default_model()), f"load {os.getloadavg()[0]:.2f}")
