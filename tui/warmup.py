"""Compiling the Numba kernels ahead of use, most-needed first (Textual-free; --precompile).

Each stage runs the public wrappers once on tiny inputs (a 460-synapse net, a few pixels), so
the kernels compile for exactly the argument types the explorer later passes, and land in
Numba's on-disk cache; with a warm cache a stage only loads them (about 0.1 s). Order: the
painting (full render, forward cache, the frame encoders), the nudge (incremental
re-render), the change map, the analyses (region, atlas), training.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, TextIO

import numpy as np
from synens.core.base.errors import SynensError

#: Side of the warm-up pictures, in pixels (small: the types matter, not the size).
SIDE = 12


@dataclass(frozen=True)
class Stage:
    """One group of kernels: ``name`` (a key), ``label`` (shown), ``run()`` compiles them."""

    name: str
    label: str
    run: Callable[[], None]


def _net() -> tuple[Any, np.ndarray, np.ndarray]:
    """(topology, weights float64[S], picture uint8[SIDE, SIDE, 3]) of the warm-up."""
    from synens.core.base.topology import layered
    from synens.core.network.train import init_weights

    topo = layered()
    ramp = np.linspace(0, 255, SIDE * SIDE * 3).astype(np.uint8).reshape(SIDE, SIDE, 3)
    return topo, init_weights(topo, 0), ramp


def _frame(modes: tuple[str, ...]) -> None:
    from synens.core.network.render import IncrementalRenderer, to_uint8

    from .ansi import compose_cells, encode_rows

    topo, w, _ = _net()
    rgb = to_uint8(IncrementalRenderer(topo, w, SIDE, SIDE).image())
    for mode in modes:
        fg, bg, chars, indexed = compose_cells(rgb, mode, outline=(1, 1, 5, 5), cursor=(2, 2))
        encode_rows(fg, bg, chars, indexed)


def _views() -> None:
    from synens.core.network.render import render

    topo, w, _ = _net()
    render(topo, w, SIDE, SIDE)
    _frame(MODES)


def _nudge() -> None:
    from synens.core.network.render import IncrementalRenderer

    topo, w, _ = _net()
    IncrementalRenderer(topo, w, SIDE, SIDE).set_weight(5, float(w[5]) + 0.25)


def _changemap() -> None:
    from synens.core.analysis.changemap import linear_change_map

    topo, w, _ = _net()
    linear_change_map(topo, w, 0, SIDE, SIDE, np.float32)


def _analysis() -> None:
    from synens.core.analysis.atlas import ensemble_atlas
    from synens.core.analysis.control import region_control
    from synens.core.analysis.masks import rect_mask
    from synens.core.analysis.null import region_null
    from synens.core.analysis.region import region_ensemble

    topo, w, image = _net()
    region_ensemble(topo, w, image, (2, 2, 8, 8))  # the benchmarks' and old tests' pipeline
    try:  # the explorer's: the region instrument, its null and the atlas (same kernels)
        control = region_control(topo, w, rect_mask((2, 2, 8, 8), SIDE, SIDE))
        region_null(control, 1, 0)
    except SynensError:
        pass  # a warm-up picture no move controls still compiled what it ran
    ensemble_atlas(topo, w, image, grid=2, null_boxes=1)


def _training() -> None:
    from synens.core.network.train import TrainConfig, train

    topo, w, image = _net()
    train(topo, image, TrainConfig(epochs=2, seed=0, adam_share=0.5))
    train(topo, image, TrainConfig(epochs=1, seed=0, adam_share=0.0), weights=w)


#: The colour modes of the frame encoders.
MODES = ("truecolor", "256")


def stages(mode: str | None = None) -> tuple[Stage, ...]:
    """The stages, most-needed first; ``mode``: the colour mode of the first frame (the
    other one follows in the "views" stage), None for both at once."""
    first = MODES if mode is None else (mode,)
    return (
        Stage("paint", "painting", partial(_frame, first)),
        Stage("nudge", "nudge", _nudge),
        Stage("views", "full render and colour modes", _views),
        Stage("changemap", "change map", _changemap),
        Stage("analysis", "region analysis and atlas", _analysis),
        Stage("training", "training", _training),
    )


STAGES = stages()


class Warmup:
    """Runs STAGES in order in a daemon thread. ``ready(name)``: that stage is done;
    ``on_stage(index, stage)`` is called (in the thread) after each; ``error``: the first
    exception a stage raised (later stages still run; the kernels then compile on use).

    After the first ``hold`` stages (0: no wait) it waits for ``go()`` (the app calls it once
    its first painting is out), so that compiling does not slow the app's own start-up.
    """

    def __init__(self, on_stage: Callable[[int, Stage], None] | None = None,
                 stages: tuple[Stage, ...] = STAGES, hold: int = 1) -> None:
        self.stages = stages
        self.on_stage = on_stage
        self.hold = hold
        self._go = threading.Event()
        self.error: BaseException | None = None
        self.seconds: dict[str, float] = {}
        self._done: dict[str, threading.Event] = {s.name: threading.Event() for s in stages}
        self._thread = threading.Thread(target=self._run, name="synens-warmup", daemon=True)

    def start(self) -> Warmup:
        self._thread.start()
        return self

    def go(self) -> None:
        """Let the stages after the first ``hold`` run (idempotent)."""
        self._go.set()

    @property
    def going(self) -> bool:
        return self._go.is_set()

    def ready(self, name: str) -> bool:
        """True when stage ``name`` has run (unknown names count as ready)."""
        event = self._done.get(name)
        return event is None or event.is_set()

    @property
    def finished(self) -> bool:
        return all(e.is_set() for e in self._done.values())

    def count(self) -> int:
        """How many stages are done."""
        return sum(e.is_set() for e in self._done.values())

    def wait(self, name: str, timeout: float | None = None) -> bool:
        event = self._done.get(name)
        return True if event is None else event.wait(timeout)

    def _run(self) -> None:
        for i, stage in enumerate(self.stages):
            if self.hold and i == self.hold:
                self._go.wait()
            t0 = time.perf_counter()
            try:
                stage.run()
            except Exception as err:  # noqa: BLE001 - the kernel then compiles when used
                self.error = self.error or err
            self.seconds[stage.name] = time.perf_counter() - t0
            self._done[stage.name].set()
            if self.on_stage is not None:
                self.on_stage(i, stage)


def wait_for(warmup: Warmup, name: str, stream: TextIO = sys.stderr,
             quiet: float = 0.1) -> None:
    """Wait until stage ``name`` is compiled. After ``quiet`` seconds (a cold cache) show
    "compiling kernels, first run only" with the stage and the seconds so far on ``stream``
    (a terminal only), updated 4 times a second, and clear it when done."""
    if warmup.wait(name, quiet):
        return
    show = stream.isatty()
    index = next((i for i, s in enumerate(warmup.stages) if s.name == name), 0)
    label = warmup.stages[index].label if warmup.stages else name
    t0 = time.perf_counter() - quiet
    while True:
        if show:
            stream.write(f"\r\x1b[Ksynens-tui: compiling kernels, first run only: {label} "
                         f"(stage {index + 1} of {len(warmup.stages)}) "
                         f"{time.perf_counter() - t0:.0f} s …")
            stream.flush()
        if warmup.wait(name, 0.25):
            break
    if show:
        stream.write("\r\x1b[K")
        stream.flush()


def precompile(stream: TextIO = sys.stderr) -> int:
    """``synens-tui --precompile``: every stage into Numba's cache, progress on ``stream``;
    returns the exit code (1, with the error, when a stage failed)."""
    n = len(STAGES)
    t_all = time.perf_counter()
    for i, stage in enumerate(STAGES, start=1):
        print(f"synens-tui: compiling kernels {i}/{n}: {stage.label} …", file=stream, flush=True)
        t0 = time.perf_counter()
        try:
            stage.run()
        except Exception as err:  # noqa: BLE001 - a one-line error, exit code 1
            print(f"synens-tui: error: compiling {stage.label} failed: {err}", file=stream)
            return 1
        print(f"synens-tui:   {stage.label} done in {time.perf_counter() - t0:.1f} s",
              file=stream, flush=True)
    compiled = sum(1 for d in dispatchers() if d.signatures)
    print(f"synens-tui: {compiled} kernels compiled into the cache in "
          f"{time.perf_counter() - t_all:.1f} s", file=stream, flush=True)
    return 0


def dispatchers(packages: tuple[str, ...] = ("synens.core",), extra: tuple[str, ...] = (
        "synens.tui.ansi", "synens.tui.dither", "synens.tui.diff")) -> Iterator[Any]:
    """Every Numba dispatcher defined in ``packages`` (all modules, imported) and ``extra``;
    a parallel kernel (``ParallelKernel``, which holds the lock) gives its dispatcher."""
    from numba.core.dispatcher import Dispatcher
    from synens.core.base.jit import ParallelKernel

    names = list(extra)
    for pkg in packages:
        module = importlib.import_module(pkg)
        names += [m.name for m in pkgutil.walk_packages(module.__path__, pkg + ".")]
    seen: set[int] = set()
    for name in names:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, ParallelKernel):
                value = value.dispatcher
            if isinstance(value, Dispatcher) and id(value) not in seen \
                    and value.py_func.__module__ == name:
                seen.add(id(value))
                yield value
