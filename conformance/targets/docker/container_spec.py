"""What the container target's containers are made of: its settings and Airflow's environment.

:class:`ContainerSettings` is the target's configuration, made from the run's
:class:`~conformance.settings.Settings` (the variables :mod:`conformance.targets.container` lists); :func:`airflow_environment` is the
environment every Airflow container of the target runs with, standalone or in the topology.
Kept apart from the Docker code so that the target, the Docker helpers
(:mod:`~conformance.targets.docker.engine`) and the topology
(:mod:`~conformance.targets.docker.postgres_topology`) can all read them without importing each other.
"""

from __future__ import annotations

import attrs

from conformance.settings import (
    BOOT_TIMEOUT,
    CELERY_BOOT_TIMEOUT,
    DEFAULT_IMAGE,
    DEFAULT_NGINX_IMAGE,
    DEFAULT_POSTGRES_IMAGE,
    DEFAULT_REDIS_IMAGE,
    Settings,
)
from conformance.targets.base import DATABASES, TargetError, sqlite_env

# what AIRFLOW_CONFORMANCE_TOPOLOGY may name, and the database each runs on (sqlite and postgres
# are also what AIRFLOW_CONFORMANCE_DB alone chooses)
TOPOLOGY_DATABASE = {"standalone": "sqlite", "postgres": "postgres", "celery": "postgres"}
API_PORT = 8080
DAGS_FOLDER = "/opt/airflow-conformance/dags"  # where engine.airflow_container copies dags/
SITE_FOLDER = "/opt/airflow-conformance/airflow_site"  # and where it copies targets/airflow_site/
PASSWORDS_FILE = "/tmp/airflow-conformance-passwords.json"


@attrs.frozen
class ContainerSettings:
    image: str = DEFAULT_IMAGE
    database: str = "sqlite"
    postgres_image: str = DEFAULT_POSTGRES_IMAGE
    boot_timeout: float = float(BOOT_TIMEOUT)
    topology: str = "standalone"
    redis_image: str = DEFAULT_REDIS_IMAGE
    nginx_image: str = DEFAULT_NGINX_IMAGE

    @classmethod
    def from_settings(cls, settings: Settings) -> ContainerSettings:
        named = settings.database
        if named and named not in DATABASES:
            raise TargetError(
                f"Unknown database {named!r} for the container target; choose one of: {', '.join(DATABASES)}."
            )
        topology = settings.topology or ("postgres" if named == "postgres" else "standalone")
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
                settings.boot_timeout or (CELERY_BOOT_TIMEOUT if topology == "celery" else BOOT_TIMEOUT)
            )
        except ValueError:
            raise TargetError("AIRFLOW_CONFORMANCE_BOOT_TIMEOUT must be a number of seconds.") from None
        return cls(
            image=settings.image,
            database=database,
            postgres_image=settings.postgres_image,
            boot_timeout=boot_timeout,
            topology=topology,
            redis_image=settings.redis_image,
            nginx_image=settings.nginx_image,
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
