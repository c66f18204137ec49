"""Runs a suite test makes of its own, through Airflow's public REST API.

Most tests judge the session's one run per fixture DAG. A few need runs nobody else touches:
two runs of one DAG side by side (isolation), a run they change after it ended (clearing a loop
iteration). These helpers do that with the requests a user would make, each named after the
endpoint it calls, and keep what they saw as the test's evidence.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

PARSE_PATIENCE = 180.0  # seconds: the dag-processor parses such a DAG with the other fixture DAGs
WAIT_TIMEOUT = 180.0  # seconds a /wait of such a run may take


def ready(wait_http: httpx.Client, evidence: Any, dag_id: str) -> None:
    """Wait until ``dag_id`` is parsed (GET /api/v2/dags/{dag_id}), then unpause it (PATCH)."""
    deadline = time.monotonic() + PARSE_PATIENCE
    while (response := wait_http.get(f"/api/v2/dags/{dag_id}")).status_code == 404 and time.monotonic() < deadline:
        time.sleep(1)
    evidence.response(response, f"the DAG {dag_id}")
    assert response.status_code == 200, f"{dag_id} is not on the server (HTTP {response.status_code}); deploy dags/"
    unpaused = wait_http.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False})
    assert unpaused.status_code == 200, f"unpausing {dag_id}: HTTP {unpaused.status_code}: {unpaused.text[:300]}"


def trigger(wait_http: httpx.Client, dag_id: str, run_id: str) -> None:
    """POST /api/v2/dags/{dag_id}/dagRuns: a run of ``dag_id`` named ``run_id``."""
    triggered = wait_http.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"dag_run_id": run_id, "logical_date": None})
    assert triggered.status_code == 200, f"triggering {run_id}: HTTP {triggered.status_code}: {triggered.text[:300]}"


def terminal_line(wait_http: httpx.Client, evidence: Any, dag_id: str, run_id: str, label: str) -> dict[str, Any]:
    """GET .../wait?interval=0.5 on the run, whole; its last line, parsed."""
    response = evidence.response(
        wait_http.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/wait", params={"interval": "0.5"}, timeout=WAIT_TIMEOUT),
        label,
    )
    assert response.status_code == 200, f"{run_id}: HTTP {response.status_code}: {response.text[:300]}"
    return json.loads(response.text.strip().splitlines()[-1])
