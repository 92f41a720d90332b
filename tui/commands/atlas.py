"""``synens-tui atlas``: the ensemble atlas (NMF parts of the change maps) as text, JSON, PNG."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from synens.core.base.errors import SynensError

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    from synens.tui.commands.common import Subparsers

HELP = "the ensemble atlas: NMF parts of the change maps and neuron participation"


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``atlas`` to the subparsers and return its parser."""
    from synens.tui.commands.report import add_output_options

    p = subparsers.add_parser("atlas", help=HELP, description=HELP + ".")
    p.add_argument("model", metavar="MODEL", help="model file (.npz)")
    p.add_argument("-k", type=int, default=None, metavar="K",
                   help="number of parts (1..number of synapses; default: the SVD-energy rule)")
    p.add_argument("--seed", type=int, default=0, help="NMF seed (default 0)")
    p.add_argument("--png", metavar="OUT.png", default=None,
                   help="also write a PNG: the picture beside each part's map")
    add_output_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Validate everything, compute the atlas and print or write it (and the PNG)."""
    from synens.core.files.model import load_model
    from synens.tui.commands.common import check_output
    from synens.tui.commands.report import emit, format_report

    model = load_model(args.model)
    n = model.topo.n_synapses
    if args.k is not None and not 1 <= args.k <= n:
        raise SynensError(f"K must lie in 1..{n} (the number of synapses), got {args.k}")
    if args.output is not None:
        check_output(args.output, args.force)
    png = check_output(args.png, args.force) if args.png is not None else None
    from synens.core.analysis.atlas import atlas_bytes, atlas_picture, ensemble_atlas
    from synens.core.base.memory import check_memory
    from synens.core.reports.atlas import atlas_report_json, atlas_report_text

    check_memory(f"the atlas of {n} synapses with K = {args.k or 'the rule'}",
                 atlas_bytes(n, *model.size, args.k))
    progress = StderrProgress("atlas: NMF sweep")
    atlas = ensemble_atlas(model.topo, model.weights, model.image, args.k, args.seed,
                           progress=progress)
    progress.finish()
    text = format_report(args.format, atlas_report_json, atlas_report_text,
                         atlas, model.topo, model.size, model.path)
    if png is not None:
        _write_png(atlas_picture(atlas, model.image), png, args.force)
    emit(text, args.output, args.force)
    return 0


class StderrProgress:
    """A progress callback ``(done, total)``: once ``after`` seconds have passed it shows
    ``label done/total (N s)`` on one stderr line, rewritten in place at most 5 times a
    second; ``finish()`` ends that line."""

    def __init__(self, label: str, after: float = 2.0) -> None:
        self.label, self.after = label, after
        self.start = time.monotonic()
        self.shown = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.start < self.after or now - self.shown < 0.2:
            return
        self.shown = now
        print(f"\r{self.label} {done}/{total} ({now - self.start:.0f} s)", end="",
              file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self.shown:
            print(file=sys.stderr, flush=True)


def _write_png(rgb: np.ndarray, path: Path, force: bool) -> None:
    """Write uint8[H, W, 3] ``rgb`` as a PNG, atomically."""
    from PIL import Image
    from synens.tui.commands.common import write_output

    image = Image.fromarray(rgb)
    write_output(path, lambda fh: image.save(fh, format="PNG"), force)
