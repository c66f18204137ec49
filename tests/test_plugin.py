"""The plugin turns declared divergences into strict xfails and tells their outcomes apart."""

from conformance.report import phase_outcome


CONFTEST = """
import json
from conformance import plugin

def pytest_sessionstart(session):
    folder = session.config.stash[plugin.folder_key]
    folder.mkdir(exist_ok=True)
    (folder / "session.json").write_text(json.dumps({
        "target": "fake", "base_url": "http://unused.invalid", "token": "t", "description": "",
        "airflow_version": "3.3.2", "database": "sqlite", "run_ids": {}, "server_errors": [], "folder": str(folder),
    }))
"""

TESTS = """
import pytest

@pytest.mark.clause("WAIT-INTERVAL-OPTIONAL-1")
def test_diverging_and_failing():
    assert False

@pytest.mark.clause("STREAM-CONTENT-TYPE-1")
def test_diverging_but_passing():
    pass

@pytest.mark.clause("RESULT-NONE-1")
def test_diverging_with_server_trouble():
    raise RuntimeError("connection refused")

@pytest.mark.clause("RESULT-DECORATOR-1")
def test_conforming():
    pass

@pytest.mark.clause("NO-SUCH-CLAUSE-1")
def test_unknown_clause():
    pass
"""


def test_declared_divergences_become_strict_xfails(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_divergence=TESTS)
    recorder = pytester.inline_run("-p", "no:cacheprovider")
    reports = {
        report.nodeid.split("::")[-1]: report
        for report in recorder.getreports("pytest_runtest_logreport")
        if report.when == "call" or report.outcome != "passed"
    }
    assert {name: phase_outcome(report) for name, report in reports.items()} == {
        "test_diverging_and_failing": "expected-divergence",
        "test_diverging_but_passing": "unexpected-pass",
        "test_diverging_with_server_trouble": "failed",
        "test_conforming": "passed",
        "test_unknown_clause": "failed",
    }
    assert reports["test_diverging_and_failing"].wasxfail.startswith(
        "known divergence of Airflow 3.3.2: WAIT-INTERVAL-OPTIONAL-1: interval is a required query parameter"
    )
    assert reports["test_unknown_clause"].when == "setup"
    assert "names clauses missing from clauses.yaml: NO-SUCH-CLAUSE-1" in str(reports["test_unknown_clause"].longrepr)
