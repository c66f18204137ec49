"""Asking /wait for a task inside a task-group loop (Airflow 3.4): refused before any line.

A loop task runs once per iteration, so there is no one value to hand back; the server says
so with 409, naming the task, and points at the way out, a result task after the loop (whose results the cases
loop-result-after, loop-until-early and loop-mapped-body check).
"""

import pytest

from conformance.suite.test_request import error_body

LOOP_TASKS = [
    pytest.param("loop_result_after", ["body.step"], "body.step", id="body-task"),
    pytest.param("loop_result_after", ["body.__loop_gate"], "body.__loop_gate", id="gate"),
    pytest.param("loop_until_early", ["body.stop_after_two"], "body.stop_after_two", id="until-gate"),
    pytest.param("loop_mapped_body", ["body.square"], "body.square", id="mapped-iteration-task"),
    pytest.param("loop_result_after", ["collect", "body.step"], "body.step", id="beside-a-task-outside"),
]


@pytest.mark.clause("LOOP-SELECT-409-1")
@pytest.mark.cases(dags=sorted({param.values[0] for param in LOOP_TASKS}))
@pytest.mark.parametrize(("dag_id", "selection", "refused"), LOOP_TASKS)
def test_naming_a_loop_task_is_a_conflict(wait_http, airflow_session, dag_id, selection, refused, evidence):
    query = [("interval", "1")] + [("result", task_id) for task_id in selection]
    path = f"/api/v2/dags/{dag_id}/dagRuns/{airflow_session.run_id(dag_id)}/wait"
    response = evidence.response(wait_http.get(path, params=query))
    evidence.compare(expected=409, actual=response.status_code)
    assert response.status_code == 409, f"{response.status_code}: {response.text[:300]}"
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    detail = error_body(response, evidence)["detail"]  # one JSON object: no stream line came first
    evidence.compare(expected=f"a detail naming {refused}", actual=detail, label="the error's detail")
    assert refused in detail, detail  # the content the clause names; the wording is the server's
