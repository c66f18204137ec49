"""Results belong to the run the path names: two runs of one DAG, asked live.

The session runs each fixture DAG once, so a waiter that reads XCom from the wrong run (an
earlier one, or the newest) would go unnoticed there. This test makes two runs of
``result_own_run``, whose result is its own run id, so a value from the other run shows both
as an extra value and as a wrong one.
"""

import pytest

from conformance.live.own_runs import ready, terminal_line, trigger
from conformance.live.run_ids import new_run_id
from conformance.wire.ndjson import outcome

DAG_ID, TASK_ID = "result_own_run", "own_run_id"


@pytest.mark.clause("RESULT-RUN-ISOLATION-1")
@pytest.mark.cases()  # makes runs of its own
def test_results_come_from_the_run_the_path_names(wait_http, evidence):
    ready(wait_http, evidence, DAG_ID)
    base = new_run_id()
    older, newer = f"{base}-older", f"{base}-newer"
    for run_id in (older, newer):  # triggered in this order, so the second is the newer by run_after
        trigger(wait_http, DAG_ID, run_id)
    terminals = {  # the newer first: once both ended, each run has the other beside it
        run_id: terminal_line(
            wait_http, evidence, DAG_ID, run_id, f"/wait on the {run_id.rsplit('-', 1)[1]} of two runs"
        )
        for run_id in (newer, older)
    }
    # the clause is about values: state and results, whatever else a line may carry
    outcomes = {run_id: outcome(terminal) for run_id, terminal in terminals.items()}
    for run_id, terminal in outcomes.items():
        evidence.compare(
            expected={"state": "success", "results": {TASK_ID: run_id}},
            actual=terminal,
            label=f"state and results of {run_id}",
        )
    assert all(
        terminal == {"state": "success", "results": {TASK_ID: run_id}} for run_id, terminal in outcomes.items()
    ), outcomes
