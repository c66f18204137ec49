"""The reference client (conformance.reference_client) reads the live server without complaint.

Its rules are stricter than a casual consumer's (strict JSON, nothing after the terminal line,
results only at the end), so a server that drifts towards anything a robust client must
reject fails here even where the value checks still pass.
"""

import httpx
import pytest

from conformance.evidence import tag_sender
from conformance.reference_client import StreamError, wait_for_result

DAG = "dag_return"  # imports no `result`, so the result parameter is also tested on Airflow 3.2

pytestmark = pytest.mark.cases(dags=[DAG])


def recorded_client(airflow_session, evidence) -> httpx.Client:
    """The reference client's HTTP client, its requests kept as evidence (the admin's)."""
    return httpx.Client(base_url=airflow_session.base_url, event_hooks={"request": [tag_sender("admin"), evidence.request]})


@pytest.mark.clause("STREAM-NDJSON-1", "STREAM-TERMINAL-1", "PARAM-DEFAULT-1")
def test_reference_client_reads_the_declared_result(airflow_session, evidence):
    with recorded_client(airflow_session, evidence) as client:
        outcome = wait_for_result(
            airflow_session.base_url, DAG, airflow_session.run_id(DAG), token=airflow_session.token, timeout=60, client=client
        )
    evidence.compare(expected=["success", {"compute": 84}], actual=[outcome.state, outcome.results], label=f"reference client on {DAG}: state, results")
    assert (outcome.state, outcome.results) == ("success", {"compute": 84})


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        pytest.param([], None, id="empty", marks=pytest.mark.clause("PARAM-EMPTY-1")),
        pytest.param(["fetch_data"], {"fetch_data": {"answer": 42}}, id="other-task", marks=pytest.mark.clause("PARAM-SELECT-1")),
    ],
)
def test_reference_client_chooses_results(airflow_session, result, expected, evidence):
    try:
        with recorded_client(airflow_session, evidence) as client:
            outcome = wait_for_result(
                airflow_session.base_url, DAG, airflow_session.run_id(DAG), token=airflow_session.token, result=result,
                timeout=60, client=client,
            )
    except StreamError as exc:  # the server's answer broke a rule of the stream: a finding, not a crash
        raise AssertionError(f"the reference client rejected the stream: {exc}") from exc
    evidence.compare(expected=["success", expected], actual=[outcome.state, outcome.results], label=f"reference client on {DAG}, result={result}: state, results")
    assert (outcome.state, outcome.results) == ("success", expected)
