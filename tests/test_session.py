"""Preparing a session stops with one clear sentence when fixture DAGs are missing on the server."""

import asyncio

import httpx
import pytest

from conformance.client import AirflowClient
from conformance.session import _wait_for_dags
from conformance.targets import TargetError

STACK = 'Traceback (most recent call last):\n  File "x.py"\nModuleNotFoundError: No module named \'pandas\'\n'


def fake_airflow(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/api/v2/dags":
        return httpx.Response(200, json={"dags": [{"dag_id": "result_decorator"}], "total_entries": 1})
    if request.url.path == "/api/v2/importErrors":
        return httpx.Response(200, json={"import_errors": [
            {"filename": "broken_result_order.py", "stack_trace": "TypeError: expected\n"},
            {"filename": "mapped_one.py", "stack_trace": STACK},
        ]})
    return httpx.Response(404, json={"detail": "Not Found"})


def test_missing_fixture_dags_are_named_with_their_import_errors():
    async def prepare():
        async with AirflowClient("http://airflow.test", "t", transport=httpx.MockTransport(fake_airflow)) as client:
            await _wait_for_dags(client, ["result_decorator", "mapped_one"], "http://airflow.test", timeout=0.2)

    with pytest.raises(TargetError) as error:
        asyncio.run(prepare())

    message = str(error.value)
    assert message.startswith("Fixture DAGs mapped_one are not on http://airflow.test after 0 s")
    assert "mapped_one.py: ModuleNotFoundError: No module named 'pandas'" in message
    assert "broken_result_order" not in message  # the deliberately broken file is expected
    assert "deploy the project's dags/" in message


def test_the_watchdog_ignores_failed_polls_and_reports_an_unhealthy_scheduler():
    from conformance.session import _watch_health

    healthy = {"metadatabase": {"status": "healthy"}, "scheduler": {"status": "healthy"}}
    answers = iter([
        httpx.ReadTimeout("slow"),
        healthy,
        {**healthy, "triggerer": {"status": "unhealthy"}},  # not needed for runs: ignored
        {**healthy, "scheduler": {"status": "unhealthy", "latest_scheduler_heartbeat": "t"}},
    ])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(200, json=answer)

    async def watch():
        async with AirflowClient("http://airflow.test", "t", transport=httpx.MockTransport(handler)) as client:
            return await _watch_health(client, every=0, patience=0.0)  # patience is time-based: not tested here

    sentence = asyncio.run(watch())
    assert sentence.startswith("Airflow reported its scheduler") and "unhealthy" in sentence
    assert next(answers, None) is None  # it stopped at the first definite answer
