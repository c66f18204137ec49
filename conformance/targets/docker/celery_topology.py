"""The container target's distributed topology (``AIRFLOW_CONFORMANCE_TOPOLOGY=celery``).

How platform teams deploy Airflow, on one private Docker network: PostgreSQL, Redis as the
Celery broker, ``airflow db migrate`` once, a scheduler with CeleryExecutor, two Celery workers,
dag-processor, triggerer, two api-server replicas, and nginx in front of the replicas (round
robin). Only nginx's port is published: the suite, and the task processes on the workers (the
execution API), reach Airflow through it. nginx serves ``/wait`` as docs/faults.md recommends
(no buffering, a read timeout longer than any interval) and logs each request's
``$upstream_addr``, which :func:`replicas_serving` reads to tell which replica served what.

The replicas share the JWT secret, so a token one signs the other accepts, and one
SimpleAuthManager password file, written before they start. Ready means: the health endpoint
through nginx reports every component healthy, each replica answers it directly, and each
worker's Celery says it is ready.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager

import attrs
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import ExecWaitStrategy

from conformance.live.airflow_api import AirflowAPIError, fetch_token
from conformance.targets.base import Connection, TargetError
from conformance.targets.docker import engine
from conformance.targets.docker.container_spec import API_PORT, PASSWORDS_FILE, ContainerSettings, airflow_environment
from conformance.targets.docker.postgres_topology import (
    DATABASE_URL,
    logs,
    migrate,
    private_network,
    remaining,
    start_postgres,
)
from conformance.targets.health import HEALTH_PATH

REPLICAS = ("api-server-1", "api-server-2")
WORKERS = ("worker-1", "worker-2")
COMPONENTS = ("scheduler", "dag-processor", "triggerer")
WORKER_CONCURRENCY = 4  # per worker: the two together run core.parallelism (8) tasks, as the other topologies do
API_WORKERS = 1  # uvicorn workers per replica: the replicas are the point here, several workers per server is the postgres topology's
# a line of NGINX_CONF's log format; $upstream_addr lists every replica tried, the last one answered
ACCESS_LINE = re.compile(
    r'"[A-Z]+ (?P<path>[^ ?"]+)[^"]*" (?P<status>\d+) upstream=(?:[^ ]+, )*(?P<upstream>\S+) time='
)
SINGLE_PORT = 8081  # nginx's second server: api-server-1 alone, for figures to set beside the round robin's
WAIT_PATH = r"^/api/v2/dags/[^/]+/dagRuns/[^/]+/wait$"
# A killed replica's address stops answering rather than refusing: with nginx's default (60 s)
# a request sent there waits that long before nginx tries the other replica, so a client's
# re-request timed out (measured once). On one Docker network a live replica connects in
# milliseconds, so 2 s is long enough for one and short enough to fail over from the other.
CONNECT_TIMEOUT = 2

SERVER = """\
    server {{
        listen {port};
        proxy_connect_timeout {connect_timeout}s;
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        location ~ {wait_path} {{
            proxy_pass http://{upstream};
            proxy_buffering off;
            proxy_read_timeout 600s;
        }}
        location / {{
            proxy_pass http://{upstream};
        }}
    }}
"""
NGINX_CONF = f"""\
worker_processes 1;
error_log stderr notice;
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$remote_addr "$request" $status upstream=$upstream_addr time=$request_time';
    access_log /dev/stdout upstream;
    upstream airflow {{ {" ".join(f"server {replica}:{API_PORT};" for replica in REPLICAS)} }}
    upstream single {{ server {REPLICAS[0]}:{API_PORT}; }}
{"".join(SERVER.format(port=port, upstream=upstream, wait_path=WAIT_PATH, connect_timeout=CONNECT_TIMEOUT) for port, upstream in ((API_PORT, "airflow"), (SINGLE_PORT, "single")))}}}
"""


def container_names(run: str) -> list[str]:
    """Every container the Celery topology of ``run`` makes, the finished migration's included."""
    roles = ("nginx", *REPLICAS, *COMPONENTS, *WORKERS, "migrate", "redis", "postgres")
    return [f"airflow-conformance-{run}-{role}" for role in roles]


@attrs.frozen
class CeleryTopology:
    """The running topology's containers by role, for livetests that break one on purpose."""

    nginx: DockerContainer
    replicas: dict[str, DockerContainer]
    workers: dict[str, DockerContainer]
    others: dict[str, DockerContainer]  # postgres, redis, scheduler, dag-processor, triggerer

    def every(self) -> dict[str, DockerContainer]:
        return {"nginx": self.nginx, **self.replicas, **self.workers, **self.others}

    def replica_of(self) -> dict[str, str]:
        """Each replica's ``address:port`` as nginx logs it, to its role."""
        found = {}
        for role, replica in self.replicas.items():
            replica.get_wrapped_container().reload()
            for network in replica.get_wrapped_container().attrs["NetworkSettings"]["Networks"].values():
                found[f"{network['IPAddress']}:{API_PORT}"] = role
        return found

    def streams_by_replica(self) -> Counter[str]:
        """How many ``/wait`` requests each replica answered so far (by role; an address no replica has as itself)."""
        return self.requests_by_replica(WAIT_PATH)

    def requests_by_replica(self, path_pattern: str) -> Counter[str]:
        """How many requests whose path matches ``path_pattern`` each replica answered so far."""
        names = self.replica_of()
        return Counter(
            {
                names.get(address, address): count
                for address, count in replicas_serving(self.nginx, path_pattern).items()
            }
        )


@contextmanager
def celery_topology(
    settings: ContainerSettings, run: str, keep: bool = False, extra_env: Mapping[str, str] | None = None
) -> Iterator[tuple[Connection, CeleryTopology]]:
    """The topology, healthy, and a connection through nginx; removed when the block ends
    (with ``keep``, left up after a block that ended normally). ``extra_env`` goes to every
    Airflow container (the fault livetests lower the heartbeat timeout with it)."""
    with ExitStack() as stack:
        try:
            topology, password = _boot(stack, settings, run, extra_env or {})
        except engine.DockerException as exc:
            raise TargetError(f"Docker could not run the Celery topology ({engine.one_line(exc)}).") from exc
        base_url = engine.published_url(topology.nginx)
        try:
            token = fetch_token(base_url, "admin", password)
        except (KeyError, ValueError, AirflowAPIError) as exc:
            raise TargetError(
                f"The Celery topology at {base_url} came up but could not be logged in to ({engine.one_line(exc)})."
            ) from exc
        connection = Connection(
            target="container",
            base_url=base_url,
            token=token,
            database="postgres",
            description=(
                f"{settings.image}: CeleryExecutor with {len(WORKERS)} workers, {len(REPLICAS)} api-servers behind nginx, "
                f"{', '.join(COMPONENTS)}, in containers airflow-conformance-{run}-*, on {settings.postgres_image} and {settings.redis_image}"
            ),
        )
        try:
            yield connection, topology
        except TargetError as exc:  # trouble while in use: the components' logs say why
            raise TargetError(f"{exc}; the containers' logs end:\n{logs(topology.every())}") from exc
        if keep:
            stack.pop_all()


def _boot(
    stack: ExitStack, settings: ContainerSettings, run: str, extra_env: Mapping[str, str]
) -> tuple[CeleryTopology, str]:
    deadline = time.monotonic() + settings.boot_timeout
    network = private_network(stack, run)
    password = secrets.token_urlsafe(16)
    env = {
        **airflow_environment("nginx", DATABASE_URL),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": "redis://redis:6379/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{DATABASE_URL.replace('+psycopg2', '')}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
        "AIRFLOW__API__WORKERS": str(API_WORKERS),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        **extra_env,
    }

    def container(role: str, image: str) -> DockerContainer:
        return (
            DockerContainer(image)
            .with_name(f"airflow-conformance-{run}-{role}")
            .with_network(network)
            .with_network_aliases(role)
            .with_kwargs(labels={engine.LABEL: run})
        )

    def airflow(role: str, *command: str) -> DockerContainer:
        name = f"airflow-conformance-{run}-{role}"
        return (
            engine.airflow_container(settings.image, name, run, command, env)
            .with_network(network)
            .with_network_aliases(role)
        )

    postgres = start_postgres(stack, settings, run, network, deadline)
    redis = stack.enter_context(
        container("redis", settings.redis_image).with_command(
            ["redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
        )
    )
    migrate(stack, airflow, settings, deadline)
    others = {"postgres": postgres, "redis": redis}
    others.update({role: stack.enter_context(airflow(role, role)) for role in COMPONENTS})
    workers = {
        role: stack.enter_context(airflow(role, "celery", "worker", "--celery-hostname", f"{role}@%h"))
        for role in WORKERS
    }
    passwords = json.dumps({"admin": password}).encode()
    replicas = {
        role: stack.enter_context(
            airflow(role, "api-server").with_copy_into_container(passwords, PASSWORDS_FILE, 0o666)
        )
        for role in REPLICAS
    }
    nginx = stack.enter_context(
        container("nginx", settings.nginx_image)
        .with_copy_into_container(NGINX_CONF.encode(), "/etc/nginx/nginx.conf")
        .with_exposed_ports(API_PORT, SINGLE_PORT)
    )
    topology = CeleryTopology(nginx=nginx, replicas=replicas, workers=workers, others=others)
    watched = {role: each for role, each in topology.every().items() if role != "nginx"}
    try:
        engine.AirflowHealthy(API_PORT, watched).with_startup_timeout(remaining(deadline)).wait_until_ready(nginx)
        for replica in replicas.values():
            wait_until_replica_serves(replica, deadline)
        for role, worker in workers.items():
            wait_until_worker_ready(worker, role, deadline)
    except (TargetError, TimeoutError, engine.ContainerExited) as exc:
        raise TargetError(
            f"The Celery topology in {settings.image} was not ready within {settings.boot_timeout:.0f} s ({exc}; raise "
            f"AIRFLOW_CONFORMANCE_BOOT_TIMEOUT if the machine is slow); its containers' logs end:\n{logs(topology.every())}"
        ) from exc
    return topology, password


def wait_until_replica_serves(replica: DockerContainer, deadline: float) -> None:
    """Until the replica answers its health endpoint itself, asked from inside its container
    (nginx's answer may come from the other one); a TimeoutError at ``deadline``."""
    probe = [
        "python",
        "-c",
        f"import urllib.request as u; u.urlopen('http://localhost:{API_PORT}{HEALTH_PATH}', timeout=5)",
    ]
    ExecWaitStrategy(probe).with_poll_interval(0.5).with_startup_timeout(remaining(deadline)).wait_until_ready(replica)


def wait_until_worker_ready(worker: DockerContainer, role: str, deadline: float, since: int | None = None) -> None:
    """Until the worker's Celery logs "<role>@<host> ready." (only lines after the epoch second
    ``since``, for a worker started again); a TargetError if it exits, a TimeoutError at ``deadline``."""
    name = worker.get_wrapped_container().name
    while True:
        text = worker.get_wrapped_container().logs(since=since).decode(errors="replace")
        if any(f"{role}@" in line and " ready." in line for line in text.splitlines()):
            return
        worker.reload()
        if worker.status in ("exited", "dead"):
            raise TargetError(f"{name} exited before Celery said it was ready")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name}'s Celery did not say it was ready")
        time.sleep(0.5)


def replicas_serving(nginx: DockerContainer, path_pattern: str = WAIT_PATH) -> Counter[str]:
    """How many requests whose path matches ``path_pattern`` each upstream address served, from nginx's log."""
    return count_upstreams(nginx.get_wrapped_container().logs(stderr=False).decode(errors="replace"), path_pattern)


def count_upstreams(access_log: str, path_pattern: str = WAIT_PATH) -> Counter[str]:
    """:func:`replicas_serving` on the text of the log (lines of NGINX_CONF's ``upstream`` format)."""
    served: Counter[str] = Counter()
    pattern = re.compile(path_pattern)
    for line in access_log.splitlines():
        found = ACCESS_LINE.search(line)
        if found and pattern.search(found["path"]):
            served[found["upstream"]] += 1
    return served
