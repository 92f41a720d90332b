"""``synens-tui render``: write a model's painting, activation maps, change map or sweep as PNG."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

from synens.core.base.errors import SynensError

if TYPE_CHECKING:
    import numpy as np
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
        metavar="S[:FROM:TO:STEPS]",
        help="a strip of paintings while weight S moves around its trained value: "
        "w_trained + Δ, Δ from FROM to TO in STEPS frames (default -0.8:0.3:8, the article's "
        "span); Δ = 0 is always a frame; each frame shows Δ, the weight and the RMSE",
    )
    mode.add_argument(
        "--moves",
        action="store_true",
        help="with --region, --mask or --segment: the painting, then the ensemble's, the best "
        "neuron's and the best synapse's moves of that region, each beside its |change| map",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--region", metavar="x0,y0,x1,y1", help="with --moves: a rectangle")
    where.add_argument("--mask", metavar="FILE.png", help="with --moves: a black/white mask")
    where.add_argument("--segment", type=int, metavar="K", help="with --moves: colour segment K")
    p.add_argument(
        "--absolute",
        action="store_true",
        help="with --sweep: FROM and TO are the weight's values, not changes of it",
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


#: The article's span of a sweep around the trained weight, and its frame count.
SWEEP_DEFAULT = (-0.8, 0.3, 8)


def parse_sweep(text: str, n_synapses: int) -> tuple[int, float, float, int]:
    """'S' or 'S:FROM:TO:STEPS' -> (s, start, stop, steps); one-line SynensError when malformed."""
    parts = text.split(":")
    try:
        if len(parts) == 1:
            s, (start, stop, steps) = int(parts[0]), SWEEP_DEFAULT
        elif len(parts) == 4:
            s, start, stop, steps = int(parts[0]), float(parts[1]), float(parts[2]), int(parts[3])
        else:
            raise ValueError
    except ValueError:
        raise SynensError(
            f"--sweep must be S or S:FROM:TO:STEPS (e.g. 0:-0.8:0.3:8), got {text!r}"
        ) from None
    check_synapse(s, n_synapses)
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise SynensError("--sweep values FROM and TO must be finite numbers")
    if max(abs(start), abs(stop)) > MAX_WEIGHT:
        raise SynensError(f"--sweep values FROM and TO must lie in -{MAX_WEIGHT:g}..{MAX_WEIGHT:g}")
    if not 1 <= steps <= MAX_STEPS:
        raise SynensError(f"--sweep STEPS must lie in 1..{MAX_STEPS}, got {steps}")
    return s, start, stop, steps


def sweep_weights(trained: float, start: float, stop: float, steps: int,
                  absolute: bool) -> np.ndarray:
    """The weight of each frame: float64[n]. Relative: trained + Δ with Δ = 0 one of the frames."""
    from synens.core.reports.figures import sweep_deltas, sweep_values

    if absolute:
        return sweep_values(start, stop, steps)
    values = trained + sweep_deltas(start, stop, steps)
    if max(abs(float(values.min())), abs(float(values.max()))) > MAX_WEIGHT:
        raise SynensError(
            f"--sweep would take the weight (trained {trained:+.4g}) beyond "
            f"-{MAX_WEIGHT:g}..{MAX_WEIGHT:g}"
        )
    return values


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

    has_region = any(getattr(args, k) is not None for k in ("region", "mask", "segment"))
    if args.moves != has_region:
        raise SynensError("--moves needs a region (--region, --mask or --segment), and a "
                          "region goes with --moves")
    if args.absolute and args.sweep is None:
        raise SynensError("--absolute goes with --sweep")
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
        values = sweep_weights(float(model.weights[s]), start, stop, steps, args.absolute)
        _check_pixels(w, h, values.size)
        fig = F.sweep_figure(model, s, values, w, h)
        for f in fig.frames or []:
            print(f"  Δ {f['delta']:+.4f}  w {f['weight']:+.4f}  RMSE {f['rmse']:.4f}")
        what = f"sweep of synapse {s} in {values.size} frames"
    elif args.moves:
        from synens.core.analysis.control import region_control
        from synens.core.reports.moves_figure import moves_figure
        from synens.tui.commands.report import region_mask

        _check_pixels(w, h, 8)
        mask, name = region_mask(args, model)
        fig = moves_figure(model, region_control(model.topo, model.weights, mask), w, h)
        what = f"moves of {name}"
    else:
        fig, what = F.painting_figure(model, w, h), "painting"
    written = F.save_png(fig.image, out, replace=args.force, unique=not args.force)
    note_moved(out, written)
    out = written
    print(f"wrote {out} ({what}, {fig.image.width}×{fig.image.height} pixels)")
    return 0
