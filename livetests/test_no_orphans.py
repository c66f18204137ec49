"""The harness leaves no Airflow process and no temporary folder behind, however pytest ends.

Each scenario runs the suite in a subprocess with its own TMPDIR, so everything the harness
creates (AIRFLOW_HOME, the session folder) lands there and every process it starts works in
there. Afterwards no live process may have its working directory under that TMPDIR, and the
TMPDIR must be empty. Needs Airflow in the environment (tox -e orphans).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.targets.processes import processes_working_in
from suite_output import wait_for_line

# The mapped-task clauses: five fixture DAGs, with mapped, failing and skipped task processes,
# every one of them streamed; what is cleaned up is the same for 28 DAGs, so CI's 30 minutes
# are not spent running all of them again (the airflow-* envs do that).
SUITE = [sys.executable, "-m", "conformance", "run", "--clause", "RESULT-MAPPED-*", "--", "-n", "2", "-q"]


def left_working_in(folder: Path) -> list[str]:
    return [f"{pid}: {command[:120]}" for pid, command in processes_working_in(folder).items()]


def start_suite(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[str], Path]:
    folder = tmp_path / "tmp"
    folder.mkdir()
    process = subprocess.Popen(
        [*SUITE, f"--basetemp={tmp_path / 'basetemp'}"],
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(folder), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A shell may start us with SIGINT ignored; the child must see Ctrl-C as a user's would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 (Popen can't reset SIGINT)
    )
    return process, folder


def assert_nothing_left(folder: Path) -> None:
    deadline = time.monotonic() + 10  # processes the harness killed may take a moment to be reaped
    while (left := left_working_in(folder)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert left == []
    assert sorted(p.name for p in folder.iterdir()) == []


def test_after_a_pass(tmp_path):
    process, folder = start_suite(tmp_path)
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-3000:]
    assert_nothing_left(folder)


def test_after_a_boot_failure(tmp_path):
    process, folder = start_suite(tmp_path, AIRFLOW_CONFORMANCE_BOOT_TIMEOUT="3")
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 4 and "was not healthy after 3 s" in output, output[-3000:]
    assert_nothing_left(folder)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill-term"])
def test_after_a_signal_while_runs_are_streaming(tmp_path, sig):
    process, folder = start_suite(tmp_path)
    wait_for_line(process, "streaming")
    assert processes_working_in(folder), "no Airflow process was running when the signal was sent"
    process.send_signal(sig)
    process.communicate(timeout=120)
    assert process.returncode != 0
    assert_nothing_left(folder)
