"""The terminal line of every case in fixtures/cases.json: state and results as expected."""

import pytest

from conformance.catalog.cases import load_cases


@pytest.mark.parametrize(
    "case", [pytest.param(case, id=case.id, marks=pytest.mark.clause(*case.clauses)) for case in load_cases().values()]
)
def test_terminal_line(case, airflow_session, evidence):
    transcript = evidence.transcript(airflow_session.transcript(case.id))
    assert transcript.error is None, f"{case.id}: {transcript.error}"
    assert transcript.status == 200, f"{case.id}: HTTP {transcript.status}: {transcript.body[:300]}"
    assert transcript.lines, f"{case.id}: empty body"
    terminal = transcript.lines[-1].value()
    evidence.compare(expected=case.expect, actual=terminal, label="the terminal line")
    mismatches = case.terminal_mismatches(terminal)
    assert mismatches == [], "; ".join(mismatches)


@pytest.mark.clause("RESULT-KEY-ORDER-1")
@pytest.mark.cases("result-key-order")
def test_keys_inside_a_result_keep_their_order(airflow_session, evidence):
    transcript = evidence.transcript(airflow_session.transcript("result-key-order"))
    assert transcript.status == 200 and transcript.lines, transcript.error or transcript.body[:300]
    keys = list(transcript.lines[-1].value()["results"]["ordered"])
    evidence.compare(expected=["zulu", "alpha", "mike"], actual=keys, label="keys of results.ordered, in order")
    assert keys == ["zulu", "alpha", "mike"]
