"""The Textual explorer: widgets, key bindings and calls into one Session; ``run(args)``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Iterable
from functools import partial
from pathlib import Path

import numba
import numpy as np
from synens.core.files.model import Model
from synens.core.network.render import IncrementalRenderer
from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar, Static

from .canvas import HalfBlockCanvas
from .controller import Controller
from .jobs import Jobs, KernelsCompiled, TrainProgress
from .layout import CSS, NARROW, TABS, EnsembleScroll, side_width, tab_bar
from .painter import NO_REGION, Painter
from .panes import HEADER, StatusBar, SynapseTable, TextLine
from .regionjobs import NullProgress
from .replies import install_reply_filter
from .screens import KEYMAP, MIN_SIZE, HelpScreen, TooSmall
from .session import Analyses, Session
from .state import SWEEP_DEFAULT, ExplorerState
from .warmup import Warmup
from .wire import wire_for  # wire hook: terminal answers (on_cursor_position)


class ExplorerApp(App[str | None]):
    """The explorer. ``model``: the network to explore; ``train_to``: train it live, then
    save there (a PICTURE launch); ``analyses``: the analysis functions (default: core's).

    Composition: ``session`` (weights, version, undo, renderers, tagged analyses),
    ``painter`` (draws the session), ``jobs`` (thread workers), ``keys`` (what keys do).
    """

    CSS = CSS
    TITLE = "synens-tui"
    AUTO_FOCUS = None  # nothing takes the keys at start: e focuses the ensemble pane
    BINDINGS = [Binding(k, a, d or a, show=bool(d)) for k, a, d, _ in KEYMAP]

    def __init__(
        self,
        model: Model,
        *,
        color_mode: str = "truecolor",
        color_reason: str = "",
        report_dir: str = ".",
        save_dir: str = ".",
        train_to: Path | None = None,
        train_seconds: float = 60.0,
        seed: int = 0,
        sweep: tuple[float, float] = SWEEP_DEFAULT,
        analyses: Analyses | None = None,
        warmup: Warmup | None = None,
    ) -> None:
        super().__init__()
        self.session = Session(model, analyses or Analyses())
        self.color_mode, self.color_reason = color_mode, color_reason
        #: The side pane shown below NARROW columns (its tab).
        self.tab = TABS[0][0]
        install_reply_filter()  # late terminal replies must not become keys
        #: The thread compiling the kernels (first run), or None: see warmup.py.
        self.warmup = warmup
        if warmup is not None:
            self.session.kernels_ready = warmup.ready
            warmup.on_stage = self._stage_compiled
        self.report_dir, self.save_dir = Path(report_dir), Path(save_dir)
        self.train_to, self.train_seconds = train_to, train_seconds
        self.seed, self.sweep_range = seed, sweep
        if train_to is not None:  # a new network: nothing trained yet
            self.session.rmse_trained = float("nan")
        self.painter = Painter(self)
        self.jobs = Jobs(self, seed)
        self.keys = Controller(self)
        #: Set when an unhandled error ended the app: where the unsaved edits went.
        self.crash_note: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield HalfBlockCanvas(self.color_mode, id="canvas")
            with Vertical(id="side"):
                yield Static(tab_bar(self.tab), id="tabs")
                with Vertical(id="synapses", classes="pane -active"):
                    yield Static(HEADER, id="table-header")
                    yield SynapseTable(self.session.state, id="table")
                with Horizontal(id="neuron", classes="pane"):
                    yield HalfBlockCanvas(self.color_mode, id="neuron-map")
                    yield TextLine(id="neuron-text")
                with EnsembleScroll(id="ensemble", classes="pane"):
                    yield Static(NO_REGION, id="ensemble-text")
        with Horizontal(id="train-row"):
            yield ProgressBar(total=1.0, show_eta=False, id="progress")
            yield TextLine(id="train-label")
        yield StatusBar(id="status")
        yield Footer()
        yield TooSmall(id="too-small")

    # -- widgets and read-only views of the session ---------------------------------------
    @property
    def canvas(self) -> HalfBlockCanvas:
        return self.query_one("#canvas", HalfBlockCanvas)

    @property
    def table(self) -> SynapseTable:
        return self.query_one("#table", SynapseTable)

    @property
    def model(self) -> Model:
        return self.session.model

    @property
    def state(self) -> ExplorerState:
        return self.session.state

    @property
    def renderer(self) -> IncrementalRenderer | None:
        return self.session.renderer

    @property
    def rmse_now(self) -> float:
        return self.session.rmse_now

    @property
    def rmse_trained(self) -> float:
        return self.session.rmse_trained

    @property
    def ensemble(self) -> object | None:
        """The region analysis the pane shows (current or stale), or None."""
        tag = self.session.get("region", self.state.region)
        return None if tag is None else tag.value

    @property
    def atlas(self) -> np.ndarray | None:
        tag = self.session.get("atlas")
        return None if tag is None else tag.value

    # -- life cycle --------------------------------------------------------------------
    def on_mount(self) -> None:
        numba.set_num_threads(1)  # UI-thread kernels: serial, so busy cores never stall them
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):  # a closed terminal must not lose edits
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.jobs.hang_up)
        self._check_size(self.size.width, self.size.height)
        self.painter.update_neuron()
        self.painter.update_status()
        if self.train_to is not None:
            self.call_after_refresh(self.jobs.start_training, True)
        if self.warmup is not None:  # in case no painting comes (a terminal too small)
            self.set_timer(3.0, self.warmup.go)

    def _handle_exception(self, error: Exception) -> None:
        """Any unhandled error: first keep unsaved edits in the autosave file, then let
        Textual show the error and end the app."""
        try:
            path = self.jobs.keep_unsaved()
            if path is not None:
                self.crash_note = f"unsaved edits kept in {path}"
        except Exception as err:  # noqa: BLE001 - the original error matters more
            self.crash_note = f"could not keep the unsaved edits: {err}"
        super()._handle_exception(error)

    def on_resize(self, event: events.Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def on_cursor_position(self, event: events.CursorPosition) -> None:
        """Wire hook (tui/wire.py): the terminal answered a frame's position request."""
        wire_for(self).answered()

    def _check_size(self, width: int, height: int) -> None:
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(small, "-too-small")
        self.set_class(width < NARROW, "-narrow")
        self.query_one("#side").styles.width = side_width(width)
        self.query_one(TooSmall).show_size(width, height)

    def show_tab(self, tab: str) -> None:
        """Make ``tab`` (a TABS id) the side pane shown below NARROW columns."""
        self.tab = tab
        for key, _ in TABS:
            self.query_one(f"#{key}").set_class(key == tab, "-active")
        self.query_one("#tabs", Static).update(tab_bar(tab))
        if tab == "neuron":
            self.call_after_refresh(self.painter.update_neuron)  # its text width changed

    def on_half_block_canvas_pixel_size_changed(
        self, msg: HalfBlockCanvas.PixelSizeChanged
    ) -> None:
        width, height = self.canvas.pixel_size  # the message does not say which canvas
        lay = self.painter.layout
        if width > 0 and height > 0 and (lay is None or (lay.cw, lay.ch) != (width, height)):
            self.painter.relayout(width, height)
        self.painter.update_neuron()

    def _stage_compiled(self, index: int, stage: object) -> None:
        """(Warm-up thread) one more stage is compiled: tell the UI thread."""
        if self.is_running:
            self.post_message(KernelsCompiled())

    def on_kernels_compiled(self, message: KernelsCompiled) -> None:
        self.painter.kernels_compiled()

    def on_train_progress(self, message: TrainProgress) -> None:
        self.jobs.take_progress()

    def on_null_progress(self, message: NullProgress) -> None:
        self.jobs.region.null_progress(message.run)

    def on_unmount(self) -> None:
        self.jobs.region.cancel_null()  # a null worker must not outlive the app

    async def on_event(self, event: events.Event) -> None:
        if (
            isinstance(event, events.Key)
            and self.has_class("-too-small")
            and self.screen is self.screen_stack[0]
            and event.key != "q"
        ):
            event.stop()  # behind "Please enlarge" keys do nothing (q still quits)
            return
        if (isinstance(event, events.Key) and event.key == "tab" and self.keys.sweeping is None
                and self.screen is self.screen_stack[0]):
            event.stop()  # tab switches the side pane (not Textual's focus chain)
            self.action_next_tab()
            return
        if (
            isinstance(event, events.Key)
            and self.keys.sweeping is not None
            and not event.is_forwarded
            and self.screen is self.screen_stack[0]
        ):
            self.keys.stop_sweep()  # any key stops the sweep, and does nothing else
            return
        await super().on_event(event)

    # -- key bindings: each calls into the controller, the jobs or the session -----------
    def action_up(self, n: int = 1) -> None:
        self.keys.vertical(-n)

    def action_down(self, n: int = 1) -> None:
        self.keys.vertical(n)

    def action_left(self, n: int = 1) -> None:
        self.keys.horizontal(-1, n)

    def action_right(self, n: int = 1) -> None:
        self.keys.horizontal(1, n)

    def action_neuron(self, direction: int) -> None:
        self.keys.neuron(direction)

    def action_goto(self) -> None:
        self.keys.goto()

    def action_step(self, factor: float) -> None:
        self.keys.step(factor)

    def action_reset(self) -> None:
        self.keys.edit("reset_synapse")

    def action_reset_all(self) -> None:
        self.keys.edit("reset_all")

    def action_undo(self) -> None:
        self.keys.edit("undo")

    def action_redo(self) -> None:
        self.keys.edit("redo")

    def action_view(self, view: int) -> None:
        self.keys.view(view)

    def action_sweep(self) -> None:
        self.keys.sweep()

    def action_region(self) -> None:
        self.keys.region()

    def action_corner(self) -> None:
        self.keys.corner()

    def action_confirm(self) -> None:
        self.keys.confirm()

    def action_cancel(self) -> None:
        self.keys.cancel()

    def action_coord(self, which: str = "ensemble") -> None:
        self.keys.start_coord(which)

    def action_dump(self) -> None:
        self.jobs.region.dump()

    def action_train(self) -> None:
        self.jobs.train()

    def action_save(self) -> None:
        self.jobs.save()

    def action_next_tab(self) -> None:
        """tab: the next side pane (below NARROW columns, where they share one place)."""
        keys = [key for key, _ in TABS]
        self.set_focus(None)
        self.show_tab(keys[(keys.index(self.tab) + 1) % len(keys)])

    def action_focus_ensemble(self) -> None:
        """e: the keyboard scrolls the ensemble pane (e or esc gives it back)."""
        ens = self.query_one("#ensemble", EnsembleScroll)
        self.set_focus(None if ens.has_focus else ens)
        self.show_tab("ensemble")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        self.keys.quit()

    # -- mouse (an extra: everything works without it) -----------------------------------
    def _canvas_pixel(self, event: events.MouseEvent) -> tuple[int, int] | None:
        """The picture pixel under the mouse, or None off the canvas / under a modal."""
        region, lay = self.canvas.content_region, self.painter.layout
        if lay is None or self.screen is not self.screen_stack[0] \
                or not region.contains(event.screen_x, event.screen_y):
            return None
        return lay.to_picture(event.screen_x - region.x, 2 * (event.screen_y - region.y))

    def on_mouse_down(self, event: events.MouseDown) -> None:
        pixel = self._canvas_pixel(event)
        if pixel is not None:
            self.keys.press(pixel)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        pixel = self._canvas_pixel(event) if self.keys.dragging else None
        if pixel is not None:
            self.keys.drag(pixel)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self.keys.release()

    def on_synapse_table_clicked(self, message: SynapseTable.Clicked) -> None:
        self.keys.select(message.synapse)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette lists the explorer's actions only (Textual's own would bypass the
        unsaved-edits question), each with its key named as the footer names it."""
        for keys, action, _, title in KEYMAP:
            if title:
                key = self.get_key_display(Binding(keys.split(",")[0], action))
                yield SystemCommand(title, f"key: {key}", partial(self.run_action, action))


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The TUI's options (bare ``synens-tui [MODEL|PICTURE] [options]``)."""
    from .launch import add_arguments as add

    return add(parser)


def run(args: argparse.Namespace) -> int:
    """Open the explorer for ``args`` (see launch.py); returns the exit code."""
    from .launch import run as launch

    return launch(args, ExplorerApp)
