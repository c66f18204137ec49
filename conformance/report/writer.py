"""The conformance report: one verdict per clause, with the tests and the evidence behind it.

``--conformance-report DIR`` writes three files there: ``junit.xml`` (pytest's own),
``report.json`` (described by ``schemas/report.schema.json`` and validated against it before it
is written; its versions: :mod:`conformance.report.format`) and ``report.html``
(:mod:`conformance.report.html`, rendered from the JSON alone).

A clause outside the run's selection (:mod:`conformance.catalog.selection`: ``--clause``, ``--area``,
``--level``) gets ``not-selected``, whatever its tests did: a test that ran for a selected
clause it also names says nothing the user asked about this one. The report's ``selection``
holds what was given (null for the whole suite).

A clause whose ``since``/``until`` (clauses.yaml) leaves out the run's Airflow version gets
``not-applicable``, whatever its tests did: the plugin skips them, and one that ran for another
clause it names says nothing about this one. Otherwise the verdict sums up the tests naming it;
the worst outcome wins:

==================== =============================================================
``fail``             a test failed (a declared divergence failing some other way too)
``unexpected-pass``  a test of a declared divergence passed: the expectation is stale
``expected-divergence`` a test failed as expectations.yaml declares for this version
``pass``             every test that ran passed, leaving aside those that found the
                     feature missing
``absent``           every test that ran found the feature missing (they carry the
                     user property ``feature_absent``)
``untested``         no test of it ran, or all were skipped
==================== =============================================================

``absent`` and ``not-applicable`` both mean nothing could be checked, for different reasons:
``absent`` is measured (this server lacks the DAG Result feature), ``not-applicable`` declared
(the catalog says the clause is about other versions). Neither counts as a pass.

A test that found the feature missing ranks below a pass: on an Airflow without the feature
(3.2) a clause about the /wait endpoint is judged on the streams that Airflow could produce,
and its tests on fixture DAGs that cannot load there do not make it ``absent``.

Everything arrives through pytest's test reports, so it works the same under xdist: clause ids
and ``feature_absent`` as user properties, evidence and ``doc_example`` marks as the JSON
attribute :data:`REPORT_ATTRIBUTE`, which xdist carries with the report. So does a failure's
``reproduce`` (:mod:`conformance.report.reproduce`), which a failed or unexpectedly passing test's
entry carries.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from conformance.catalog.clauses import Clause
from conformance.catalog.selection import WHOLE, Selection
from conformance.catalog.versions import is_prerelease
from conformance.report.format import REPORT_VERSION
from conformance.report.html import render
from conformance.schemas import validator
from conformance.verdicts import VERDICTS
from conformance.wire import notes

REPORT_ATTRIBUTE = "conformance_json"
FEATURE_ABSENT = "feature_absent"
NOT_APPLICABLE = "not_applicable"  # user property of a test skipped because none of its clauses applies to the version
SCHEMA = "report.schema.json"
MESSAGE_LIMIT = 2000


class ReportError(Exception):
    """The report could not be written: it does not match its own schema."""


@attrs.frozen
class TestResult:
    """One test, all its phases summed up."""

    __test__ = False  # not a test class, whatever its name

    nodeid: str
    clauses: tuple[str, ...]
    outcome: str  # passed, failed, skipped, expected-divergence, unexpected-pass
    duration_s: float
    message: str | None
    evidence: tuple[Mapping[str, Any], ...] = ()
    feature_absent: str | None = None
    doc_example: Mapping[str, str] | None = None
    reproduce: Mapping[str, Any] | None = None  # how to reproduce a failure (conformance.report.reproduce)
    notes: tuple[Mapping[str, Any], ...] = ()  # what it saw that is no failure (conformance.wire.notes)


def phase_outcome(report: pytest.TestReport) -> str:
    """One phase's outcome, with strict xfails told apart from plain failures and skips."""
    if hasattr(report, "wasxfail"):
        return "expected-divergence" if report.skipped else "unexpected-pass"
    if report.failed and str(report.longrepr).startswith("[XPASS(strict)]"):
        return "unexpected-pass"
    return report.outcome


def declared_outcome(failed: bool, diverging: bool) -> str:
    """A test's outcome when its clause may be a declared divergence (a strict xfail, as the
    plugin runs it): for checks judged without pytest, such as the replay of recorded streams."""
    if diverging:
        return "expected-divergence" if failed else "unexpected-pass"
    return "failed" if failed else "passed"


_TEST_OUTCOMES = ("failed", "unexpected-pass", "expected-divergence", "skipped", "passed")  # worst first
REPRODUCED = ("failed", "unexpected-pass")  # the outcomes whose report entry says how to reproduce them


def _message(report: pytest.TestReport) -> str | None:
    if report.passed and not hasattr(report, "wasxfail"):
        return None
    if hasattr(report, "wasxfail") and report.skipped:
        text = report.wasxfail
    elif isinstance(report.longrepr, tuple):  # a skip: (path, line, "Skipped: why")
        text = report.longrepr[2].removeprefix("Skipped: ")
    elif crash := getattr(report.longrepr, "reprcrash", None):
        # its first line: the assertion's own message if it has one, else pytest's "assert ..."
        text = crash.message.removeprefix("AssertionError: ").strip().split("\n")[0]
    else:
        text = str(report.longrepr).strip()
    return text[:MESSAGE_LIMIT] or None


class Collector:
    """Test reports in (every phase, from any process), one :class:`TestResult` per test out."""

    def __init__(self) -> None:
        self._phases: dict[str, list[pytest.TestReport]] = {}

    def add(self, report: pytest.TestReport) -> None:
        self._phases.setdefault(report.nodeid, []).append(report)

    def results(self) -> list[TestResult]:
        return [self._result(nodeid, phases) for nodeid, phases in self._phases.items()]

    @staticmethod
    def _result(nodeid: str, phases: list[pytest.TestReport]) -> TestResult:
        outcomes = {phase_outcome(report): report for report in phases if report.when == "call" or not report.passed}
        outcome = next((o for o in _TEST_OUTCOMES if o in outcomes), "passed")
        properties = [pair for report in phases for pair in report.user_properties]
        extra: dict[str, Any] = {}
        for report in phases:
            extra |= json.loads(getattr(report, REPORT_ATTRIBUTE, None) or "{}")
        return TestResult(
            nodeid=nodeid,
            clauses=tuple(dict.fromkeys(value for name, value in properties if name == "clause")),
            outcome=outcome,
            duration_s=round(sum(report.duration for report in phases), 3),
            message=_message(outcomes[outcome]) if outcome in outcomes else None,
            evidence=tuple(extra.get("evidence", ())),
            feature_absent=next((str(value) for name, value in properties if name == FEATURE_ABSENT), None),
            doc_example=extra.get("doc_example"),
            reproduce=extra.get("reproduce") if outcome in REPRODUCED else None,
            notes=tuple(extra.get("notes", ())),
        )


def clause_verdict(tests: Sequence[TestResult], applicable: bool = True, selected: bool = True) -> str:
    """The verdict on a clause from the tests naming it (see the module docstring).

    ``applicable`` is whether the clause applies to the run's Airflow version at all;
    ``selected`` whether the run's selection includes it (checked first: not asked, not judged).
    """
    if not selected:
        return "not-selected"
    if not applicable:
        return "not-applicable"
    absent = [test for test in tests if test.feature_absent and test.outcome != "passed"]
    outcomes = {test.outcome for test in tests if test not in absent}
    if "failed" in outcomes:
        return "fail"
    if "unexpected-pass" in outcomes:
        return "unexpected-pass"
    if "expected-divergence" in outcomes:
        return "expected-divergence"
    if "passed" in outcomes:
        return "pass"
    if absent:
        return "absent"
    return "untested"


@attrs.frozen
class Run:
    """What the report says about the run as a whole."""

    suite_version: str
    airflow_version: str | None
    target: str | None
    database: str | None
    description: str | None
    started: datetime
    duration_s: float


def build(
    run: Run,
    results: Iterable[TestResult],
    clauses: Mapping[str, Clause],
    divergences: Mapping[str, str],
    selection: Selection = WHOLE,
    run_notes: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The report.json document (a dict), clauses in catalog order, tests by node id.

    ``run_notes`` are recorded notes about the run as a whole (:mod:`conformance.report.unmeasured`),
    listed before those of the tests, with the session as their witness.
    """
    results = sorted(results, key=lambda test: test.nodeid)
    by_clause: dict[str, list[TestResult]] = {clause_id: [] for clause_id in clauses}
    for test in results:
        for clause_id in test.clauses:
            by_clause.setdefault(clause_id, []).append(test)
    entries = [
        _clause_entry(
            clause,
            by_clause[clause.id],
            divergences.get(clause.id),
            _applies(clause, run.airflow_version),
            selection.selects(clause),
        )
        for clause in clauses.values()
    ]
    absent = next((test.feature_absent for test in results if test.feature_absent), None)
    counts = Counter(entry["verdict"] for entry in entries)
    return {
        "report_version": REPORT_VERSION,
        "suite": {"name": "airflow-dag-result-conformance", "version": run.suite_version},
        "airflow": {
            "version": run.airflow_version,
            "prerelease": is_prerelease(run.airflow_version),
            "target": run.target,
            "database": run.database,
            "description": run.description,
        },
        "feature": {"present": absent is None, "reason": absent},
        "started": run.started.isoformat(timespec="seconds"),
        "duration_s": round(run.duration_s, 1),
        "selection": selection.as_json(),
        "summary": {verdict: counts[verdict] for verdict in VERDICTS},
        "clauses": entries,
        "doc_examples": _doc_examples(results),
        "notes": notes.gather(
            [
                *((notes.SESSION, note) for note in run_notes),
                *((test.nodeid, note) for test in results for note in test.notes),
            ]
        ),
    }


def _applies(clause: Clause, version: str | None) -> bool:
    """Whether a clause applies to the run's version; with the version unknown, every clause does."""
    return version is None or clause.applies_to(version)


def _clause_entry(
    clause: Clause, tests: list[TestResult], divergence: str | None, applicable: bool, selected: bool
) -> dict[str, Any]:
    return {
        "id": clause.id,
        "level": clause.level,
        "area": clause.area,
        "statement": clause.statement,
        "source": clause.source,
        "note": clause.note,
        "since": clause.since,
        "until": clause.until,
        "verdict": clause_verdict(tests, applicable, selected),
        "divergence": divergence,
        "tests": [
            {"nodeid": test.nodeid, "outcome": test.outcome, "duration_s": test.duration_s, "message": test.message}
            | ({"reproduce": dict(test.reproduce)} if test.reproduce else {})
            for test in tests
        ],
        "evidence": [{"test": test.nodeid, **item} for test in tests for item in test.evidence],
    }


def _doc_examples(results: list[TestResult]) -> list[dict[str, Any]]:
    """One entry per doc example id; it works as written only if every test of it passed."""
    examples: dict[str, dict[str, Any]] = {}
    for test in results:
        if test.doc_example is None:
            continue
        example = examples.setdefault(
            test.doc_example["id"],
            {"id": test.doc_example["id"], "text": test.doc_example["text"], "works_as_written": True, "detail": []},
        )
        example["works_as_written"] &= test.outcome == "passed"
        if test.outcome != "passed":
            example["detail"].append(f"{test.nodeid}: {test.outcome}" + (f": {test.message}" if test.message else ""))
    return [
        {**example, "detail": "; ".join(example["detail"]) or "every test of it passed"}
        for example in examples.values()
    ]


def problems(report: Mapping[str, Any]) -> list[str]:
    """Where ``report`` does not match schemas/report.schema.json, one sentence each."""
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in validator(SCHEMA).iter_errors(report)
    ]


def write(report: Mapping[str, Any], directory: Path) -> tuple[Path, Path]:
    """report.json and report.html in ``directory``; refuses a report its schema rejects."""
    if errors := problems(report):
        raise ReportError(f"the report does not match {SCHEMA}: " + "; ".join(errors[:5]))
    directory.mkdir(parents=True, exist_ok=True)
    json_path, html_path = directory / "report.json", directory / "report.html"
    json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    html_path.write_text(render(report))
    return json_path, html_path
