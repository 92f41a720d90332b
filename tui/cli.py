"""The ``synens-tui`` command line: subcommands from a registry; bare ``synens-tui`` opens the TUI.

A subcommand is a module ``synens.tui.commands.<name>`` with ``add_parser(subparsers)``, which
returns its argparse parser, and ``run(args) -> int``. Listing it in COMMANDS is all it takes;
a listed module that does not exist yet is left out of the parser. Command modules import
only light modules at the top, so ``synens-tui --help`` starts fast (no Numba).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from synens.core.base.errors import SynensError
from synens.tui.commands.common import PROG, Parser, fail, os_message

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
    return parser


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
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    try:
        args = _parse(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    try:
        if getattr(args, "_run", None) is None:
            return run_tui(args, getattr(args, "_parser", None))
        return int(args._run(args) or 0)
    except SynensError as err:
        return fail(str(err))
    except OSError as err:
        return fail(os_message(err))
    except MemoryError:
        return fail("out of memory")
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
