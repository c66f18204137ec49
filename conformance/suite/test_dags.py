"""What the fixture DAG files themselves must do when Airflow parses them."""

import time

import pytest


def import_error_of(wait_http, evidence, file_name):
    """The server's import error for one fixture DAG file (waiting up to 180 s for the parse).

    As long as the session waits for fixture DAGs to be parsed (conformance.live.session): a run of
    part of the suite may need no DAG at all, and then starts this test right after the boot.
    """
    deadline = time.monotonic() + 180
    while True:
        response = wait_http.get("/api/v2/importErrors", params={"limit": 100})
        errors = response.json()["import_errors"]
        mine = [error for error in errors if error["filename"].endswith(file_name)]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(1)
    evidence.response(response, "the server's import errors")
    assert mine, f"no import error for {file_name}; import errors: {[e['filename'] for e in errors]}"
    return mine[0]["stack_trace"]


def assert_refused(wait_http, evidence, file_name, dag_id, content):
    """The file is refused with an import error whose last line holds every piece of ``content``
    (what the clause says the error names: matched on content, not on the server's wording)."""
    stack_trace = import_error_of(wait_http, evidence, file_name)
    last_line = stack_trace.strip().splitlines()[-1]
    evidence.compare(
        expected=f"an error naming {', '.join(content)}",
        actual=last_line,
        label=f"the last line of {file_name}'s import error",
    )
    missing = [piece for piece in content if piece.lower() not in last_line.lower()]
    assert missing == [], f"the import error does not name {missing}: {last_line[-500:]}"
    dags = evidence.response(wait_http.get("/api/v2/dags", params={"dag_id_pattern": dag_id})).json()["dags"]
    assert dags == [], "the broken DAG was registered anyway"


@pytest.mark.clause("RESULT-DECORATOR-2")
@pytest.mark.cases()  # reads import errors, no run
def test_result_below_task_is_an_import_error(wait_http, evidence):
    assert_refused(wait_http, evidence, "broken_result_order.py", "broken_result_order", ["@result", "@task"])


@pytest.mark.clause("LOOP-RESULT-INSIDE-1")
@pytest.mark.cases()
def test_result_inside_a_loop_is_an_import_error(wait_http, evidence):
    assert_refused(wait_http, evidence, "loop_result_inside.py", "loop_result_inside", ["body.step", "loop", "result"])
