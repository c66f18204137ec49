"""Case.terminal_mismatches names every difference from the expected terminal line, and cases.json is sound."""

import hashlib
import json
import re

import pytest

from conformance.catalog.cases import Case, applicable_cases, cases_new_in, load_cases
from conformance.catalog.clauses import load_clauses
from conformance.paths import dags_dir, fixtures_dir

BLOB = "x" * 1000


def case(**expect) -> Case:
    return Case(id="c", description="", dag_id="d", query=[["interval", "1"]], expect=expect, clauses=["C-1"])


def digest(text: str) -> dict:
    return {"length": len(text), "sha256": hashlib.sha256(text.encode()).hexdigest()}


@pytest.mark.parametrize(
    ("expect", "terminal", "problems"),
    [
        ({"state": "success", "results": {"a": 1}}, {"state": "success", "results": {"a": 1}}, []),
        ({"state": "success"}, {"state": "success"}, []),
        ({"state": "success"}, {"state": "failed"}, ["state is 'failed', expected 'success'"]),
        (
            {"state": "success", "results": {"a": 1}},
            {"state": "success"},
            ['no results key, expected results {"a": 1}'],
        ),
        (
            {"state": "success"},
            {"state": "success", "results": {"a": 1}},
            ['results are {"a": 1}, expected no results key'],
        ),
        (
            {"state": "success", "results": {"a": 1}},
            {"state": "success", "results": {"a": 2}},
            ['results are {"a": 2}, expected {"a": 1}'],
        ),
        (
            {"state": "success", "results": {"a": 1, "b": 2}},
            {"state": "success", "results": {"b": 2, "a": 1}},
            ["results keys come in order ['b', 'a'], expected ['a', 'b']"],
        ),
        (
            {"state": "success", "string_digests": {"blob": digest(BLOB)}},
            {"state": "success", "results": {"blob": BLOB}},
            [],
        ),
        (
            {"state": "success", "string_digests": {"blob": digest(BLOB)}},
            {"state": "success", "results": {"blob": "y" * 1000}},
            ["blob differs from the expected string (SHA-256 mismatch)"],
        ),
        (
            {"state": "success", "string_digests": {"blob": digest(BLOB)}},
            {"state": "success", "results": {"blob": BLOB[:-1]}},
            ["blob has length 999, expected 1000", "blob differs from the expected string (SHA-256 mismatch)"],
        ),
        (
            {"state": "success", "string_digests": {"blob": digest(BLOB)}},
            {"state": "success", "results": {"blob": 7}},
            ["blob is int, expected a string"],
        ),
        (
            {"state": "success", "string_digests": {"blob": digest(BLOB)}},
            {"state": "success", "results": {"other": BLOB}},
            ["results hold tasks ['other'], expected ['blob']"],
        ),
        (
            {"state": "success", "string_digests": {"blob": digest(BLOB)}},
            {"state": "success"},
            ["results are absent, expected ['blob']"],
        ),
    ],
    ids=[
        "match",
        "match-no-results",
        "wrong-state",
        "missing-results",
        "unexpected-results",
        "wrong-value",
        "key-order",
        "digest-match",
        "digest-sha-mismatch",
        "digest-length-mismatch",
        "digest-not-a-string",
        "digest-other-task",
        "digest-no-results",
    ],
)
def test_terminal_mismatches(expect, terminal, problems):
    assert case(**expect).terminal_mismatches(terminal) == problems


def test_long_values_are_shortened_in_messages():
    [problem] = case(state="success").terminal_mismatches({"state": "success", "results": {"blob": BLOB}})
    assert problem.endswith("… (1012 characters), expected no results key")


def test_interval_is_the_last_one_asked_for():
    assert (
        Case(
            id="c", description="", dag_id="d", query=[["interval", "1"], ["interval", "2.5"]], expect={}, clauses=[]
        ).interval
        == 2.5
    )
    assert Case(id="c", description="", dag_id="d", query=[], expect={}, clauses=[]).interval is None


def test_case_ids_are_unique():
    ids = [entry["id"] for entry in json.loads((fixtures_dir() / "cases.json").read_text())["cases"]]
    assert sorted(id for id in set(ids) if ids.count(id) > 1) == []
    assert list(load_cases()) == ids


@pytest.mark.parametrize("case", load_cases().values(), ids=lambda case: case.id)
def test_case_names_known_clauses_and_an_existing_dag(case: Case):
    assert set(case.clauses) - set(load_clauses()) == set()
    assert (dags_dir() / f"{case.dag_id}.py").is_file()


def test_a_server_is_asked_only_the_cases_about_its_version():
    """3.3 must never wait for a loop DAG (it does not import there); 3.4 runs every case."""
    cases = load_cases().values()
    loops = {case.id for case in cases if case.dag_id.startswith("loop_")}
    assert loops
    assert loops.isdisjoint(case.id for case in applicable_cases(cases, "3.3.2"))
    assert [case.id for case in applicable_cases(cases, "3.4.0b2")] == [case.id for case in cases]
    assert {case.id for case in cases_new_in(cases, "3.4.0")} == loops


def test_a_dag_of_a_later_version_serves_only_cases_of_that_version():
    """A case's DAG that only a later Airflow can load is only named by cases new in that Airflow."""
    cases = load_cases().values()
    new = {case.dag_id for case in cases_new_in(cases, "3.4.0")}
    older = {case.dag_id for case in applicable_cases(cases, "3.3.2")}
    assert new.isdisjoint(older)


# What Airflow 3.2 lacks besides airflow.sdk.result, as a fixture DAG file would use it.
LATER_API = re.compile(r"\.add_result\(|\.loop\(")
IMPORTS_RESULT = re.compile(r"^from airflow\.sdk import [^\n]*\bresult\b", re.MULTILINE)


def test_a_dag_file_using_what_3_2_lacks_imports_result_so_3_2_refuses_it_recognisably():
    """On 3.2 such a file must fail for want of airflow.sdk.result, the one import error the
    session reads as the feature being absent (conformance.live.fixture_dags.feature_absence); any other
    (an AttributeError for DAG.add_result) would end the run as a deployment mistake."""
    files = {path.name: path.read_text() for path in sorted(dags_dir().glob("*.py"))}
    using = {name for name, text in files.items() if LATER_API.search(text)}
    assert "result_add_result.py" in using
    assert sorted(name for name in using if not IMPORTS_RESULT.search(files[name])) == []
