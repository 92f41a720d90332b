"""Launching the explorer: its command-line options, the default model, MODEL or PICTURE."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from synens.core.base.errors import SynensError

if TYPE_CHECKING:
    from synens.core.files.model import Model

    from .app import ExplorerApp

DEFAULT_MODEL = "default.npz"
TRAIN_SECONDS = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the explorer's options to ``parser`` and return it."""
    parser.add_argument(
        "target",
        nargs="?",
        metavar="MODEL|PICTURE",
        help="a model file (.npz) to explore, or a picture to train a new "
        "network on inside the app (default: the shipped model)",
    )
    parser.add_argument(
        "--colors",
        choices=("truecolor", "256"),
        default=None,
        help="force the colour mode (also SYNENS_COLORS; default: truecolor when COLORTERM, "
        "TERM=*-direct, tmux or the terminal itself says so, else 256 colours, dithered)",
    )
    parser.add_argument(
        "--precompile",
        action="store_true",
        help="compile every Numba kernel into the cache (NUMBA_CACHE_DIR, default beside the "
        "package) and exit, with progress on stderr: for image builders and CI",
    )
    parser.add_argument(
        "--report-dir",
        default=".",
        metavar="DIR",
        help="folder for reports written with d (default: current folder)",
    )
    parser.add_argument(
        "--save-dir",
        default=".",
        metavar="DIR",
        help="folder for saved, autosaved and newly trained models (default: .)",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=128,
        help="PICTURE: longer side of the training picture (default 128)",
    )
    parser.add_argument("--seed", type=int, default=0, help="PICTURE: random seed (default 0)")
    parser.add_argument(
        "--seconds",
        type=float,
        default=TRAIN_SECONDS,
        help=f"PICTURE: training time in seconds (default {TRAIN_SECONDS:g})",
    )
    parser.add_argument(
        "--sweep",
        default="-0.8,0.3",
        metavar="FROM,TO",
        help="the w sweep shows trained + Δ for Δ from FROM to TO, written --sweep=FROM,TO "
        "(default -0.8,0.3, the article's span; Δ = 0 is always a frame)",
    )
    return parser


def parse_sweep(text: str) -> tuple[float, float]:
    """'-0.8,0.3' -> (-0.8, 0.3), the Δ range around the trained weight; one-line
    SynensError when malformed or outside ±MAX_WEIGHT."""
    from .session import MAX_WEIGHT

    try:
        lo, hi = (float(v) for v in str(text).split(","))
    except ValueError:
        raise SynensError(f"--sweep must be two numbers FROM,TO, got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
        raise SynensError(f"--sweep needs two different finite numbers, got {text!r}")
    if max(abs(lo), abs(hi)) > MAX_WEIGHT:
        raise SynensError(f"--sweep values FROM and TO must lie in "
                          f"-{MAX_WEIGHT:g}..{MAX_WEIGHT:g}, got {text!r}")
    return lo, hi


def default_model_path() -> Path:
    """The shipped default model (assets/default.npz)."""
    return Path(str(resources.files("synens.assets") / DEFAULT_MODEL))


def is_model_file(path: Path) -> bool:
    """True for .npz files and anything that starts like a zip archive."""
    if path.suffix.lower() == ".npz":
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"PK"
    except OSError:
        return False


def open_target(args: argparse.Namespace) -> tuple[Model, Path | None]:
    """(model, train_to): the Model to show, and where to save it after a PICTURE launch.

    ``args`` holds every option of ``add_arguments``.
    """
    from synens.core.base.topology import layered
    from synens.core.files.model import Model, load_model, make_meta
    from synens.core.files.picture import load_picture
    from synens.core.network.train import init_weights

    from .workers import unique_path

    if args.target is None:
        path = default_model_path()
        if not path.exists():
            raise SynensError(
                f"the shipped default model is missing ({path}); give a MODEL.npz or a PICTURE"
            )
        return load_model(path), None
    path = Path(args.target)
    if is_model_file(path):
        return load_model(path), None
    if args.seed < 0:
        raise SynensError("--seed must be 0 or more")
    image = load_picture(path, args.size)
    topo = layered()
    meta = make_meta(topo, seed=args.seed, picture=path.name)
    model = Model(topo, init_weights(topo, args.seed), np.ascontiguousarray(image), meta, path=None)
    return model, unique_path(Path(args.save_dir or "."), path.stem, ".npz")


def check_folder(folder: str, what: str) -> str:
    """``folder`` if it is an existing folder; SynensError naming the option ``what`` if not."""
    if not Path(folder).is_dir():
        raise SynensError(f"{what} {folder} is not an existing folder")
    return folder


def run(args: argparse.Namespace, app_class: type[ExplorerApp]) -> int:
    """Build and run the app for ``args`` (every option of ``add_arguments``); print where
    unsaved edits were kept, if they were."""
    from .termcaps import detect_colour_mode
    from .warmup import Warmup, precompile, stages, wait_for

    if getattr(args, "precompile", False):
        return precompile()
    report_dir = check_folder(args.report_dir or ".", "--report-dir")
    save_dir = check_folder(args.save_dir or ".", "--save-dir")
    sweep = parse_sweep(args.sweep)
    seconds = args.seconds
    if not (math.isfinite(seconds) and seconds > 0):
        raise SynensError("--seconds must be a positive number")
    model, train_to = open_target(args)
    # Colour hook (issue 8): --colors, SYNENS_COLORS, COLORTERM, TERM, tmux, then the terminal's
    # own answers (DECRQSS / XTGETTCAP, at most 100 ms); the reason is for the status bar.
    mode, colour_reason = detect_colour_mode(args.colors)
    # First run (issue 8): kernels compile in a thread, most-needed first; the painting's
    # stage is awaited here with a progress line, the others once the app has painted.
    warmup = Warmup(stages=stages(mode)).start()
    wait_for(warmup, "paint")
    app = app_class(
        model,
        color_mode=mode,
        color_reason=colour_reason,
        report_dir=report_dir,
        save_dir=save_dir,
        train_to=train_to,
        train_seconds=seconds,
        seed=args.seed,
        sweep=sweep,
        warmup=warmup,
    )
    message = app.run()
    crash = getattr(app, "crash_note", None)
    if crash:  # an unhandled error: Textual has shown it; say where the edits went
        with contextlib.suppress(OSError):
            print(f"synens-tui: {crash}", file=sys.stderr, flush=True)
        return 1
    if message:
        with contextlib.suppress(OSError):  # after a hang-up the terminal may be gone
            print(f"synens-tui: {message}", flush=True)
    return 0
