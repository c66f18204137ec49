"""/wait's permission checks, asked as users the admin is told apart from: one who may read the
DAG and its runs but not XCom (the XCom check), and one who may read the DAG but not its runs
(the route's own check of the runs).

The target provides each user's token (``restricted_token``, ``no_runs_token``): the local
target creates the users in the FAB auth manager, an external one is given them by
``AIRFLOW_CONFORMANCE_RESTRICTED_*`` and ``AIRFLOW_CONFORMANCE_NO_RUNS_*``, and the container
target has neither (SimpleAuthManager lets every role read runs and XCom). Without a user its
clauses are untested, and the run says why; on the local target a missing token is the
target's fault, so the tests fail instead.
"""

import json

import pytest

from conformance.catalog.cases import load_cases
from conformance.plugin.pytest_fixtures import authenticated_client
from conformance.suite.helpers import error_body
from conformance.wire.ndjson import outcome

# A DAG that loads on every Airflow with /wait (its result is the @dag return), whose run the
# session has already streamed to its end, so every request here answers at once.
DAG, CASE, RESULT_TASK = "dag_return", "dag-return", "compute"
OWNS_ITS_USERS = ("local",)  # targets that create the users below themselves

pytestmark = pytest.mark.cases(CASE)  # every test here asks about that run


def without_user(airflow_session, who: str, variables: str) -> None:
    """No token for ``who``: the target's fault where it makes its users, else a skip saying why
    (``variables``: the AIRFLOW_CONFORMANCE_<variables>_* that give one to the external target)."""
    if airflow_session.target in OWNS_ITS_USERS:
        pytest.fail(f"the {airflow_session.target} target provided no {who}", pytrace=False)
    if airflow_session.target == "container":
        pytest.skip(
            f"no {who}: the container target's Airflow runs SimpleAuthManager, whose roles all may read DAG runs and XCom"
        )
    pytest.skip(
        f"no {who} was given; set AIRFLOW_CONFORMANCE_{variables}_TOKEN (or _{variables}_USERNAME and _{variables}_PASSWORD)"
    )


@pytest.fixture(scope="module")
def no_xcom_http(airflow_session):
    """An HTTP client authenticated as the user who may read DAG runs but not XCom."""
    token = airflow_session.restricted_token
    if token is None:
        without_user(airflow_session, "user without XCom access", "RESTRICTED")
    with authenticated_client(airflow_session.base_url, token, "restricted") as client:
        yield client


@pytest.fixture(scope="module")
def no_runs_http(airflow_session):
    """An HTTP client authenticated as the user who may read the DAGs but not their runs."""
    token = airflow_session.no_runs_token
    if token is None:
        without_user(airflow_session, "user who may read the DAGs but not their runs", "NO_RUNS")
    with authenticated_client(airflow_session.base_url, token, "no-runs") as client:
        yield client


def wait_path(dag_id, run_id):
    return f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/wait"


@pytest.mark.clause("AUTH-XCOM-EXPLICIT-1", "ERROR-BODY-1")
@pytest.mark.parametrize(
    "selection", [[RESULT_TASK], [RESULT_TASK, "other"], [""]], ids=["one-task", "two-tasks", "empty"]
)
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
    response = evidence.response(
        no_xcom_http.get(wait_path(DAG, airflow_session.run_id(DAG)), params={"interval": "1"})
    )
    assert response.status_code == 200, f"{response.status_code}: {response.text[:300]}"
    terminal = outcome(json.loads(response.text.splitlines()[-1]))
    evidence.compare(
        expected={"state": admin_terminal["state"]}, actual=terminal, label="state and results of the terminal line"
    )
    assert terminal == {"state": admin_terminal["state"]}


@pytest.mark.clause("AUTH-XCOM-ORDER-1", "ERROR-BODY-1")
@pytest.mark.parametrize(
    ("selection", "status"), [([RESULT_TASK], 403), (None, 404)], ids=["with-result", "without-result"]
)
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


@pytest.mark.clause("AUTH-RUNS-1")  # its statement names the error body; ERROR-BODY-1 has tests of its own
def test_a_user_who_may_not_read_the_runs_is_forbidden(no_runs_http, airflow_session, evidence):
    # the control: this user is signed in and may read the DAG, so a 403 is about its runs
    dag = evidence.response(no_runs_http.get(f"/api/v2/dags/{DAG}"), "the DAG itself, asked by the same user")
    assert dag.status_code == 200, (
        f"the user given as one who may read the DAGs but not their runs cannot read DAG {DAG} either "
        f"({dag.status_code}: {dag.text[:300]}), so its 403 on /wait would prove nothing"
    )
    response = evidence.response(
        no_runs_http.get(wait_path(DAG, airflow_session.run_id(DAG)), params={"interval": "1"})
    )
    evidence.compare(expected=403, actual=response.status_code)
    assert response.status_code == 403, f"{response.status_code}: {response.text[:300]}"
    error_body(response, evidence)  # one JSON object: no stream line came first
