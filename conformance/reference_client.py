"""A reference consumer of ``GET /api/v2/dags/{dag_id}/dagRuns/{run_id}/wait``.

Meant to be read as a specification of how a robust client treats the stream, in any language.

What it accepts, because a server or a proxy may legitimately produce it and the meaning stays
unambiguous:

- blank or whitespace-only lines (skipped; keep-alive padding, or a trailing blank line);
- ``\\r\\n`` framing (a trailing ``\\r`` is stripped; proxies and some servers add it);
- a complete last line without its trailing newline (the stream's end delimits it).

What it rejects with :class:`StreamError`, because accepting it would mean guessing:

- a line that is not JSON, including a last line cut off mid-object (a dropped connection
  looks exactly like this), and JSON that parsers disagree on (``NaN``/``Infinity``,
  duplicate keys);
- a line that does not match ``schemas/wait-line.schema.json``: unknown states, extra keys,
  non-objects, and ``results`` on a ``queued``/``running`` line (results exist only once the
  run has finished; seeing them earlier means the client cannot tell which line is final);
- an error body (``{"detail": ...}``) inside a 200 stream: the server failed after it had
  already sent its status, so the run's outcome is unknown;
- any line after the terminal (``success``/``failed``) line: the terminal line must be the
  last word, or a client that stops reading at it would act on a different answer than one
  that reads on;
- a stream that ends before a terminal line: the run's outcome is unknown, however promising
  the last poll looked.

Lines are framed on ``\\n`` only. Generic line splitters (``str.splitlines``, some readers) also
break on ``\\r``, U+0085, U+2028 and U+2029, which JSON allows unescaped inside strings, so they
can cut a valid result value in two.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

import attrs
import httpx
from jsonschema.exceptions import best_match

from conformance import strict_json
from conformance.schemas import validator
from conformance.stream import TERMINAL_STATES, LineFramer

POLL_STATES = frozenset({"queued", "running"})


class StreamError(Exception):
    """The /wait call did not yield one well-formed, complete answer; the message says why."""


class WaitTimeout(StreamError, TimeoutError):
    """The run had not finished within the caller's deadline, or the server went silent."""


@attrs.frozen
class WaitResult:
    state: str  # "success" or "failed"
    results: dict[str, Any] | None  # None when the terminal line carried no results key
    lines: tuple[dict[str, Any], ...]  # every parsed line in order, the terminal one last


def _snippet(text: str, limit: int = 60) -> str:
    """The start of ``text`` for a message, with invisible characters (``\\r``, U+2028) escaped."""
    short = text if len(text) <= limit else text[:limit] + "…"
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in short)


def _json_problem(exc: json.JSONDecodeError, text: str, raw: str) -> str:
    """What is wrong with a line that does not parse; a cut-off last line gets its own words."""
    where = f"{exc.msg} column {exc.colno}" if exc.msg.endswith(" at") else f"{exc.msg} at column {exc.colno}"
    ends_early = exc.msg.startswith("Unterminated") or exc.pos >= len(text.rstrip())
    if ends_early and not raw.endswith("\n"):
        return f"the stream ended inside this line, leaving incomplete JSON ({where})"
    return f"not valid JSON ({where})"


class _Reader:
    """The line-by-line state machine behind :func:`parse_stream`: feed raw lines, then finish."""

    def __init__(self) -> None:
        self.number = 0  # 1-based number of the last raw line fed, blank lines included
        self.parsed: list[dict[str, Any]] = []
        self.terminal: dict[str, Any] | None = None

    @property
    def last_state(self) -> str | None:
        return self.parsed[-1]["state"] if self.parsed else None

    def feed(self, raw: str) -> None:
        self.number += 1
        n = self.number
        text = raw.removesuffix("\n").removesuffix("\r")
        if not text.strip():
            return
        if self.terminal is not None:
            raise StreamError(f"line {n}: a line after the terminal {self.terminal['state']!r} line ({_snippet(text)})")
        try:
            value = strict_json.loads(text)
        except json.JSONDecodeError as exc:
            raise StreamError(f"line {n}: {_json_problem(exc, text, raw)}: {_snippet(text)}") from None
        except ValueError as exc:  # from the hooks: NaN, Infinity, a duplicate key
            raise StreamError(f"line {n}: not valid JSON ({exc}): {_snippet(text)}") from None
        if not isinstance(value, dict):
            raise StreamError(f"line {n}: not a JSON object: {_snippet(text)}")
        if "detail" in value and "state" not in value:
            raise StreamError(f"line {n}: the server reported an error mid-stream: {_snippet(json.dumps(value['detail']), 200)}")
        if "state" not in value:
            raise StreamError(f"line {n}: no state: {_snippet(text)}")
        if value["state"] in POLL_STATES and "results" in value:
            raise StreamError(f"line {n}: results on a non-terminal line ({_snippet(text)})")
        error = best_match(validator("wait-line.schema.json").iter_errors(value))
        if error is not None:
            raise StreamError(f"line {n}: not a valid /wait line ({error.message}): {_snippet(text)}")
        self.parsed.append(value)
        if value["state"] in TERMINAL_STATES:
            self.terminal = value

    def finish(self) -> WaitResult:
        if self.terminal is None:
            if not self.parsed:
                raise StreamError("the stream was empty: it ended without a single non-blank line")
            raise StreamError(
                f"the stream ended while the run was still {self.last_state} (after line {self.number}), "
                "with no terminal line"
            )
        return WaitResult(self.terminal["state"], self.terminal.get("results"), tuple(self.parsed))


def parse_stream(lines: Iterable[str]) -> WaitResult:
    """Check a whole /wait body, one raw line at a time, and return its terminal line.

    ``lines`` are the body's lines as received, each with its terminator if it had one; it is
    consumed lazily, so it may be a generator reading the network. It is read to its end even
    after the terminal line, since anything there makes the stream invalid.
    """
    reader = _Reader()
    for raw in lines:
        reader.feed(raw)
    return reader.finish()


def _error_detail(response: httpx.Response) -> str:
    """The ``detail`` of an Airflow error body as one phrase, else the start of the body."""
    try:
        detail = response.json()["detail"]
    except (ValueError, KeyError, TypeError):
        return _snippet(response.text, 300) or "(empty body)"
    if isinstance(detail, list):  # 422: a list of request-validation errors
        return "; ".join(
            f"{'.'.join(map(str, item.get('loc', [])))}: {item.get('msg')}" if isinstance(item, dict) else str(item)
            for item in detail
        )
    return str(detail)


def _frame(chunks: Iterable[bytes], reader: _Reader) -> Iterator[str]:
    """Lines split on ``\\n`` only, terminators kept, each decoded as UTF-8 on its own."""
    framer = LineFramer()
    for chunk in chunks:
        for raw in framer.feed(chunk):
            yield _decode(raw, reader.number + 1)
    if rest := framer.rest():
        yield _decode(rest, reader.number + 1)


def _decode(raw: bytes, number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StreamError(f"line {number}: not valid UTF-8 ({_snippet(repr(raw))})") from None


def wait_for_result(
    base_url: str,
    dag_id: str,
    run_id: str,
    *,
    token: str | None = None,
    interval: float = 1.0,
    result: Sequence[str] | None = None,
    timeout: float = 300.0,
    client: httpx.Client | None = None,
) -> WaitResult:
    """Stream /wait for one DAG run until its terminal line, and return it.

    ``result`` selects the tasks whose values to collect: ``None`` leaves the choice to the
    DAG (its ``@result`` tasks), an empty sequence asks for none (sent as one empty
    ``result=``), otherwise one ``result`` parameter per task id.

    The server sends a line at least every ``interval`` seconds, so a read that waits
    ``interval + 30`` s without data means the server or the network is stuck; ``timeout``
    bounds the whole call (checked whenever data arrives, and no read waits longer than it).
    Raises :class:`StreamError` for an error status, a broken connection or an invalid
    stream, and :class:`WaitTimeout` (also a ``TimeoutError``) when time runs out.

    With ``client`` given, its base URL, headers and transport are used and ``base_url`` is
    only the fallback for a client that has none; otherwise a client is created and closed.
    """
    if isinstance(result, str):
        raise TypeError("result must be a sequence of task ids, not one string")
    params = [("interval", str(interval))]
    if result is not None:
        params += [("result", task_id) for task_id in result] or [("result", "")]
    path = f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}/wait"
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    read_timeout = min(interval + 30.0, timeout)
    http = client if client is not None else httpx.Client(base_url=base_url)
    url = path if http.base_url != httpx.URL("") else base_url.rstrip("/") + path
    reader = _Reader()
    deadline = time.monotonic() + timeout

    def within_deadline(chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            if time.monotonic() > deadline:
                state = f"still {reader.last_state}" if reader.last_state else "not reported yet"
                raise WaitTimeout(f"the run had not finished after {timeout:g} s (its state was {state})")
            yield chunk

    try:
        with http.stream(
            "GET", url, params=params, headers=headers, timeout=httpx.Timeout(min(30.0, timeout), read=read_timeout)
        ) as response:
            if response.status_code != 200:
                response.read()
                raise StreamError(
                    f"GET {path} answered {response.status_code} {response.reason_phrase}: {_error_detail(response)}"
                )
            for raw in _frame(within_deadline(response.iter_bytes()), reader):
                reader.feed(raw)
            return reader.finish()
    except httpx.TimeoutException as exc:
        where = f"after line {reader.number}" if reader.number else "before the first line"
        raise WaitTimeout(f"the server sent nothing for {read_timeout:g} s {where} ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        where = f"after line {reader.number}" if reader.number else "before the first line"
        raise StreamError(f"the connection failed {where}: {type(exc).__name__}: {exc}") from exc
    finally:
        if client is None:
            http.close()
