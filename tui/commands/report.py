"""``synens-tui report``: the ensemble of a picture region, as text or JSON (synens-report/1)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from synens.core.base.errors import SynensError

if TYPE_CHECKING:
    from synens.tui.commands.common import Subparsers

HELP = "the synapse ensemble of a picture region: members, opposing pairs, coordinated moves"


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
        description=HELP + ". A member's 'in'/'out' is the RMS of its linear change map "
        "inside/outside the region at the training resolution; see the report's rule line.")
    p.add_argument("model", metavar="MODEL", help="model file (.npz)")
    p.add_argument("--region", required=True, metavar="x0,y0,x1,y1",
                   help="half-open pixel rectangle: columns x0..x1-1, rows y0..y1-1")
    p.add_argument("--top", type=int, default=10, metavar="N",
                   help="list at most N opposing pairs and N components per move (default 10)")
    p.add_argument("--share", type=float, default=None, metavar="F",
                   help="membership threshold: in >= F x the largest in (default 0.2)")
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


def run(args: argparse.Namespace) -> int:
    """Validate everything, analyse the region and print or write the report."""
    from synens.core.analysis.changemap import parse_region
    from synens.core.files.model import load_model
    from synens.tui.commands.common import check_output

    check_top(args.top)
    model = load_model(args.model)
    w, h = model.size
    region = parse_region(args.region, w, h)
    if args.output is not None:
        check_output(args.output, args.force)
    from synens.core.analysis.ensemble import RegionRule
    from synens.core.analysis.region import region_ensemble
    from synens.core.reports.region import region_report_json, region_report_text

    rule = RegionRule() if args.share is None else RegionRule(share=args.share)
    ens = region_ensemble(model.topo, model.weights, model.image, region, rule)
    text = format_report(args.format, region_report_json, region_report_text,
                         ens, model.path, args.top)
    emit(text, args.output, args.force)
    return 0
