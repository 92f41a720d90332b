"""What every headless command shares: one-line errors, exit codes, output-path checks.

The commands (``synens.tui.commands``) never import Textual; an import-linter contract keeps it so.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeAlias

from synens.core.base.errors import SynensError

if TYPE_CHECKING:
    #: What a command module's ``add_parser`` receives: the top parser's subcommand action.
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

PROG = "synens-tui"
#: Exit code for bad input (the same as argparse's).
EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``synens-tui: error: ...``, exit 2."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        hint = f" (see '{self.prog} --help')"
        raise SystemExit(fail(message + hint))


def fail(message: str) -> int:
    """Print ``synens-tui: error: <message>`` as one line on stderr; return exit code 2."""
    text = " ".join(str(message).split())
    print(f"{PROG}: error: {text}", file=sys.stderr)
    return EXIT_USAGE


def os_message(err: OSError) -> str:
    """One line for an OSError: 'Permission denied: out/x.png'."""
    what = err.strerror or str(err) or type(err).__name__
    return f"{what}: {err.filename}" if err.filename else what


def check_output(path: str, force: bool) -> Path:
    """Refuse an output path early: a folder, an existing file without --force, a bad folder."""
    out = Path(path)
    if out.is_dir():
        raise SynensError(f"output {path} is a folder")
    if out.exists() and not force:
        raise SynensError(f"output {path} already exists; add --force to overwrite it")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.exists():
        raise SynensError(f"output folder {folder} does not exist")
    if not folder.is_dir():
        raise SynensError(f"output folder {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SynensError(f"output folder {folder} is not writable")
    return out


def stderr_progress(what: str) -> Callable[[int, int], None]:
    """A progress callback (done, total) that rewrites one stderr line, on a terminal only."""
    start = time.monotonic()

    def show(done: int, total: int) -> None:
        if not sys.stderr.isatty() or time.monotonic() - start < 2.0 and done < total:
            return
        end = "\n" if done >= total else ""
        print(f"\r{what}: {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show
