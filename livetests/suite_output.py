"""Reading a suite run's output as it happens, for the livetests that signal it at a moment."""

from __future__ import annotations

import subprocess
import time

import pytest


def wait_for_line(process: subprocess.Popen[str], text: str, timeout: float = 180) -> list[str]:
    """The suite's output up to the first line holding ``text``; fails with the output if none does."""
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    pytest.fail(f"the suite never printed {text!r}; its output:\n{''.join(seen)[-3000:]}")
