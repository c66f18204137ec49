"""How close the suite comes to the time Airflow itself needs.

    python -m conformance bench [--airflow-target NAME]

The floor is what no suite on this target can beat: booting Airflow until every component is
healthy, then the dag-processor parsing the fixture DAGs (no run can be triggered before its
DAG exists), plus the fixture runs themselves, all triggered at once with no stream open,
from the first trigger to the last run's ``end_date``. Both are measured directly on one
server, booted warm (from the boot cache; a priming boot before it stores the entry if this
build has none yet); a cold boot (``AIRFLOW_CONFORMANCE_BOOT_CACHE=0``: ``airflow db migrate``)
is timed first, in the same run. The suite's wall time is then measured on the same kind of target by running it as a user
would (``python -m conformance run``), which boots its own server, warm too; what it found is
read from the run's report.json. The overhead is the suite's wall time minus the floor. The
last line printed is ``suite/floor ratio: X.XX``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import attrs

from conformance import settings
from conformance.arguments import Parser
from conformance.catalog.cases import applicable_cases, dag_ids_of, load_cases
from conformance.live.airflow_api import AirflowAPIError, AirflowClient
from conformance.live.fixture_dags import ready_fixture_dags
from conformance.live.run_ids import new_run_id
from conformance.selfcheck.suite_runs import captured, run_suite
from conformance.settings import child_environment
from conformance.targets import Connection, TargetError, make_target
from conformance.wire.stream import epoch


async def fixture_runs_makespan(connection: Connection) -> tuple[float, float, str]:
    """Seconds until the fixture DAGs are parsed, then from the first trigger to the last run's
    end, and which DAG ended last."""
    async with AirflowClient(connection.base_url, connection.token) as client:
        dag_ids = dag_ids_of(applicable_cases(load_cases().values(), await client.version()))
        parsing = time.monotonic()
        await ready_fixture_dags(client, dag_ids, connection.base_url)
        parsed = time.monotonic() - parsing
        run_id, started = new_run_id(), time.time()
        for dag_id in dag_ids:
            await client.trigger(dag_id, run_id)
        ended: dict[str, float] = {}
        while len(ended) < len(dag_ids):
            await asyncio.sleep(0.5)
            for dag_id in set(dag_ids) - set(ended):
                run = await client.dag_run(dag_id, run_id)
                if run["end_date"]:
                    ended[dag_id] = epoch(run["end_date"])
    last = max(ended, key=ended.__getitem__)
    return parsed, ended[last] - started, last


def timed_boot(name: str | None, cache: bool) -> tuple[float, str]:
    """Seconds from start to healthy for one boot, and what the boot cache did; the server is stopped again."""
    target = make_target(name, attrs.evolve(settings.read(), boot_cache="1" if cache else "0"))
    started = time.monotonic()
    with target.start():
        boot = time.monotonic() - started
    return boot, getattr(target, "cache_state", "not a local target")


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m conformance bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--airflow-target", default=None)
    args = parser.parse_args(argv)
    try:
        cold, cold_state = timed_boot(args.airflow_target, cache=False)
        print(f"boot to healthy, cold: {cold:.1f} s (boot cache {cold_state})", flush=True)
        _, primed = timed_boot(args.airflow_target, cache=True)  # stores the entry if this build has none yet
        target = make_target(args.airflow_target, attrs.evolve(settings.read(), boot_cache="1"))
        started = time.monotonic()
        with target.start() as connection:
            boot = time.monotonic() - started
            state = getattr(target, "cache_state", "not a local target")
            print(
                f"boot to healthy, warm ({target.name}): {boot:.1f} s (boot cache {state}; the boot before it: {primed})",
                flush=True,
            )
            parsed, makespan, last = asyncio.run(fixture_runs_makespan(connection))
            print(f"fixture DAGs parsed, after healthy: {parsed:.1f} s", flush=True)
            print(f"fixture runs, first trigger to last end ({last} last): {makespan:.1f} s", flush=True)
    except (TargetError, AirflowAPIError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 4
    floor = boot + parsed + makespan

    target_option = ["--airflow-target", args.airflow_target] if args.airflow_target else []
    with tempfile.TemporaryDirectory(prefix="conformance-bench-") as report_dir:
        suite = run_suite(
            Path(report_dir),
            run_args=target_option,
            runner=partial(captured, env=child_environment({"AIRFLOW_CONFORMANCE_BOOT_CACHE": "1"})),
        )
    wall, summary = suite.seconds, clause_summary(suite.report)
    if suite.code != 0:
        print(f"the suite failed (exit {suite.code}); its output ends:\n{suite.output[-5000:]}")
    print(f"suite wall time: {wall:.1f} s ({summary})")
    print(f"floor (warm boot + DAG parsing + fixture runs): {floor:.1f} s")
    print(f"suite overhead above the floor: {wall - floor:.1f} s")
    print(
        f"suite overhead above warm boot + fixture runs alone (DAG parsing counted as overhead): {wall - floor + parsed:.1f} s"
    )
    print(f"boot cold/warm: {cold / boot:.2f}")
    print(f"suite/floor ratio: {wall / floor:.2f}")
    return suite.code


def clause_summary(report: Mapping[str, Any] | None) -> str:
    """What a run found, from its report.json: "47 pass, 4 expected-divergence, ..." (non-zero counts)."""
    if report is None:
        return "no report: the run ended before a verdict"
    counts = report["summary"]
    return ", ".join(f"{n} {verdict}" for verdict, n in counts.items() if n) or "no clause"


if __name__ == "__main__":
    sys.exit(main())
