"""The few Airflow REST calls the harness needs besides /wait itself.

Conformance failures and server trouble must not be confused: a 5xx from a trigger is retried
a bounded number of times and counted (Airflow 3.3 on sqlite answers 500 now and then under a
burst of writes), while anything else unexpected raises :class:`AirflowAPIError` with the
request and the body, so the run stops with a sentence rather than a misleading test failure.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

TRIGGER_ATTEMPTS = 4


class AirflowAPIError(Exception):
    """An Airflow API call failed in a way the harness cannot work around."""


def _check(response: httpx.Response, *expected: int) -> httpx.Response:
    if response.status_code not in expected:
        request = response.request
        raise AirflowAPIError(
            f"{request.method} {request.url.path} answered {response.status_code}: {response.text[:500]}"
        )
    return response


def fetch_token(base_url: str, username: str, password: str) -> str:
    """A JWT from ``POST /auth/token``, as Airflow's simple and FAB auth managers issue it."""
    response = httpx.post(f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=30)
    if response.status_code in (401, 403):
        raise AirflowAPIError(f"Airflow at {base_url} rejected the credentials of user {username!r}")
    return _check(response, 200, 201).json()["access_token"]


class AirflowClient:
    """Async calls to the public REST API of one Airflow, authenticated with a bearer token."""

    def __init__(self, base_url: str, token: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(30.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        self.trigger_retries: list[str] = []

    async def __aenter__(self) -> AirflowClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.http.aclose()

    async def version(self) -> str:
        return _check(await self.http.get("/api/v2/version"), 200).json()["version"]

    async def dag_ids(self) -> set[str]:
        ids: set[str] = set()
        while True:
            page = _check(await self.http.get("/api/v2/dags", params={"limit": 100, "offset": len(ids)}), 200).json()
            ids.update(dag["dag_id"] for dag in page["dags"])
            if not page["dags"] or len(ids) >= page["total_entries"]:
                return ids

    async def import_errors(self) -> list[dict[str, Any]]:
        response = await self.http.get("/api/v2/importErrors", params={"limit": 100})
        return _check(response, 200).json()["import_errors"]

    async def unpause(self, dag_id: str) -> None:
        _check(await self.http.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False}), 200)

    async def trigger(self, dag_id: str, run_id: str) -> None:
        """Create a run, retrying a 5xx; a 409 after a 5xx means the failed attempt had created it."""
        for attempt in range(1, TRIGGER_ATTEMPTS + 1):
            response = await self.http.post(
                f"/api/v2/dags/{dag_id}/dagRuns", json={"dag_run_id": run_id, "logical_date": None}
            )
            if response.status_code < 500 and not (attempt > 1 and response.status_code == 409):
                _check(response, 200)
                return
            if response.status_code == 409:
                return
            self.trigger_retries.append(f"POST dagRuns for {dag_id} answered {response.status_code}")
            if attempt == TRIGGER_ATTEMPTS:
                _check(response, 200)
            await asyncio.sleep(attempt)

    async def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return _check(await self.http.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"), 200).json()
