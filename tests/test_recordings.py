"""The committed /wait recordings are valid, replay cleanly offline, and match the cases."""

import copy
import json

import pytest

from conformance.catalog.cases import load_cases
from conformance.clientkit.recordings import (
    RUN_ID,
    body_lines,
    diff,
    load_fixture,
    load_manifest,
    normalise,
    received_headers,
    split_wire,
    streams_dir,
    to_fixture,
)
from conformance.clientkit.reference_client import parse_stream
from conformance.schemas import validator
from conformance.wire.checks import framing_problems, poll_line_problems, terminal_problems
from conformance.wire.stream import Line, Transcript

MANIFEST = load_manifest()
CASES = load_cases()
ENTRIES = {entry["id"]: entry for entry in MANIFEST["cases"]}


def test_manifest_is_valid_and_covers_every_case():
    assert list(validator("stream-manifest.schema.json").iter_errors(MANIFEST)) == []
    assert list(ENTRIES) == list(CASES)


@pytest.mark.parametrize("case_id", list(ENTRIES))
def test_transcript_is_valid(case_id):
    fixture = load_fixture(case_id)
    assert [e.message for e in validator("stream-transcript.schema.json").iter_errors(fixture)] == []
    assert fixture["case"] == case_id and fixture["airflow_version"] == ENTRIES[case_id]["airflow_version"]
    assert fixture["response"]["status"] == 200
    assert len(fixture["arrivals"]) == len(body_lines(fixture))


@pytest.mark.parametrize("case_id", list(ENTRIES))
def test_recorded_stream_passes_the_stream_checks(case_id):
    lines = body_lines(load_fixture(case_id))
    assert framing_problems(lines) == []
    assert terminal_problems(lines, ENTRIES[case_id]["expect"]["state"]) == []
    assert poll_line_problems(lines) == []


@pytest.mark.parametrize("case_id", list(ENTRIES))
def test_terminal_line_meets_the_case_unless_a_divergence_is_declared(case_id):
    terminal = json.loads(body_lines(load_fixture(case_id))[-1])
    mismatches = CASES[case_id].terminal_mismatches(terminal)
    if ENTRIES[case_id]["diverges"]:
        assert mismatches, "declared divergent, yet the recording meets the case: drop the divergence"
    else:
        assert mismatches == []


@pytest.mark.parametrize("case_id", list(ENTRIES))
def test_reference_client_reads_every_recording(case_id):
    lines = body_lines(load_fixture(case_id))
    outcome = parse_stream(iter(lines))
    terminal = json.loads(lines[-1])
    assert (outcome.state, outcome.results) == (terminal["state"], terminal.get("results"))
    assert len(outcome.lines) == len(lines)


def test_normalisation_ignores_poll_lines_but_not_the_terminal_line():
    fixture = load_fixture("slow-cadence-gzip")
    fewer_polls = copy.deepcopy(fixture)
    lines = body_lines(fixture)
    fewer_polls["response"]["body"] = lines[0] + lines[-1]
    fewer_polls["arrivals"] = [0.0, 9.9]
    assert diff(fixture, fewer_polls, "x.json") == []

    other_result = copy.deepcopy(fixture)
    other_result["response"]["body"] = lines[0] + '{"state": "success", "results": {"wait_a_while": "late"}}\n'
    changes = [line for line in diff(fixture, other_result, "x.json") if line.startswith(("+", "-"))]
    assert any("late" in line for line in changes) and any("done" in line for line in changes), changes


def test_a_new_recording_diffs_against_nothing():
    fixture = load_fixture("result-decorator")
    lines = diff(None, fixture, "result-decorator.json")
    assert lines[0] == "--- committed/result-decorator.json" and any(
        "compute" in line and "84" in line for line in lines
    )
    assert normalise(fixture)["terminal lines"] == ['{"state": "success", "results": {"compute": 84}}\n']


def test_wire_headers_move_out_of_the_headers_of_a_decoded_body():
    received = [
        ("Server", "uvicorn"),
        ("date", "Mon, 01 Dec 2026 15:00:00 GMT"),
        ("Vary", "Accept-Encoding"),
        ("Content-Encoding", "GZIP"),
        ("Transfer-Encoding", "chunked"),
    ]
    assert split_wire(received) == {
        "headers": [["server", "uvicorn"], ["vary", "Accept-Encoding"]],
        "wire": {"content_encoding": "gzip", "transfer_encoding": "chunked"},
    }
    plain = split_wire([("content-type", "application/x-ndjson"), ("content-length", "21")])
    assert plain == {
        "headers": [["content-type", "application/x-ndjson"]],
        "wire": {"content_encoding": "identity", "transfer_encoding": "identity", "content_length": 21},
    }


def test_received_headers_put_back_what_was_sent_and_nothing_else():
    gzip = {"headers": [["server", "uvicorn"]], "wire": {"content_encoding": "gzip", "transfer_encoding": "chunked"}}
    assert received_headers(gzip) == [
        ("server", "uvicorn"),
        ("content-encoding", "gzip"),
        ("transfer-encoding", "chunked"),
    ]
    plain = {
        "headers": [],
        "wire": {"content_encoding": "identity", "transfer_encoding": "identity", "content_length": 21},
    }
    assert received_headers(plain) == [("content-length", "21")]
    assert split_wire(received_headers(plain)) == plain


def rerecorded(case_id: str) -> dict:
    """A committed recording put through the recording code again, as a live session would have recorded it."""
    fixture = load_fixture(case_id)
    request, response = fixture["request"], fixture["response"]
    transcript = Transcript(
        case_id=case_id,
        path=request["path"].replace(RUN_ID, "manual__2026-12-01"),
        query=request["query"],
        request_headers=request["headers"],
        sent_at=0.0,
        status=response["status"],
        headers=[("date", "Mon, 01 Dec 2026 15:00:00 GMT"), *received_headers(response)],
        lines=[Line(raw, at) for raw, at in zip(body_lines(fixture), fixture["arrivals"], strict=True)],
    )
    return to_fixture(transcript, CASES[case_id], "manual__2026-12-01", fixture["airflow_version"])


@pytest.mark.parametrize("case_id", list(ENTRIES))
def test_committed_transcript_is_exactly_what_recording_writes(case_id):
    """record-check compares with these files, so they must be the recording code's own output."""
    recorded = rerecorded(case_id)
    assert recorded == load_fixture(case_id)
    assert (streams_dir() / f"{case_id}.json").read_text() == json.dumps(recorded, indent=1) + "\n"
    assert diff(load_fixture(case_id), recorded, f"{case_id}.json") == []


def test_a_change_of_wire_encoding_is_a_difference():
    fixture = load_fixture("slow-cadence-gzip")
    identity = copy.deepcopy(fixture)
    identity["response"]["wire"]["content_encoding"] = "identity"
    changes = [line for line in diff(fixture, identity, "x.json") if line.startswith(("+", "-"))]
    assert any('"content_encoding": "identity"' in line for line in changes), changes
