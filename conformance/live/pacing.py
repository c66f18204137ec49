"""How many fixture runs the session keeps in flight at once: all of them, except on sqlite.

Why sqlite is paced: on a plain ``airflow standalone`` (3.3.2, sqlite, LocalExecutor with
``parallelism`` 32) triggering all 28 fixture runs within two seconds makes the executor start
about 30 tasks together, whose task processes all call the execution API's ``PATCH
/execution/task-instances/{id}/run`` in the same second. The api-server then served nothing for
90 s (every request in flight, ``/wait`` streams included, ended at the same instant), and the
scheduler, whose write of ``dag_run`` waited sqlite's 5 s for the lock meanwhile, exited on
"database is locked" (docs/airflow-findings.md, "the sqlite standalone scheduler exits"). Fewer runs in flight
means fewer tasks starting together; PostgreSQL takes the whole burst.

``AIRFLOW_CONFORMANCE_RUNS_IN_FLIGHT`` sets the number (``0``: no limit) for any database; an
external target is paced when ``AIRFLOW_CONFORMANCE_DB=sqlite`` says it runs on sqlite.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping

from conformance.catalog.cases import Case
from conformance.settings import SQLITE_RUNS_IN_FLIGHT
from conformance.targets.base import TargetError

VARIABLE = "AIRFLOW_CONFORMANCE_RUNS_IN_FLIGHT"


class PacingError(TargetError):
    """The variable is not a whole number of runs: said before any server starts."""


def runs_in_flight(database: str, given: str | None) -> int | None:
    """The most runs to keep unfinished at once on ``database``, ``given`` the variable's text
    (None when unset); None for no limit."""
    raw = (given or "").strip()
    if raw:
        try:
            limit = int(raw)
        except ValueError:
            limit = -1
        if limit < 0:
            raise PacingError(f"{VARIABLE} must be a whole number of runs (0 for no limit), not {raw!r}.")
        return limit or None
    return SQLITE_RUNS_IN_FLIGHT if database == "sqlite" else None


async def until_fewer_than(
    limit: int | None,
    streams_of_run: Mapping[str, Collection[asyncio.Task]],
    also: Collection[asyncio.Task] = (),
) -> None:
    """Returns once fewer than ``limit`` runs have a stream still open, or once a task of ``also`` ended.

    A run counts as in flight while any of its streams is open: its terminal line comes when it
    has finished. ``also`` is what must not be waited past (the health watchdog).
    """
    if limit is None:
        return
    while True:
        open_streams = [{t for t in tasks if not t.done()} for tasks in streams_of_run.values()]
        open_streams = [tasks for tasks in open_streams if tasks]
        if len(open_streams) < limit or any(task.done() for task in also):
            return
        await asyncio.wait(set().union(*open_streams) | set(also), return_when=asyncio.FIRST_COMPLETED)


TIMED_CASES = ("slow-cadence-gzip", "slow-cadence-identity", "slow-first-line")  # the cadence and first-line cases


def timed_order(dag_ids: list[str], cases: list[Case], limit: int | None) -> list[str]:
    """The trigger order: the DAGs of the cadence and first-line cases right after the first
    ``limit`` others, so as the first of them end; with no limit, after every other.

    Their run (``slow_run``, 8 s of sleep) is the session's longest. Paced, that run triggered
    last ended one whole run after the rest (3.3.2: the runs spanned 27.4 s, against 21.6 s
    with it first). Triggered first, its streams shared the session's first seconds, when the
    executor starts its first task processes: a 4.56 s gap under a 3.56 s control request, so
    both cadence cases were measured again (conformance.live.timing), which cost more than it saved.
    After the first ``limit`` runs, the executor is warm and it still ends before the rest.
    Unpaced, every run is triggered within a second or two, so the order hardly matters.
    """
    timed_dags = {case.dag_id for case in cases if case.id in TIMED_CASES}
    timed = [dag_id for dag_id in dag_ids if dag_id in timed_dags]
    others = [dag_id for dag_id in dag_ids if dag_id not in timed]
    first = limit if limit is not None else len(others)
    return others[:first] + timed + others[first:]
