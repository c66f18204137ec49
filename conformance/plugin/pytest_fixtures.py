"""What a suite test gets from the harness, and the evidence it leaves for the report.

Fixtures: ``airflow_session`` (the prepared session: connection, Airflow version, run ids and
the recorded transcripts, read from the session folder that every process shares), ``wait_http``
(an authenticated HTTP client for requests made live) and ``evidence``
(:class:`~conformance.report.evidence.Evidence`: what the test looked at).

Evidence wiring: while a test that names clauses (or asks for ``evidence``) runs, a failing
``actual == expected`` is recorded as evidence too, its explanation unchanged; afterwards the
evidence and the test's ``doc_example(id, text)`` mark are attached to its report as JSON
(:data:`~conformance.report.writer.REPORT_ATTRIBUTE`), which xdist carries to the controller.

A test that fails (an unexpected pass included) also gets how to reproduce it
(:mod:`conformance.report.reproduce`): in that JSON for the report, and as the section ``reproduce``
of its report, which pytest prints under the failure. Its requests are written out by sender,
so the clients made here tag theirs (:func:`authenticated_client`).

:mod:`conformance.plugin.hooks` registers this module as a pytest plugin.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.live.airflow_api import bearer
from conformance.live.session_record import SessionInfo
from conformance.plugin.items import clause_ids
from conformance.report import reproduce
from conformance.report.evidence import Evidence, tag_sender
from conformance.report.writer import FEATURE_ABSENT, REPORT_ATTRIBUTE
from conformance.settings import Settings

folder_key = pytest.StashKey[Path]()  # the session folder, in every process's config
settings_key = pytest.StashKey[Settings]()  # the run's settings, read once at configure
evidence_key = pytest.StashKey[Evidence]()
current_evidence_key = pytest.StashKey["Evidence | None"]()


@cache
def _session(folder: Path) -> SessionInfo:
    return SessionInfo.load(folder)


def session_info(config: pytest.Config) -> SessionInfo:
    folder = config.stash[folder_key]
    if not (folder / "session.json").exists():
        pytest.fail("no Airflow session was prepared for this run (see the messages above)", pytrace=False)
    return _session(folder)


@pytest.fixture(scope="session")
def airflow_session(request: pytest.FixtureRequest) -> SessionInfo:
    """The Airflow under test: connection, version, run ids, and the recorded transcripts."""
    return session_info(request.config)


def authenticated_client(
    base_url: str,
    token: str,
    sender: str,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """An HTTP client sending ``token``, whose requests the evidence records as ``sender``'s."""
    return httpx.Client(
        base_url=base_url,
        headers=bearer(token),
        timeout=60,
        transport=transport,
        event_hooks={"request": [tag_sender(sender)]},
    )


@pytest.fixture(scope="session")
def wait_http(airflow_session: SessionInfo) -> Any:
    """A plain HTTP client on the Airflow under test, authenticated, for requests made live."""
    with authenticated_client(airflow_session.base_url, airflow_session.token, "admin") as client:
        yield client


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """What this test looked at, for the report: transcripts, responses, compared values."""
    return evidence_of(request.node)


def evidence_of(item: pytest.Item) -> Evidence:
    """The test's evidence, made on first use; the report carries what it holds once the test ran."""
    if evidence_key not in item.stash:
        item.stash[evidence_key] = Evidence()
    return item.stash[evidence_key]


def doc_example(item: pytest.Item) -> dict[str, str] | None:
    """The ``doc_example(id, text)`` mark of a test (positional or by keyword), if it has one."""
    if (mark := item.get_closest_marker("doc_example")) is None:
        return None
    values = dict(zip(("id", "text"), mark.args)) | mark.kwargs
    if set(values) != {"id", "text"} or not all(isinstance(value, str) for value in values.values()):
        return None
    return values


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Make this test's evidence the place where a failing comparison is recorded."""
    reported = bool(clause_ids(item)) or "evidence" in getattr(item, "fixturenames", ())
    item.config.stash[current_evidence_key] = evidence_of(item) if reported else None
    try:
        return (yield)
    finally:
        item.config.stash[current_evidence_key] = None


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: object, right: object) -> None:
    """Keep both sides of a failing ``actual == expected`` as evidence; the explanation is unchanged."""
    evidence = config.stash.get(current_evidence_key, None)
    if evidence is not None and op == "==":
        evidence.compare(expected=right, actual=left, label="the failing assertion")


def attach_to_report(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """Attach the evidence and doc-example mark as JSON, which xdist carries to the controller;
    and to a failure, how to reproduce it.

    Not a hook of its own: :func:`conformance.plugin.hooks.pytest_runtest_makereport` calls it
    last, once the report's outcome and notes are final, so no plugin order decides what it sees.
    """
    extra: dict[str, Any] = {}
    if call.when == "call" and evidence_key in item.stash:
        extra["evidence"] = item.stash[evidence_key].items
        if notes := item.stash[evidence_key].notes:
            extra["notes"] = notes
    if example := doc_example(item):
        extra["doc_example"] = example
    if report.failed and (reproduction := _reproduction(item, report)):
        extra["reproduce"] = reproduction
        report.sections.append(("reproduce", reproduce.as_text(reproduction)))
    if extra:
        setattr(report, REPORT_ATTRIBUTE, json.dumps(extra))


def _reproduction(item: pytest.Item, report: pytest.TestReport) -> dict[str, Any] | None:
    """How to reproduce a failing suite test; None for a test the absent feature could not run
    (there is no failure of the server's to see) and where no session was prepared."""
    folder = item.config.stash.get(folder_key, None)
    if folder is None or not (folder / "session.json").exists():
        return None
    if any(name == FEATURE_ABSENT for name, _ in report.user_properties):
        return None
    info = _session(folder)
    items = item.stash[evidence_key].items if evidence_key in item.stash else []
    return reproduce.reproduction(
        item.nodeid,
        items,
        base_url=info.base_url,
        target=info.target,
        database=info.database,
        environ=item.config.stash[settings_key].given,
    )
