"""The explorer's layout at every size: CSS, the side pane's width, tabs, the ensemble pane."""

from __future__ import annotations

from textual.binding import Binding
from textual.containers import VerticalScroll

#: Below this many columns the side panes collapse into one pane with tabs.
NARROW = 120

#: The side panes, in tab order: (widget id, tab label).
TABS = (("synapses", "synapses"), ("neuron", "neuron"), ("ensemble", "ensemble"))


def side_width(width: int) -> int:
    """Columns of the side pane (border included) for a terminal ``width`` columns wide.

    Narrow terminals give the painting all they can: the table keeps its id, source → target,
    weight and change columns (the influence is in the ensemble tab); wide ones show it all.
    """
    if width < NARROW:
        return max(37, min(46, (width * 2) // 5))
    return min(60, max(48, width // 2 - 20))


def tab_bar(active: str) -> str:
    """The narrow layout's tab line (Rich markup): the active tab reversed, then the key."""
    items = [f"[reverse b] {label} [/]" if key == active else f" {label} "
             for key, label in TABS]
    return "".join(items) + " [dim]tab[/dim]"


#: The explorer's layout (inline, so no package data is needed).
CSS = """
#main { height: 1fr; }
#canvas { width: 1fr; height: 1fr; }
#side { width: 56; height: 1fr; border-left: vkey $primary; }
#tabs { height: 1; display: none; background: $primary 30%; }
#synapses { height: 1fr; }
#table-header { height: 1; background: $primary 30%; text-style: bold; }
#table { height: 1fr; min-height: 4; }
#neuron { height: 10; border-top: hkey $primary; }
#neuron-map { width: 20; height: 9; }
#neuron-text { width: 1fr; height: 9; padding-left: 1; }
#ensemble { height: 1fr; min-height: 3; border-top: hkey $primary; }
#ensemble:focus { border-top: heavy $accent; background: $boost; }
#train-row { height: 1; display: none; }
#train-row.-on { display: block; }
#progress { width: 40; }
#train-label { width: 1fr; }
.-narrow #tabs { display: block; }
.-narrow .pane { display: none; }
.-narrow .pane.-active { display: block; height: 1fr; }
.-narrow #neuron { layout: vertical; border-top: none; }
.-narrow #neuron-text { width: 1fr; height: 1fr; padding-left: 0; }
.-narrow #ensemble { border-top: none; }
.-narrow #ensemble:focus { border-top: heavy $accent; }
.-too-small #main, .-too-small #status, .-too-small Footer, .-too-small #train-row {
    display: none; }
.-too-small TooSmall { display: block; }
CommandPalette { background: $background; }
"""


class EnsembleScroll(VerticalScroll, can_focus=True, inherit_bindings=False):
    """The scrolling ensemble pane: ``e`` focuses it, then ↑/↓, PgUp/PgDn, home/end scroll
    it and esc (or ``e``) gives the keys back to the explorer."""

    BINDINGS = [
        Binding("up,k", "scroll_up", show=False),
        Binding("down,j", "scroll_down", show=False),
        Binding("pageup", "page_up", show=False),
        Binding("pagedown", "page_down", show=False),
        Binding("home", "scroll_home", show=False),
        Binding("end", "scroll_end", show=False),
        Binding("escape", "leave", show=False),
    ]

    def action_leave(self) -> None:
        self.app.set_focus(None)

    def on_focus(self) -> None:
        self.border_title = "↑↓ PgUp/PgDn scroll · esc"

    def on_blur(self) -> None:
        self.border_title = None
