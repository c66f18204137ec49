"""Command-line parsing shared by the front door (:mod:`conformance.cli`) and its verbs.

Every problem a user can fix ends with one sentence and exit code 4, bad options included, so
the verbs' parsers say so the same way rather than with argparse's usage text and exit 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import NoReturn

USAGE_ERROR = 4  # pytest.ExitCode.USAGE_ERROR, without importing pytest for every verb


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one sentence and exit code 4 rather than usage and 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: {message}; see {self.prog} --help.\n")


def split_at_double_dash(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """A verb's own arguments, and pytest's after ``--``."""
    argv = list(argv)
    if "--" not in argv:
        return argv, []
    at = argv.index("--")
    return argv[:at], argv[at + 1 :]
