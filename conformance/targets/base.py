"""What a target is: a way to reach an Airflow that serves the fixture DAGs.

A target's ``start()`` is a context manager yielding a :class:`Connection` (base URL and bearer
token) for as long as the suite needs the server, and releasing whatever it started when the
block ends, also on failure and Ctrl-C. Anything a user can fix (Airflow missing, URL
unreachable, wrong credentials, a server that never gets healthy) is raised as
:class:`TargetError` carrying one sentence that says what failed and how to fix it.

Also here, because more than one target needs them and they need nothing else: the metadata
databases a target can give Airflow (:data:`DATABASES`), the modules Airflow imports from us
(:data:`AIRFLOW_SITE`, :func:`sqlite_env`), a free loopback port, and a log's tail
for an error sentence. Process groups are :mod:`~conformance.targets.processes`, waiting for
"every component healthy" is :mod:`~conformance.targets.health`.
"""

from __future__ import annotations

import socket
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import attrs

from conformance.live.airflow_api import bearer
from conformance.targets.kept import KeptServer

DATABASES = ("sqlite", "postgres")  # what AIRFLOW_CONFORMANCE_DB may name, for the local and container targets
AIRFLOW_SITE = Path(__file__).resolve().parent / "airflow_site"  # modules Airflow itself imports, put on its PYTHONPATH


def sqlite_env() -> dict[str, str]:
    """Per-component sqlite lock patience, for every sqlite Airflow a target starts (airflow_site/conformance_sqlite.py says why)."""
    return {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "conformance_sqlite.CONNECT_ARGS"}


class TargetError(Exception):
    """The target could not provide a working Airflow; the message says why and what to do."""


@attrs.frozen
class Connection:
    target: str
    base_url: str
    token: str = attrs.field(repr=False)
    description: str = ""
    database: str = "unknown"  # the metadata database, where known: some divergences depend on it
    # its SQLAlchemy URL, where the target owns the database (local PostgreSQL): for measuring it
    database_url: str | None = attrs.field(default=None, repr=False)
    # a token of a user who may read the DAGs and their runs but not XCom, where the target has
    # one: the clauses about /wait's XCom check need it (otherwise they are untested)
    restricted_token: str | None = attrs.field(default=None, repr=False)
    # a token of a user who may read the DAGs but not their runs, where the target has one: the
    # clause about /wait's own permission check (AUTH-RUNS-1) needs it (otherwise it is untested)
    no_runs_token: str | None = attrs.field(default=None, repr=False)
    # with --keep-server, what the target will leave up after the run (targets.kept)
    kept: KeptServer | None = None

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


class Target(Protocol):
    name: str

    def start(self) -> AbstractContextManager[Connection]: ...


def log_tail(text: str, lines: int = 40) -> str:
    """The last lines of a server log, indented, for appending to an error sentence."""
    tail = text.rstrip().splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in tail) if tail else "    (the log is empty)"


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
