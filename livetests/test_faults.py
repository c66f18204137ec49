"""What a /wait client sees when things go wrong around the stream, on a real Airflow.

One local Airflow serves the whole module, with ``probe_site`` on its ``PYTHONPATH`` so the
tests can also see the server's side: when each waiter polled and how it ended. Each test
asserts what must hold and prints what it measured (timings depend on the machine, so they
are figures, not assertions):

- streams dropped mid-way (a TCP reset and an orderly close): every other stream on the run
  still ends correctly, the server stays healthy, and the dropped waiters stop polling;
- a slow reader with a tiny receive window: every line arrives intact, none lost or merged;
- nginx in front: which configurations deliver lines as they are produced and which hold
  them until the stream ends, and a ``proxy_read_timeout`` below the interval cutting it;
- huge intervals (``inf``, ``1e9``, ``1e308``): one line, then silence for good, bounded here
  by our own deadline;
- the api-server killed while streams are open and started again: open streams fail, a new
  /wait on the same run gets the right terminal line.

Needs Airflow and nginx in the environment (tox -e faults).
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import struct
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from api_server import ApiServer
from conformance.clientkit.reference_client import StreamError, WaitTimeout, wait_for_result
from conformance.live.airflow_api import AirflowClient
from conformance.live.fixture_dags import ready_fixture_dags
from conformance.live.run_ids import new_run_id
from conformance.settings import read
from conformance.targets.base import Connection
from conformance.targets.health import all_healthy
from conformance.targets.local import LocalTarget
from conformance.wire.checks import framing_problems, poll_line_problems, terminal_problems
from conformance.wire.stream import LineFramer, Transcript, record_wait
from nginx_proxy import nginx
from waiter_probe import Waiter, one, probed_environment, waiters

TIMED, TIMED_RESULT = "timed_run", {"sleep_then_answer": "done"}
LARGE, LARGE_RESULT = "large_value", {"blob": "0123456789" * 100_000}
# The restarted api-server is down for 10-30 s; tasks must outlive that (default: 3 missed
# heartbeats, ~15 s) so that the test sees what the stream does, not a task killed by it.
TASK_PATIENCE = {"AIRFLOW__WORKERS__MAX_FAILED_HEARTBEATS": "100"}


@attrs.frozen
class Airflow:
    connection: Connection
    probe_log: Path

    @property
    def base_url(self) -> str:
        return self.connection.base_url

    def path(self, dag_id: str, run_id: str) -> str:
        return f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/wait"

    def trigger(self, dag_id: str = TIMED, **conf: Any) -> str:
        run_id = new_run_id()
        asyncio.run(self._call(lambda client: client.trigger(dag_id, run_id, conf or None)))
        return run_id

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return asyncio.run(self._call(lambda client: client.dag_run(dag_id, run_id)))

    def ended(self, dag_id: str, run_id: str) -> float:
        """The run's ``end_date`` in epoch seconds."""
        return datetime.fromisoformat(self.run(dag_id, run_id)["end_date"]).timestamp()

    def waiters(self, run_id: str, settle: float = 5.0) -> list[Waiter]:
        """The probe's waiters of a run, once every one of them has closed (or ``settle`` s passed)."""
        deadline = time.monotonic() + settle
        while True:
            found = waiters(self.probe_log, run_id)
            if all(waiter.closed is not None for waiter in found) or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    async def _call(self, call):
        async with AirflowClient(self.base_url, self.connection.token) as client:
            return await call(client)


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    probe_log = tmp_path_factory.mktemp("probe") / "waiters.jsonl"
    with probed_environment(probe_log, **TASK_PATIENCE), LocalTarget(read()).start() as connection:
        airflow = Airflow(connection, probe_log)
        asyncio.run(airflow._call(lambda client: ready_fixture_dags(client, [TIMED, LARGE], connection.base_url)))
        yield airflow


def stream_problems(transcript: Transcript, results: dict[str, Any]) -> list[str]:
    """Why a recorded stream is not a complete, valid answer ending in success with ``results``."""
    if transcript.error or transcript.status != 200:
        return [f"status {transcript.status}, {transcript.error}"]
    lines = [line.raw for line in transcript.lines]
    problems = framing_problems(lines) + terminal_problems(lines, "success") + poll_line_problems(lines)
    if not problems and transcript.lines[-1].value() != {"state": "success", "results": results}:
        problems.append(f"terminal line {transcript.lines[-1].raw[:200]!r}")
    return problems


async def record(base_url: str, airflow: Airflow, run_id: str, interval: str, dag_id: str = TIMED) -> Transcript:
    async with httpx.AsyncClient(base_url=base_url, headers=airflow.connection.headers) as http:
        return await record_wait(
            http, run_id, airflow.path(dag_id, run_id), [("interval", interval)], read_timeout=60, deadline=180
        )


def drop_after(airflow: Airflow, run_id: str, interval: str, lines: int, reset: bool) -> float:
    """Open a /wait over a bare socket, read ``lines`` lines, then drop it; when it was dropped.

    ``reset`` closes with SO_LINGER 0, so the server gets a TCP reset (a crashed client or a
    killed proxy); otherwise an orderly shutdown (a client that gives up).
    """
    url = httpx.URL(airflow.base_url)
    with socket.create_connection((url.host, url.port)) as sock:
        sock.sendall(
            f"GET {airflow.path(TIMED, run_id)}?interval={interval} HTTP/1.1\r\nHost: {url.host}\r\n"
            f"Authorization: Bearer {airflow.connection.token}\r\n\r\n".encode()
        )
        received = b""
        while received.count(b'"state"') < lines:
            chunk = sock.recv(4096)
            assert chunk, f"the server closed the stream after {received!r}"
            received += chunk
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
        return time.time()


def test_dropped_streams_leave_the_others_served_and_stop_polling(airflow):
    run_id = airflow.trigger(seconds=8)

    async def scenario() -> tuple[list[Transcript], dict[str, float]]:
        kept = [asyncio.create_task(record(airflow.base_url, airflow, run_id, "0.5")) for _ in range(4)]
        dropped = {
            interval: await asyncio.to_thread(drop_after, airflow, run_id, interval, 3, reset)
            for interval, reset in (("0.25", True), ("0.3", False))
        }
        return await asyncio.gather(*kept), dropped

    transcripts, dropped = asyncio.run(scenario())
    for transcript in transcripts:
        assert stream_problems(transcript, TIMED_RESULT) == []
    assert all_healthy(httpx.get(f"{airflow.base_url}/api/v2/monitor/health", timeout=10).json())

    found = airflow.waiters(run_id)
    kept_closed = min(waiter.closed for waiter in found if waiter.interval == 0.5)
    for interval, dropped_at in dropped.items():
        waiter = one(found, interval=float(interval))
        late_polls = [t for t in waiter.polls if t > dropped_at]
        print(
            f"\ndropped ({'reset' if interval == '0.25' else 'orderly close'}): waiter {waiter.how} "
            f"{waiter.closed - dropped_at:+.3f} s after the drop, {len(late_polls)} polls after it; "
            f"the kept streams ran {kept_closed - dropped_at:.1f} s longer"
        )
        assert waiter.how == "cancelled" and waiter.closed < kept_closed
        assert len(late_polls) <= 1  # at most one poll already under way when the client left


def test_a_slow_reader_gets_every_line_intact(airflow):
    """Nothing is read until the run has ended, then the 1 MB terminal line trickles in."""
    run_id = airflow.trigger(LARGE)
    tiny_window = httpx.HTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)])
    headers = {**airflow.connection.headers, "Accept-Encoding": "identity"}  # gzip would shrink it to nothing
    framer, raw_lines, reads = LineFramer(), [], 0
    with (
        httpx.Client(base_url=airflow.base_url, transport=tiny_window, headers=headers) as http,
        http.stream(
            "GET", airflow.path(LARGE, run_id), params={"interval": "0.2"}, timeout=httpx.Timeout(60)
        ) as response,
    ):
        assert response.status_code == 200
        paused_at = time.time()
        while airflow.run(LARGE, run_id)["state"] not in ("success", "failed"):
            time.sleep(0.5)
        time.sleep(1)
        resumed_at = time.time()
        for chunk in response.iter_raw():
            reads += 1
            raw_lines += [raw.decode() for raw in framer.feed(chunk)]
            time.sleep(0.005)
        done_at = time.time()
    raw_lines += [framer.rest().decode()] if framer.rest() else []

    assert framing_problems(raw_lines) + terminal_problems(raw_lines, "success") + poll_line_problems(raw_lines) == []
    assert json.loads(raw_lines[-1]) == {"state": "success", "results": LARGE_RESULT}
    waiter = one(airflow.waiters(run_id))
    assert len(raw_lines) == len(waiter.polls)  # one line per poll: none lost, none merged
    polls_while_paused = sum(paused_at < t < resumed_at for t in waiter.polls)
    print(
        f"\nslow reader: {len(raw_lines)} lines in {reads} reads over {done_at - resumed_at:.1f} s; the server polled "
        f"{polls_while_paused} times while nothing was read, and its generator ended "
        f"{waiter.closed - resumed_at:+.2f} s after reading resumed (reading ended at {done_at - resumed_at:+.2f} s)"
    )


COMPRESSING = 'gzip on; gzip_types *; proxy_set_header Accept-Encoding "";'
PROXIES = {
    "stock": "",
    "compressing": COMPRESSING,
    "compressing + proxy_buffering off": f"{COMPRESSING} proxy_buffering off;",
    # A hop that adds the header Airflow 3.3.2 does not send, to show what it would do:
    "x_accel_hop": "proxy_buffering off; add_header X-Accel-Buffering no;",
    "compressing + upstream X-Accel-Buffering: no": f"{COMPRESSING} proxy_pass {{x_accel_hop}};",
    "proxy_read_timeout 2s": "proxy_read_timeout 2s;",
}
LIVE = ("direct", "stock", "compressing + proxy_buffering off", "compressing + upstream X-Accel-Buffering: no")


@pytest.fixture(scope="module")
def proxies(airflow):
    with nginx(airflow.base_url, PROXIES) as urls:
        yield urls


def test_what_a_client_behind_nginx_sees(airflow, proxies):
    run_id = airflow.trigger(seconds=6)
    via = {"direct": airflow.base_url, **{name: proxies[name] for name in LIVE[1:] + ("compressing",)}}

    async def scenario() -> list[Transcript]:
        return await asyncio.gather(*(record(url, airflow, run_id, "1") for url in via.values()))

    transcripts = dict(zip(via, asyncio.run(scenario())))
    ended = airflow.ended(TIMED, run_id)
    print(f"\n{'route':46} lines  before run end  first..last line (s after request)")
    early = {}
    for name, transcript in transcripts.items():
        assert stream_problems(transcript, TIMED_RESULT) == [], name
        arrivals = [transcript.sent_at + line.at for line in transcript.lines]
        early[name] = sum(at < ended for at in arrivals)
        print(
            f"{name:46} {len(arrivals):5}  {early[name]:14}  {transcript.lines[0].at:.2f}..{transcript.lines[-1].at:.2f}"
        )
    print(f"Airflow's own headers: {dict(transcripts['direct'].headers)}")
    assert all(early[name] >= 2 for name in LIVE), early  # lines arrived while the run was still going
    assert early["compressing"] == 0  # held until the stream ended


def test_a_proxy_read_timeout_below_the_interval_cuts_the_stream(airflow, proxies):
    run_id = airflow.trigger(seconds=6)
    url, token = proxies["proxy_read_timeout 2s"], airflow.connection.token
    with pytest.raises(StreamError) as cut:
        wait_for_result(url, TIMED, run_id, token=token, interval=4, timeout=60)
    print(f"\ninterval 4 s behind proxy_read_timeout 2s: {cut.value}")
    assert not isinstance(cut.value, WaitTimeout) and "after line 1" in str(cut.value)
    answer = wait_for_result(url, TIMED, run_id, token=token, interval=1, timeout=60)
    assert (answer.state, answer.results) == ("success", TIMED_RESULT)


HUGE = ("inf", "1e9", "1e308")


def test_a_huge_interval_sends_one_line_then_nothing(airflow):
    """The server sleeps ``interval`` between polls, so these never poll again; we give up."""
    run_id = airflow.trigger(seconds=3)
    got: dict[str, list[bytes]] = {interval: [] for interval in HUGE}

    async def read(http: httpx.AsyncClient, interval: str) -> None:
        async with http.stream("GET", airflow.path(TIMED, run_id), params={"interval": interval}) as response:
            assert response.status_code == 200
            framer = LineFramer()
            async for chunk in response.aiter_bytes():
                got[interval] += framer.feed(chunk)

    async def scenario() -> Transcript:
        async with httpx.AsyncClient(
            base_url=airflow.base_url, headers=airflow.connection.headers, timeout=None
        ) as http:
            readers = [asyncio.create_task(read(http, interval)) for interval in HUGE]
            reference = await record(airflow.base_url, airflow, run_id, "0.5")
            await asyncio.sleep(2)  # four reference intervals past the run's end: our own deadline
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            return reference

    reference = asyncio.run(scenario())
    assert stream_problems(reference, TIMED_RESULT) == []
    found = airflow.waiters(run_id)
    for interval in HUGE:
        assert len(got[interval]) == 1 and got[interval][0].endswith(b"\n"), (interval, got[interval])
        assert json.loads(got[interval][0])["state"] in ("queued", "running")
        waiter = one(found, interval=float(interval))
        assert len(waiter.polls) == 1 and waiter.how == "cancelled", waiter
    print(
        f"\nintervals {', '.join(HUGE)}: one line each, none after the run ended; each waiter polled once "
        f"and was cancelled when we hung up"
    )


@pytest.fixture(scope="module")
def api_server(airflow):
    with ApiServer(airflow.base_url) as api_server:
        yield api_server


def test_a_restarted_api_server_cuts_open_streams_and_a_new_wait_succeeds(airflow, api_server):
    run_id = airflow.trigger(seconds=30)
    task_path = f"/api/v2/dags/{TIMED}/dagRuns/{run_id}/taskInstances/sleep_then_answer"
    deadline = time.monotonic() + 120
    while (
        httpx.get(airflow.base_url + task_path, headers=airflow.connection.headers, timeout=30).json().get("state")
        != "running"
    ):
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.5)

    outcomes: list[BaseException | object] = []

    def consume() -> None:
        try:
            outcomes.append(
                wait_for_result(airflow.base_url, TIMED, run_id, token=airflow.connection.token, interval=1)
            )
        except Exception as exc:  # noqa: BLE001 (whatever the stream raised is the outcome asserted below)
            outcomes.append(exc)

    clients = [threading.Thread(target=consume) for _ in range(3)]
    for client in clients:
        client.start()
    time.sleep(2.5)
    killed_at = time.monotonic()
    dead_after = api_server.kill(signal.SIGKILL)
    for client in clients:
        client.join(timeout=60)
    clients_failed_after = time.monotonic() - killed_at
    up_after = api_server.start()
    answer = wait_for_result(airflow.base_url, TIMED, run_id, token=airflow.connection.token, interval=1, timeout=180)

    print(f"\napi-server SIGKILL: dead in {dead_after:.2f} s; open streams failed within {clients_failed_after:.2f} s:")
    for outcome in outcomes:
        print(f"  {type(outcome).__name__}: {outcome}")
    print(
        f"restarted api-server healthy after {up_after:.1f} s; re-issued /wait: {answer.state} {answer.results} "
        f"after {len(answer.lines)} lines"
    )
    assert len(outcomes) == 3
    for outcome in outcomes:
        assert isinstance(outcome, StreamError) and not isinstance(outcome, WaitTimeout), outcome
        assert "the connection failed after line" in str(outcome)
    assert (answer.state, answer.results) == ("success", TIMED_RESULT)
