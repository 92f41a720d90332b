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
[b]Panes[/b]
  tab             next side pane (synapses, neuron, ensemble) below 120 columns
  e               the ensemble pane takes ↑/↓, PgUp/PgDn, home/end to scroll; e or esc
                  gives the keys back
[b]Other[/b]
  t               train / stop training         ctrl+s     save as a new model file
  ctrl+p          command palette               ?          this help
  q               quit (asks when there are unsaved edits)

Rectangles are in picture pixels, as `synens-tui report --region x0,y0,x1,y1` takes them."""


# Dialogs hide the canvas behind an opaque background: a translucent one makes Textual tint
# every cell of the photo (measured in tmux: 250-410 ms to open a dialog, against 30-40 ms).


class HelpScreen(ModalScreen[None]):
    """Every key of the explorer; ↑/↓, PgUp/PgDn, home/end scroll it, any other key closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background; }
    HelpScreen > VerticalScroll { width: 92; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1; }
    """
    SCROLL = {"up": "scroll_up", "down": "scroll_down", "pageup": "scroll_page_up",
              "pagedown": "scroll_page_down", "home": "scroll_home", "end": "scroll_end"}

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("[b]synens-tui keys[/b]  (↑/↓ PgUp/PgDn scroll; any other key "
                         "closes this)\n")
            yield Static(KEYS)

    def on_key(self, event: events.Key) -> None:
        event.stop()
        if event.key in self.SCROLL:
            getattr(self.query_one(VerticalScroll), self.SCROLL[event.key])(animate=False)
        else:
            self.dismiss(None)


class QuitScreen(ModalScreen[str]):
    """Asks before quitting with unsaved edits: 'discard' (y), 'keep' (n: autosave) or
    'cancel' (esc). The question is the one y/n answer: discard the edits?"""

    DEFAULT_CSS = """
    QuitScreen { align: center middle; background: $background; }
    QuitScreen > Vertical { width: 64; height: auto; border: thick $warning;
        background: $surface; padding: 1 2; }
    """
    BINDINGS = [
        Binding("y", "choose('discard')", "yes: discard, quit"),
        Binding("n", "choose('keep')", "no: keep, quit"),
        Binding("escape", "choose('cancel')", "don't quit"),
    ]

    def __init__(self, keep_in: str = "an autosave file") -> None:
        super().__init__()
        self.keep_in = keep_in

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "[b]Quitting with unsaved edits.[/b]\n\nDiscard the edits?\n\n"
                "  [b]y[/b]    yes: discard them and quit\n"
                f"  [b]n[/b]    no: keep them in {self.keep_in}, then quit\n"
                "  [b]esc[/b]  don't quit: stay in the explorer",
                id="question",
            )

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)


class StopTrainingScreen(ModalScreen[bool]):
    """q while a picture is first trained: stop, save what was learnt and quit (y), or go
    on training (n, esc)."""

    DEFAULT_CSS = """
    StopTrainingScreen { align: center middle; background: $background; }
    StopTrainingScreen > Vertical { width: 64; height: auto; border: thick $warning;
        background: $surface; padding: 1 2; }
    """
    BINDINGS = [
        Binding("y", "choose(True)", "yes: stop, save, quit"),
        Binding("n,escape", "choose(False)", "no: keep training"),
    ]

    def __init__(self, save_to: str) -> None:
        super().__init__()
        self.save_to = save_to

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "[b]Stop training and quit?[/b]\n\n"
                f"  [b]y[/b]      yes: stop, save what has been learnt to {self.save_to}, "
                "then quit\n"
                "  [b]n[/b], [b]esc[/b]  no: keep training",
                id="question",
            )

    def action_choose(self, choice: bool) -> None:
        self.dismiss(choice)


class GotoScreen(ModalScreen[int | None]):
    """Asks for a synapse id; enter goes there, esc cancels."""

    DEFAULT_CSS = """
    GotoScreen { align: center middle; background: $background; }
    GotoScreen > Vertical { width: 44; height: auto; border: thick $accent;
        background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "cancel")]
    AUTO_FOCUS = "#goto"

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


#: (keys, action, footer label or "" to hide it, command palette title)
KEYMAP = [
    ("question_mark", "help", "help", "Help: every key"),  # first: the footer keeps them
    ("q", "quit", "quit", "Quit"),  # at every width (it cuts from the right)
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
    ("e", "focus_ensemble", "", "Ensemble pane: focus it (↑/↓, PgUp/PgDn scroll; esc leaves)"),
    ("d", "dump", "dump", "Dump the ensemble report to a .txt file"),
    ("t", "train", "train", "Train / stop training"),
    ("ctrl+s", "save", "save", "Save the weights as a new model file"),
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
