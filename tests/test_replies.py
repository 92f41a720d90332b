"""Late terminal replies (DA1, DECRQSS, XTGETTCAP) never become key presses."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from app_fixtures import installed_script, small_model
from ptyterm import close, converse, spawn
from synens.tui.replies import ReplyFilter, ReplyParser, TerminalReply
from textual import events
from textual._xterm_parser import XTermParser

DA1 = "\x1b[?64;1;2;6;22c"
DECRQSS = "\x1bP1$r0;38:2::1:2:3m\x1b\\"
XTGETTCAP = "\x1bP1+r524742=382F382F38\x1b\\"


def keys_of(parser, *chunks: str) -> tuple[list[str], list[TerminalReply]]:
    keys, replies = [], []
    for chunk in chunks:
        for token in parser.feed(chunk):
            if isinstance(token, events.Key):
                keys.append(token.key)
            elif isinstance(token, TerminalReply):
                replies.append(token)
    for token in parser.feed(""):  # end of input flushes what the parser still holds
        if isinstance(token, events.Key):
            keys.append(token.key)
    return keys, replies


def test_plain_parser_turns_a_late_reply_into_keys():
    """Why the filter exists: Textual's own parser makes keys of a DA1 reply."""
    keys, _ = keys_of(XTermParser(), "j" + DA1 + "k")
    assert "question_mark" in keys and "c" in keys


@pytest.mark.parametrize("reply", [DA1, DECRQSS, XTGETTCAP, "\x1bP0+r\x1b\\"])
def test_reply_parser_keeps_only_the_real_keys(reply):
    keys, replies = keys_of(ReplyParser(), "j" + reply + "k")
    assert keys == ["j", "k"]
    assert [r.text for r in replies] == [reply]


def test_a_reply_split_across_reads():
    parser = ReplyParser()
    keys, replies = keys_of(parser, "l\x1b[?6", "4;1;2", "cq", DECRQSS[:7], DECRQSS[7:] + "h")
    assert keys == ["l", "q", "h"]
    assert [r.kind for r in replies] == ["DA1", "DECRQSS"]


def test_keys_that_look_alike_still_arrive():
    """Arrows, escape and alt keys are not held back or eaten."""
    f = ReplyFilter()
    assert f.split("\x1b[A\x1b[1;2C") == ("\x1b[A\x1b[1;2C", [])
    assert f.split("\x1b") == ("\x1b", []) and f.held == ""
    keys, replies = keys_of(ReplyParser(), "\x1b[B", "x")
    assert keys == ["down", "x"] and not replies


APP = installed_script()


@pytest.mark.skipif(APP is None, reason="synens-tui is not installed (pip install -e .)")
def test_installed_app_ignores_a_late_device_attributes_reply(tmp_path):
    """In a pty: a DA1 reply arriving after start-up, then q. As keys, its ? would open the
    help and q would only close it, so the app would still run; filtered, q quits."""
    model = tmp_path / "small.npz"
    small_model(model)
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "NO_COLOR", "COLUMNS",
                                                           "LINES")}
    env.update(TERM="xterm-256color", COLORTERM="truecolor")  # no start-up query
    master, proc = spawn([APP, str(model), "--save-dir", str(tmp_path)], 30, 100, env, tmp_path)
    sent = 0.0

    def react(out: bytearray) -> bytes:
        nonlocal sent
        if not sent and b"RMSE" in out:
            sent = time.monotonic()
            return DA1.encode()
        if sent > 0 and time.monotonic() > sent + 0.6:
            sent = -1.0
            return b"q"
        return b""

    try:
        out = converse(master, proc, react)
        try:
            proc.wait(timeout=15)
            gone = True
        except subprocess.TimeoutExpired:
            gone = False
    finally:
        close(master, proc)
    assert sent == -1.0, "the explorer never showed its first frame"
    assert gone, "q did not quit: the reply's bytes were taken as keys"
    assert b"synens-tui keys" not in out  # the help never opened
