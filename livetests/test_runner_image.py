"""The runner image (``tools/container/build.sh suite``) tests an Airflow it reaches only by network.

As a platform team would run it against a deployment: `airflow standalone` from the Airflow
image is booted by the container target's own code, on a private Docker network made for this
run, where it is ``http://airflow:8080``; the runner image runs on that network with nothing but
AIRFLOW_CONFORMANCE_* variables (URL, the admin's credentials, the database, the clauses to
run) and a host folder mounted at /reports. Its exit code must be the suite's, 0, with the
report in that folder, judging the selected clauses and no other; and no
container or network of the run may be left. Everything is labelled as the container target
labels its containers (``airflow-conformance=<run>``, and testcontainers' own labels, which
.ci/run's leftover check looks for).

Needs Docker and the images of tools/container/build.sh (``all`` and ``suite``):
``tox -e container-runner``. AIRFLOW_CONFORMANCE_RUNNER_IMAGE names another runner image.
"""

from __future__ import annotations

import fnmatch
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from requests.exceptions import RequestException
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

import conformance
from conformance.settings import read
from conformance.targets.container import ContainerTarget
from conformance.targets.docker import engine
from conformance.targets.docker.container_spec import API_PORT

RUNNER_IMAGE = (
    os.environ.get("AIRFLOW_CONFORMANCE_RUNNER_IMAGE") or f"airflow-conformance/suite:{conformance.__version__}"
)
AIRFLOW_VERSION = "3.3.2"  # of the Airflow image tox's container envs use
ALIAS = "airflow"
# The mapped-task clauses (five fixture DAGs, with mapped, failing and skipped tasks): what the
# image must show is that it reaches Airflow, runs the selected suite and writes its report;
# the whole suite runs in CI on the local target and through the Celery topology's nginx.
RUNNER_CLAUSES = "RESULT-MAPPED-*"
RUN_TIMEOUT = 900  # seconds for the whole suite in the runner: boot is done, one to three minutes is usual


@pytest.fixture
def run() -> Iterator[str]:
    """This test's run id (the value of every label it sets); nothing so labelled may outlive it."""
    run = secrets.token_hex(4)
    yield run
    assert left_by(run) == [], "the run left containers or networks behind"


def left_by(run: str) -> list[str]:
    client = engine.docker_client().client
    try:
        return engine.labelled_names(client, f"{engine.LABEL}={run}")
    finally:
        client.close()


@pytest.fixture(scope="module", autouse=True)
def images_are_built() -> None:
    client = engine.docker_client()
    try:
        engine.ensure_image(client, RUNNER_IMAGE, "build it with `tools/container/build.sh suite`")
        engine.ensure_image(
            client, ContainerTarget(read(os.environ)).settings.image, "build it with `tools/container/build.sh airflow`"
        )
    finally:
        client.client.close()


def run_runner(
    run: str, env: dict[str, str], reports: Path, network: Network | None = None, **kwargs: object
) -> tuple[int, str]:
    """The runner image's exit code and output, for one ``docker run`` of it; the container is removed."""
    container = (
        DockerContainer(RUNNER_IMAGE)
        .with_name(f"airflow-conformance-{run}-runner")
        .with_envs(**env)
        .with_volume_mapping(str(reports), "/reports", "rw")
        .with_kwargs(labels={engine.LABEL: run}, **kwargs)
    )
    if network is not None:
        container = container.with_network(network)
    with container:
        try:
            code = container.get_wrapped_container().wait(timeout=RUN_TIMEOUT)["StatusCode"]
        except RequestException:  # the engine's wait timed out
            pytest.fail(
                f"the runner did not finish within {RUN_TIMEOUT} s; its output ends:\n{engine.logs_of(container, 60)}"
            )
        return code, container.get_wrapped_container().logs().decode(errors="replace")


def test_the_runner_image_passes_against_airflow_on_a_private_network(run, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    reports.chmod(0o777)  # for the image's own user (uid 10001), whoever runs this test
    with (
        Network(docker_network_kw={"labels": {engine.LABEL: run}}) as network,
        ContainerTarget(read(os.environ)).standalone(run, network, ALIAS) as airflow,
    ):
        code, output = run_runner(
            run,
            {
                "AIRFLOW_CONFORMANCE_URL": f"http://{ALIAS}:{API_PORT}",
                "AIRFLOW_CONFORMANCE_USERNAME": "admin",
                "AIRFLOW_CONFORMANCE_PASSWORD": engine.read_password(airflow),
                "AIRFLOW_CONFORMANCE_DB": "sqlite",
                "AIRFLOW_CONFORMANCE_CLAUSE": RUNNER_CLAUSES,
            },
            reports,
            network,
        )
        airflow_said = engine.standalone_logs(airflow) if code != 0 else ""
    assert code == 0, f"{output[-6000:]}\n`airflow standalone`, by component:\n{airflow_said}"
    assert f"Airflow DAG Result conformance: Airflow {AIRFLOW_VERSION} (external, sqlite)" in output, output[-6000:]
    assert {"report.json", "report.html", "junit.xml"} <= {path.name for path in reports.iterdir()}
    report = json.loads((reports / "report.json").read_text())
    assert report["airflow"]["target"] == "external" and report["airflow"]["version"] == AIRFLOW_VERSION, report[
        "airflow"
    ]
    assert report["airflow"]["description"] == f"http://{ALIAS}:{API_PORT}"
    verdicts = {clause["id"]: clause["verdict"] for clause in report["clauses"]}
    failed = {clause: verdict for clause, verdict in verdicts.items() if verdict in ("fail", "unexpected-pass")}
    assert not failed, failed
    judged = {clause for clause, verdict in verdicts.items() if verdict != "not-selected"}
    assert judged and all(fnmatch.fnmatch(clause, RUNNER_CLAUSES) for clause in judged), judged
    assert report["summary"]["pass"] > 0, report["summary"]
    print(f"runner image {RUNNER_IMAGE}: {report['summary']}")


def test_a_reports_folder_it_cannot_write_to_ends_the_run_first(run, tmp_path):
    reports = tmp_path / "read-only"
    reports.mkdir()
    reports.chmod(0o555)
    code, output = run_runner(run, {"AIRFLOW_CONFORMANCE_URL": "http://nowhere.invalid:8080"}, reports)
    assert code == 4, output
    assert (
        "the reports folder /reports is not writable by uid 10001" in output and '--user "$(id -u):$(id -g)"' in output
    ), output


def test_the_image_runs_as_a_user_and_holds_no_airflow(run, tmp_path):
    code, output = run_runner(
        run, {}, tmp_path, entrypoint=["python", "-c", "import os; print(os.getuid()); import airflow"]
    )
    assert code == 1 and "10001" in output.splitlines(), output  # docker's log interleaves stdout and stderr freely
    assert "No module named 'airflow'" in output, output
