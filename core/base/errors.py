"""Errors that carry a one-line message meant for the user."""


class SynensError(Exception):
    """Bad input from the user: the command line prints ``str(err)`` and exits with code 2."""


class ModelFileError(SynensError):
    """A model file that is missing, foreign, damaged or of another format version."""


class PictureError(SynensError):
    """A picture that is missing, unreadable, empty or too large."""


class OutputError(SynensError):
    """An output path that must not be written: a folder, a device, a FIFO, a symlink, a socket."""


class MemoryBudgetError(SynensError):
    """Work that would need more memory than the stated budget (refused before it starts)."""


def one_line(err: BaseException) -> str:
    """The first line of an exception's message, or its type name when it has none."""
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
