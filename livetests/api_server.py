"""Crashing and restarting the api-server of the local target's ``airflow standalone``.

``airflow standalone`` starts each component once and never restarts one that dies, so a
restart is done here: the api-server process is killed, and a new ``airflow api-server`` is
started in the same ``AIRFLOW_HOME`` with the same environment, beside the scheduler,
dag-processor and triggerer that keep running. That environment is read from the scheduler's
``/proc`` entry (standalone gives every component the same one); the api-server's own entry is
useless, as its process title overwrites the memory ``/proc/<pid>/environ`` reads.

Only processes descending from this one are touched. The new api-server runs in a session of
its own (it cannot join standalone's), so :class:`ApiServer` stops it when its block ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from conformance.targets.local import all_healthy, find_airflow
from conformance.targets.processes import stop_process_group


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(proc.name))
    found, todo = [], [root]
    while todo:
        found += (kids := children.get(todo.pop(), []))
        todo += kids
    return found


def _alive(pid: int) -> bool:
    """Running, not merely a zombie that standalone never reaps."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _find(argv_test, root: int) -> int:
    hits = []
    for pid in _descendants(root):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        except OSError:
            continue
        if _alive(pid) and argv_test(argv):
            hits.append(pid)
    if len(hits) != 1:
        raise RuntimeError(f"expected one matching process below pid {root}, found {hits}")
    return hits[0]


class ApiServer:
    """The api-server serving ``base_url``, which :meth:`kill` and :meth:`start` replace."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.port = httpx.URL(base_url).port
        self.started: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> ApiServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for process in self.started:
            stop_process_group(process, grace=10)

    def pid(self) -> int:
        marker = f"port:{self.port}".encode()
        return _find(lambda argv: argv[0].startswith(b"airflow api_server") and marker in b" ".join(argv), os.getpid())

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
        scheduler = _find(lambda argv: argv[-1] == b"scheduler" and argv[-2].endswith(b"airflow"), os.getpid())
        environ = dict(
            item.split("=", 1) for item in Path(f"/proc/{scheduler}/environ").read_text().split("\0") if "=" in item
        )
        home = Path(os.readlink(f"/proc/{scheduler}/cwd"))
        start = time.monotonic()
        with (home / "api-server-restarted.log").open("ab") as log:
            self.started.append(subprocess.Popen(
                [str(find_airflow()), "api-server"], cwd=home, env=environ, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            ))
        while time.monotonic() - start < timeout:
            if self.started[-1].poll() is not None:
                raise RuntimeError(f"the restarted api-server exited with {self.started[-1].returncode}; see {log.name}")
            try:
                if all_healthy(httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()):
                    return time.monotonic() - start
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"the restarted api-server was not healthy after {timeout:g} s")
