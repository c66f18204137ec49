"""Stream-level checks, shared by the live suite and the offline replay of recorded streams.

Each check takes the raw lines of a /wait body (terminators included, as recorded) and returns
sentences describing what is wrong; an empty list means the stream passes. Keeping them here,
not in the tests, lets the same rules run against a live server and against
``fixtures/streams/`` without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance.schemas import validator
from conformance.wire import ndjson, strict_json


def _values(raw_lines: Sequence[str]) -> list[Any]:
    """Parsed lines; one that does not parse counts as an empty object (framing reports it)."""
    values = []
    for raw in raw_lines:
        try:
            value = strict_json.loads(raw)
        except ValueError:
            value = {}
        values.append(value if isinstance(value, dict) else {})
    return values


def framing_problems(raw_lines: Sequence[str]) -> list[str]:
    """Every line ends with a newline and is one JSON object valid against wait-line.schema.json."""
    problems = []
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.endswith("\n"):
            problems.append(f"line {number} has no newline: {raw[:100]!r}")
        try:
            value = strict_json.loads(raw)
        except ValueError as exc:
            problems.append(f"line {number} is not JSON ({exc}): {raw[:100]!r}")
            continue
        problems += [
            f"line {number} {raw[:100]!r}: {error.message}"
            for error in validator("wait-line.schema.json").iter_errors(value)
        ]
    return problems


def terminal_problems(raw_lines: Sequence[str], final_state: str | None = None) -> list[str]:
    """Exactly one line has a finished state, it is the last, and it agrees with the run."""
    values = _values(raw_lines)
    states = [value.get("state") for value in values]
    terminal = [index for index, value in enumerate(values) if ndjson.is_terminal(value)]
    problems = []
    if terminal != [len(states) - 1]:
        problems.append(f"expected one terminal line, last; states in order: {states}")
    if final_state is not None and states and states[-1] != final_state:
        problems.append(f"the stream ended {states[-1]!r} but the run is {final_state!r}")
    return problems


def poll_line_problems(raw_lines: Sequence[str]) -> list[str]:
    """Lines before the run finished carry no results: results appear only at the end. Other
    keys are not this check's business (:func:`unknown_keys`)."""
    return [
        f"line {number} carries results before the run finished: {raw[:100]!r}"
        for number, (raw, value) in enumerate(zip(raw_lines, _values(raw_lines)), start=1)
        if not ndjson.is_terminal(value) and "results" in value
    ]


def unknown_keys(raw_lines: Sequence[str]) -> dict[str, list[int]]:
    """Keys no clause knows (:data:`conformance.wire.ndjson.KNOWN_KEYS`), each with the numbers of
    the lines that carry it: a later Airflow may add keys, which readers ignore, so they are
    reported as notes, never judged."""
    found: dict[str, list[int]] = {}
    for number, value in enumerate(_values(raw_lines), start=1):
        for key in ndjson.unknown_keys(value):
            found.setdefault(key, []).append(number)
    return found


def error_body_problems(body: Any) -> list[str]:
    """Where an error response's parsed body does not match http-error.schema.json."""
    return [error.message for error in validator("http-error.schema.json").iter_errors(body)]
