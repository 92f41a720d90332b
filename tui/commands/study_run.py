"""Running a study's tasks on Dask: an embedded LocalCluster or an existing scheduler.

The client submits the missing tasks, shows a Rich progress bar (done, running, failed, ETA),
writes each finished task's files into ``STUDY_DIR/tasks/KEY/`` as soon as it arrives (task.json
last, atomically) and then drops it, so it never holds more than the results in flight.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from synens.core.base.errors import SynensError, one_line

#: Seconds to wait for an external scheduler before giving up.
CONNECT_TIMEOUT = 5
#: Environment of every embedded worker process: Numba and BLAS on one thread.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1"}
#: Seconds between progress refreshes while tasks run.
REFRESH = 0.2
INSTALL_HINT = 'study needs Dask: pip install "synens-tui[study]"'


def require_dask() -> None:
    """One-line SynensError naming the extra when dask.distributed or scipy is missing."""
    for module in ("distributed", "scipy"):
        if importlib.util.find_spec(module) is None:
            raise SynensError(INSTALL_HINT)


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def open_client(scheduler: str | None, workers: int) -> Iterator[object]:
    """A ``distributed.Client``: to ``scheduler``, or to an embedded LocalCluster of ``workers``
    single-threaded worker processes (started here, stopped on leaving)."""
    from distributed import Client, LocalCluster

    for name in ("distributed", "tornado", "bokeh"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as err:
            raise SynensError(f"cannot reach the Dask scheduler at {scheduler} within "
                              f"{CONNECT_TIMEOUT} s ({one_line(err)})") from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address="127.0.0.1:0",
                           silence_logs=logging.CRITICAL, env=dict(WORKER_ENV))
    client = Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def dashboard_link(client) -> str | None:
    """The Dask dashboard's address, when the scheduler runs one (it needs bokeh)."""
    if importlib.util.find_spec("bokeh") is None:
        return None
    try:
        if "dashboard" not in client.scheduler_info().get("services", {}):
            return None
        return client.dashboard_link
    except Exception:  # noqa: BLE001 - a missing dashboard is not an error
        return None


def task_dir(study_dir: Path, key: str) -> Path:
    return study_dir / "tasks" / key


def is_done(study_dir: Path, key: str) -> bool:
    """A task is done when its task.json (written last) is whole and names it."""
    try:
        data = json.loads((task_dir(study_dir, key) / "task.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("key") == key


def save_result(study_dir: Path, result: dict) -> None:
    """Write a finished task's files atomically, then its task.json."""
    from synens.core.files.atomic import write_atomic, write_text_atomic

    folder = task_dir(study_dir, result["key"])
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in result["files"].items():
        write_atomic(folder / name, lambda fh, d=data: fh.write(d))
    summary = {k: v for k, v in result.items() if k != "files"}
    write_text_atomic(folder / "task.json", json.dumps(summary, indent=1, sort_keys=True))


@dataclass
class Outcome:
    """What a run did: tasks skipped (already done), run, failed (one line each)."""

    total: int
    skipped: int
    ran: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    task_seconds: list[float] = field(default_factory=list)
    task_cpu_seconds: list[float] = field(default_factory=list)


def run_tasks(client, specs: list[dict], pictures: dict[str, bytes], study_dir: Path,
              quiet: bool = False) -> Outcome:
    """Submit the tasks not yet done, write each result as it arrives, report failures.

    specs: task specs (study_tasks.run_task); pictures: picture name -> bytes (sent once each,
    as a task the scheduler can run again if the worker holding it dies).
    """
    from distributed import as_completed
    from synens.tui.commands.study_tasks import picture_bytes, run_task

    todo = [s for s in specs if not is_done(study_dir, s["key"])]
    out = Outcome(total=len(specs), skipped=len(specs) - len(todo))
    if not todo:
        return out
    start = time.perf_counter()
    used = {s["picture"] for s in todo}
    # each picture is a task of its own that returns its bytes, not scattered data: scattered
    # data lives only on the worker it went to, and dies with it (the tasks that need it are
    # then cancelled); a task's result can be computed again on another worker
    shared = {name: client.submit(picture_bytes, data, pure=False,
                                  key=f"study-picture-{hashlib.sha256(data).hexdigest()[:20]}")
              for name, data in pictures.items() if name in used}
    futures = {client.submit(run_task, s, shared[s["picture"]], key=f"study-{s['key']}",
                             pure=False): s for s in todo}
    keys = {f.key for f in futures}
    with _progress(quiet, len(specs), out.skipped) as show:
        ready = as_completed(list(futures), loop=client.loop)
        while futures:
            if not ready.has_ready():
                time.sleep(REFRESH)
            for future in ready.next_batch(block=False):
                _collect(future, futures.pop(future), study_dir, out, show)
            show.update(out.skipped + out.ran, len(out.failed), _running(client, keys, futures))
    out.seconds = time.perf_counter() - start
    return out


def _collect(future, spec: dict, study_dir: Path, out: Outcome, show: _Show) -> None:
    """Write a finished task's result, or report its failure in one line; drop the future."""
    try:
        result = future.result()
    except Exception as err:  # noqa: BLE001 - any task failure is reported, others go on
        line = f"task {spec['picture']} seed {spec['seed']} failed: {one_line(err)}"
        out.failed.append(line)
        show.say(line)
    else:
        save_result(study_dir, result)
        out.ran += 1
        out.task_seconds.append(sum(result["seconds"].values()))
        out.task_cpu_seconds.append(result.get("cpu_seconds", 0.0))
    future.release()


def _running(client, keys: set, pending: dict) -> int:
    """Tasks of ours being processed by a worker now (0 when the scheduler cannot say)."""
    if not pending:
        return 0
    try:
        busy = client.processing()
    except Exception:  # noqa: BLE001
        return 0
    live = {f.key for f in pending} & keys
    return sum(1 for tasks in busy.values() for k in tasks if k in live)


class _Show:
    def __init__(self, bar, task) -> None:
        self.bar, self.task = bar, task

    def update(self, done: int, failed: int, running: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done + failed, done=done, failed=failed,
                            running=running)

    def say(self, line: str) -> None:
        if self.bar is not None:
            self.bar.console.print(line, markup=False, highlight=False)
        else:
            print(line, file=sys.stderr)


@contextlib.contextmanager
def _progress(quiet: bool, total: int, done: int) -> Iterator[_Show]:
    if quiet:
        yield _Show(None, None)
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = [TextColumn("study"), BarColumn(),
               TextColumn("{task.fields[done]}/{task.total} done"),
               TextColumn("running {task.fields[running]}"),
               TextColumn("failed {task.fields[failed]}"),
               TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("study", total=total, completed=done, done=done, failed=0,
                            running=0)
        yield _Show(bar, task)
