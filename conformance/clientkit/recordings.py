"""Recorded /wait streams as reference fixtures: format, normalisation, loading.

``fixtures/streams/<case>.json`` holds one response as a real Airflow sent it (status, headers,
the decoded body as text, how it was encoded on the wire, arrival times) with the request that
produced it, and
``fixtures/streams/manifest.json`` says, per case, which clauses it illustrates, what the
conformance suite expects, and which of those expectations the recorded version is known to
diverge from.

Normalisation, so that re-recording the same Airflow gives the same files where it matters:

- the run id in the request path is written ``{run_id}``;
- the ``date`` response header is dropped;
- the body is stored decoded, so the headers that describe its encoding on the wire
  (``content-encoding``, ``transfer-encoding``, ``content-length``) move out of ``headers`` into
  ``wire``: the status, ``headers`` and ``body`` then make a correct response as they stand, and
  a replay that wants the original framing reads it from ``wire`` (:func:`received_headers`
  gives the header list as it arrived);
- arrival times are kept for reference but never compared;
- poll lines (``queued``/``running``) are kept in the body but left out of comparisons: how
  many there are, and whether ``queued`` shows at all, depends on the scheduler's timing.
  What is compared is the request, the status, the headers, the wire encoding and the terminal
  line, byte for byte.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from conformance.catalog.cases import Case
from conformance.paths import fixtures_dir
from conformance.schemas import schema_id
from conformance.wire.ndjson import is_terminal
from conformance.wire.stream import Transcript

RUN_ID = "{run_id}"
VOLATILE_HEADERS = frozenset({"date"})
# Headers about the body's bytes on the wire rather than the decoded text stored, by the key
# each gets in ``response.wire`` (stream-transcript.schema.json).
WIRE_HEADERS = {
    "content-encoding": "content_encoding",
    "transfer-encoding": "transfer_encoding",
    "content-length": "content_length",
}
IDENTITY = "identity"


def streams_dir() -> Path:
    return fixtures_dir() / "streams"


def to_fixture(transcript: Transcript, case: Case, run_id: str, airflow_version: str) -> dict[str, Any]:
    """The committed form of one recorded stream."""
    return {
        "$schema": schema_id("stream-transcript.schema.json"),
        "case": case.id,
        "airflow_version": airflow_version,
        "request": {
            "method": "GET",
            "path": transcript.path.replace(f"/dagRuns/{run_id}/", f"/dagRuns/{RUN_ID}/"),
            "query": [list(pair) for pair in transcript.query],
            "headers": dict(transcript.request_headers),
        },
        "response": {
            "status": transcript.status,
            **split_wire(transcript.headers),
            "body": transcript.body,
        },
        "arrivals": [round(line.at, 3) for line in transcript.lines],
    }


def split_wire(received: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Received headers as ``headers`` (names lower-cased, ``date`` dropped) and ``wire``.

    ``wire`` always says ``content_encoding`` and ``transfer_encoding`` (lower-cased, ``identity``
    when the header was absent) and, only when the response had one, ``content_length`` as an
    integer.
    """
    headers, wire = [], {"content_encoding": IDENTITY, "transfer_encoding": IDENTITY}
    for name, value in received:
        name = name.lower()
        if name in WIRE_HEADERS:
            # coding names are case-insensitive (RFC 9110): lower-cased, so a reader compares with ==
            wire[WIRE_HEADERS[name]] = int(value) if name == "content-length" else value.strip().lower()
        elif name not in VOLATILE_HEADERS:
            headers.append([name, value])
    return {"headers": headers, "wire": wire}


def received_headers(response: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A stored response's headers as they arrived: ``headers``, then the ``wire`` ones that were sent.

    The wire headers go last, which is where Airflow's server puts them; ``date`` stays dropped.
    """
    wire = response["wire"]
    sent = [(name, str(wire[key])) for name, key in WIRE_HEADERS.items() if key in wire and wire[key] != IDENTITY]
    return [(name, value) for name, value in response["headers"]] + sent


def manifest_entry(case: Case, divergences: Mapping[str, str], airflow_version: str) -> dict[str, Any]:
    return {
        "id": case.id,
        "file": f"{case.id}.json",
        "airflow_version": airflow_version,
        "dag_id": case.dag_id,
        "description": case.description,
        "clauses": list(case.clauses),
        "expect": dict(case.expect),
        "diverges": [
            {"clause": clause, "reason": divergences[clause]} for clause in case.clauses if clause in divergences
        ],
    }


def body_lines(fixture: Mapping[str, Any]) -> list[str]:
    """The body split into lines, each with its newline (the last one may lack it)."""
    return fixture["response"]["body"].splitlines(keepends=True)


def normalise(fixture: Mapping[str, Any]) -> dict[str, Any]:
    """What two recordings of the same behaviour must agree on (see the module docstring)."""
    lines = body_lines(fixture)
    terminal = [line for line in lines if is_terminal(json.loads(line))]
    return {
        "request": fixture["request"],
        "status": fixture["response"]["status"],
        "headers": fixture["response"]["headers"],
        "wire": fixture["response"]["wire"],
        "terminal lines": terminal,
        "poll lines": f"{len(lines) - len(terminal)} (not compared)",
    }


def diff(old: Mapping[str, Any] | None, new: Mapping[str, Any], name: str, width: int = 300) -> list[str]:
    """A unified diff of the normalised forms; long lines are cut for reading."""

    def render(fixture: Mapping[str, Any] | None) -> list[str]:
        if fixture is None:
            return []
        text = json.dumps({k: v for k, v in normalise(fixture).items() if k != "poll lines"}, indent=1)
        return [
            line if len(line) <= width else f"{line[:width]}… ({len(line)} characters)" for line in text.splitlines()
        ]

    return list(difflib.unified_diff(render(old), render(new), f"committed/{name}", f"recorded/{name}", lineterm=""))


def load_manifest(directory: Path | None = None) -> dict[str, Any]:
    return json.loads(((directory or streams_dir()) / "manifest.json").read_text())


def load_fixture(case_id: str, directory: Path | None = None) -> dict[str, Any]:
    return json.loads(((directory or streams_dir()) / f"{case_id}.json").read_text())
