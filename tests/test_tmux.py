"""Real-terminal test: the installed ``synens-tui`` inside tmux, read back with capture-pane -e."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from app_fixtures import installed_script, small_model
from synens.core.files.model import Model, load_model

TMUX = shutil.which("tmux")
APP = installed_script()
pytestmark = [
    pytest.mark.skipif(TMUX is None, reason="tmux is not installed (.ci/run installs it)"),
    pytest.mark.skipif(APP is None, reason="synens-tui is not installed (pip install -e .)"),
]
COLS, ROWS = 140, 40
#: Safety net of every wait on the app: only a hung app waits this long, a working one returns
#: as soon as the awaited screen or file is there.
LIMIT = 180.0
SGR = re.compile(r"\x1b\[([0-9;]*)m")


class Tmux:
    """One detached tmux server and session running a command."""

    def __init__(self, command: list[str], cwd, env: dict[str, str]) -> None:
        self.sock = f"synens-test-{uuid.uuid4().hex[:8]}"
        self.conf = cwd / "tmux.conf"  # the size must hold before the app starts
        self.conf.write_text(f"set -g default-size {COLS}x{ROWS}\nset -g status off\n")
        args = ["new-session", "-d", "-s", "t", "-x", str(COLS), "-y", str(ROWS)]
        for key, value in env.items():
            args += ["-e", f"{key}={value}"]
        self.tmux(*args, " ".join(command), cwd=cwd)

    def tmux(self, *args: str, cwd=None) -> str:
        # COLUMNS/LINES (pytest may set them) would override the pane's real size
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
        out = subprocess.run([TMUX, "-L", self.sock, "-f", str(self.conf), *args], cwd=cwd,
                             env=env, capture_output=True, text=True, timeout=30, check=True)
        return out.stdout

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "t", key)
            time.sleep(0.05)

    def screen(self, escapes: bool = False) -> str:
        return self.tmux("capture-pane", "-t", "t", "-p", *(["-e"] if escapes else []))

    def wait_for(self, predicate, timeout: float = LIMIT, escapes: bool = False) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen(escapes)
            if predicate(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; the screen shows:\n{self.screen()}")
            time.sleep(0.2)

    def app_pids(self) -> list[int]:
        """The pane's process and its children (the app, whether or not a shell wraps it)."""
        pane = int(self.tmux("display-message", "-p", "-t", "t", "#{pane_pid}").strip())
        kids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended meanwhile
                continue
            if int(fields[1]) == pane:  # field 4 of /proc/PID/stat: the parent's pid
                kids.append(int(stat.parent.name))
        return [pane, *kids]

    def close(self) -> None:
        subprocess.run([TMUX, "-L", self.sock, "-f", str(self.conf), "kill-server"],
                       capture_output=True, timeout=30)


def wait_until(condition, what: str, limit: float = LIMIT) -> None:
    """Poll ``condition()`` until it holds; fail naming ``what`` after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up after {limit:.0f} s waiting for {what}"
        time.sleep(0.2)


def wait_gone(pids: list[int], timeout: float = 15.0) -> None:
    """Wait until none of ``pids`` is alive (a hung-up app must end, not linger)."""
    deadline = time.monotonic() + timeout
    while any(os.path.exists(f"/proc/{pid}") for pid in pids):
        assert time.monotonic() < deadline, f"still running after a hang-up: {pids}"
        time.sleep(0.2)


def weight_of(screen: str, synapse: int) -> str:
    """The weight column of a synapse's line in the table."""
    m = re.search(rf"^.*?\s{synapse} bias→0\s+([+-]\d+\.\d+)", screen, re.M)
    assert m, screen
    return m.group(1)


def truecolor_half_blocks(escaped: str) -> int:
    """Count '▀' cells whose foreground and background are both 24-bit (38;2 / 48;2) colours.

    capture-pane -e writes only the changes of the SGR state, one sequence per attribute.
    """
    count, fg, bg, pos = 0, False, False, 0
    for m in SGR.finditer(escaped):
        if fg and bg:
            count += escaped.count("▀", pos, m.start())
        codes = m.group(1).split(";") if m.group(1) else ["0"]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c in ("0", ""):
                fg = bg = False
            elif c in ("38", "48"):
                rgb = codes[i + 1] == "2"
                fg, bg = (rgb, bg) if c == "38" else (fg, rgb)
                i += 4 if rgb else 2
            elif c == "39" or c.startswith("3") and len(c) == 2:
                fg = False
            elif c == "49" or c.startswith("4") and len(c) == 2:
                bg = False
            i += 1
        pos = m.end()
    if fg and bg:
        count += escaped.count("▀", pos)
    return count


ENV = {"COLORTERM": "truecolor", "TERM": "xterm-256color"}


def open_small_model(tmp_path: Path, option: str) -> tuple[Path, Model, Path, Tmux]:
    """The small model in tmux with ``option`` (--report-dir or --save-dir) set to a new folder."""
    model = tmp_path / "small.npz"
    original = small_model(model)
    folder = tmp_path / option.strip("-")
    folder.mkdir()
    return model, original, folder, Tmux([APP, str(model), option, str(folder)], tmp_path, ENV)


def test_synens_tui_in_tmux(tmp_path):
    model, _, reports, term = open_small_model(tmp_path, "--report-dir")
    try:
        screen = term.wait_for(lambda s: "small.npz" in s and "RMSE" in s)
        assert "truecolor" in screen
        escaped = term.wait_for(lambda s: truecolor_half_blocks(s) > 200, escapes=True)
        assert truecolor_half_blocks(escaped) > 200
        before = weight_of(screen, 0)
        term.keys("l")
        after = weight_of(term.wait_for(lambda s: weight_of(s, 0) != before), 0)
        assert float(after) == pytest.approx(float(before) + 0.05, abs=2e-3)
        term.keys("u")
        term.wait_for(lambda s: weight_of(s, 0) == before and "unsaved" not in s)
        term.keys("s", "Left", "Up", "Up", "Space", "Right", "Right", "Right", "Down", "Enter")
        screen = term.wait_for(lambda s: "ensemble:" in s)
        rect = re.search(r"region (\d+,\d+,\d+,\d+)", screen).group(1)
        term.keys("d")  # the report waits for the region's null (20 boxes) in a worker
        wait_until(lambda: list(reports.glob("*.txt")), "the dumped report")
        (dump,) = reports.glob("*.txt")
        assert dump.name == f"synens-report-{rect.replace(',', '-')}.txt"
        cli = subprocess.run([APP, "report", str(model), "--region", rect], capture_output=True,
                             text=True, timeout=600, check=True).stdout
        lines = dump.read_text().splitlines()
        assert lines[0] == cli.splitlines()[0]  # the same format: synens-report/2
        summary = [line for line in cli.splitlines() if line.startswith("ensemble:")]
        assert summary and summary[0] in lines
        # the ensemble pane shows the same line (wrapped in the side pane: its first part)
        assert summary[0].split(";")[0] in term.screen()
        term.keys("q")
    finally:
        term.close()


def test_a_closed_terminal_keeps_unsaved_edits(tmp_path):
    """SIGHUP (tmux killed, SSH dropped) with unsaved edits writes an autosave model."""
    _, original, saves, term = open_small_model(tmp_path, "--save-dir")
    try:
        screen = term.wait_for(lambda s: "small.npz" in s and "RMSE" in s)
        before = weight_of(screen, 0)
        term.keys("l", "l")
        term.wait_for(lambda s: "unsaved" in s and weight_of(s, 0) != before)
        pids = term.app_pids()
    finally:
        term.close()  # kill-server: the app gets SIGHUP
    wait_gone(pids)
    wait_until(lambda: list(saves.glob("*-autosave*.npz")), "the autosave file")
    (kept,) = saves.glob("*-autosave*.npz")
    weights = load_model(kept).weights
    assert weights[0] == pytest.approx(original.weights[0] + 0.1, abs=1e-9)
    assert np.array_equal(weights[1:], original.weights[1:])


def test_a_closed_terminal_without_edits_writes_nothing(tmp_path):
    _, _, saves, term = open_small_model(tmp_path, "--save-dir")
    try:
        term.wait_for(lambda s: "small.npz" in s and "RMSE" in s)
        pids = term.app_pids()
    finally:
        term.close()
    wait_gone(pids)
    assert list(saves.iterdir()) == []
