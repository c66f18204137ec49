"""One client command on one replayed case: what it did, and whether that is what the label says.

The contract a client keeps (docs/client-authors.md): it is run as ``CMD ARGS... URL``, the URL
of one case also in ``AIRFLOW_WAIT_URL``, with no stdin. It either accepts the stream, printing
its terminal line as one JSON line (``{"state": ..., "results": ...}``; ``results`` absent or
null when the line had none) as the last line of stdout and exiting 0, or rejects it by exiting
non-zero, saying why as ``{"error": "..."}`` on stdout or in words on stderr.

The verdict on a case:

- ``pass``: it rejected a case labelled reject, or accepted one labelled accept with the terminal
  line the label expects (state, results, and the keys of results in the same order at every
  depth; large values by their digests);
- ``fail``: anything else it chose to do, with why;
- ``error``: no verdict could be had from it: it ran past the timeout, died from a signal, or
  could not be run at all (exit 126 or 127, as shells report a command they cannot run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from typing import Any

import attrs

from conformance.catalog.cases import terminal_mismatches
from conformance.clientkit.replay_cases import Label
from conformance.settings import child_environment

CANNOT_RUN = frozenset({126, 127})
TAIL = 400  # characters of stderr kept


@attrs.frozen
class Outcome:
    """What the client did on one case."""

    exit_code: int | None  # None when it timed out
    last_line: str | None  # the last non-blank line of stdout
    stderr_tail: str
    duration: float
    timed_out: bool = False


@attrs.frozen
class Judgement:
    verdict: str  # "pass", "fail" or "error"
    why: str | None  # None on a pass
    said: str | None  # in its words, briefly: the error it gave, or the line it printed


def run_client(command: Sequence[str], url: str, timeout: float) -> Outcome:
    """Run ``command + [url]`` to its end or ``timeout`` seconds, in a process group of its own.

    On a timeout the whole group is killed, so a wrapper (``npx``, a shell) takes its children
    along. FileNotFoundError and PermissionError mean the command cannot be started at all.
    """
    env = child_environment({"AIRFLOW_WAIT_URL": url})
    started = time.monotonic()
    process = subprocess.Popen(
        [*command, url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = process.communicate()
    # split on LF only: str.splitlines would also break a JSON line at a raw U+2028 or U+0085 inside a string
    lines = [line for line in out.decode("utf-8", errors="replace").split("\n") if line.strip()]
    stderr = err.decode("utf-8", errors="replace").strip()
    return Outcome(
        exit_code=None if timed_out else process.returncode,
        last_line=lines[-1] if lines else None,
        stderr_tail=stderr[-TAIL:],
        duration=time.monotonic() - started,
        timed_out=timed_out,
    )


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _parse(line: str | None) -> Any:
    if line is None:
        return None
    try:
        return json.loads(line)
    except ValueError:
        return None


def _error_said(outcome: Outcome) -> str | None:
    """Why a client rejected, in its words: its ``{"error": ...}`` line, else its stderr's last line."""
    value = _parse(outcome.last_line)
    if isinstance(value, dict) and isinstance(value.get("error"), str):
        return _short(value["error"])
    if outcome.stderr_tail:
        return _short(outcome.stderr_tail.splitlines()[-1])
    return _short(outcome.last_line) if outcome.last_line else None


def order_mismatch(expected: Any, actual: Any, where: str = "results") -> str | None:
    """Where two equal JSON values first list an object's keys in a different order, if anywhere."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        if list(expected) != list(actual):
            return f"the keys of {where} come in order {list(actual)}, expected {list(expected)}"
        for key in expected:
            found = order_mismatch(expected[key], actual[key], f"{where}.{key}")
            if found:
                return found
    elif isinstance(expected, list) and isinstance(actual, list):
        for index, (one, other) in enumerate(zip(expected, actual)):
            found = order_mismatch(one, other, f"{where}[{index}]")
            if found:
                return found
    return None


def judge(label: Label, outcome: Outcome) -> Judgement:
    """The verdict on what a client did with a case labelled ``label`` (see the module docstring)."""
    if outcome.timed_out:
        return Judgement("error", f"no answer within {outcome.duration:.0f} s: killed", None)
    code = outcome.exit_code
    assert code is not None
    if code < 0:
        return Judgement("error", f"killed by signal {-code}", _error_said(outcome))
    if code in CANNOT_RUN:
        return Judgement("error", f"exit {code}: the command could not be run", _error_said(outcome))
    if code != 0:
        said = _error_said(outcome)
        if label.verdict == "reject":
            return Judgement("pass", None, said)
        return Judgement("fail", f"rejected (exit {code}) a stream it must accept: {said or 'no reason given'}", said)
    said = _short(outcome.last_line) if outcome.last_line else None
    if label.verdict == "reject":
        return Judgement("fail", f"accepted a stream it must reject, printing {said or 'nothing'}", said)
    value = _parse(outcome.last_line)
    if not isinstance(value, dict) or "state" not in value:
        return Judgement("fail", f"exit 0, but its last line is not a terminal line: {said or 'no output'}", said)
    terminal = {key: value[key] for key in ("state", "results") if key in value and value[key] is not None}
    assert label.expect is not None
    problems = terminal_mismatches(label.expect, terminal)
    if not problems and "results" in label.expect:
        order = order_mismatch(label.expect["results"], terminal.get("results"))
        problems = [order] if order else []
    if problems:
        return Judgement("fail", "; ".join(problems), said)
    return Judgement("pass", None, said)
