"""A throwaway PostgreSQL server for the local target (``--airflow-db postgres``).

sqlite standalone is what a contributor runs, but deployments use PostgreSQL, which stores XCom
as JSONB and so may hand values back differently. This starts Debian's PostgreSQL from its own
binaries in a temporary data folder on a free loopback port (as the ``postgres`` user when run
as root, since the server refuses root), with fsync off because the data is thrown away, and
yields the SQLAlchemy URL Airflow needs. Airflow itself then needs the ``postgres`` extra
(psycopg2 and asyncpg). ``pg_stat_statements`` is preloaded (it ships with Debian's server) so
that a livetest can count the statements the api-server runs.

Given a :class:`~conformance.targets.kept.StopPlan` (``--keep-server``), a server whose use
ended normally is left running, its data folder and log too; the plan says how to end them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conformance.targets.base import TargetError, free_port, log_tail
from conformance.targets.kept import StopPlan
from conformance.targets.processes import stop_process_group

SERVER_USER = "postgres"


DEBIAN_ROOT = Path("/usr/lib/postgresql")


def pg_binary(name: str, debian_root: Path = DEBIAN_ROOT) -> Path:
    """A PostgreSQL program from PATH or Debian's versioned folder (newest first)."""
    found = shutil.which(name) or next(iter(sorted(debian_root.glob(f"*/bin/{name}"), reverse=True)), None)
    if not found:
        raise TargetError(
            f"PostgreSQL is not installed (no `{name}`); install Debian's postgresql package "
            "(`apt-get install postgresql`) or leave --airflow-db at its default, sqlite."
        )
    return Path(found)


@contextmanager
def temporary_postgres(ready_timeout: float = 60.0, keep: StopPlan | None = None) -> Iterator[str]:
    data = Path(tempfile.mkdtemp(prefix="airflow-conformance-pg-"))
    kept = False
    as_server_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, SERVER_USER)
        as_server_user = ["runuser", "-u", SERVER_USER, "--"]
    log_path = data.parent / f"{data.name}.log"
    process = None
    try:
        subprocess.run(
            [
                *as_server_user,
                str(pg_binary("initdb")),
                "-D",
                str(data / "db"),
                "-U",
                "airflow",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        port = free_port()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    *as_server_user,
                    str(pg_binary("postgres")),
                    "-D",
                    str(data / "db"),
                    "-p",
                    str(port),
                    "-k",
                    str(data),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "max_connections=300",
                    "-c",
                    "shared_preload_libraries=pg_stat_statements",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + ready_timeout
        createdb = [str(pg_binary("createdb")), "-h", "127.0.0.1", "-p", str(port), "-U", "airflow", "airflow"]
        while subprocess.run(createdb, capture_output=True, check=False).returncode != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                raise TargetError(
                    f"PostgreSQL did not start on port {port}; its log ends:\n{log_tail(log_path.read_text(errors='replace'))}"
                )
            time.sleep(0.3)
        if keep is not None:
            keep.kill_group(process.pid)  # its own session: the server and its backends
            keep.remove(data)
            keep.remove(log_path)
        yield f"postgresql+psycopg2://airflow@127.0.0.1:{port}/airflow"
        kept = keep is not None
    except subprocess.CalledProcessError as exc:
        raise TargetError(f"initdb failed ({exc.returncode}): {exc.stderr.strip()[-500:]}") from exc
    finally:
        if not kept:  # with --keep-server, the plan's line ends it instead
            if process is not None:
                stop_process_group(process)
            shutil.rmtree(data, ignore_errors=True)
            log_path.unlink(missing_ok=True)
