"""One test session's worth of Airflow: prepared once, then read by every test (and worker).

:func:`prepare` checks the fixture DAGs are there, unpauses them, triggers one run per DAG, and
opens one /wait stream per case as soon as its run exists, so all runs and streams proceed
together and the whole session costs about as long as its slowest run. The result is written
to a folder (``session.json`` plus one transcript per case) that pytest-xdist workers read; the
server itself is only ever started by one process.

An Airflow without the DAG Result feature (before 3.3) cannot load the fixture DAGs that import
``airflow.sdk.result``. That is recognised here, not treated as a deployment mistake: the
session goes on with the DAGs that did load and records why the feature is absent, so that the
clauses needing it get the verdict "absent" and the others (the /wait endpoint, which 3.2
already has) their real one.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import attrs
import httpx
from packaging.version import Version

from conformance.catalog.cases import Case, applicable_cases, dag_ids_of
from conformance.live import progress
from conformance.live.airflow_api import AirflowAPIError, AirflowClient
from conformance.live.pacing import runs_in_flight, until_fewer_than
from conformance.targets.base import Connection, TargetError
from conformance.wire.probe import Health, Sample, watch
from conformance.wire.stream import Transcript, record_case

# Fixture DAG files that are meant not to import (the suite reads their import errors).
BROKEN_DAG_FILES = ("broken_result_order.py", "loop_result_inside.py")
HEALTH_FILE = "health.json"  # the probe's samples over the session's streams
FEATURE_SINCE = (3, 3)  # the release that added the DAG Result feature
# What Python says when a DAG file does `from airflow.sdk import result` on an Airflow without it.
MISSING_RESULT_IMPORT = "cannot import name 'result' from 'airflow.sdk'"


# Why a test finds a case or run missing that the session never asked for (conformance.plugin.needs).
NOT_NEEDED = "a test reading it must name one of its cases with @pytest.mark.cases(...)"


class FeatureAbsent(Exception):
    """A test asked for something only an Airflow with the DAG Result feature can provide."""


@attrs.frozen
class FixtureDags:
    """Which fixture DAGs the server has, and, when some cannot load there, why the feature is absent."""

    present: list[str]
    missing: list[str]
    feature_absent: str | None


@attrs.frozen
class SessionInfo:
    """What every test needs to know about the Airflow under test; stored as session.json."""

    target: str
    base_url: str
    token: str = attrs.field(repr=False)
    description: str
    database: str
    airflow_version: str
    run_ids: dict[str, str]
    server_errors: list[str]
    folder: str
    feature_absent: str | None = None  # why the DAG Result feature is absent; None when present
    missing_dags: list[str] = attrs.Factory(list)  # fixture DAGs that cannot load without it
    # a user who may read DAG runs but not XCom (targets.base.Connection.restricted_token)
    restricted_token: str | None = attrs.field(default=None, repr=False)
    # a user who may read the DAGs but not their runs (targets.base.Connection.no_runs_token)
    no_runs_token: str | None = attrs.field(default=None, repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _transcript_path(self, case_id: str) -> Path:
        return Path(self.folder) / "transcripts" / f"{case_id}.json"

    def transcript(self, case_id: str) -> Transcript:
        path = self._transcript_path(case_id)
        if self.feature_absent and not path.exists():
            raise FeatureAbsent(f"case {case_id} runs a fixture DAG that cannot load without the feature")
        if not path.exists():
            raise LookupError(f"case {case_id} was not streamed in this session; {NOT_NEEDED}")
        return Transcript.load(path)

    def streamed(self, case_id: str) -> bool:
        """Whether the session recorded a stream of this case."""
        return self._transcript_path(case_id).exists()

    def health(self) -> Health:
        """What the probe saw while the session's streams were recorded (conformance.wire.probe)."""
        return Health.load(Path(self.folder) / HEALTH_FILE)

    def run_id(self, dag_id: str) -> str:
        """The session's run of a fixture DAG (FeatureAbsent if the DAG could not load)."""
        if dag_id in self.missing_dags:
            raise FeatureAbsent(f"fixture DAG {dag_id} cannot load without the feature")
        if dag_id not in self.run_ids:
            raise LookupError(f"fixture DAG {dag_id} was not triggered in this session; {NOT_NEEDED}")
        return self.run_ids[dag_id]

    def save(self) -> None:
        (Path(self.folder) / "session.json").write_text(json.dumps(attrs.asdict(self), indent=1))

    @classmethod
    def load(cls, folder: Path) -> SessionInfo:
        return cls(**json.loads((folder / "session.json").read_text()))


def new_run_id() -> str:
    """Unique per session, so repeated sessions against one server never collide."""
    return f"conformance-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def prepare(connection: Connection, cases: Iterable[Case], folder: Path) -> SessionInfo:
    """Everything the tests read, in ``folder``; what it is doing goes to :mod:`conformance.live.progress`."""
    return asyncio.run(_prepare(connection, list(cases), folder))


async def _prepare(connection: Connection, cases: list[Case], folder: Path) -> SessionInfo:
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
        limit = runs_in_flight(connection.database)
        dag_ids = timed_order(dag_ids, cases, limit)
        started = time.monotonic()
        streams: list[asyncio.Task[Transcript]] = []
        streams_of_run: dict[str, list[asyncio.Task[Transcript]]] = {}
        samples: list[Sample] = []  # the probe's, over the whole burst (conformance.live.timing reads them)
        probe: asyncio.Task[None] | None = None
        watchdog = asyncio.create_task(_watch_health(client))
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


class RunBoard:
    """How many runs have finished, for the progress status: a run counts once all its streams ended."""

    def __init__(self, dag_ids: list[str], dag_of_case: dict[str, str], started: float) -> None:
        self.open = {dag_id: {case for case, dag in dag_of_case.items() if dag == dag_id} for dag_id in dag_ids}
        self.streams, self.started = len(dag_of_case), started

    def ended(self, case_id: str) -> None:
        for cases in self.open.values():
            cases.discard(case_id)

    def line(self) -> str:
        pending = [dag_id for dag_id, cases in self.open.items() if cases]
        ended = self.streams - sum(len(cases) for cases in self.open.values())
        text = (
            f"runs: {len(self.open) - len(pending)} of {len(self.open)} finished, "
            f"{ended} of {self.streams} streams ended, {time.monotonic() - self.started:.0f} s"
        )
        if 0 < len(pending) <= 3:
            text += f"; waiting for {', '.join(pending)}"
        return text


WATCHED_COMPONENTS = ("metadatabase", "scheduler")  # without these no run can finish


async def _watch_health(client: AirflowClient, every: float = 3.0, patience: float = 60.0) -> str:
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


async def ready_fixture_dags(
    client: AirflowClient,
    dag_ids: list[str],
    url: str,
    version: str | None = None,
) -> FixtureDags:
    """Wait for the fixture DAGs to be parsed, then unpause those present, one write at a time.

    With ``version`` (the server's), DAGs that cannot load because the feature is absent are
    accepted and reported; without it any missing DAG ends the run (benchmarks, load tests).
    """
    started = time.monotonic()
    present, errors = await _wait_for_dags(client, dag_ids, url)
    missing = [dag_id for dag_id in dag_ids if dag_id not in present]
    reason = feature_absence(version, missing, errors) if version is not None else None
    if missing and reason is None:
        detail = "; ".join(f"{name}: {error}" for name, error in errors.items() if name not in BROKEN_DAG_FILES)
        raise TargetError(
            f"Fixture DAGs {', '.join(missing)} are not on {url}; deploy the project's dags/ folder into the "
            f"server's DAGs folder" + (f" (import errors: {detail})" if detail else "") + "."
        )
    ready = [dag_id for dag_id in dag_ids if dag_id in present]
    for dag_id in ready:
        await client.unpause(dag_id)
    progress.step(
        f"{len(ready)} fixture DAGs present (waited {time.monotonic() - started:.1f} s)"
        + (f"; {len(missing)} cannot load without the feature" if missing else "")
    )
    return FixtureDags(present=ready, missing=missing, feature_absent=reason)


def feature_absence(version: str, missing: list[str], errors: dict[str, str]) -> str | None:
    """Why the DAG Result feature is absent on this server, or None if nothing says so.

    ``errors`` maps a DAG file name to the last line of its import error. The feature counts as
    absent when the server's version predates it, or when fixture DAGs fail to import for want
    of ``airflow.sdk.result``. A missing DAG with any other import error (or none) is a
    deployment problem instead; then this returns None and the caller stops the run.
    """
    lacking_result = [dag_id for dag_id in missing if MISSING_RESULT_IMPORT in errors.get(f"{dag_id}.py", "")]
    if len(lacking_result) < len(missing):
        return None
    reasons = []
    if Version(version).release[:2] < FEATURE_SINCE:
        reasons.append("the feature was added in Airflow {}.{}".format(*FEATURE_SINCE))
    if lacking_result:
        reasons.append(
            f"airflow.sdk has no result decorator, so {len(lacking_result)} fixture DAGs using @result do not load"
        )
    return "; ".join(reasons) or None


async def _wait_for_dags(
    client: AirflowClient, dag_ids: list[str], url: str, timeout: float = 180.0
) -> tuple[set[str], dict[str, str]]:
    """The fixture DAGs present once the dag-processor has parsed them all, and the import errors.

    A fresh server needs a while. Waiting ends when every fixture DAG is present, or every
    missing one has an import error (its file was parsed and failed), or after ``timeout``.
    Import errors come back as file name -> last line of the stack trace.
    """
    deadline = time.monotonic() + timeout
    while True:
        present = set(dag_ids) & await client.dag_ids()
        if len(present) == len(set(dag_ids)):
            return present, {}
        errors = {
            Path(e["filename"]).name: (e["stack_trace"].strip().splitlines() or [""])[-1]
            for e in await client.import_errors()
        }
        progress.status(f"DAG parsing: {len(present)} of {len(dag_ids)} fixture DAGs parsed")
        if all(f"{dag_id}.py" in errors for dag_id in set(dag_ids) - present) or time.monotonic() >= deadline:
            return present, errors
        await asyncio.sleep(0.5)
