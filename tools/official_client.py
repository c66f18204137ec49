"""Airflow's official Python client (apache-airflow-client) on /wait, behind the runner's contract.

    python3 tools/official_client.py URL

It calls ``DagRunApi.wait_dag_run_until_finished`` as the client's documentation shows it
(``Configuration`` with ``host`` and ``access_token``, ``ApiClient``, ``DagRunApi``), with the
URL taken apart into what the method asks for: the base URL (everything before
``/api/v2/dags/``) as ``host``, the DAG id and run id from the path, ``interval`` and each
``result`` from the query. ``AIRFLOW_TOKEN`` is the bearer token, when set.

The only glue on what the method returns: split it on ``\\n`` and ``json.loads`` the last line
that is not blank, printed as the answer (exit 0). Nothing is checked beyond that, since the
client is what is judged here, not this file. When the method raises, or returns something that
is not text (it parses a body that is one JSON value on its own and returns that), or the glue
finds no line or cannot parse it, the adapter exits 1 with ``{"error": ...}`` naming what
happened.

``tools/official_client.expected-failures.json`` (no Content-Type on the 200, as Airflow 3.3
sends it) and ``tools/official_client.x-ndjson.expected-failures.json`` (``Content-Type:
application/x-ndjson``, as a fixed Airflow would send it) list the cases it fails, each with the
client code that makes it fail; ``tox -e official-client`` runs both.
"""

from __future__ import annotations

import json
import os
import sys
from urllib.parse import parse_qsl, unquote, urlsplit

import airflow_client.client

API = "/api/v2/dags/"


def call(url: str) -> object:
    """What ``wait_dag_run_until_finished`` returns for the /wait URL ``url``."""
    parts = urlsplit(url)
    prefix, _, rest = parts.path.partition(API)
    dag_id, _, dag_run_id, _ = rest.split("/")  # {dag_id}/dagRuns/{dag_run_id}/wait
    query = parse_qsl(parts.query, keep_blank_values=True)
    interval_text = dict(query)["interval"]
    interval = int(interval_text) if interval_text.isdigit() else float(interval_text)
    result = [value for name, value in query if name == "result"] or None
    configuration = airflow_client.client.Configuration(
        host=f"{parts.scheme}://{parts.netloc}{prefix}",
        access_token=os.environ.get("AIRFLOW_TOKEN"),
    )
    with airflow_client.client.ApiClient(configuration) as api_client:
        api_instance = airflow_client.client.DagRunApi(api_client)
        return api_instance.wait_dag_run_until_finished(unquote(dag_id), unquote(dag_run_id), interval, result=result)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python3 tools/official_client.py URL", file=sys.stderr)
        return 4
    try:
        returned = call(argv[0])
    except Exception as exc:  # noqa: BLE001 (whatever the client raises is its answer)
        print(
            json.dumps({"error": f"{type(exc).__name__}: {' '.join(str(exc).split())}"})
        )  # on one line, for the table
        return 1
    if not isinstance(returned, str):
        print(
            json.dumps(
                {
                    "error": f"wait_dag_run_until_finished returned a {type(returned).__name__}, not the body's text: {returned!r}"
                }
            )
        )
        return 1
    lines = [line for line in returned.split("\n") if line.strip()]
    if not lines:
        print(json.dumps({"error": f"no line in what wait_dag_run_until_finished returned: {returned!r}"}))
        return 1
    try:
        last = json.loads(lines[-1])
    except ValueError as exc:
        print(json.dumps({"error": f"the last line does not parse ({exc}): {lines[-1]!r}"}))
        return 1
    print(json.dumps(last))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
