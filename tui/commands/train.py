"""``synens-tui train``: fit the network to a picture with a Rich progress bar; save a model."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

from synens.core.base.errors import SynensError

if TYPE_CHECKING:
    import numpy as np
    from synens.core.base.topology import Topology
    from synens.core.files.model import Model
    from synens.core.network.train import Progress as TrainProgress
    from synens.core.network.train import TrainConfig, TrainResult
    from synens.tui.commands.common import Subparsers

HELP = "train a network to paint a picture and save it as a model file"
DEFAULT_SECONDS = 60.0


def add_parser(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``train`` to the subparsers and return its parser."""
    p = subparsers.add_parser(
        "train",
        help=HELP,
        description=HELP + ". Without a stop rule "
        f"it trains for {DEFAULT_SECONDS:g} s; Ctrl-C stops early and "
        "saves the best weights so far.",
    )
    p.add_argument(
        "image",
        nargs="?",
        metavar="IMAGE",
        help="the picture (optional with --resume: the model's own picture)",
    )
    p.add_argument("-o", "--output", required=True, metavar="MODEL.npz", help="model file to write")
    p.add_argument(
        "--size",
        type=int,
        default=None,
        help="longer side of the training picture in pixels (8..1024, default 128; "
        "with --resume, the model's)",
    )
    p.add_argument(
        "--hidden", default=None, metavar="N,N,...", help="hidden layer sizes (default 9,5,10,10)"
    )
    p.add_argument(
        "--skip",
        type=int,
        default=None,
        help="each layer sees the SKIP layers before it (default 2)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    stop = p.add_argument_group("stop rules (training ends at the first one reached)")
    stop.add_argument("--seconds", type=float, default=None, help="time budget in seconds")
    stop.add_argument("--epochs", type=int, default=None, help="number of epochs")
    stop.add_argument("--target-rmse", type=float, default=None, help="stop at this RMSE")
    opt = p.add_argument_group("optimiser")
    opt.add_argument("--batch", type=int, default=64, help="Adam mini-batch size (default 64)")
    opt.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default 0.01)")
    opt.add_argument("--l2", type=float, default=0.0, help="L2 weight penalty (default 0)")
    p.add_argument("--resume", metavar="MODEL", help="start from this model's weights")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def parse_hidden(text: str) -> tuple[int, ...]:
    """'9,5,10,10' -> (9, 5, 10, 10); one-line SynensError when malformed."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise SynensError(f"--hidden must be comma-separated integers, got {text!r}") from None
    if not sizes or any(not 1 <= s <= 1000 for s in sizes) or len(sizes) > 100:
        raise SynensError(f"--hidden needs 1..100 layer sizes in 1..1000, got {text!r}")
    return sizes


def _check_numbers(args: argparse.Namespace) -> None:
    from synens.core.files.picture import MAX_SIZE, MIN_SIZE

    for name in ("seconds", "target_rmse", "lr", "l2"):
        value = getattr(args, name)
        if value is not None and not math.isfinite(value):
            raise SynensError(f"--{name.replace('_', '-')} must be a finite number")
    if args.size is not None and not MIN_SIZE <= args.size <= MAX_SIZE:
        raise SynensError(f"--size must lie in {MIN_SIZE}..{MAX_SIZE}, got {args.size}")
    if args.seed < 0:
        raise SynensError("--seed must be 0 or more")
    if args.skip is not None and not 1 <= args.skip <= 100:
        raise SynensError("--skip must lie in 1..100")


def run(args: argparse.Namespace) -> int:
    """Train, then save; returns 0, or 130 after Ctrl-C (the best weights are saved)."""
    from synens.core.base.memory import check_memory, network_bytes
    from synens.core.base.topology import DEFAULT_HIDDEN, DEFAULT_SKIP, TopologyError, layered
    from synens.core.files.model import Model, load_model, make_meta
    from synens.core.files.picture import MAX_SIZE, MIN_SIZE, load_picture
    from synens.core.network.train import TrainConfig
    from synens.tui.commands.common import check_output
    from synens.tui.commands.signals import current

    _check_numbers(args)
    config = TrainConfig(
        seed=args.seed,
        epochs=args.epochs,
        seconds=args.seconds,
        target_rmse=args.target_rmse,
        batch=args.batch,
        lr=args.lr,
        l2=args.l2,
    )
    if config.epochs is None and config.seconds is None and config.target_rmse is None:
        config.seconds = DEFAULT_SECONDS
    config.validate()
    prior = None
    if args.resume:
        if args.hidden is not None or args.skip is not None:
            raise SynensError("--resume keeps the model's network; drop --hidden and --skip")
        prior = load_model(args.resume)
        topo, weights = prior.topo, prior.weights
    else:
        hidden = parse_hidden(args.hidden) if args.hidden is not None else DEFAULT_HIDDEN
        skip = DEFAULT_SKIP if args.skip is None else args.skip
        n_syn = layered_synapses(hidden, skip)
        check_memory(f"--hidden with {len(hidden)} layers ({sum(hidden):,} neurons, "
                     f"{n_syn:,} synapses)",
                     network_bytes(n_syn, sum(hidden) + 3, 0))
        try:
            topo = layered(hidden, DEFAULT_SKIP if args.skip is None else args.skip)
        except TopologyError as err:
            raise SynensError(str(err)) from None
        weights = None
    if args.image is not None:
        size = args.size or (min(MAX_SIZE, max(MIN_SIZE, *prior.size)) if prior else 128)
        image = load_picture(args.image, size)
    elif prior is not None:
        if args.size is not None:
            raise SynensError(
                "--size needs IMAGE; with --resume alone the model's picture is used as it is"
            )
        image = prior.image
    else:
        raise SynensError("train needs a picture: synens-tui train IMAGE -o MODEL.npz")
    out = check_output(args.output, args.force)
    h, w = image.shape[:2]
    check_memory(f"training {topo.n_synapses:,} synapses on a {w}×{h} picture",
                 network_bytes(topo.n_synapses, topo.n_neurons, h * w))

    result = _train(topo, image, config, weights, args.quiet)
    guard = current()
    guard.stopped = True  # from here on a signal waits for the save
    before = prior.meta if prior else {}
    meta = make_meta(
        topo,
        seed=config.seed,
        optimiser={
            "batch": config.batch,
            "lr": config.lr,
            "l2": config.l2,
            "adam_share": config.adam_share,
        },
        epochs=result.epochs + _number(before.get("epochs")),
        seconds=round(result.seconds + _number(before.get("seconds")), 3),
        rmse=result.rmse,
        stop={
            "epochs": config.epochs,
            "seconds": config.seconds,
            "target_rmse": config.target_rmse,
        },
        picture=Path(args.image).name if args.image is not None else before.get("picture"),
        resumed_from=Path(args.resume).name if args.resume else None,
        interrupted=result.interrupted,
    )
    with guard.hold():
        out = _save(Model(topo, result.weights, image, meta), out, args.force)
    if guard.received and not result.interrupted:
        print(f"saved {out} (RMSE {result.rmse:.4f}) before stopping on the signal")
        return guard.exit_code or 130
    if result.interrupted:
        print(
            f"interrupted after {result.epochs} epochs: saved the best weights so far "
            f"(RMSE {result.rmse:.4f}) to {out}"
        )
        return guard.exit_code or 130
    print(
        f"saved {out}: RMSE {result.rmse:.4f} after {result.epochs} epochs in "
        f"{result.seconds:.1f} s ({topo.n_neurons} neurons, {topo.n_synapses} synapses, "
        f"picture {w}×{h})"
    )
    return 0


def layered_synapses(hidden: tuple[int, ...], skip: int) -> int:
    """The synapse count of ``layered(hidden, skip)`` without building it (biases included)."""
    sizes = [2, *hidden, 3]  # the inputs x, y are layer 0
    return sum(size * (1 + sum(sizes[max(0, i - skip):i]))
               for i, size in enumerate(sizes) if i > 0)


def _save(model: Model, out: Path, force: bool) -> Path:
    """Save the trained model to ``out`` (create-new without force: NAME-2.npz when taken).

    When that fails (a full disk, a folder gone), the weights are written to a named file in
    the temporary directory instead and the error says where; they are never lost quietly.
    """
    import tempfile

    from synens.core.files.model import save_model
    from synens.tui.commands.common import note_moved, os_message

    try:
        written = save_model(model, out, replace=force, unique=not force)
    except OSError as err:
        rescue = Path(tempfile.gettempdir()) / f"{out.stem or 'model'}-rescued.npz"
        try:
            kept = save_model(model, rescue, replace=False, unique=True)
        except OSError as err2:
            raise SynensError(f"could not write {out} ({os_message(err)}) nor a copy in "
                              f"{rescue.parent} ({os_message(err2)}); the weights are lost"
                              ) from None
        raise SynensError(f"could not write {out} ({os_message(err)}); the trained weights "
                          f"were saved to {kept} instead") from None
    note_moved(out, written)
    return written


def _number(value: object) -> float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _train(
    topo: Topology,
    image: np.ndarray,
    config: TrainConfig,
    weights: np.ndarray | None,
    quiet: bool,
) -> TrainResult:
    """Run core.train.train, with a Rich progress bar on stderr unless quiet."""
    from synens.core.network.train import train

    if quiet:
        return train(topo, image, config, weights)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    columns = [
        TextColumn("{task.description:<5}"),
        BarColumn(),
        TextColumn("epoch {task.fields[epoch]}"),
        TextColumn("RMSE {task.fields[rmse]}"),
        TextColumn("{task.fields[speed]}"),
        TextColumn("left {task.fields[left]}"),
    ]
    known = config.epochs is not None or config.seconds is not None
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(
            "start", total=1.0 if known else None, epoch="0", rmse="-", speed="", left="?"
        )

        def show(p: TrainProgress) -> None:
            f = p.fraction
            left = _clock(p.elapsed * (1 - f) / f) if f else "?"
            epoch = f"{p.epoch}/{p.total_epochs}" if p.total_epochs else str(p.epoch)
            bar.update(
                task,
                completed=f or 0.0,
                description=p.phase,
                epoch=epoch,
                rmse=f"{p.rmse:.4f} (best {p.best_rmse:.4f})",
                speed=f"{p.samples_per_s / 1e6:.2f} M samples/s",
                left=left,
            )

        return train(topo, image, config, weights, show)
