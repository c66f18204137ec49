"""The step summary: a run's verdicts as Markdown, appended where GITHUB_STEP_SUMMARY says."""

import json
from pathlib import Path

from conformance.report import step_summary
from conformance.report.format import current
from conformance.report.html import render
from conformance.settings import read
from fake_session import fake_session_conftest

NEW = Path(__file__).parent / "data" / "matrix" / "airflow-3.3.2"
WRITTEN = (Path("out/report.json"), Path("out/report.html"))
GITHUB = {"GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": "owner/repo", "GITHUB_RUN_ID": "7"}


def fake_report() -> dict:
    """The 3.3.2 sample with one failing clause and one unexpected pass."""
    report = current(json.loads((NEW / "report.json").read_text()))
    clauses = {clause["id"]: clause for clause in report["clauses"]}
    clauses["PARAM-EMPTY-1"] |= {
        "verdict": "fail",
        "tests": [
            {"nodeid": "t.py::a", "outcome": "passed", "duration_s": 0.1, "message": None},
            {"nodeid": "t.py::b", "outcome": "failed", "duration_s": 0.1, "message": "got <results> | {}\nsecond line"},
        ],
    }
    clauses["WAIT-INTERVAL-OPTIONAL-1"] |= {
        "verdict": "unexpected-pass",
        "tests": [
            {
                "nodeid": "t.py::c",
                "outcome": "unexpected-pass",
                "duration_s": 0.1,
                "message": "[XPASS(strict)] declared",
            },
        ],
    }
    report["summary"] |= {"pass": 2, "fail": 1, "unexpected-pass": 1, "expected-divergence": 0}
    return report


def test_the_markdown_counts_verdicts_and_links_each_clause_that_needs_a_look():
    text = step_summary.markdown(fake_report(), WRITTEN)
    assert text.splitlines()[:7] == [
        "### Airflow DAG Result conformance: Airflow 3.3.2 (local, sqlite)",
        "",
        "| verdict | clauses (4) |",
        "|---|---:|",
        "| fail | 1 |",
        "| unexpected-pass | 1 |",
        "| pass | 2 |",
    ]
    assert "\n**2 clauses need a look:**\n\n" in text
    assert "- [PARAM-EMPTY-1](out/report.html#PARAM-EMPTY-1) **fail**: got &lt;results&gt; \\| {} second line\n" in text
    assert (
        "- [WAIT-INTERVAL-OPTIONAL-1](out/report.html#WAIT-INTERVAL-OPTIONAL-1) **unexpected-pass**: \\[XPASS(strict)\\] declared\n"
        in text
    )
    assert "RESULT-DECORATOR-1" not in text  # passes
    assert "Report: `out/report.json`, `out/report.html`." in text
    assert "actions/runs" not in text


def test_links_go_to_the_published_report_and_the_run_page_when_known():
    text = step_summary.markdown(
        fake_report(), WRITTEN, report_url="https://ci.example/r/report.html", run_page="https://run"
    )
    assert "[PARAM-EMPTY-1](https://ci.example/r/report.html#PARAM-EMPTY-1)" in text
    assert text.endswith("\nThe run's page, with its artifacts: https://run\n")


def test_the_links_point_at_ids_report_html_has():
    page = render(fake_report())
    assert 'id="PARAM-EMPTY-1"' in page and 'id="WAIT-INTERVAL-OPTIONAL-1"' in page


def test_a_clean_run_with_the_feature_absent_says_so():
    report = current(json.loads((NEW.parent / "airflow-3.2.2" / "report.json").read_text()))
    text = step_summary.markdown(report, ())
    assert (
        "\nDAG Result feature absent: the feature was added in Airflow 3.3; airflow.sdk has no result decorator, so 15 fixture DAGs using @result do not load\n"
        in text
    )
    assert "\nNo clause failed or passed unexpectedly.\n" in text
    assert "| absent | 1 |" in text and "| untested |" not in text  # only the verdicts that occur
    assert "Report:" not in text


def test_the_run_page_needs_all_three_variables():
    assert step_summary.run_url(read(GITHUB)) == "https://github.example/owner/repo/actions/runs/7"
    assert step_summary.run_url(read({**GITHUB, "GITHUB_RUN_ID": ""})) is None
    assert step_summary.run_url(read({})) is None


def test_append_report_appends_only_when_the_variable_names_a_file(tmp_path):
    summary = tmp_path / "step_summary.md"
    environ = {
        "GITHUB_STEP_SUMMARY": str(summary),
        "AIRFLOW_CONFORMANCE_REPORT_URL": "https://pages/report.html",
        **GITHUB,
    }
    assert step_summary.append_report(fake_report(), WRITTEN, read(environ)) == summary
    assert step_summary.append_report(fake_report(), WRITTEN, read(environ)) == summary
    text = summary.read_text()
    assert text.count("### Airflow DAG Result conformance") == 2
    assert "[PARAM-EMPTY-1](https://pages/report.html#PARAM-EMPTY-1)" in text
    assert "https://github.example/owner/repo/actions/runs/7" in text
    assert step_summary.append_report(fake_report(), WRITTEN, read({**GITHUB})) is None
    assert sorted(path.name for path in tmp_path.iterdir()) == ["step_summary.md"]


def test_a_summary_file_that_cannot_be_written_is_said_and_left(tmp_path, capsys):
    assert step_summary.append("text", read({"GITHUB_STEP_SUMMARY": str(tmp_path)})) is None  # a folder
    err = capsys.readouterr().err
    assert err.startswith(f"step summary: could not append to {tmp_path} (") and err.count("\n") == 1


def test_a_run_writing_its_report_appends_its_summary(pytester, monkeypatch):
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makeconftest(fake_session_conftest())
    pytester.makepyfile(
        test_fake_suite="""
import pytest

@pytest.mark.clause("RESULT-DECORATOR-1")
def test_passing():
    pass

@pytest.mark.clause("RESULT-MULTI-1")
def test_failing():
    assert 1 == 2, "two results expected"
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--conformance-report", "out")
    assert result.ret == 1
    text = summary.read_text()
    assert text.startswith("### Airflow DAG Result conformance: Airflow 3.3.2 (fake, sqlite)\n")
    assert "- [RESULT-MULTI-1](out/report.html#RESULT-MULTI-1) **fail**: two results expected" in text


def test_a_run_without_a_report_appends_nothing(pytester, monkeypatch):
    summary = pytester.path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    pytester.makeconftest(fake_session_conftest())
    pytester.makepyfile(
        test_fake_suite='import pytest\n\n@pytest.mark.clause("RESULT-DECORATOR-1")\ndef test_passing():\n    pass\n'
    )
    assert pytester.runpytest("-p", "no:cacheprovider").ret == 0
    assert not summary.exists()
