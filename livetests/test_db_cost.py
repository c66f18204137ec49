"""What /wait streams cost the metadata database, per poll and as the number of waiters grows.

On the local target with PostgreSQL (``pg_stat_statements`` preloaded), one run is kept
``running`` while phases of equal length follow each other: one with no stream (the baseline:
scheduler, triggerer and the running task), then one with N streams for each N in
``AIRFLOW_CONFORMANCE_DBCOST_STREAMS`` (default ``1,10,50``) polling every 0.2 s. Each phase
reads PostgreSQL's own counters (statements, transactions, sessions, rows) over a window that
starts once every stream is streaming, and the baseline is subtracted; the probe inside the
api-server counts the polls and what each waiter did.

It asserts that every waiter runs one SQL statement and one pool checkout per poll whatever
N is, and that PostgreSQL ran the waiter's SELECT once per poll; the figures are printed.
Needs Airflow with its ``postgres`` extra and Debian's PostgreSQL (tox -e dbcost).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import httpx
import pytest

from conformance.live.airflow_api import AirflowClient
from conformance.live.fixture_dags import ready_fixture_dags
from conformance.live.run_ids import new_run_id
from conformance.settings import read
from conformance.targets.local import LocalTarget
from waiter_probe import probed_environment, waiters

COUNTS = tuple(int(n) for n in os.environ.get("AIRFLOW_CONFORMANCE_DBCOST_STREAMS", "1,10,50").split(","))
DAG, INTERVAL, WINDOW = "timed_run", 0.2, 6.0
# PostgreSQL publishes an idle backend's pending counters within 10 s (pg_stat_database);
# every phase waits that long after its streams close, so each one's counts are complete.
SETTLE = 11.0
OPEN_GAP, OPEN_TIMEOUT = 0.02, 120.0  # seconds between opening two streams; for all to start
# The waiter's SELECT, whitespace folded (the asyncpg dialect adds ::VARCHAR casts).
WAITER_QUERY = r"FROM dag_run WHERE dag_run\.dag_id = \$1(::VARCHAR)? AND dag_run\.run_id = \$2(::VARCHAR)?$"


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    psycopg2 = pytest.importorskip("psycopg2", reason="needs Airflow's postgres extra (tox -e dbcost)")
    probe_log = tmp_path_factory.mktemp("probe") / "waiters.jsonl"
    environ = {**os.environ, "AIRFLOW_CONFORMANCE_DB": "postgres"}
    with probed_environment(probe_log), LocalTarget(read(environ)).start() as connection:
        database = psycopg2.connect(connection.database_url.replace("+psycopg2", ""))
        database.autocommit = True
        database.cursor().execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        try:
            yield connection, database, probe_log
        finally:
            database.close()


def counters(database) -> dict[str, int]:
    """PostgreSQL's cumulative counters for Airflow's database."""
    with database.cursor() as cursor:
        cursor.execute(
            "SELECT xact_commit + xact_rollback, tup_returned, tup_fetched, sessions FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
        transactions, returned, fetched, sessions = cursor.fetchone()
        cursor.execute(
            "SELECT coalesce(sum(calls), 0), coalesce(sum(calls) FILTER (WHERE waiter), 0), "
            "coalesce(sum(rows) FILTER (WHERE waiter), 0) FROM (SELECT calls, rows, "
            "regexp_replace(query, '\\s+', ' ', 'g') ~ %s AS waiter FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())) AS s",
            (WAITER_QUERY,),
        )
        statements, waiter_calls, waiter_rows = cursor.fetchone()
    return {
        "statements": int(statements),
        "waiter query calls": int(waiter_calls),
        "waiter query rows": int(waiter_rows),
        "transactions": transactions,
        "sessions": sessions,
        "rows returned": returned,
        "rows fetched": fetched,
    }


async def measure(database, base_url: str, headers: dict[str, str], path: str, count: int) -> dict[str, Any]:
    """One phase: ``count`` streams opened, then the database's counters over ``WINDOW`` s.

    The window starts once every stream has had its first line, so that it measures polling
    alone; streams are opened a little apart, as a burst of authenticated requests can stall
    Airflow 3.3.2's api-server for half a minute (README, "Under load").
    """
    first_lines = 0
    all_open = asyncio.Event()

    async def read(http: httpx.AsyncClient) -> None:
        nonlocal first_lines
        streaming = False
        async with http.stream("GET", path, params={"interval": str(INTERVAL)}) as response:
            assert response.status_code == 200
            async for _ in response.aiter_bytes():
                if not streaming:
                    streaming = True
                    first_lines += 1
                    if first_lines == count:
                        all_open.set()

    limits = httpx.Limits(max_connections=max(count, 1), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=None, limits=limits) as http:
        readers = []
        for _ in range(count):
            readers.append(asyncio.create_task(read(http)))
            await asyncio.sleep(OPEN_GAP)
        if count:
            try:
                await asyncio.wait_for(all_open.wait(), OPEN_TIMEOUT)
            except TimeoutError:
                pytest.fail(f"only {first_lines} of {count} streams had their first line after {OPEN_TIMEOUT:g} s")
        before, started = counters(database), time.time()
        await asyncio.sleep(WINDOW)
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        ended = time.time()
    await asyncio.sleep(SETTLE)
    after = counters(database)
    return {"database": {key: after[key] - before[key] for key in after}, "window": (started, ended)}


async def running_run(connection) -> str:
    async with AirflowClient(connection.base_url, connection.token) as client:
        await ready_fixture_dags(client, [DAG], connection.base_url)
        run_id = new_run_id()
        await client.trigger(DAG, run_id, {"seconds": 600})
        path = f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances/sleep_then_answer"
        while (await client.http.get(path)).json().get("state") != "running":
            await asyncio.sleep(1)
        return run_id


def test_polling_cost_per_waiter_is_flat_as_waiters_grow(airflow):
    connection, database, probe_log = airflow
    run_id = asyncio.run(running_run(connection))
    path = f"/api/v2/dags/{DAG}/dagRuns/{run_id}/wait"
    phases: dict[int, dict[str, Any]] = {}
    for count in (0, *COUNTS):
        opened = time.time()
        phases[count] = asyncio.run(measure(database, connection.base_url, connection.headers, path, count))
        phases[count]["waiters"] = [waiter for waiter in waiters(probe_log, run_id) if opened <= waiter.opened]

    baseline = phases[0]["database"]
    print(f"\nbaseline, no stream, {WINDOW + SETTLE:.0f} s: " + ", ".join(f"{k} {v}" for k, v in baseline.items()))
    print(
        "per poll, measured in the api-server (exact) | in PostgreSQL, baseline subtracted (other components add noise):"
    )
    for count in COUNTS:
        found = phases[count]["waiters"]
        assert len(found) == count
        started, ended = phases[count]["window"]
        polls = sum(started <= t <= ended for waiter in found for t in waiter.polls)  # within the window
        for waiter in found:  # one statement per poll, on a connection from the pool, whatever N is
            polled = len(waiter.polls)  # the last poll may have been cut short when the client left
            assert waiter.how in ("cancelled", "closed"), waiter
            assert polled - 1 <= waiter.statements <= polled and polled - 1 <= waiter.checkouts <= polled, waiter
        # PostgreSQL saw the waiter's SELECT once per poll; at each end of the window one poll per
        # stream may fall on the other side (logged before the snapshot, run after it, or cut off).
        assert abs(phases[count]["database"]["waiter query calls"] - polls) <= count
        lifetime_polls = sum(len(waiter.polls) for waiter in found)
        exact = {
            cost: sum(getattr(waiter, cost) for waiter in found) / lifetime_polls
            for cost in ("statements", "checkouts", "connects")
        }
        database_side = {key: (value - baseline[key]) / polls for key, value in phases[count]["database"].items()}
        print(
            f"{count:>3} waiters, {polls:>5} polls: "
            + ", ".join(f"{k} {v:.2f}" for k, v in exact.items())
            + " | "
            + ", ".join(f"{k} {v:.2f}" for k, v in database_side.items())
        )
