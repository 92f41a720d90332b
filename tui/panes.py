"""Side panes of the explorer: the synapse table, the neuron pane, the ensemble pane, status."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from synens.core.base.topology import Topology
from synens.core.reports.control import sparkline, summary_line
from synens.core.reports.table import ordinal
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from .state import NO_EDIT_TOL, VIEWS, ExplorerState

if TYPE_CHECKING:
    from synens.core.analysis.control import Control, Move
    from synens.core.analysis.null import NullResult

HEADER = "  id source→target  weight   change influence"
_PLAIN, _CHANGED = Style(), Style(color="yellow")
_SELECTED = Style(reverse=True, bold=True)
_MEMBER = {True: "●", False: "○"}  # core, shared


def synapse_label(topo: Topology, s: int) -> str:
    """'bias→3', 'x→0', '12→34'."""
    return f"{topo.source_name(s)}→{int(topo.dst[s])}"


def change_text(d: float) -> str:
    """The table's change column for d = weight - trained: '·' untouched, '0' when nudged back
    within NO_EDIT_TOL (not an edit), a tiny edit in e-notation (never '-0.0000'), else
    signed with 4 decimals."""
    if d == 0.0:
        return "·"
    if abs(d) <= NO_EDIT_TOL:
        return "0"
    return f"{d:+.0e}" if abs(d) < 5e-5 else f"{d:+.4f}"


class SynapseTable(ScrollView, can_focus=False):
    """All synapses, one line each (only visible lines are drawn); the selection is reversed.

    Columns: id, source → target, weight, change from trained, influence over the region
    (once a region was analysed; ● core member, ○ shared member).
    """

    DEFAULT_CSS = """
    SynapseTable { height: 1fr; scrollbar-size-vertical: 1; overflow-x: hidden; }
    """

    class Clicked(Message):
        """A synapse line was clicked (mouse: an extra, never needed)."""

        def __init__(self, synapse: int) -> None:
            super().__init__()
            self.synapse = synapse

    def __init__(self, state: ExplorerState, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.influence: np.ndarray | None = None
        self.members: dict[int, bool] = {}
        self._shown = state.selected
        self.virtual_size = Size(len(HEADER), state.n_synapses)

    def set_influence(self, influence: np.ndarray | None, members: dict[int, bool]) -> None:
        """Show float64[S] influence over the region (None hides it) and mark members."""
        self.influence, self.members = influence, members
        self.refresh()

    def line_text(self, s: int) -> str:
        st = self.state
        w, d = float(st.weights[s]), float(st.weights[s] - st.trained[s])
        inf = "" if self.influence is None else f"{self.influence[s]:8.4f}"
        mark = _MEMBER[self.members[s]] if s in self.members else " "
        change = f"{change_text(d):>8s}"
        return f"{s:4d} {synapse_label(self.state.topo, s):<11s}{w:+8.3f} {change} {inf} {mark}"

    def follow(self) -> None:
        """Move the highlight to the state's selection and scroll it into view."""
        old, new = self._shown, self.state.selected
        self._shown = new
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_y)
        if new < top or new >= top + height:
            target = new - height // 2
            self.scroll_to(y=max(0, target), animate=False, immediate=True)
            self.refresh()
        else:
            self.refresh_synapse(old)
            self.refresh_synapse(new)

    def refresh_synapse(self, s: int) -> None:
        """Redraw synapse s's line (after its weight changed)."""
        y = s - int(self.scroll_y)
        if 0 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def render_line(self, y: int) -> Strip:
        s = y + int(self.scroll_y)
        width = self.scrollable_content_region.width
        if not 0 <= s < self.state.n_synapses:
            return Strip.blank(width)
        text = self.line_text(s)
        if len(text) > width:  # a narrow pane: drop the columns that do not fit whole
            text = text[: width + 1].rsplit(" ", 1)[0]
        text = text.ljust(width)[:width]
        if s == self.state.selected:
            style = _SELECTED
        else:
            d = abs(self.state.weights[s] - self.state.trained[s])
            style = _CHANGED if d > NO_EDIT_TOL else _PLAIN
        return Strip([Segment(text, self.rich_style + style)], width)

    def on_click(self, event: events.Click) -> None:
        s = event.y + int(self.scroll_y)
        if 0 <= s < self.state.n_synapses:
            self.post_message(self.Clicked(s))


def neuron_text(state: ExplorerState, width: int = 56) -> Text:
    """The selected synapse's target neuron: number, role, incoming synapses."""
    topo, n = state.topo, state.neuron
    out = Text()
    out.append(f"neuron {n}", style="bold")
    out.append(f"  {topo.neuron_role(n)}  ·  {topo.ptr[n + 1] - topo.ptr[n]} inputs\n")
    line = 0
    for s in topo.synapses_of(n).tolist():
        item = f"{topo.source_name(s)}:{state.weights[s]:+.2f} "
        if line + len(item) > width:
            out.append("\n")
            line = 0
        out.append(item, style=_SELECTED if s == state.selected else "")
        line += len(item)
    return out


def _sel(mv: Move | None) -> str:
    return "not reached" if mv is None or mv.measured is None else f"{mv.sel:.3g}"


def _gain(g: float | None) -> str:
    return "n/a" if g is None else f"×{g:.3g}"


def null_text(null: NullResult | None) -> str:
    """'specificity: 95th percentile of 20 random boxes (ensemble sel; ceiling 75th, k 90th)'."""
    if null is None:
        return "specificity: no null (no random box of the region's size fits)"
    p, n = null.percentile, len(null.boxes) - null.unreachable
    return (f"specificity: {ordinal(p['ensemble'])} percentile of {n} random boxes (ensemble sel;"
            f" ceiling {ordinal(p['ceiling'])}, k {ordinal(p['k'])})")


def member_marks(c: Control) -> tuple[np.ndarray, dict[int, bool]]:
    """in(s) = sqrt(A_ss) float64[S] and {member: core} (core: in/out > 1, as in report/2)."""
    a, b = np.diag(c.ctx.a), np.diag(c.ctx.b)
    s_in, s_out = np.sqrt(np.maximum(a, 0.0)), np.sqrt(np.maximum(b, 0.0))
    return s_in, {int(s): bool(s_in[s] > s_out[s] + 1e-9) for s in c.members}


def ensemble_text(c: Control, null: NullResult | None = None, null_line: str | None = None,
                  top: int = 12) -> Text:
    """The answer first: summary line, sel against the ceiling, gains over the baselines, the
    curve as a sparkline and the null (``null``, or ``null_line`` while it is not there);
    then details: members (in curve order), spread, opposing pairs and the rule."""
    from synens.core.analysis.control import ENSEMBLE_SHARE
    from synens.core.analysis.masks import bounding_box

    topo, ens, bl = c.ctx.topo, c.ensemble, c.baselines
    out = Text()
    x0, y0, x1, y1 = bounding_box(c.mask)
    out.append(f"region {x0},{y0},{x1},{y1} ({int(c.mask.sum())} px)\n", style="bold")
    out.append(summary_line(c) + "\n", style="bold green")
    share = f"{ENSEMBLE_SHARE:.0%} at k = {c.k}" if c.reached else \
        f"{ENSEMBLE_SHARE:.0%} NOT reached"
    out.append(f"  sel {_sel(ens)}, ceiling {_sel(c.ceiling)}: {share}\n")
    if bl:
        s, n, q = bl["synapse"], bl["neuron"], bl["neuron_same_k"]
        g = bl["gain"]
        out.append("  gain over best synapse" + (f" {s[0]} (sel {_sel(s[1])})" if s else "")
                   + f": {_gain(g['synapse'])}\n")
        out.append("  gain over best neuron" + (f" {n[0]} (sel {_sel(n[1])})" if n else "")
                   + f": {_gain(g['neuron'])}\n")
        out.append("    → the best neuron matches the ensemble\n" if bl["neuron_matches"]
                   else "    → the ensemble beats every single neuron\n", style="bold")
        out.append(f"  one-neuron move of k = {c.k}" + (f" (neuron {q[0]})" if q else "")
                   + f": {_gain(g['neuron_same_k'])}\n")
    sels = [p.move.sel for p in c.curve]
    out.append(f"curve k 1..{len(sels)} (sel {sels[0]:.3g} → {max(sels):.3g}, log): ")
    out.append(sparkline(sels) + "\n", style="cyan")
    if null_line is not None:
        out.append(null_line + "\n", style="dim italic")
    else:
        out.append(null_text(null) + "\n", style="bold magenta")
    _, marks = member_marks(c)
    comps = ens.components()
    out.append(f"members ({c.k}, in curve order; ● core, ○ shared):\n", style="bold")
    for s in c.members[:top].tolist():
        out.append(f"{s:4d} {synapse_label(topo, s):<9s} {_MEMBER[marks[s]]} "
                   f"step {comps.get(s, 0.0):+.3g}\n")
    if c.k > top:
        out.append(f"  … {c.k - top} more\n", style="dim")
    out.append("spread: " + (", ".join(f"neuron {n} {100 * c.neuron_share[n]:.0f} %"
                                       for n in c.spread) or "none") + "\n")
    out.append(f"opposing pairs ({len(c.pairs)}):\n", style="bold")
    for p in c.pairs[:5]:
        comp = p["move"].components()
        same = "same target" if p["same_target"] else "two targets"
        out.append(f"  {p['a']} & {p['b']}  {comp[p['a']]:+.3g}/{comp[p['b']]:+.3g}  "
                   f"sel {_sel(p['move'])}  {_gain(p['gain'])}  {same}\n")
    out.append(f"rule: smallest k with sel ≥ {ENSEMBLE_SHARE:.0%} of the ceiling's "
               f"(λ = {c.ctx.lam_rel:g}·tr B/S; {c.path})\n", style="dim")
    return out


def _field(long: str, short: str | None = None, style: str = "") -> tuple[Text, Text]:
    return Text(long, style=style), Text(long if short is None else short, style=style)


def status_fields(
    state: ExplorerState,
    *,
    model: str,
    rmse_now: float,
    rmse_trained: float,
    color_mode: str,
    color_reason: str = "",
    extra: str = "",
) -> list[tuple[Text, Text]]:
    """The status bar's fields, each as (long, short) Text: model, colour mode (in 256 mode
    with the reason and how to force 24-bit), unsaved marker, RMSE now/trained, view, step,
    region or selection, then ``extra`` (mode hints). StatusBar wraps them whole."""
    fields = [_field(model, style="bold")]
    if color_mode == "256":
        why = color_reason.split(";")[0].strip()
        why = "" if not why or why.startswith("--colors") else why
        fields.append(_field(
            f"256 colours ({why + '; ' if why else ''}--colors truecolor forces 24-bit)",
            f"256 colours ({why[:22] + '; ' if why else ''}--colors truecolor)", "bold red"))
    else:
        fields.append(_field(color_mode, style="bold"))
    if state.dirty:
        fields.append(_field("● unsaved", style="bold yellow"))
    trained = "not yet" if np.isnan(rmse_trained) else f"{rmse_trained:.4f}"
    fields.append(_field(f"RMSE {rmse_now:.4f} (trained {trained})",
                         f"RMSE {rmse_now:.4f}/{trained}"))
    fields.append(_field(f"view {state.view} {VIEWS[state.view - 1]}", f"view {state.view}"))
    fields.append(_field(f"step {state.step:g}"))
    if state.cursor is not None:
        c = state.cursor
        rect = c.rect()
        where = f"{c.x},{c.y}" if rect is None else ",".join(map(str, rect))
        fields.append(_field(f"selecting {where}", f"sel {where}", "bold cyan"))
    else:
        region = "none" if state.region is None else ",".join(map(str, state.region))
        fields.append(_field(f"region {region}"))
    if extra:
        fields.append(_field(extra, style="bold magenta"))
    return fields


def pack_fields(fields: list[Text], width: int) -> list[Text]:
    """Lay ``fields`` out in lines of at most ``width`` cells, joined by " │ ", never
    splitting a field across lines (one wider than a line is cut with an ellipsis)."""
    lines: list[Text] = []
    line = Text()
    for field in fields:
        part = field.copy()
        part.truncate(max(1, width - 2), overflow="ellipsis")
        if line.cell_len and line.cell_len + 3 + part.cell_len > width - 1:
            lines.append(line)
            line = Text()
        line.append(" │ " if line.cell_len else " ")
        line.append_text(part)
    if line.cell_len:
        lines.append(line)
    return lines or [Text()]


def status_text(state: ExplorerState, **kwargs) -> Text:
    """The status fields on one line (long forms): for logs and tests."""
    return Text(" │ ").join(long for long, _ in status_fields(state, **kwargs))


class TextLine(Widget):
    """Shows a Rich Text; ``show`` repaints it without a layout pass (cheaper than Static)."""

    DEFAULT_CSS = "TextLine { height: 1; }"

    def __init__(self, text: str | Text = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.text: str | Text = text

    def show(self, text: str | Text) -> None:
        if text != self.text:
            self.text = text
            self.refresh()

    def render(self) -> str | Text:
        return self.text


class StatusBar(Widget):
    """The status bar under the canvas: its fields wrap onto more lines rather than being
    cut off (long forms while they fit in MAX_LINES lines, else the short forms)."""

    DEFAULT_CSS = "StatusBar { height: 1; background: $panel; }"
    MAX_LINES = 2

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fields: list[tuple[Text, Text]] = []
        self.lines: list[Text] = [Text()]

    def show(self, fields: list[tuple[Text, Text]]) -> None:
        if [(a.plain, b.plain) for a, b in fields] != [(a.plain, b.plain) for a, b in self.fields]:
            self.fields = fields
            self._fit(self.size.width)

    def _fit(self, width: int) -> None:
        if width <= 0:
            return
        lines = pack_fields([long for long, _ in self.fields], width)
        if len(lines) > self.MAX_LINES:
            lines = pack_fields([short for _, short in self.fields], width)
        self.lines = lines
        if self.styles.height is None or self.styles.height.value != len(lines):
            self.styles.height = len(lines)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def render(self) -> Text:
        return Text("\n").join(self.lines)
