"""Targets are chosen by name or environment and fail with one actionable sentence."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from conformance.settings import read
from conformance.targets import TargetError, external, make_target
from conformance.targets.base import log_tail
from conformance.targets.external import ExternalTarget
from conformance.targets.health import all_healthy
from conformance.targets.local import LocalTarget, find_airflow
from conformance.targets.postgres import pg_binary
from conformance.targets.processes import ProcessGroup, processes_working_in, read_log, stop_strays


def start(target) -> None:
    with contextlib.ExitStack() as stack:
        stack.enter_context(target.start())


def test_unknown_target_lists_the_choices():
    with pytest.raises(TargetError, match=r"'kubernetes'; choose one of: container, external, local\."):
        make_target("kubernetes", read({}))


def test_environment_picks_the_target(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONFORMANCE_TARGET", "external")
    assert isinstance(make_target(None, read()), ExternalTarget)
    assert isinstance(make_target("local", read()), LocalTarget)
    assert isinstance(make_target(None, read({})), LocalTarget)


def test_external_target_needs_a_url():
    with pytest.raises(TargetError, match="AIRFLOW_CONFORMANCE_URL"):
        start(ExternalTarget(read({})))


def test_external_target_reports_an_unreachable_server(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(TargetError, match=f"Cannot reach Airflow at {url} "):
        start(ExternalTarget(read({"AIRFLOW_CONFORMANCE_URL": url + "/", "AIRFLOW_CONFORMANCE_TOKEN": "t"})))


def test_missing_airflow_says_how_to_install_it(tmp_path, monkeypatch):
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "empty").mkdir()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(TargetError, match="pip install apache-airflow"):
        find_airflow()
    with pytest.raises(TargetError, match="pip install apache-airflow"):
        start(LocalTarget(read({})))


def test_airflow_beside_the_interpreter_is_found(tmp_path, monkeypatch):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "airflow").touch()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", "")
    assert find_airflow() == tmp_path / "bin" / "airflow"


HEALTHY = {"status": "healthy"}


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        (
            {"metadatabase": HEALTHY, "scheduler": {**HEALTHY, "latest_scheduler_heartbeat": "2025-01-01T00:00:00Z"}},
            True,
        ),
        ({"metadatabase": HEALTHY, "triggerer": {"status": "unhealthy"}}, False),
        ({"metadatabase": HEALTHY, "dag_processor": {"status": None}}, False),
        ({}, False),
    ],
    ids=["all-healthy", "one-unhealthy", "one-unknown", "empty"],
)
def test_all_healthy(health, expected):
    assert all_healthy(health) is expected


def test_log_tail_keeps_the_last_lines_indented():
    log = "".join(f"line {n}\n" for n in range(1, 101)) + "\n\n"
    assert log_tail(log, lines=3) == "    line 98\n    line 99\n    line 100"
    assert log_tail(log).count("\n") == 39
    assert log_tail("") == "    (the log is empty)"


def test_missing_postgresql_is_one_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(
        TargetError, match=r"PostgreSQL is not installed \(no `initdb`\); install Debian's postgresql package"
    ):
        pg_binary("initdb", debian_root=tmp_path)


def test_unknown_database_is_refused():
    with pytest.raises(TargetError, match="Unknown database 'oracle'.*sqlite, postgres"):
        make_target("local", read({"AIRFLOW_CONFORMANCE_DB": "oracle"}))


def test_a_process_working_in_a_folder_is_found_and_stopped(tmp_path):
    """Task processes leave the server's process group; the sweep by working folder finds them."""
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], cwd=tmp_path, start_new_session=True
    )
    try:
        assert sleeper.pid in processes_working_in(tmp_path)
        stop_strays(tmp_path)
        assert sleeper.wait(timeout=10) == -signal.SIGKILL
        assert processes_working_in(tmp_path) == {}
    finally:
        sleeper.kill()


def test_a_missing_server_log_is_told_not_raised(tmp_path):
    assert "could not be read" in read_log(tmp_path / "gone" / "standalone.log")


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan"])
def test_a_bad_boot_timeout_is_one_sentence(value):
    with pytest.raises(
        TargetError, match=rf"AIRFLOW_CONFORMANCE_BOOT_TIMEOUT must be a positive number of seconds, not '{value}'\."
    ):
        LocalTarget(read({"AIRFLOW_CONFORMANCE_BOOT_TIMEOUT": value}))


def sleeper(seconds: float, say: str = "") -> list[str]:
    return [sys.executable, "-c", f"import time; print({say!r}, flush=True); time.sleep({seconds})"]


def test_a_component_that_exits_is_named_with_its_log(tmp_path):
    group = ProcessGroup(tmp_path, {})
    try:
        group.start("leader", sleeper(60))
        group.start("scheduler", [sys.executable, "-c", "print('database is locked'); raise SystemExit(3)"])
        group.processes["scheduler"].wait(timeout=30)
        with pytest.raises(TargetError, match=r"(?s)Airflow's scheduler exited with code 3 .*database is locked"):
            group.check_running()
    finally:
        group.stop(grace=5)


def test_a_one_shot_step_past_the_deadline_says_the_boot_sentence(tmp_path):
    """The orphan livetest's boot failure: with a cold boot cache, the deadline can fall while the
    users are made, and it must read like every other boot timeout."""
    group = ProcessGroup(tmp_path, {})
    with pytest.raises(TargetError, match=r"(?s)^not healthy after 1 s; its log ends:.*making users"):
        group.run_to_end("users", sleeper(60, say="making users"), time.monotonic() + 0.5, late="not healthy after 1 s")


def test_a_member_started_nicer_runs_at_that_lower_priority(tmp_path):
    """The dag-processor's niceness (local.NICENESS), inherited by what it starts."""
    group = ProcessGroup(tmp_path, {})
    try:
        group.start("leader", sleeper(60))
        nicer = group.start("dag-processor", [sys.executable, "-c", "import os; print(os.nice(0))"], niceness=10)
        nicer.wait(timeout=30)
        assert int(read_log(group.log("dag-processor"))) == os.nice(0) + 10
    finally:
        group.stop(grace=5)


def test_stopping_the_group_ends_and_reaps_every_member_at_once(tmp_path):
    """Members that already exited are reaped as the group stops, so it does not wait out its grace."""
    group = ProcessGroup(tmp_path, {})
    group.start("leader", sleeper(60))
    group.start("ended", [sys.executable, "-c", "pass"])
    group.start("worker", sleeper(60))
    group.processes["ended"].wait(timeout=30)
    began = time.monotonic()
    group.stop(grace=20)
    assert time.monotonic() - began < 10
    assert all(process.returncode is not None for process in group.processes.values())
    with pytest.raises(ProcessLookupError):
        os.killpg(group.leader.pid, 0)


def test_a_one_shot_command_that_fails_quotes_its_log(tmp_path):
    group = ProcessGroup(tmp_path, {})
    with pytest.raises(TargetError, match=r"(?s)`-c .*` failed with exit code 2; its log ends:.*no such table"):
        group.run_to_end(
            "db-migrate", [sys.executable, "-c", "print('no such table'); raise SystemExit(2)"], time.monotonic() + 30
        )


@pytest.mark.parametrize("user", ["RESTRICTED", "NO_RUNS"])
def test_half_an_optional_users_credentials_are_a_mistake_not_a_skip(user):
    target = ExternalTarget(read({f"AIRFLOW_CONFORMANCE_{user}_USERNAME": "viewer"}))
    with pytest.raises(
        TargetError,
        match=(
            rf"needs AIRFLOW_CONFORMANCE_{user}_TOKEN, or AIRFLOW_CONFORMANCE_{user}_USERNAME and AIRFLOW_CONFORMANCE_{user}_PASSWORD\."
        ),
    ):
        target._optional_token("http://127.0.0.1:1", user)
    assert ExternalTarget(read({}))._optional_token("http://127.0.0.1:1", user) is None
    assert (
        ExternalTarget(read({f"AIRFLOW_CONFORMANCE_{user}_TOKEN": "t"}))._optional_token("http://127.0.0.1:1", user)
        == "t"
    )


def test_the_external_target_hands_on_each_optional_users_token_from_its_own_variables(monkeypatch):
    """The no-XCom user by token, the no-runs user by credentials exchanged at /auth/token, each
    into its own field of the connection; with neither set, both are None (their clauses untested)."""
    monkeypatch.setattr(
        external.httpx, "get", lambda url, **kwargs: httpx.Response(200, request=httpx.Request("GET", url))
    )
    monkeypatch.setattr(external, "fetch_token", lambda url, username, password: f"token of {username} ({password})")
    environ = {"AIRFLOW_CONFORMANCE_URL": "http://airflow.invalid", "AIRFLOW_CONFORMANCE_TOKEN": "admin-token"}
    with ExternalTarget(
        read(
            {
                **environ,
                "AIRFLOW_CONFORMANCE_RESTRICTED_TOKEN": "no-xcom-token",
                "AIRFLOW_CONFORMANCE_NO_RUNS_USERNAME": "dags-only",
                "AIRFLOW_CONFORMANCE_NO_RUNS_PASSWORD": "pw",
            }
        )
    ).start() as connection:
        assert (connection.token, connection.restricted_token, connection.no_runs_token) == (
            "admin-token",
            "no-xcom-token",
            "token of dags-only (pw)",
        )
    with ExternalTarget(read(environ)).start() as connection:
        assert (connection.restricted_token, connection.no_runs_token) == (None, None)
