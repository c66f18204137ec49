"""/wait and task-group loops (Airflow 3.4): a loop task refused, a rerun iteration replacing the old.

A loop task runs once per iteration, so there is no one value to hand back; the server says
so with 409, naming the task, and points at the way out, a result task after the loop (whose
results the cases loop-result-after, loop-until-early and loop-mapped-body check). And what that
task sees when an iteration is run again: the rerun's value in place of the one it replaced.
"""

import pytest

from conformance.live.own_runs import ready, terminal_line, trigger
from conformance.live.run_ids import new_run_id
from conformance.suite.helpers import error_body
from conformance.wire.ndjson import outcome

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


RERUN_DAG, RERUN_TASK = "loop_rerun", "body.step"


@pytest.mark.clause("LOOP-RERUN-CURRENT-1")
@pytest.mark.cases()  # makes a run of its own, and changes it after it ended
def test_a_cleared_iteration_is_replaced_not_added(wait_http, evidence):
    """A finished run of ``loop_rerun``; its second iteration cleared with what follows it
    (POST /api/v2/dags/{dag_id}/clearTaskInstances, the task instance's id from GET
    .../dagRuns/{run_id}/taskInstances); /wait again on the same run."""
    ready(wait_http, evidence, RERUN_DAG)
    run_id = new_run_id()
    trigger(wait_http, RERUN_DAG, run_id)
    first = outcome(terminal_line(wait_http, evidence, RERUN_DAG, run_id, "/wait on the run, before the clear"))
    before = (first.get("results") or {}).get("collect")
    assert first.get("state") == "success" and isinstance(before, list) and len(before) == 3, (
        f"the run before the clear: {first}"
    )

    listed = evidence.response(
        wait_http.get(f"/api/v2/dags/{RERUN_DAG}/dagRuns/{run_id}/taskInstances", params={"task_id": RERUN_TASK}),
        f"the executions of {RERUN_TASK}",
    )
    assert listed.status_code == 200, f"HTTP {listed.status_code}: {listed.text[:300]}"
    iterations = sorted(listed.json()["task_instances"], key=lambda ti: ti["loop_iteration"]["iteration"])
    assert len(iterations) == 3, f"{len(iterations)} executions of {RERUN_TASK}, expected one per iteration"
    cleared = evidence.response(
        wait_http.post(
            f"/api/v2/dags/{RERUN_DAG}/clearTaskInstances",
            json={
                "dry_run": False,
                "dag_run_id": run_id,
                "task_instance_ids": [iterations[1]["id"]],
                "include_downstream": True,
                "only_failed": False,
            },
        ),
        "clearing the second iteration and what follows it",
    )
    assert cleared.status_code == 200, f"HTTP {cleared.status_code}: {cleared.text[:300]}"

    second = outcome(terminal_line(wait_http, evidence, RERUN_DAG, run_id, "/wait on the same run, after the clear"))
    after = (second.get("results") or {}).get("collect")
    # one value per iteration still; the first untouched, the second the rerun's (its next try)
    expected = [before[0], {"n": 2, "try": before[1]["try"] + 1}, "the third iteration's, n 3"]
    evidence.compare(expected=expected, actual=after, label="what the result task after the loop saw, after the clear")
    assert second.get("state") == "success", second
    assert isinstance(after, list) and len(after) == 3, f"expected one value per iteration, got {after}"
    assert after[:2] == expected[:2] and after[2].get("n") == 3, after
