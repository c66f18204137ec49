"""The few Airflow REST calls the harness needs besides /wait itself.

Conformance failures and server trouble must not be confused: a 5xx from any call is retried a
bounded number of times and counted (Airflow 3.3 on sqlite answers 500 now and then under a
burst of writes), while anything else unexpected raises :class:`AirflowAPIError` with the
request and the body, so the run stops with a sentence rather than a misleading test failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Self

import httpx

ATTEMPTS = 10


# Seconds before retry N (1-based), doubling from half a second to ten: a 500 on sqlite has
# usually waited out the api-server's own 5 s lock wait already, and the lock is free again soon
# after (a first retry 2 s later left a paced trigger loop idle for 7 s, measured); but the lock
# has also been seen held ~26 s under a busy CPU, so the attempts still span about a minute.
def backoff(attempt: int) -> float:
    return float(min(0.5 * 2 ** (attempt - 1), 10))


class AirflowAPIError(Exception):
    """An Airflow API call failed in a way the harness cannot work around."""


def _check(response: httpx.Response, *expected: int) -> httpx.Response:
    if response.status_code not in expected:
        request = response.request
        raise AirflowAPIError(
            f"{request.method} {request.url.path} answered {response.status_code}: {response.text[:500]}"
        )
    return response


def bearer(token: str) -> dict[str, str]:
    """The headers that authenticate as ``token``'s user: every client of the API under test sends this."""
    return {"Authorization": f"Bearer {token}"}


def fetch_token(base_url: str, username: str, password: str) -> str:
    """A JWT from ``POST /auth/token``, as Airflow's simple and FAB auth managers issue it."""
    response = httpx.post(f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=30)
    if response.status_code in (401, 403):
        raise AirflowAPIError(f"Airflow at {base_url} rejected the credentials of user {username!r}")
    return _check(response, 200, 201).json()["access_token"]


class AirflowClient:
    """Async calls to the public REST API of one Airflow, authenticated with a bearer token.

    Every call goes through :meth:`_send`, which retries a 5xx a bounded number of times and
    notes it in :attr:`server_errors`, so the session can report server trouble it survived.
    """

    def __init__(self, base_url: str, token: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            headers=bearer(token),
            timeout=httpx.Timeout(60.0),  # above the 30 s sqlite busy timeout of the local target
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        self.server_errors: list[str] = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.http.aclose()

    async def _send(self, method: str, url: str, *expected: int, **kwargs: Any) -> httpx.Response:
        """One call, retried on a 5xx, a timeout or a dropped connection.

        A 409 on a retried POST means the failed attempt had succeeded after all. Kept by hand
        rather than with a retry library (tenacity): its one loop also records every failure in
        :attr:`server_errors` and reads a 409 as success, which a decorator would hide.
        """
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = await self.http.request(method, url, **kwargs)
            except httpx.TransportError as exc:  # timeouts included
                self.server_errors.append(f"{method} {url} failed: {type(exc).__name__} (attempt {attempt})")
                if attempt == ATTEMPTS:
                    raise AirflowAPIError(
                        f"{method} {url} failed {ATTEMPTS} times, last with {type(exc).__name__}: {exc}"
                    ) from exc
                await asyncio.sleep(backoff(attempt))
                continue
            if response.status_code < 500:
                if attempt > 1 and method == "POST" and response.status_code == 409:
                    return response
                return _check(response, *expected)
            self.server_errors.append(f"{method} {url} answered {response.status_code} (attempt {attempt})")
            if attempt < ATTEMPTS:
                await asyncio.sleep(backoff(attempt))
        return _check(response, *expected)

    async def health(self) -> dict[str, Any]:
        return (await self._send("GET", "/api/v2/monitor/health", 200)).json()

    async def version(self) -> str:
        return (await self._send("GET", "/api/v2/version", 200)).json()["version"]

    async def dag_ids(self) -> set[str]:
        ids: set[str] = set()
        while True:
            page = (await self._send("GET", "/api/v2/dags", 200, params={"limit": 100, "offset": len(ids)})).json()
            ids.update(dag["dag_id"] for dag in page["dags"])
            if not page["dags"] or len(ids) >= page["total_entries"]:
                return ids

    async def import_errors(self) -> list[dict[str, Any]]:
        return (await self._send("GET", "/api/v2/importErrors", 200, params={"limit": 100})).json()["import_errors"]

    async def unpause(self, dag_id: str) -> None:
        await self._send("PATCH", f"/api/v2/dags/{dag_id}", 200, json={"is_paused": False})

    async def trigger(self, dag_id: str, run_id: str, conf: Mapping[str, Any] | None = None) -> None:
        body: dict[str, Any] = {"dag_run_id": run_id, "logical_date": None}
        if conf is not None:
            body["conf"] = dict(conf)
        await self._send("POST", f"/api/v2/dags/{dag_id}/dagRuns", 200, json=body)

    async def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return (await self._send("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", 200)).json()
