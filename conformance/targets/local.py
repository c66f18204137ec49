"""``local``: ``airflow standalone`` from the current environment, owned by the suite.

The server gets a fresh temporary AIRFLOW_HOME, the fixture ``dags/`` folder, examples off and
a free loopback port, and runs in a process group of its own so that teardown can end every
process it started (api-server, scheduler, dag-processor, triggerer and their task workers).
Readiness is ``/api/v2/monitor/health`` reporting every component healthy; the admin password
is the one SimpleAuthManager writes into AIRFLOW_HOME.

Three settings keep sqlite standalone dependable under the suite's burst of runs (measured on
3.3.2, 2 cores): ``core.parallelism`` 8 instead of 32; the execution API URL pointed at the
chosen port (task workers would otherwise call port 8080); and a longer sqlite lock wait for
every component but the api-server (``airflow_site/conformance_sqlite.py`` says why).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from conformance import progress
from conformance.client import AirflowAPIError, fetch_token
from conformance.paths import dags_dir
from conformance.targets.base import Connection, TargetError, log_tail

PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"
AIRFLOW_SITE = Path(__file__).resolve().parent / "airflow_site"
DATABASES = ("sqlite", "postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_airflow() -> Path:
    """The ``airflow`` executable of this environment: beside the interpreter first, then PATH."""
    beside = Path(sys.executable).parent / "airflow"
    found = beside if beside.exists() else shutil.which("airflow")
    if not found:
        raise TargetError(
            "Airflow is not installed in this environment (no `airflow` beside "
            f"{sys.executable} or on PATH); install it with `pip install apache-airflow==3.3.2`, "
            "run through tox (`tox -e airflow-3.3.2`), or choose --airflow-target external."
        )
    return Path(found)


def read_log(path: Path) -> str:
    """The server's log so far; an error sentence must not turn into a crash over it."""
    try:
        return path.read_text(errors="replace")
    except OSError as exc:
        return f"(the log {path} could not be read: {exc.strerror}; was the temporary folder removed?)"


def sqlite_env() -> dict[str, str]:
    """Per-component sqlite lock patience (see airflow_site/conformance_sqlite.py for why)."""
    pythonpath = os.pathsep.join(filter(None, [str(AIRFLOW_SITE), os.environ.get("PYTHONPATH")]))
    return {
        "PYTHONPATH": pythonpath,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "conformance_sqlite.CONNECT_ARGS",
    }


def boot_stage(log: str) -> str:
    """Where ``airflow standalone`` stands, from its log: its own last message and the
    components that have begun to log (each line is prefixed ``name | ``)."""
    said, components = None, []
    for line in log.splitlines():
        name, bar, rest = line.partition(" | ")
        name = name.strip()
        if not bar or not name.replace("-", "").replace("_", "").isalpha():
            continue
        if name == "standalone":
            said = rest.strip()
        elif name.islower() and name not in components:
            components.append(name)
    parts = ([f"standalone: {said}"] if said else []) + ([f"started: {', '.join(components)}"] if components else [])
    return "; ".join(parts)


def all_healthy(health: Mapping[str, Mapping[str, object]]) -> bool:
    return bool(health) and all(component.get("status") == "healthy" for component in health.values())


class LocalTarget:
    name = "local"

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self.boot_timeout = float(environ.get("AIRFLOW_CONFORMANCE_BOOT_TIMEOUT", "180"))
        self.keep_home = environ.get("AIRFLOW_CONFORMANCE_KEEP_HOME") == "1"
        self.database = environ.get("AIRFLOW_CONFORMANCE_DB", "sqlite")
        if self.database not in DATABASES:
            raise TargetError(f"Unknown database {self.database!r} for the local target; choose one of: {', '.join(DATABASES)}.")

    @contextmanager
    def start(self) -> Iterator[Connection]:
        airflow = find_airflow()
        with ExitStack() as stack:
            if self.database == "postgres":
                from conformance.targets.postgres import temporary_postgres

                database_env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": stack.enter_context(temporary_postgres())}
            else:
                database_env = sqlite_env()
            yield stack.enter_context(self._standalone(airflow, database_env))

    @contextmanager
    def _standalone(self, airflow: Path, database_env: Mapping[str, str]) -> Iterator[Connection]:
        home = Path(tempfile.mkdtemp(prefix="airflow-conformance-"))
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        log_path = home / "standalone.log"
        env = {
            **os.environ,
            "PATH": f"{airflow.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            **database_env,
        }
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(airflow), "standalone"], cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        def tail() -> str:
            return log_tail(read_log(log_path))

        progress.step(f"airflow standalone started on port {port} (AIRFLOW_HOME={home}); waiting for every component to be healthy")
        try:
            try:
                self._wait_healthy(process, base_url, log_path)
                password = json.loads((home / PASSWORD_FILE).read_text())["admin"]
                token = fetch_token(base_url, "admin", password)
            except (OSError, KeyError, AirflowAPIError, httpx.HTTPError) as exc:
                raise TargetError(f"The local Airflow at {base_url} came up but could not be logged in to ({exc}).\n{tail()}") from exc
            try:
                yield Connection(
                    target=self.name, base_url=base_url, token=token, database=self.database,
                    database_url=database_env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"),
                    description=f"airflow standalone on {self.database} from {airflow.parent} (AIRFLOW_HOME={home}, port {port})",
                )
            except TargetError as exc:  # trouble while in use: the server's own log says why
                raise TargetError(f"{exc}; its log ends:\n{tail()}") from exc
        finally:
            stop_process_group(process)
            stop_strays(home)
            if not self.keep_home:
                shutil.rmtree(home, ignore_errors=True)

    def _wait_healthy(self, process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
        started = time.monotonic()
        deadline = started + self.boot_timeout
        seen: dict[str, str] = {}
        while time.monotonic() < deadline:
            elapsed = time.monotonic() - started
            if process.poll() is not None:
                raise TargetError(
                    f"`airflow standalone` exited with code {process.returncode} before becoming healthy; "
                    f"its log ends:\n{log_tail(read_log(log_path))}"
                )
            try:
                health = httpx.get(f"{base_url}/api/v2/monitor/health", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                stage = boot_stage(read_log(log_path))
                progress.status(f"boot: {elapsed:.0f} s, the api-server is not answering yet" + (f"; {stage}" if stage else ""))
            else:
                states = {name: str(component.get("status") or "unknown") for name, component in health.items()}
                if changed := {name: state for name, state in states.items() if seen.get(name) != state}:
                    progress.step(f"boot {elapsed:.1f} s: " + ", ".join(f"{name} {state}" for name, state in changed.items()))
                seen = states
                if all_healthy(health):
                    progress.step(f"healthy after {elapsed:.1f} s")
                    return
                waiting = [name for name, state in states.items() if state != "healthy"]
                progress.status(f"boot: {elapsed:.0f} s, waiting for {', '.join(waiting)} to be healthy")
            time.sleep(0.5)
        raise TargetError(
            f"`airflow standalone` was not healthy after {self.boot_timeout:.0f} s "
            f"(raise AIRFLOW_CONFORMANCE_BOOT_TIMEOUT if the machine is slow); its log ends:\n"
            f"{log_tail(read_log(log_path))}"
        )


def processes_working_in(folder: Path) -> dict[int, str]:
    """Live processes whose working directory is inside ``folder``, with their command lines.

    Read from Linux's /proc; elsewhere nothing is found.
    """
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if Path(os.readlink(proc / "cwd")).is_relative_to(folder):
                found[int(proc.name)] = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
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
