"""Late terminal replies (DA1, DECRQSS, XTGETTCAP) kept out of Textual's key stream.

termcaps.py waits at most 100 ms for the terminal's answers; one arriving later (a slow SSH
link) would reach Textual's XTermParser, which turns an unknown sequence such as
``ESC [ ? 64 ; 1 ; 2 c`` into the key presses ``^ [ ? 6 4 ; 1 ; 2 c``. ReplyParser removes
such replies from the input before parsing and posts each as a TerminalReply message instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from textual._xterm_parser import XTermParser
from textual.message import Message

#: Complete replies: primary device attributes, DECRQSS and XTGETTCAP (valid or not).
REPLY = re.compile(r"\x1b\[\?[0-9;]*c|\x1bP[01][$+]r[^\x1b]*\x1b\\")
#: The start of a reply cut off at the end of a read (kept until the next read).
PARTIAL = re.compile(r"(?:\x1b\[\?[0-9;]*|\x1bP[01](?:[$+](?:r[^\x1b]*\x1b?)?)?)\Z")
#: A held partial reply longer than this is not one: it is let through.
MAX_HELD = 512


class TerminalReply(Message):
    """A terminal's reply taken out of the key stream: ``kind`` 'DA1', 'DECRQSS' or
    'XTGETTCAP', ``text`` the reply itself."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__()
        self.kind, self.text = kind, text


def reply_kind(text: str) -> str:
    """'DA1', 'DECRQSS' or 'XTGETTCAP' for a reply REPLY matched."""
    if text.startswith("\x1b["):
        return "DA1"
    return "DECRQSS" if text[3] == "$" else "XTGETTCAP"


class ReplyFilter:
    """Splits input text into (text without replies, the replies), across reads."""

    def __init__(self) -> None:
        self.held = ""

    def split(self, data: str) -> tuple[str, list[str]]:
        data, self.held = self.held + data, ""
        replies = REPLY.findall(data)
        clean = REPLY.sub("", data) if replies else data
        tail = PARTIAL.search(clean)
        if tail is not None and len(tail.group(0)) < MAX_HELD and len(tail.group(0)) > 2:
            self.held = tail.group(0)
            clean = clean[: tail.start()]
        return clean, replies


class ReplyParser(XTermParser):
    """Textual's XTermParser, but terminal replies become TerminalReply messages, not keys."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.replies = ReplyFilter()

    def feed(self, data: str) -> Iterable[Message]:
        if not data:  # end of input: let a held partial reply through, then finish
            held, self.replies.held = self.replies.held, ""
            if held:
                yield from super().feed(held)
            yield from super().feed(data)
            return
        clean, replies = self.replies.split(data)
        for text in replies:
            yield TerminalReply(reply_kind(text), text)
        if clean:
            yield from super().feed(clean)


def install_reply_filter() -> None:
    """Make Textual's Linux driver parse input with ReplyParser (idempotent; elsewhere,
    e.g. on Windows or headless, nothing changes)."""
    try:
        from textual.drivers import linux_driver
    except ImportError:  # pragma: no cover - not a POSIX system
        return
    linux_driver.XTermParser = ReplyParser
