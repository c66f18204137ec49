"""Declared divergences match the Airflow versions they are declared for, and name real clauses."""

import re

import pytest

from conformance.catalog.clauses import load_clauses
from conformance.catalog.expectations import (
    Divergence,
    Expectations,
    divergences_for,
    failed_as_declared,
    failure_patterns_for,
    load_divergences,
    load_expectations,
    measurement_problems,
)

DIVERGING_ON_3_3 = {"WAIT-INTERVAL-OPTIONAL-1", "STREAM-CONTENT-TYPE-1", "RESULT-NONE-1", "RESULT-MAPPED-4"}
DIVERGING_ON_3_2 = {
    "WAIT-INTERVAL-OPTIONAL-1",
    "STREAM-CONTENT-TYPE-1",
    "PARAM-EMPTY-1",
    "PARAM-UNKNOWN-1",
    "PARAM-COMMA-1",
    "STREAM-NDJSON-1",
}


@pytest.mark.parametrize("version", ["3.3.0", "3.3.2", "3.3.3.dev0", "3.3.3rc1"])
def test_airflow_3_3_diverges_on_the_declared_clauses(version):
    reasons = divergences_for(version)
    assert set(reasons) == DIVERGING_ON_3_3
    assert all(reasons.values())


@pytest.mark.parametrize("version", ["3.2.2", "3.2.9"])
def test_airflow_3_2_diverges_only_on_clauses_about_the_endpoint(version):
    reasons = divergences_for(version)
    assert set(reasons) == DIVERGING_ON_3_2
    assert not any(load_clauses()[clause].needs_feature for clause in reasons)


@pytest.mark.parametrize("version", ["3.2.1", "3.4.0", "3.4.0.dev0", "3.10.0"])
def test_other_versions_have_no_divergences(version):
    assert divergences_for(version) == {}


def test_every_divergence_names_a_catalog_clause():
    assert {d.clause for d in load_divergences()} - set(load_clauses()) == set()


def test_every_divergence_names_the_measured_versions_it_was_seen_on_each_in_its_range():
    expectations = load_expectations()
    for d in expectations.divergences:
        assert d.measured_on, f"{d.clause} ({d.versions}) names no version it was measured on"
        assert all(d.versions.contains(version, prereleases=True) for version in d.measured_on), (
            d.clause,
            str(d.versions),
            d.measured_on,
        )
        assert set(d.measured_on) <= set(expectations.measured_versions), (d.clause, d.measured_on)
    assert measurement_problems(expectations) == []


def test_measurement_problems_name_each_entry_that_breaks_the_rule():
    expectations = Expectations(
        measured_versions=["3.3.2"],
        divergences=[
            Divergence(clause="X-1", versions=">=3.3.0,<3.4", reason="r"),
            Divergence(clause="X-2", versions=">=3.3.0,<3.4", reason="r", measured_on=["3.4.0b2", "3.3.1"]),
        ],
    )
    assert measurement_problems(expectations) == [
        "X-1 (<3.4,>=3.3.0) names no version it was measured on",
        "X-2 (<3.4,>=3.3.0) was measured on 3.4.0b2, outside its range",
        "X-2 (<3.4,>=3.3.0) was measured on 3.4.0b2, which measured_versions does not list",
        "X-2 (<3.4,>=3.3.0) was measured on 3.3.1, which measured_versions does not list",
    ]


def test_explicit_divergence_list_is_used_instead_of_the_file():
    mine = [Divergence(clause="X-1", versions=">=1.0", reason="because")]
    assert divergences_for("1.2", divergences=mine) == {"X-1": "because"}
    assert divergences_for("0.9", divergences=mine) == {}


def test_a_divergence_can_be_limited_to_a_database():
    mine = [Divergence(clause="X-1", versions=">=1.0", reason="jsonb", databases=["postgres"])]
    assert divergences_for("1.2", "postgres", mine) == {"X-1": "jsonb"}
    assert divergences_for("1.2", "sqlite", mine) == {}
    assert divergences_for("1.2", "unknown", mine) == {}


def test_postgres_adds_the_key_order_divergence():
    assert set(divergences_for("3.3.2", "postgres")) == DIVERGING_ON_3_3 | {"RESULT-KEY-ORDER-1"}


def test_a_divergence_can_be_limited_to_cases():
    mine = [Divergence(clause="X-1", versions=">=1.0", reason="empty", cases=["a", "b"])]
    assert divergences_for("1.2", divergences=mine, case="a") == {"X-1": "empty (cases: a, b)"}
    assert divergences_for("1.2", divergences=mine, case="c") == {}
    assert divergences_for("1.2", divergences=mine, case=None) == {}
    assert divergences_for("1.2", divergences=mine) == {"X-1": "empty (cases: a, b)"}  # a summary sees it


def test_airflow_3_2_framing_diverges_only_on_streams_that_collect_nothing():
    assert "STREAM-NDJSON-1" in divergences_for("3.2.2", case="param-empty")
    assert "STREAM-NDJSON-1" not in divergences_for("3.2.2", case="dag-return")
    assert "STREAM-NDJSON-1" not in divergences_for("3.3.2", case="param-empty")


def test_pinned_failures_are_regular_expressions():
    pinned = [d for d in load_divergences() if d.failure is not None]
    assert pinned, "no divergence pins its failure"
    for divergence in pinned:
        re.compile(divergence.failure)


def test_a_failure_counts_as_declared_only_when_a_pin_matches_or_an_entry_pins_none():
    patterns = failure_patterns_for("3.3.2", "sqlite")
    assert patterns["STREAM-CONTENT-TYPE-1"] == ("^no Content-Type;",)
    assert failed_as_declared("no Content-Type; headers: {}", patterns["STREAM-CONTENT-TYPE-1"])
    assert not failed_as_declared(
        "assert 'application/json' == 'application/x-ndjson'", patterns["STREAM-CONTENT-TYPE-1"]
    )
    assert failed_as_declared("anything at all", ("^no Content-Type;", None))
    assert not failed_as_declared("anything at all", ())


def test_pinned_messages_are_what_the_tests_say_on_3_3_2():
    """Messages worded as the suite's tests word them for 3.3.2's declared behaviour; the live envs check the real ones."""
    patterns = failure_patterns_for("3.3.2", "sqlite")
    measured = {
        "WAIT-INTERVAL-OPTIONAL-1": '422: {"detail":[{"type":"missing","loc":["query","interval"],"msg":"Field required","input":null}]}',
        "RESULT-NONE-1": "no results key, expected results {'nothing': None}",
        "RESULT-MAPPED-4": "no results key, expected results {'double': []}",
    }
    for clause, message in measured.items():
        assert failed_as_declared(message, patterns[clause]), clause


def test_the_3_2_empty_results_divergence_is_recognised_in_both_wordings():
    """Measured on 3.2.2: the terminal-line check and the reference client word the same {} differently."""
    patterns = failure_patterns_for("3.2.2", "sqlite")["PARAM-EMPTY-1"]
    assert failed_as_declared("results are {}, expected no results key", patterns)
    assert failed_as_declared(
        "the reference client rejected the stream: line 1: not a valid /wait line ({} should be non-empty): "
        '{"state": "success", "results": {}}',
        patterns,
    )
    assert not failed_as_declared("results are {'compute': 84}, expected no results key", patterns)
