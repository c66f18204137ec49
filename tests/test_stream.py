"""record_wait frames NDJSON on newlines exactly as the bytes arrived, and records failures."""

import asyncio

import attrs
import httpx
import pytest

from conformance.wire.stream import Line, Transcript, epoch, record_wait

BASE_URL = "http://airflow.test"
PATH = "/api/v2/dags/d/dagRuns/r/wait"


def chunks(*parts: bytes, then=None):
    """An async byte iterator yielding ``parts``, then awaiting/raising whatever ``then`` gives."""

    async def body():
        for part in parts:
            yield part
            await asyncio.sleep(0)
        if then is not None:
            await then()

    return body()


def record(handler, query=(("interval", "1"),), headers=None, deadline: float = 5.0) -> Transcript:
    async def main():
        async with httpx.AsyncClient(base_url=BASE_URL, transport=httpx.MockTransport(handler)) as client:
            return await record_wait(client, "case", PATH, query, headers, read_timeout=1.0, deadline=deadline)

    return asyncio.run(main())


def test_lines_are_framed_across_chunk_boundaries():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = chunks(
            b'{"state": "que',
            b'ued"}\n{"state": "running"}\n{"sta',  # split mid-line, two lines in one chunk
            b'te": "running"}\n',
            b'{"state": "success", "results": {"t": 1}}',  # unterminated last fragment
        )
        return httpx.Response(200, headers={"Content-Type": "application/x-ndjson"}, content=body)

    transcript = record(handler, query=[("interval", "1"), ("interval", "")], headers={"Accept-Encoding": "identity"})

    assert [line.raw for line in transcript.lines] == [
        '{"state": "queued"}\n',
        '{"state": "running"}\n',
        '{"state": "running"}\n',
        '{"state": "success", "results": {"t": 1}}',
    ]
    assert [line.terminated for line in transcript.lines] == [True, True, True, False]
    assert transcript.values()[-1] == {"state": "success", "results": {"t": 1}}
    arrivals = [line.at for line in transcript.lines]
    assert arrivals == sorted(arrivals) and arrivals[0] >= 0
    assert transcript.status == 200 and transcript.error is None
    assert transcript.header("content-type") == "application/x-ndjson"
    assert transcript.query == (("interval", "1"), ("interval", ""))
    assert transcript.request_headers == {"Accept-Encoding": "identity"}
    assert seen[0].url.path == PATH
    assert seen[0].url.params.multi_items() == [("interval", "1"), ("interval", "")]
    assert seen[0].headers["accept-encoding"] == "identity"


def test_a_character_split_across_chunks_is_decoded_whole():
    line = '{"state": "success", "results": {"t": "café"}}\n'.encode()
    cut = line.index("é".encode()) + 1
    transcript = record(lambda request: httpx.Response(200, content=chunks(line[:cut], line[cut:])))
    assert transcript.values() == [{"state": "success", "results": {"t": "café"}}]


def test_error_status_is_recorded_with_its_body():
    body = b'{"detail": "The DagRun with dag_id: `d` and run_id: `r` was not found"}'
    transcript = record(lambda request: httpx.Response(404, content=body))
    assert transcript.status == 404
    assert transcript.body == body.decode()
    assert transcript.values() == [{"detail": "The DagRun with dag_id: `d` and run_id: `r` was not found"}]
    assert transcript.error is None


def test_a_stream_that_never_ends_stops_at_the_deadline():
    never = chunks(b'{"state": "running"}\n', then=lambda: asyncio.sleep(3600))
    transcript = record(lambda request: httpx.Response(200, content=never), deadline=0.3)
    assert transcript.error is not None
    assert transcript.error.startswith("the stream had not ended after")
    assert [line.raw for line in transcript.lines] == ['{"state": "running"}\n']
    assert transcript.status == 200


async def _raise(exc: Exception):
    raise exc


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (httpx.ReadTimeout("timed out"), "no data for 1 s (read timeout)"),
        (httpx.RemoteProtocolError("peer closed connection"), "RemoteProtocolError: peer closed connection"),
        (httpx.PoolTimeout("timed out"), "PoolTimeout: the request was not sent within 30 s"),
    ],
    ids=["read-timeout", "connection-lost", "no-pooled-connection"],
)
def test_transport_errors_mid_stream_are_recorded(exc, error):
    body = chunks(b'{"state": "running"}\n{"sta', then=lambda: _raise(exc))
    transcript = record(lambda request: httpx.Response(200, content=body))
    assert transcript.error == error
    assert [line.raw for line in transcript.lines] == ['{"state": "running"}\n']


def test_transcript_survives_save_and_load(tmp_path):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"X-Extra": "1"}, content=chunks(b'{"state": "running"}\n{"state": "success"}\n')
        )

    recorded = record(handler, headers={"Accept-Encoding": "gzip"})
    transcript = attrs.evolve(
        recorded, run={"state": "success", "end_date": "2025-01-01T00:00:00Z"}, error="stopped early"
    )

    path = transcript.save(tmp_path)

    assert path == tmp_path / "case.json"
    loaded = Transcript.load(path)
    assert loaded == transcript
    assert all(isinstance(line, Line) for line in loaded.lines)
    assert loaded.header("x-extra") == "1"


def test_a_line_that_is_not_utf8_is_recorded_as_an_error():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(b'{"state": "running"}\n', b"\xff\xfe\n"))

    transcript = record(handler)

    assert [line.raw for line in transcript.lines] == ['{"state": "running"}\n']
    assert transcript.error is not None and transcript.error.startswith("line 2 is not UTF-8")


def test_terminal_lateness_is_measured_from_the_runs_end_date():
    ended = "2026-11-24T22:00:10.500000Z"
    transcript = Transcript(
        case_id="c",
        path="/wait",
        query=(),
        request_headers={},
        sent_at=epoch("2026-11-24T22:00:05Z"),
        lines=[Line(raw='{"state": "running"}\n', at=0.1), Line(raw='{"state": "success"}\n', at=6.0)],
        run={"end_date": ended},
    )
    assert transcript.terminal_lateness() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no finished run"):
        attrs.evolve(transcript, run={"end_date": None}).terminal_lateness()


def test_epoch_reads_both_utc_spellings():
    assert epoch("2026-11-24T22:00:00Z") == epoch("2026-11-24T22:00:00+00:00") == 1795557600.0
