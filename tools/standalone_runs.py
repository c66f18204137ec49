"""The suite N times on the external target, each time against a freshly started plain ``airflow standalone``.

    python tools/standalone_runs.py --airflow /path/to/venv/bin/airflow --runs 30 [--out DIR] [--keep-logs]

This is how a user meets the suite: their own ``airflow standalone`` (sqlite, LocalExecutor,
``parallelism`` 32, SimpleAuthManager), nothing of the local target's tuning, the suite told
only ``AIRFLOW_CONFORMANCE_DB=sqlite``. Each run gets a new ``AIRFLOW_HOME`` (so a new sqlite
database) with ``dags/`` as its DAGs folder, waits until the scheduler reports healthy, runs
``python -m conformance run`` against it, and stops the whole standalone process group. A run
that exits 4 lost its verdict; the scheduler's death on "database is locked" is looked for in
the standalone's log, which is kept for such runs.

Prints one line per run and writes ``DIR/standalone-runs.json``; exits 0 only if every run
exited 0. Needs port 8080 free (standalone's default), and one Airflow at a time on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import httpx

from conformance.selfcheck.suite_runs import captured, run_suite

ROOT = Path(__file__).resolve().parent.parent
URL = "http://localhost:8080"
SCHEDULER_DIED = "Exception when executing SchedulerJob._run_scheduler_loop"
BOOT_TIMEOUT = 180.0
STOP_GRACE = 1.0  # the home is thrown away; standalone takes ~11 s to exit on SIGTERM, all of it waiting


def healthy(timeout: float) -> bool:
    """True once the api-server answers and says the scheduler is healthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"{URL}/api/v2/monitor/health", timeout=5).json()
            if health.get("scheduler", {}).get("status") == "healthy":
                return True
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    return False


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the standalone's process group, SIGKILL after a grace period."""
    for sig, wait in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def one_run(number: int, airflow: Path, out: Path, keep_logs: bool) -> dict:
    home = Path(tempfile.mkdtemp(prefix=f"standalone-{number}-"))
    (home / "passwords.json").write_text('{"admin": "admin"}')
    env = {
        **os.environ,
        "PATH": f"{airflow.parent}{os.pathsep}{os.environ.get('PATH', '')}",  # standalone starts `airflow` by name
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
    }
    log_path = out / f"run-{number}-standalone.log"
    began = time.monotonic()
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(airflow), "standalone"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        booted = healthy(BOOT_TIMEOUT)
        boot = time.monotonic() - began
        suite_env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("AIRFLOW") or key.startswith("AIRFLOW_CONFORMANCE_")  # e.g. RUNS_IN_FLIGHT
        } | {
            "AIRFLOW_CONFORMANCE_TARGET": "external",
            "AIRFLOW_CONFORMANCE_URL": URL,
            "AIRFLOW_CONFORMANCE_USERNAME": "admin",
            "AIRFLOW_CONFORMANCE_PASSWORD": "admin",
            "AIRFLOW_CONFORMANCE_DB": "sqlite",
        }
        suite = (
            run_suite(
                out / f"run-{number}", ["-p", "no:cacheprovider"], runner=partial(captured, env=suite_env, cwd=ROOT)
            )
            if booted
            else None
        )
    finally:
        stop(server)
        shutil.rmtree(home, ignore_errors=True)
    log_text = log_path.read_text(errors="replace")
    result = {
        "run": number,
        "booted": booted,
        "boot_seconds": round(boot, 1),
        "exit_code": suite.code if suite else None,
        "suite_seconds": round(suite.seconds, 1) if suite else None,
        "scheduler_died": SCHEDULER_DIED in log_text,
        "database_locked_lines": log_text.count("database is locked"),
    }
    if suite and suite.code != 0:
        (out / f"run-{number}-suite.log").write_text(suite.output)
    elif not keep_logs:
        log_path.unlink()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--airflow", type=Path, required=True, help="the airflow executable of the Airflow to start")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / ".tox" / "reports" / "standalone-runs")
    parser.add_argument("--keep-logs", action="store_true", help="keep the standalone's log of runs that passed too")
    args = parser.parse_args(argv)
    if not args.airflow.is_file():
        print(
            f"standalone_runs: {args.airflow} is not a file; pass the airflow executable of the Airflow to test.",
            file=sys.stderr,
        )
        return 4
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for number in range(1, args.runs + 1):
        result = one_run(number, args.airflow, args.out, args.keep_logs)
        results.append(result)
        print(
            f"run {number} of {args.runs}: exit {result['exit_code']}, boot {result['boot_seconds']} s, "
            f"suite {result['suite_seconds']} s, scheduler died: {result['scheduler_died']}, "
            f"'database is locked' lines: {result['database_locked_lines']}",
            flush=True,
        )
    times = [r["suite_seconds"] for r in results if r["suite_seconds"] is not None]
    failed = [r["run"] for r in results if r["exit_code"] != 0]
    summary = {
        "runs": len(results),
        "exited_non_zero": failed,
        "scheduler_deaths": sum(r["scheduler_died"] for r in results),
        "suite_seconds": {"min": min(times), "median": statistics.median(times), "max": max(times)} if times else None,
        "results": results,
    }
    (args.out / "standalone-runs.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"runs: {len(results)}, exited non-zero: {len(failed)} {failed or ''}, scheduler deaths: {summary['scheduler_deaths']}, "
        f"suite wall time: "
        + (f"min {min(times):.1f} s, median {statistics.median(times):.1f} s, max {max(times):.1f} s" if times else "-")
    )
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
