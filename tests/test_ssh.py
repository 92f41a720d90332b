"""Real SSH: the installed ``synens-tui`` through ``ssh -tt`` to a private sshd on 127.0.0.1.

A throw-away sshd (temp host key, temp authorized key, a free loopback port) that accepts no
environment, so COLORTERM is not forwarded, as with a stock sshd. Twice:
* in a pty whose fake terminal answers the colour queries like xterm: true colour is chosen;
* inside tmux: 256 colours with the hint unless tmux reports RGB for its client; and every
  key of the README's key table is sent and must change the screen (read with capture-pane).
Skipped, with the reason, where sshd cannot run (CI installs openssh-server).
"""

from __future__ import annotations

import fcntl
import getpass
import os
import select
import shutil
import socket
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
from app_fixtures import installed_script, small_model
from test_termcaps import XTERM
from test_tmux import COLS, ROWS, Tmux

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
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    proc = subprocess.Popen(sshd.ssh(remote_app(tmp_path)), stdin=slave, stdout=slave,
                            stderr=slave, env=client_env(), start_new_session=True)
    os.close(slave)
    out, pending = bytearray(), dict(XTERM)
    steps = [(b"\xe2\x94\x82 truecolor ", b"\x1b[C"), (b"unsaved", b"]"), (b"step 0.", b"3"),
             (b"view 3", b"q"), (b"discard", b"y")]
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.05)[0]:
                try:
                    out += os.read(master, 65536)
                except OSError:
                    break
            for request in [r for r in pending if r in out]:
                os.write(master, pending.pop(request))
            if steps and steps[0][0] in out:
                os.write(master, steps.pop(0)[1])
        if not steps:
            proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert not steps, f"waiting for {steps[0][0]!r}; the tail: {bytes(out[-400:])!r}"
    assert b"256 colours" not in out and b"\x1b[38;2;" in out
    assert proc.returncode == 0


# Every key of the README's table, as tmux send-keys names, in an order where each changes
# what the screen shows (a run of keys is one step; the last key's effect is what is checked).
KEYS = [
    ["Down"], ["Up"], ["j"], ["k"], ["PageDown"], ["PageUp"], ["g"], ["Escape"], ["n"], ["N"],
    ["Right"], ["Left"], ["l"], ["h"], ["S-Right"], ["S-Left"], ["L"], ["H"], ["]"], ["["],
    ["l"], ["0"], ["l"], ["j"], ["l"], ["R"], ["u"], ["C-r"], ["w"], ["Escape"],
    ["2"], ["3"], ["4"], ["5"], ["6"], ["1"],
    ["s"], ["Right"], ["Down"], ["S-Right"], ["S-Down"], ["K"], ["J"], ["Space"],
    ["S-Right", "S-Right", "S-Down"], ["Enter"], ["c"], ["Right"], ["Left"], ["Escape"], ["d"],
    ["t"], ["t"], ["C-s"], ["?"], ["Escape"], ["C-p"], ["Escape"], ["q"],
]


def settled(term: Tmux, timeout: float = 5.0) -> str:
    """The screen once two captures 0.2 s apart agree (or after ``timeout``)."""
    last, deadline = term.screen(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = term.screen()
        if now == last:
            return now
        last = now
    return last


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (.ci/run installs it)")
def test_over_ssh_in_tmux_every_key_arrives(sshd, tmp_path):
    command = [shutil.which("env") or "env", "-u", "TMUX",
               *(f"'{a}'" for a in sshd.ssh(remote_app(tmp_path)))]
    term = Tmux(command, tmp_path, {"TERM": "xterm-256color"})
    try:
        screen = term.wait_for(lambda s: "RMSE" in s and "│ view 1" in s, timeout=120)
        features = term.tmux("display-message", "-p", "#{client_termfeatures}")
        if "RGB" in features:
            assert "│ truecolor" in screen
        else:  # no client attached: tmux knows no features, the terminal answers no query
            assert "256 colours (--colors truecolor" in screen
        for keys in KEYS:
            before = settled(term)
            term.keys(*keys)
            after = term.wait_for(lambda s, b=before: s != b, timeout=60)
            assert after != before, keys
            if keys == ["Enter"]:  # the analysis runs in a worker; wait for its answer
                term.wait_for(lambda s: "analysing" not in s, timeout=120)
            if keys == ["t"] and "training" in after:
                term.wait_for(lambda s: "epoch" in s, timeout=60)
        term.wait_for(lambda s: "discard" in s, timeout=30)  # the quit dialog (unsaved edits)
        term.keys("y")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if "RMSE" not in term.screen():
                    break
            except subprocess.CalledProcessError:  # the pane, and the session, have ended
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the app did not quit on q, y")
    finally:
        term.close()
