"""``synens-tui atlas``: the parts of the picture that ensembles control, as text, JSON, PNG."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from synens.core.base.errors import SynensError

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    from synens.tui.commands.common import Subparsers

HELP = "the atlas: the parts of the picture that synapse ensembles control, with their nulls"


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``atlas`` to the subparsers and return its parser."""
    from synens.tui.commands.report import add_output_options

    p = subparsers.add_parser("atlas", help=HELP, description=HELP + ".")
    p.add_argument("model", metavar="MODEL", help="model file (.npz)")
    p.add_argument("--grid", type=int, default=3, metavar="G",
                   help="candidate boxes: a G×G grid, besides the colour segments "
                   "(1..8, default 3)")
    p.add_argument("--null-boxes", type=int, default=10, metavar="N",
                   help="random boxes in each candidate's null (1..1000, default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of the null's boxes (default 0)")
    p.add_argument("--png", metavar="OUT.png", default=None,
                   help="also write a PNG: the picture beside its parts")
    add_output_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Validate everything, compute the atlas and print or write it (and the PNG)."""
    from synens.core.files.model import load_model
    from synens.tui.commands.common import check_output
    from synens.tui.commands.report import emit, format_report

    if not 1 <= args.grid <= 8:
        raise SynensError(f"--grid must lie in 1..8, got {args.grid}")
    if not 1 <= args.null_boxes <= 1000:
        raise SynensError(f"--null-boxes must lie in 1..1000, got {args.null_boxes}")
    model = load_model(args.model)
    if args.output is not None:
        check_output(args.output, args.force)
    png = check_output(args.png, args.force) if args.png is not None else None
    import numpy as np
    from synens.core.analysis.atlas import atlas_picture, ensemble_atlas
    from synens.core.analysis.masks import segment_labels
    from synens.core.reports.atlas import atlas_report_json, atlas_report_text
    from synens.tui.commands.common import StderrProgress

    progress = StderrProgress("atlas: regions analysed")
    atlas = ensemble_atlas(model.topo, model.weights, model.image, args.grid, args.null_boxes,
                           args.seed, progress=progress)
    progress.finish()
    labels = segment_labels(model.image)
    largest = float(np.bincount(labels.ravel()).max() / labels.size)
    text = format_report(args.format, atlas_report_json, atlas_report_text,
                         atlas, model.size, model.path, largest)
    if png is not None:
        _write_png(atlas_picture(atlas, model.image), png, args.force)
    emit(text, args.output, args.force)
    return 0


def _write_png(rgb: np.ndarray, path: Path, force: bool) -> None:
    """Write uint8[H, W, 3] ``rgb`` as a PNG, atomically."""
    from PIL import Image
    from synens.tui.commands.common import write_output

    image = Image.fromarray(rgb)
    write_output(path, lambda fh: image.save(fh, format="PNG"), force)
