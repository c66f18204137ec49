"""The doc's request examples (its curl lines), run exactly as written against the live server.

Each test names WAIT-INTERVAL-OPTIONAL-1, whose statement is that the doc's examples are served
as written; so where they cannot be (3.2 and 3.3 require the interval the doc's commands leave
out) the test is that clause's declared divergence: it still runs, and the report shows the
example as not working as written. The results each example must bring back are also checked
here, but the clauses about them (PARAM-DEFAULT-1, PARAM-SELECT-1, PARAM-EMPTY-1) are judged by
their own cases, which send an interval: a test that fails as one clause's divergence says
nothing about the others it touches.
"""

import json

import httpx
import pytest

from conformance.catalog.cases import terminal_mismatches
from conformance.catalog.doc_examples import load_doc_examples, parse_curl
from conformance.wire.checks import framing_problems


@pytest.mark.parametrize(
    "example",
    [
        pytest.param(
            example,
            id=example.id,
            marks=[
                pytest.mark.clause(*example.clauses),
                pytest.mark.doc_example(example.id, example.text),
                pytest.mark.cases(dags=[example.dag_id]),
            ],
        )
        for example in load_doc_examples()
    ],
)
def test_doc_example_works_as_written(example, airflow_session, evidence):
    run_id = airflow_session.run_id(example.dag_id)
    request = example.request(airflow_session.base_url, run_id, airflow_session.token)
    with httpx.Client(timeout=60) as client:  # the run has ended: the answer is immediate
        response = client.send(request)
    command = example.command(airflow_session.base_url, run_id)
    evidence.response(
        response, f"the doc's command: {command}", sent_headers=dict(parse_curl(command).headers), sender="admin"
    )
    assert response.status_code == 200, f"`{command}` answered {response.status_code}: {response.text[:300]}"
    lines = response.text.splitlines(keepends=True)
    assert lines, f"`{command}` answered 200 with an empty body"
    assert framing_problems(lines) == [], command
    assert terminal_mismatches(example.expect, json.loads(lines[-1])) == [], command
