"""Running the `station` command in tests without depending on the terminal's width.

Rich (typer's error panels, `station broker check`'s table) wraps text to the terminal
— 80 columns under CliRunner — so a long temporary path could move "does not exist"
onto the next line, between box borders, and a test would go red for a newcomer.
Every CLI test runs wide (``COLUMNS``) *and* matches on :func:`flat` output.
"""

from __future__ import annotations

import re

from typer.testing import CliRunner

WIDE = {"COLUMNS": "500", "TERMINAL_WIDTH": "500"}
_BOX = re.compile(r"[│┃║╭╮╰╯─━═┌┐└┘├┤┬┴┼╷╵]+")


def invoke(app, args: list[str], **kwargs):
    """``CliRunner().invoke`` with a wide terminal."""
    env = {**WIDE, **kwargs.pop("env", {})}
    return CliRunner().invoke(app, args, env=env, **kwargs)


def flat(text: str) -> str:
    """The text without box-drawing borders and with every run of whitespace one space."""
    return " ".join(_BOX.sub(" ", text).split())
