"""``synens-tui report``: the ensemble that controls a picture region, text or JSON (report/2)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from synens.core.base.errors import SynensError

if TYPE_CHECKING:
    from synens.tui.commands.common import Subparsers

HELP = ("the synapse ensemble that controls a picture region: ceiling, curve, baselines, "
        "null and pairs")


def add_output_options(p: argparse.ArgumentParser) -> None:
    """-o/--output, --format and --force, shared by report, atlas and basis."""
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="write the report to FILE (atomically) instead of stdout")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text for people (default) or JSON for tools")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``report`` to the subparsers and return its parser."""
    p = subparsers.add_parser(
        "report", help=HELP,
        description=HELP + ". The ensemble is the support of the sparse move that controls "
        "the region, every figure measured by re-rendering (synens-report/2).")
    p.add_argument("model", metavar="MODEL", help="model file (.npz)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--region", metavar="x0,y0,x1,y1",
                       help="half-open pixel rectangle: columns x0..x1-1, rows y0..y1-1")
    where.add_argument("--mask", metavar="FILE.png",
                       help="black/white picture of any size (white = inside), resampled to "
                       "the training resolution")
    where.add_argument("--segment", type=int, metavar="K",
                       help="colour segment K (see 'synens-tui segments MODEL')")
    p.add_argument("--null-boxes", type=int, default=20, metavar="N",
                   help="random boxes of the region's size for the null (default 20; 0: skip)")
    p.add_argument("--seed", type=int, default=0, help="seed of the null's boxes (default 0)")
    p.add_argument("--top", type=int, default=10, metavar="N",
                   help="kept for compatibility: list at most N pairs (default 10)")
    add_output_options(p)
    return p


def check_top(top: int) -> int:
    if not 1 <= top <= 100_000:
        raise SynensError(f"--top must lie in 1..100000, got {top}")
    return top


def format_report(
    fmt: str, to_json: Callable[..., dict], to_text: Callable[..., str], *data: object
) -> str:
    """``to_text(*data)``, or with ``fmt`` "json" ``to_json(*data)`` dumped as JSON."""
    from synens.core.reports.table import dumps

    return dumps(to_json(*data)) if fmt == "json" else to_text(*data)


def emit(text: str, output: str | None, force: bool) -> None:
    """Print text, or write it to ``output`` atomically (refusing to overwrite without force)."""
    if output is None:
        print(text, end="")
        return
    from synens.tui.commands.common import check_output, write_output

    write_output(check_output(output, force), lambda fh: fh.write(text.encode("utf-8")), force)


def region_mask(args: argparse.Namespace, model: object) -> tuple[object, str]:
    """The region of --region, --mask or --segment as bool[H, W], and its name."""
    from synens.core.analysis.changemap import parse_region
    from synens.core.analysis.masks import load_mask, rect_mask, segment_mask

    w, h = model.size
    if args.region is not None:
        region = parse_region(args.region, w, h)
        return rect_mask(region, w, h), "rectangle " + ",".join(str(v) for v in region)
    if args.mask is not None:
        return load_mask(args.mask, w, h), f"mask {args.mask}"
    return segment_mask(model.image, args.segment), f"colour segment {args.segment}"


def run(args: argparse.Namespace) -> int:
    """Validate everything, analyse the region and print or write the report."""
    from synens.core.files.model import load_model
    from synens.tui.commands.common import StderrProgress, check_output

    check_top(args.top)
    if not 0 <= args.null_boxes <= 10_000:
        raise SynensError(f"--null-boxes must lie in 0..10000, got {args.null_boxes}")
    model = load_model(args.model)
    mask, name = region_mask(args, model)
    if args.output is not None:
        check_output(args.output, args.force)
    from synens.core.analysis.control import region_control
    from synens.core.analysis.null import null_possible, region_null
    from synens.core.reports.control import control_json
    from synens.core.reports.control_text import control_text

    control = region_control(model.topo, model.weights, mask)
    control.pairs = control.pairs[:args.top]
    run_null = args.null_boxes and null_possible(mask)
    progress = StderrProgress("null: random boxes analysed")  # shown after 2 s
    null = region_null(control, args.null_boxes, args.seed, progress) if run_null else None
    progress.finish()
    text = format_report(args.format, control_json, control_text, control, null, model.path,
                         name)
    emit(text, args.output, args.force)
    return 0
