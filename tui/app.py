"""The Textual explorer: canvas, panes, keys and palette; ``run(args)`` is bare ``synens-tui``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numba
import numpy as np
from synens.core.analysis.changemap import linear_change_map
from synens.core.files.model import Model
from synens.core.network.render import IncrementalRenderer, render, rmse, to_uint8
from synens.core.network.train import TrainConfig
from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static

from . import views
from .canvas import HalfBlockCanvas
from .controller import Controller
from .panes import (
    HEADER,
    StatusBar,
    SynapseTable,
    TextLine,
    ensemble_text,
    neuron_text,
    status_text,
)
from .screens import CSS, KEYMAP, MIN_SIZE, TooSmall
from .state import SWEEP_DEFAULT, ExplorerState, Layout, push_weights
from .wire import wire_for  # wire hook: terminal answers (on_cursor_position)

if TYPE_CHECKING:
    from synens.core.analysis.ensemble import RegionEnsemble

    from .workers import Trainer

F32 = np.float32
NO_REGION = "No region yet: press s, move, space, move, enter."


class EnsembleScroll(VerticalScroll, can_focus=False):
    """The scrolling ensemble pane (never takes the keyboard)."""


class ExplorerApp(Controller, App[str | None]):
    """The explorer. ``model``: the network to explore; ``train_to``: train it live, then
    save there (a PICTURE launch)."""

    CSS = CSS
    TITLE = "synens-tui"
    BINDINGS = [Binding(k, a, d or a, show=bool(d)) for k, a, d, _ in KEYMAP]

    def __init__(
        self,
        model: Model,
        *,
        color_mode: str = "truecolor",
        report_dir: str = ".",
        save_dir: str = ".",
        train_to: Path | None = None,
        train_seconds: float = 60.0,
        seed: int = 0,
        sweep: tuple[float, float] = SWEEP_DEFAULT,
    ) -> None:
        super().__init__()
        self.model, self.color_mode = model, color_mode
        self.report_dir, self.save_dir = Path(report_dir), Path(save_dir)
        self.train_to, self.train_seconds = train_to, train_seconds
        self.seed, self.sweep_range = seed, sweep
        self.state = ExplorerState(model.topo, model.weights, model.size)
        self.scorer = IncrementalRenderer(model.topo, model.weights, *model.size)
        self.rmse_trained = self.rmse_now = rmse(self.scorer.image(), model.image)
        if train_to is not None:  # a new network: nothing trained yet
            self.rmse_trained = float("nan")
        self.layout: Layout | None = None
        self.renderer: IncrementalRenderer | None = None
        self._cache: dict[str, np.ndarray] = {}
        self.ensemble: RegionEnsemble | None = None
        self.atlas: np.ndarray | None = None
        self.atlas_weights: np.ndarray | None = None
        self.coord: dict | None = None
        self.sweeping: dict | None = None
        self.trainer: Trainer | None = None
        self.busy: set[str] = set()
        self.extra = ""
        self._shown: dict[str, object] = {}
        self._label = ""
        self._pending: set[int] | None = set()
        self._numbers_due = False
        self._dragging = False
        #: How ``t`` trains on: L-BFGS until stopped (or converged).
        self.continue_config = TrainConfig(seed=seed, seconds=24 * 3600.0, adam_share=0.0)

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield HalfBlockCanvas(self.color_mode, id="canvas")
            with Vertical(id="side"):
                yield Static(HEADER, id="table-header")
                yield SynapseTable(self.state, id="table")
                with Horizontal(id="neuron"):
                    yield HalfBlockCanvas(self.color_mode, id="neuron-map")
                    yield TextLine(id="neuron-text")
                with EnsembleScroll(id="ensemble"):
                    yield Static(NO_REGION, id="ensemble-text")
        with Horizontal(id="train-row"):
            yield ProgressBar(total=1.0, show_eta=False, id="progress")
            yield TextLine(id="train-label")
        yield StatusBar(id="status")
        yield Footer()
        yield TooSmall(id="too-small")

    # -- widgets ---------------------------------------------------------------------
    @property
    def canvas(self) -> HalfBlockCanvas:
        return self.query_one("#canvas", HalfBlockCanvas)

    @property
    def table(self) -> SynapseTable:
        return self.query_one("#table", SynapseTable)

    def on_mount(self) -> None:
        numba.set_num_threads(1)  # UI-thread kernels: serial, so busy cores never stall them
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):  # a closed terminal must not lose edits
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.hang_up)
        self._check_size(self.size.width, self.size.height)
        self.update_neuron()
        self.update_status()
        if self.train_to is not None:
            self.call_after_refresh(self.start_training, True)

    def on_resize(self, event: events.Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def on_cursor_position(self, event: events.CursorPosition) -> None:
        """Wire hook (tui/wire.py): the terminal answered a frame's position request."""
        wire_for(self).answered()

    def _check_size(self, width: int, height: int) -> None:
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(small, "-too-small")
        self.query_one("#side").styles.width = min(60, max(48, width // 2 - 20))
        self.query_one(TooSmall).show_size(width, height)

    def on_half_block_canvas_pixel_size_changed(
        self, msg: HalfBlockCanvas.PixelSizeChanged
    ) -> None:
        width, height = self.canvas.pixel_size  # the message does not say which canvas
        lay = self.layout
        if width > 0 and height > 0 and (lay is None or (lay.cw, lay.ch) != (width, height)):
            self.relayout(width, height)
        self.update_neuron()

    def relayout(self, width: int, height: int) -> None:
        """Re-render the network at the canvas's new pixel size."""
        self.layout = lay = Layout.fit((width, height), self.model.size)
        w = self.display_weights()
        self.renderer = IncrementalRenderer(self.model.topo, w, lay.rw, lay.rh)
        self._cache.clear()
        self.paint()

    def display_weights(self) -> np.ndarray:
        """The weights on screen: a sweep's, training's latest, or the state's (float64[S])."""
        if self.sweeping is not None:
            return self.sweep_weights()
        return self.trainer.latest if self.trainer is not None else self.state.weights

    def sweep_weights(self) -> np.ndarray:
        sw = self.sweeping
        w = self.state.weights.copy()
        w[sw["s"]] = sw["values"][min(sw["i"], len(sw["values"]) - 1)]
        return w

    # -- painting --------------------------------------------------------------------
    def cached(self, key: str, make: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def picture(self) -> tuple[np.ndarray, str]:
        """The current view at the layout's render size: uint8[rh, rw, 3] and a label."""
        lay, r, st = self.layout, self.renderer, self.state
        view = st.view
        if view == 2:
            pic = self.cached("original", lambda: views.resample(self.model.image, lay.rw, lay.rh))
            return pic, "original"
        if view == 3:
            trained = self.cached(
                "trained", lambda: render(self.model.topo, st.trained, lay.rw, lay.rh)
            )
            pic, scale = views.difference(r.image(), trained)
            return pic, f"diff ±{scale:.3g} (blue −, red +)"
        if view == 4:
            return views.grey(r.activation(st.neuron)), f"neuron {st.neuron}"
        if view == 5:
            jac = linear_change_map(self.model.topo, r.weights, st.selected, lay.rw, lay.rh, F32)
            pic, scale = views.change_map(jac)
            return pic, f"d paint/d w[{st.selected}], ±{scale:.3g} = full colour"
        painting = to_uint8(r.image())
        if view == 6:
            if self.atlas is None or not np.array_equal(self.atlas_weights, st.weights):
                self.compute_atlas()  # in a worker; the old atlas shows meanwhile
            if self.atlas is None:
                return views.atlas_overlay(painting, np.zeros((0, 1, 1))), "atlas: computing…"
            maps = self.cached("atlas", lambda: views.resize_maps(self.atlas, lay.rw, lay.rh))
            busy = " (updating…)" if "atlas" in self.busy else ""
            return views.atlas_overlay(painting, maps), f"atlas: {len(maps)} parts{busy}"
        return painting, ""

    def paint(self) -> None:
        """Draw the current view, overlay and caption on the canvas."""
        if self.layout is None or self.renderer is None:
            return
        canvas, lay, st, shown = self.canvas, self.layout, self.state, self._shown
        pic, self._label = self.picture()
        rect = st.cursor.rect() if st.cursor is not None else st.region
        outline = None if rect is None else lay.rect_to_canvas(rect)
        cursor = None if st.cursor is None else lay.to_canvas(st.cursor.x, st.cursor.y)
        if shown.get("outline", ()) != outline:
            canvas.set_outline(outline)
            shown["outline"] = outline
        if shown.get("cursor", ()) != cursor:
            canvas.set_cursor(*(cursor or (None, None)))
            shown["cursor"] = cursor
        self.caption()
        canvas.set_image(views.place(lay, pic))

    def caption(self) -> None:
        label = self._label
        text = f" RMSE {self.rmse_now:.4f} " + (f"· {label} " if label else "")
        if self._shown.get("caption") != text:
            self.canvas.set_caption(text)
            self._shown["caption"] = text

    def update_numbers(self) -> None:
        """After an edit's frame is out: RMSE (training resolution), caption, panes."""
        self._numbers_due = False
        ids, self._pending = self._pending, set()
        push_weights(self.scorer, self.display_weights(), ids)
        self.rmse_now = rmse(self.scorer.image(), self.model.image)
        if self.renderer is not None:
            self.caption()
        self.update_neuron()
        self.update_status()

    def numbers_later(self, ids: Iterable[int] | None) -> None:
        """Schedule update_numbers for synapses ``ids`` (None: all) after the next refresh."""
        self._pending = None if ids is None or self._pending is None else self._pending | set(ids)
        if not self._numbers_due:
            self._numbers_due = True
            self.call_after_refresh(self.update_numbers)

    def update_neuron(self) -> None:
        st = self.state
        self.query_one("#neuron-text", TextLine).show(neuron_text(st, 38))
        small = self.query_one("#neuron-map", HalfBlockCanvas)
        if self.renderer is None:
            return
        act = self.renderer.activation(st.neuron)
        w, h = small.pixel_size if small.pixel_size[0] else (20, 18)
        lay = Layout.fit((w, h), self.model.size)
        rows = ((np.arange(lay.rh) + 0.5) * act.shape[0] / lay.rh).astype(int)
        cols = ((np.arange(lay.rw) + 0.5) * act.shape[1] / lay.rw).astype(int)
        small.set_image(views.place(lay, views.grey(act[np.ix_(rows, cols)])))

    def update_status(self) -> None:
        name = Path(self.model.path).name if self.model.path else "(new model)"
        text = status_text(
            self.state,
            model=name,
            rmse_now=self.rmse_now,
            rmse_trained=self.rmse_trained,
            color_mode=self.color_mode,
            extra=self.extra,
        )
        self.query_one(StatusBar).show(text)

    def update_ensemble(self) -> None:
        text = self.query_one("#ensemble-text", Static)
        ens = self.ensemble
        if ens is None:
            text.update(NO_REGION)
            self.table.set_influence(None, {})
            return
        text.update(ensemble_text(ens))
        members = {int(s): bool(c) for s, c in zip(ens.members, ens.core, strict=True)}
        self.table.set_influence(ens.scores.in_, members)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for keys, action, _, title in KEYMAP:
            if title:
                key = keys.split(",")[0].replace("_square_bracket", " bracket")
                yield SystemCommand(title, f"key: {key}", partial(self.run_action, action))


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The TUI's options (bare ``synens-tui [MODEL|PICTURE] [options]``)."""
    from .launch import add_arguments as add

    return add(parser)


def run(args: argparse.Namespace) -> int:
    """Open the explorer for ``args`` (see launch.py); returns the exit code."""
    from .launch import run as launch

    return launch(args, ExplorerApp)
