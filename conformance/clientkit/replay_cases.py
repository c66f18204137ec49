"""What the replay server serves: every recorded stream and every negative case, as bytes on a schedule.

A :class:`ReplayCase` is one response taken apart into what a server needs to send it again:
status, headers (the framing ones left out: the server derives those from the bytes it really
sends), the body as pieces each due some seconds after the request, how the body is encoded,
and whether the connection is cut before the body ends. It also carries its :class:`Label`,
what a correct client makes of it, which the client runner (:mod:`conformance.clientkit.runner`)
compares against.

Two sources, two URL prefixes, both ending in the real ``/wait`` path so a client that builds
URLs from a base URL, a DAG id and a run id can use ``/streams/<case>`` or
``/negative/<case>`` as its base URL:

- ``fixtures/streams/``: one piece per recorded line, due at its recorded arrival time. A
  recording that arrived gzip-compressed is compressed again, line by line, when (and only
  when) the request accepts gzip. Its label: accept, ending with the manifest's ``expect``, or,
  where the manifest says the recorded Airflow diverges, with the terminal line it recorded.
- ``fixtures/negative-streams.json``: the body (``body`` as UTF-8, or ``body_base64``), one
  piece per line unless ``chunk_sizes`` says otherwise, all due at once; ``content_encoding``
  bodies are already compressed and go out as they are; ``cut`` ends the connection early.

Transcripts name their wire encoding in ``response.wire`` (``content_encoding``,
``transfer_encoding``); transcripts written before that field existed kept it in the headers,
and both are read.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import attrs

from conformance.clientkit.recordings import load_manifest, streams_dir
from conformance.paths import fixtures_dir
from conformance.wire.ndjson import is_terminal

RUN_ID = "replay"  # the run id in every case's path; any other run id is served the same
NEGATIVE_DAG_ID = "negative_streams"
NEGATIVE_QUERY = (("interval", "1"),)
FRAMING_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
IDENTITY = "identity"
PREFIXES = {"recorded": "streams", "negative": "negative"}


@attrs.frozen
class Label:
    """What a correct client does with a case: reject it, or accept it ending with ``expect``."""

    verdict: str  # "accept" or "reject"
    expect: Mapping[str, Any] | None  # an expect of cases.schema.json; None when rejected
    source: str  # where the label comes from, in a few words


@attrs.frozen
class Piece:
    at: float  # seconds after the request at recorded speed
    data: bytes  # the body bytes, before compression when the server compresses on request


@attrs.frozen
class ReplayCase:
    id: str
    kind: str  # "recorded" or "negative"
    description: str
    dag_id: str
    query: tuple[tuple[str, str], ...]
    status: int
    headers: tuple[tuple[str, str], ...]  # besides the framing ones
    pieces: tuple[Piece, ...]
    label: Label
    chunked: bool = True
    gzip_on_request: bool = False  # compress the pieces when the request accepts gzip
    content_encoding: str | None = None  # the pieces are already encoded so
    cut: str | None = None  # None, "after-body" or "mid-chunk"

    @property
    def base_path(self) -> str:
        return f"/{PREFIXES[self.kind]}/{self.id}"

    @property
    def path(self) -> str:
        return f"{self.base_path}/api/v2/dags/{self.dag_id}/dagRuns/{RUN_ID}/wait"

    def target(self) -> str:
        """The path with the case's query, as a client requests it."""
        return f"{self.path}?{urlencode(self.query)}" if self.query else self.path

    @property
    def duration(self) -> float:
        """Seconds from the request to the last piece, at recorded speed."""
        return max((piece.at for piece in self.pieces), default=0.0)


def ndjson_pieces(body: bytes) -> list[bytes]:
    """``body`` cut after each newline (terminators kept; a last line without one kept too)."""
    parts = body.split(b"\n")
    return [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def transcript_wire(response: Mapping[str, Any]) -> tuple[str | None, bool]:
    """A recorded response's content encoding (None for identity) and whether it was chunked."""
    if "wire" in response:
        wire = response["wire"]
        encoding = wire.get("content_encoding", IDENTITY)
        transfer = wire.get("transfer_encoding", IDENTITY)
    else:  # the older shape: the framing headers as received
        headers = {name.lower(): value for name, value in response["headers"]}
        encoding = headers.get("content-encoding", IDENTITY)
        transfer = headers.get("transfer-encoding", IDENTITY)
    return (None if encoding == IDENTITY else encoding), transfer == "chunked"


def _terminal_line(body: str) -> dict[str, Any]:
    """The last line of a recorded body, as a label's expect (a divergent recording's own ending)."""
    last = json.loads([line for line in body.split("\n") if line.strip()][-1])
    if not is_terminal(last):
        raise ValueError(f"the recording ends with {last!r}, not a terminal line")
    return {key: last[key] for key in ("state", "results") if key in last}


def recorded_case(entry: Mapping[str, Any], fixture: Mapping[str, Any]) -> ReplayCase:
    """One manifest entry and its transcript, ready to serve again."""
    request, response = fixture["request"], fixture["response"]
    encoding, chunked = transcript_wire(response)
    if encoding not in (None, "gzip"):
        raise ValueError(f"{entry['id']}: cannot replay content-encoding {encoding!r}")
    lines = ndjson_pieces(response["body"].encode())
    arrivals = list(fixture["arrivals"]) or [0.0]
    at = [arrivals[min(i, len(arrivals) - 1)] for i in range(len(lines))]
    if entry["diverges"]:
        clauses = ", ".join(item["clause"] for item in entry["diverges"])
        label = Label(
            "accept",
            _terminal_line(response["body"]),
            f"the recording (Airflow {fixture['airflow_version']} diverges: {clauses})",
        )
    else:
        label = Label("accept", dict(entry["expect"]), "the manifest's expect")
    return ReplayCase(
        id=entry["id"],
        kind="recorded",
        description=entry["description"],
        dag_id=entry["dag_id"],
        query=tuple((name, value) for name, value in request["query"]),
        status=response["status"],
        headers=tuple((name, value) for name, value in response["headers"] if name.lower() not in FRAMING_HEADERS),
        pieces=tuple(Piece(when, data) for when, data in zip(at, lines)),
        label=label,
        chunked=chunked,
        gzip_on_request=encoding == "gzip",
    )


def negative_case(case: Mapping[str, Any]) -> ReplayCase:
    """One entry of negative-streams.json, ready to serve."""
    body = base64.b64decode(case["body_base64"], validate=True) if "body_base64" in case else case["body"].encode()
    status = case.get("status", 200)
    encoding = case.get("content_encoding")
    if "chunk_sizes" in case:
        sizes = case["chunk_sizes"]
        if sum(sizes) != len(body):
            raise ValueError(f"{case['id']}: chunk_sizes add up to {sum(sizes)} bytes, the body has {len(body)}")
        offsets = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
        parts = [body[start:end] for start, end in itertools.pairwise(offsets)]
    elif encoding is not None or status != 200:
        parts = [body] if body else []
    else:
        parts = ndjson_pieces(body)
    if case.get("cut") and status != 200:
        raise ValueError(f"{case['id']}: only a chunked 200 body can be cut")
    verdict = case["verdict"]
    return ReplayCase(
        id=case["id"],
        kind="negative",
        description=case["description"],
        dag_id=NEGATIVE_DAG_ID,
        query=NEGATIVE_QUERY,
        status=status,
        headers=tuple((name, value) for name, value in case.get("headers", [])),
        pieces=tuple(Piece(0.0, part) for part in parts),
        label=Label(verdict, dict(case["expect"]) if verdict == "accept" else None, "negative-streams.json"),
        chunked=status == 200,
        content_encoding=encoding,
        cut=case.get("cut"),
    )


def load_replay_cases(streams: Path | None = None, negative: Path | None = None) -> dict[str, ReplayCase]:
    """Every recorded stream (manifest order), then every negative case (file order), by id."""
    folder = streams or streams_dir()
    manifest = load_manifest(folder)
    corpus = json.loads((negative or fixtures_dir() / "negative-streams.json").read_text())
    cases: list[ReplayCase] = [
        recorded_case(entry, json.loads((folder / entry["file"]).read_text())) for entry in manifest["cases"]
    ]
    cases += [negative_case(case) for case in corpus["cases"]]
    by_id: dict[str, ReplayCase] = {}
    for case in cases:
        if case.id in by_id:
            raise ValueError(f"case id {case.id!r} is both a recorded stream and a negative case")
        by_id[case.id] = case
    return by_id


def select(cases: Mapping[str, ReplayCase], ids: Sequence[str]) -> dict[str, ReplayCase]:
    """The cases named (all when none are), in corpus order; KeyError names an unknown id."""
    unknown = [case_id for case_id in ids if case_id not in cases]
    if unknown:
        raise KeyError(unknown[0])
    return {case_id: case for case_id, case in cases.items() if not ids or case_id in ids}
