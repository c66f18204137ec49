"""What the fixture DAG files themselves must do when Airflow parses them."""

import time

import pytest

BROKEN_FILE = "broken_result_order.py"
MESSAGE = "@result must be used on top of a @task-decorated function"


@pytest.mark.clause("RESULT-DECORATOR-2")
def test_result_below_task_is_an_import_error(wait_http, evidence):
    deadline = time.monotonic() + 60
    while True:
        response = wait_http.get("/api/v2/importErrors", params={"limit": 100})
        errors = response.json()["import_errors"]
        mine = [error for error in errors if error["filename"].endswith(BROKEN_FILE)]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(1)
    evidence.response(response, "the server's import errors")
    assert mine, f"no import error for {BROKEN_FILE}; import errors: {[e['filename'] for e in errors]}"
    last_line = mine[0]["stack_trace"].strip().splitlines()[-1]
    evidence.compare(expected=f"an error saying: {MESSAGE}", actual=last_line, label=f"the last line of {BROKEN_FILE}'s import error")
    assert MESSAGE in mine[0]["stack_trace"], mine[0]["stack_trace"][-500:]
    dags = evidence.response(wait_http.get("/api/v2/dags", params={"dag_id_pattern": "broken_result_order"})).json()["dags"]
    assert dags == [], "the broken DAG was registered anyway"
