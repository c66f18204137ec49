"""The container target leaves no container and no network behind, however pytest ends.

Without testcontainers' reaper (TESTCONTAINERS_RYUK_DISABLED=true, as where its image cannot be
pulled) only the target's own teardown removes what it started, so each scenario runs the suite
in a subprocess and then requires that the Docker engine holds no container or network with the
target's label. Needs Docker and the images of tools/container/build.sh (tox -e container-orphans).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import docker
import pytest

from conformance.targets.docker.engine import LABEL, labelled_names
from suite_output import wait_for_line

SUITE = [sys.executable, "-m", "conformance", "run", "--", "-n", "2", "-q"]


@pytest.fixture
def start_suite():
    """Starts the suite in a subprocess; one still running at teardown gets SIGTERM, as a user's would."""
    started: list[subprocess.Popen[str]] = []

    def start(**env: str) -> subprocess.Popen[str]:
        started.append(_popen(**env))
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.communicate(timeout=120)


def _popen(**env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        SUITE,
        env={
            **os.environ,
            "AIRFLOW_CONFORMANCE_TARGET": "container",
            "TESTCONTAINERS_RYUK_DISABLED": "true",
            "PYTHONUNBUFFERED": "1",  # progress lines must arrive when written, not when a buffer fills
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A shell may start us with SIGINT ignored; the child must see Ctrl-C as a user's would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 (Popen can't reset SIGINT)
    )


def ours() -> list[str]:
    client = docker.from_env()
    try:
        return labelled_names(client, LABEL)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def engine_starts_clean():
    assert ours() == [], "containers of an earlier run are still there"


def test_after_a_boot_timeout(start_suite):
    process = start_suite(AIRFLOW_CONFORMANCE_BOOT_TIMEOUT="5")
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 4 and "was not healthy within 5 s" in output, output[-3000:]
    assert "its log ends:" in output
    assert ours() == []


def test_after_an_image_that_is_not_airflow(start_suite):
    process = start_suite(
        AIRFLOW_CONFORMANCE_IMAGE="airflow-conformance/debian:bookworm"
    )  # the base image: no airflow in it
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 4 and "Docker could not run" in output, output[-3000:]
    assert ours() == []


@pytest.mark.parametrize(
    ("database", "sig", "when"),
    [
        ("sqlite", signal.SIGINT, "boot"),
        ("sqlite", signal.SIGINT, "streaming"),
        ("postgres", signal.SIGTERM, "streaming"),
    ],
    ids=["sqlite-ctrl-c-at-boot", "sqlite-ctrl-c-while-streaming", "postgres-kill-term-while-streaming"],
)
def test_after_a_signal(start_suite, database, sig, when):
    process = start_suite(AIRFLOW_CONFORMANCE_DB=database)
    if when == "boot":  # as soon as the first container exists
        deadline = time.monotonic() + 120
        while not ours() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    else:
        wait_for_line(process, when, timeout=300)
    if not ours():
        process.terminate()
        pytest.fail(
            f"no container was there when the signal was sent; the suite's output ends:\n{process.communicate()[0][-3000:]}"
        )
    process.send_signal(sig)
    output, _ = process.communicate(timeout=120)
    assert process.returncode != 0, output[-3000:]
    assert ours() == []
