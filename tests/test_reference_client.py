"""The reference client gives every corpus body its verdict, and talks to /wait as documented."""

import json
import re
import socket
import time

import httpx
import pytest

from conformance.clientkit.reference_client import (
    StreamError,
    WaitResult,
    WaitTimeout,
    main,
    parse_stream,
    wait_for_result,
    wait_for_url,
)
from conformance.clientkit.replay import ReplayServer
from conformance.clientkit.replay_cases import load_replay_cases
from conformance.paths import fixtures_dir
from conformance.schemas import validator

BASE_URL = "http://airflow.test"
RUNNING = b'{"state": "running"}\n'

CORPUS = json.loads((fixtures_dir() / "negative-streams.json").read_text())
CASES = json.loads((fixtures_dir() / "cases.json").read_text())["cases"]
# Cases about bytes or HTTP framing: their body text alone does not decide them (or there is
# none), so they are judged over HTTP, by the replay server, further down.
OVER_HTTP_ONLY = ("body_base64", "status", "content_encoding", "cut")
BODY_CASES = [case for case in CORPUS["cases"] if not any(key in case for key in OVER_HTTP_ONLY)]


def ndjson_lines(body: str) -> list[str]:
    """``body`` split after each newline, terminators kept: NDJSON framing.

    Not ``str.splitlines``: that also splits on ``\\r``, U+0085 and U+2028, which the corpus
    uses precisely to catch clients that do (see the last test of this group).
    """
    lines = body.split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


# --- the negative corpus -------------------------------------------------------------------------


def test_corpus_matches_its_schema():
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator("negative-streams.schema.json").iter_errors(CORPUS)
    ]
    assert errors == []


def test_corpus_ids_are_unique_and_cover_the_required_kinds():
    ids = [case["id"] for case in CORPUS["cases"]]
    assert len(ids) == len(set(ids))
    assert {
        "truncated-last-line",
        "ends-after-running",
        "empty-body",
        "results-on-running-line",
        "invalid-json-mid-stream",
        "blank-lines-between",
        "crlf-framing",
        "no-final-newline",
        "error-detail-mid-stream",
        "line-after-terminal",
        "unknown-state",
        "extra-top-level-key",
        "json-array-line",
        "extra-key-on-poll-line",
        "known-key-in-other-case",
        "http-404-extra-member",
    } <= set(ids)


@pytest.mark.parametrize("case", BODY_CASES, ids=lambda case: case["id"])
def test_corpus_case(case):
    if case["verdict"] == "reject":
        with pytest.raises(StreamError) as raised:
            parse_stream(ndjson_lines(case["body"]))
        message = str(raised.value)
        assert message.startswith("line ") or "ended" in message or "empty" in message
    else:
        result = parse_stream(ndjson_lines(case["body"]))
        assert (result.state, result.results) == (case["expect"]["state"], case["expect"].get("results"))
        assert result.lines[-1] == case["expect"]
        assert json.dumps(result.lines[-1]) == json.dumps(case["expect"])  # keys in wire order, at every depth


@pytest.mark.parametrize(
    ("case_id", "message"),
    [
        ("truncated-last-line", "line 3: the stream ended inside this line"),
        ("ends-after-running", "the stream ended while the run was still running (after line 3)"),
        ("empty-body", "the stream was empty"),
        ("results-on-running-line", 'line 1: results on a non-terminal line ({"state": "running", '),
        ("invalid-json-mid-stream", "line 2: not valid JSON"),
        ("error-detail-mid-stream", 'line 2: the server reported an error mid-stream: "Internal Server Error"'),
        ("line-after-terminal", "line 3: a line after the terminal 'success' line"),
        ("unknown-state", "line 2: not a valid /wait line ('skipped' is not one of"),
        ("cr-only-framing", "line 1: not valid JSON (Extra data"),
        (
            "known-key-in-other-case",
            'line 2: key "Results" is "results" in another case, which a reader that ignores case takes for it',
        ),
    ],
)
def test_rejections_say_where_and_what(case_id, message):
    body = next(case["body"] for case in CORPUS["cases"] if case["id"] == case_id)
    with pytest.raises(StreamError, match="^" + re.escape(message)):
        parse_stream(ndjson_lines(body))


WAIT_LINE_EXAMPLES = [
    pytest.param(test["data"], test["valid"], id=f"{group['description']}/{test['description']}")
    for group in json.loads((fixtures_dir() / "schema-examples" / "wait-line.json").read_text())
    for test in group["tests"]
]


@pytest.mark.parametrize(("data", "valid"), WAIT_LINE_EXAMPLES)
def test_the_client_reads_each_line_example_as_the_schema_does(data, valid):
    """The client's checks and wait-line.schema.json agree, unknown keys and case collisions included."""
    try:
        parse_stream([json.dumps(data) + "\n"])
        accepted = True
    except StreamError as exc:
        accepted = "ended while" in str(exc)  # a valid poll line alone: no terminal line, not a bad line
    assert accepted == valid


@pytest.mark.parametrize(
    "line",
    [
        '{"state": "success", "Results": {"t": 1}}',
        '{"state": "success", "results": {"t": 1}, "RESULTS": {"t": 2}}',
        '{"State": "success"}',
        '{"state": "running", "sTaTe": "success"}',
        '{"state": "success", "\u017ftate": "failed"}',
        '{"state": "success", "re\u017fult\u017f": {"t": 1}}',
    ],
)
def test_a_known_key_in_another_case_is_rejected(line):
    with pytest.raises(StreamError, match=r'^line 1: key "[^"]+" is "(state|results)" in another case'):
        parse_stream([line + "\n"])


def test_unknown_keys_are_ignored_and_not_returned():
    body = [
        '{"state": "queued", "queue_position": 3}\n',
        '{"state": "running", "detail": "still going", "States": 1, "State\\n": 2}\n',
        '{"x": 0, "state": "success", "dag_run_url": "/r", "results": {"t": {"keep": 1}}, "z": [1]}\n',
    ]
    result = parse_stream(body)
    assert result == WaitResult(
        "success",
        {"t": {"keep": 1}},
        ({"state": "queued"}, {"state": "running"}, {"state": "success", "results": {"t": {"keep": 1}}}),
    )
    assert list(result.lines[-1]) == ["state", "results"]


def test_blank_lines_count_in_line_numbers():
    with pytest.raises(StreamError, match="^line 4: results on a non-terminal line"):
        parse_stream(["\n", RUNNING.decode(), " \r\n", '{"state": "queued", "results": {"t": 1}}\n'])


def test_parse_stream_is_lazy_and_reads_to_the_end():
    consumed = []

    def lines():
        for raw in ['{"state": "running"}\n', '{"state": "success"}\n', "\n"]:
            consumed.append(raw)
            yield raw

    assert parse_stream(lines()) == WaitResult("success", None, ({"state": "running"}, {"state": "success"}))
    assert len(consumed) == 3


def test_generic_line_splitting_misreads_exactly_the_framing_cases():
    """Why clients must frame on newline only: str.splitlines flips these two verdicts."""
    flipped = []
    for case in BODY_CASES:
        try:
            parse_stream(case["body"].splitlines(keepends=True))
            verdict = "accept"
        except StreamError:
            verdict = "reject"
        if verdict != case["verdict"]:
            flipped.append(case["id"])
    assert flipped == ["cr-only-framing", "line-separator-in-value"]


# --- the positive cases --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", [case for case in CASES if "string_digests" not in case["expect"]], ids=lambda case: case["id"]
)
def test_every_expected_terminal_line_of_cases_json_is_accepted(case):
    terminal = {key: case["expect"][key] for key in ("state", "results") if key in case["expect"]}
    result = parse_stream(ndjson_lines('{"state": "running"}\n' + json.dumps(terminal) + "\n"))
    assert (result.state, result.results) == (terminal["state"], terminal.get("results"))


# --- wait_for_result over a mock transport -------------------------------------------------------


def serve(handler) -> httpx.Client:
    return httpx.Client(base_url=BASE_URL, transport=httpx.MockTransport(handler))


def stream(*parts: bytes, then=None):
    """A sync byte iterator yielding ``parts``, then calling ``then`` (to raise or stall)."""
    yield from parts
    if then is not None:
        then()


def test_success_sends_the_query_and_returns_the_terminal_line():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        # a line split across chunks, CRLF framing, and a character split across chunks
        body = stream(
            b'{"state": "que',
            b'ued"}\r\n' + RUNNING,
            b'{"state": "success", "results": {"t": "caf',
            'é"}}\n'.encode()[:1],
            'é"}}\n'.encode()[1:],
        )
        return httpx.Response(200, content=body)

    with serve(handler) as client:
        result = wait_for_result(
            "ignored",
            "d",
            "manual__2025-01-01T00:00:00+00:00",
            token="tok",
            interval=2,
            result=["t", "u"],
            client=client,
        )

    assert result == WaitResult(
        "success",
        {"t": "café"},
        ({"state": "queued"}, {"state": "running"}, {"state": "success", "results": {"t": "café"}}),
    )
    (request,) = seen
    assert request.url.path == "/api/v2/dags/d/dagRuns/manual__2025-01-01T00:00:00+00:00/wait"
    assert b"%2B00%3A00" in request.url.raw_path  # '+' escaped, so no server reads it as a space
    assert request.url.params.multi_items() == [("interval", "2"), ("result", "t"), ("result", "u")]
    assert request.headers["authorization"] == "Bearer tok"


@pytest.mark.parametrize(
    ("result", "params"),
    [
        ([], [("interval", "1.0"), ("result", "")]),
        (None, [("interval", "1.0")]),
        (("a",), [("interval", "1.0"), ("result", "a")]),
    ],
    ids=["empty-suppresses", "none-omits", "tuple"],
)
def test_result_parameter(result, params):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params.multi_items())
        assert "authorization" not in request.headers  # no token given, none sent
        return httpx.Response(200, content=b'{"state": "success"}\n')

    with serve(handler) as client:
        assert wait_for_result(BASE_URL, "d", "r", result=result, client=client).results is None
    assert seen == [params]


def test_one_string_is_not_taken_for_a_list_of_task_ids():
    with pytest.raises(TypeError):
        wait_for_result(BASE_URL, "d", "r", result="compute", client=serve(lambda request: httpx.Response(200)))


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, {"detail": "The DagRun with dag_id: `d` and run_id: `r` was not found"}, "The DagRun with dag_id: `d`"),
        (
            422,
            {"detail": [{"type": "missing", "loc": ["query", "interval"], "msg": "Field required"}]},
            "query.interval: Field required",
        ),
        (401, {"detail": "Not authenticated"}, "Not authenticated"),
        (
            404,
            {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "No such run"},
            "answered 404 Not Found: No such run",
        ),
    ],
    ids=["404", "422", "401", "404-extra-members"],
)
def test_an_error_status_raises_with_status_and_detail(status, body, expected):
    with serve(lambda request: httpx.Response(status, json=body)) as client, pytest.raises(StreamError) as raised:
        wait_for_result(BASE_URL, "d", "r", client=client)
    assert str(status) in str(raised.value) and expected in str(raised.value)


def test_an_error_status_without_json_shows_the_body():
    with (
        serve(lambda request: httpx.Response(502, text="Bad Gateway from the proxy")) as client,
        pytest.raises(StreamError, match="502 Bad Gateway: Bad Gateway from the proxy"),
    ):
        wait_for_result(BASE_URL, "d", "r", client=client)


def test_a_stream_that_never_ends_hits_the_deadline():
    def forever():
        while True:
            yield RUNNING
            time.sleep(0.01)

    with (
        serve(lambda request: httpx.Response(200, content=forever())) as client,
        pytest.raises(
            WaitTimeout, match=r"^the run had not finished after 0\.2 s \(its state was still running\)"
        ) as raised,
    ):
        wait_for_result(BASE_URL, "d", "r", timeout=0.2, client=client)
    assert isinstance(raised.value, TimeoutError) and isinstance(raised.value, StreamError)


def _raise(exc: Exception):
    def then():
        raise exc

    return then


@pytest.mark.parametrize(
    ("exc", "kind", "message"),
    [
        (httpx.ReadTimeout("timed out"), WaitTimeout, "the server sent nothing for 2 s after line 1 (ReadTimeout)"),
        (
            httpx.RemoteProtocolError("peer closed"),
            StreamError,
            "the connection failed after line 1: RemoteProtocolError: peer closed",
        ),
    ],
    ids=["read-timeout", "connection-lost"],
)
def test_transport_errors_mid_stream(exc, kind, message):
    with (
        serve(lambda request: httpx.Response(200, content=stream(RUNNING, b'{"sta', then=_raise(exc)))) as client,
        pytest.raises(kind) as raised,
    ):
        wait_for_result(BASE_URL, "d", "r", timeout=2, client=client)
    assert str(raised.value) == message


def test_an_invalid_stream_is_rejected_like_the_corpus_says():
    with (
        serve(lambda request: httpx.Response(200, content=stream(RUNNING, b'{"detail": "boom"}\n'))) as client,
        pytest.raises(StreamError, match='^line 2: the server reported an error mid-stream: "boom"'),
    ):
        wait_for_result(BASE_URL, "d", "r", client=client)


def test_a_line_that_is_not_utf8_is_rejected():
    with (
        serve(lambda request: httpx.Response(200, content=stream(RUNNING, b'{"state": "\xff"}\n'))) as client,
        pytest.raises(StreamError, match="^line 2: not valid UTF-8"),
    ):
        wait_for_result(BASE_URL, "d", "r", client=client)


def test_without_a_client_one_is_made_and_an_unreachable_server_is_one_sentence():
    with socket.socket() as sock:  # a loopback port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StreamError, match="^the connection failed before the first line: ConnectError"):
        wait_for_result(f"http://127.0.0.1:{port}", "d", "r", timeout=5)


# --- every replayed case, over real loopback HTTP ------------------------------------------------

REPLAYED = load_replay_cases()


@pytest.fixture(scope="module")
def replay():
    with ReplayServer(REPLAYED, speed=0) as server:
        yield server


def test_the_corpus_has_byte_level_and_http_cases():
    kinds = {key for case in CORPUS["cases"] for key in OVER_HTTP_ONLY + ("chunk_sizes",) if key in case}
    assert kinds == {"body_base64", "status", "content_encoding", "cut", "chunk_sizes"}
    assert {case.get("status", 200) for case in CORPUS["cases"]} >= {200, 401, 403, 404, 422}


@pytest.mark.parametrize("case_id", REPLAYED, ids=str)
def test_every_replayed_case_gets_its_label(case_id, replay):
    label = REPLAYED[case_id].label
    if label.verdict == "reject":
        with pytest.raises(StreamError):
            wait_for_url(replay.case_url(case_id), timeout=10)
    else:
        result = wait_for_url(replay.case_url(case_id), timeout=10)
        assert result.lines[-1]["state"] == label.expect["state"]
        if "string_digests" not in label.expect:
            assert json.dumps(result.lines[-1]) == json.dumps(dict(label.expect))  # keys in wire order, at every depth


@pytest.mark.parametrize(
    ("case_id", "message"),
    [
        ("utf8-bom", "line 1: starts with a byte order mark (U+FEFF)"),
        ("invalid-utf8-in-value", "line 2: not valid UTF-8"),
        ("gzip-cut-mid-line", "line 2: the stream ended inside this line"),
        ("cut-mid-line", "the connection failed after line 2: RemoteProtocolError"),
        ("cut-mid-chunk", "the connection failed after line 2: RemoteProtocolError"),
        ("cut-after-terminal-line", "the connection failed after line 2: RemoteProtocolError"),
        (
            "http-404-unknown-run",
            "GET /negative/http-404-unknown-run/api/v2/dags/negative_streams/dagRuns/replay/wait answered 404 Not Found: The DagRun",
        ),
        (
            "http-422-interval-missing",
            "GET /negative/http-422-interval-missing/api/v2/dags/negative_streams/dagRuns/replay/wait answered 422 Unprocessable Entity: query.interval: Field required",
        ),
        (
            "http-404-extra-member",
            (
                "GET /negative/http-404-extra-member/api/v2/dags/negative_streams/dagRuns/replay/wait answered 404 Not Found: "
                "The DagRun with dag_id: `dag_return` and run_id: `no-such-run` was not found$"
            ),
        ),
    ],
)
def test_byte_level_rejections_say_what(case_id, message, replay):
    pattern = re.escape(message.removesuffix("$")) + ("$" if message.endswith("$") else "")
    with pytest.raises(StreamError, match="^" + pattern):
        wait_for_url(replay.case_url(case_id), timeout=10)


def test_wait_for_url_sends_the_query_as_given_and_reads_its_interval():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.url.params.multi_items(), request.headers.get("authorization")))
        return httpx.Response(200, content=b'{"state": "success"}\n')

    with serve(handler) as client:
        assert (
            wait_for_url("/api/v2/dags/d/dagRuns/r/wait?interval=7&result=a&result=", token="t", client=client).state
            == "success"
        )
    assert seen == [("/api/v2/dags/d/dagRuns/r/wait", [("interval", "7"), ("result", "a"), ("result", "")], "Bearer t")]


def test_the_command_prints_the_terminal_line_or_the_error(replay, capsys):
    assert main([replay.case_url("two-results")]) == 0
    assert capsys.readouterr().out == '{"state": "success", "results": {"alpha": "a", "zulu": "z"}}\n'
    assert main([replay.case_url("extra-top-level-key")]) == 0
    assert capsys.readouterr().out == '{"state": "success"}\n'  # CLIENT-LINE-3: the unknown run_id is not passed on
    assert main([replay.case_url("line-after-terminal")]) == 1
    out = capsys.readouterr().out
    assert json.loads(out) == {"error": 'line 3: a line after the terminal \'success\' line ({"state": "running"})'}


def test_the_command_takes_the_url_from_the_environment_or_says_it_needs_one(replay, capsys, monkeypatch):
    monkeypatch.setenv("AIRFLOW_WAIT_URL", replay.case_url("terminal-only"))
    assert main([]) == 0
    assert capsys.readouterr().out == '{"state": "failed"}\n'
    monkeypatch.delenv("AIRFLOW_WAIT_URL")
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 4
    assert capsys.readouterr().err == (
        "python -m conformance.reference_client: give the /wait URL as the last argument or in AIRFLOW_WAIT_URL; "
        "see python -m conformance.reference_client --help.\n"
    )
