"""The Celery topology through nginx: the whole suite, load over both replicas, and the faults of a
distributed deployment (a replica killed, a rolling restart, a worker killed mid-task, Redis
restarted mid-run).

One topology (conformance.targets.docker.celery_topology) is booted for the module, with the task
heartbeat timeout lowered to seconds and one retry per task by default, so that a lost worker is
noticed and its task retried within the test, not after Airflow's 300 s. The suite runs first,
on the external target at nginx's URL, before anything is broken. Each fault test prints what
the client saw, what the server did and when; it passes when no stream ends with a wrong
terminal line, every re-request gets the right one, and nothing waits past its own deadline.
Everything the module made is removed at its end, which the module checks.

Needs Docker and the images of ``tools/container/build.sh all``: ``tox -e container-celery``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import httpx
import pytest

from conformance.clientkit.reference_client import StreamError, WaitResult, WaitTimeout, wait_for_result
from conformance.live.airflow_api import AirflowClient
from conformance.live.fixture_dags import ready_fixture_dags
from conformance.live.run_ids import new_run_id
from conformance.settings import read
from conformance.targets.base import Connection
from conformance.targets.docker import engine
from conformance.targets.docker.celery_topology import (
    SINGLE_PORT,
    CeleryTopology,
    celery_topology,
    wait_until_replica_serves,
    wait_until_worker_ready,
)
from conformance.targets.docker.container_spec import ContainerSettings
from conformance.targets.health import HEALTH_PATH
from conformance.wire.stream import epoch

TIMED, TIMED_TASK, TIMED_RESULT = "timed_run", "sleep_then_answer", {"sleep_then_answer": "done"}
LOAD_STREAMS = int(os.environ.get("AIRFLOW_CONFORMANCE_LOAD_STREAMS", "50"))
LOAD_DAG, LOAD_RESULT = "result_decorator", {"compute": 84}
ROLLING_RUN_SECONDS = 35  # long enough for both replicas to restart one after the other while it runs
STOP_GRACE = 5  # seconds docker waits after SIGTERM before it kills a replica (Kubernetes' default is 30)
NGINX_ERROR = re.compile(r"^\S+ \S+ \[\w+\] \d+#\d+: \*\d+ |, client: .*$")  # what varies per line of nginx's error log
HEARTBEAT_TIMEOUT = 20  # seconds without a task heartbeat before the scheduler fails the task (Airflow's default: 300)
FAULT_ENV = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    # a task whose worker died is retried once, a second later (the fixture DAGs that fail on
    # purpose set retries=0 themselves, so the suite's verdicts do not change)
    "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "1",
    "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "1",
    # tasks outlive a replica's restart (their heartbeats fail meanwhile; default: 3 failures)
    "AIRFLOW__WORKERS__MAX_FAILED_HEARTBEATS": "100",
}


@attrs.frozen
class Deployment:
    connection: Connection
    topology: CeleryTopology

    @property
    def base_url(self) -> str:
        return self.connection.base_url

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = httpx.request(method, self.base_url + path, headers=self.connection.headers, timeout=30, **kwargs)
        response.raise_for_status()
        return response

    def trigger(self, dag_id: str = TIMED, **conf: Any) -> str:
        run_id = new_run_id()
        asyncio.run(self._call(lambda client: client.trigger(dag_id, run_id, conf)))
        return run_id

    def dag_run(self, dag_id: str, run_id: str, base_url: str | None = None) -> dict[str, Any]:
        return asyncio.run(self._call(lambda client: client.dag_run(dag_id, run_id), base_url))

    async def _call(self, call: Callable[[AirflowClient], Any], base_url: str | None = None) -> Any:
        async with AirflowClient(base_url or self.base_url, self.connection.token) as client:
            return await call(client)

    def task(self, run_id: str, dag_id: str = TIMED, task_id: str = TIMED_TASK) -> dict[str, Any]:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}").json()

    def until(self, what: str, check: Callable[[], Any], timeout: float = 120) -> Any:
        deadline = time.monotonic() + timeout
        while not (found := check()):
            assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
            time.sleep(0.5)
        return found

    def wait(self, run_id: str, timeout: float = 240, base_url: str | None = None) -> WaitResult:
        return wait_for_result(
            base_url or self.base_url, TIMED, run_id, token=self.connection.token, interval=1, timeout=timeout
        )

    def healthy(self, role: str, timeout: float = 120) -> float:
        """Seconds until the container of ``role`` (a replica, or a worker) serves again."""
        started = time.monotonic()
        deadline = started + timeout
        if role in self.topology.replicas:
            wait_until_replica_serves(self.topology.replicas[role], deadline)
        else:
            wait_until_worker_ready(self.topology.workers[role], role, deadline, since=int(time.time()) - 1)
        return time.monotonic() - started

    def in_rotation(self, role: str, timeout: float = 60) -> float:
        """Seconds until nginx sends requests to the replica ``role`` again: after a failed
        connection it leaves a server out for ``fail_timeout`` (10 s), so a rolling restart that
        moved on as soon as the replica was healthy would find no live upstream for a while."""
        started = time.monotonic()

        def served() -> bool:
            before = self.topology.requests_by_replica(HEALTH_PATH)[role]
            for _ in range(4):  # round robin: two requests reach each server in rotation
                httpx.get(self.base_url + HEALTH_PATH, timeout=10)
            return self.topology.requests_by_replica(HEALTH_PATH)[role] > before

        self.until(f"{role} back in nginx's rotation", served, timeout)
        return time.monotonic() - started


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    run = secrets.token_hex(4)
    settings = ContainerSettings.from_settings(read({**os.environ, "AIRFLOW_CONFORMANCE_TOPOLOGY": "celery"}))
    started = time.monotonic()
    with celery_topology(settings, run, extra_env=FAULT_ENV) as (connection, topology):
        print(f"\nCelery topology ready after {time.monotonic() - started:.1f} s: {connection.description}")
        deployment = Deployment(connection, topology)
        asyncio.run(deployment._call(lambda client: ready_fixture_dags(client, [TIMED, LOAD_DAG], connection.base_url)))
        yield deployment
    client = engine.docker_client().client
    try:
        assert engine.labelled_names(client, f"{engine.LABEL}={run}") == [], "the topology left containers or networks"
    finally:
        client.close()


def outcome_of(call: Callable[[], WaitResult]) -> WaitResult | BaseException:
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - what the client saw is the measurement
        return exc


def in_threads(
    calls: list[Callable[[], Any]], ended: list[float] | None = None
) -> tuple[list[threading.Thread], list[Any]]:
    """Each call in a thread of its own: the threads, and the list their outcomes fill (and
    ``ended``, when given, the monotonic time each ended)."""
    outcomes: list[Any] = [None] * len(calls)
    if ended is not None:
        ended[:] = [0.0] * len(calls)

    def run(index: int) -> None:
        outcomes[index] = outcome_of(calls[index])
        if ended is not None:
            ended[index] = time.monotonic()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    return threads, outcomes


def right(outcome: object) -> bool:
    return isinstance(outcome, WaitResult) and (outcome.state, outcome.results) == ("success", TIMED_RESULT)


def cut_cleanly(outcome: object) -> bool:
    """A stream that broke as a broken connection does, not by a wrong line or a timeout."""
    return isinstance(outcome, StreamError) and not isinstance(outcome, WaitTimeout)


def test_the_suite_passes_through_nginx_with_both_replicas_serving_streams(deployment, tmp_path):
    before = deployment.topology.streams_by_replica()
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW_CONFORMANCE_")},
        "AIRFLOW_CONFORMANCE_TARGET": "external",
        "AIRFLOW_CONFORMANCE_URL": deployment.base_url,
        "AIRFLOW_CONFORMANCE_TOKEN": deployment.connection.token,
        "AIRFLOW_CONFORMANCE_DB": "postgres",
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--report", str(tmp_path), "--", "-q", "-p", "no:cacheprovider"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    verdicts = Counter(clause["verdict"] for clause in report["clauses"])
    assert verdicts["fail"] == verdicts["unexpected-pass"] == 0 and verdicts["pass"] > 0, verdicts
    served = deployment.topology.streams_by_replica() - before
    print(f"\nthe suite through nginx: {took:.1f} s, {dict(verdicts)}; /wait requests per replica: {dict(served)}")
    assert set(served) == set(deployment.topology.replicas) and min(served.values()) > 0, served


def memory_mib(container) -> float:
    return container.get_wrapped_container().stats(stream=False)["memory_stats"]["usage"] / 1024 / 1024


def lateness_figures(base_url: str, deployment: Deployment, runs: int) -> tuple[list[float], int]:
    """LOAD_STREAMS streams spread over ``runs`` runs of LOAD_DAG through ``base_url``: how late
    each terminal line came after its run's end_date, and how many were not right."""
    run_ids = [deployment.trigger(LOAD_DAG) for _ in range(runs)]
    per_run = LOAD_STREAMS // runs

    def one(run_id: str) -> Callable[[], Any]:
        def call() -> tuple[WaitResult, float]:
            answer = wait_for_result(
                base_url, LOAD_DAG, run_id, token=deployment.connection.token, interval=1, timeout=300
            )
            return answer, time.time()

        return call

    threads, outcomes = in_threads([one(run_id) for run_id in run_ids for _ in range(per_run)])
    for thread in threads:
        thread.join(timeout=330)
    ends = {run_id: deployment.dag_run(LOAD_DAG, run_id, base_url)["end_date"] for run_id in run_ids}
    lateness, wrong = [], 0
    for index, outcome in enumerate(outcomes):
        if not (isinstance(outcome, tuple) and (outcome[0].state, outcome[0].results) == ("success", LOAD_RESULT)):
            wrong += 1
            continue
        lateness.append(outcome[1] - epoch(ends[run_ids[index // per_run]]))
    return sorted(lateness), wrong


def test_load_spread_over_both_replicas(deployment):
    """LOAD_STREAMS streams through the round robin; with AIRFLOW_CONFORMANCE_LOAD_SINGLE=1, then
    the same through api-server-1 alone, for figures to set beside them (docs/faults.md has both)."""
    single = deployment.base_url.rsplit(":", 1)[0] + f":{int(deployment.topology.nginx.get_exposed_port(SINGLE_PORT))}"
    routes = [("both replicas", deployment.base_url)]
    if os.environ.get("AIRFLOW_CONFORMANCE_LOAD_SINGLE") == "1":
        routes.append(("api-server-1 alone", single))
    figures = {}
    for label, base_url in routes:
        memory_before = {role: memory_mib(replica) for role, replica in deployment.topology.replicas.items()}
        served_before = deployment.topology.streams_by_replica()
        lateness, wrong = lateness_figures(base_url, deployment, max(1, LOAD_STREAMS // 10))
        served = deployment.topology.streams_by_replica() - served_before
        memory = {
            role: f"{memory_before[role]:.0f} -> {memory_mib(replica):.0f} MiB"
            for role, replica in deployment.topology.replicas.items()
        }
        figures[label] = (lateness, wrong, served)
        p95 = lateness[max(0, round(0.95 * len(lateness)) - 1)] if lateness else float("nan")
        print(
            f"\nload, {label}: {LOAD_STREAMS} streams, {wrong} not right; terminal line after run end: "
            f"p50 {statistics.median(lateness):.2f} s, p95 {p95:.2f} s, max {lateness[-1]:.2f} s; "
            f"/wait per replica {dict(served)}; replica memory {memory}"
        )
    for label, (lateness, wrong, served) in figures.items():
        assert wrong == 0 and len(lateness) == LOAD_STREAMS // max(1, LOAD_STREAMS // 10) * max(
            1, LOAD_STREAMS // 10
        ), (label, wrong)
    assert set(figures["both replicas"][2]) == set(deployment.topology.replicas), figures["both replicas"][2]
    if "api-server-1 alone" in figures:
        assert set(figures["api-server-1 alone"][2]) == {"api-server-1"}, figures["api-server-1 alone"][2]


def test_a_killed_replica_cuts_its_streams_cleanly_and_a_retry_gets_the_answer_from_the_other(deployment):
    run_id = deployment.trigger(seconds=12)
    deployment.until("the task running", lambda: deployment.task(run_id)["state"] == "running")
    ended: list[float] = []
    threads, outcomes = in_threads([lambda: deployment.wait(run_id) for _ in range(6)], ended)
    time.sleep(3)  # every stream has its first lines
    killed = deployment.topology.replicas["api-server-1"]
    killed_at = time.monotonic()
    killed.get_wrapped_container().kill()
    for thread in threads:
        thread.join(timeout=120)
    cut = [outcome for outcome in outcomes if not right(outcome)]
    cut_after = max(
        (end - killed_at for end, outcome in zip(ended, outcomes) if not right(outcome)), default=float("nan")
    )
    rest_after = max((end - killed_at for end, outcome in zip(ended, outcomes) if right(outcome)), default=float("nan"))
    retries = [outcome_of(lambda: deployment.wait(run_id)) for _ in cut]
    killed.get_wrapped_container().start()
    back_after = deployment.healthy("api-server-1")

    print(
        f"\nreplica killed with 6 streams open: {len(cut)} were cut, within {cut_after:.2f} s of the kill; the other "
        f"{len(outcomes) - len(cut)} ended right, the last {rest_after:.1f} s after the kill, with the run; "
        f"api-server-1 served again {back_after:.1f} s after its restart"
    )
    for outcome in cut:
        print(f"  cut: {type(outcome).__name__}: {outcome}")
    print(
        f"  re-requested through nginx: {[(r.state, r.results) if isinstance(r, WaitResult) else repr(r) for r in retries]}"
    )
    assert all(right(outcome) or cut_cleanly(outcome) for outcome in outcomes), outcomes
    assert cut and len(cut) < len(outcomes), (
        "round robin put the streams on both replicas, so some must end and some be cut"
    )
    assert all(right(retry) for retry in retries), retries


def test_a_rolling_restart_of_both_replicas_loses_no_answer(deployment):
    run_id = deployment.trigger(seconds=ROLLING_RUN_SECONDS)
    deployment.until("the task running", lambda: deployment.task(run_id)["state"] == "running")
    attempts: list[str] = []

    def wait_with_retries() -> WaitResult:
        deadline = time.monotonic() + 240
        while True:
            outcome = outcome_of(lambda: deployment.wait(run_id, timeout=max(deadline - time.monotonic(), 1)))
            attempts.append("right" if right(outcome) else f"{type(outcome).__name__}: {outcome}")
            if right(outcome) or not cut_cleanly(outcome) or time.monotonic() > deadline:
                return outcome  # type: ignore[return-value]
            time.sleep(1)

    threads, outcomes = in_threads([wait_with_retries for _ in range(4)])
    since = int(time.time())
    restarts = {}
    for role in ("api-server-1", "api-server-2"):  # the next only once nginx sends requests to the last again
        time.sleep(3)
        started = time.monotonic()
        deployment.topology.replicas[role].get_wrapped_container().restart(timeout=STOP_GRACE)
        restarts[role] = (time.monotonic() - started, deployment.healthy(role), deployment.in_rotation(role))
    for thread in threads:
        thread.join(timeout=300)

    print(
        f"\nrolling restart (SIGTERM, {STOP_GRACE} s grace) while 4 clients streamed a {ROLLING_RUN_SECONDS} s run, re-requesting when cut:"
    )
    for role, (stop_start, healthy, rotation) in restarts.items():
        print(
            f"  {role}: docker restart took {stop_start:.1f} s, serving again {healthy:.1f} s later, in nginx's rotation {rotation:.1f} s after that"
        )
    for attempt in Counter(attempts).most_common():
        print(f"  {attempt[1]} x {attempt[0][:160]}")
    said = (
        deployment.topology.nginx.get_wrapped_container()
        .logs(stdout=False, since=since)
        .decode(errors="replace")
        .splitlines()
    )
    print(f"  nginx's error log meanwhile ({len(said)} lines), by what it said:")
    for message, count in Counter(NGINX_ERROR.sub("", line)[:150] for line in said).most_common(8):
        print(f"    {count} x {message}")
    assert all(right(outcome) for outcome in outcomes), outcomes
    assert all(attempt == "right" or attempt.startswith("StreamError") for attempt in attempts), attempts


def worker_of(deployment: Deployment, hostname: str) -> str:
    for role, worker in deployment.topology.workers.items():
        worker.get_wrapped_container().reload()
        if worker.get_wrapped_container().attrs["Config"]["Hostname"] in hostname:
            return role
    raise AssertionError(f"no worker runs as {hostname!r}")


def test_a_worker_killed_mid_task_is_noticed_and_the_retry_yields_the_result(deployment):
    run_id = deployment.trigger(seconds=10)
    task = deployment.until(
        "the task running", lambda: (found := deployment.task(run_id))["state"] == "running" and found
    )
    role = worker_of(deployment, task["hostname"])
    threads, outcomes = in_threads([lambda: deployment.wait(run_id, timeout=240)])
    time.sleep(2)
    killed_at = time.monotonic()
    deployment.topology.workers[role].get_wrapped_container().kill()
    states: list[tuple[float, str, int]] = []

    def task_moved() -> bool:
        now = deployment.task(run_id)
        if not states or states[-1][1:] != (now["state"], now["try_number"]):
            states.append((time.monotonic() - killed_at, now["state"], now["try_number"]))
        return now["state"] in ("success", "failed")

    deployment.until("the task ended", task_moved, timeout=HEARTBEAT_TIMEOUT + 150)
    for thread in threads:
        thread.join(timeout=60)
    retried_on = worker_of(deployment, deployment.task(run_id)["hostname"])
    deployment.topology.workers[role].get_wrapped_container().start()
    back_after = deployment.healthy(role)

    print(
        f"\n{role} killed while it ran {TIMED_TASK} (try {task['try_number']}): the task's states after the kill: "
        + ", ".join(f"{at:.1f} s {state} (try {number})" for at, state, number in states)
    )
    print(
        f"  the stream opened before the kill ended: {outcomes[0].state if isinstance(outcomes[0], WaitResult) else outcomes[0]!r}"
        f" {getattr(outcomes[0], 'results', '')}; the retry ran on {retried_on}; {role} ready again {back_after:.1f} s after its restart"
    )
    assert right(outcomes[0]), outcomes[0]
    assert retried_on != role and states[-1][1:] == ("success", task["try_number"] + 1), states


def test_redis_restarted_mid_run_loses_no_task(deployment):
    running = deployment.trigger(seconds=10)
    deployment.until("the task running", lambda: deployment.task(running)["state"] == "running")
    threads, outcomes = in_threads([lambda: deployment.wait(running)])
    started = time.monotonic()
    deployment.topology.others["redis"].get_wrapped_container().restart(timeout=5)
    restarted_after = time.monotonic() - started
    queued_after_restart = deployment.trigger(seconds=1)
    answer = outcome_of(lambda: deployment.wait(queued_after_restart, timeout=180))
    answered_after = time.monotonic() - started
    for thread in threads:
        thread.join(timeout=120)

    print(
        f"\nRedis restarted ({restarted_after:.1f} s) while a task ran: that run's stream "
        f"{outcomes[0].state if isinstance(outcomes[0], WaitResult) else repr(outcomes[0])}; a run triggered after the "
        f"restart: {answer.state if isinstance(answer, WaitResult) else repr(answer)} {getattr(answer, 'results', '')}, "
        f"{answered_after:.1f} s after the restart began"
    )
    assert right(outcomes[0]), outcomes[0]
    assert right(answer), answer
