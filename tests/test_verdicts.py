"""The one vocabulary (conformance.verdicts) against the schemas that publish it, and its predicates.

The schemas are what other tools read, so the vocabulary must name exactly what they allow;
the predicates are checked against the sets each reader used to keep for itself.
"""

from __future__ import annotations

import json

import pytest

from conformance import verdicts
from conformance.paths import schemas_dir


def schema(name: str) -> dict:
    return json.loads((schemas_dir() / name).read_text())


REPORT = schema("report.schema.json")["$defs"]
COMPARE = schema("compare.schema.json")["$defs"]


def test_the_vocabulary_names_exactly_what_the_schemas_allow():
    assert set(verdicts.VERDICTS) == set(REPORT["verdict"]["enum"])
    assert set(COMPARE["verdict"]["enum"]) == {*verdicts.VERDICTS, verdicts.MISSING}
    assert list(verdicts.CHANGES) == COMPARE["change"]["properties"]["kind"]["enum"]  # listed in this order
    assert list(verdicts.NOTE_KINDS) == REPORT["note"]["properties"]["kind"]["enum"]
    assert set(verdicts.TEST_OUTCOMES) == set(REPORT["test"]["properties"]["outcome"]["enum"])
    assert set(verdicts.CHANGE_NOUNS) == set(verdicts.Change)


def test_verdicts_are_listed_worst_first_and_read_as_words():
    assert verdicts.VERDICTS[:2] == ("fail", "unexpected-pass") and verdicts.VERDICTS[-1] == "not-selected"
    assert verdicts.LABELS["unexpected-pass"] == "unexpected pass"
    assert verdicts.LABELS["expected-divergence"] == "expected divergence"


# (verdict, passing, needs attention, judged, a false failure on an unchanged Airflow, not passing)
TABLE = [
    ("pass", True, False, True, False, False),
    ("unexpected-pass", True, True, True, True, False),
    ("fail", False, True, True, True, True),
    ("expected-divergence", False, False, True, False, False),
    ("absent", False, False, True, False, True),
    ("untested", False, False, False, False, True),
    ("not-applicable", False, False, False, False, True),
    ("not-selected", False, False, False, False, True),
    ("missing", False, False, True, False, True),
    ("error", False, False, True, True, True),
]


@pytest.mark.parametrize(("verdict", "passing", "attention", "judged", "false_failure", "not_passing"), TABLE)
def test_each_question_has_one_answer(verdict, passing, attention, judged, false_failure, not_passing):
    assert verdicts.passing(verdict) is passing
    assert verdicts.needs_attention(verdict) is attention
    assert verdicts.judged(verdict) is judged
    assert verdicts.false_failure(verdict) is false_failure
    assert verdicts.not_passing(verdict) is not_passing


def test_a_verdict_that_needs_attention_names_the_test_outcome_behind_it():
    assert {v for v in verdicts.VERDICTS if verdicts.needs_attention(v)} == set(verdicts.ATTENTION_OUTCOMES)
    assert all(verdicts.TEST_OUTCOMES[outcome] == v for v, outcome in verdicts.ATTENTION_OUTCOMES.items())
