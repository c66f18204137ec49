"""The session's runs: trigger one run per fixture DAG, stream every case, record it once.

:func:`prepare` waits for the fixture DAGs (:mod:`conformance.live.fixture_dags`), triggers one
run per DAG, paced and ordered (:mod:`conformance.live.pacing`), and opens one /wait stream per
case as soon as its run exists, so all runs and streams proceed together and the whole session
costs about as long as its slowest run. A watchdog (:mod:`conformance.live.watchdog`) ends it
when the runs can no longer finish. What it saw is written once as the session's record
(:mod:`conformance.live.session_record`), which every test and pytest-xdist worker reads; the
server itself is only ever started by one process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from pathlib import Path

import attrs

from conformance.catalog.cases import Case, applicable_cases, dag_ids_of
from conformance.live import progress
from conformance.live.airflow_api import AirflowClient
from conformance.live.fixture_dags import ready_fixture_dags
from conformance.live.pacing import runs_in_flight, timed_order, until_fewer_than
from conformance.live.progress import RunBoard
from conformance.live.run_ids import new_run_id
from conformance.live.session_record import HEALTH_FILE, SessionInfo
from conformance.live.watchdog import watch_health
from conformance.targets.base import Connection, TargetError
from conformance.wire.probe import Health, Sample, watch
from conformance.wire.stream import Transcript, record_case


def prepare(
    connection: Connection, cases: Iterable[Case], folder: Path, runs_in_flight: str | None = None
) -> SessionInfo:
    """Everything the tests read, in ``folder``; what it is doing goes to :mod:`conformance.live.progress`.
    ``runs_in_flight`` is the pacing setting's text (:mod:`conformance.live.pacing`)."""
    return asyncio.run(_prepare(connection, list(cases), folder, runs_in_flight))


async def _prepare(connection: Connection, cases: list[Case], folder: Path, pace: str | None) -> SessionInfo:
    (folder / "transcripts").mkdir(parents=True, exist_ok=True)
    async with AirflowClient(connection.base_url, connection.token) as client:
        version = await client.version()
        progress.step(
            f"Airflow {version} at {connection.base_url} ({connection.target}, database {connection.database})"
        )
        # A case about another Airflow version is not run, so its DAG (which may not even
        # import here, e.g. 3.4's loops on 3.3) is neither awaited nor triggered.
        cases = applicable_cases(cases, version)
        fixture_dags = await ready_fixture_dags(client, dag_ids_of(cases), connection.base_url, version=version)
        dag_ids = fixture_dags.present
        cases = [case for case in cases if case.dag_id in dag_ids]

        run_id = new_run_id()
        limit = runs_in_flight(connection.database, pace)
        dag_ids = timed_order(dag_ids, cases, limit)
        started = time.monotonic()
        streams: list[asyncio.Task[Transcript]] = []
        streams_of_run: dict[str, list[asyncio.Task[Transcript]]] = {}
        samples: list[Sample] = []  # the probe's, over the whole burst (conformance.live.timing reads them)
        probe: asyncio.Task[None] | None = None
        watchdog = asyncio.create_task(watch_health(client))
        for number, dag_id in enumerate(
            dag_ids, start=1
        ):  # one at a time: sqlite standalone does not survive a burst of inserts
            await until_fewer_than(limit, streams_of_run, also=(watchdog,))
            if watchdog.done():
                break
            progress.status(f"triggering runs: {number} of {len(dag_ids)} ({dag_id})")
            await client.trigger(dag_id, run_id)
            if probe is None:
                probe = asyncio.create_task(watch(client.http, f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", samples))
            for case in (c for c in cases if c.dag_id == dag_id):
                streams.append(task := asyncio.create_task(record_case(client.http, case, run_id)))
                streams_of_run.setdefault(dag_id, []).append(task)
            if number == 1:  # a paced trigger loop lasts most of the session: say the streams run meanwhile
                progress.step(
                    f"streaming each run's /wait responses as it is triggered{f' (at most {limit} runs in flight)' if limit else ''}"
                )
        paced = f", at most {limit} in flight" if limit else ""
        progress.step(f"triggered {len(dag_ids)} runs ({run_id}{paced}); streaming {len(streams)} /wait responses")
        board = RunBoard(dag_ids, {case.id: case.dag_id for case in cases}, started)
        progress.status(board.line())

        pending: set[asyncio.Task] = set(streams)
        while pending:
            # woken at least every second, so that the status's clock ticks while a slow run goes on
            done, pending = await asyncio.wait(pending | {watchdog}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
            if watchdog.done():
                for task in streams:
                    task.cancel()
                raise TargetError(f"{watchdog.result()} while runs were in flight, so they cannot finish")
            pending.discard(watchdog)
            for task in done:
                transcript = task.result()
                board.ended(transcript.case_id)
                last = transcript.lines[-1].raw.strip()[:60] if transcript.lines else transcript.error
                progress.detail(f"  {transcript.case_id}: {len(transcript.lines)} lines, last {last}")
            progress.status(board.line())
        watchdog.cancel()
        if probe is not None:
            probe.cancel()
        Health.of(samples).save(folder / HEALTH_FILE)
        transcripts = [task.result() for task in streams]

        runs = {dag_id: await client.dag_run(dag_id, run_id) for dag_id in dag_ids}
        cases_by_id = {case.id: case for case in cases}
        for transcript in transcripts:
            transcript = attrs.evolve(transcript, run=runs[cases_by_id[transcript.case_id].dag_id])
            transcript.save(folder / "transcripts")
        progress.step(
            f"all {len(dag_ids)} runs finished and {len(streams)} streams ended after {time.monotonic() - started:.1f} s"
        )

        info = SessionInfo(
            target=connection.target,
            base_url=connection.base_url,
            token=connection.token,
            description=connection.description,
            database=connection.database,
            airflow_version=version,
            run_ids=dict.fromkeys(dag_ids, run_id),
            server_errors=client.server_errors,
            folder=str(folder),
            feature_absent=fixture_dags.feature_absent,
            missing_dags=fixture_dags.missing,
            restricted_token=connection.restricted_token,
            no_runs_token=connection.no_runs_token,
        )
        info.save()
        return info
