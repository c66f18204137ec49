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
            await _wait_for_dags(client, ["result_decorator", "mapped_one"], "http://airflow.test", print, timeout=0.2)

    with pytest.raises(TargetError) as error:
        asyncio.run(prepare())

    message = str(error.value)
    assert message.startswith("Fixture DAGs mapped_one are not on http://airflow.test after 0 s")
    assert "mapped_one.py: ModuleNotFoundError: No module named 'pandas'" in message
    assert "broken_result_order" not in message  # the deliberately broken file is expected
    assert "deploy the project's dags/" in message
