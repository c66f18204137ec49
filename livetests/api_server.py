"""Crashing and restarting the api-server of the local target.

The local target starts each component once and never restarts one that dies, so a restart is
done here: the api-server process is killed, and a new ``airflow api-server`` is started in the
same ``AIRFLOW_HOME`` with the same environment, beside the scheduler, dag-processor and
triggerer that keep running. That environment is read from the scheduler's process (the
target gives every component the same one); the api-server's own is useless, as its process
title overwrites the memory the kernel reads a process's environment from.

Processes are found and read with psutil rather than by reading ``/proc``: it parses command
lines, environments and states the same way on every platform, and tells a zombie from a
live process. Only processes descending from this one are touched. The new api-server runs in
a session of its own (it cannot join the target's process group), so :class:`ApiServer` stops
it when its block ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

import httpx
import psutil

from conformance.targets.health import HEALTH_PATH, wait_until_healthy
from conformance.targets.local import find_airflow
from conformance.targets.processes import stop_process_group


def _alive(pid: int) -> bool:
    """Running, not merely a zombie that its parent never reaps."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _find(command_test: Callable[[list[str]], bool], root: int) -> psutil.Process:
    """The one live process below ``root`` whose command line (argv) passes ``command_test``."""
    hits = []
    for process in psutil.Process(root).children(recursive=True):
        try:
            argv = process.cmdline()
        except psutil.Error:  # gone meanwhile, or not ours to read
            continue
        if _alive(process.pid) and command_test(argv):
            hits.append(process)
    if len(hits) != 1:
        raise RuntimeError(f"expected one matching process below pid {root}, found {[hit.pid for hit in hits]}")
    return hits[0]


class ApiServer:
    """The api-server serving ``base_url``, which :meth:`kill` and :meth:`start` replace."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.port = httpx.URL(base_url).port
        self.started: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for process in self.started:
            stop_process_group(process, grace=10)

    def pid(self) -> int:
        # its process title, e.g. "airflow api_server -- host:127.0.0.1 port:8793", which psutil may split at spaces
        marker = f"port:{self.port}"
        return _find(
            lambda argv: " ".join(argv).startswith("airflow api_server") and marker in " ".join(argv), os.getpid()
        ).pid

    def kill(self, sig: signal.Signals = signal.SIGKILL, timeout: float = 150.0) -> float:
        """Send ``sig`` to the api-server and wait for it to die; the seconds that took."""
        pid, start = self.pid(), time.monotonic()
        os.kill(pid, sig)
        while _alive(pid):
            if time.monotonic() - start > timeout:
                raise RuntimeError(f"the api-server (pid {pid}) was still alive {timeout:g} s after {sig.name}")
            time.sleep(0.05)
        return time.monotonic() - start

    def start(self, timeout: float = 180.0) -> float:
        """Start a new api-server like the one killed; the seconds until the API answered healthy."""
        scheduler = _find(
            lambda argv: len(argv) >= 2 and argv[-1] == "scheduler" and argv[-2].endswith("airflow"), os.getpid()
        )
        environ, home = scheduler.environ(), Path(scheduler.cwd())
        start = time.monotonic()
        with (home / "api-server-restarted.log").open("ab") as log:
            restarted = subprocess.Popen(
                [str(find_airflow()), "api-server"],
                cwd=home,
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.started.append(restarted)

        def still_running() -> None:
            if restarted.poll() is not None:
                raise RuntimeError(f"the restarted api-server exited with {restarted.returncode}; see {log.name}")

        wait_until_healthy(
            f"{self.base_url}{HEALTH_PATH}",
            start + timeout,
            check=still_running,
            poll_interval=0.3,
            late=lambda: f"the restarted api-server was not healthy after {timeout:g} s",
        )
        return time.monotonic() - start
