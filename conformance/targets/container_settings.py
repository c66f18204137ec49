"""What the container target's containers are made of: its settings and Airflow's environment.

:class:`ContainerSettings` is the target's configuration, read from the environment (the
variables :mod:`conformance.targets.container` lists); :func:`airflow_environment` is the
environment every Airflow container of the target runs with, standalone or in the topology.
Kept apart from the Docker code so that the target, the Docker helpers
(:mod:`~conformance.targets.docker_engine`) and the topology
(:mod:`~conformance.targets.docker_topology`) can all read them without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from conformance.targets.base import DATABASES, TargetError, sqlite_env

DEFAULT_IMAGE = "apache/airflow:3.3.2"
DEFAULT_POSTGRES_IMAGE = "postgres:16"
DEFAULT_REDIS_IMAGE = "redis:7"
DEFAULT_NGINX_IMAGE = "nginx:1.27"
# what AIRFLOW_CONFORMANCE_TOPOLOGY may name, and the database each runs on (sqlite and postgres
# are also what AIRFLOW_CONFORMANCE_DB alone chooses)
TOPOLOGY_DATABASE = {"standalone": "sqlite", "postgres": "postgres", "celery": "postgres"}
API_PORT = 8080
DAGS_FOLDER = "/opt/airflow-conformance/dags"  # where docker_engine.airflow_container copies dags/
SITE_FOLDER = "/opt/airflow-conformance/airflow_site"  # and where it copies targets/airflow_site/
PASSWORDS_FILE = "/tmp/airflow-conformance-passwords.json"


@attrs.frozen
class ContainerSettings:
    image: str = DEFAULT_IMAGE
    database: str = "sqlite"
    postgres_image: str = DEFAULT_POSTGRES_IMAGE
    boot_timeout: float = 180.0
    topology: str = "standalone"
    redis_image: str = DEFAULT_REDIS_IMAGE
    nginx_image: str = DEFAULT_NGINX_IMAGE

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ContainerSettings:
        named = environ.get("AIRFLOW_CONFORMANCE_DB")
        if named and named not in DATABASES:
            raise TargetError(
                f"Unknown database {named!r} for the container target; choose one of: {', '.join(DATABASES)}."
            )
        topology = environ.get("AIRFLOW_CONFORMANCE_TOPOLOGY") or ("postgres" if named == "postgres" else "standalone")
        if topology not in TOPOLOGY_DATABASE:
            raise TargetError(
                f"Unknown topology {topology!r} for the container target; choose one of: {', '.join(TOPOLOGY_DATABASE)}."
            )
        database = TOPOLOGY_DATABASE[topology]
        if named and named != database:
            raise TargetError(
                f"The {topology} topology runs on {database}, not {named}; set AIRFLOW_CONFORMANCE_DB={database} or leave it unset."
            )
        try:
            boot_timeout = float(
                environ.get("AIRFLOW_CONFORMANCE_BOOT_TIMEOUT") or (300 if topology == "celery" else 180)
            )
        except ValueError:
            raise TargetError("AIRFLOW_CONFORMANCE_BOOT_TIMEOUT must be a number of seconds.") from None
        return cls(
            image=environ.get("AIRFLOW_CONFORMANCE_IMAGE") or DEFAULT_IMAGE,
            database=database,
            postgres_image=environ.get("AIRFLOW_CONFORMANCE_POSTGRES_IMAGE") or DEFAULT_POSTGRES_IMAGE,
            boot_timeout=boot_timeout,
            topology=topology,
            redis_image=environ.get("AIRFLOW_CONFORMANCE_REDIS_IMAGE") or DEFAULT_REDIS_IMAGE,
            nginx_image=environ.get("AIRFLOW_CONFORMANCE_NGINX_IMAGE") or DEFAULT_NGINX_IMAGE,
        )


def airflow_environment(api_host: str, database_url: str | None = None) -> dict[str, str]:
    """What every Airflow container of this target runs with; task workers find the api-server at ``api_host``."""
    env = {
        "AIRFLOW__CORE__DAGS_FOLDER": DAGS_FOLDER,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{api_host}:{API_PORT}/execution/",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": PASSWORDS_FILE,
        "AIRFLOW__API__HOST": "0.0.0.0",
        "AIRFLOW__API__PORT": str(API_PORT),
    }
    if database_url:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = database_url
    return env


def standalone_environment() -> dict[str, str]:
    """`airflow standalone` on sqlite in one container: the local target's per-component lock
    patience too, without which its scheduler now and then exits on "database is locked" mid-run
    (CI, 2026-12-02; airflow_site/conformance_sqlite.py says why)."""
    return {**airflow_environment("localhost"), **sqlite_env(), "PYTHONPATH": SITE_FOLDER}
