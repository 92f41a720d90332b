"""The README's set-up commands and CI stay in step: CI runs the README's test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_commands() -> list[str]:
    """The shell commands of the README's Set-up block, comments stripped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Set-up.*?```sh\n(.*?)```", text, re.S)
    assert block, "README has no Set-up block"
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_has_two_setup_commands_that_make_a_venv():
    cmds = setup_commands()
    assert len(cmds) == 2
    for cmd in cmds:  # PEP 668: never a bare pip install into the system Python
        assert cmd.startswith("python3 -m venv .venv && .venv/bin/python -m pip install ")
    assert cmds[0].endswith(".venv/bin/synens-tui")
    assert "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert setup_commands()[1] in [line.strip() for line in ci]
