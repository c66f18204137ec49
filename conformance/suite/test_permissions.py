"""/wait's XCom check, asked as a user who may read the DAG and its runs but not XCom.

The target provides that user's token (``restricted_token``): the local target creates the
user in the FAB auth manager, an external one is given it by ``AIRFLOW_CONFORMANCE_RESTRICTED_*``.
Without it these clauses are untested, and the run says so; on the local target a missing
token is the target's fault, so the tests fail instead.
"""

import json

import pytest

from conformance.cases import load_cases
from conformance.fixtures import authenticated_client
from conformance.ndjson import outcome
from conformance.suite.test_request import error_body

# A DAG that loads on every Airflow with /wait (its result is the @dag return), whose run the
# session has already streamed to its end, so every request here answers at once.
DAG, CASE, RESULT_TASK = "dag_return", "dag-return", "compute"
OWNS_RESTRICTED_USER = ("local",)  # targets that create the no-XCom user themselves

pytestmark = pytest.mark.cases(CASE)  # every test here asks about that run


@pytest.fixture(scope="module")
def no_xcom_http(airflow_session):
    """An HTTP client authenticated as the user who may read DAG runs but not XCom."""
    token = airflow_session.restricted_token
    if token is None:
        if airflow_session.target in OWNS_RESTRICTED_USER:
            pytest.fail(f"the {airflow_session.target} target provided no user without XCom access", pytrace=False)
        pytest.skip(
            "no user without XCom access was given; set AIRFLOW_CONFORMANCE_RESTRICTED_TOKEN "
            "(or _RESTRICTED_USERNAME and _RESTRICTED_PASSWORD)"
        )
    with authenticated_client(airflow_session.base_url, token, "restricted") as client:
        yield client


def wait_path(dag_id, run_id):
    return f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/wait"


@pytest.mark.clause("AUTH-XCOM-EXPLICIT-1", "ERROR-BODY-1")
@pytest.mark.parametrize("selection", [[RESULT_TASK], [RESULT_TASK, "other"], [""]], ids=["one-task", "two-tasks", "empty"])
def test_naming_results_without_xcom_access_is_forbidden(no_xcom_http, airflow_session, selection, evidence):
    query = [("interval", "1")] + [("result", task_id) for task_id in selection]
    response = evidence.response(no_xcom_http.get(wait_path(DAG, airflow_session.run_id(DAG)), params=query))
    evidence.compare(expected=403, actual=response.status_code)
    assert response.status_code == 403, f"{response.status_code}: {response.text[:300]}"
    assert "xcom" in error_body(response, evidence)["detail"].lower()


@pytest.mark.clause("AUTH-XCOM-DEFAULT-1")
def test_default_results_are_dropped_without_xcom_access(no_xcom_http, airflow_session, evidence):
    admin_terminal = airflow_session.transcript(CASE).lines[-1].value()
    assert "results" in admin_terminal, f"the admin's stream of the same run has no results: {admin_terminal}"
    response = evidence.response(no_xcom_http.get(wait_path(DAG, airflow_session.run_id(DAG)), params={"interval": "1"}))
    assert response.status_code == 200, f"{response.status_code}: {response.text[:300]}"
    terminal = outcome(json.loads(response.text.splitlines()[-1]))
    evidence.compare(expected={"state": admin_terminal["state"]}, actual=terminal, label="state and results of the terminal line")
    assert terminal == {"state": admin_terminal["state"]}


@pytest.mark.clause("AUTH-XCOM-ORDER-1", "ERROR-BODY-1")
@pytest.mark.parametrize(("selection", "status"), [([RESULT_TASK], 403), (None, 404)], ids=["with-result", "without-result"])
def test_the_xcom_check_comes_before_the_run_lookup(no_xcom_http, selection, status, evidence):
    query = [("interval", "1")] + [("result", task_id) for task_id in selection or []]
    response = evidence.response(no_xcom_http.get(wait_path(DAG, "no-such-run"), params=query))
    evidence.compare(expected=status, actual=response.status_code)
    assert response.status_code == status, f"{response.status_code}: {response.text[:300]}"
    error_body(response, evidence)


@pytest.mark.clause("AUTH-XCOM-ADMIN-1")
def test_a_user_with_xcom_access_gets_the_named_result(wait_http, no_xcom_http, airflow_session, evidence):
    """The control for the clauses above: the same request as the admin is answered in full."""
    response = evidence.response(
        wait_http.get(wait_path(DAG, airflow_session.run_id(DAG)), params={"interval": "1", "result": RESULT_TASK})
    )
    assert response.status_code == 200, f"{response.status_code}: {response.text[:300]}"
    terminal = outcome(json.loads(response.text.splitlines()[-1]))
    expected = {"state": "success", "results": {RESULT_TASK: load_cases()[CASE].expect["results"][RESULT_TASK]}}
    evidence.compare(expected=expected, actual=terminal, label="state and results of the terminal line")
    assert terminal == expected
