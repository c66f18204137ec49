"""--keep-server: what a kept server's description says, and which targets agree to keep one."""

from __future__ import annotations

import stat
import subprocess

import pytest

from conformance.settings import read
from conformance.targets import TargetError, make_target
from conformance.targets.kept import KeptServer, StopPlan, write_token

KEEP_VARIABLE = "AIRFLOW_CONFORMANCE_KEEP_SERVER"


def test_the_stop_line_ends_the_parts_started_last_first_then_removes_the_folders():
    plan = StopPlan()
    plan.kill_group(100)  # e.g. the target's PostgreSQL, started before the components
    plan.kill_group(200)
    plan.remove("/tmp/pg data")
    plan.remove("/tmp/home")
    assert plan.line() == "kill -KILL -- -200; kill -KILL -- -100; rm -rf '/tmp/pg data' /tmp/home"
    docker = StopPlan()
    docker.remove_containers(["airflow-conformance-ab-api-server", "airflow-conformance-ab-postgres"])
    docker.remove_network("airflow-conformance-ab")
    docker.remove("/tmp/kept")
    assert docker.line() == (
        "docker rm -f airflow-conformance-ab-api-server airflow-conformance-ab-postgres; "
        "docker network rm airflow-conformance-ab; rm -rf /tmp/kept"
    )


def test_a_token_file_is_its_owners_alone_and_the_shell_line_reads_it_without_printing_it(tmp_path):
    path = write_token(tmp_path / "tokens", "admin", "secret-token-1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    kept = KeptServer(
        target="local", url="http://127.0.0.1:1", folder=str(tmp_path), token_files={"admin": str(path)}, stop="true"
    )
    lines = kept.lines()
    assert not any("secret-token-1" in line for line in lines)
    export = next(line.strip() for line in lines if line.strip().startswith("export AIRFLOW_TOKEN="))
    shown = subprocess.run(
        ["bash", "-c", f'{export}; printf %s "$AIRFLOW_TOKEN"'], capture_output=True, text=True, check=True
    )
    assert shown.stdout == "secret-token-1"
    assert lines[0] == "kept server (local, --keep-server): http://127.0.0.1:1" and lines[-1] == "  stop it: true"


def test_each_users_token_file_gets_its_own_export_line(tmp_path):
    files = {user: str(write_token(tmp_path, user, f"{user}-secret")) for user in ("admin", "restricted", "no-runs")}
    kept = KeptServer(target="local", url="http://127.0.0.1:1", folder=str(tmp_path), token_files=files, stop="true")
    exports = [line.strip() for line in kept.lines() if line.strip().startswith("export ")]
    assert [line.split("=", 1)[0] for line in exports] == [
        "export AIRFLOW_TOKEN",
        "export AIRFLOW_RESTRICTED_TOKEN",
        "export AIRFLOW_NO_RUNS_TOKEN",
    ]
    shown = subprocess.run(
        ["bash", "-c", f'{exports[2]}; printf %s "$AIRFLOW_NO_RUNS_TOKEN"'], capture_output=True, text=True, check=True
    )
    assert shown.stdout == "no-runs-secret"


def test_only_the_variable_set_to_1_asks_to_keep():
    assert (
        read({KEEP_VARIABLE: "1"}).keep_server
        and not read({KEEP_VARIABLE: "0"}).keep_server
        and not read({}).keep_server
    )
    assert make_target("local", read({KEEP_VARIABLE: "1"})).keep_server is True
    assert make_target("local", read({})).keep_server is False


def test_the_container_target_will_not_keep_what_testcontainers_reaper_would_remove(monkeypatch):
    from conformance.targets import container

    if container.engine is None:
        pytest.skip("needs the container extra (testcontainers)")
    monkeypatch.setattr(container.engine, "reaper_enabled", lambda: True)
    with (
        pytest.raises(TargetError, match="needs TESTCONTAINERS_RYUK_DISABLED=true"),
        make_target("container", read({KEEP_VARIABLE: "1"})).start(),
    ):
        pass
