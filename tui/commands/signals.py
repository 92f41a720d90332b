"""Signals of a headless command: Ctrl-C and SIGTERM stop the work, but never a save.

``command_signals()`` (entered by ``synens-tui COMMAND``) turns SIGTERM into ``Terminated``
(a KeyboardInterrupt, so cleanup code and ``train``'s "save the best weights" run) and SIGINT
into KeyboardInterrupt. Inside ``hold()`` (a save) signals are only recorded: the save
finishes, and the command ends afterwards. After the first signal stopped the work, later
ones are recorded too, so a double Ctrl-C cannot cut the save that follows.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from synens.tui.commands.common import PROG


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same cleanup and saving run."""


class Guard:
    """The signal policy of one command run; ``received`` lists the signals recorded."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.stopped = False
        self.holding = 0

    def handle(self, signum: int, frame: object) -> None:
        if self.holding or self.stopped:
            self.received.append(signum)
            if len(self.received) == 1:
                print(f"{PROG}: saving; it finishes first", file=sys.stderr, flush=True)
            return
        self.stopped = True  # later signals wait for the save that follows
        self.received.append(signum)
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    @contextmanager
    def hold(self) -> Iterator[Guard]:
        """Record signals instead of raising them, for the duration of a save."""
        self.holding += 1
        try:
            yield self
        finally:
            self.holding -= 1

    @property
    def exit_code(self) -> int | None:
        """128 + the first signal recorded (130 Ctrl-C, 143 SIGTERM), or None."""
        return 128 + self.received[0] if self.received else None


_current: Guard | None = None


def current() -> Guard:
    """The guard of the running command (a fresh inactive one outside ``command_signals``)."""
    return _current if _current is not None else Guard()


@contextmanager
def command_signals() -> Iterator[Guard]:
    """Install the guard's handler for SIGINT and SIGTERM; restore the old ones afterwards.

    Outside the main thread it installs nothing (signals go to the main thread anyway).
    """
    global _current
    guard = Guard()
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    old = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous, _current = _current, guard
    try:
        for sig in old:
            signal.signal(sig, guard.handle)
        yield guard
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        _current = previous
