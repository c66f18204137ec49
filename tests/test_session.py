"""Preparing a session stops with one clear sentence when fixture DAGs are missing on the server."""

import asyncio
import time

import httpx
import pytest

from conformance.catalog.cases import dag_ids_of, load_cases
from conformance.live.airflow_api import AirflowClient
from conformance.live.fixture_dags import feature_absence, ready_fixture_dags, wait_for_dags
from conformance.live.pacing import TIMED_CASES, timed_order
from conformance.targets import TargetError

STACK = "Traceback (most recent call last):\n  File \"x.py\"\nModuleNotFoundError: No module named 'pandas'\n"


def fake_airflow(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/api/v2/dags":
        return httpx.Response(200, json={"dags": [{"dag_id": "result_decorator"}], "total_entries": 1})
    if request.url.path == "/api/v2/importErrors":
        return httpx.Response(
            200,
            json={
                "import_errors": [
                    {"filename": "broken_result_order.py", "stack_trace": "TypeError: expected\n"},
                    {"filename": "mapped_one.py", "stack_trace": STACK},
                ]
            },
        )
    return httpx.Response(404, json={"detail": "Not Found"})


def test_missing_fixture_dags_are_named_with_their_import_errors():
    async def prepare():
        async with AirflowClient("http://airflow.test", "t", transport=httpx.MockTransport(fake_airflow)) as client:
            await ready_fixture_dags(client, ["result_decorator", "mapped_one"], "http://airflow.test", version="3.3.2")

    with pytest.raises(TargetError) as error:
        asyncio.run(prepare())

    message = str(error.value)
    assert message.startswith("Fixture DAGs mapped_one are not on http://airflow.test;")
    assert "mapped_one.py: ModuleNotFoundError: No module named 'pandas'" in message
    assert "broken_result_order" not in message  # the deliberately broken file is expected
    assert "deploy the project's dags/" in message


def test_waiting_ends_once_every_missing_dag_has_an_import_error():
    async def wait():
        async with AirflowClient("http://airflow.test", "t", transport=httpx.MockTransport(fake_airflow)) as client:
            return await wait_for_dags(client, ["result_decorator", "mapped_one"], "http://airflow.test", timeout=60)

    started = time.monotonic()
    present, errors = asyncio.run(wait())
    assert time.monotonic() - started < 5
    assert present == {"result_decorator"}
    assert errors["mapped_one.py"] == "ModuleNotFoundError: No module named 'pandas'"


NO_RESULT = "ImportError: cannot import name 'result' from 'airflow.sdk' (/venv/airflow/sdk/__init__.py)"


def airflow_3_2(request: httpx.Request) -> httpx.Response:
    """What Airflow 3.2.2 answers: DAGs importing airflow.sdk.result do not load."""
    if request.url.path == "/api/v2/dags":
        return httpx.Response(200, json={"dags": [{"dag_id": "dag_return"}], "total_entries": 1})
    if request.url.path == "/api/v2/importErrors":
        return httpx.Response(
            200,
            json={
                "import_errors": [
                    {"filename": "broken_result_order.py", "stack_trace": f"Traceback\n{NO_RESULT}\n"},
                    {"filename": "result_decorator.py", "stack_trace": f"Traceback\n{NO_RESULT}\n"},
                ]
            },
        )
    if request.method == "PATCH" and request.url.path == "/api/v2/dags/dag_return":
        return httpx.Response(200, json={"dag_id": "dag_return", "is_paused": False})
    return httpx.Response(404, json={"detail": "Not Found"})


def test_an_airflow_without_the_feature_is_recognised_not_refused():
    async def ready(version):
        async with AirflowClient("http://airflow.test", "t", transport=httpx.MockTransport(airflow_3_2)) as client:
            return await ready_fixture_dags(
                client, ["result_decorator", "dag_return"], "http://airflow.test", version=version
            )

    dags = asyncio.run(ready("3.2.2"))
    assert (dags.present, dags.missing) == (["dag_return"], ["result_decorator"])
    assert dags.feature_absent == (
        "the feature was added in Airflow 3.3; airflow.sdk has no result decorator, so 1 fixture DAGs using @result do not load"
    )


def test_without_a_version_a_missing_feature_still_ends_the_run():
    """Benchmarks and load tests need every DAG; they pass no version."""

    async def ready():
        async with AirflowClient("http://airflow.test", "t", transport=httpx.MockTransport(airflow_3_2)) as client:
            return await ready_fixture_dags(client, ["result_decorator", "dag_return"], "http://airflow.test")

    with pytest.raises(TargetError, match="result_decorator.py: ImportError: cannot import name 'result'"):
        asyncio.run(ready())


@pytest.mark.parametrize(
    ("version", "missing", "errors", "reason"),
    [
        ("3.3.2", [], {}, None),
        ("3.3.0rc1", [], {}, None),
        ("3.4.0.dev0", [], {}, None),
        ("3.2.2", [], {}, "the feature was added in Airflow 3.3"),
        (
            "3.3.2",
            ["a"],
            {"a.py": NO_RESULT},
            "airflow.sdk has no result decorator, so 1 fixture DAGs using @result do not load",
        ),
        ("3.3.2", ["a", "b"], {"a.py": NO_RESULT, "b.py": "SyntaxError: invalid syntax"}, None),
        ("3.2.2", ["a"], {}, None),
    ],
    ids=[
        "present",
        "prerelease",
        "dev",
        "old-version",
        "no-result-import",
        "other-import-error",
        "missing-without-error",
    ],
)
def test_feature_absence(version, missing, errors, reason):
    assert feature_absence(version, missing, errors) == reason


def test_the_watchdog_ignores_failed_polls_and_reports_an_unhealthy_scheduler():
    from conformance.live.watchdog import watch_health

    healthy = {"metadatabase": {"status": "healthy"}, "scheduler": {"status": "healthy"}}
    answers = iter(
        [
            httpx.ReadTimeout("slow"),
            healthy,
            {**healthy, "triggerer": {"status": "unhealthy"}},  # not needed for runs: ignored
            {**healthy, "scheduler": {"status": "unhealthy", "latest_scheduler_heartbeat": "t"}},
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(200, json=answer)

    async def watch():
        async with AirflowClient("http://airflow.test", "t", transport=httpx.MockTransport(handler)) as client:
            return await watch_health(client, every=0, patience=0.0)  # patience is time-based: not tested here

    sentence = asyncio.run(watch())
    assert sentence.startswith("Airflow reported its scheduler") and "unhealthy" in sentence
    assert next(answers, None) is None  # it stopped at the first definite answer


def test_a_session_needing_no_case_triggers_nothing_and_says_so_when_a_test_reads_one(monkeypatch, tmp_path):
    """A selection whose tests read no stream (the import-error clauses) boots, and asks for no run."""
    from conformance.live import session
    from conformance.targets.base import Connection

    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.method} {request.url.path}")
        if request.url.path == "/api/v2/version":
            return httpx.Response(200, json={"version": "3.3.2"})
        if request.url.path == "/api/v2/dags":
            return httpx.Response(200, json={"dags": [], "total_entries": 0})
        return httpx.Response(500, json={"detail": "not expected"})

    monkeypatch.setattr(
        session, "AirflowClient", lambda url, token: AirflowClient(url, token, transport=httpx.MockTransport(handler))
    )
    info = session.prepare(Connection(target="fake", base_url="http://airflow.test", token="t"), [], tmp_path)
    assert info.run_ids == {} and info.feature_absent is None
    assert [line for line in sent if not line.startswith("GET")] == []  # nothing unpaused, nothing triggered
    with pytest.raises(
        LookupError, match="case dag-return was not streamed in this session; a test reading it must name"
    ):
        info.transcript("dag-return")
    with pytest.raises(LookupError, match="fixture DAG dag_return was not triggered in this session"):
        info.run_id("dag_return")


def test_the_timed_run_goes_right_after_the_first_paced_runs_or_last_unpaced():
    cases = load_cases()
    dag_ids = dag_ids_of(cases.values())
    timed = {cases[case_id].dag_id for case_id in TIMED_CASES}
    assert timed == {"slow_run"}, "the cadence and first-line cases share the session's longest run"

    paced = timed_order(dag_ids, list(cases.values()), limit=6)
    assert sorted(paced) == sorted(dag_ids)
    assert paced.index("slow_run") == 6, "after the first six: the executor's first task processes have started"
    assert [d for d in paced if d != "slow_run"] == [d for d in dag_ids if d != "slow_run"], (
        "the others keep their order"
    )

    unpaced = timed_order(dag_ids, list(cases.values()), limit=None)
    assert unpaced[-1] == "slow_run"
