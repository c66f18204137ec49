"""Pacing: sqlite keeps a few runs in flight, other databases all; a bad setting is one sentence."""

from __future__ import annotations

import asyncio

import pytest

from conformance.live import pacing
from conformance.settings import read
from conformance.targets.base import TargetError


@pytest.mark.parametrize(
    ("database", "environ", "expected"),
    [
        ("sqlite", {}, pacing.SQLITE_RUNS_IN_FLIGHT),
        ("postgres", {}, None),
        ("unknown", {}, None),
        ("postgres", {pacing.VARIABLE: "3"}, 3),
        ("sqlite", {pacing.VARIABLE: "0"}, None),
        ("sqlite", {pacing.VARIABLE: " 12 "}, 12),
    ],
)
def test_limit_per_database_and_variable(database, environ, expected):
    assert pacing.runs_in_flight(database, read(environ).runs_in_flight) == expected


@pytest.mark.parametrize("raw", ["-1", "six", "2.5"])
def test_a_bad_value_is_a_target_error_naming_the_variable(raw):
    with pytest.raises(TargetError) as told:
        pacing.runs_in_flight("sqlite", read({pacing.VARIABLE: raw}).runs_in_flight)
    assert pacing.VARIABLE in str(told.value) and repr(raw) in str(told.value)
    assert str(told.value).endswith(".") and ". " not in str(told.value)  # one sentence


def run(coroutine):
    return asyncio.run(coroutine)


def test_waits_until_a_run_has_no_open_stream():
    async def scenario() -> list[str]:
        order: list[str] = []
        first = asyncio.Event()

        async def stream(name: str, until: asyncio.Event | None) -> None:
            if until is not None:
                await until.wait()
            order.append(f"{name} ended")

        runs = {
            "a": [asyncio.create_task(stream("a1", first)), asyncio.create_task(stream("a2", first))],
            "b": [asyncio.create_task(stream("b1", asyncio.Event()))],
        }
        waiting = asyncio.create_task(pacing.until_fewer_than(2, runs))
        await asyncio.sleep(0.05)
        order.append("still waiting" if not waiting.done() else "returned early")
        first.set()
        await asyncio.wait_for(waiting, 1.0)
        order.append("slot free")
        for tasks in runs.values():
            for task in tasks:
                task.cancel()
        return order

    assert run(scenario()) == ["still waiting", "a1 ended", "a2 ended", "slot free"]


def test_no_limit_and_a_free_slot_return_at_once():
    async def scenario() -> tuple[bool, bool]:
        never = asyncio.create_task(asyncio.Event().wait())
        runs = {"a": [never]}
        await asyncio.wait_for(pacing.until_fewer_than(None, runs), 0.5)
        await asyncio.wait_for(pacing.until_fewer_than(2, runs), 0.5)
        never.cancel()
        return True, True

    assert run(scenario()) == (True, True)


def test_an_ended_watchdog_ends_the_wait():
    async def scenario() -> bool:
        never = asyncio.create_task(asyncio.Event().wait())
        watchdog = asyncio.create_task(asyncio.sleep(0.05))
        await asyncio.wait_for(pacing.until_fewer_than(1, {"a": [never]}, also=(watchdog,)), 1.0)
        never.cancel()
        return watchdog.done()

    assert run(scenario()) is True
