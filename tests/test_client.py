"""Control calls survive Airflow's occasional 5xx, count them, and give up after a bound."""

import asyncio
import json

import httpx
import pytest

from conformance.live import airflow_api as client_module
from conformance.live.airflow_api import AirflowAPIError, AirflowClient


def run_with(statuses, call):
    """Answer calls with ``statuses`` in turn; return what ``call`` returned and the client."""
    answers = iter(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        return httpx.Response(status, json={"version": "3.3.2"} if status == 200 else {"detail": "x"})

    async def main():
        async with AirflowClient("http://airflow.test", "t", transport=httpx.MockTransport(handler)) as client:
            return await call(client), client

    return asyncio.run(main())


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    async def instant(seconds):
        return None

    monkeypatch.setattr(client_module.asyncio, "sleep", instant)


def test_a_5xx_is_retried_and_noted():
    version, client = run_with([500, 503, 200], lambda c: c.version())
    assert version == "3.3.2"
    assert client.server_errors == [
        "GET /api/v2/version answered 500 (attempt 1)",
        "GET /api/v2/version answered 503 (attempt 2)",
    ]


def test_a_conflict_after_a_failed_trigger_means_the_run_exists():
    _, client = run_with([500, 409], lambda c: c.trigger("d", "r"))
    assert client.server_errors == ["POST /api/v2/dags/d/dagRuns answered 500 (attempt 1)"]


def test_a_conflict_on_the_first_trigger_is_an_error():
    with pytest.raises(AirflowAPIError, match="answered 409"):
        run_with([409], lambda c: c.trigger("d", "r"))


def test_retries_are_bounded():
    with pytest.raises(AirflowAPIError, match="answered 500"):
        run_with([500] * client_module.ATTEMPTS, lambda c: c.unpause("d"))


def test_a_timeout_is_retried_then_becomes_a_sentence():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async def main():
        async with AirflowClient("http://airflow.test", "t", transport=httpx.MockTransport(handler)) as client:
            try:
                await client.dag_run("d", "r")
            finally:
                errors.extend(client.server_errors)

    errors: list[str] = []
    with pytest.raises(AirflowAPIError, match=f"failed {client_module.ATTEMPTS} times, last with ReadTimeout"):
        asyncio.run(main())
    assert len(errors) == client_module.ATTEMPTS


def test_a_trigger_sends_conf_only_when_given():
    bodies = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={})

    async def main():
        async with AirflowClient("http://airflow.test", "t", transport=httpx.MockTransport(handler)) as client:
            await client.trigger("d", "r1")
            await client.trigger("d", "r2", {"seconds": 5})

    asyncio.run(main())
    assert bodies == [
        {"dag_run_id": "r1", "logical_date": None},
        {"dag_run_id": "r2", "logical_date": None, "conf": {"seconds": 5}},
    ]


def test_the_first_retry_comes_soon_and_the_retries_span_about_a_minute():
    waits = [client_module.backoff(attempt) for attempt in range(1, client_module.ATTEMPTS)]
    assert waits[0] <= 0.5, "a trigger loop on sqlite waits this long after each 500"
    assert waits == sorted(waits), "the waits only grow"
    assert 50 <= sum(waits) <= 70, f"the lock has been seen held ~26 s; the attempts span {sum(waits)} s"
