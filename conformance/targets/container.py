"""``container``: Airflow booted from an image with testcontainers, removed afterwards.

Configured from the environment::

    AIRFLOW_CONFORMANCE_IMAGE           the Airflow image (default apache/airflow:3.3.2)
    AIRFLOW_CONFORMANCE_DB              sqlite (default): one container running `airflow standalone`;
                                        postgres: the production-like topology of postgres_topology.py
    AIRFLOW_CONFORMANCE_TOPOLOGY        standalone, postgres (what the database alone chooses), or
                                        celery: the distributed topology of celery_topology.py (postgres)
    AIRFLOW_CONFORMANCE_POSTGRES_IMAGE  postgres and celery (default postgres:16)
    AIRFLOW_CONFORMANCE_REDIS_IMAGE     celery only: the broker (default redis:7)
    AIRFLOW_CONFORMANCE_NGINX_IMAGE     celery only: the load balancer (default nginx:1.27)
    AIRFLOW_CONFORMANCE_BOOT_TIMEOUT    seconds until every component must be healthy (default 180; celery 300)
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

With ``--keep-server`` (:mod:`~conformance.targets.kept`) they stay after a run whose use of
them ended normally, the admin's token in a 0600 file of a folder of their own, and the stop
line is ``docker rm -f`` of their names (and ``docker network rm``). That needs
``TESTCONTAINERS_RYUK_DISABLED=true``: testcontainers' reaper would remove them when the run's
process ends, so the target refuses to start without it.

What Docker is asked is :mod:`~conformance.targets.docker.engine`, the topology
:mod:`~conformance.targets.docker.postgres_topology`; both need testcontainers, an optional extra, so
without it this module still imports and the target says what to install when started.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from conformance.settings import Settings
from conformance.targets.base import Connection, TargetError
from conformance.targets.docker.container_spec import API_PORT, ContainerSettings, standalone_environment
from conformance.targets.kept import KeptServer, StopPlan, write_token

try:  # testcontainers (and docker) come with the `container` extra
    from conformance.targets.docker import celery_topology, engine, postgres_topology
except ImportError:
    engine = postgres_topology = celery_topology = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network


def standalone_name(run: str) -> str:
    return f"airflow-conformance-{run}-standalone"


class ContainerTarget:
    name = "container"

    def __init__(self, settings: Settings) -> None:
        self.settings = ContainerSettings.from_settings(settings)
        self.keep_server = settings.keep_server

    @contextmanager
    def start(self) -> Iterator[Connection]:
        if engine is None or postgres_topology is None:
            raise TargetError(
                "The container target needs testcontainers: `pip install 'airflow-dag-result-conformance[container]'` "
                "(tox's container envs install it)."
            )
        if self.keep_server and engine.reaper_enabled():
            raise TargetError(
                "--keep-server on the container target needs TESTCONTAINERS_RYUK_DISABLED=true: testcontainers' "
                "reaper removes every container of the run when the run ends."
            )
        self._check_engine()
        run = secrets.token_hex(4)
        if self.settings.topology == "celery":
            with celery_topology.celery_topology(self.settings, run, keep=self.keep_server) as (connection, _):
                yield self._kept(connection, celery_topology.container_names(run), postgres_topology.network_name(run))
        elif self.settings.topology == "postgres":
            with postgres_topology.postgres_topology(self.settings, run, keep=self.keep_server) as connection:
                yield self._kept(
                    connection, postgres_topology.container_names(run), postgres_topology.network_name(run)
                )
        else:
            with self._standalone(run) as connection:
                yield self._kept(connection, [standalone_name(run)])

    def _kept(self, connection: Connection, containers: list[str], network: str | None = None) -> Connection:
        """With --keep-server, the connection saying what stays up (targets.kept): the containers,
        and a folder of its own holding the admin's token; as it is otherwise."""
        if not self.keep_server:
            return connection
        folder = Path(tempfile.mkdtemp(prefix="airflow-conformance-kept-"))
        plan = StopPlan()
        plan.remove_containers(containers)
        if network is not None:
            plan.remove_network(network)
        plan.remove(folder)
        kept = KeptServer(
            target=self.name,
            url=connection.base_url,
            folder=str(folder),
            token_files={"admin": str(write_token(folder, "admin", connection.token))},
            stop=plan.line(),
        )
        return attrs.evolve(connection, kept=kept)

    def _check_engine(self) -> None:
        """Docker answers and has every image the run needs, before anything is started."""
        client = engine.docker_client()
        try:
            engine.ensure_reaper(client)
            engine.ensure_image(
                client,
                self.settings.image,
                "build one with `tools/container/build.sh` (no registry needed) and set AIRFLOW_CONFORMANCE_IMAGE to its tag",
            )
            if self.settings.database == "postgres":
                engine.ensure_image(
                    client,
                    self.settings.postgres_image,
                    "build one with `tools/container/build.sh postgres` and set AIRFLOW_CONFORMANCE_POSTGRES_IMAGE to its tag",
                )
            if self.settings.topology == "celery":
                for image, what in ((self.settings.redis_image, "redis"), (self.settings.nginx_image, "nginx")):
                    engine.ensure_image(
                        client,
                        image,
                        f"build one with `tools/container/build.sh {what}` and set AIRFLOW_CONFORMANCE_{what.upper()}_IMAGE to its tag",
                    )
        finally:
            client.client.close()

    @contextmanager
    def standalone(self, run: str, network: Network | None = None, alias: str = "airflow") -> Iterator[DockerContainer]:
        """`airflow standalone` in one container labelled with ``run``, healthy; removed afterwards.

        With ``network`` it is on that Docker network too, as ``http://<alias>:8080``: how a
        client in another container (the runner image, livetests/test_runner_image.py) reaches it.
        """
        name = standalone_name(run)
        container = engine.airflow_container(
            self.settings.image, name, run, ["standalone"], standalone_environment()
        ).with_exposed_ports(API_PORT)
        if network is not None:
            container = container.with_network(network).with_network_aliases(alias)
        with ExitStack() as stack:
            try:
                stack.enter_context(container)
                engine.AirflowHealthy().with_startup_timeout(self.settings.boot_timeout).wait_until_ready(container)
            except engine.DockerException as exc:
                raise TargetError(f"Docker could not run {self.settings.image} ({engine.one_line(exc)}).") from exc
            except (TargetError, engine.ContainerExited) as exc:
                raise TargetError(
                    f"`airflow standalone` in {self.settings.image} was not healthy within {self.settings.boot_timeout:.0f} s ({exc}; raise "
                    f"AIRFLOW_CONFORMANCE_BOOT_TIMEOUT if the machine is slow); its log ends:\n{engine.logs_of(container)}"
                ) from exc
            yield container
            if self.keep_server:  # the run ended normally: leave the container up (targets.kept)
                stack.pop_all()

    @contextmanager
    def _standalone(self, run: str) -> Iterator[Connection]:
        with self.standalone(run) as container:
            base_url, token = engine.log_in(container)
            try:
                yield Connection(
                    target=self.name,
                    base_url=base_url,
                    token=token,
                    database="sqlite",
                    description=f"airflow standalone in container {standalone_name(run)} ({self.settings.image}, sqlite)",
                )
            except TargetError as exc:  # trouble while in use: the server's own log says why
                raise TargetError(f"{exc}; its components' logs end:\n{engine.standalone_logs(container)}") from exc
