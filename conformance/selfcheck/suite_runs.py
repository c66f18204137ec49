"""One run of the whole suite in a subprocess, as a user runs it, and the report.json it wrote.

The mutant check, the soak, the benchmark and the tools that run the suite many times
(``tools/standalone_runs.py``, ``tools/check_contributor_runs.py``) all run
``conformance run --report DIR -- -q ...`` and judge the run from its report.json, never from its
terminal output. They do it here, so that "the run wrote no report.json" means the same for all:
no verdict (``SuiteRun.report`` is None), whatever the exit code.

How the subprocess is run is the caller's choice of :data:`Runner`: :func:`captured` (output
kept for the caller to show), :func:`shown` (output straight to the terminal) or
:func:`in_own_group` (output kept, and Ctrl-C stops the run's Airflow in order).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from conformance.report import files
from conformance.report.files import ReportFileError

Runner = Callable[[Sequence[str]], tuple[int, str]]  # a command -> (exit code, its output)
SUITE_GRACE = 120.0  # seconds an interrupted run gets to stop its Airflow before it is killed


class SuiteRun(NamedTuple):
    code: int
    report: dict[str, Any] | None  # None when the run wrote none (no verdict)
    seconds: float
    output: str


def python_m() -> list[str]:
    """``python -m conformance`` of this interpreter: the front door, wherever the package was imported from."""
    return [sys.executable, "-m", "conformance"]


def suite_command(
    report_dir: Path, pytest_args: Sequence[str] = (), run_args: Sequence[str] = (), program: Sequence[str] = ()
) -> list[str]:
    """``PROGRAM run --report DIR RUN_ARGS -- -q PYTEST_ARGS``; PROGRAM defaults to :func:`python_m`."""
    return [*(program or python_m()), "run", "--report", str(report_dir), *run_args, "--", "-q", *pytest_args]


def read_report(directory: Path, *, checked: bool = False) -> dict[str, Any] | None:
    """The report.json a run wrote into ``directory``; None when it wrote none (no verdict).

    ``checked``: upgraded and checked against its schema (:func:`conformance.report.files.load_report`);
    else as written. A report.json that cannot be read raises ReportFileError.
    """
    path = directory / files.REPORT_FILE
    if not path.exists():
        return None
    return files.load_report(path) if checked else files.read_report(path)


def run_suite(
    report_dir: Path,
    pytest_args: Sequence[str] = (),
    *,
    run_args: Sequence[str] = (),
    program: Sequence[str] = (),
    runner: Runner | None = None,
    checked: bool = False,
) -> SuiteRun:
    """The suite, once, its report in ``report_dir``, through ``runner`` (default :func:`captured`).

    Raises ReportFileError, naming the run's exit code, when the run wrote a report.json that
    cannot be read.
    """
    started = time.monotonic()
    code, output = (runner or captured)(suite_command(report_dir, pytest_args, run_args, program))
    seconds = time.monotonic() - started
    try:
        report = read_report(report_dir, checked=checked)
    except ReportFileError as exc:
        raise ReportFileError(f"{exc} (the run exited {code})") from None
    return SuiteRun(code, report, seconds, output)


def captured(command: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None) -> tuple[int, str]:
    """Run ``command``; its exit code and its output (stdout, then stderr)."""
    result = subprocess.run(list(command), env=env, cwd=cwd, capture_output=True, text=True, check=False)
    return result.returncode, result.stdout + result.stderr


def shown(command: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None) -> tuple[int, str]:
    """Run ``command`` with its output on this terminal as it comes; its exit code, and no output kept."""
    return subprocess.run(list(command), env=env, cwd=cwd, check=False).returncode, ""


def in_own_group(command: Sequence[str]) -> tuple[int, str]:
    """Run ``command``; its exit code and its output, stdout and stderr interleaved as a reader would see them.

    The run gets a process group of its own, so that Ctrl-C reaches it once, from here: it is
    sent SIGTERM, which the harness turns into an orderly stop of its Airflow (SIGKILL, what
    ``subprocess.run`` sends on an interrupt, would leave that Airflow running).
    """
    with subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        process_group=0,
    ) as process:
        try:
            output, _ = process.communicate()
        except BaseException:
            stop(process, signal.SIGTERM, SUITE_GRACE, group=False)
            raise
    return process.returncode, output


def stop(process: subprocess.Popen[Any], sig: int, grace: float, *, group: bool) -> None:
    """Send ``sig`` to the process (or its group, which it leads), then SIGKILL after ``grace`` s; reap it."""
    send = (lambda s: os.killpg(process.pid, s)) if group else process.send_signal
    try:
        send(sig)
        process.wait(timeout=grace)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        try:
            send(signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()
