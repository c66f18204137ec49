"""Which fixture cases the tests of a run read, so that the session streams only those.

A run of part of the suite (a selection, ``-k``) should not wait for every fixture DAG. So each
suite test says which cases (fixtures/cases.json) it reads, and the session triggers only their
DAGs (:func:`cases_to_stream`). What a test needs:

- a test parametrized with a case (``case`` / ``case_id``, :func:`conformance.plugin.items.case_of`)
  needs that case;
- a test that reads other cases says so with ``@pytest.mark.cases("dag-return", ...)``, one
  that asks live about fixture DAGs' runs with ``@pytest.mark.cases(dags=["dag_return"])`` (the
  cases on those DAGs); ``@pytest.mark.cases(all=True)`` is every case (a test over all
  streams), and ``@pytest.mark.cases()`` none (a test that asks the server about something
  else, such as import errors);
- a ``meta`` test (the suite checking itself) needs none;
- a suite test with neither mark nor case needs every case: forgetting the mark costs time,
  never a verdict.

A DAG that is triggered streams all its cases, not only the needed ones: they share its run,
so they cost a stream each and no extra run, and every test reading that run finds them.

Without xdist the controller reads the needs off its own collected items. Under xdist the
controller collects nothing: each worker writes the needs of its collected tests into the
session folder (:func:`write_needs`) before it reports its collection, and the controller reads
the first worker's (:func:`read_needs`) when that report makes it start the server.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from conformance.catalog.cases import Case, load_cases
from conformance.plugin.items import case_of


def cases_needed_by(item: pytest.Item, known: Mapping[str, Case]) -> set[str]:
    """The case ids one test reads (see the module docstring); ``known`` is every case by id."""
    if item.get_closest_marker("meta"):
        return set()
    mark = item.get_closest_marker("cases")
    case = case_of(item)
    if (mark is None and case is None) or (mark is not None and mark.kwargs.get("all")):
        return set(known)
    needed = {case} if case else set()
    if mark is not None:
        dags = set(mark.kwargs.get("dags", ()))
        needed |= set(mark.args) | {other.id for other in known.values() if other.dag_id in dags}
    return needed


def cases_needed(items: Iterable[pytest.Item], known: Mapping[str, Case] | None = None) -> set[str]:
    """The case ids these tests read, together."""
    known = load_cases() if known is None else known
    return {case for item in items for case in cases_needed_by(item, known)}


def unknown_cases(item: pytest.Item, known: Mapping[str, Case]) -> list[str]:
    """Case ids and DAG ids a test's ``cases`` mark names that fixtures/cases.json lacks."""
    mark = item.get_closest_marker("cases")
    if mark is None:
        return []
    dags = {case.dag_id for case in known.values()}
    return [case for case in mark.args if case not in known] + [
        f"DAG {dag}" for dag in mark.kwargs.get("dags", ()) if dag not in dags
    ]


def cases_to_stream(needed: Iterable[str] | None, cases: Mapping[str, Case]) -> list[Case]:
    """The cases the session streams: the needed ones and every other case on their DAGs, in
    file order (the trigger order); all of them when ``needed`` is None (not known)."""
    if needed is None:
        return list(cases.values())
    dags = {cases[case].dag_id for case in needed if case in cases}
    return [case for case in cases.values() if case.dag_id in dags]


def _needs_file(folder: Path, worker: str) -> Path:
    return folder / f"needs-{worker}.json"


def write_needs(folder: Path, worker: str, needed: Iterable[str]) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _needs_file(folder, worker).write_text(json.dumps(sorted(needed)))


def read_needs(folder: Path, worker: str) -> set[str] | None:
    """What a worker wrote; None when it wrote nothing (then every case is streamed)."""
    path = _needs_file(folder, worker)
    return set(json.loads(path.read_text())) if path.exists() else None
