"""What the harness is doing while a person waits: the boot, DAG parsing, the runs.

Harness code reports through the ``conformance.live.progress`` logger, so a target or the session
needs nothing passed down to say what it is doing, and whoever runs it decides how to show it.
There are three kinds of message:

- a *step* (:func:`step`): something that happened and stays on screen ("22 fixture DAGs
  present", "scheduler healthy");
- a *status* (:func:`status`): where a wait stands, superseded by the next status ("runs: 14
  of 22 finished"); a wait may report one every poll;
- a *detail* (:func:`detail`): per-stream lines, shown only when asked for (``-v``).

:class:`Display` is the one way of showing them: on a terminal, the status is one line
rewritten in place; elsewhere (CI logs) a status is printed only when it has changed and a
few seconds have passed since the last one, so a slow boot shows up as a handful of lines
rather than one per poll.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

LOGGER = logging.getLogger("conformance.live.progress")
_STATUS = "conformance_status"


def step(message: str) -> None:
    LOGGER.info(message)


def status(message: str) -> None:
    LOGGER.info(message, extra={_STATUS: True})


def detail(message: str) -> None:
    LOGGER.debug(message)


class Display(logging.Handler):
    """Shows progress records through two callables: one that writes a whole line, and one
    that rewrites the current line in place (``None`` where the output is not a terminal).

    ``every`` is the least time between two statuses printed as lines (not on a terminal).
    """

    def __init__(
        self,
        write_line: Callable[[str], None],
        rewrite: Callable[[str], None] | None = None,
        *,
        prefix: str = "",
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(logging.DEBUG)
        self.write_line, self.rewrite, self.prefix, self.every, self.clock = write_line, rewrite, prefix, every, clock
        self._open = False  # a status line is on screen, not yet ended by a newline
        self._last_status: str | None = None
        self._last_printed = float("-inf")

    def emit(self, record: logging.LogRecord) -> None:
        text = self.prefix + record.getMessage()
        if getattr(record, _STATUS, False):
            self._show_status(text)
        elif self._open:  # a step replaces the status line, and the next status starts below it
            self.rewrite(text)
            self.write_line("")
            self._open = False
        else:
            self.write_line(text)

    def _show_status(self, text: str) -> None:
        if text == self._last_status:
            return
        self._last_status = text
        if self.rewrite is not None:
            self.rewrite(text)
            self._open = True
        elif self.clock() - self._last_printed >= self.every:
            self.write_line(text)
            self._last_printed = self.clock()

    def close(self) -> None:
        if self._open:
            self.write_line("")
            self._open = False
        super().close()


@contextmanager
def displayed(display: Display, verbose: bool = False) -> Iterator[Display]:
    """Route progress to ``display`` for the duration of the block, and only there."""
    previous = LOGGER.level, LOGGER.propagate
    LOGGER.setLevel(logging.DEBUG if verbose else logging.INFO)
    LOGGER.propagate = False
    LOGGER.addHandler(display)
    try:
        yield display
    finally:
        LOGGER.removeHandler(display)
        LOGGER.setLevel(previous[0])
        LOGGER.propagate = previous[1]
        display.close()


def to_stream(stream: TextIO, prefix: str = "") -> None:
    """For a command-line tool: show progress on ``stream`` for the rest of the process."""

    def write_line(text: str) -> None:
        print(text, file=stream, flush=True)

    def rewrite(text: str) -> None:
        stream.write(f"\r{text}\x1b[K")
        stream.flush()

    display = Display(write_line, rewrite if stream.isatty() else None, prefix=prefix)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
    LOGGER.addHandler(display)


class RunBoard:
    """How many runs have finished, for the progress status: a run counts once all its streams ended."""

    def __init__(self, dag_ids: list[str], dag_of_case: dict[str, str], started: float) -> None:
        self.open = {dag_id: {case for case, dag in dag_of_case.items() if dag == dag_id} for dag_id in dag_ids}
        self.streams, self.started = len(dag_of_case), started

    def ended(self, case_id: str) -> None:
        for cases in self.open.values():
            cases.discard(case_id)

    def line(self) -> str:
        pending = [dag_id for dag_id, cases in self.open.items() if cases]
        ended = self.streams - sum(len(cases) for cases in self.open.values())
        text = (
            f"runs: {len(self.open) - len(pending)} of {len(self.open)} finished, "
            f"{ended} of {self.streams} streams ended, {time.monotonic() - self.started:.0f} s"
        )
        if 0 < len(pending) <= 3:
            text += f"; waiting for {', '.join(pending)}"
        return text
