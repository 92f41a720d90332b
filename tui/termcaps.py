"""True-colour detection: --colors, SYNENS_COLORS, COLORTERM, TERM, tmux, then ask the terminal.

The terminal is asked as notcurses/chafa do: set a 24-bit SGR colour and read it back with
DECRQSS (``ESC P $ q m ESC \\``), ask XTGETTCAP for ``RGB`` and ``Tc``, and end with a primary
device-attributes request (``ESC [ c``), which every terminal answers, so that the wait stops
as soon as the terminal has said all it will say (at most ``timeout`` seconds, default 0.1).
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Mapping

from synens.core.base.errors import SynensError

from .ansi import COLOR_MODES

HINT = "--colors truecolor forces it"
ENV_VAR = "SYNENS_COLORS"

#: 1;2;3 is a colour no palette holds, so an answer naming it proves 24-bit colour.
QUERY = (
    b"\x1b[38;2;1;2;3m"  # set a 24-bit foreground
    b"\x1bP$qm\x1b\\"  # DECRQSS: report the current SGR
    b"\x1b[0m"  # and reset it
    b"\x1bP+q524742\x1b\\"  # XTGETTCAP RGB (hex-encoded name)
    b"\x1bP+q5463\x1b\\"  # XTGETTCAP Tc
    b"\x1b[c"  # primary device attributes: the answer that ends the wait
)
_DA1 = re.compile(rb"\x1b\[\?[0-9;]*c")
_DECRQSS = re.compile(rb"\x1bP1\$r[^\x1b]*?[34]8[:;]2[:;](?:\d*[:;])?1[:;]2[:;]3[^\x1b]*m")
_XTGETTCAP = re.compile(rb"\x1bP1\+r(?:524742|5463)")


def parse_answers(data: bytes) -> str | None:
    """What in the terminal's answer ``data`` confirms true colour (a short reason), or None."""
    if _DECRQSS.search(data):
        return "terminal reports 24-bit SGR (DECRQSS)"
    if m := _XTGETTCAP.search(data):
        name = "RGB" if m.group(0).endswith(b"524742") else "Tc"
        return f"terminal has {name} (XTGETTCAP)"
    return None


def query_terminal(fd: int, timeout: float = 0.1) -> tuple[bytes, bool]:
    """Ask the terminal on tty ``fd``; return (answer bytes read, whether DA1 arrived).

    Echo and canonical mode are off while waiting, so answers are never shown or seen as
    keys; the input is read one byte at a time and reading stops right after the
    device-attributes answer, so keys typed after it stay queued for the app. termios is
    restored without flushing. Waits at most ``timeout`` seconds in all.
    """
    old = termios.tcgetattr(fd)
    new = termios.tcgetattr(fd)
    new[3] &= ~(termios.ICANON | termios.ECHO)  # lflag
    new[6][termios.VMIN], new[6][termios.VTIME] = 0, 0
    data = bytearray()
    done = False
    try:
        termios.tcsetattr(fd, termios.TCSANOW, new)
        os.write(fd, QUERY)
        deadline = time.monotonic() + timeout
        while not done:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            byte = os.read(fd, 1)
            if not byte:
                break
            data += byte
            done = byte == b"c" and _DA1.search(data[-64:]) is not None
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, old)
    return bytes(data), done


def tmux_features(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> str | None:
    """``#{client_termfeatures}`` of the attached tmux client, or None when tmux cannot say."""
    try:
        done = run(
            ["tmux", "display", "-p", "#{client_termfeatures}"],
            capture_output=True, text=True, timeout=1.0, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    text = done.stdout.strip()
    return text if done.returncode == 0 and text else None


def detect_colour_mode(
    forced: str | None = None,
    environ: Mapping[str, str] = os.environ,
    fd: int | None = None,
    *,
    timeout: float = 0.1,
    tmux: Callable[[], str | None] = tmux_features,
) -> tuple[str, str]:
    """Choose "truecolor" or "256"; return (mode, short reason for the status bar).

    Order: ``forced`` (--colors), SYNENS_COLORS, COLORTERM=truecolor|24bit, TERM=*-direct,
    tmux's client features when TMUX is set, then the terminal's answers on tty ``fd``
    (default: standard input when it is a tty). A bad SYNENS_COLORS is a SynensError.
    """
    if forced is not None:
        return forced, f"--colors {forced}"
    env = environ.get(ENV_VAR, "").strip().lower()
    if env:
        if env not in COLOR_MODES:
            raise SynensError(f"{ENV_VAR} must be one of {', '.join(COLOR_MODES)}, not {env!r}")
        return env, f"{ENV_VAR}={env}"
    if environ.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return "truecolor", f"COLORTERM={environ['COLORTERM']}"
    if environ.get("TERM", "").endswith("-direct"):
        return "truecolor", f"TERM={environ['TERM']}"
    if environ.get("TMUX"):
        features = tmux()
        if features is not None:
            if "RGB" in features.split(","):
                return "truecolor", "tmux client has RGB"
            return "256", f"tmux client lacks RGB; {HINT}"
    if fd is None:
        fd = sys.stdin.fileno() if sys.stdin is not None and sys.stdin.isatty() else -1
    if fd < 0 or not os.isatty(fd):
        return "256", f"not a terminal; {HINT}"
    try:
        data, _ = query_terminal(fd, timeout)
    except (OSError, termios.error):
        return "256", f"terminal could not be asked; {HINT}"
    reason = parse_answers(data)
    return ("truecolor", reason) if reason else ("256", f"no truecolor answer; {HINT}")
