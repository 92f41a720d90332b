"""Atomic file writes: write a temporary file in the same folder, then commit it in one step.

Nothing the user made is lost or replaced: an existing path that is not a regular file (a
device, a FIFO, a symlink, a socket, a folder) is never written, not even with replace; without
replace the commit is create-new (a hard link, which fails when the path exists), so a file
that appeared while the work ran is kept. Error messages name the user's path, never the
temporary file.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from synens.core.base.errors import OutputError

#: Most ``NAME-2``, ``NAME-3``, ... tried by ``unique`` before giving up.
MAX_UNIQUE = 1000
#: errno values of a file system without hard links.
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def file_kind(mode: int) -> str:
    """A short name for what an ``st_mode`` is: 'a FIFO', 'a symlink', 'a device', ..."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def refuse_special(path: str | os.PathLike) -> bool:
    """True when path exists (as a regular file); False when it does not exist.

    Raises OutputError when it exists and is anything but a regular file (checked with lstat,
    so a symlink counts as a symlink whatever it points to).
    """
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return False
    if not stat.S_ISREG(mode):
        raise OutputError(f"output {path} is {file_kind(mode)}, not a regular file; "
                          "it is never replaced (with or without --force)")
    return True


def numbered(path: Path, k: int) -> Path:
    """path with '-k' before its suffix: out.npz -> out-2.npz."""
    return path.with_name(f"{path.stem}-{k}{path.suffix}")


def write_atomic(path: str | os.PathLike, write: Callable[[IO[bytes]], None], *,
                 replace: bool = True, unique: bool = False) -> Path:
    """Call ``write(fh)`` on a temporary binary file beside ``path``, then commit it; return
    the path written.

    replace=True replaces an existing regular file atomically (``os.replace``).
    replace=False never replaces anything: the commit fails with FileExistsError when the path
    exists by then, or, with unique=True, writes ``NAME-2.ext`` (then -3, ...) instead. A
    path that exists and is not a regular file raises OutputError either way. The file
    appears whole or not at all; any failure (signals included) removes the temporary file.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    refuse_special(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        target = _commit(tmp, path, replace, unique)
    except OSError as err:
        _remove(tmp)
        raise _user_error(err, tmp, path) from None
    except BaseException:
        _remove(tmp)
        raise
    _remove(tmp)
    return target


def _commit(tmp: str, path: Path, replace: bool, unique: bool) -> Path:
    """Move the finished temporary file to path (or NAME-k with unique); see write_atomic."""
    if replace:
        refuse_special(path)  # once more: it may have appeared while the work ran
        os.replace(tmp, path)
        return path
    for k in range(1, MAX_UNIQUE + 1):
        target = path if k == 1 else numbered(path, k)
        if k > 1:
            refuse_special(target)
        try:
            _link_new(tmp, target)
            return target
        except FileExistsError:
            if k == 1:
                refuse_special(path)
            if not unique:
                raise FileExistsError(errno.EEXIST, "File exists (it appeared meanwhile; "
                                      "not replaced)", str(path)) from None
    raise FileExistsError(errno.EEXIST, f"File exists (and {path.stem}-2 .. "
                          f"-{MAX_UNIQUE} too)", str(path))


def _link_new(tmp: str, target: Path) -> None:
    """Make target a second name of tmp, failing if target exists (create-new)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError as err:
        if err.errno not in _NO_LINKS:
            raise
        # No hard links here: claim the name with O_EXCL, then rename over our own claim.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.replace(tmp, target)


def _remove(tmp: str | None) -> None:
    if tmp is not None:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _user_error(err: OSError, tmp: str | None, path: Path) -> OSError:
    """The same OSError, naming the user's path wherever it named the temporary file."""
    def ours(name: object) -> bool:
        return name is None or (isinstance(name, str) and name.endswith(".tmp")
                                and Path(name).name.startswith(f".{path.name}."))

    if ours(err.filename) or (tmp is not None and err.filename2 == tmp):
        return type(err)(err.errno, err.strerror or str(err), str(path))
    return err


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike, text: str, *, replace: bool = True,
                      unique: bool = False) -> Path:
    """Write UTF-8 text atomically (see write_atomic); returns the path written."""
    return write_atomic(path, lambda fh: fh.write(text.encode("utf-8")), replace=replace,
                        unique=unique)


def create_new(path: str | os.PathLike, text: str) -> Path:
    """Write text to a file that must not exist yet (never overwrites; atomic)."""
    return write_text_atomic(path, text, replace=False)
