"""Explorer state without Textual: selection, weights, undo/redo, step, views, region, layout."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from synens.core.base.topology import Topology

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

VIEWS = ("painting", "original", "difference", "activation", "change map", "atlas")
STEP_MIN, STEP_MAX, STEP_DEFAULT = 2.0**-12, 16.0, 0.05
SWEEP_DEFAULT = (-0.8, 0.3)
UNDO_LIMIT = 10_000
#: A weight within this of another value counts as equal to it (no edit, nothing unsaved).
NO_EDIT_TOL = 1e-12
#: Edits of more synapses than this re-render everything instead of propagating each change.
MAX_INCREMENTAL = 8
Rect = tuple[int, int, int, int]


@dataclass(frozen=True)
class Edit:
    """One undoable change: synapses ``ids`` went from ``old`` to ``new`` values."""

    ids: tuple[int, ...]
    old: tuple[float, ...]
    new: tuple[float, ...]
    what: str


@dataclass(frozen=True)
class Layout:
    """Where the picture sits in the canvas: canvas (cw, ch) px, picture drawn at (rw, rh) px
    with its top-left at (ox, oy); the picture itself is (pw, ph) px (the model's image)."""

    cw: int
    ch: int
    rw: int
    rh: int
    ox: int
    oy: int
    pw: int
    ph: int

    @classmethod
    def fit(cls, canvas: tuple[int, int], picture: tuple[int, int]) -> Layout:
        """Fit a (pw, ph) picture into a (cw, ch) canvas, aspect kept, centred horizontally."""
        cw, ch = max(1, canvas[0]), max(1, canvas[1])
        pw, ph = picture
        scale = min(cw / pw, ch / ph)
        rw = max(1, min(cw, round(pw * scale)))
        rh = max(1, min(ch, round(ph * scale)))
        return cls(cw, ch, rw, rh, (cw - rw) // 2, 0, pw, ph)

    def to_picture(self, cx: int, cy: int) -> tuple[int, int]:
        """Canvas pixel -> picture pixel (clamped into the picture)."""
        px = math.floor((cx - self.ox + 0.5) * self.pw / self.rw)
        py = math.floor((cy - self.oy + 0.5) * self.ph / self.rh)
        return min(max(px, 0), self.pw - 1), min(max(py, 0), self.ph - 1)

    def to_canvas(self, px: int, py: int) -> tuple[int, int]:
        """Centre of picture pixel (px, py) -> canvas pixel."""
        return (
            self.ox + math.floor((px + 0.5) * self.rw / self.pw),
            self.oy + math.floor((py + 0.5) * self.rh / self.ph),
        )

    def rect_to_canvas(self, rect: Rect) -> Rect:
        """Half-open picture rectangle -> half-open canvas rectangle covering it."""
        x0, y0, x1, y1 = rect
        sx, sy = self.rw / self.pw, self.rh / self.ph
        return (
            self.ox + math.floor(x0 * sx),
            self.oy + math.floor(y0 * sy),
            self.ox + max(math.ceil(x1 * sx), math.floor(x0 * sx) + 1),
            self.oy + max(math.ceil(y1 * sy), math.floor(y0 * sy) + 1),
        )


@dataclass
class RegionCursor:
    """Region mode: a cursor and an optional fixed corner, both in picture pixels."""

    x: int
    y: int
    anchor: tuple[int, int] | None = None

    def rect(self) -> Rect | None:
        """The half-open rectangle from the anchor to the cursor (both included), or None."""
        if self.anchor is None:
            return None
        ax, ay = self.anchor
        return min(ax, self.x), min(ay, self.y), max(ax, self.x) + 1, max(ay, self.y) + 1


@dataclass
class ExplorerState:
    """Everything the explorer edits. weights/trained/saved: float64[S]."""

    topo: Topology
    trained: np.ndarray
    picture_size: tuple[int, int]
    weights: np.ndarray = field(init=False)
    saved: np.ndarray = field(init=False)
    selected: int = 0
    step: float = STEP_DEFAULT
    view: int = 1
    region: Rect | None = None
    cursor: RegionCursor | None = None
    undo_stack: list[Edit] = field(default_factory=list)
    redo_stack: list[Edit] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.trained = np.array(self.trained, np.float64)
        self.weights = self.trained.copy()
        self.saved = self.trained.copy()

    # -- selection -------------------------------------------------------------------
    @property
    def n_synapses(self) -> int:
        return self.topo.n_synapses

    @property
    def neuron(self) -> int:
        """The selected synapse's target neuron."""
        return int(self.topo.dst[self.selected])

    def select(self, s: int) -> int:
        """Select synapse s, clamped into 0..S-1; returns the selection."""
        self.selected = min(max(int(s), 0), self.n_synapses - 1)
        return self.selected

    def move(self, delta: int) -> int:
        return self.select(self.selected + delta)

    def next_neuron(self, direction: int = 1) -> int:
        """Select the first synapse of the next (or previous) neuron that has synapses."""
        ptr, n = self.topo.ptr, self.neuron
        m = n + direction
        while 0 <= m < self.topo.n_neurons:
            if ptr[m + 1] > ptr[m]:
                return self.select(int(ptr[m]))
            m += direction
        return self.selected

    # -- edits -----------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        """True when the weights differ from the last saved (or loaded) ones."""
        return bool(np.any(np.abs(self.weights - self.saved) > NO_EDIT_TOL))

    def apply(self, ids: ArrayLike, new: ArrayLike, what: str) -> Edit | None:
        """Set weights[ids] = new as one undoable edit (None when nothing changes)."""
        ids = tuple(int(i) for i in np.atleast_1d(ids))
        new = tuple(float(v) for v in np.atleast_1d(new))
        if not all(math.isfinite(v) for v in new):
            raise ValueError("weights must be finite")
        old = tuple(float(self.weights[i]) for i in ids)
        if old == new:
            return None
        edit = Edit(ids, old, new, what)
        self.weights[list(ids)] = new
        self.undo_stack.append(edit)
        del self.undo_stack[:-UNDO_LIMIT]
        self.redo_stack.clear()
        return edit

    def nudge(self, sign: int, factor: float = 1.0) -> Edit | None:
        """Add sign * step * factor to the selected weight."""
        s = self.selected
        return self.apply(s, self.weights[s] + sign * self.step * factor, "nudge")

    def reset_synapse(self) -> Edit | None:
        s = self.selected
        return self.apply(s, self.trained[s], "reset synapse")

    def reset_all(self) -> Edit | None:
        ids = np.flatnonzero(self.weights != self.trained)
        return self.apply(ids, self.trained[ids], "reset all") if ids.size else None

    def undo(self) -> Edit | None:
        """Revert the last edit; returns it (its ``old`` values are now in place)."""
        if not self.undo_stack:
            return None
        edit = self.undo_stack.pop()
        self.weights[list(edit.ids)] = edit.old
        self.redo_stack.append(edit)
        return edit

    def redo(self) -> Edit | None:
        if not self.redo_stack:
            return None
        edit = self.redo_stack.pop()
        self.weights[list(edit.ids)] = edit.new
        self.undo_stack.append(edit)
        return edit

    def replace_all(self, weights: np.ndarray, what: str) -> Edit | None:
        """Set every weight (float[S]) as one undoable edit (training, loading)."""
        w = np.asarray(weights, np.float64)
        ids = np.flatnonzero(w != self.weights)
        return self.apply(ids, w[ids], what) if ids.size else None

    def mark_saved(self, new_baseline: bool = False) -> None:
        """The current weights are now saved; with new_baseline they are also 'trained'."""
        self.saved = self.weights.copy()
        if new_baseline:
            self.trained = self.weights.copy()
            self.undo_stack.clear()
            self.redo_stack.clear()

    def scale_step(self, factor: float) -> float:
        self.step = min(max(self.step * factor, STEP_MIN), STEP_MAX)
        return self.step

    # -- region mode -----------------------------------------------------------------
    def start_region(self) -> RegionCursor:
        """Enter region mode with the cursor at the picture's centre (or the region's corner)."""
        pw, ph = self.picture_size
        if self.region is not None:
            x0, y0, x1, y1 = self.region
            self.cursor = RegionCursor(x1 - 1, y1 - 1, (x0, y0))
        else:
            self.cursor = RegionCursor(pw // 2, ph // 2)
        return self.cursor

    def move_cursor(self, dx: int, dy: int) -> None:
        if self.cursor is None:
            return
        pw, ph = self.picture_size
        self.cursor.x = min(max(self.cursor.x + dx, 0), pw - 1)
        self.cursor.y = min(max(self.cursor.y + dy, 0), ph - 1)

    def fix_corner(self) -> None:
        if self.cursor is not None:
            self.cursor.anchor = (self.cursor.x, self.cursor.y)

    def confirm_region(self) -> Rect | None:
        """Leave region mode, keeping the rectangle as the region (None if no corner fixed)."""
        rect = self.cursor.rect() if self.cursor is not None else None
        if rect is not None:
            self.region = rect
            self.cursor = None
        return rect

    def cancel_region(self) -> None:
        self.cursor = None
