"""``synens-tui basis``: neurons vs random directions vs neuron inputs vs synapse ensembles."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synens.tui.commands.common import Subparsers

HELP = ("the basis test: which perturbation controls a region — a neuron, a random direction, "
        "one neuron's inputs or a synapse ensemble")


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``basis`` to the subparsers and return its parser."""
    from synens.tui.commands.report import add_output_options

    p = subparsers.add_parser("basis", help=HELP, description=HELP + ".")
    p.add_argument("model", metavar="MODEL", help="model file (.npz)")
    p.add_argument("--layer", type=int, default=None, metavar="L",
                   help="hidden layer (1 = nearest the inputs; default: the last hidden layer)")
    p.add_argument("--region", action="append", default=[], metavar="x0,y0,x1,y1",
                   help="a semantic region of your own, besides the colour segments (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random step (default 0)")
    add_output_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Validate everything, run the test and print or write the report."""
    from synens.core.analysis.basis import LayerError, hidden_layers
    from synens.core.analysis.changemap import parse_region
    from synens.core.analysis.masks import rect_mask
    from synens.core.files.model import load_model
    from synens.tui.commands.common import StderrProgress, check_output
    from synens.tui.commands.report import emit, format_report

    model = load_model(args.model)
    w, h = model.size
    regions = [(f"rectangle {r}", rect_mask(parse_region(r, w, h), w, h)) for r in args.region]
    n_layers = len(hidden_layers(model.topo))
    if args.layer is not None and not 1 <= args.layer <= n_layers:
        raise LayerError(f"layer {args.layer} does not exist: the network has hidden layers "
                         f"1..{n_layers}")
    if args.output is not None:
        check_output(args.output, args.force)
    from synens.core.analysis.basis import basis_test
    from synens.core.reports.basis import basis_report_json, basis_report_text

    progress = StderrProgress("basis test: regions analysed")
    res = basis_test(model.topo, model.weights, model.image, args.layer, regions, args.seed,
                     progress=progress)
    progress.finish()
    text = format_report(args.format, basis_report_json, basis_report_text,
                         res, model.size, model.path)
    emit(text, args.output, args.force)
    return 0
