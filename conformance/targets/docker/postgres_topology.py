"""The container target's production-like topology (``AIRFLOW_CONFORMANCE_DB=postgres``).

One private Docker network holding a PostgreSQL server and Airflow split the way deployments
split it: ``airflow db migrate`` once, then api-server, scheduler (LocalExecutor, so task
workers run in its container), dag-processor and triggerer, each in its own container and all
from the same image. They share the JWT secret that the api-server uses to sign task tokens,
and task workers reach the execution API at ``http://api-server:8080/execution/``. Only the
api-server's port is published.

What it adds over sqlite standalone: XCom stored as JSONB by a real server, separate processes
talking only through the database and the API, and an api-server with several workers.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from requests.exceptions import RequestException
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network
from testcontainers.core.wait_strategies import ExecWaitStrategy

from conformance.targets.base import Connection, TargetError
from conformance.targets.docker import engine
from conformance.targets.docker.container_spec import API_PORT, ContainerSettings, airflow_environment

DATABASE_URL = "postgresql+psycopg2://airflow@postgres:5432/airflow"
COMPONENTS = ("scheduler", "dag-processor", "triggerer")


def remaining(deadline: float) -> float:
    return max(deadline - time.monotonic(), 1.0)


def network_name(run: str) -> str:
    return f"airflow-conformance-{run}"


def container_names(run: str) -> list[str]:
    """Every container the topology of ``run`` makes, the finished migration's included."""
    return [f"airflow-conformance-{run}-{role}" for role in ("api-server", *COMPONENTS, "migrate", "postgres")]


@contextmanager
def postgres_topology(settings: ContainerSettings, run: str, keep: bool = False) -> Iterator[Connection]:
    """The topology, removed when the block ends; with ``keep`` (--keep-server), left up after a
    block that ended normally (containers and network by :func:`container_names`, :func:`network_name`)."""
    with ExitStack() as stack:
        try:
            api, watched = _boot(stack, settings, run)
        except engine.DockerException as exc:
            raise TargetError(f"Docker could not run the topology ({engine.one_line(exc)}).") from exc
        base_url, token = engine.log_in(api)
        try:
            yield Connection(
                target="container",
                base_url=base_url,
                token=token,
                database="postgres",
                description=(
                    f"{settings.image}: api-server, {', '.join(COMPONENTS)} in containers airflow-conformance-{run}-*, "
                    f"on {settings.postgres_image}"
                ),
            )
        except TargetError as exc:  # trouble while in use: the components' logs say why
            raise TargetError(f"{exc}; the containers' logs end:\n{logs({'api-server': api, **watched})}") from exc
        if keep:
            stack.pop_all()


def _boot(
    stack: ExitStack, settings: ContainerSettings, run: str
) -> tuple[DockerContainer, dict[str, DockerContainer]]:
    """PostgreSQL, then the migration, then the components: the api-server and the others, once all are healthy."""
    deadline = time.monotonic() + settings.boot_timeout
    network = private_network(stack, run)
    env = {
        **airflow_environment("api-server", DATABASE_URL),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
    }

    def airflow(role: str, *command: str) -> DockerContainer:
        name = f"airflow-conformance-{run}-{role}"
        return (
            engine.airflow_container(settings.image, name, run, command, env)
            .with_network(network)
            .with_network_aliases(role)
        )

    postgres = start_postgres(stack, settings, run, network, deadline)
    migrate(stack, airflow, settings, deadline)

    components = {role: stack.enter_context(airflow(role, role)) for role in COMPONENTS}
    api = stack.enter_context(airflow("api-server", "api-server").with_exposed_ports(API_PORT))
    watched = {"postgres": postgres, **components}
    try:
        engine.AirflowHealthy(API_PORT, watched).with_startup_timeout(remaining(deadline)).wait_until_ready(api)
    except (TargetError, engine.ContainerExited) as exc:
        raise TargetError(
            f"The Airflow topology in {settings.image} was not healthy within {settings.boot_timeout:.0f} s ({exc}; raise "
            f"AIRFLOW_CONFORMANCE_BOOT_TIMEOUT if the machine is slow); its containers' logs end:\n"
            f"{logs({'api-server': api, **watched})}"
        ) from exc
    return api, watched


def private_network(stack: ExitStack, run: str) -> Network:
    """The topology's own Docker network, labelled with ``run``, removed with ``stack``."""
    network = Network(docker_network_kw={"labels": {engine.LABEL: run}})
    network.name = network_name(run)  # rather than a uuid: a name --keep-server's stop line can give
    return stack.enter_context(network)


def start_postgres(
    stack: ExitStack, settings: ContainerSettings, run: str, network: Network, deadline: float
) -> DockerContainer:
    """PostgreSQL on ``network`` as ``postgres``, accepting connections."""
    postgres = stack.enter_context(
        DockerContainer(settings.postgres_image)
        .with_name(f"airflow-conformance-{run}-postgres")
        .with_envs(POSTGRES_USER="airflow", POSTGRES_DB="airflow", POSTGRES_HOST_AUTH_METHOD="trust")
        .with_network(network)
        .with_network_aliases("postgres")
        .with_kwargs(labels={engine.LABEL: run})
    )
    try:
        ExecWaitStrategy(["pg_isready", "-h", "127.0.0.1", "-U", "airflow", "-d", "airflow"]).with_poll_interval(
            0.5
        ).with_startup_timeout(min(remaining(deadline), 60)).wait_until_ready(postgres)
    except TimeoutError as exc:
        raise TargetError(
            f"PostgreSQL ({settings.postgres_image}) did not accept connections; its log ends:\n{engine.logs_of(postgres)}"
        ) from exc
    return postgres


def migrate(
    stack: ExitStack, airflow: Callable[..., DockerContainer], settings: ContainerSettings, deadline: float
) -> None:
    """``airflow db migrate`` in a container of its own (``airflow("migrate", ...)``), to its end, which must be 0."""
    migration = stack.enter_context(airflow("migrate", "db", "migrate"))
    try:
        code = migration.get_wrapped_container().wait(timeout=remaining(deadline))["StatusCode"]
    except RequestException as exc:  # the engine's wait timed out
        raise TargetError(
            f"`airflow db migrate` in {settings.image} did not finish in time (raise AIRFLOW_CONFORMANCE_BOOT_TIMEOUT "
            f"if the machine is slow); its log ends:\n{engine.logs_of(migration)}"
        ) from exc
    if code != 0:
        raise TargetError(
            f"`airflow db migrate` in {settings.image} exited with code {code}; its log ends:\n{engine.logs_of(migration)}"
        )


def logs(containers: dict[str, DockerContainer], lines: int = 15) -> str:
    return "\n".join(f"  {role}:\n{engine.logs_of(container, lines)}" for role, container in containers.items())
