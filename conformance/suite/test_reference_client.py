"""The reference client (conformance.clientkit.reference_client) reads the live server without complaint.

Its rules are stricter than a casual consumer's (strict JSON, nothing after the terminal line,
results only at the end, no key that collides with a known one), so a server that drifts
towards anything a robust client must reject fails here even where the value checks still
pass. Two questions, two tests, each judged under its own clauses: does the client accept the
stream (STREAM-NDJSON-1), and does it read the results asked for (the result parameter's).
"""

import httpx
import pytest

from conformance.clientkit.reference_client import StreamError, WaitResult, wait_for_result
from conformance.report.evidence import tag_sender

DAG = "dag_return"  # imports no `result`, so the result parameter is also tested on Airflow 3.2

pytestmark = pytest.mark.cases(dags=[DAG])

SELECTIONS = [  # (id, result parameter, the results a conforming server hands back, the clause of the parameter)
    ("default", None, {"compute": 84}, "PARAM-DEFAULT-1"),
    ("empty", [], None, "PARAM-EMPTY-1"),
    ("other-task", ["fetch_data"], {"fetch_data": {"answer": 42}}, "PARAM-SELECT-1"),
]
# The fixture case (fixtures/cases.json) whose request each selection repeats: the stream the
# client reads is that case's, so a divergence declared for that case's streams applies to it
CASE_OF = {"default": "dag-return", "empty": "param-empty", "other-task": "param-other-task"}


def read_with_reference_client(airflow_session, evidence, result: list[str] | None) -> WaitResult:
    """The reference client's answer on the finished run, its request kept as evidence (the admin's)."""
    client = httpx.Client(
        base_url=airflow_session.base_url, event_hooks={"request": [tag_sender("admin"), evidence.request]}
    )
    with client:
        return wait_for_result(
            airflow_session.base_url,
            DAG,
            airflow_session.run_id(DAG),
            token=airflow_session.token,
            result=result,
            timeout=60,
            client=client,
        )


@pytest.mark.clause(
    "STREAM-NDJSON-1"
)  # what a client rejects is a line it cannot take; the terminal line has tests of its own
@pytest.mark.parametrize(("case_id", "result"), [pytest.param(CASE_OF[i], r, id=i) for i, r, _, _ in SELECTIONS])
def test_reference_client_accepts_the_stream(airflow_session, case_id, result, evidence):
    try:
        outcome = read_with_reference_client(airflow_session, evidence, result)
    except StreamError as exc:  # the server's answer broke a rule of the stream: a finding, not a crash
        evidence.compare(
            expected="a stream the reference client accepts", actual=str(exc), label="the reference client"
        )
        raise AssertionError(f"the reference client rejected the stream: {exc}") from exc
    evidence.compare(
        expected="a stream the reference client accepts",
        actual=f"accepted, ending {outcome.state}",
        label="the reference client",
    )


@pytest.mark.parametrize(
    ("result", "expected"), [pytest.param(r, e, id=i, marks=pytest.mark.clause(c)) for i, r, e, c in SELECTIONS]
)
def test_reference_client_reads_the_results_asked_for(airflow_session, result, expected, evidence):
    try:
        outcome = read_with_reference_client(airflow_session, evidence, result)
    except StreamError as exc:
        pytest.skip(f"the reference client rejected the stream, which is the stream clauses' to judge: {exc}")
    evidence.compare(
        expected=["success", expected],
        actual=[outcome.state, outcome.results],
        label=f"reference client on {DAG}, result={result}: state, results",
    )
    assert (outcome.state, outcome.results) == ("success", expected)
