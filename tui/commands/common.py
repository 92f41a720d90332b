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
from typing import IO, TYPE_CHECKING, NoReturn, TypeAlias

from synens.core.base.errors import SynensError

if TYPE_CHECKING:
    #: What a command module's ``add_parser`` receives: the top parser's subcommand action.
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

PROG = "synens-tui"
#: Exit code for bad input (the same as argparse's).
EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``synens-tui: error: ...``, exit 2."""

    _argv: list[str] | None = None

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        self._argv = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        hint = dash_value_hint(message, self._argv or []) or f" (see '{self.prog} --help')"
        raise SystemExit(fail(message + hint))


def dash_value_hint(message: str, argv: list[str]) -> str:
    """For 'argument --region: expected one argument' when the next word starts with '-':
    a hint to attach it, '; write --region=-5,0,10,10'. Empty otherwise."""
    if "expected one argument" not in message or not message.startswith("argument "):
        return ""
    names = message[len("argument "):].split(":", 1)[0].split("/")
    for i, word in enumerate(argv[:-1]):
        if word in names and argv[i + 1].startswith("-"):
            return (f"; a value that starts with '-' must be attached with '=': "
                    f"write {word}={argv[i + 1]}")
    return ""


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
    """Refuse an output path early: a folder, a device, FIFO, symlink or socket (with or
    without --force), an existing file without --force, a missing or read-only folder."""
    from synens.core.files.atomic import refuse_special

    out = Path(path)
    if out.is_dir() and not out.is_symlink():
        raise SynensError(f"output {path} is a folder")
    if refuse_special(out) and not force:
        raise SynensError(f"output {path} already exists; add --force to overwrite it")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.exists():
        raise SynensError(f"output folder {folder} does not exist")
    if not folder.is_dir():
        raise SynensError(f"output folder {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SynensError(f"output folder {folder} is not writable")
    return out


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


def write_output(path: str | os.PathLike, write: Callable[[IO[bytes]], None],
                 force: bool) -> Path:
    """Write an output atomically: with ``force`` replace a regular file; without it never
    replace anything, and when the path was taken meanwhile write ``NAME-2.ext`` (then -3, ...)
    and say so in one line on stderr. Returns the path written."""
    from synens.core.files.atomic import write_atomic

    written = write_atomic(path, write, replace=force, unique=not force)
    note_moved(path, written)
    return written


def note_moved(path: str | os.PathLike, written: Path) -> None:
    """One line on stderr when an output went to another name than asked for."""
    if str(written) != str(path):
        print(f"{PROG}: note: {path} appeared while this ran and was kept; wrote {written} "
              "instead", file=sys.stderr)
