"""The health watchdog: ends a session whose runs can no longer finish, with the reason."""

from __future__ import annotations

import asyncio
import time

import httpx

from conformance.live.airflow_api import AirflowAPIError, AirflowClient

WATCHED_COMPONENTS = ("metadatabase", "scheduler")  # without these no run can finish


async def watch_health(client: AirflowClient, every: float = 3.0, patience: float = 60.0) -> str:
    """Returns (a sentence) once a component the runs depend on has stayed unhealthy for ``patience`` s.

    sqlite standalone's scheduler can die of "database is locked"; without this the session
    would wait out every stream's deadline and end in misleading test failures. But a live
    scheduler can also miss heartbeats while sqlite is locked (36 s seen), so one unhealthy
    answer is not enough, and a failed poll counts for nothing.
    """
    unhealthy_since: float | None = None
    while True:
        await asyncio.sleep(every)
        try:
            health = await client.health()
        except (AirflowAPIError, httpx.HTTPError):
            continue
        sick = {name: health[name] for name in WATCHED_COMPONENTS if health.get(name, {}).get("status") != "healthy"}
        if not sick:
            unhealthy_since = None
            continue
        unhealthy_since = unhealthy_since if unhealthy_since is not None else time.monotonic()
        if time.monotonic() - unhealthy_since >= patience:
            return "Airflow reported " + "; ".join(f"its {name} {state}" for name, state in sick.items())
