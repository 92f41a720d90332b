"""The ``synens-tui`` command line: subcommands from a registry; bare ``synens-tui`` opens the TUI.

A subcommand is a module ``synens.tui.commands.<name>`` with ``add_parser(subparsers)``, which
returns its argparse parser, and ``run(args) -> int``. Listing it in COMMANDS is all it takes;
a listed module that does not exist yet is left out of the parser. Command modules import
only light modules at the top, so ``synens-tui --help`` starts fast (no Numba).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from types import ModuleType

from synens.core.base.errors import SynensError
from synens.tui.bootstrap import configure_process
from synens.tui.commands.cache import ensure_numba_cache
from synens.tui.commands.common import PROG, Parser, fail, os_message
from synens.tui.commands.signals import Terminated, command_signals

#: Subcommands, in help order; command NAME lives in module ``synens.tui.commands.NAME``.
COMMANDS = ("train", "render", "report", "segments", "atlas", "basis", "study")


def build_parser() -> Parser:
    """The full parser, with one subparser per available command module."""
    from synens.core.files.model import version

    parser = Parser(
        prog=PROG,
        description="Explore the synaptic ensembles of a tiny network that paints a picture.",
        epilog=f"Without a COMMAND, '{PROG} [MODEL|PICTURE] [options]' opens the terminal "
        f"explorer; '{PROG} MODEL --help' lists its options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        module_name = f"synens.tui.commands.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name == module_name:
                continue
            raise
        cmd = module.add_parser(sub)
        add_budget_option(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def _tui_module() -> ModuleType | None:
    """synens.tui.app, or None while it does not exist."""
    try:
        return importlib.import_module("synens.tui.app")
    except ModuleNotFoundError as err:
        if err.name != "synens.tui.app":
            raise
        return None


def tui_parser(app: ModuleType) -> Parser:
    """Parser of bare ``synens-tui [options]``: the TUI's own options (app.add_arguments)."""
    parser = Parser(
        prog=PROG,
        description="Open the terminal explorer. Commands: "
        + ", ".join(COMMANDS)
        + f" (see '{PROG} --help').",
    )
    if hasattr(app, "add_arguments"):
        app.add_arguments(parser)
    add_budget_option(parser)
    return parser


def add_budget_option(parser: argparse.ArgumentParser) -> None:
    """--memory-budget SIZE, on every command and the explorer."""
    parser.add_argument(
        "--memory-budget", metavar="SIZE", default=None,
        help="refuse work that would need more memory than this (e.g. 2G, 512M; default "
        "$SYNENS_MEMORY_BUDGET or 2G)")


def _set_budget(args: argparse.Namespace) -> int:
    """Apply --memory-budget or SYNENS_MEMORY_BUDGET; return the budget it replaced."""
    from synens.core.base.memory import memory_budget, parse_size, set_memory_budget

    text = getattr(args, "memory_budget", None) or os.environ.get("SYNENS_MEMORY_BUDGET")
    if not text:
        return memory_budget()
    return set_memory_budget(parse_size(text))


def run_tui(args: argparse.Namespace, parser: argparse.ArgumentParser | None = None) -> int:
    """Open the terminal UI (synens.tui.app.run), or print help while there is none."""
    app = _tui_module()
    if app is None:
        (parser or build_parser()).print_help()
        return 0
    return int(app.run(args) or 0)


def _parse(argv: list[str]) -> argparse.Namespace:
    """Subcommand arguments, or the TUI's when the first argument names no command."""
    first = argv[0] if argv else None
    app = None
    if first not in (*COMMANDS, "-h", "--help", "--version"):
        app = _tui_module()
    if app is not None:
        return tui_parser(app).parse_args(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args._parser = parser
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``synens-tui``; returns the exit code (2 for any bad input).

    ``synens-tui COMMAND ...`` runs a command; anything else opens the TUI with its options.
    """
    configure_process()  # before anything imports NumPy or Numba
    ensure_numba_cache()
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    try:
        args = _parse(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    from synens.core.base.memory import set_memory_budget

    old_budget = None
    try:
        old_budget = _set_budget(args)
        if getattr(args, "_run", None) is None:
            return run_tui(args, getattr(args, "_parser", None))
        with command_signals() as guard:
            code = int(args._run(args) or 0)
        if code == 0 and guard.exit_code is not None:
            print(f"{PROG}: interrupted after the work was saved", file=sys.stderr)
            return guard.exit_code
        return code
    except SynensError as err:
        return fail(str(err))
    except OSError as err:
        return fail(os_message(err))
    except MemoryError:
        return fail("out of memory")
    except Terminated:
        print(f"{PROG}: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        if old_budget is not None:
            set_memory_budget(old_budget)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
