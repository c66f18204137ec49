"""/wait's live answers, held against its OpenAPI description (schemas/wait.openapi.json).

Two sources: the session's recorded streams (each line against the 200's itemSchema), and a
few cheap requests made here that must be refused (each against the status it must get and
the error schema the description gives that status). The 200's Content-Type is not checked
here: STREAM-CONTENT-TYPE-1 judges it, and declares its absence on 3.3.x.
"""

import pytest

from conformance.catalog.cases import load_cases
from conformance.live.airflow_api import bearer
from conformance.suite.helpers import finished
from conformance.wire import openapi

CASE_IDS = list(load_cases())
# A DAG that loads on every Airflow with /wait, whose run the session has streamed to its end.
FINISHED_DAG, FINISHED_CASE = "dag_return", "dag-return"
# name: (the status described for it, the run id (None: the session's run), the query, the
# headers sent instead of the admin's token (None: the admin's token))
REFUSED = {
    "unknown-run": (404, "no-such-run", {"interval": "1"}, None),
    "zero-interval": (422, None, {"interval": "0"}, None),
    "no-token": (401, None, {"interval": "1"}, {}),
    "bad-token": (403, None, {"interval": "1"}, bearer("not-a-token")),
}


@pytest.mark.clause("OPENAPI-1")
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_recorded_stream_is_as_described(case_id, airflow_session, evidence):
    transcript = finished(evidence.transcript(airflow_session.transcript(case_id)))
    problems = openapi.body_problems(200, transcript.body)
    assert problems == [], "; ".join(problems)


@pytest.mark.clause("OPENAPI-1")
@pytest.mark.cases(FINISHED_CASE)
@pytest.mark.parametrize("which", list(REFUSED))
def test_refused_request_is_answered_as_described(which, airflow_session, wait_http, evidence):
    status, run_id, query, instead = REFUSED[which]
    path = f"/api/v2/dags/{FINISHED_DAG}/dagRuns/{run_id or airflow_session.run_id(FINISHED_DAG)}/wait"
    request = wait_http.build_request("GET", path, params=query)
    if instead is not None:  # the admin's client, without its token
        del request.headers["Authorization"]
        request.headers.update(instead)
    sender = None if instead is None else "anonymous"
    response = evidence.response(wait_http.send(request), sent_headers=instead, sender=sender)
    evidence.compare(expected=status, actual=response.status_code)
    assert response.status_code == status, f"{response.status_code}: {response.text[:300]}"
    problems = openapi.media_type_problems(status, response.headers.get("content-type")) + openapi.body_problems(
        status, response.text
    )
    assert problems == [], "; ".join(problems)
