"""Real SSH: the installed ``synens-tui`` through ``ssh -tt`` to a private sshd on 127.0.0.1.

A throw-away sshd (temp host key, temp authorized key, a free loopback port) that accepts no
environment, so COLORTERM is not forwarded, as with a stock sshd. Twice:
* in a pty whose fake terminal answers the colour queries like xterm: true colour is chosen;
* inside tmux (250x60): 256 colours with the hint unless tmux reports RGB for its client;
  every key of the README's key table is sent, and each must have a visible effect on the
  screen read back with capture-pane (a given text shown or gone, else any change); then q
  must end the app.
Skipped, with the reason, where sshd cannot run (CI installs openssh-server).
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import test_tmux
from app_fixtures import installed_script, small_model
from ptyterm import close, converse, spawn
from test_termcaps import XTERM
from test_tmux import COLS, ROWS, SGR, Tmux

SSHD = shutil.which("sshd") or next((p for p in ("/usr/sbin/sshd",) if os.path.exists(p)), None)
SSH, KEYGEN, TMUX = shutil.which("ssh"), shutil.which("ssh-keygen"), shutil.which("tmux")
APP = installed_script()
pytestmark = [
    pytest.mark.skipif(None in (SSHD, SSH, KEYGEN),
                       reason="no sshd/ssh/ssh-keygen (CI: apt-get install openssh-server)"),
    pytest.mark.skipif(APP is None, reason="synens-tui is not installed (pip install -e .)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sshd:
    """A private sshd on 127.0.0.1: key login only, no environment accepted."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port, self.user = folder, free_port(), getpass.getuser()
        for name in ("host", "client"):
            subprocess.run([KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)],
                           check=True, timeout=30, capture_output=True)
        (folder / "authorized").write_text((folder / "client.pub").read_text())
        (folder / "sshd_config").write_text(
            f"ListenAddress 127.0.0.1:{self.port}\nHostKey {folder / 'host'}\n"
            f"AuthorizedKeysFile {folder / 'authorized'}\nPidFile {folder / 'sshd.pid'}\n"
            "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
            "PermitRootLogin prohibit-password\nPermitUserEnvironment no\n"
            "PrintMotd no\nPrintLastLog no\nUseDNS no\nLogLevel ERROR\n")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(folder / "sshd_config")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def ssh(self, remote: str, tty: bool = True) -> list[str]:
        """The ssh command line that runs ``remote`` (a shell command) on the private sshd."""
        return [SSH, *(["-tt"] if tty else ["-T"]), "-F", "/dev/null", "-p", str(self.port),
                "-i", str(self.folder / "client"), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", f"{self.user}@127.0.0.1",
                remote]

    def ready(self, timeout: float = 20.0) -> str | None:
        """None once a login works; else why not (for the skip reason)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return f"sshd exited: {self.proc.stderr.read().decode(errors='replace')[-300:]}"
            out = subprocess.run(self.ssh("echo ok", tty=False), capture_output=True, text=True,
                                 timeout=30, env=client_env())
            if out.stdout.strip() == "ok":
                return None
            time.sleep(0.3)
        return f"no login within {timeout:g} s: {out.stderr.strip()[-300:]}"

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def client_env() -> dict[str, str]:
    """The local side: COLORTERM set on purpose (ssh must not carry it), a plain xterm TERM."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TMUX", "SYNENS_COLORS", "NO_COLOR", "COLUMNS", "LINES")}
    return dict(env, COLORTERM="truecolor", TERM="xterm-256color")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
        # sshd run as root needs its privilege-separation folder, which the distribution's
        # service would create on start (Debian: RuntimeDirectory=sshd); an empty folder
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    server = Sshd(tmp_path_factory.mktemp("sshd"))
    why = server.ready()
    if why is not None:
        server.close()
        pytest.skip(f"sshd cannot run here: {why}")
    yield server
    server.close()


def remote_app(folder: Path) -> str:
    """The remote shell command: the small model in ``folder``; the Numba cache of this run."""
    model = folder / "small.npz"
    small_model(model)
    cache = os.environ.get("NUMBA_CACHE_DIR")
    env = f"NUMBA_CACHE_DIR={cache} " if cache else ""
    return (f"cd {folder} && exec env {env}{APP} {model} --save-dir {folder} "
            f"--report-dir {folder}")


def test_colorterm_is_not_forwarded(sshd):
    out = subprocess.run(sshd.ssh('echo "[$COLORTERM]"', tty=False), capture_output=True,
                         text=True, timeout=30, env=client_env())
    assert out.stdout.strip() == "[]", out


def test_over_ssh_an_xterm_answering_terminal_gets_truecolor(sshd, tmp_path):
    """The fake terminal answers DECRQSS/XTGETTCAP like xterm; the app must pick true colour,
    paint in 24-bit colour, take keys (→, ], 3, q: it stays alive and quits on q)."""
    master, proc = spawn(sshd.ssh(remote_app(tmp_path)), ROWS, COLS, client_env())
    steps = [(b"\xe2\x94\x82 truecolor ", b"\x1b[C"), (b"unsaved", b"]"), (b"step 0.", b"3"),
             (b"view 3", b"q"), (b"discard", b"y")]

    def react(out: bytearray) -> bytes:
        plain = re.sub(rb"\x1b\[[0-9;]*m", b"", bytes(out))  # text without colour codes
        return steps.pop(0)[1] if steps and steps[0][0] in plain else b""

    try:
        out = converse(master, proc, react, XTERM, answer_cpr=True)
        if not steps:
            proc.wait(timeout=30)
    finally:
        close(master, proc)
    assert not steps, f"waiting for {steps[0][0]!r}; the tail: {bytes(out[-400:])!r}"
    assert b"256 colours" not in out and b"\x1b[38;2;" in out
    assert proc.returncode == 0


# Every key of the README's table, as tmux send-keys names, in an order where each changes
# the screen: (keys, what must then show, "!text": what must then be gone; None: any change).
KEYS: list[tuple[list[str], str | None]] = [
    (["Down"], None), (["Up"], None), (["j"], None), (["k"], None), (["PageDown"], None),
    (["PageUp"], None), (["g"], "Go to synapse"), (["Escape"], "!Go to synapse"),
    (["n"], None), (["N"], None), (["Right"], "unsaved"), (["Left"], None), (["l"], None),
    (["h"], None), (["S-Right"], None), (["S-Left"], None), (["L"], None), (["H"], None),
    (["]"], "step 0.1 "), (["["], "step 0.05 "), (["l"], None), (["0"], None), (["l"], None),
    (["j"], None), (["l"], None), (["R"], "!unsaved"), (["u"], "unsaved"), (["C-r"], "!unsaved"),
    (["l"], "unsaved"), (["w"], "sweep w["), (["Escape"], "!sweep w["),
    (["2"], "view 2"), (["3"], "view 3"), (["4"], "view 4"), (["5"], "view 5"),
    (["6"], "view 6"), (["1"], "view 1"), (["s"], "selecting"), (["Right"], None),
    (["Down"], None), (["S-Right"], None), (["S-Down"], None), (["K"], None), (["J"], None),
    (["Space"], None), (["S-Right", "S-Right", "S-Down"], None), (["Enter"], "!No region yet"),
    (["c"], "ensemble move (k="), (["Right"], "t = +0.25 × measured step"),
    (["C"], "best-neuron move (k="), (["Left"], "t = +0.00 × measured step"),
    (["Escape"], "!× measured step"), (["d"], "Report for"),
    (["t"], "epoch"), (["t"], "stopped"), (["C-s"], "Saved the weights"),
    (["?"], "synens-tui keys"), (["Escape"], "!synens-tui keys"),
    (["C-p"], "\U0001F50E"), (["Escape"], "!\U0001F50E"),
]  # then q: the weights were just saved, so it quits at once
# (the help and the palette are waited for by their text, open and then gone: "any change" let
# the palette's own repaints stand for it closing, and the q then went into its search box)


def strip(screen: str) -> str:
    """The text of a capture-pane -e screen without its colour changes."""
    return SGR.sub("", screen)


def shown(expect: str | None, before: str):
    """The predicate on a capture-pane -e screen for one step of KEYS."""
    if expect is None:
        return lambda screen: screen != before
    if expect.startswith("!"):
        return lambda screen: expect[1:] not in strip(screen)
    return lambda screen: expect in strip(screen)


def settled(term: Tmux, timeout: float = 5.0) -> str:
    """The screen with its colours once two captures 0.2 s apart agree (or after ``timeout``)."""
    last, deadline = term.screen(True), time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = term.screen(True)
        if now == last:
            return now
        last = now
    return last


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (.ci/run installs it)")
def test_over_ssh_in_tmux_every_key_arrives(sshd, tmp_path, monkeypatch):
    monkeypatch.setattr(test_tmux, "COLS", 250)  # wide enough for the whole status bar
    monkeypatch.setattr(test_tmux, "ROWS", 60)
    command = [shutil.which("env") or "env", "-u", "TMUX",
               *(f"'{a}'" for a in sshd.ssh(remote_app(tmp_path)))]
    term = Tmux(command, tmp_path, {"TERM": "xterm-256color"})
    try:
        screen = term.wait_for(lambda s: "RMSE" in s and "│ view 1" in s, timeout=120)
        features = term.tmux("display-message", "-p", "#{client_termfeatures}")
        if "RGB" in features:
            assert "│ truecolor" in screen
        else:  # no client attached: tmux knows no features, the terminal answers no query
            assert "256 colours (" in screen and "--colors truecolor" in screen  # with the hint
        for keys, expect in KEYS:
            before = settled(term)
            term.keys(*keys)
            want = shown(expect, before)
            try:
                term.wait_for(want, timeout=60, escapes=True)
            except AssertionError as err:
                raise AssertionError(f"no effect of {keys} ({expect}): {err}") from None
        term.keys("q")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                screen = term.screen()
            except subprocess.CalledProcessError:  # the app, ssh, the pane and tmux ended
                break
            if "discard" in screen:  # the quit dialog: unsaved edits
                term.keys("y")
            time.sleep(0.2)
        else:
            raise AssertionError(f"the app did not quit on q: {term.screen()}")
    finally:
        term.close()
