"""A reference consumer of ``GET /api/v2/dags/{dag_id}/dagRuns/{run_id}/wait``.

The rules it follows are CLIENTS.md at the repository root: language-neutral, numbered
(``CLIENT-FRAMING-1`` ...), each with the fixture cases that exercise it. The checks below name
the rule they apply; npm/src/ holds the same client in TypeScript.

In short, it accepts what a server or a proxy may legitimately produce while the meaning stays
unambiguous (blank lines of spaces, tabs and carriage returns; ``\\r\\n`` framing; a complete
last line without its newline; keys it does not know, on a line or in an error body, which it
ignores), and rejects with :class:`StreamError` whatever would make it guess: a line that is not
strict JSON or not a valid /wait line (a key that is ``state`` or ``results`` in another case
included), ``results`` on a poll line, an error body inside a 200 stream, any line after the
terminal line, a stream that ends before one, a byte order mark or bytes that are not UTF-8, a
connection that breaks before the response has ended (even right after a terminal line), and an
error status.

As a command, ``python -m conformance.reference_client URL`` waits on one whole /wait URL and
prints its terminal line, or ``{"error": ...}`` with exit code 1: the contract of
``python -m conformance clients``, which runs it on every replayed case (:func:`main`).

Lines are framed on ``\\n`` only. Generic line splitters (``str.splitlines``, some readers) also
break on ``\\r``, U+0085, U+2028 and U+2029, which JSON allows unescaped inside strings, so they
can cut a valid result value in two.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import attrs
import httpx
from jsonschema.exceptions import best_match

from conformance import settings
from conformance.arguments import Parser
from conformance.schemas import validator
from conformance.wire import strict_json
from conformance.wire.ndjson import KNOWN_KEYS, LineFramer, is_terminal

POLL_STATES = frozenset({"queued", "running"})
# state or results in another case, the s also as U+017F (long s), which case folding makes s:
# keys a decoder that matches them without regard to case (Go's encoding/json) reads as the known ones
KNOWN_KEY_IN_OTHER_CASE = re.compile("[Ss\u017f][Tt][Aa][Tt][Ee]|[Rr][Ee][Ss\u017f][Uu][Ll][Tt][Ss\u017f]")
JSON_WHITESPACE = " \t\r"  # what may fill a blank line: JSON's whitespace, the newline being the frame


class StreamError(Exception):
    """The /wait call did not yield one well-formed, complete answer; the message says why."""


class WaitTimeout(StreamError, TimeoutError):
    """The run had not finished within the caller's deadline, or the server went silent."""


@attrs.frozen
class WaitResult:
    state: str  # "success" or "failed"
    results: dict[str, Any] | None  # None when the terminal line carried no results key
    lines: tuple[dict[str, Any], ...]  # every parsed line in order, the terminal one last; known keys only


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
        text = raw.removesuffix("\n").removesuffix("\r")  # CLIENT-FRAMING-2
        if not text.strip(JSON_WHITESPACE):  # CLIENT-BLANK-1; not str.strip(), which knows more spaces
            return
        if text.startswith("\ufeff"):  # a BOM: JSON sent over a network must not start with one (RFC 8259, 8.1)
            raise StreamError(
                f"line {n}: starts with a byte order mark (U+FEFF), which no /wait line may: {_snippet(text)}"
            )
        if self.terminal is not None:  # CLIENT-TERMINAL-1
            raise StreamError(f"line {n}: a line after the terminal {self.terminal['state']!r} line ({_snippet(text)})")
        try:
            value = strict_json.loads(text)
        except json.JSONDecodeError as exc:
            raise StreamError(f"line {n}: {_json_problem(exc, text, raw)}: {_snippet(text)}") from None
        except ValueError as exc:  # from the hooks: NaN, Infinity, a duplicate key
            raise StreamError(f"line {n}: not valid JSON ({exc}): {_snippet(text)}") from None
        if not isinstance(value, dict):
            raise StreamError(f"line {n}: not a JSON object: {_snippet(text)}")
        if "detail" in value and "state" not in value:  # CLIENT-ERROR-1
            raise StreamError(
                f"line {n}: the server reported an error mid-stream: {_snippet(json.dumps(value['detail']), 200)}"
            )
        if collided := [key for key in value if key not in KNOWN_KEYS and KNOWN_KEY_IN_OTHER_CASE.fullmatch(key)]:
            # CLIENT-LINE-3: unknown keys are ignored, except one that is a known key in another case
            raise StreamError(
                f"line {n}: key {json.dumps(collided[0])} is {json.dumps(collided[0].casefold())} in another case, "
                f"which a reader that ignores case takes for it: {_snippet(text)}"
            )
        if "state" not in value:
            raise StreamError(f"line {n}: no state: {_snippet(text)}")
        if value["state"] in POLL_STATES and "results" in value:  # CLIENT-LINE-2
            raise StreamError(f"line {n}: results on a non-terminal line ({_snippet(text)})")
        error = best_match(validator("wait-line.schema.json").iter_errors(value))  # CLIENT-LINE-1
        if error is not None:
            raise StreamError(f"line {n}: not a valid /wait line ({error.message}): {_snippet(text)}")
        line = {key: item for key, item in value.items() if key in KNOWN_KEYS}  # CLIENT-LINE-3: the rest is ignored
        self.parsed.append(line)
        if is_terminal(line):
            self.terminal = line

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
    """The ``detail`` of an Airflow error body as one phrase, else the start of the body.

    Members besides ``detail`` are ignored (CLIENT-LINE-3): a newer Airflow may add some.
    """
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
    http = client if client is not None else httpx.Client(base_url=base_url)
    url = path if http.base_url != httpx.URL("") else base_url.rstrip("/") + path
    try:
        return _stream_wait(http, url, params, token=token, interval=interval, timeout=timeout)
    finally:
        if client is None:
            http.close()


def wait_for_url(
    url: str, *, token: str | None = None, timeout: float = 300.0, client: httpx.Client | None = None
) -> WaitResult:
    """:func:`wait_for_result` for a whole /wait URL, query included, requested exactly as given.

    The read timeout comes from the URL's (last) ``interval``, 1 s when it has none.
    """
    intervals = [value for name, value in httpx.URL(url).params.multi_items() if name == "interval"]
    try:
        interval = float(intervals[-1]) if intervals else 1.0
    except ValueError:
        interval = 1.0
    if not 0 < interval < float("inf"):
        interval = 1.0
    http = client if client is not None else httpx.Client()
    try:
        return _stream_wait(http, url, None, token=token, interval=interval, timeout=timeout)
    finally:
        if client is None:
            http.close()


def _stream_wait(
    http: httpx.Client,
    url: str,
    params: Sequence[tuple[str, str]] | None,
    *,
    token: str | None,
    interval: float,
    timeout: float,
) -> WaitResult:
    """One GET of /wait, judged line by line as it arrives (see :func:`wait_for_result`)."""
    path = urlsplit(url).path
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    read_timeout = min(interval + 30.0, timeout)
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


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m conformance.reference_client URL``: the contract of ``python -m conformance clients``.

    Prints the terminal line as received (keys in wire order; keys other than ``state`` and
    ``results`` left out, CLIENT-LINE-3) and exits 0, or prints ``{"error": "<why>"}`` and exits
    1 when the stream is rejected; bad usage exits 4.
    """
    given = settings.read()
    parser = Parser(
        prog="python -m conformance.reference_client", description="Wait on one /wait URL and print its terminal line."
    )
    parser.add_argument(
        "url",
        nargs="?",
        default=given.wait_url,
        help="the whole /wait URL, query included (default: $AIRFLOW_WAIT_URL)",
    )
    parser.add_argument("--token", default=given.wait_token, help="a bearer token (default: $AIRFLOW_TOKEN)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds the whole call may take (default 300)")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give the /wait URL as the last argument or in AIRFLOW_WAIT_URL")
    try:
        result = wait_for_url(args.url, token=args.token, timeout=args.timeout)
    except StreamError as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    print(json.dumps(result.lines[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
