"""The doc's curl lines are kept verbatim and translated to exactly the request curl makes."""

import json

import httpx
import pytest

from conformance.catalog.clauses import load_clauses
from conformance.catalog.doc_examples import CurlRequest, load_doc_examples, parse_curl
from conformance.paths import dags_dir, fixtures_dir
from conformance.schemas import validator

EXAMPLES = load_doc_examples()
BASE_URL, RUN_ID = "http://127.0.0.1:9999", "conformance-20260101T000000-abcdef"


def test_file_matches_its_schema():
    document = json.loads((fixtures_dir() / "doc-examples.json").read_text())
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in validator("doc-examples.schema.json").iter_errors(document)
    ]
    assert errors == []


def test_ids_are_unique_and_clauses_and_dags_exist():
    assert len({example.id for example in EXAMPLES}) == len(EXAMPLES)
    for example in EXAMPLES:
        assert set(example.clauses) <= set(load_clauses()), example.id
        assert (dags_dir() / f"{example.dag_id}.py").is_file(), example.id


@pytest.mark.parametrize(
    ("command", "request_"),
    [
        ('curl -s "http://h/x?result="', CurlRequest("GET", "http://h/x?result=")),
        ("curl --silent 'http://h/x'", CurlRequest("GET", "http://h/x")),
        (
            'curl -X POST -H "Accept: application/json" http://h/x',
            CurlRequest("POST", "http://h/x", (("Accept", "application/json"),)),
        ),
    ],
    ids=["doc-form", "long-option", "method-and-header"],
)
def test_parse_curl(command, request_):
    assert parse_curl(command) == request_


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("wget http://h/x", "not a curl command"),
        ("curl -d '{}' http://h/x", "curl option -d is not translated"),
        ("curl -s", "no URL"),
        ("curl http://h/a http://h/b", "more than one URL"),
        ("curl -H", "-H without a value"),
    ],
    ids=["not-curl", "unknown-option", "no-url", "two-urls", "dangling-header"],
)
def test_parse_curl_refuses_what_it_does_not_translate(command, message):
    with pytest.raises(ValueError, match=message):
        parse_curl(command)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.id)
def test_only_placeholders_and_made_up_names_are_replaced(example):
    command = example.command(BASE_URL + "/", RUN_ID)
    for literal in [*example.substitute, *example.placeholders]:
        assert literal not in command
    # everything else is the doc's text, character for character
    back = command.replace(BASE_URL, "http://localhost:8080").replace(RUN_ID, "<run_id>")
    for literal, value in example.substitute.items():
        back = back.replace(value, literal)
    assert back == example.text


def sent(example) -> httpx.Request:
    requests = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, text='{"state": "success"}\n')

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        client.send(example.request(BASE_URL, RUN_ID, "tok"))
    return requests[0]


def test_the_request_is_the_one_curl_sends_plus_a_token():
    by_id = {example.id: example for example in EXAMPLES}
    request = sent(by_id["wait-result-empty"])
    assert request.method == "GET"
    assert request.url.raw_path == f"/api/v2/dags/dag_return/dagRuns/{RUN_ID}/wait?result=".encode()
    assert dict(request.headers) == {
        "host": "127.0.0.1:9999",
        "user-agent": "curl/8",
        "accept": "*/*",
        "authorization": "Bearer tok",
    }
    assert sent(by_id["wait-declared-result"]).url.raw_path == f"/api/v2/dags/dag_return/dagRuns/{RUN_ID}/wait".encode()
