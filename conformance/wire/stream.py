"""Recording a /wait response exactly as it arrived.

A :class:`Transcript` keeps the request, the status and headers, and every line of the body
with its raw text (newline included) and its arrival time relative to the request. Tests then
assert on values, framing and cadence from the same record.

Lines are framed here on ``\\n`` from ``aiter_bytes`` rather than with ``aiter_lines``: httpx's
line iterator drops the terminator and also splits on ``\\r``, and the framing is part of what
the suite checks. Bytes are already decompressed (the server gzips when asked).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import httpx

from conformance.catalog.cases import Case
from conformance.wire.ndjson import LineFramer

SEND_TIMEOUT = 30.0  # seconds to get a pooled connection, connect and send the request
STREAM_DEADLINE = 240.0  # seconds a case's whole stream may take


@attrs.frozen
class Line:
    raw: str
    at: float  # seconds from sending the request to this line's last byte arriving

    @property
    def terminated(self) -> bool:
        return self.raw.endswith("\n")

    def value(self) -> Any:
        return json.loads(self.raw)


def epoch(timestamp: str) -> float:
    """An Airflow API timestamp (ISO 8601, ``Z`` or an offset) as epoch seconds."""
    return datetime.fromisoformat(timestamp).timestamp()


@attrs.frozen
class Transcript:
    case_id: str
    path: str
    query: tuple[tuple[str, str], ...] = attrs.field(converter=lambda pairs: tuple(map(tuple, pairs)))
    request_headers: Mapping[str, str]
    sent_at: float  # wall-clock time (epoch seconds) the request was sent
    status: int | None = None
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=lambda pairs: tuple(map(tuple, pairs)))
    lines: tuple[Line, ...] = attrs.field(
        default=(), converter=lambda lines: tuple(l if isinstance(l, Line) else Line(**l) for l in lines)
    )
    error: str | None = None  # why recording stopped early (timeout, connection lost)
    run: Mapping[str, Any] | None = None  # the DAG run as GET dagRuns/{id} reported it afterwards

    def terminal_lateness(self) -> float:
        """Seconds from the run's ``end_date`` (server clock) to the last line's arrival (ours)."""
        if not self.lines or not self.run or not self.run.get("end_date"):
            raise ValueError(f"{self.case_id}: no lines or no finished run to measure against")
        return self.sent_at + self.lines[-1].at - epoch(self.run["end_date"])

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def values(self) -> list[Any]:
        return [line.value() for line in self.lines]

    @property
    def body(self) -> str:
        return "".join(line.raw for line in self.lines)

    def save(self, directory: Path) -> Path:
        path = directory / f"{self.case_id}.json"
        path.write_text(json.dumps(attrs.asdict(self), indent=1))
        return path

    @classmethod
    def load(cls, path: Path) -> Transcript:
        return cls(**json.loads(path.read_text()))


async def record_wait(
    client: httpx.AsyncClient,
    case_id: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str] | None = None,
    *,
    read_timeout: float,
    deadline: float,
) -> Transcript:
    """Stream one /wait response to its end, or until ``deadline`` seconds have passed.

    ``read_timeout`` bounds the silence between two chunks; a healthy stream is never silent
    for much longer than its interval.
    """
    sent_at, start = time.time(), time.monotonic()
    status, response_headers, lines, error = None, [], [], None
    try:
        async with asyncio.timeout(deadline):
            async with client.stream(
                "GET",
                path,
                params=list(query),
                headers=dict(headers or {}),
                timeout=httpx.Timeout(SEND_TIMEOUT, read=read_timeout),
            ) as response:
                status, response_headers = response.status_code, list(response.headers.items())
                framer = LineFramer()
                async for chunk in response.aiter_bytes():
                    for raw in framer.feed(chunk):
                        lines.append(Line(raw.decode(), time.monotonic() - start))
                if rest := framer.rest():
                    lines.append(Line(rest.decode(), time.monotonic() - start))
    except TimeoutError:
        error = f"the stream had not ended after {deadline:g} s"
    except httpx.ReadTimeout:
        error = f"no data for {read_timeout:g} s (read timeout)"
    except httpx.TimeoutException as exc:  # pool, connect or write: the server may never have seen it
        error = f"{type(exc).__name__}: the request was not sent within {SEND_TIMEOUT:g} s"
    except UnicodeDecodeError as exc:
        error = f"line {len(lines) + 1} is not UTF-8: {exc}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    return Transcript(
        case_id=case_id,
        path=path,
        query=query,
        request_headers=dict(headers or {}),
        sent_at=sent_at,
        status=status,
        headers=response_headers,
        lines=lines,
        error=error,
    )


async def record_case(http: httpx.AsyncClient, case: Case, run_id: str) -> Transcript:
    """The /wait stream of one case on the run ``run_id`` of its DAG, as the case asks for it."""
    interval = case.interval or 1.0
    return await record_wait(
        http,
        case.id,
        f"/api/v2/dags/{case.dag_id}/dagRuns/{run_id}/wait",
        case.query,
        case.headers,
        read_timeout=min(interval, 60.0) + 30.0,
        deadline=STREAM_DEADLINE,
    )
