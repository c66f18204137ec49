"""The replay server sends what its headers say, paced as asked, for every case; its verb starts and stops cleanly."""

import base64
import gzip
import json
import signal
import socket
import subprocess
import sys
import time
import zlib

import attrs
import httpx
import pytest

from conformance.clientkit.recordings import load_fixture
from conformance.clientkit.replay import NDJSON, ReplayServer, accepts_gzip, parse_speed
from conformance.clientkit.replay_cases import (
    Label,
    Piece,
    ReplayCase,
    load_replay_cases,
    negative_case,
    select,
    transcript_wire,
)
from conformance.paths import fixtures_dir
from conformance.schemas import validator

CASES = load_replay_cases()
CORPUS = {case["id"]: case for case in json.loads((fixtures_dir() / "negative-streams.json").read_text())["cases"]}


@pytest.fixture(scope="module")
def server():
    with ReplayServer(CASES, speed=0) as running:
        yield running


def raw_get(url: str, headers: dict[str, str] | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
    """One GET over a bare socket: the status line, the headers in order, and every byte after them."""
    parsed = httpx.URL(url)
    lines = [f"GET {parsed.raw_path.decode()} HTTP/1.1", f"Host: {parsed.host}:{parsed.port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection((parsed.host, parsed.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    status, *header_lines = head.decode().split("\r\n")
    return (
        status,
        [(name.lower(), value.strip()) for name, _, value in (line.partition(":") for line in header_lines)],
        rest,
    )


def dechunk(data: bytes) -> tuple[list[bytes], bool]:
    """The chunks of a chunked body, and whether it ended with the zero-length chunk."""
    chunks = []
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return chunks, data == b"\r\n"
        chunks.append(data[:size])
        data = data[size + 2 :]
    return chunks, False


def names(headers: list[tuple[str, str]]) -> list[str]:
    return [name for name, _ in headers]


# --- the cases -----------------------------------------------------------------------------------


def test_every_recorded_stream_and_negative_case_is_served():
    manifest = json.loads((fixtures_dir() / "streams" / "manifest.json").read_text())
    assert list(CASES) == [entry["id"] for entry in manifest["cases"]] + list(CORPUS)
    assert {case.kind for case in CASES.values()} == {"recorded", "negative"}


def test_a_recording_that_diverges_is_labelled_with_what_it_recorded():
    label = CASES["result-none"].label
    assert label == Label("accept", {"state": "success"}, "the recording (Airflow 3.3.2 diverges: RESULT-NONE-1)")
    assert CASES["dag-return"].label == Label(
        "accept", {"state": "success", "results": {"compute": 84}}, "the manifest's expect"
    )
    assert CASES["truncated-last-line"].label == Label("reject", None, "negative-streams.json")


def test_the_wire_encoding_is_read_from_wire_or_from_older_transcripts_headers():
    assert transcript_wire({"wire": {"content_encoding": "gzip", "transfer_encoding": "chunked"}, "headers": []}) == (
        "gzip",
        True,
    )
    assert transcript_wire(
        {"wire": {"content_encoding": "identity", "transfer_encoding": "identity", "content_length": 3}, "headers": []}
    ) == (None, False)
    old = {"headers": [["server", "uvicorn"], ["content-encoding", "gzip"], ["transfer-encoding", "chunked"]]}
    assert transcript_wire(old) == ("gzip", True)
    assert transcript_wire({"headers": [["content-length", "3"]]}) == (None, False)


def test_chunk_sizes_must_add_up_to_the_body():
    with pytest.raises(ValueError, match="chunk_sizes add up to 3 bytes, the body has 4"):
        negative_case({**CORPUS["empty-body"], "body": "abcd", "chunk_sizes": [1, 2]})


def test_unknown_case_ids_are_named():
    assert list(select(CASES, ["dag-return", "utf8-bom"])) == ["dag-return", "utf8-bom"]
    with pytest.raises(KeyError, match="nope"):
        select(CASES, ["dag-return", "nope"])


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (None, False),
        ("identity", False),
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("deflate, gzip;q=0", False),
        ("*", True),
        ("*;q=0.5", True),
        ("br, *;q=0", False),
        ("x-gzip", True),
        ("GZIP;Q=0.1", True),
        ("gzip;q=bad", False),
    ],
)
def test_accept_encoding(header, accepted):
    assert accepts_gzip(header) is accepted


@pytest.mark.parametrize(("text", "speed"), [("max", 0.0), ("0", 0.0), ("1", 1.0), ("2.5", 2.5)])
def test_speed(text, speed):
    assert parse_speed(text) == speed


@pytest.mark.parametrize("text", ["-1", "fast", "nan", "inf"])
def test_bad_speed(text):
    with pytest.raises(Exception, match="speed|number"):
        parse_speed(text)


# --- what goes on the wire -----------------------------------------------------------------------


def test_a_gzip_recording_is_gzipped_line_by_line_when_gzip_is_accepted(server):
    status, headers, rest = raw_get(server.case_url("dag-return"), {"Accept-Encoding": "gzip"})
    assert status == "HTTP/1.1 200 OK"
    assert names(headers) == ["server", "vary", "date", "content-encoding", "transfer-encoding"]
    assert dict(headers)["content-encoding"] == "gzip" and dict(headers)["transfer-encoding"] == "chunked"
    chunks, ended = dechunk(rest)
    assert ended
    body = load_fixture("dag-return")["response"]["body"].encode()
    assert gzip.decompress(b"".join(chunks)) == body
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)  # each chunk decodes to exactly one line
    assert [decompressor.decompress(chunk) for chunk in chunks][:-1] == body.splitlines(keepends=True)


def test_a_gzip_recording_goes_out_as_identity_when_gzip_is_not_accepted(server):
    for accept in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0"}):
        _, headers, rest = raw_get(server.case_url("dag-return"), accept)
        assert "content-encoding" not in names(headers)
        chunks, ended = dechunk(rest)
        assert ended and b"".join(chunks) == load_fixture("dag-return")["response"]["body"].encode()


def test_an_identity_recording_is_never_gzipped(server):
    _, headers, rest = raw_get(server.case_url("slow-cadence-identity"), {"Accept-Encoding": "gzip"})
    assert "content-encoding" not in names(headers)
    assert b"".join(dechunk(rest)[0]) == load_fixture("slow-cadence-identity")["response"]["body"].encode()


def test_binary_bodies_go_out_byte_for_byte(server):
    _, _, rest = raw_get(server.case_url("invalid-utf8-in-value"))
    chunks, ended = dechunk(rest)
    assert ended and b"".join(chunks) == base64.b64decode(CORPUS["invalid-utf8-in-value"]["body_base64"])
    assert len(chunks) == 2  # one chunk per line


def test_a_stored_gzip_body_goes_out_as_it_is_with_its_encoding(server):
    _, headers, rest = raw_get(server.case_url("gzip-cut-mid-line"), {"Accept-Encoding": "identity"})
    assert dict(headers)["content-encoding"] == "gzip"
    chunks, ended = dechunk(rest)
    assert ended and b"".join(chunks) == base64.b64decode(CORPUS["gzip-cut-mid-line"]["body_base64"])


def test_chunk_sizes_cut_the_body(server):
    _, _, rest = raw_get(server.case_url("utf8-character-split-across-chunks"))
    chunks, ended = dechunk(rest)
    assert ended and [len(chunk) for chunk in chunks] == CORPUS["utf8-character-split-across-chunks"]["chunk_sizes"]


def test_an_empty_body_is_just_the_last_chunk(server):
    _, _, rest = raw_get(server.case_url("empty-body"))
    assert rest == b"0\r\n\r\n"


def test_a_cut_after_the_body_sends_every_chunk_and_no_end(server):
    _, _, rest = raw_get(server.case_url("cut-after-terminal-line"))
    chunks, ended = dechunk(rest)
    assert not ended and b"".join(chunks) == CORPUS["cut-after-terminal-line"]["body"].encode()
    assert not rest.endswith(b"0\r\n\r\n")


def test_a_cut_mid_chunk_announces_bytes_that_never_come(server):
    _, _, rest = raw_get(server.case_url("cut-mid-chunk"))
    first = b'{"state": "running"}\n'
    prefix = f"{len(first):x}\r\n".encode() + first + b"\r\n"
    assert rest.startswith(prefix)
    size_line, _, data = rest[len(prefix) :].partition(b"\r\n")
    assert data == b'{"state": "success", "results": {"compute": 84}}\n'
    assert int(size_line, 16) > len(data)


def test_an_error_status_has_content_length_and_its_recorded_body(server):
    status, headers, rest = raw_get(server.case_url("http-404-unknown-run"))
    assert status == "HTTP/1.1 404 Not Found"
    assert names(headers) == ["server", "content-type", "date", "content-length"]
    assert rest == CORPUS["http-404-unknown-run"]["body"].encode() and dict(headers)["content-length"] == str(len(rest))


def test_any_dag_and_run_id_under_a_case_base_url_get_the_case(server):
    base = server.index()["cases"][0]["base_url"]
    response = httpx.get(f"{base}/api/v2/dags/other/dagRuns/manual__2026/wait", params={"interval": "5"})
    assert (
        response.status_code == 200
        and response.text == load_fixture(server.index()["cases"][0]["id"])["response"]["body"]
    )


@pytest.mark.parametrize(
    "path",
    [
        "/nothing",
        "/streams/dag-return",
        "/streams/no-such-case/api/v2/dags/d/dagRuns/r/wait",
        "/streams/dag-return/api/v2/dags/d/dagRuns/r",
    ],
)
def test_other_paths_get_a_404_that_points_to_the_index(server, path):
    response = httpx.get(server.url + path)
    assert response.status_code == 404 and "GET / lists every case" in response.json()["detail"]


def test_the_index_lists_every_case_with_a_working_url(server):
    document = httpx.get(server.url + "/").json()
    assert list(validator("replay-index.schema.json").iter_errors(document)) == []
    assert document == server.index() and document["speed"] == "max"
    assert [case["id"] for case in document["cases"]] == list(CASES)
    entry = next(case for case in document["cases"] if case["id"] == "param-repeated")
    assert entry["url"] == server.case_url("param-repeated")
    assert httpx.URL(entry["url"]).params.multi_items() == [
        tuple(pair) for pair in load_fixture("param-repeated")["request"]["query"]
    ]
    assert entry["expect"] == {"state": "success", "results": {"compute": 84, "fetch_data": {"answer": 42}}}


# --- the declared Content-Type ------------------------------------------------------------------


def content_types(headers: list[tuple[str, str]]) -> list[str]:
    return [value for name, value in headers if name == "content-type"]


def test_by_default_a_200_has_no_content_type_as_airflow_3_3_sends_it(server):
    for case_id in ("dag-return", "terminal-only", "empty-body"):
        status, headers, _ = raw_get(server.case_url(case_id))
        assert status == "HTTP/1.1 200 OK" and content_types(headers) == []
    assert server.content_type is None and server.index()["content_type"] is None


def test_with_a_content_type_every_200_declares_it_and_an_error_keeps_its_own():
    cases = select(CASES, ["dag-return", "terminal-only", "empty-body", "http-404-unknown-run"])
    with ReplayServer(cases, speed=0, content_type=NDJSON) as declared:
        for case_id in ("dag-return", "terminal-only", "empty-body"):
            status, headers, _ = raw_get(declared.case_url(case_id))
            assert status == "HTTP/1.1 200 OK" and content_types(headers) == ["application/x-ndjson"]
        status, headers, _ = raw_get(declared.case_url("http-404-unknown-run"))
        assert status == "HTTP/1.1 404 Not Found" and content_types(headers) == ["application/json"]
        document = httpx.get(declared.url + "/").json()
    assert list(validator("replay-index.schema.json").iter_errors(document)) == []
    assert document["content_type"] == "application/x-ndjson"


def test_a_declared_content_type_replaces_a_recorded_one_on_a_200():
    case = next(iter(paced_case().values()))
    case = attrs.evolve(case, headers=(("content-type", "text/plain"), ("x-kept", "1")))
    with ReplayServer({case.id: case}, speed=0, content_type="application/json; charset=utf-8") as declared:
        _, headers, _ = raw_get(declared.case_url(case.id))
    assert content_types(headers) == ["application/json; charset=utf-8"] and ("x-kept", "1") in headers


# --- pacing --------------------------------------------------------------------------------------


def paced_case() -> dict[str, ReplayCase]:
    pieces = (Piece(0.0, b'{"state": "running"}\n'), Piece(0.6, b'{"state": "success"}\n'))
    case = ReplayCase(
        id="paced",
        kind="negative",
        description="d",
        dag_id="d",
        query=(),
        status=200,
        headers=(),
        pieces=pieces,
        label=Label("accept", {"state": "success"}, "test"),
    )
    return {"paced": case}


@pytest.mark.parametrize(("speed", "at_least", "at_most"), [(2.0, 0.28, 1.5), (0.0, 0.0, 0.25)], ids=["speed-2", "max"])
def test_lines_come_at_their_time_divided_by_the_speed(speed, at_least, at_most):
    with ReplayServer(paced_case(), speed=speed) as paced:
        arrivals, start = [], time.monotonic()
        with httpx.stream("GET", paced.case_url("paced")) as response:
            for _ in response.iter_raw():
                arrivals.append(time.monotonic() - start)
    assert len(arrivals) >= 2
    assert at_least <= arrivals[-1] - arrivals[0] <= at_most


# --- the verb ------------------------------------------------------------------------------------


def start_verb(*args: str) -> subprocess.Popen:
    """The verb as a terminal starts it: with Ctrl-C's default action, even when this test runs
    in a background job, whose children inherit SIGINT ignored (the ctrl-c case then hung)."""
    return subprocess.Popen(
        [sys.executable, "-m", "conformance", "replay", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509 (Popen can't reset SIGINT)
    )


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_the_verb_prints_its_index_serves_and_stops_cleanly(stop):
    process = start_verb("--index", "--speed", "max", "--quiet")
    try:
        document = json.loads(process.stdout.readline())
        assert list(validator("replay-index.schema.json").iter_errors(document)) == []
        response = httpx.get(document["cases"][0]["url"], timeout=10)
        assert response.status_code == 200 and response.text.endswith("}\n")
        process.send_signal(stop)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert process.stderr.read().startswith(f"replay: {len(CASES)} cases at {document['url']}/ (no waiting;")


def test_the_verb_says_where_it_listens_in_one_line_and_logs_requests():
    process = start_verb("--speed", "4")
    try:
        line = process.stdout.readline()
        assert (
            line.startswith(f"replay: {len(CASES)} cases at http://127.0.0.1:")
            and "(speed 4; GET / lists them; Ctrl-C stops)" in line
        )
        url = line.split(" at ")[1].split("/ ")[0]
        assert httpx.get(url + "/nope").status_code == 404
        process.terminate()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert '"GET /nope HTTP/1.1" 404' in process.stderr.read()


@pytest.mark.parametrize(
    "args",
    [["--speed", "-2"], ["--port", "x"], ["--content-type", "ndjson"], ["--content-type", "a/b\r\nX-Injected: 1"]],
)
def test_the_verb_refuses_bad_options_in_one_sentence(args):
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "replay", *args], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 4 and done.stdout == ""
    assert done.stderr.startswith("python -m conformance replay: argument") and done.stderr.count("\n") == 1


def test_the_verb_says_which_content_type_it_declares():
    process = start_verb("--speed", "max", "--quiet", "--content-type", "application/x-ndjson")
    try:
        line = process.stdout.readline()
        assert "(no waiting; Content-Type: application/x-ndjson on every 200; GET / lists them; Ctrl-C stops)" in line
        url = line.split(" at ")[1].split("/ ")[0]
        response = httpx.get(url + CASES["dag-return"].target())
        assert response.status_code == 200 and response.headers["content-type"] == "application/x-ndjson"
        process.terminate()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
