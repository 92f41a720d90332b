"""``synens-tui render``: write a model's painting, activation maps, change map or sweep as PNG."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

from synens.core.base.errors import SynensError

if TYPE_CHECKING:
    from synens.tui.commands.common import Subparsers

HELP = "render a model's painting (or a neuron, a weight change, a sweep) to a PNG"
MAX_SIDE = 4096
#: Most panel pixels one figure may hold (keeps a 37-map grid or a long sweep in memory).
MAX_FIGURE_PIXELS = 100_000_000
MAX_STEPS = 64
#: Memory per panel pixel while composing a figure (float32 paintings and maps, the RGB image).
BYTES_PER_PANEL_PIXEL = 32
#: Largest |weight| a sweep or a change may reach. Trained weights stay within about ±20; tanh
#: saturates long before 1000, and float32 kernels need finite, moderate values.
MAX_WEIGHT = 1000.0


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``render`` to the subparsers and return its parser."""
    p = subparsers.add_parser(
        "render", help=HELP, description=HELP + ". Without a mode it writes the painting."
    )
    p.add_argument("model", metavar="MODEL", help="model file (.npz)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png", help="PNG to write")
    p.add_argument(
        "--width",
        type=int,
        default=None,
        help=f"width of each panel in pixels (1..{MAX_SIDE}; default: the model's "
        "picture, or kept in proportion to --height)",
    )
    p.add_argument("--height", type=int, default=None, help="height of each panel in pixels")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--neuron", type=int, metavar="K", help="neuron K's activation map in grey")
    mode.add_argument(
        "--neurons", action="store_true", help="every neuron's activation map in a labelled grid"
    )
    mode.add_argument(
        "--synapse",
        type=int,
        metavar="S",
        help="the painting with weight S changed by --delta, beside its exact change map",
    )
    mode.add_argument(
        "--sweep",
        metavar="S:FROM:TO:STEPS",
        help="a strip of paintings while weight S moves from FROM to TO "
        "(absolute values) in STEPS frames, each with its RMSE",
    )
    p.add_argument(
        "--delta",
        type=float,
        default=None,
        metavar="D",
        help="the change of weight S (with --synapse)",
    )
    return p


def panel_size(
    model_size: tuple[int, int], width: int | None, height: int | None
) -> tuple[int, int]:
    """(W, H) of a panel: given sides, the other kept in proportion, or the model's size."""
    mw, mh = model_size
    for name, value in (("--width", width), ("--height", height)):
        if value is not None and not 1 <= value <= MAX_SIDE:
            raise SynensError(f"{name} must lie in 1..{MAX_SIDE}, got {value}")
    if width is None and height is None:
        return mw, mh
    if height is None:
        return width, max(1, min(MAX_SIDE, round(width * mh / mw)))
    if width is None:
        return max(1, min(MAX_SIDE, round(height * mw / mh))), height
    return width, height


def parse_sweep(text: str, n_synapses: int) -> tuple[int, float, float, int]:
    """'S:FROM:TO:STEPS' -> (s, start, stop, steps); one-line SynensError when malformed."""
    parts = text.split(":")
    try:
        if len(parts) != 4:
            raise ValueError
        s, start, stop, steps = int(parts[0]), float(parts[1]), float(parts[2]), int(parts[3])
    except ValueError:
        raise SynensError(
            f"--sweep must be S:FROM:TO:STEPS (e.g. 0:-0.8:0.3:8), got {text!r}"
        ) from None
    check_synapse(s, n_synapses)
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise SynensError("--sweep values FROM and TO must be finite numbers")
    if max(abs(start), abs(stop)) > MAX_WEIGHT:
        raise SynensError(f"--sweep values FROM and TO must lie in -{MAX_WEIGHT:g}..{MAX_WEIGHT:g}")
    if not 1 <= steps <= MAX_STEPS:
        raise SynensError(f"--sweep STEPS must lie in 1..{MAX_STEPS}, got {steps}")
    return s, start, stop, steps


def check_synapse(s: int, n_synapses: int) -> None:
    if not 0 <= s < n_synapses:
        raise SynensError(
            f"synapse {s} is out of range: this model has synapses 0..{n_synapses - 1}"
        )


def _check_pixels(w: int, h: int, panels: int) -> None:
    from synens.core.base.memory import check_memory

    if w * h * panels > MAX_FIGURE_PIXELS:
        raise SynensError(
            f"{panels} panels of {w}×{h} pixels are too many pixels for one "
            f"figure (limit {MAX_FIGURE_PIXELS:,}); give a smaller --width"
        )
    check_memory(f"a figure of {panels} panel(s) of {w}×{h} pixels",
                 w * h * panels * BYTES_PER_PANEL_PIXEL)


def run(args: argparse.Namespace) -> int:
    """Validate everything, then compose the figure and write it atomically."""
    from synens.core.files.model import load_model
    from synens.tui.commands.common import check_output, note_moved

    if args.delta is not None and args.synapse is None:
        raise SynensError("--delta goes with --synapse S")
    if args.synapse is not None and args.delta is None:
        raise SynensError("--synapse needs --delta D (the change of the weight)")
    if args.delta is not None and not (math.isfinite(args.delta)
                                       and abs(args.delta) <= MAX_WEIGHT):
        raise SynensError(f"--delta must be a number in -{MAX_WEIGHT:g}..{MAX_WEIGHT:g}")
    model = load_model(args.model)
    out = check_output(args.output, args.force)
    topo = model.topo
    w, h = panel_size(model.size, args.width, args.height)
    from synens.core.reports import figures as F

    _check_pixels(w, h, 1)
    if args.neuron is not None:
        if not 0 <= args.neuron < topo.n_neurons:
            raise SynensError(
                f"neuron {args.neuron} is out of range: this model has neurons "
                f"0..{topo.n_neurons - 1}"
            )
        fig, what = F.neuron_figure(model, args.neuron, w, h), f"neuron {args.neuron}"
    elif args.neurons:
        _check_pixels(w, h, topo.n_neurons)
        fig, what = F.neurons_figure(model, w, h), f"{topo.n_neurons} activation maps"
    elif args.synapse is not None:
        check_synapse(args.synapse, topo.n_synapses)
        _check_pixels(w, h, 4)
        fig = F.synapse_figure(model, args.synapse, args.delta, w, h)
        what = f"synapse {args.synapse} changed by {args.delta:+g}"
    elif args.sweep is not None:
        s, start, stop, steps = parse_sweep(args.sweep, topo.n_synapses)
        _check_pixels(w, h, steps)
        fig = F.sweep_figure(model, s, F.sweep_values(start, stop, steps), w, h)
        what = f"sweep of synapse {s} in {steps} frames"
    else:
        fig, what = F.painting_figure(model, w, h), "painting"
    written = F.save_png(fig.image, out, replace=args.force, unique=not args.force)
    note_moved(out, written)
    out = written
    print(f"wrote {out} ({what}, {fig.image.width}×{fig.image.height} pixels)")
    return 0
