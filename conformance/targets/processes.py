"""Airflow's processes as one group the suite owns: started together, each logged, ended together.

The local target starts several long-lived Airflow commands (api-server, scheduler,
dag-processor, triggerer) and a few that run to their end (database migration, user
creation). The long-lived ones share one process group — the first one started leads it and
the others join — so one ``killpg`` ends them and every child they forked. A group can only be
joined while a member lives, hence the one-shot commands run in groups of their own.

Each process writes to ``<home>/<name>.log``; a failure names the process and quotes its log.

Finding processes by working folder uses psutil rather than reading ``/proc``: one API that
also works off Linux and already tells "gone meanwhile" from "not ours to read".
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import psutil

from conformance.targets.base import TargetError, log_tail

TAIL_LINES = 15


class ProcessGroup:
    """Named Airflow processes in ``home``, with logs there; the long-lived ones in one group."""

    def __init__(self, home: Path, env: Mapping[str, str]) -> None:
        self.home, self.env = home, dict(env)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.long_lived: list[str] = []
        self.leader: subprocess.Popen[bytes] | None = None

    def log(self, name: str) -> Path:
        return self.home / f"{name}.log"

    def _spawn(self, name: str, argv: list[str], process_group: int, niceness: int = 0) -> subprocess.Popen[bytes]:
        with self.log(name).open("wb") as log:
            process = subprocess.Popen(
                argv,
                cwd=self.home,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                process_group=process_group,
                preexec_fn=(lambda: os.nice(niceness)) if niceness else None,  # noqa: PLW1509 (Popen takes no niceness)
            )
        self.processes[name] = process
        return process

    def start(self, name: str, argv: list[str], *, niceness: int = 0) -> subprocess.Popen[bytes]:
        """Start a long-lived process in the shared group (the first one started leads it);
        ``niceness`` lowers its CPU priority (and its children's) by that much."""
        process = self._spawn(name, argv, 0 if self.leader is None else self.leader.pid, niceness)
        self.leader = self.leader or process
        self.long_lived.append(name)
        return process

    def run_to_end(self, name: str, argv: list[str], deadline: float, late: str | None = None) -> None:
        """Run a one-shot command in a group of its own; a failure or the deadline is a TargetError
        (``late``, if given, is the sentence for the deadline, before the command's log)."""
        process = self._spawn(name, argv, 0)
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            stop_process_group(process, grace=5)
            said = late or (
                f"`{' '.join(argv[1:])}` did not finish within the boot timeout "
                "(raise AIRFLOW_CONFORMANCE_BOOT_TIMEOUT if the machine is slow)"
            )
            raise TargetError(f"{said}; its log ends:\n{self.tail(name)}") from None
        if process.returncode != 0:
            raise TargetError(
                f"`{' '.join(argv[1:])}` failed with exit code {process.returncode}; its log ends:\n{self.tail(name)}"
            )

    def check_running(self) -> None:
        """A TargetError naming the first long-lived process that has exited, with its log."""
        for name in self.long_lived:
            process = self.processes[name]
            if process.poll() is not None:
                raise TargetError(
                    f"Airflow's {name} exited with code {process.returncode} before the server became healthy; "
                    f"its log ends:\n{self.tail(name)}"
                )

    def tail(self, name: str) -> str:
        return log_tail(read_log(self.log(name)), lines=TAIL_LINES)

    def tails(self) -> str:
        """The last lines of every process's log, each under its name."""
        return "\n".join(f"  {name}:\n{self.tail(name)}" for name in self.processes)

    def stop(self, grace: float = 20.0) -> None:
        """End the shared group (SIGTERM, then SIGKILL after ``grace`` s) and reap every process.

        Reaping as it goes matters: a member that has exited stays a zombie in the group until
        its parent (this process) waits for it, and the group would look alive for ``grace`` s.
        """
        if self.leader is not None:
            signal_group(self.leader.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                if all(process.poll() is not None for process in self.processes.values()) and not signal_group(
                    self.leader.pid, 0
                ):
                    break
                time.sleep(0.1)
            else:
                signal_group(self.leader.pid, signal.SIGKILL)
        for process in self.processes.values():
            if process.poll() is None:
                signal_group(process.pid, signal.SIGKILL)
            process.wait()


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to a process group; False when no process is left in it."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def read_log(path: Path) -> str:
    """A log so far; an error sentence must not turn into a crash over it."""
    try:
        return path.read_text(errors="replace")
    except OSError as exc:
        return f"(the log {path} could not be read: {exc.strerror}; was the temporary folder removed?)"


def processes_working_in(folder: Path) -> dict[int, str]:
    """Live processes whose working directory is inside ``folder``, with their command lines."""
    found = {}
    for process in psutil.process_iter(["cwd", "cmdline"]):
        cwd = process.info["cwd"]  # None for a process that is not ours to read, or a zombie
        if cwd and Path(cwd).is_relative_to(folder):
            found[process.pid] = " ".join(process.info["cmdline"] or ())
    return found


def stop_strays(home: Path) -> None:
    """Kill what still works in AIRFLOW_HOME after its process group is gone.

    Airflow's task processes move into process groups of their own, so a task still running
    when the server is stopped (its supervisor killed) outlives ``killpg``; they all work in
    AIRFLOW_HOME.
    """
    for pid in processes_working_in(home):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop_process_group(process: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """End the process and everything in its group: SIGTERM, then SIGKILL after ``grace`` s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
