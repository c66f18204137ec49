"""Many concurrent /wait streams: every one ends correctly; latency and memory are reported.

N streams (``AIRFLOW_CONFORMANCE_LOAD_STREAMS``, default 50) are held open at once, first all on
one run, then spread over several runs. Pass or fail is correctness only: every stream must end
with a valid terminal line carrying the right results. How late the terminal lines come after
the run's end (p50/p95/max) and the api-server's resident memory are printed as figures, never
asserted, since they depend on the machine. Needs Airflow in the environment (tox -e load).
"""

from __future__ import annotations

import asyncio
import os
import statistics

import httpx
import psutil
import pytest

from conformance.live.airflow_api import AirflowClient
from conformance.live.fixture_dags import ready_fixture_dags
from conformance.live.run_ids import new_run_id
from conformance.settings import read
from conformance.targets.local import LocalTarget
from conformance.wire.checks import framing_problems, poll_line_problems, terminal_problems
from conformance.wire.stream import Transcript, epoch, record_wait

STREAMS = int(os.environ.get("AIRFLOW_CONFORMANCE_LOAD_STREAMS", "50"))
DAG, EXPECTED = "result_decorator", {"compute": 84}


@pytest.fixture(scope="module")
def connection():
    with LocalTarget(read()).start() as connection:
        yield connection


def api_server_rss_mib() -> float:
    """Resident memory of the api-server processes (master and workers), in MiB.

    Read with psutil, not from /proc: it parses the command line and memory figures for us.
    """
    total = 0
    for process in psutil.process_iter(["cmdline", "memory_info"]):
        if "api_server" in " ".join(process.info["cmdline"] or ()) and process.info["memory_info"] is not None:
            total += process.info["memory_info"].rss
    return total / 1024 / 1024


async def stream_runs(connection, runs: int, per_run: int) -> tuple[list[Transcript], dict[str, dict]]:
    # The streams get a client of their own with a connection for each: the control client's
    # pool (200) would hold any beyond it back until others end, and they would time out there.
    limits = httpx.Limits(max_connections=runs * per_run, max_keepalive_connections=0)
    async with (
        AirflowClient(connection.base_url, connection.token) as client,
        httpx.AsyncClient(base_url=connection.base_url, headers=connection.headers, limits=limits) as http,
    ):
        await ready_fixture_dags(client, [DAG], connection.base_url)
        run_ids = [new_run_id() for _ in range(runs)]
        streams = []
        for run_id in run_ids:
            await client.trigger(DAG, run_id)
            path = f"/api/v2/dags/{DAG}/dagRuns/{run_id}/wait"
            streams += [
                asyncio.create_task(record_wait(http, run_id, path, [("interval", "1")], read_timeout=60, deadline=300))
                for _ in range(per_run)
            ]
        transcripts = await asyncio.gather(*streams)
        runs_by_id = {run_id: await client.dag_run(DAG, run_id) for run_id in run_ids}
    return list(transcripts), runs_by_id


def report(label: str, transcripts: list[Transcript], runs: dict[str, dict], rss_before: float) -> None:
    lateness = []
    for transcript in transcripts:
        lateness.append(transcript.sent_at + transcript.lines[-1].at - epoch(runs[transcript.case_id]["end_date"]))
    lateness.sort()
    p95 = lateness[max(0, round(0.95 * len(lateness)) - 1)]
    print(
        f"\n{label}: {len(transcripts)} streams; terminal line after run end: p50 {statistics.median(lateness):.2f} s, "
        f"p95 {p95:.2f} s, max {lateness[-1]:.2f} s; api-server RSS {rss_before:.0f} -> {api_server_rss_mib():.0f} MiB"
    )


@pytest.mark.parametrize(("runs", "label"), [(1, "one run"), (max(1, STREAMS // 10), "many runs")])
def test_every_concurrent_stream_ends_correctly(connection, runs, label):
    rss_before = api_server_rss_mib()
    transcripts, run_details = asyncio.run(stream_runs(connection, runs, STREAMS // runs))

    assert len(transcripts) == (STREAMS // runs) * runs
    for transcript in transcripts:
        assert transcript.error is None and transcript.status == 200, transcript.error or transcript.body[:200]
        lines = [line.raw for line in transcript.lines]
        assert framing_problems(lines) + terminal_problems(lines, "success") + poll_line_problems(lines) == []
        assert transcript.lines[-1].value() == {"state": "success", "results": EXPECTED}
    report(label, transcripts, run_details, rss_before)
