"""Results belong to the run the path names: two runs of one DAG, asked live.

The session runs each fixture DAG once, so a waiter that reads XCom from the wrong run (an
earlier one, or the newest) would go unnoticed there. This test makes two runs of
``result_own_run``, whose result is its own run id, so a value from the other run shows both
as an extra value and as a wrong one.
"""

import json
import time

import pytest

from conformance.session import new_run_id

DAG_ID, TASK_ID = "result_own_run", "own_run_id"
PARSE_PATIENCE = 180.0  # seconds: the dag-processor parses it with the other fixture DAGs


def ready(wait_http, evidence) -> None:
    """Wait until the DAG is parsed, then unpause it (the session streams no case of it)."""
    deadline = time.monotonic() + PARSE_PATIENCE
    while (response := wait_http.get(f"/api/v2/dags/{DAG_ID}")).status_code == 404 and time.monotonic() < deadline:
        time.sleep(1)
    evidence.response(response, f"the DAG {DAG_ID}")
    assert response.status_code == 200, f"{DAG_ID} is not on the server (HTTP {response.status_code}); deploy dags/"
    unpaused = wait_http.patch(f"/api/v2/dags/{DAG_ID}", json={"is_paused": False})
    assert unpaused.status_code == 200, f"unpausing {DAG_ID}: HTTP {unpaused.status_code}: {unpaused.text[:300]}"


@pytest.mark.clause("RESULT-RUN-ISOLATION-1")
@pytest.mark.cases()  # makes runs of its own
def test_results_come_from_the_run_the_path_names(wait_http, evidence):
    ready(wait_http, evidence)
    base = new_run_id()
    older, newer = f"{base}-older", f"{base}-newer"
    for run_id in (older, newer):  # triggered in this order, so the second is the newer by run_after
        triggered = wait_http.post(f"/api/v2/dags/{DAG_ID}/dagRuns", json={"dag_run_id": run_id, "logical_date": None})
        assert triggered.status_code == 200, f"triggering {run_id}: HTTP {triggered.status_code}: {triggered.text[:300]}"
    terminals = {}
    for run_id in (newer, older):  # the newer first: once both ended, each run has the other beside it
        response = evidence.response(
            wait_http.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/wait", params={"interval": "0.5"}, timeout=180),
            f"/wait on the {run_id.rsplit('-', 1)[1]} of two runs",
        )
        assert response.status_code == 200, f"{run_id}: HTTP {response.status_code}: {response.text[:300]}"
        terminals[run_id] = json.loads(response.text.strip().splitlines()[-1])
    # the clause is about values: state and results, whatever else a line may carry
    outcomes = {run_id: {key: terminal.get(key) for key in ("state", "results")} for run_id, terminal in terminals.items()}
    for run_id, outcome in outcomes.items():
        evidence.compare(expected={"state": "success", "results": {TASK_ID: run_id}}, actual=outcome, label=f"state and results of {run_id}")
    assert all(outcome == {"state": "success", "results": {TASK_ID: run_id}} for run_id, outcome in outcomes.items()), outcomes
