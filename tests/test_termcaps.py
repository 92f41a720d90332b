"""True-colour detection in a pty, with a fake terminal that answers DECRQSS/XTGETTCAP/DA1 as
xterm does (or as tmux does: device attributes only, or not at all)."""

from __future__ import annotations

import os
import re
import select
import subprocess
import termios
import threading
import time

import pytest
from app_fixtures import installed_script, small_model
from ptyterm import close, converse, spawn
from synens.core.base.errors import SynensError
from synens.tui import termcaps
from synens.tui.termcaps import QUERY, detect_colour_mode, parse_answers, query_terminal

# What xterm (patch 390, direct colour) sends back for QUERY
XTERM_DECRQSS = b"\x1bP1$r0;38:2::1:2:3m\x1b\\"
XTERM_RGB = b"\x1bP1+r524742=382F382F38\x1b\\"
NO_TC = b"\x1bP0+r5463\x1b\\"
DA1 = b"\x1b[?64;1;2;6;9;15;16;17;18;21;22;28c"


class FakeTerminal(threading.Thread):
    """Reads what the program writes to the pty and answers each request it recognises."""

    def __init__(self, master: int, answers: dict[bytes, bytes], after: bytes = b"") -> None:
        super().__init__(daemon=True)
        self.master, self.answers, self.after = master, answers, after
        self.received = bytearray()
        self.stop = threading.Event()

    def run(self) -> None:
        pending = dict(self.answers)
        while not self.stop.is_set():
            if not select.select([self.master], [], [], 0.01)[0]:
                continue
            try:
                self.received += os.read(self.master, 4096)
            except OSError:
                return
            for request in [r for r in pending if r in self.received]:
                reply = pending.pop(request)
                if request == b"\x1b[c":
                    reply += self.after  # a key the user typed right after the answers
                if reply:
                    os.write(self.master, reply)


XTERM = {b"\x1bP$qm\x1b\\": XTERM_DECRQSS, b"\x1bP+q524742\x1b\\": XTERM_RGB,
         b"\x1bP+q5463\x1b\\": NO_TC, b"\x1b[c": DA1}  # fmt: skip
TMUX_LIKE = {b"\x1b[c": b"\x1b[?1;2c"}


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    yield master, slave
    os.close(master)
    os.close(slave)


def run_fake(pty_pair, answers, after=b"", **kwargs):
    master, slave = pty_pair
    fake = FakeTerminal(master, answers, after)
    fake.start()
    before = termios.tcgetattr(slave)
    t0 = time.monotonic()
    try:
        got = detect_colour_mode(environ={"TERM": "xterm-256color"}, fd=slave, **kwargs)
    finally:
        elapsed = time.monotonic() - t0
        time.sleep(0.05)  # let the fake terminal see the last bytes
        fake.stop.set()
        fake.join(1)
    assert termios.tcgetattr(slave) == before  # termios restored
    return got, elapsed, fake


def pending_input(fd: int) -> bytes:
    """What the app would read next from the tty (non-canonical, non-blocking)."""
    old = termios.tcgetattr(fd)
    new = termios.tcgetattr(fd)
    new[3] &= ~termios.ICANON
    new[6][termios.VMIN], new[6][termios.VTIME] = 0, 0
    termios.tcsetattr(fd, termios.TCSANOW, new)
    try:
        data = b""
        while select.select([fd], [], [], 0.1)[0]:
            chunk = os.read(fd, 1024)
            if not chunk:
                break
            data += chunk
        return data
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, old)


def test_xterm_gets_truecolor_without_colorterm(pty_pair):
    (mode, reason), _, fake = run_fake(pty_pair, XTERM)
    assert mode == "truecolor" and "DECRQSS" in reason
    assert bytes(fake.received).startswith(QUERY)


def test_xtgettcap_rgb_alone_is_enough(pty_pair):
    answers = {**XTERM, b"\x1bP$qm\x1b\\": b"\x1bP1$r0;38:5:16m\x1b\\"}  # a palette colour
    (mode, reason), _, _ = run_fake(pty_pair, answers)
    assert (mode, reason) == ("truecolor", "terminal has RGB (XTGETTCAP)")


def test_tmux_like_terminal_gets_256_at_once(pty_pair):
    (mode, reason), elapsed, _ = run_fake(pty_pair, TMUX_LIKE, timeout=5.0)
    assert mode == "256" and "--colors truecolor" in reason
    assert elapsed < 2.0  # stopped at the device-attributes answer, not at the 5 s timeout


def test_silent_terminal_gets_256_within_the_timeout(pty_pair):
    (mode, reason), elapsed, _ = run_fake(pty_pair, {})
    assert mode == "256" and reason.startswith("no truecolor answer")
    assert elapsed < 1.0  # the timeout is 0.1 s; generous for a loaded machine


def test_answers_do_not_leak_into_the_key_stream(pty_pair):
    master, slave = pty_pair
    (mode, _), _, fake = run_fake(pty_pair, XTERM, after=b"x")
    assert mode == "truecolor"
    assert pending_input(slave) == b"x"  # the key, and nothing of the answers
    assert b"$r" not in fake.received and b"+r" not in fake.received  # answers not echoed


def test_query_terminal_reads_only_up_to_the_answer(pty_pair):
    master, slave = pty_pair
    fake = FakeTerminal(master, TMUX_LIKE, after=b"\x1b[A")  # an arrow key right after
    fake.start()
    try:
        data, done = query_terminal(slave, timeout=2.0)
    finally:
        fake.stop.set()
        fake.join(1)
    assert done and data == b"\x1b[?1;2c"
    assert pending_input(slave) == b"\x1b[A"


def test_parse_answers_forms():
    assert parse_answers(b"\x1bP1$r38;2;1;2;3m\x1b\\")
    assert parse_answers(b"\x1bP1$r0;38:2:0:1:2:3m\x1b\\")
    assert parse_answers(b"\x1bP1$r0;38:5:16m\x1b\\") is None
    assert parse_answers(b"\x1bP0$r\x1b\\\x1bP0+r524742\x1b\\" + DA1) is None
    assert parse_answers(b"\x1bP1+r5463=31\x1b\\") == "terminal has Tc (XTGETTCAP)"


def test_order_of_decisions(tmp_path):
    no_tty = os.open(tmp_path / "f", os.O_CREAT | os.O_RDWR)
    try:
        def detect(env, forced=None, tmux=lambda: None):
            return detect_colour_mode(forced, env, no_tty, tmux=tmux)

        assert detect({"COLORTERM": "truecolor"}, "256") == ("256", "--colors 256")
        assert detect({"SYNENS_COLORS": "256", "COLORTERM": "truecolor"})[0] == "256"
        assert detect({"SYNENS_COLORS": "TrueColor"}) == ("truecolor", "SYNENS_COLORS=truecolor")
        with pytest.raises(SynensError, match="SYNENS_COLORS must be one of"):
            detect({"SYNENS_COLORS": "16"})
        assert detect({"COLORTERM": "24bit"}) == ("truecolor", "COLORTERM=24bit")
        assert detect({"TERM": "xterm-direct"}) == ("truecolor", "TERM=xterm-direct")
        tmux_env = {"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "tmux-256color"}
        rgb = detect(tmux_env, tmux=lambda: "256,RGB,title")
        assert rgb == ("truecolor", "tmux client has RGB")
        mode, reason = detect(tmux_env, tmux=lambda: "256,title")
        assert mode == "256" and "--colors truecolor forces it" in reason
        assert detect(tmux_env)[0] == "256"  # tmux cannot say, and this is no terminal
        assert detect({"TERM": "xterm-256color"}) == ("256", f"not a terminal; {termcaps.HINT}")
    finally:
        os.close(no_tty)


def test_tmux_features_uses_the_tmux_command():
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, stdout="256,RGB,title\n", stderr="")

    assert termcaps.tmux_features(fake_run) == "256,RGB,title"
    assert calls == [["tmux", "display", "-p", "#{client_termfeatures}"]]

    def failing(cmd, **kwargs):
        raise FileNotFoundError(cmd[0])

    assert termcaps.tmux_features(failing) is None


# End to end: the installed synens-tui in a pty whose "terminal" answers like xterm or not at all

APP = installed_script()


def run_app_in_pty(tmp_path, answers: dict[bytes, bytes], want: bytes) -> bytes:
    """Start synens-tui on the small model in a 140x40 pty with COLORTERM unset; answer the
    colour queries with ``answers``; wait until ``want`` is on screen, press q; the output."""
    model = tmp_path / "small.npz"
    small_model(model)
    env = {k: v for k, v in os.environ.items()
           if k not in ("COLORTERM", "TMUX", "SYNENS_COLORS", "NO_COLOR", "COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    master, proc = spawn([APP, str(model), "--save-dir", str(tmp_path)], 40, 140, env, tmp_path)
    quit_sent = False

    def react(out: bytearray) -> bytes:
        nonlocal quit_sent
        if quit_sent or want not in out:
            return b""
        quit_sent = True
        return b"q"

    try:
        out = converse(master, proc, react, answers)
        while select.select([master], [], [], 0.2)[0]:  # drain what is left
            try:
                if not os.read(master, 65536):
                    break
            except OSError:
                break
        proc.wait(timeout=30)
    finally:
        close(master, proc)
    assert quit_sent, f"{want!r} never appeared"
    return bytes(out)


@pytest.mark.skipif(APP is None, reason="synens-tui is not installed (pip install -e .)")
def test_installed_app_picks_truecolor_from_an_xterm_answer(tmp_path):
    out = run_app_in_pty(tmp_path, XTERM, b"RMSE")
    assert out.startswith(QUERY)  # asked before Textual took the terminal
    assert re.search(rb"\xe2\x94\x82 (?:\x1b\[[0-9;]*m)*truecolor", out)  # "│ truecolor"
    assert b"\x1b[38;2;" in out


@pytest.mark.skipif(APP is None, reason="synens-tui is not installed (pip install -e .)")
def test_installed_app_falls_back_to_256_with_the_hint(tmp_path):
    out = run_app_in_pty(tmp_path, {}, b"RMSE")
    assert b"256 colours (no truecolor answer; --colors truecolor" in out  # why, and the way out
    assert b"\x1b[38;5;" in out
