"""The plugin turns declared divergences into strict xfails and tells their outcomes apart; it
skips tests whose clauses are all about other Airflow versions."""

import json
import xml.etree.ElementTree as ET

import attrs
import pytest

from conformance.catalog.clauses import load_clauses
from conformance.plugin import controller
from conformance.plugin import hooks as plugin
from conformance.plugin.hooks import FEATURE_ABSENT, case_of
from conformance.report.writer import phase_outcome
from fake_session import fake_session_conftest


def reports_by_test(recorder: pytest.HookRecorder) -> dict[str, pytest.TestReport]:
    """Each test's deciding report: its call, or the phase that did not pass."""
    return {
        report.nodeid.split("::")[-1]: report
        for report in recorder.getreports("pytest_runtest_logreport")
        if report.when == "call" or report.outcome != "passed"
    }


def outcome(report: pytest.TestReport) -> str:
    """A phase's outcome as the report counts it, "absent" for a test the absent feature could not run."""
    if report.failed and any(name == FEATURE_ABSENT for name, _ in report.user_properties):
        return "absent"
    return phase_outcome(report)


CONFTEST = fake_session_conftest()

TESTS = """
import pytest

@pytest.mark.clause("WAIT-INTERVAL-OPTIONAL-1")
def test_diverging_and_failing():
    assert False, '422: {"detail":[{"type":"missing","loc":["query","interval"],"msg":"Field required"}]}'

@pytest.mark.clause("WAIT-INTERVAL-OPTIONAL-1")
def test_diverging_but_failing_otherwise():
    assert False, '500: {"detail":"Internal Server Error"}'

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
    reports = reports_by_test(recorder)
    assert {name: phase_outcome(report) for name, report in reports.items()} == {
        "test_diverging_and_failing": "expected-divergence",
        "test_diverging_but_failing_otherwise": "failed",
        "test_diverging_but_passing": "unexpected-pass",
        "test_diverging_with_server_trouble": "failed",
        "test_conforming": "passed",
        "test_unknown_clause": "failed",
    }
    assert reports["test_diverging_and_failing"].wasxfail.startswith(
        "known divergence of Airflow 3.3.2: WAIT-INTERVAL-OPTIONAL-1: interval is a required query parameter"
    )
    otherwise = str(reports["test_diverging_but_failing_otherwise"].longrepr)
    assert otherwise.startswith("fails otherwise than its declared divergence") and "500: " in otherwise
    assert reports["test_unknown_clause"].when == "setup"
    assert "names clauses missing from clauses.yaml: NO-SUCH-CLAUSE-1" in str(reports["test_unknown_clause"].longrepr)


ABSENT_CONFTEST = fake_session_conftest(
    airflow_version="3.2.2",
    run_ids={"dag_return": "r"},
    feature_absent="airflow.sdk has no result decorator",
    missing_dags=["result_decorator"],
)

ABSENT_TESTS = """
import pytest

@pytest.mark.clause("RESULT-DECORATOR-1")
def test_needs_the_feature():
    pass

@pytest.mark.clause("STREAM-NDJSON-1")
def test_about_the_endpoint():
    pass

@pytest.mark.clause("STREAM-TERMINAL-1")
def test_on_a_dag_that_cannot_load(airflow_session):
    airflow_session.transcript("result-decorator")

@pytest.mark.clause("WAIT-AUTH-1")
def test_run_of_a_dag_that_cannot_load(airflow_session):
    airflow_session.run_id("result_decorator")

@pytest.mark.clause("WAIT-INTERVAL-OPTIONAL-1")
def test_declared_divergence_of_3_2():
    assert False, '422: {"detail":[{"type":"missing","loc":["query","interval"]}]}'
"""


def absent_run(pytester, *args, really_failing=False):
    pytester.makeconftest(ABSENT_CONFTEST)
    tests = ABSENT_TESTS + (
        '\n@pytest.mark.clause("WAIT-NOT-FOUND-1")\ndef test_real_failure():\n    assert False\n'
        if really_failing
        else ""
    )
    pytester.makepyfile(test_absent=tests)
    return pytester.inline_run("-p", "no:cacheprovider", *args)


def test_tests_the_absent_feature_cannot_run_fail_with_one_line_and_a_property(pytester):
    recorder = absent_run(pytester)
    reports = reports_by_test(recorder)
    assert {name: outcome(report) for name, report in reports.items()} == {
        "test_needs_the_feature": "absent",
        "test_about_the_endpoint": "passed",
        "test_on_a_dag_that_cannot_load": "absent",
        "test_run_of_a_dag_that_cannot_load": "absent",
        "test_declared_divergence_of_3_2": "expected-divergence",
    }
    needs = reports["test_needs_the_feature"]
    assert needs.when == "setup"
    assert str(needs.longrepr) == (
        "DAG Result feature absent in Airflow 3.2.2, which RESULT-DECORATOR-1 needs: airflow.sdk has no result decorator"
    )
    assert dict(needs.user_properties)["feature_absent"] == "airflow.sdk has no result decorator"
    assert (
        dict(reports["test_on_a_dag_that_cannot_load"].user_properties)["feature_absent"]
        == "airflow.sdk has no result decorator"
    )
    cannot_load = reports["test_on_a_dag_that_cannot_load"]
    assert "\n" not in str(cannot_load.longrepr)
    assert str(cannot_load.longrepr).startswith(
        "DAG Result feature absent in Airflow 3.2.2: case result-decorator runs a fixture DAG that cannot load"
    )
    assert reports["test_run_of_a_dag_that_cannot_load"].when == "call"
    assert recorder.ret == pytest.ExitCode.TESTS_FAILED


def test_allow_absent_feature_forgives_only_absent_failures(pytester):
    result = absent_run(pytester, "--allow-absent-feature")
    assert result.ret == pytest.ExitCode.OK


def test_allow_absent_feature_keeps_a_real_failure(pytester):
    result = absent_run(pytester, "--allow-absent-feature", really_failing=True)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_summary_says_the_feature_is_absent_and_why(pytester):
    pytester.makeconftest(ABSENT_CONFTEST)
    pytester.makepyfile(test_absent=ABSENT_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "--allow-absent-feature")
    clauses = load_clauses().values()
    later = sum(not clause.applies_to("3.2.2") for clause in clauses)  # e.g. 3.4's loops
    result.stdout.fnmatch_lines(
        [
            "*Airflow DAG Result conformance: Airflow 3.2.2 (fake, sqlite)*",
            "DAG Result feature absent in Airflow 3.2.2: airflow.sdk has no result decorator",
            f"{len(clauses)} clauses: 3 absent, 1 expected-divergence, {later} not-applicable, 1 pass, {len(clauses) - 5 - later} untested",
            "  expected-divergence WAIT-INTERVAL-OPTIONAL-1 (interval is a required query parameter*",
            "  absent              RESULT-DECORATOR-1, STREAM-TERMINAL-1, WAIT-AUTH-1",
            "exit status 0 (--allow-absent-feature): every failure is a test the absent feature could not run",
        ]
    )
    assert result.ret == pytest.ExitCode.OK


def test_case_of_reads_either_parametrization(pytester):
    pytester.makepyfile(
        test_case_params="""
import pytest
from conformance.catalog.cases import load_cases

@pytest.mark.parametrize("case", [load_cases()["param-empty"]])
def test_by_case(case): pass

@pytest.mark.parametrize("case_id", ["param-unknown"])
def test_by_id(case_id): pass

def test_without(): pass
"""
    )
    items, _ = pytester.inline_genitems("-p", "no:cacheprovider")
    assert [case_of(item) for item in items] == ["param-empty", "param-unknown", None]


def test_allow_absent_feature_never_hides_a_stopped_run(pytester):
    pytester.makeconftest(ABSENT_CONFTEST)
    pytester.makepyfile(
        test_stopped="""
import pytest

@pytest.mark.clause("RESULT-DECORATOR-1")
def test_needs_the_feature():
    pass

@pytest.mark.clause("WAIT-AUTH-1")
def test_stops_the_run():
    pytest.exit("the server went away", returncode=4)
"""
    )
    assert pytester.inline_run("-p", "no:cacheprovider", "--allow-absent-feature").ret == 4


VERSIONED_TESTS = """
import pytest

@pytest.mark.clause("RESULT-DECORATOR-1")
def test_new_in_3_4():
    pass

@pytest.mark.clause("RESULT-DAG-RETURN-5")
def test_replaced_in_3_4():
    pass

@pytest.mark.clause("RESULT-DECORATOR-1", "STREAM-NDJSON-1")
def test_new_in_3_4_and_for_all():
    pass

@pytest.mark.clause("RESULT-DECORATOR-1", "RESULT-DAG-RETURN-5")
def test_new_and_replaced():
    pass
"""


@pytest.fixture
def versioned_catalog(monkeypatch):
    """The shipped catalog with RESULT-DECORATOR-1 since 3.4.0 and RESULT-DAG-RETURN-5 (OBSERVED) until 3.4.0."""
    clauses = dict(load_clauses())
    clauses["RESULT-DECORATOR-1"] = attrs.evolve(clauses["RESULT-DECORATOR-1"], since="3.4.0")
    clauses["RESULT-DAG-RETURN-5"] = attrs.evolve(clauses["RESULT-DAG-RETURN-5"], until="3.4.0")
    for module in (plugin, controller):  # the plugin's checks and the controller's verdicts
        monkeypatch.setattr(module, "load_clauses", lambda: clauses)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (
            "3.3.2",
            {
                "test_new_in_3_4": "skipped",
                "test_replaced_in_3_4": "passed",
                "test_new_in_3_4_and_for_all": "passed",
                "test_new_and_replaced": "passed",
            },
        ),
        (
            "3.4.0b2",
            {
                "test_new_in_3_4": "passed",
                "test_replaced_in_3_4": "skipped",
                "test_new_in_3_4_and_for_all": "passed",
                "test_new_and_replaced": "passed",
            },
        ),
    ],
)
def test_a_test_whose_clauses_all_are_about_other_versions_is_skipped(pytester, versioned_catalog, version, expected):
    pytester.makeconftest(fake_session_conftest(airflow_version=version))
    pytester.makepyfile(test_versioned=VERSIONED_TESTS)
    reports = reports_by_test(pytester.inline_run("-p", "no:cacheprovider"))
    assert {name: report.outcome for name, report in reports.items()} == expected
    [skipped] = [report for report in reports.values() if report.skipped]
    reason = skipped.longrepr[2].removeprefix("Skipped: ")
    assert dict(skipped.user_properties)["not_applicable"] == reason
    assert (
        reason
        == {
            "3.3.2": "RESULT-DECORATOR-1 applies to Airflow >=3.4.0 only; the server is 3.3.2",
            "3.4.0b2": "RESULT-DAG-RETURN-5 applies to Airflow <3.4.0 only; the server is 3.4.0b2 (pre-release; clauses compared as 3.4.0)",
        }[version]
    )
    assert all(
        "not_applicable" not in dict(report.user_properties) for report in reports.values() if not report.skipped
    )


def test_not_applicable_comes_before_absent(pytester, versioned_catalog):
    """On 3.2, a clause new in 3.4 is not about this version at all, whatever the server lacks."""
    pytester.makeconftest(ABSENT_CONFTEST)
    pytester.makepyfile(test_versioned=VERSIONED_TESTS)
    reports = reports_by_test(pytester.inline_run("-p", "no:cacheprovider"))
    assert {name: outcome(report) for name, report in reports.items()} == {
        "test_new_in_3_4": "skipped",
        "test_replaced_in_3_4": "absent",
        "test_new_in_3_4_and_for_all": "passed",  # only STREAM-NDJSON-1 applies, and it needs no feature
        "test_new_and_replaced": "absent",
    }
    assert str(reports["test_new_and_replaced"].longrepr).startswith(
        "DAG Result feature absent in Airflow 3.2.2, which RESULT-DAG-RETURN-5 needs:"
    )


def test_summary_says_the_server_is_a_pre_release_and_lists_not_applicable_clauses(pytester, versioned_catalog):
    pytester.makeconftest(fake_session_conftest(airflow_version="3.4.0b2"))
    pytester.makepyfile(test_versioned=VERSIONED_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(
        [
            "*Airflow DAG Result conformance: Airflow 3.4.0b2 (pre-release; clauses compared as 3.4.0) (fake, sqlite)*",
            f"{len(load_clauses())} clauses: 1 not-applicable, 2 pass, {len(load_clauses()) - 3} untested",
            "  not-applicable      RESULT-DAG-RETURN-5",
        ]
    )
    assert result.ret == pytest.ExitCode.OK


def test_summary_says_why_a_clause_went_untested(pytester):
    """An external target without a no-XCom user: the permission clauses are untested, and say why."""
    pytester.makeconftest(fake_session_conftest(target="external"))
    pytester.makepyfile(
        test_untested="""
import pytest

@pytest.mark.clause("AUTH-XCOM-EXPLICIT-1")
def test_needs_a_restricted_user():
    pytest.skip("no user without XCom access was given")
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["  untested            AUTH-XCOM-EXPLICIT-1 (no user without XCom access was given)"])
    assert result.ret == pytest.ExitCode.OK


def test_junit_carries_feature_absent_for_a_failure_in_the_test_itself(pytester):
    """CI's totals read junit.xml, which takes properties from the teardown report (the item's)."""
    pytester.makeconftest(ABSENT_CONFTEST)
    pytester.makepyfile(
        test_x="""
import pytest

@pytest.mark.clause("STREAM-NDJSON-1")
def test_run(airflow_session):
    airflow_session.run_id("result_decorator")
"""
    )
    pytester.runpytest("-p", "no:cacheprovider", "--junitxml", "j.xml")
    case = ET.parse(pytester.path / "j.xml").getroot().find(".//testcase")
    assert case.find("failure") is not None
    assert [prop.get("name") for prop in case.iter("property")].count(FEATURE_ABSENT) == 1


SELECTED_TESTS = """
import pytest

@pytest.mark.clause("RESULT-MAPPED-1")
def test_mapped():
    pass

@pytest.mark.clause("RESULT-MAPPED-2", "STREAM-NDJSON-1")
def test_mapped_and_stream():
    pass

@pytest.mark.clause("STREAM-TERMINAL-1")
def test_stream():
    assert False, "fails, but outside the selection it never runs"

def test_naming_no_clause():
    pass
"""


def test_a_selection_deselects_tests_of_no_selected_clause_and_reports_the_rest_not_selected(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_selected=SELECTED_TESTS)
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--conformance-clause", "RESULT-MAPPED-*", "--conformance-report", "out"
    )
    result.assert_outcomes(passed=3, deselected=1)
    total = len(load_clauses())
    result.stdout.fnmatch_lines(
        [
            f"{total} clauses: {total - 5} not-selected, 2 pass, 3 untested",
            f"selection --clause 'RESULT-MAPPED-*': 5 of {total} clauses; runs of 0 fixture DAGs triggered",
            f"  not-selected        {total - 5} clauses outside the selection",
        ]
    )
    report = json.loads((pytester.path / "out" / "report.json").read_text())
    verdicts = {clause["id"]: clause["verdict"] for clause in report["clauses"]}
    assert (
        verdicts["RESULT-MAPPED-1"] == "pass" and verdicts["RESULT-MAPPED-5"] == "untested"
    )  # selected, no test of it here
    assert verdicts["STREAM-NDJSON-1"] == "not-selected"  # its test ran, for RESULT-MAPPED-2
    assert report["selection"] == {"clauses": ["RESULT-MAPPED-*"], "areas": [], "levels": []}
    assert result.ret == pytest.ExitCode.OK


def test_a_selection_comes_from_the_variables_too(pytester, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONFORMANCE_AREA", "stream")
    monkeypatch.setenv("AIRFLOW_CONFORMANCE_LEVEL", "MUST")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_selected=SELECTED_TESTS)
    reports = reports_by_test(pytester.inline_run("-p", "no:cacheprovider"))
    assert set(reports) == {"test_mapped_and_stream", "test_stream", "test_naming_no_clause"}


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (
            ["--conformance-clause", "RESULT-MAPED-1"],
            "ERROR: airflow-conformance: clause 'RESULT-MAPED-1' * matches no clause id; did you mean RESULT-MAPPED-1*",
        ),
        (
            ["--conformance-level", "SHOULD"],
            "ERROR: airflow-conformance: level 'SHOULD' * is not a level of clauses.yaml; choose MUST or OBSERVED.",
        ),
    ],
    ids=["clause", "level"],
)
def test_a_selection_of_nothing_stops_the_run_before_it_starts(pytester, args, sentence):
    pytester.makeconftest(CONFTEST + "\ndef pytest_sessionstart(session):\n    raise AssertionError('started')\n")
    pytester.makepyfile(test_selected=SELECTED_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([sentence])
    assert "started" not in result.stdout.str() + result.stderr.str()
