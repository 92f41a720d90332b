"""Modal screens of the explorer: help, quit confirmation, go-to-synapse, and the too-small note."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

MIN_SIZE = (80, 24)

KEYS = """\
[b]Synapses[/b]
  ↑/↓  k/j        previous / next synapse       PgUp/PgDn  move by 10
  g               go to a synapse id            n / N      next / previous neuron
[b]Weights[/b]
  ←/→  h/l        nudge by −step / +step        shift      ×10
  [ / ]           halve / double the step       0          reset the synapse
  R               reset all weights             u / ctrl+r undo / redo
  w               sweep the weight: trained + Δ, Δ −0.8 → +0.3 (any key stops)
[b]Region[/b]
  s               region mode: arrows move the cursor (shift: 8 px), space fixes a
                  corner, enter analyses it (again after edits), esc cancels
                  (the null of random boxes follows in the background; esc stops it)
  c               follow the ensemble move: ←/→ by ¼ of its measured step, esc leaves
  C               toggle to the best-neuron move (and back) at the same position
  d               dump the region's report (synens-report/2) for the weights in use
[b]Views[/b]
  1 painting   2 original   3 difference   4 neuron activation
  5 linear change map of the synapse        6 atlas of ensemble parts
[b]Other[/b]
  t               train / stop training         ctrl+s     save as a new model file
  ctrl+p          command palette               ?          this help
  q               quit (asks when there are unsaved edits)

Rectangles are in picture pixels, as `synens-tui report --region x0,y0,x1,y1` takes them."""


# Dialogs hide the canvas behind an opaque background: a translucent one makes Textual tint
# every cell of the photo (measured in tmux: 250-410 ms to open a dialog, against 30-40 ms).


class HelpScreen(ModalScreen[None]):
    """Every key of the explorer; any key closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background; }
    HelpScreen > VerticalScroll { width: 92; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("[b]synens-tui keys[/b]  (any key closes this)\n")
            yield Static(KEYS)

    def on_key(self, event: events.Key) -> None:
        event.stop()
        self.dismiss(None)


class QuitScreen(ModalScreen[str]):
    """Asks before quitting with unsaved edits: 'discard', 'keep' (autosave) or 'cancel'."""

    DEFAULT_CSS = """
    QuitScreen { align: center middle; background: $background; }
    QuitScreen > Vertical { width: 64; height: auto; border: thick $warning;
        background: $surface; padding: 1 2; }
    """
    BINDINGS = [
        Binding("y", "choose('discard')", "yes, discard"),
        Binding("n", "choose('keep')", "no, keep them"),
        Binding("escape", "choose('cancel')", "cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "[b]You have unsaved edits.[/b]\n\nDiscard them and quit?\n\n"
                "  [b]y[/b]  yes, discard the edits and quit\n"
                "  [b]n[/b]  no: keep them in an autosave file, then quit\n"
                "  [b]esc[/b] stay in the explorer",
                id="question",
            )

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)


class GotoScreen(ModalScreen[int | None]):
    """Asks for a synapse id; enter goes there, esc cancels."""

    DEFAULT_CSS = """
    GotoScreen { align: center middle; background: $background; }
    GotoScreen > Vertical { width: 44; height: auto; border: thick $accent;
        background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, n_synapses: int) -> None:
        super().__init__()
        self.n_synapses = n_synapses

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Go to synapse (0..{self.n_synapses - 1}):")
            yield Input(placeholder="synapse id", type="integer", id="goto")
            yield Static("", id="goto-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            s = int(event.value)
        except ValueError:
            s = -1
        if 0 <= s < self.n_synapses:
            self.dismiss(s)
        else:
            self.query_one("#goto-error", Static).update(
                f"[red]no synapse {event.value!r}: give 0..{self.n_synapses - 1}[/red]"
            )

    def action_cancel(self) -> None:
        self.dismiss(None)


class TooSmall(Static):
    """Shown instead of the layout while the terminal is under 80×24."""

    DEFAULT_CSS = """
    TooSmall { width: 100%; height: 100%; content-align: center middle; text-align: center;
        background: $error 20%; display: none; }
    """

    def show_size(self, width: int, height: int) -> None:
        self.update(
            f"[b]Please enlarge the terminal[/b]\n\nsynens-tui needs at least "
            f"{MIN_SIZE[0]}×{MIN_SIZE[1]} cells; this one is {width}×{height}.\n"
            "The explorer comes back as soon as it is large enough."
        )


#: The explorer's layout (inline, so no package data is needed).
CSS = """
#main { height: 1fr; }
#canvas { width: 1fr; height: 1fr; }
#side { width: 56; height: 1fr; border-left: vkey $primary; }
#table-header { height: 1; background: $primary 30%; text-style: bold; }
#table { height: 1fr; min-height: 4; }
#neuron { height: 10; border-top: hkey $primary; }
#neuron-map { width: 20; height: 9; }
#neuron-text { width: 1fr; height: 9; padding-left: 1; }
#ensemble { height: 1fr; min-height: 3; border-top: hkey $primary; }
#train-row { height: 1; display: none; }
#train-row.-on { display: block; }
#progress { width: 40; }
#train-label { width: 1fr; }
.-too-small #main, .-too-small #status, .-too-small Footer, .-too-small #train-row {
    display: none; }
.-too-small TooSmall { display: block; }
"""

#: (keys, action, footer label or "" to hide it, command palette title)
KEYMAP = [
    ("up,k", "up(1)", "", "Previous synapse"),
    ("down,j", "down(1)", "", "Next synapse"),
    ("shift+up,K", "up(8)", "", "Region cursor up 8 px"),
    ("shift+down,J", "down(8)", "", "Region cursor down 8 px"),
    ("pageup", "up(10)", "", "Up 10 synapses"),
    ("pagedown", "down(10)", "", "Down 10 synapses"),
    ("left,h", "left(1)", "−step", "Nudge the weight by −step"),
    ("right,l", "right(1)", "+step", "Nudge the weight by +step"),
    ("shift+left,H", "left(10)", "", "Nudge the weight by −10 steps"),
    ("shift+right,L", "right(10)", "", "Nudge the weight by +10 steps"),
    ("g", "goto", "go to", "Go to a synapse id"),
    ("n", "neuron(1)", "", "Next neuron"),
    ("N", "neuron(-1)", "", "Previous neuron"),
    ("left_square_bracket", "step(0.5)", "", "Halve the nudge step"),
    ("right_square_bracket", "step(2)", "", "Double the nudge step"),
    ("0", "reset", "", "Reset the synapse to its trained weight"),
    ("R", "reset_all", "", "Reset all weights"),
    ("u", "undo", "undo", "Undo the last edit"),
    ("ctrl+r", "redo", "", "Redo"),
    ("w", "sweep", "sweep", "Sweep the weight around its trained value"),
    ("s", "region", "region", "Select a region (rectangle)"),
    ("space", "corner", "", "Region: fix a corner at the cursor"),
    ("enter", "confirm", "", "Region: analyse the rectangle"),
    ("escape", "cancel", "", "Leave region mode or the coordinated move; stop the null"),
    ("c", "coord('ensemble')", "move", "Follow the ensemble move of the region"),
    ("C", "coord('neuron')", "", "Toggle between the ensemble and the best-neuron move"),
    ("d", "dump", "dump", "Dump the ensemble report to a .txt file"),
    ("t", "train", "train", "Train / stop training"),
    ("ctrl+s", "save", "save", "Save the weights as a new model file"),
    ("question_mark", "help", "help", "Help: every key"),
    ("q", "quit", "quit", "Quit"),
    *[
        (str(i), f"view({i})", "", f"View {i}: {name}")
        for i, name in enumerate(
            (
                "painting",
                "original picture",
                "difference from trained",
                "neuron activation",
                "linear change map of the synapse",
                "atlas of ensemble parts",
            ),
            start=1,
        )
    ],
]
