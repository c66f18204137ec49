"""Waiting for an Airflow to be healthy: ``/api/v2/monitor/health`` reporting every component so.

Airflow's health endpoint answers once the api-server is up, with one entry per component
(metadatabase, scheduler, dag-processor, triggerer), each with a ``status``. A server counts
as ready when there is at least one entry and every one says ``healthy`` (:func:`all_healthy`).

:func:`wait_until_healthy` is the one wait for that, used by every target that starts a server
(the local target's processes, the container target's containers) and by the livetests that
restart an api-server. It polls until the deadline, asks the caller before every poll whether
what it started is still alive (so a crash at boot does not cost the whole wait), reports each
poll to a progress callback (:class:`BootProgress` shows a boot on :mod:`conformance.live.progress`),
and at the deadline raises :class:`~conformance.targets.base.TargetError` with the caller's
sentence.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import httpx

from conformance.live import progress
from conformance.targets.base import TargetError

HEALTH_PATH = "/api/v2/monitor/health"

States = Mapping[str, str]  # component -> its status ("healthy", "unhealthy", "unknown", ...)


def all_healthy(health: Mapping[str, Mapping[str, object]]) -> bool:
    """Whether a health answer lists at least one component, and every one healthy."""
    states = component_states(health)
    return states is not None and _ready(states)


def component_states(health: object) -> dict[str, str] | None:
    """Each component's status from a health answer; None when the answer is not one."""
    if not isinstance(health, Mapping) or not all(isinstance(component, Mapping) for component in health.values()):
        return None
    return {str(name): str(component.get("status") or "unknown") for name, component in health.items()}


def _ready(states: States) -> bool:
    return bool(states) and all(state == "healthy" for state in states.values())


def wait_until_healthy(
    url: str | Callable[[], str],
    deadline: float,
    *,
    check: Callable[[], None] = lambda: None,
    on_progress: Callable[[States | None], None] = lambda states: None,
    late: Callable[[], str] | None = None,
    poll_interval: float = 0.5,
) -> None:
    """Return once the health endpoint at ``url`` reports every component healthy.

    ``url`` may be a callable, for a server whose address is known only once it is up (a
    container's published port): until it returns, the server counts as not answering.
    ``check`` is called before every poll and raises when what serves the URL has died.
    ``on_progress`` gets every poll's component states, or None while the server is not answering.
    ``deadline`` is a :func:`time.monotonic` value; past it, a TargetError carrying ``late()``
    (the caller's sentence, e.g. with the server's log tail).
    """
    resolved = url if isinstance(url, str) else None
    while True:
        check()
        states = None
        try:
            resolved = resolved or url()  # type: ignore[operator]
            states = component_states(httpx.get(resolved, timeout=5).json())
        except (httpx.HTTPError, ValueError, OSError):  # OSError: a container's port not published yet
            pass
        on_progress(states)
        if states is not None and _ready(states):
            return
        if time.monotonic() > deadline:
            where = f" at {resolved}" if resolved else ""
            raise TargetError(late() if late else f"Airflow{where} did not report every component healthy in time.")
        time.sleep(poll_interval)


class BootProgress:
    """A boot on :mod:`conformance.live.progress`: a step when a component's status changes, and
    one when all are healthy; a status line while waiting. Times count from ``started``."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.seen: dict[str, str] = {}

    def __call__(self, states: States | None) -> None:
        elapsed = time.monotonic() - self.started
        if states is None:
            progress.status(f"boot: {elapsed:.0f} s, the api-server is not answering yet")
            return
        if changed := {name: state for name, state in states.items() if self.seen.get(name) != state}:
            progress.step(f"boot {elapsed:.1f} s: " + ", ".join(f"{name} {state}" for name, state in changed.items()))
        self.seen = dict(states)
        if _ready(states):
            progress.step(f"healthy after {elapsed:.1f} s")
            return
        waiting = [name for name, state in states.items() if state != "healthy"]
        progress.status(f"boot: {elapsed:.0f} s, waiting for {', '.join(waiting)} to be healthy")
