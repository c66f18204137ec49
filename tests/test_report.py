"""The conformance report: verdicts, report.json against its schema, report.html, end to end."""

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest

from conformance import cli
from conformance.catalog.clauses import Clause, load_clauses
from conformance.catalog.selection import WHOLE, Selection
from conformance.clientkit.recordings import load_fixture
from conformance.report import compare
from conformance.report.format import current
from conformance.report.html import render
from conformance.report.writer import ReportError, Run, TestResult, build, clause_verdict, problems, write
from conformance.schemas import validator
from fake_session import fake_session_conftest


def result(outcome, feature_absent=None):
    return TestResult(
        nodeid=f"t[{outcome}]",
        clauses=("C-1",),
        outcome=outcome,
        duration_s=0,
        message=None,
        feature_absent=feature_absent,
    )


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        (["passed", "expected-divergence", "unexpected-pass", "failed", "skipped"], "fail"),
        (["passed", "expected-divergence", "unexpected-pass"], "unexpected-pass"),
        (["passed", "expected-divergence", "skipped"], "expected-divergence"),
        (["passed", "passed", "skipped"], "pass"),
        (["skipped"], "untested"),
        ([], "untested"),
    ],
    ids=["failed-wins", "unexpected-pass", "expected-divergence", "all-passed", "all-skipped", "no-tests"],
)
def test_worst_outcome_wins(outcomes, verdict):
    assert clause_verdict([result(outcome) for outcome in outcomes]) == verdict


def test_failures_of_a_missing_feature_make_the_clause_absent():
    absent = result("failed", feature_absent="no /wait route")
    assert clause_verdict([absent, absent]) == "absent"
    assert clause_verdict([absent, result("passed")]) == "pass"  # judged on what could run
    assert clause_verdict([absent, result("expected-divergence")]) == "expected-divergence"
    assert clause_verdict([absent, result("failed")]) == "fail"  # a failure of its own still counts
    assert clause_verdict([result("passed", feature_absent="no /wait route")]) == "pass"


def versioned_report(version: str, results: list[TestResult], selection: Selection = WHOLE) -> dict:
    """A report on three clauses: NEW-1 since 3.4.0, OLD-1 (OBSERVED) until 3.3.0, ANY-1 unbounded."""
    clauses = {
        "NEW-1": Clause(id="NEW-1", level="MUST", area="a", statement="s", source="doc", since="3.4.0"),
        "OLD-1": Clause(id="OLD-1", level="OBSERVED", area="a", statement="s", source="observed", until="3.3.0"),
        "ANY-1": Clause(id="ANY-1", level="MUST", area="a", statement="s", source="doc"),
    }
    run = Run(
        suite_version="0.0.0",
        airflow_version=version,
        target="fake",
        database="sqlite",
        description=None,
        started=datetime(2026, 1, 1, tzinfo=UTC),
        duration_s=1.0,
    )
    return build(run, results, clauses, {}, selection)


def test_a_clause_about_other_versions_is_not_applicable_whatever_its_tests_did():
    skipped = TestResult(
        nodeid="t_new",
        clauses=("NEW-1",),
        outcome="skipped",
        duration_s=0,
        message="NEW-1 applies to Airflow >=3.4.0 only",
    )
    passed = TestResult(
        nodeid="t_old_and_any", clauses=("OLD-1", "ANY-1"), outcome="passed", duration_s=0, message=None
    )
    report = versioned_report("3.3.2", [skipped, passed])
    assert problems(report) == []
    entries = {clause["id"]: clause for clause in report["clauses"]}
    assert {id_: entry["verdict"] for id_, entry in entries.items()} == {
        "NEW-1": "not-applicable",
        "OLD-1": "not-applicable",
        "ANY-1": "pass",
    }
    assert [test["nodeid"] for test in entries["OLD-1"]["tests"]] == ["t_old_and_any"]  # still shown, not judged
    assert (
        entries["NEW-1"]["since"],
        entries["NEW-1"]["until"],
        entries["ANY-1"]["since"],
        entries["ANY-1"]["until"],
    ) == ("3.4.0", None, None, None)
    assert report["summary"]["pass"] == 1 and report["summary"]["not-applicable"] == 2
    assert report["airflow"]["prerelease"] is False
    assert clause_verdict([skipped], applicable=False) == clause_verdict([passed], applicable=False) == "not-applicable"


def test_a_pre_release_counts_as_its_release():
    passed = TestResult(nodeid="t_new", clauses=("NEW-1",), outcome="passed", duration_s=0, message=None)
    report = versioned_report("3.4.0b2", [passed])
    assert problems(report) == []
    assert {clause["id"]: clause["verdict"] for clause in report["clauses"]} == {
        "NEW-1": "pass",
        "OLD-1": "not-applicable",
        "ANY-1": "untested",
    }
    assert report["airflow"]["prerelease"] is True


def test_the_schema_wants_a_range_behind_not_applicable(report_from_recordings):
    report = json.loads(json.dumps(report_from_recordings))
    report["clauses"][0]["verdict"] = "not-applicable"
    assert problems(report) != []
    report["clauses"][0]["since"] = "9.0.0"
    assert problems(report) == []


def test_html_counts_not_applicable_clauses_without_asking_for_a_look():
    skipped = TestResult(
        nodeid="t_new",
        clauses=("NEW-1",),
        outcome="skipped",
        duration_s=0,
        message="NEW-1 applies to Airflow >=3.4.0 only",
    )
    page = _Page()
    html = render(versioned_report("3.3.2", [skipped]))
    page.feed(html)
    assert sorted(page.clauses) == [("ANY-1", "untested"), ("NEW-1", "not-applicable"), ("OLD-1", "not-applicable")]
    assert (
        '<div class="count v-not-applicable" data-verdict="not-applicable"><strong>2</strong> not applicable</div>'
        in html
    )
    assert "Airflow &gt;=3.4.0, not to this one: its tests are skipped" in html
    assert 'v-not-applicable">not applicable</span> <a class="clause-id"' not in html  # not under "Needs a look"
    assert "Airflow 3.4.0b2 (pre-release; clauses compared as 3.4.0)</span>" in render(versioned_report("3.4.0b2", []))


def test_html_renders_a_version_1_report(report_from_recordings):
    """A version 1 report (no since/until, hence no not-applicable) renders as its version 2 twin."""
    current = json.loads(json.dumps(report_from_recordings))
    current["clauses"] = [clause for clause in current["clauses"] if clause["verdict"] != "not-applicable"]
    current["summary"]["not-applicable"] = 0
    old = json.loads(json.dumps(current))
    del (
        old["report_version"],
        old["airflow"]["prerelease"],
        old["summary"]["not-applicable"],
        old["selection"],
        old["summary"]["not-selected"],
    )
    for clause in old["clauses"]:
        del clause["since"], clause["until"]
    assert render(old) == render(current)


def test_a_clause_outside_the_selection_is_not_selected_whatever_its_tests_did():
    failed = TestResult(
        nodeid="t_new_and_any", clauses=("NEW-1", "ANY-1"), outcome="failed", duration_s=0, message="boom"
    )
    selection = Selection(clauses=["OLD-*", "NEW-1"])
    clauses = {clause["id"]: clause for clause in versioned_report("3.4.0", [failed], selection)["clauses"]}
    assert {id_: clause["verdict"] for id_, clause in clauses.items()} == {
        "NEW-1": "fail",
        "OLD-1": "not-applicable",
        "ANY-1": "not-selected",
    }
    assert [test["nodeid"] for test in clauses["ANY-1"]["tests"]] == ["t_new_and_any"]  # shown, not judged
    report = versioned_report("3.3.2", [failed], Selection(levels=["MUST"]))
    assert problems(report) == []
    assert report["selection"] == {"clauses": [], "areas": [], "levels": ["MUST"]}
    assert {clause["id"]: clause["verdict"] for clause in report["clauses"]} == {
        "NEW-1": "not-applicable",
        "OLD-1": "not-selected",
        "ANY-1": "fail",
    }
    assert (report["summary"]["not-selected"], report["summary"]["fail"]) == (1, 1)
    assert clause_verdict([failed], applicable=False, selected=False) == "not-selected"


def test_the_schema_knows_not_selected_and_the_selection(report_from_recordings):
    report = json.loads(json.dumps(report_from_recordings))
    report["clauses"][0] |= {"verdict": "not-selected", "tests": [], "evidence": []}
    report["selection"] = {"clauses": ["STREAM-*"], "areas": [], "levels": []}
    assert problems(report) == []
    assert problems({**report, "selection": {"clauses": ["STREAM-*"]}}) != []  # every kind, even empty
    del report["selection"]
    assert problems(report) != []


def test_html_counts_not_selected_clauses_and_says_what_was_selected():
    failed = TestResult(nodeid="t_any", clauses=("ANY-1",), outcome="passed", duration_s=0, message=None)
    html = render(versioned_report("3.3.2", [failed], Selection(clauses=["ANY-*"])))
    page = _Page()
    page.feed(html)
    assert sorted(page.clauses) == [("ANY-1", "pass"), ("NEW-1", "not-selected"), ("OLD-1", "not-selected")]
    assert '<div class="count v-not-selected" data-verdict="not-selected"><strong>2</strong> not selected</div>' in html
    assert (
        "Part of the suite: --clause &#39;ANY-*&#39; selected 1 of 3 clauses; the other 2 are not selected, and not judged."
        in html
    )
    assert "The selected clauses conform" in html
    assert 'v-not-selected">not selected</span> <a class="clause-id"' not in html  # not under "Needs a look"
    assert 'id="selection"' not in render(versioned_report("3.3.2", [failed]))


def test_a_version_2_report_reads_as_version_3_and_renders_the_same(report_from_recordings):
    old = json.loads(json.dumps(report_from_recordings))
    del old["selection"], old["summary"]["not-selected"]
    old["report_version"] = 2
    assert current(old) == report_from_recordings
    assert render(old) == render(report_from_recordings)


def test_report_built_from_recordings_matches_its_schema(report_from_recordings):
    assert problems(report_from_recordings) == []
    verdicts = {clause["id"]: clause["verdict"] for clause in report_from_recordings["clauses"]}
    assert list(verdicts) == list(load_clauses())
    assert verdicts["RESULT-NONE-1"] == verdicts["RESULT-MAPPED-4"] == "expected-divergence"
    assert verdicts["RESULT-DECORATOR-1"] == verdicts["STREAM-NDJSON-1"] == "pass"
    assert verdicts["WAIT-AUTH-1"] == "untested"  # asked live only: nothing recorded
    assert sum(report_from_recordings["summary"].values()) == len(verdicts)


def test_evidence_keeps_the_request_raw_lines_and_arrival_times(report_from_recordings):
    clause = next(c for c in report_from_recordings["clauses"] if c["id"] == "RESULT-NONE-1")
    assert clause["divergence"].startswith("A result task returning None stores no XCom")
    [item] = clause["evidence"]
    fixture = load_fixture("result-none")
    assert item["request"] == {
        "method": "GET",
        "url": "/api/v2/dags/result_none/dagRuns/{run_id}/wait?interval=1",
        "headers": {},
        "sender": "admin",
        "gzip": True,  # the session's client: httpx asks for gzip unless told otherwise
    }
    assert "".join(line["text"] for line in item["lines"]) == fixture["response"]["body"]
    assert [line["t"] for line in item["lines"]] == fixture["arrivals"]
    assert (item["expected"], item["actual"]) == (
        {"state": "success", "results": {"nothing": None}},
        {"state": "success"},
    )


def test_long_lines_are_cut_and_say_how_long_they_were(report_from_recordings):
    clause = next(c for c in report_from_recordings["clauses"] if c["id"] == "RESULT-LARGE-1")
    terminal = clause["evidence"][0]["lines"][-1]
    assert terminal["length"] > 1_000_000 and len(terminal["text"]) == 2000
    assert clause["evidence"][0]["actual"]["results"]["blob"].endswith("characters)")


def test_a_report_its_schema_rejects_is_not_written(report_from_recordings, tmp_path):
    broken = {**report_from_recordings, "summary": {**report_from_recordings["summary"], "pass": -1}}
    with pytest.raises(ReportError, match="summary/pass"):
        write(broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()


class _Page(HTMLParser):
    """Collects what the tests below look for: clause rows, and anything loaded from elsewhere."""

    def __init__(self):
        super().__init__()
        self.clauses, self.remote, self.scripts = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-clause" in attrs:
            self.clauses.append((attrs["data-clause"], attrs["data-verdict"]))
        self.scripts += tag == "script"
        self.remote += [
            value for name, value in attrs.items() if name in ("src", "href") and value and not value.startswith("#")
        ]


def test_html_lists_every_clause_and_loads_nothing(report_from_recordings):
    page = _Page()
    page.feed(render(report_from_recordings))
    assert sorted(page.clauses) == sorted((c["id"], c["verdict"]) for c in report_from_recordings["clauses"])
    assert (page.remote, page.scripts) == ([], 0)


def test_html_escapes_what_the_server_sent(report_from_recordings):
    report = json.loads(json.dumps(report_from_recordings))
    report["clauses"][0]["evidence"][0]["lines"][0]["text"] = '<script>alert("x")</script>\n'
    html = render(report)
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


# End to end through pytest: hooks, evidence, xdist, junit.xml, report files.

CONFTEST = fake_session_conftest(description="a fake session")

TESTS = """
import httpx
import pytest
from conformance.wire.stream import Line, Transcript

TRANSCRIPT = Transcript(
    case_id="result-decorator", path="/api/v2/dags/result_decorator/dagRuns/r1/wait", query=[["interval", "1"]],
    request_headers={}, sent_at=0.0, status=200,
    lines=[Line('{"state": "running"}\\n', 0.01), Line('{"state": "success", "results": {"compute": 84}}\\n', 1.02)],
)

@pytest.mark.clause("RESULT-DECORATOR-1")
def test_passing(evidence):
    from conformance.wire import notes
    evidence.note(notes.unknown_key("dag_run_id", "STREAM-NDJSON-1"), "case result-decorator: 2 of 2 lines")
    terminal = evidence.transcript(TRANSCRIPT).lines[-1].value()
    evidence.compare(expected={"compute": 84}, actual=terminal["results"])
    assert terminal["results"] == {"compute": 84}

@pytest.mark.clause("RESULT-MULTI-1")
def test_failing(evidence):
    evidence.transcript(TRANSCRIPT)
    assert TRANSCRIPT.lines[-1].value()["results"] == {"alpha": "a", "zulu": "z"}

@pytest.mark.clause("WAIT-INTERVAL-OPTIONAL-1")
def test_diverging(evidence):
    response = evidence.response(httpx.Response(422, json={"detail": []}, request=httpx.Request("GET", "http://x/w?a=1")))
    assert response.status_code == 200, '422: {"detail":[{"type":"missing","loc":["query","interval"]}]}'

@pytest.mark.clause("STREAM-CONTENT-TYPE-1")
def test_divergence_gone():
    pass

@pytest.mark.clause("RESULT-MAPPED-1")
def test_feature_missing(record_property):
    record_property("feature_absent", "no /wait route on this Airflow")
    assert False, "404 from /wait"

@pytest.mark.clause("PARAM-EMPTY-1")
def test_skipped():
    pytest.skip("nothing to measure")

@pytest.mark.doc_example("curl-result", "curl 'http://localhost:8080/api/v2/dags/d/dagRuns/r/wait?result=a'")
@pytest.mark.clause("PARAM-SELECT-1")
def test_doc_example():
    pass

@pytest.mark.doc_example(id="curl-no-interval", text="curl 'http://localhost:8080/api/v2/dags/d/dagRuns/r/wait'")
@pytest.mark.clause("WAIT-INTERVAL-OPTIONAL-1")
def test_doc_example_diverging():
    assert 422 == 200, 'answered 422: {"detail":[{"type":"missing","loc":["query","interval"]}]}'

@pytest.mark.doc_example("only-an-id")
def test_doc_example_malformed():
    pass
"""

EXPECTED_VERDICTS = {
    "RESULT-DECORATOR-1": "pass",
    "RESULT-MULTI-1": "fail",
    "WAIT-INTERVAL-OPTIONAL-1": "expected-divergence",
    "STREAM-CONTENT-TYPE-1": "unexpected-pass",
    "RESULT-MAPPED-1": "absent",
    "PARAM-EMPTY-1": "untested",
    "PARAM-SELECT-1": "pass",
    "RESULT-NONE-1": "untested",
}


@pytest.mark.parametrize("xdist", [False, True], ids=["in-process", "xdist"])
def test_a_run_writes_a_valid_report_with_evidence(pytester, xdist):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_fake_suite=TESTS)
    args = ["-p", "no:cacheprovider", "--conformance-report", "out"]
    result = pytester.runpytest_subprocess(*args, "-n", "2") if xdist else pytester.runpytest(*args)
    result.assert_outcomes(passed=2, failed=3, errors=1, skipped=1, xfailed=2)
    assert re.search(r"^report: .*out/report\.html$", result.stdout.str(), re.MULTILINE)

    report = json.loads((pytester.path / "out" / "report.json").read_text())
    assert problems(report) == []
    clauses = {clause["id"]: clause for clause in report["clauses"]}
    assert {id_: clauses[id_]["verdict"] for id_ in EXPECTED_VERDICTS} == EXPECTED_VERDICTS
    assert report["report_version"] == 4
    assert report["selection"] is None  # the whole suite
    assert report["airflow"] == {
        "version": "3.3.2",
        "prerelease": False,
        "target": "fake",
        "database": "sqlite",
        "description": "a fake session",
    }
    assert report["feature"] == {"present": False, "reason": "no /wait route on this Airflow"}

    passing = clauses["RESULT-DECORATOR-1"]["evidence"]
    assert [(item["case"], item["status"], [line["t"] for line in item["lines"]]) for item in passing] == [
        ("result-decorator", 200, [0.01, 1.02])
    ]
    assert (passing[0]["expected"], passing[0]["actual"]) == ({"compute": 84}, {"compute": 84})
    failing = clauses["RESULT-MULTI-1"]["evidence"]
    assert (failing[0]["label"], failing[0]["expected"], failing[0]["actual"]) == (
        "/wait stream of case result-decorator",
        {"alpha": "a", "zulu": "z"},
        {"compute": 84},  # from the failing assert
    )
    diverging = clauses["WAIT-INTERVAL-OPTIONAL-1"]
    assert diverging["divergence"].startswith("interval is a required query parameter")
    assert (diverging["evidence"][0]["request"]["url"], diverging["evidence"][0]["expected"]) == ("/w?a=1", 200)
    assert clauses["STREAM-CONTENT-TYPE-1"]["tests"][0]["outcome"] == "unexpected-pass"
    assert clauses["RESULT-MAPPED-1"]["tests"][0]["message"] == "404 from /wait"  # the assertion's own message
    assert clauses["RESULT-MULTI-1"]["tests"][0]["message"].startswith("assert {'compute': 84} == {")
    examples = {example["id"]: example for example in report["doc_examples"]}
    assert examples["curl-result"] == {
        "id": "curl-result",
        "text": "curl 'http://localhost:8080/api/v2/dags/d/dagRuns/r/wait?result=a'",
        "works_as_written": True,
        "detail": "every test of it passed",
    }
    assert examples["curl-no-interval"]["works_as_written"] is False
    assert examples["curl-no-interval"]["detail"].startswith(
        "test_fake_suite.py::test_doc_example_diverging: expected-divergence: known divergence"
    )
    assert "only-an-id" not in examples
    result.stdout.fnmatch_lines(["*test_doc_example_malformed*mark it doc_example(id, text)*"])
    # a note: in report.json with where it was seen, in the summary, in report.html; no verdict moved
    assert [(n["kind"], n["clause"], n["subject"], n["evidence"]) for n in report["notes"]] == [
        (
            "unknown-key",
            "STREAM-NDJSON-1",
            "dag_run_id",
            [{"test": "test_fake_suite.py::test_passing", "detail": "case result-decorator: 2 of 2 lines"}],
        )
    ]
    result.stdout.fnmatch_lines(["*note*unknown-key [[]STREAM-NDJSON-1[]]*'dag_run_id'*seen by 1 test*"])
    assert 'data-note-kind="unknown-key"' in (pytester.path / "out" / "report.html").read_text()

    junit = ElementTree.parse(pytester.path / "out" / "junit.xml")
    properties = {
        case.get("name"): [(p.get("name"), p.get("value")) for p in case.iter("property")]
        for case in junit.iter("testcase")
    }
    assert ("clause", "RESULT-DECORATOR-1") in properties["test_passing"]
    assert (pytester.path / "out" / "report.html").read_text().count("data-clause=") == len(load_clauses())


def test_a_report_that_does_not_validate_fails_the_run(pytester):
    pytester.makeconftest(
        CONFTEST
        + """
import conformance.report.writer

def pytest_configure(config):
    conformance.report.writer.SCHEMA, config._saved_schema = "wait-line.schema.json", conformance.report.writer.SCHEMA

def pytest_unconfigure(config):
    conformance.report.writer.SCHEMA = config._saved_schema
"""
    )
    pytester.makepyfile(test_fake_suite=TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "--conformance-report", "out")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stdout.fnmatch_lines(["report NOT written: the report does not match wait-line.schema.json: *"])
    assert not (pytester.path / "out" / "report.json").exists()


# A server on a version the suite never measured: named in the summary and report.json, its
# failures still failures, each that the nearest measured version declares noted so; compare
# tells such a persisting divergence from a new failure.

UNMEASURED_TESTS = """
import pytest

@pytest.mark.clause("RESULT-DECORATOR-1")
def test_passing():
    pass

@pytest.mark.clause("RESULT-NONE-1")
def test_none_result():
    assert False, "no results key, expected results {'nothing': None}"  # as 3.4.0b2 is declared to fail it

@pytest.mark.clause("RESULT-MAPPED-4")
def test_empty_expansion(airflow_session):
    if airflow_session.airflow_version == "3.4.0b2":
        assert False, "no results key, expected results {'double': []}"  # as declared
    assert False, "results are {'double': None}, expected results {'double': []}"  # wrong some other way
"""


def run_on(pytester, version: str, out: str, *args: str) -> tuple[pytest.RunResult, dict]:
    pytester.makeconftest(fake_session_conftest(airflow_version=version))
    pytester.makepyfile(test_fake_suite=UNMEASURED_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--conformance-report", out, *args)
    return result, json.loads((pytester.path / out / "report.json").read_text())


@pytest.mark.parametrize("version", ["3.4.0", "3.5.0.dev0"])
def test_an_unmeasured_version_is_named_and_a_failure_as_declared_for_the_nearest_one_is_noted(pytester, version):
    result, report = run_on(pytester, version, "out", "-n", "2")  # under xdist: the notes travel with the reports
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # still failures: nothing is widened
    assert problems(report) == []
    verdicts = {clause["id"]: clause["verdict"] for clause in report["clauses"]}
    assert (verdicts["RESULT-DECORATOR-1"], verdicts["RESULT-NONE-1"], verdicts["RESULT-MAPPED-4"]) == (
        "pass",
        "fail",
        "fail",
    )
    line = f"Airflow {version} was never measured by this suite; the nearest measured version below it is 3.4.0b2"
    declared = "same as declared for 3.4.0b2: measure it on this version and extend the entry"
    assert [(n["kind"], n["clause"], n["subject"], n["message"]) for n in report["notes"]] == [
        ("unmeasured-version", None, version, line),
        ("same-as-declared", "RESULT-NONE-1", "3.4.0b2", declared),
    ]
    assert report["notes"][0]["evidence"][0]["test"] == "session"
    assert report["notes"][1]["evidence"] == [
        {
            "test": "test_fake_suite.py::test_none_result",
            "detail": "failed: no results key, expected results {'nothing': None}",
        },
    ]
    out = result.stdout.str()
    assert out.count(line) == 1  # one line of its own, not repeated among the notes
    result.stdout.fnmatch_lines([f"*conformance: Airflow {version}*", line, "*clauses: *2 fail*"])
    result.stdout.fnmatch_lines([f"  fail                RESULT-NONE-1 ({declared})"])
    result.stdout.fnmatch_lines(["  fail                RESULT-MAPPED-4"])  # failing otherwise: no note
    assert "note                " not in out  # both notes were said where they belong
    html = (pytester.path / "out" / "report.html").read_text()
    assert 'data-note-kind="unmeasured-version"' in html and 'data-note-kind="same-as-declared"' in html


def test_a_measured_version_is_not_named():
    passed = TestResult(nodeid="t", clauses=("ANY-1",), outcome="passed", duration_s=0, message=None)
    assert versioned_report("3.4.0b2", [passed])["notes"] == []


def test_compare_lists_a_divergence_persisting_on_an_unmeasured_version_apart_from_new_failures(pytester, capsys):
    baseline_run, baseline = run_on(pytester, "3.4.0b2", "baseline")
    assert baseline_run.ret == pytest.ExitCode.OK  # RESULT-NONE-1 and RESULT-MAPPED-4 diverge as declared
    assert baseline["notes"] == []
    assert {c["id"]: c["verdict"] for c in baseline["clauses"] if c["id"] in ("RESULT-NONE-1", "RESULT-MAPPED-4")} == {
        "RESULT-NONE-1": "expected-divergence",
        "RESULT-MAPPED-4": "expected-divergence",
    }
    run_on(pytester, "3.4.0", "candidate")
    capsys.readouterr()  # what the two runs printed
    code = cli.main(["compare", str(pytester.path / "baseline"), str(pytester.path / "candidate"), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert [e.message for e in validator("compare.schema.json").iter_errors(document)] == []
    changes = [(c["kind"], c["id"], c["baseline"], c["candidate"]) for c in document["changes"]]
    assert changes == [
        (
            "persisting-divergence",
            "RESULT-NONE-1",
            "expected-divergence",
            "fail",
        ),  # listed first: not a plain new failure
        ("new-failure", "RESULT-MAPPED-4", "expected-divergence", "fail"),
    ]
    assert (code, document["exit_code"], document["counts"]["persisting-divergence"]) == (
        0,
        0,
        1,
    )  # no regression: nothing passed before
    assert [(n["kind"], n["clause"]) for n in document["notes"]["appeared"]] == [
        ("unmeasured-version", None),
        ("same-as-declared", "RESULT-NONE-1"),
    ]
    assert cli.main(["compare", str(pytester.path / "baseline"), str(pytester.path / "candidate")]) == 0
    text = capsys.readouterr().out
    assert text.index("persisting divergences: 1") < text.index("new failures: 1")
    assert "  RESULT-NONE-1    expected-divergence -> fail (On the 3.4 betas a result task returning None" in text
    assert text.splitlines()[-1].endswith("(1 persisting divergence, 1 new failure)")
    markdown = compare.render_markdown(
        compare.compare(baseline, json.loads((pytester.path / "candidate" / "report.json").read_text()))
    )
    assert "| persisting-divergence | RESULT-NONE-1 | expected-divergence | fail |" in markdown
