"""Shared setup for the harness's offline tests: pytester, and a report built from recordings."""

import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from conformance.catalog.cases import load_cases
from conformance.catalog.clauses import load_clauses
from conformance.catalog.expectations import divergences_for
from conformance.clientkit.recordings import body_lines, load_fixture, load_manifest, received_headers
from conformance.report.evidence import Evidence
from conformance.report.writer import Run, TestResult, build, declared_outcome
from conformance.suite import test_results, test_stream
from conformance.wire.checks import framing_problems, poll_line_problems, terminal_problems
from conformance.wire.stream import Line, Transcript

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def no_github_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the fake runs and comparisons of these tests off a real CI job's summary page."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def recorded_transcript(case_id: str) -> Transcript:
    """A committed recording (fixtures/streams/) as the session would have recorded it."""
    fixture = load_fixture(case_id)
    request, response = fixture["request"], fixture["response"]
    return Transcript(
        case_id=case_id,
        path=request["path"],
        query=request["query"],
        request_headers=request["headers"],
        sent_at=0.0,
        status=response["status"],
        headers=received_headers(response),
        lines=[Line(raw, at) for raw, at in zip(body_lines(fixture), fixture["arrivals"])],
    )


def node(test: Callable[..., Any]) -> str:
    """A suite test's node id below conformance/suite/, from the function itself."""
    return f"{Path(inspect.getfile(test)).name}::{test.__name__}"


def suite_test(test: Callable[..., Any]) -> tuple[str, tuple[str, ...]]:
    """A suite test's node id and the clauses its marks name (what the replay stands in for)."""
    return node(test), tuple(
        clause for mark in getattr(test, "pytestmark", []) if mark.name == "clause" for clause in mark.args
    )


def replayed_results(version: str, database: str) -> list[TestResult]:
    """The suite's terminal-line and stream checks, replayed on the recordings instead of a server.

    Only the cases recorded so far: a case added since (its DAG not yet run live) has no stream
    to replay, and tests/test_recordings.py already fails until it is recorded; here its clauses
    stay untested, as the request clauses do."""
    divergences = divergences_for(version, database)
    recorded = {entry["id"] for entry in load_manifest()["cases"]}
    results = []
    for case in (case for case in load_cases().values() if case.id in recorded):
        transcript = recorded_transcript(case.id)
        raw = [line.raw for line in transcript.lines]
        terminal = transcript.lines[-1].value()
        checks = {
            (node(test_results.test_terminal_line), case.clauses): (
                case.terminal_mismatches(terminal),
                case.expect,
                terminal,
            ),
            suite_test(test_stream.test_every_line_is_a_newline_terminated_valid_object): (
                framing_problems(raw),
                [],
                None,
            ),
            suite_test(test_stream.test_exactly_one_terminal_line_and_it_is_last): (terminal_problems(raw), [], None),
            suite_test(test_stream.test_results_only_on_the_terminal_line): (poll_line_problems(raw), [], None),
        }
        for (test, clauses), (problems, expected, actual) in checks.items():
            evidence = Evidence()
            evidence.transcript(transcript)
            evidence.compare(expected=expected, actual=problems if actual is None else actual)
            diverging = [clause for clause in clauses if clause in divergences]
            outcome = declared_outcome(failed=bool(problems), diverging=bool(diverging))
            message = "; ".join(divergences[c] for c in diverging) if diverging else "; ".join(problems) or None
            results.append(
                TestResult(
                    nodeid=f"conformance/suite/{test}[{case.id}]",
                    clauses=tuple(clauses),
                    outcome=outcome,
                    duration_s=0.01,
                    message=message,
                    evidence=tuple(evidence.items),
                )
            )
    return results


def recorded_report() -> dict[str, Any]:
    """A whole report.json built offline from fixtures/streams (request clauses stay untested)."""
    manifest = load_manifest()
    version, database = manifest["airflow_version"], manifest["database"]
    run = Run(
        suite_version="0.0.0",
        airflow_version=version,
        target="recorded",
        database=database,
        description="fixtures/streams replayed offline",
        started=datetime(2026, 1, 1, tzinfo=UTC),
        duration_s=1.0,
    )
    return build(run, replayed_results(version, database), load_clauses(), divergences_for(version, database))


@pytest.fixture(scope="session")
def report_from_recordings() -> dict[str, Any]:
    return recorded_report()
