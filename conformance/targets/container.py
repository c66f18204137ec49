"""``container``: Airflow booted from an image with testcontainers, removed afterwards.

Configured from the environment::

    AIRFLOW_CONFORMANCE_IMAGE           the Airflow image (default apache/airflow:3.3.2)
    AIRFLOW_CONFORMANCE_DB              sqlite (default): one container running `airflow standalone`;
                                        postgres: the production-like topology of topology.py
    AIRFLOW_CONFORMANCE_POSTGRES_IMAGE  postgres only (default postgres:16)
    AIRFLOW_CONFORMANCE_BOOT_TIMEOUT    seconds until every component must be healthy (default 180)
    TESTCONTAINERS_RYUK_DISABLED        true where testcontainers' reaper image cannot be pulled;
                                        this target removes its containers itself either way

The image is one whose arguments are an ``airflow`` command, like the official image and the
one ``tools/container/build.sh`` builds without any registry. The fixture ``dags/`` folder is
copied in (so a remote Docker engine works too), examples are off, and the settings that keep
the local target dependable apply here too: ``core.parallelism`` 8, and the execution API URL
pointed at the api-server. Readiness is a testcontainers wait strategy on
``/api/v2/monitor/health`` that gives up as soon as a container exits; the admin password is
read from inside the container. A boot failure ends the run with the containers' log tails;
the containers (and the topology's network) are removed when the run ends, also on failure,
Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from types import ModuleType

import attrs

from conformance.targets.base import Connection, TargetError
from conformance.targets.local import DATABASES

DEFAULT_IMAGE = "apache/airflow:3.3.2"
DEFAULT_POSTGRES_IMAGE = "postgres:16"
API_PORT = 8080
DAGS_FOLDER = "/opt/airflow-conformance/dags"  # where engine.airflow_container copies dags/
PASSWORDS_FILE = "/tmp/airflow-conformance-passwords.json"


@attrs.frozen
class ContainerSettings:
    image: str = DEFAULT_IMAGE
    database: str = "sqlite"
    postgres_image: str = DEFAULT_POSTGRES_IMAGE
    boot_timeout: float = 180.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ContainerSettings:
        database = environ.get("AIRFLOW_CONFORMANCE_DB") or "sqlite"
        if database not in DATABASES:
            raise TargetError(f"Unknown database {database!r} for the container target; choose one of: {', '.join(DATABASES)}.")
        try:
            boot_timeout = float(environ.get("AIRFLOW_CONFORMANCE_BOOT_TIMEOUT") or 180)
        except ValueError:
            raise TargetError("AIRFLOW_CONFORMANCE_BOOT_TIMEOUT must be a number of seconds.") from None
        return cls(
            image=environ.get("AIRFLOW_CONFORMANCE_IMAGE") or DEFAULT_IMAGE,
            database=database,
            postgres_image=environ.get("AIRFLOW_CONFORMANCE_POSTGRES_IMAGE") or DEFAULT_POSTGRES_IMAGE,
            boot_timeout=boot_timeout,
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


class ContainerTarget:
    name = "container"

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self.settings = ContainerSettings.from_environ(environ)

    @contextmanager
    def start(self) -> Iterator[Connection]:
        try:
            from conformance.targets import engine
        except ImportError:
            raise TargetError(
                "The container target needs testcontainers: `pip install 'airflow-dag-result-conformance[container]'` "
                "(tox's container envs install it)."
            ) from None
        self._check_engine(engine)
        run = secrets.token_hex(4)
        if self.settings.database == "postgres":
            from conformance.targets.topology import postgres_topology

            with postgres_topology(self.settings, run) as connection:
                yield connection
        else:
            with self._standalone(run) as connection:
                yield connection

    def _check_engine(self, engine: ModuleType) -> None:
        """Docker answers and has every image the run needs, before anything is started."""
        client = engine.docker_client()
        try:
            engine.ensure_reaper(client)
            engine.ensure_image(
                client, self.settings.image,
                "build one with `tools/container/build.sh` (no registry needed) and set AIRFLOW_CONFORMANCE_IMAGE to its tag",
            )
            if self.settings.database == "postgres":
                engine.ensure_image(
                    client, self.settings.postgres_image,
                    "build one with `tools/container/build.sh postgres` and set AIRFLOW_CONFORMANCE_POSTGRES_IMAGE to its tag",
                )
        finally:
            client.client.close()

    @contextmanager
    def _standalone(self, run: str) -> Iterator[Connection]:
        from conformance.targets import engine

        name = f"airflow-conformance-{run}-standalone"
        container = engine.airflow_container(
            self.settings.image, name, run, ["standalone"], airflow_environment("localhost")
        ).with_exposed_ports(API_PORT)
        with ExitStack() as stack:
            try:
                stack.enter_context(container)
                engine.AirflowHealthy().with_startup_timeout(self.settings.boot_timeout).wait_until_ready(container)
            except engine.DockerException as exc:
                raise TargetError(f"Docker could not run {self.settings.image} ({engine.one_line(exc)}).") from exc
            except (TimeoutError, engine.ContainerExited) as exc:
                raise TargetError(
                    f"`airflow standalone` in {self.settings.image} was not healthy within {self.settings.boot_timeout:.0f} s ({exc}; raise "
                    f"AIRFLOW_CONFORMANCE_BOOT_TIMEOUT if the machine is slow); its log ends:\n{engine.logs_of(container)}"
                ) from exc
            base_url, token = engine.log_in(container)
            try:
                yield Connection(
                    target=self.name, base_url=base_url, token=token, database="sqlite",
                    description=f"airflow standalone in container {name} ({self.settings.image}, sqlite)",
                )
            except TargetError as exc:  # trouble while in use: the server's own log says why
                raise TargetError(f"{exc}; its components' logs end:\n{engine.standalone_logs(container)}") from exc
