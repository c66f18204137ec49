"""What the container target asks of Docker, through testcontainers.

A client or one sentence saying why there is none, images that are present (pulled if need
be), Airflow containers with the fixture DAGs copied in, a wait strategy for "every component
healthy", the admin password from inside a container, and log tails for error messages.
It needs testcontainers, an optional extra of the package: :mod:`conformance.targets.container`
imports it only where that is installed.
"""

from __future__ import annotations

import json
import posixpath
import socket
import time
from collections.abc import Mapping, Sequence

import docker
import httpx
from docker.errors import DockerException, ImageNotFound
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.docker_client import DockerClient
from testcontainers.core.waiting_utils import WaitStrategy

from conformance.live.airflow_api import AirflowAPIError, fetch_token
from conformance.paths import dags_dir
from conformance.targets.base import AIRFLOW_SITE, TargetError, log_tail
from conformance.targets.docker.container_spec import API_PORT, DAGS_FOLDER, PASSWORDS_FILE, SITE_FOLDER
from conformance.targets.health import HEALTH_PATH, wait_until_healthy

LABEL = "airflow-conformance"  # on every container this target makes, valued with the run's id


def one_line(exc: BaseException, limit: int = 200) -> str:
    """An exception as one short line; Docker's API errors by the engine's own explanation."""
    text = " ".join(str(getattr(exc, "explanation", None) or exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def docker_client() -> DockerClient:
    """testcontainers' client on the Docker engine, or one sentence saying why there is none."""
    try:
        client = DockerClient()
        client.client.ping()
    except DockerException as exc:
        raise TargetError(
            f"Docker is not reachable ({one_line(exc)}); start the Docker engine (on Debian: tools/container/engine.sh) "
            "or point DOCKER_HOST at one."
        ) from exc
    return client


def ensure_image(client: DockerClient, image: str, hint: str) -> None:
    """The image is on the engine, pulled if need be; else one sentence ending with ``hint``."""
    try:
        client.client.images.get(image)
        return
    except ImageNotFound:
        pass
    try:
        client.client.images.pull(image)
    except DockerException as exc:
        raise TargetError(
            f"The image {image} is not on this Docker engine and could not be pulled ({one_line(exc)}); {hint}."
        ) from exc


def labelled_names(client: docker.DockerClient, label: str) -> list[str]:
    """Names of the containers and networks carrying ``label`` (``key`` or ``key=value``).

    Read from the engine's list endpoints alone: docker-py's ``containers.list`` inspects each
    container it lists, and one removed in between (a teardown running meanwhile) raises NotFound.
    """
    filters = {"label": label}
    containers = [
        name.lstrip("/") for entry in client.api.containers(all=True, filters=filters) for name in entry["Names"][:1]
    ]
    return containers + [entry["Name"] for entry in client.api.networks(filters=filters)]


def reaper_enabled() -> bool:
    """Whether testcontainers' reaper (Ryuk) will remove the run's containers when the run ends."""
    return not testcontainers_config.ryuk_disabled


def ensure_reaper(client: DockerClient) -> None:
    """testcontainers starts its reaper (Ryuk) before anything else unless told not to."""
    if not testcontainers_config.ryuk_disabled:
        ensure_image(
            client,
            testcontainers_config.ryuk_image,
            "set TESTCONTAINERS_RYUK_DISABLED=true (this target removes its containers itself)",
        )


def logs_of(container: DockerContainer, lines: int = 40) -> str:
    """The last lines a container wrote (stdout and stderr interleaved), indented."""
    try:
        text = container.get_wrapped_container().logs(tail=lines).decode(errors="replace")
    except Exception as exc:  # noqa: BLE001 - a container with no logs is worth saying so, not raising
        text = f"(no logs: {one_line(exc)})"
    return log_tail(text, lines)


def published_url(container: DockerContainer, port: int = API_PORT) -> str:
    """Where this process reaches a container's published port.

    Loopback when the engine publishes ports on this machine (a laptop, CI, and a Docker engine
    running inside the same container as the suite); otherwise, or when TC_HOST /
    TESTCONTAINERS_HOST_OVERRIDE / TESTCONTAINERS_CONNECTION_MODE say so, testcontainers' own
    answer (the gateway, for a suite in a container beside the engine).
    """
    mapped = int(container.get_exposed_port(port))
    if testcontainers_config.tc_host_override is None and testcontainers_config.connection_mode_override is None:
        try:
            socket.create_connection(("127.0.0.1", mapped), timeout=2).close()
            return f"http://127.0.0.1:{mapped}"
        except OSError:
            pass
    return f"http://{container.get_container_host_ip()}:{mapped}"


def standalone_logs(container: DockerContainer, lines: int = 12, scanned: int = 3000) -> str:
    """The last lines of each component of ``airflow standalone``, whose lines it prefixes "name | ".

    A plain tail is mostly the chatty dag-processor; what the scheduler said last is what
    usually tells why runs stopped.
    """
    try:
        text = container.get_wrapped_container().logs(tail=scanned).decode(errors="replace")
    except Exception as exc:  # noqa: BLE001 - a container with no logs is worth saying so, not raising
        return log_tail(f"(no logs: {one_line(exc)})")
    return tails_by_component(text, lines)


def tails_by_component(text: str, lines: int = 12) -> str:
    by_component: dict[str, list[str]] = {}
    for line in text.splitlines():
        name, bar, _ = line.partition(" | ")
        by_component.setdefault(name.strip() if bar and " " not in name.strip() else "other", []).append(line)
    return "\n".join(log_tail("\n".join(kept), lines) for kept in by_component.values()) or log_tail("")


class ContainerExited(Exception):
    def __init__(self, role: str, container: DockerContainer) -> None:
        super().__init__(f"its {role} container exited")
        self.role = role
        self.container = container


class AirflowHealthy(WaitStrategy):
    """Ready once ``/api/v2/monitor/health`` reports every component healthy
    (:func:`~conformance.targets.health.wait_until_healthy`); a TargetError at the timeout.

    Gives up as soon as the api-server's container or one of ``watched`` (role -> container)
    has exited, with :class:`ContainerExited`, so a crash at boot does not cost the whole timeout.
    """

    def __init__(self, port: int = API_PORT, watched: Mapping[str, DockerContainer] | None = None) -> None:
        super().__init__()
        self.port = port
        self.watched = dict(watched or {})
        self._poll_interval = 0.5

    def wait_until_ready(self, container: DockerContainer) -> None:  # type: ignore[override]
        def all_running() -> None:
            for role, each in {"api-server": container, **self.watched}.items():
                each.reload()
                if each.status in ("exited", "dead"):
                    raise ContainerExited(role, each)

        wait_until_healthy(
            lambda: f"{published_url(container, self.port)}{HEALTH_PATH}",
            time.monotonic() + self._startup_timeout,
            check=all_running,
            late=lambda: "not every component was healthy in time",
            poll_interval=self._poll_interval,
        )


def airflow_container(
    image: str, name: str, run: str, command: Sequence[str], env: Mapping[str, str]
) -> DockerContainer:
    """An Airflow container, not yet started, with the fixture DAGs and our Airflow-side modules copied in, and the run's label."""
    return (
        DockerContainer(image)
        .with_name(name)
        .with_command(list(command))
        .with_envs(**env)
        .with_copy_into_container(dags_dir(), posixpath.dirname(DAGS_FOLDER))
        .with_copy_into_container(AIRFLOW_SITE, posixpath.dirname(SITE_FOLDER))
        .with_kwargs(labels={LABEL: run})
    )


def read_password(container: DockerContainer, attempts: int = 20) -> str:
    """The admin password SimpleAuthManager generated, read from inside the api-server's container."""
    output = b""
    for _ in range(attempts):
        code, output = container.exec(["cat", PASSWORDS_FILE])
        if code == 0:
            return str(json.loads(output)["admin"])
        time.sleep(0.5)
    raise TargetError(
        f"Airflow wrote no admin password to {PASSWORDS_FILE} in its container ({output.decode(errors='replace').strip()})."
    )


def log_in(api: DockerContainer) -> tuple[str, str]:
    """The api-server's base URL from this host, and an admin token."""
    base_url = published_url(api)
    try:
        return base_url, fetch_token(base_url, "admin", read_password(api))
    except (KeyError, ValueError, AirflowAPIError, httpx.HTTPError) as exc:
        raise TargetError(
            f"The Airflow container at {base_url} came up but could not be logged in to ({one_line(exc)})."
        ) from exc
