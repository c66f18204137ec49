"""``external``: an Airflow someone else runs, reached by URL.

Configured from the environment, like OCI's conformance suite::

    AIRFLOW_CONFORMANCE_URL        e.g. https://airflow.example.com
    AIRFLOW_CONFORMANCE_TOKEN      a bearer token, or:
    AIRFLOW_CONFORMANCE_USERNAME   with AIRFLOW_CONFORMANCE_PASSWORD, exchanged at /auth/token
    AIRFLOW_CONFORMANCE_DB         optional: sqlite or postgres, for divergences that depend on it
    AIRFLOW_CONFORMANCE_RESTRICTED_TOKEN     optional: a user who may read DAG runs but not XCom,
    AIRFLOW_CONFORMANCE_RESTRICTED_USERNAME  or its credentials (with ..._RESTRICTED_PASSWORD);
                                   without them the clauses about /wait's XCom check are untested
    AIRFLOW_CONFORMANCE_NO_RUNS_TOKEN        optional: a user who may read the DAGs but not their
    AIRFLOW_CONFORMANCE_NO_RUNS_USERNAME     runs, or its credentials (with ..._NO_RUNS_PASSWORD);
                                   without them the clause about /wait's run permission is untested

The fixture DAGs (``dags/``) must already be deployed there. Nothing is started or stopped;
runs get unique ids, so the suite can run against the same server again and again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from conformance.live.airflow_api import AirflowAPIError, bearer, fetch_token
from conformance.settings import Settings
from conformance.targets.base import Connection, TargetError


class ExternalTarget:
    name = "external"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @contextmanager
    def start(self) -> Iterator[Connection]:
        url = self.settings.url.rstrip("/")
        if not url:
            raise TargetError(
                "The external target needs AIRFLOW_CONFORMANCE_URL (the Airflow base URL, e.g. http://localhost:8080)."
            )
        try:
            httpx.get(f"{url}/api/v2/monitor/health", timeout=15).raise_for_status()
        except httpx.HTTPError as exc:
            raise TargetError(
                f"Cannot reach Airflow at {url} ({exc}); check AIRFLOW_CONFORMANCE_URL and that the api-server is up."
            ) from exc
        token = self.settings.token or self._token_from_credentials(url)
        check = httpx.get(f"{url}/api/v2/dags", params={"limit": 1}, headers=bearer(token), timeout=15)
        if check.status_code in (401, 403):
            raise TargetError(
                f"Airflow at {url} refused the token (HTTP {check.status_code}); "
                "set a valid AIRFLOW_CONFORMANCE_TOKEN or AIRFLOW_CONFORMANCE_USERNAME/PASSWORD."
            )
        database = "unknown" if self.settings.database is None else self.settings.database
        yield Connection(
            target=self.name,
            base_url=url,
            token=token,
            description=url,
            database=database,
            restricted_token=self._optional_token(url, "RESTRICTED"),
            no_runs_token=self._optional_token(url, "NO_RUNS"),
        )

    def _token_from_credentials(self, url: str, user: str = "") -> str:
        prefix = f"AIRFLOW_CONFORMANCE_{user}_" if user else "AIRFLOW_CONFORMANCE_"
        _, username, password = self.settings.credentials(user)
        if not (username and password):
            raise TargetError(f"The external target needs {prefix}TOKEN, or {prefix}USERNAME and {prefix}PASSWORD.")
        try:
            return fetch_token(url, username, password)
        except (AirflowAPIError, httpx.HTTPError) as exc:
            raise TargetError(
                f"Could not log in to {url}: {exc}; check {prefix}USERNAME and {prefix}PASSWORD."
            ) from exc

    def _optional_token(self, url: str, user: str) -> str | None:
        """An optional user's token (``RESTRICTED``: no XCom; ``NO_RUNS``: no DAG runs), from its
        ``AIRFLOW_CONFORMANCE_<user>_*`` variables; None when none is set. Half its credentials
        given is a mistake, not a skip."""
        token, username, password = self.settings.credentials(user)
        if token:
            return token
        if not (username or password):
            return None
        return self._token_from_credentials(url, user)
