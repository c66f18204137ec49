"""Request handling of /wait, asked live of the server: parameters, unknown ids, auth."""

import json

import httpx
import pytest

from conformance.suite.helpers import error_body
from conformance.wire.ndjson import outcome

# A DAG that loads on every Airflow with /wait (it imports no `result`), so that these clauses
# about the endpoint get a verdict on an Airflow without the DAG Result feature too.
FINISHED_DAG, FINISHED_CASE = "dag_return", "dag-return"

pytestmark = pytest.mark.cases(FINISHED_CASE)  # every test here asks about its run


@pytest.fixture(scope="module")
def finished_run(airflow_session):
    """A run whose streams have all ended, so any /wait on it answers at once."""
    return f"/api/v2/dags/{FINISHED_DAG}/dagRuns/{airflow_session.run_id(FINISHED_DAG)}/wait"


@pytest.mark.clause("WAIT-INTERVAL-OPTIONAL-1")
def test_interval_may_be_omitted(wait_http, finished_run, evidence):
    response = evidence.response(wait_http.get(finished_run), "the doc's request, with no interval")
    assert response.status_code == 200, f"{response.status_code}: {response.text[:300]}"
    terminal = outcome(json.loads(response.text.splitlines()[-1]))
    evidence.compare(expected="success", actual=terminal.get("state"), label="the state of the last line")
    assert terminal.get("state") == "success", terminal


@pytest.mark.clause("WAIT-INTERVAL-INVALID-1", "ERROR-BODY-1")
@pytest.mark.parametrize("interval", ["0", "-1", "nan", "abc"])
def test_invalid_interval_is_rejected(wait_http, finished_run, interval, evidence):
    response = evidence.response(wait_http.get(finished_run, params={"interval": interval}))
    evidence.compare(expected=422, actual=response.status_code)
    assert response.status_code == 422, f"{response.status_code}: {response.text[:300]}"
    locations = [error["loc"] for error in error_body(response, evidence)["detail"]]
    evidence.compare(expected=[["query", "interval"]], actual=locations, label="where the validation error points")
    assert locations == [["query", "interval"]]


@pytest.mark.clause("WAIT-INTERVAL-INF-1")
def test_infinite_interval_is_accepted(wait_http, airflow_session, finished_run, evidence):
    response = evidence.response(wait_http.get(finished_run, params={"interval": "inf"}, timeout=30))
    assert response.status_code == 200, f"{response.status_code}: {response.text[:300]}"
    # the same run, streamed at interval=1: its terminal line's state and results, line for line
    expected = [outcome(airflow_session.transcript(FINISHED_CASE).lines[-1].value())]
    assert expected[0].get("state") == "success", expected
    actual = [outcome(json.loads(line)) for line in response.text.splitlines() if line.strip()]
    evidence.compare(expected=expected, actual=actual, label="state and results of every line of the body")
    assert actual == expected


@pytest.mark.clause("WAIT-NOT-FOUND-1", "ERROR-BODY-1")
@pytest.mark.parametrize("which", ["unknown-run", "unknown-dag"])
def test_unknown_ids_get_404(wait_http, airflow_session, which, evidence):
    dag_id, run_id = FINISHED_DAG, airflow_session.run_id(FINISHED_DAG)
    if which == "unknown-run":
        run_id = "no-such-run"
    else:
        dag_id = "no_such_dag"
    response = evidence.response(
        wait_http.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/wait", params={"interval": "1"})
    )
    evidence.compare(expected=404, actual=response.status_code)
    assert response.status_code == 404, f"{response.status_code}: {response.text[:300]}"
    detail = error_body(response, evidence)["detail"]
    assert dag_id in detail and run_id in detail, detail


@pytest.mark.clause("WAIT-AUTH-1", "ERROR-BODY-1")
@pytest.mark.parametrize(
    ("authorization", "status"), [(None, 401), ("Bearer not-a-token", 403)], ids=["no-token", "bad-token"]
)
def test_unauthenticated_requests_are_refused(airflow_session, finished_run, authorization, status, evidence):
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(airflow_session.base_url + finished_run, params={"interval": "1"}, headers=headers, timeout=30)
    evidence.response(response, sent_headers=headers)
    evidence.compare(expected=status, actual=response.status_code)
    assert response.status_code == status, f"{response.status_code}: {response.text[:300]}"
    error_body(response, evidence)
