"""``synens-tui study``: train and analyse many (picture, seed) tasks on Dask, then report.

``study PICTURE ... --seeds N ... -o STUDY_DIR`` runs the missing tasks (an embedded
LocalCluster by default, ``--scheduler`` for an existing one); ``study STUDY_DIR --report``
prints the synens-study/1 report of the tasks finished so far.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from synens.core.base.errors import SynensError

if TYPE_CHECKING:
    from synens.tui.commands.common import Subparsers

HELP = "run a study across seeds and pictures on Dask, or report on one"
#: Exit code when some tasks failed (bad input is 2).
EXIT_FAILED_TASKS = 1


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``study`` to the subparsers and return its parser."""
    p = subparsers.add_parser(
        "study", help=HELP,
        description=HELP + ". Each (picture, seed) is one task: train, then analyse every "
        "region (the region report, synens-report/2). Re-running the same command runs only the "
        "missing tasks. Results come back to this client, which writes them into STUDY_DIR.")
    p.add_argument("inputs", nargs="+", metavar="PICTURE|STUDY_DIR",
                   help="pictures to study, or with --report the study folder")
    p.add_argument("-o", "--output", metavar="STUDY_DIR",
                   help="the study folder (created); with --report, the report file (written "
                   "atomically instead of printed)")
    p.add_argument("--seeds", type=int, default=None, metavar="N", help="seeds 0..N-1")
    p.add_argument("--size", type=int, default=128,
                   help="longer side of the training picture in pixels (default 128)")
    stop = p.add_argument_group("training (reproducible stop rules only)")
    stop.add_argument("--epochs", type=int, default=None, help="number of epochs")
    stop.add_argument("--target-rmse", type=float, default=None, help="stop at this RMSE")
    stop.add_argument("--seconds", type=float, default=None, help=argparse.SUPPRESS)
    stop.add_argument("--hidden", default=None, metavar="N,N,...",
                      help="hidden layer sizes (default 9,5,10,10)")
    stop.add_argument("--skip", type=int, default=None, help="skip depth (default 2)")
    reg = p.add_argument_group("regions (in picture coordinates; combine freely)")
    reg.add_argument("--region", action="append", default=[], metavar="x0,y0,x1,y1[@WxH]",
                     help="a box as fractions of width and height (0..1), or in pixels of a "
                     "stated W×H resolution; half-open")
    reg.add_argument("--regions", metavar="FILE.json",
                     help='a JSON list of {"box": [..], "resolution": [W, H]?} or '
                     '{"segment": RANK}, each with an optional "name"')
    reg.add_argument("--segments", type=int, default=0, metavar="K",
                     help="the K largest colour segments of each picture")
    p.add_argument("--null-boxes", type=int, default=20, help="random boxes of the null (20)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing Dask scheduler, like tcp://HOST:8786")
    p.add_argument("--workers", type=int, default=None,
                   help="embedded cluster: worker processes (default: one per core)")
    p.add_argument("--report", action="store_true", help="report on STUDY_DIR")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="report format (default text)")
    p.add_argument("--png", metavar="OUT.png", help="with --report: write the figure")
    p.add_argument("--force", action="store_true",
                   help="with --report: overwrite an existing -o report or --png file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def make_config(args: argparse.Namespace) -> dict:
    """The study config from the arguments (every refusal is one line)."""
    from synens.core.base.topology import DEFAULT_HIDDEN, DEFAULT_SKIP, TopologyError, layered
    from synens.core.files.picture import MAX_SIZE, MIN_SIZE
    from synens.tui.commands.study_spec import (
        CONFIG_FORMAT,
        NULL_SEED,
        file_sha256,
        load_regions,
        name_regions,
        parse_box,
    )
    from synens.tui.commands.train import parse_hidden

    if args.seconds is not None:
        raise SynensError("--seconds is refused: a time budget is not reproducible; "
                          "use --epochs or --target-rmse")
    if args.seeds is None or args.seeds < 1:
        raise SynensError(f"--seeds must be at least 1, got {args.seeds}")
    if args.epochs is None and args.target_rmse is None:
        raise SynensError("give a reproducible stop rule: --epochs or --target-rmse")
    if args.epochs is not None and args.epochs < 1:
        raise SynensError("--epochs must be at least 1")
    if args.target_rmse is not None and not (math.isfinite(args.target_rmse)
                                             and 0 < args.target_rmse < 2):
        raise SynensError("--target-rmse must lie in (0, 2)")
    if not MIN_SIZE <= args.size <= MAX_SIZE:
        raise SynensError(f"--size must lie in {MIN_SIZE}..{MAX_SIZE}, got {args.size}")
    if not 1 <= args.null_boxes <= 1000:
        raise SynensError(f"--null-boxes must lie in 1..1000, got {args.null_boxes}")
    if args.segments < 0:
        raise SynensError("--segments must be 0 or more")
    if args.output is None:
        raise SynensError("study needs -o STUDY_DIR")
    hidden = parse_hidden(args.hidden) if args.hidden is not None else DEFAULT_HIDDEN
    skip = DEFAULT_SKIP if args.skip is None else args.skip
    try:
        layered(hidden, skip)
    except TopologyError as err:
        raise SynensError(str(err)) from None
    regions = [parse_box(text) for text in args.region]
    if args.regions:
        regions += load_regions(args.regions)
    regions += [{"kind": "segment", "rank": i} for i in range(args.segments)]
    if not regions:
        raise SynensError("give at least one region: --region, --regions or --segments")
    pictures = [{"name": Path(p).name, "sha256": file_sha256(p)} for p in args.inputs]
    if len({p["name"] for p in pictures}) != len(pictures):
        raise SynensError("two pictures share a file name; rename one")
    for r in regions:
        if r.get("picture") not in (None, *(p["name"] for p in pictures)):
            raise SynensError(f"a region names picture {r['picture']!r}, which is not studied")
    return {"format": CONFIG_FORMAT, "pictures": pictures, "seeds": args.seeds,
            "size": args.size,
            "train": {"epochs": args.epochs, "target_rmse": args.target_rmse,
                      "hidden": list(hidden), "skip": skip, "batch": 64, "lr": 0.01, "l2": 0.0},
            "regions": name_regions(regions), "null_boxes": args.null_boxes,
            "null_seed": NULL_SEED}


def prepare_folder(study_dir: Path, config: dict) -> None:
    """Create the study folder, or check that it holds this very study (never mix two)."""
    from synens.core.files.atomic import create_new
    from synens.tui.commands.study_collect import read_config
    from synens.tui.commands.study_spec import CONFIG_NAME, differences

    if study_dir.exists() and not study_dir.is_dir():
        raise SynensError(f"{study_dir} exists and is not a folder")
    if (study_dir / CONFIG_NAME).exists():
        old = read_config(study_dir)
        diff = differences(old, config)
        if diff:
            raise SynensError(f"{study_dir} holds another study (its config differs in: "
                              f"{', '.join(diff)}); use a new folder")
        return
    if study_dir.exists() and any(study_dir.iterdir()):
        raise SynensError(f"{study_dir} is not empty and holds no study; use a new folder")
    study_dir.mkdir(parents=True, exist_ok=True)
    create_new(study_dir / CONFIG_NAME, json.dumps(config, indent=1, sort_keys=True) + "\n")


def run(args: argparse.Namespace) -> int:
    """Run the missing tasks of a study, or report on one."""
    from synens.tui.commands.study_run import require_dask

    require_dask()
    if args.report:
        return _report(args)
    if args.png:
        raise SynensError("--png goes with --report")
    if args.workers is not None and not 1 <= args.workers <= 1024:
        raise SynensError(f"--workers must lie in 1..1024, got {args.workers}")
    if args.workers is not None and args.scheduler:
        raise SynensError("--workers is for the embedded cluster; drop it with --scheduler")
    config = make_config(args)
    study_dir = Path(args.output)
    pictures = {Path(p).name: Path(p).read_bytes() for p in args.inputs}
    return _run(args, config, study_dir, pictures)


def _run(args: argparse.Namespace, config: dict, study_dir: Path,
         pictures: dict[str, bytes]) -> int:
    from synens.core.files.atomic import write_text_atomic
    from synens.core.reports.table import dumps
    from synens.tui.commands.study_collect import build_report, task_specs
    from synens.tui.commands.study_run import Outcome, default_workers, is_done

    prepare_folder(study_dir, config)
    specs = task_specs(config)
    workers = args.workers or default_workers()
    if all(is_done(study_dir, s["key"]) for s in specs):
        out = Outcome(total=len(specs), skipped=len(specs))
    else:
        out = _dispatch(args, specs, pictures, study_dir, workers)
    report = build_report(study_dir)
    write_text_atomic(study_dir / "report.json", dumps(report))
    per = f", {out.seconds / out.ran:.2f} s per task" if out.ran else ""
    print(f"study: ran {out.ran} tasks, skipped {out.skipped} already done, "
          f"{len(out.failed)} failed, in {out.seconds:.1f} s{per}; report {study_dir}/report.json")
    for line in out.failed:
        print(line)
    return EXIT_FAILED_TASKS if out.failed else 0


def _dispatch(args: argparse.Namespace, specs: list[dict], pictures: dict[str, bytes],
              study_dir: Path, workers: int):
    """Start (or reach) the cluster, run the missing tasks, stop (or leave) the cluster."""
    from synens.tui.commands.study_run import dashboard_link, open_client, run_tasks

    with open_client(args.scheduler, workers) as client:
        link = dashboard_link(client)
        where = args.scheduler or f"embedded cluster, {workers} single-threaded workers"
        print(f"study: {len(specs)} tasks on {where}"
              + (f"; dashboard {link}" if link else ""), flush=True)
        return run_tasks(client, specs, pictures, study_dir, args.quiet)


def _report(args: argparse.Namespace) -> int:
    from synens.tui.commands.report import emit, format_report
    from synens.tui.commands.study_collect import build_report

    if len(args.inputs) != 1:
        raise SynensError("--report takes one STUDY_DIR")
    study_dir = Path(args.inputs[0])
    from synens.tui.commands.common import check_output

    for path in (args.output, args.png):
        if path is not None:
            check_output(path, args.force)
    report = build_report(study_dir)
    from synens.core.reports.study import study_text

    emit(format_report(args.format, lambda r: r, study_text, report), args.output, args.force)
    if args.png:
        from synens.tui.commands.study_figure import write_figure

        write_figure(study_dir, report, args.png)
    return 0
