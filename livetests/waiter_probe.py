"""Reading what ``probe_site/sitecustomize.py`` saw inside the api-server.

The probe appends one JSON line per waiter event (``open``, ``poll``, ``close``) to the file
named by ``CONFORMANCE_PROBE_LOG``; this module puts it on a server's ``PYTHONPATH`` and
groups the lines back into one :class:`Waiter` per /wait stream the server served.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest

SITE = Path(__file__).resolve().parent / "probe_site"


@attrs.frozen
class Waiter:
    """One /wait stream as the server handled it."""

    pid: int
    serial: int
    run_id: str
    interval: float
    opened: float  # epoch seconds
    polls: tuple[float, ...]  # epoch seconds of each database read of the run
    closed: float | None = None  # None while the stream is still being served
    how: str | None = None  # finished, cancelled, closed, or an exception name
    statements: int | None = None  # SQL statements the waiter executed in all
    checkouts: int | None = None  # database connections it took from the pool (each pinged first)
    connects: int | None = None  # new database connections opened for it


@contextmanager
def probed_environment(log: Path, **extra: str) -> Iterator[None]:
    """Environment for a server booted inside the block: the probe on, plus ``extra`` variables."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(SITE), os.environ.get("PYTHONPATH")])))
        patch.setenv("CONFORMANCE_PROBE_LOG", str(log))
        for name, value in extra.items():
            patch.setenv(name, value)
        yield


def waiters(log: Path, run_id: str | None = None) -> list[Waiter]:
    """Every waiter the log records (of one run, if given), in the order they opened."""
    records: dict[tuple[int, int], dict[str, Any]] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        event = json.loads(line)
        key = (event["pid"], event["waiter"])
        if event["event"] == "open":
            records[key] = {
                "pid": event["pid"],
                "serial": event["waiter"],
                "run_id": event["run_id"],
                "interval": event["interval"],
                "opened": event["t"],
                "polls": [],
            }
        elif key in records and event["event"] == "poll":
            records[key]["polls"].append(event["t"])
        elif key in records and event["event"] == "close":
            records[key].update(
                closed=event["t"],
                how=event["how"],
                **{cost: event[cost] for cost in ("statements", "checkouts", "connects")},
            )
    found = [Waiter(**{**record, "polls": tuple(record["polls"])}) for record in records.values()]
    return [waiter for waiter in found if run_id is None or waiter.run_id == run_id]


def one(found: list[Waiter], **match: Any) -> Waiter:
    """The single waiter whose fields equal ``match``."""
    hits = [waiter for waiter in found if all(getattr(waiter, name) == value for name, value in match.items())]
    assert len(hits) == 1, f"expected one waiter with {match}, the probe saw {len(hits)}: {hits}"
    return hits[0]


def by_interval(found: list[Waiter]) -> Mapping[float, Waiter]:
    return {waiter.interval: waiter for waiter in found}
