"""A terminal for end-to-end tests: the app in a pty, its output read, its requests answered."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import termios
import time
from collections.abc import Callable

CPR_REQUEST, CPR_ANSWER = b"\x1b[6n", b"\x1b[1;1R"


def spawn(argv: list[str], rows: int, cols: int, env: dict[str, str],
          cwd: str | os.PathLike | None = None) -> tuple[int, subprocess.Popen]:
    """Start argv on a new rows×cols pty; (the master fd, the process)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                            start_new_session=True)
    os.close(slave)
    return master, proc


def converse(master: int, proc: subprocess.Popen, react: Callable[[bytearray], bytes],
             answers: dict[bytes, bytes] | None = None, answer_cpr: bool = False,
             timeout: float = 120.0) -> bytearray:
    """Read the app's output until it exits or ``timeout``: answer each request of ``answers``
    once when it appears, every cursor-position request (like xterm) with ``answer_cpr``, and
    type what ``react(output so far)`` returns after each read. Returns the output."""
    out, pending, cprs = bytearray(), dict(answers or {}), 0
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if select.select([master], [], [], 0.05)[0]:
            try:
                out += os.read(master, 65536)
            except OSError:
                break
        for request in [r for r in pending if r in out]:
            os.write(master, pending.pop(request))
        while answer_cpr and out.count(CPR_REQUEST) > cprs:
            cprs += 1
            os.write(master, CPR_ANSWER)
        typed = react(out)
        if typed:
            os.write(master, typed)
    return out


def close(master: int, proc: subprocess.Popen) -> None:
    """Kill the app if it still runs, reap it, close the pty."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    os.close(master)
