"""The container target's settings and the sentences it ends a run with, without Docker."""

import importlib
import posixpath
import sys

import pytest

from conformance.settings import read
from conformance.targets import TargetError, make_target
from conformance.targets.base import AIRFLOW_SITE, sqlite_env
from conformance.targets.container import ContainerSettings, ContainerTarget
from conformance.targets.docker.container_spec import SITE_FOLDER, airflow_environment, standalone_environment


def test_defaults_are_the_official_image_on_sqlite():
    target = make_target("container", read({}))
    assert isinstance(target, ContainerTarget)
    assert target.settings == ContainerSettings(
        image="apache/airflow:3.3.2", database="sqlite", postgres_image="postgres:16", boot_timeout=180.0
    )


def test_settings_come_from_the_environment():
    settings = make_target(
        None,
        read(
            {
                "AIRFLOW_CONFORMANCE_TARGET": "container",
                "AIRFLOW_CONFORMANCE_IMAGE": "airflow-conformance/airflow:3.3.2",
                "AIRFLOW_CONFORMANCE_DB": "postgres",
                "AIRFLOW_CONFORMANCE_POSTGRES_IMAGE": "airflow-conformance/postgres:15",
                "AIRFLOW_CONFORMANCE_BOOT_TIMEOUT": "300",
            }
        ),
    ).settings
    assert settings == ContainerSettings(
        "airflow-conformance/airflow:3.3.2", "postgres", "airflow-conformance/postgres:15", 300.0, "postgres"
    )


def test_the_celery_topology_runs_on_postgres_with_its_own_images_and_a_longer_boot():
    settings = ContainerSettings.from_settings(
        read(
            {
                "AIRFLOW_CONFORMANCE_TOPOLOGY": "celery",
                "AIRFLOW_CONFORMANCE_REDIS_IMAGE": "airflow-conformance/redis:7",
                "AIRFLOW_CONFORMANCE_NGINX_IMAGE": "airflow-conformance/nginx:1.22",
            }
        )
    )
    assert (settings.topology, settings.database, settings.boot_timeout) == ("celery", "postgres", 300.0)
    assert (settings.redis_image, settings.nginx_image) == (
        "airflow-conformance/redis:7",
        "airflow-conformance/nginx:1.22",
    )
    assert (
        ContainerSettings.from_settings(
            read({"AIRFLOW_CONFORMANCE_TOPOLOGY": "celery", "AIRFLOW_CONFORMANCE_DB": "postgres"})
        ).database
        == "postgres"
    )


@pytest.mark.parametrize(
    ("environ", "sentence"),
    [
        (
            {"AIRFLOW_CONFORMANCE_DB": "mysql"},
            r"^Unknown database 'mysql' for the container target; choose one of: sqlite, postgres\.$",
        ),
        (
            {"AIRFLOW_CONFORMANCE_BOOT_TIMEOUT": "soon"},
            r"^AIRFLOW_CONFORMANCE_BOOT_TIMEOUT must be a number of seconds\.$",
        ),
        (
            {"AIRFLOW_CONFORMANCE_TOPOLOGY": "k8s"},
            r"^Unknown topology 'k8s' for the container target; choose one of: standalone, postgres, celery\.$",
        ),
        (
            {"AIRFLOW_CONFORMANCE_TOPOLOGY": "celery", "AIRFLOW_CONFORMANCE_DB": "sqlite"},
            r"^The celery topology runs on postgres, not sqlite; set AIRFLOW_CONFORMANCE_DB=postgres or leave it unset\.$",
        ),
        (
            {"AIRFLOW_CONFORMANCE_TOPOLOGY": "standalone", "AIRFLOW_CONFORMANCE_DB": "postgres"},
            r"^The standalone topology runs on sqlite, not postgres; set AIRFLOW_CONFORMANCE_DB=sqlite or leave it unset\.$",
        ),
    ],
)
def test_bad_settings_are_one_sentence(environ, sentence):
    with pytest.raises(TargetError, match=sentence):
        ContainerTarget(read(environ))


def test_unreachable_docker_is_one_sentence(monkeypatch, tmp_path):
    pytest.importorskip("testcontainers")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(TargetError) as raised, ContainerTarget(read({})).start():
        pytest.fail("the target yielded a connection without Docker")
    message = str(raised.value)
    assert message.startswith("Docker is not reachable (")
    assert message.endswith(
        "start the Docker engine (on Debian: tools/container/engine.sh) or point DOCKER_HOST at one."
    )
    assert "\n" not in message


def test_missing_testcontainers_says_which_extra_to_install(monkeypatch):
    import conformance.targets
    import conformance.targets.docker

    monkeypatch.setitem(sys.modules, "conformance.targets.docker.engine", None)  # makes the import fail
    monkeypatch.delattr(conformance.targets.docker, "engine", raising=False)
    # imported afresh below, as where testcontainers is missing
    for package, name in (("conformance.targets", "container"), ("conformance.targets.docker", "postgres_topology")):
        monkeypatch.delitem(sys.modules, f"{package}.{name}", raising=False)
        monkeypatch.delattr(sys.modules[package], name, raising=False)
    without_docker = importlib.import_module("conformance.targets.container")
    with (
        pytest.raises(
            TargetError, match=r"needs testcontainers: `pip install 'airflow-dag-result-conformance\[container\]'`"
        ),
        without_docker.ContainerTarget(read({})).start(),
    ):
        pass


def test_airflow_settings_match_the_local_target():
    env = airflow_environment("api-server", "postgresql+psycopg2://airflow@postgres:5432/airflow")
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__PARALLELISM"] == "8"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api-server:8080/execution/"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in airflow_environment("localhost")


def test_the_sqlite_standalone_gets_the_local_targets_lock_patience():
    """The module the connect arguments name is the one copied to the folder PYTHONPATH names."""
    env = standalone_environment()
    assert (
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"]
        == sqlite_env()["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"]
    )
    module, _, attribute = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"].rpartition(".")
    assert (AIRFLOW_SITE / f"{module}.py").is_file() and attribute == "CONNECT_ARGS"
    assert env["PYTHONPATH"] == SITE_FOLDER and posixpath.basename(SITE_FOLDER) == AIRFLOW_SITE.name
    assert (
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
        == airflow_environment("localhost")["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
    )


def test_docker_errors_read_as_one_short_line():
    pytest.importorskip("testcontainers")
    from docker.errors import APIError

    from conformance.targets.docker.engine import one_line

    error = APIError(
        "500 Server Error for http+docker://localhost/v1.41/images/create",
        explanation="lookup registry-1.docker.io: no such host",
    )
    assert one_line(error) == "lookup registry-1.docker.io: no such host"
    assert one_line(ValueError("a\n  b")) == "a b"
    assert one_line(ValueError("x" * 500)) == "x" * 197 + "..."


def test_standalone_log_tails_are_per_component():
    pytest.importorskip("testcontainers")
    from conformance.targets.docker.engine import tails_by_component

    log = "".join(f"dag-processor | parsed {n}\n" for n in range(100))
    log = "scheduler | sqlite3.OperationalError: database is locked\n" + log + "plain line\n"
    tails = tails_by_component(log, lines=3)
    assert "    scheduler | sqlite3.OperationalError: database is locked" in tails.splitlines()
    assert tails.count("dag-processor |") == 3
    assert "    plain line" in tails.splitlines()


def test_nginx_balances_both_replicas_and_serves_wait_unbuffered():
    pytest.importorskip("testcontainers")
    from conformance.targets.docker.celery_topology import NGINX_CONF, REPLICAS, SINGLE_PORT

    assert "upstream airflow { server api-server-1:8080; server api-server-2:8080; }" in NGINX_CONF
    assert REPLICAS == ("api-server-1", "api-server-2") and f"listen {SINGLE_PORT};" in NGINX_CONF
    assert NGINX_CONF.count("proxy_connect_timeout 2s;") == 2  # a dead replica is given up on, not waited for
    wait_blocks = NGINX_CONF.split("location ~ ")[1:]
    assert len(wait_blocks) == 2 and all(
        "proxy_buffering off;" in block and "proxy_read_timeout 600s;" in block for block in wait_blocks
    )


def test_what_each_replica_served_is_read_from_nginx_log_lines():
    pytest.importorskip("testcontainers")
    from conformance.targets.docker.celery_topology import WAIT_PATH, count_upstreams

    lines = [
        '172.26.0.1 "GET /api/v2/dags/a/dagRuns/r1/wait?interval=1 HTTP/1.1" 200 upstream=172.26.0.9:8080 time=3.101',
        '172.26.0.1 "GET /api/v2/dags/a/dagRuns/r1 HTTP/1.1" 200 upstream=172.26.0.9:8080 time=0.012',
        '172.26.0.1 "GET /api/v2/dags/a/dagRuns/r2/wait HTTP/1.1" 422 upstream=172.26.0.10:8080 time=0.020',
        # retried on the other replica after a refused connection: the last address answered
        '172.26.0.1 "GET /api/v2/dags/a/dagRuns/r2/wait?interval=1 HTTP/1.1" 200 upstream=172.26.0.10:8080, 172.26.0.9:8080 time=3.000',
        "2026/12/02 01:30:00 [error] 7#7: *9 connect() failed (111: Connection refused) while connecting to upstream",
    ]
    log = "\n".join(lines)
    assert count_upstreams(log) == {"172.26.0.9:8080": 2, "172.26.0.10:8080": 1}
    assert count_upstreams(log, r"/dagRuns/[^/]+$") == {"172.26.0.9:8080": 1}
    assert WAIT_PATH.startswith("^") and WAIT_PATH.endswith("$")
