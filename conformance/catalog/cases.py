"""Conformance cases: a /wait request on a fixture DAG, and the terminal line it must end with.

The cases are data (``fixtures/cases.json``, described by ``schemas/cases.schema.json``) so a
client author in another language can reuse them as they are. Several cases may share a DAG;
the suite then triggers one run and opens one stream per case on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from conformance.catalog.clauses import load_clauses
from conformance.catalog.versions import release
from conformance.paths import fixtures_dir

_ABSENT = object()


@attrs.frozen
class Case:
    id: str
    description: str
    dag_id: str
    query: tuple[tuple[str, str], ...] = attrs.field(converter=lambda pairs: tuple(map(tuple, pairs)))
    expect: Mapping[str, Any]
    clauses: tuple[str, ...] = attrs.field(converter=tuple)
    headers: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def interval(self) -> float | None:
        """The interval this case asks for, if any (sets the stream's read timeout)."""
        values = [float(value) for name, value in self.query if name == "interval"]
        return values[-1] if values else None

    def terminal_mismatches(self, terminal: Mapping[str, Any]) -> list[str]:
        """What differs between the expected terminal line and this one; empty when it matches."""
        return terminal_mismatches(self.expect, terminal)


def terminal_mismatches(expect: Mapping[str, Any], terminal: Mapping[str, Any]) -> list[str]:
    """What differs between a terminal line and an ``expect`` of cases.schema.json; empty when it matches."""
    problems = []
    if terminal.get("state") != expect["state"]:
        problems.append(f"state is {terminal.get('state')!r}, expected {expect['state']!r}")
    actual = terminal.get("results", _ABSENT)
    if "string_digests" in expect:
        problems += _digest_mismatches(expect["string_digests"], actual)
    elif "results" in expect:
        expected = expect["results"]
        if actual is _ABSENT:
            problems.append(f"no results key, expected results {_short(expected)}")
        elif actual != expected:
            problems.append(f"results are {_short(actual)}, expected {_short(expected)}")
        elif list(actual) != list(expected):
            problems.append(f"results keys come in order {list(actual)}, expected {list(expected)}")
    elif actual is not _ABSENT:
        problems.append(f"results are {_short(actual)}, expected no results key")
    return problems


def _digest_mismatches(digests: Mapping[str, Mapping[str, Any]], actual: Any) -> list[str]:
    if actual is _ABSENT or not isinstance(actual, dict):
        return [f"results are {_short(actual) if actual is not _ABSENT else 'absent'}, expected {sorted(digests)}"]
    if sorted(actual) != sorted(digests):
        return [f"results hold tasks {sorted(actual)}, expected {sorted(digests)}"]
    problems = []
    for task_id, digest in digests.items():
        value = actual[task_id]
        if not isinstance(value, str):
            problems.append(f"{task_id} is {type(value).__name__}, expected a string")
            continue
        if len(value) != digest["length"]:
            problems.append(f"{task_id} has length {len(value)}, expected {digest['length']}")
        if hashlib.sha256(value.encode()).hexdigest() != digest["sha256"]:
            problems.append(f"{task_id} differs from the expected string (SHA-256 mismatch)")
    return problems


def _short(value: Any, limit: int = 200) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def applicable_cases(cases: Iterable[Case], version: str) -> list[Case]:
    """The cases a server of ``version`` is asked: those naming a clause that applies to it
    (clauses.yaml since/until), so that a DAG only a later Airflow can load is never needed."""
    clauses = load_clauses()
    return [
        case
        for case in cases
        if any(clauses[clause].applies_to(version) for clause in case.clauses if clause in clauses)
    ]


def cases_new_in(cases: Iterable[Case], version: str) -> list[Case]:
    """The cases whose clauses all apply only from release ``version`` on (e.g. 3.4's loops)."""
    clauses, since = load_clauses(), release(version)
    return [
        case
        for case in cases
        if all(clauses[clause].since is not None and release(clauses[clause].since) >= since for clause in case.clauses)
    ]


def dag_ids_of(cases: Iterable[Case]) -> list[str]:
    """The fixture DAGs these cases need, once each, in case order (which is trigger order)."""
    return list(dict.fromkeys(case.dag_id for case in cases))


def load_cases() -> dict[str, Case]:
    """All cases by id, in file order."""
    document = json.loads((fixtures_dir() / "cases.json").read_text())
    cases: dict[str, Case] = {}
    for case in (Case(**entry) for entry in document["cases"]):
        if case.id in cases:
            raise ValueError(f"case {case.id} is listed twice in cases.json")
        cases[case.id] = case
    return cases
