"""The Numba cache folder: fall back to a temporary one when no usable folder is writable.

Numba caches compiled kernels in ``NUMBA_CACHE_DIR`` when set, else beside the sources
(``__pycache__``), else in the user cache (``$XDG_CACHE_HOME/numba`` or ``~/.cache/numba``).
When none of these can be written (a read-only install and an unwritable HOME), or when
``NUMBA_CACHE_DIR`` is not a writable folder (which Numba would silently ignore), the command
line points ``NUMBA_CACHE_DIR`` at a private folder in the temporary directory and says so
in one line. This runs in the entry point before Numba is imported; library imports never
set environment variables.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterable, MutableMapping
from pathlib import Path

#: The packages whose modules hold cached kernels.
PACKAGES = ("synens.core", "synens.tui")


def writable_dir(path: str | os.PathLike) -> bool:
    """True when path is (or can be made) a folder we can create files in (Numba's own test)."""
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


def package_cache_dirs(packages: Iterable[str] = PACKAGES) -> list[Path]:
    """The ``__pycache__`` folders beside every source folder of the packages."""
    found: list[Path] = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        for root in (spec.submodule_search_locations or []) if spec else []:
            for folder, dirs, files in os.walk(root):
                dirs[:] = [d for d in dirs if d != "__pycache__" and not d.startswith(".")]
                if any(f.endswith(".py") for f in files):
                    found.append(Path(folder) / "__pycache__")
    return found


def user_cache_dir(environ: MutableMapping[str, str]) -> Path:
    """Numba's user-wide cache folder on Linux/macOS (as its appdirs computes it)."""
    base = environ.get("XDG_CACHE_HOME") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".cache")
    return Path(base) / "numba"


def fallback_dir() -> Path:
    """A private cache folder in the temporary directory (kept between runs when it is ours)."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    path = Path(tempfile.gettempdir()) / f"synens-numba-cache-{uid}"
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.lstat(path)
        if not path.is_symlink() and info.st_uid == uid and writable_dir(path):
            return path
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="synens-numba-cache-"))


def ensure_numba_cache(environ: MutableMapping[str, str] | None = None,
                       cache_dirs: Iterable[Path] | None = None) -> str | None:
    """Make sure Numba gets a writable cache folder; return the notice printed, or None.

    Does nothing once Numba is imported (its settings are read then). ``environ`` and
    ``cache_dirs`` (default: os.environ and ``package_cache_dirs()``) are for tests.
    """
    if environ is None:
        if "numba" in sys.modules:
            return None
        environ = os.environ
    given = environ.get("NUMBA_CACHE_DIR", "")
    if given:
        if writable_dir(given):
            return None
        why = f"NUMBA_CACHE_DIR={given} is not a writable folder"
    else:
        dirs = package_cache_dirs() if cache_dirs is None else list(cache_dirs)
        user = user_cache_dir(environ)
        if all(writable_dir(d) for d in dirs) or writable_dir(user):
            return None
        where = dirs[0].parent if dirs else "the package folder"
        why = f"neither {where} nor {user} is writable"
    folder = fallback_dir()
    environ["NUMBA_CACHE_DIR"] = str(folder)
    notice = f"synens-tui: note: {why}; the Numba cache is in {folder}"
    print(notice, file=sys.stderr)
    return notice
