"""Evidence: what a test looked at, kept for the conformance report.

A suite test asks for the ``evidence`` fixture and hands it what it judged: a recorded /wait
transcript or a live response (the request, the status, every body line with its arrival
time), and the values it compared. Each call adds or completes one *item*::

    transcript = evidence.transcript(airflow_session.transcript(case.id))
    evidence.compare(expected=case.expect, actual=transcript.lines[-1].value())

``compare`` fills in the latest item that has no comparison yet, so a request and what was
expected of it read as one. A failing ``==`` assertion in a suite test is recorded the same way
without being asked (the plugin hooks pytest's assertion explanation), so a failure always
shows its two sides even where the test recorded nothing.

Items are plain JSON (``schemas/report.schema.json``, ``$defs/evidence``) so they travel from
xdist workers with the test's report. Long values are cut (:data:`MAX_TEXT` characters per
string, :data:`MAX_LINES` lines per response), saying how long they were.

A request says *who* sent it (``sender``: one of :data:`SENDERS`), never with what token, and
whether it asked for a gzip body (``gzip``), so that :mod:`conformance.report.reproduce` can write it
out as a curl line with the token left to a shell variable. The session's streams are the
admin's; a live response's sender is the tag the fixture's client put on its request
(:func:`tag_sender`), else ``anonymous`` when it carried no token the test did not show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from conformance.wire.notes import Note, as_json
from conformance.wire.stream import Transcript

MAX_TEXT = 2000
MAX_LINES = 200
# admin: the session's token; restricted: the user without XCom access; no-runs: the user who
# may read the DAGs but not their runs; anonymous: no token beyond the headers shown; unknown: a
# token from a client the suite's fixtures did not make
SENDERS = ("admin", "restricted", "no-runs", "anonymous", "unknown")
SENDER_EXTENSION = "conformance_sender"  # the httpx request extension naming the sender
HTTPX_ACCEPT_ENCODING = "gzip, deflate"  # what an httpx client asks for unless told otherwise


def tag_sender(sender: str) -> Callable[[httpx.Request], None]:
    """An httpx request hook marking every request of a client as sent by ``sender``."""
    if sender not in SENDERS:
        raise ValueError(f"unknown sender {sender!r}; one of {', '.join(SENDERS)}")

    def tag(request: httpx.Request) -> None:
        request.extensions[SENDER_EXTENSION] = sender

    return tag


def _asks_for_gzip(headers: Mapping[str, str]) -> bool:
    accept = next(
        (value for name, value in headers.items() if name.lower() == "accept-encoding"), HTTPX_ACCEPT_ENCODING
    )
    return "gzip" in accept.lower()


def clip(value: Any) -> Any:
    """``value`` as JSON data, with strings longer than :data:`MAX_TEXT` cut and marked."""
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else f"{value[:MAX_TEXT]}… ({len(value)} characters)"
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(key): clip(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [clip(item) for item in value]
    return clip(repr(value))


def _line(at: float | None, text: str) -> dict[str, Any]:
    return {"t": None if at is None else round(at, 3), "text": text[:MAX_TEXT], "length": len(text)}


def _url(path: str, query: Any) -> str:
    return f"{path}?{urlencode(list(query))}" if query else path


class Evidence:
    """The evidence of one test, in the order it was recorded."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []  # conformance.wire.notes: seen, never judged

    def note(self, note: Note, detail: str) -> None:
        """Record something this test saw that is no failure (:mod:`conformance.wire.notes`), with
        where it saw it; the report gathers the notes of every test."""
        self.notes.append(as_json(note, detail))

    def _add(self, label: str | None, **fields: Any) -> dict[str, Any]:
        item = {
            "label": label,
            "case": None,
            "request": None,
            "status": None,
            "lines": [],
            "compared": False,
            "expected": None,
            "actual": None,
            "note": None,
        } | fields
        self.items.append(item)
        return item

    def transcript(self, transcript: Transcript, label: str | None = None, sender: str = "admin") -> Transcript:
        """Record a /wait exchange the session recorded (as the admin, with httpx's defaults
        besides the case's headers); returns it, for chaining."""
        self._add(
            label or f"/wait stream of case {transcript.case_id}",
            case=transcript.case_id,
            request={
                "method": "GET",
                "url": _url(transcript.path, transcript.query),
                "headers": dict(transcript.request_headers),
                "sender": sender,
                "gzip": _asks_for_gzip(transcript.request_headers),
            },
            status=transcript.status,
            lines=[_line(line.at, line.raw) for line in transcript.lines[:MAX_LINES]],
            **({"note": f"recording stopped: {transcript.error}"} if transcript.error else {}),
        )
        return transcript

    def response(
        self,
        response: httpx.Response,
        label: str | None = None,
        sent_headers: Mapping[str, str] | None = None,
        sender: str | None = None,
    ) -> httpx.Response:
        """Record a response the test got live. Its body arrived whole, so every line has the
        response's elapsed time. Request headers are not copied (they hold the bearer token);
        pass ``sent_headers`` to show the ones that matter. ``sender`` overrides the one the
        request was tagged with (:func:`tag_sender`)."""
        at = response.elapsed.total_seconds() if _has_elapsed(response) else None
        self._add(
            label,
            request=_request(response.request, sent_headers or {}, sender),
            status=response.status_code,
            lines=[_line(at, text) for text in response.text.splitlines(keepends=True)[:MAX_LINES]],
        )
        return response

    def request(self, request: httpx.Request, label: str | None = None) -> None:
        """Record a request whose answer another reader consumes (a streaming client's): an
        httpx request hook, so that a failure of that client still has its curl line."""
        self._add(label or f"{request.method} {request.url.path}", request=_request(request, {}, None))

    def measurement(self, **fields: Any) -> None:
        """Mark the latest item (a timing test's stream) with how its measurement was judged;
        a new item if the latest already carries one."""
        if not self.items or self.items[-1].get("measurement") is not None:
            self._add(None)
        self.items[-1]["measurement"] = clip(fields)

    def compare(self, *, expected: Any, actual: Any, label: str | None = None) -> None:
        """Record the two values a test compares, before it asserts on them."""
        last = self.items[-1] if self.items else None
        expected, actual = clip(expected), clip(actual)
        if last is not None and last["compared"] and (last["expected"], last["actual"]) == (expected, actual):
            return  # the assertion of values just recorded
        if last is None or last["compared"]:
            last = self._add(label)
        elif label and not last["label"]:
            last["label"] = label
        last.update(compared=True, expected=expected, actual=actual)


def _request(request: httpx.Request, shown: Mapping[str, str], sender: str | None) -> dict[str, Any]:
    """A live request as evidence: never its token, only who sent it."""
    return {
        "method": request.method,
        "url": request.url.raw_path.decode(),
        "headers": dict(shown),
        "sender": sender or _sender_of(request, shown),
        "gzip": "gzip" in request.headers.get("accept-encoding", "").lower(),
    }


def _sender_of(request: httpx.Request, shown: Mapping[str, str]) -> str:
    """Who sent a live request: its tag, else anonymous unless it carried a token not shown."""
    if (tagged := request.extensions.get(SENDER_EXTENSION)) in SENDERS:
        return tagged
    hidden = "authorization" in request.headers and not any(name.lower() == "authorization" for name in shown)
    return "unknown" if hidden else "anonymous"


def _has_elapsed(response: httpx.Response) -> bool:
    try:
        _ = response.elapsed  # raises on a response that was never sent
    except RuntimeError:  # a response built by hand, never sent
        return False
    return True
