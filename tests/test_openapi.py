"""schemas/wait.openapi.json is valid OpenAPI 3.2, its examples hold, and it is true of what
Airflow 3.3.2 answered: the recorded streams, the measured interval values and error bodies.

The validator is openapi-spec-validator (the ``test`` extra): it checks a document against the
official OpenAPI 3.2 schema (so ``itemSchema`` and ``$self`` are understood, not waved through)
and then walks it, resolving every ``$ref`` it follows. It fetches those through the handlers
we give it, which serve our own schemas from ``conformance.schemas.registry()`` and nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import attrs
import httpx
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, OpenAPIV32SpecValidator

from conformance.clientkit.recordings import load_fixture, load_manifest
from conformance.paths import fixtures_dir
from conformance.plugin.pytest_fixtures import authenticated_client
from conformance.report.evidence import Evidence
from conformance.schemas import BASE_URI, registry
from conformance.suite import test_openapi as suite_openapi
from conformance.wire import openapi
from conformance.wire.stream import Line, Transcript
from conftest import recorded_transcript

DOCUMENT = openapi.description()
RESPONSES = openapi.operation()["responses"]


def offline_validator(base: type, fetched: list[str]) -> type:
    """``base`` (an openapi-spec-validator class) resolving references to our schemas only."""

    def local_schema(uri: str) -> Any:
        if not uri.startswith(BASE_URI):
            raise AssertionError(f"the validator tried to fetch {uri}")
        fetched.append(uri)
        return registry().contents(uri.split("#")[0])

    return type("Offline" + base.__name__, (base,), {"resolver_handlers": {"https": local_schema}})


def validation_errors(document: dict[str, Any], base: type = OpenAPIV32SpecValidator) -> list[str]:
    validator = offline_validator(base, [])(document, base_uri=document.get("$self", ""))
    return [error.message for error in validator.iter_errors()]


def test_the_description_is_valid_openapi_3_2_read_offline():
    fetched: list[str] = []
    validator = offline_validator(OpenAPIV32SpecValidator, fetched)(DOCUMENT, base_uri=DOCUMENT["$self"])
    assert [error.message for error in validator.iter_errors()] == []
    assert DOCUMENT["openapi"] == "3.2.0"
    assert set(fetched) == {BASE_URI + "http-error.schema.json"}  # the error bodies' schema, followed from here


def test_the_validator_reads_the_3_2_fields():
    """A broken itemSchema is caught, and the same document is refused as 3.1, which lacks it."""
    broken = json.loads(json.dumps(DOCUMENT))
    broken["paths"][openapi.WAIT_PATH]["get"]["responses"]["200"]["content"]["application/x-ndjson"]["itemSchema"] = 5
    assert validation_errors(broken) == ["5 is not of type 'object', 'boolean'"]
    as_3_1 = {**json.loads(json.dumps(DOCUMENT)), "openapi": "3.1.1"}
    refused_as_3_1 = validation_errors(as_3_1, OpenAPIV31SpecValidator)
    assert "Unevaluated properties are not allowed ('examples', 'itemSchema' were unexpected)" in refused_as_3_1
    assert "Unevaluated properties are not allowed ('$self' was unexpected)" in refused_as_3_1


def test_the_operation_is_described_as_measured():
    parameters = {parameter["name"]: parameter for parameter in openapi.operation()["parameters"]}
    assert {name: (p["in"], p.get("required", False)) for name, p in parameters.items()} == {
        "dag_id": ("path", True),
        "dag_run_id": ("path", True),
        "interval": ("query", True),
        "result": ("query", False),
    }
    assert (parameters["result"]["schema"]["type"], parameters["result"]["explode"]) == ("array", True)
    assert openapi.operation()["security"] == [{"bearer": []}]
    assert DOCUMENT["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert openapi.described_statuses() == [200, 401, 403, 404, 409, 422]
    assert list(RESPONSES["200"]["content"]) == ["application/x-ndjson"]
    assert RESPONSES["200"]["content"]["application/x-ndjson"]["itemSchema"] == {
        "$ref": BASE_URI + "wait-line.schema.json"
    }
    for status in ("401", "403", "404", "409", "422"):
        assert RESPONSES[status]["content"]["application/json"]["schema"] == {
            "$ref": BASE_URI + "http-error.schema.json"
        }


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def test_every_reference_is_one_of_our_schemas_by_its_id():
    refs = set(references(DOCUMENT))
    assert refs == {BASE_URI + "wait-line.schema.json", BASE_URI + "http-error.schema.json"}
    resolver = registry().resolver()
    assert all(resolver.lookup(ref).contents["$id"] == ref for ref in refs)


# --- the examples the document holds, each against its schema ---------------------------------


def serialized(parameter: dict[str, Any], value: Any) -> str:
    """A value as the parameter puts it on the wire: form-exploded in the query, escaped in the path."""
    if parameter["in"] == "path":
        return quote(str(value), safe="")
    values = value if isinstance(value, list) else [value]
    return urlencode([(parameter["name"], item) for item in values], quote_via=quote)


def parameter_examples() -> Iterator[Any]:
    for parameter in openapi.operation()["parameters"]:
        for name, example in parameter.get("examples", {}).items():
            yield pytest.param(parameter, example, id=f"{parameter['name']}/{name}")


def media_examples() -> Iterator[Any]:
    for status, response in RESPONSES.items():
        for media_type, media in response.get("content", {}).items():
            for name, example in media.get("examples", {}).items():
                yield pytest.param(int(status), media, example, id=f"{status}/{media_type}/{name}")


PARAMETER_EXAMPLES, MEDIA_EXAMPLES = list(parameter_examples()), list(media_examples())


def test_the_walk_finds_every_example_in_the_document():
    assert json.dumps(DOCUMENT).count('"dataValue"') == len(PARAMETER_EXAMPLES) + len(MEDIA_EXAMPLES)
    assert '"example"' not in json.dumps(DOCUMENT)  # only Example Objects, which say data or serialized form


@pytest.mark.parametrize(("parameter", "example"), PARAMETER_EXAMPLES)
def test_parameter_example(parameter, example):
    assert openapi.schema_validator(parameter["schema"]).is_valid(example["dataValue"])
    assert serialized(parameter, example["dataValue"]) == example["serializedValue"]


@pytest.mark.parametrize(("status", "media", "example"), MEDIA_EXAMPLES)
def test_response_example(status, media, example):
    data = example["dataValue"]
    if "itemSchema" in media:
        item_validator = openapi.schema_validator(media["itemSchema"])
        assert [item for item in data if not item_validator.is_valid(item)] == []
        assert [json.loads(line) for line in example["serializedValue"].splitlines()] == data
        assert openapi.body_problems(status, example["serializedValue"]) == []
    else:
        assert openapi.schema_validator(media["schema"]).is_valid(data)
        assert openapi.body_problems(status, json.dumps(data)) == []


# --- true of what 3.3.2 answered ---------------------------------------------------------------

RECORDED = [case["id"] for case in load_manifest()["cases"]]


@pytest.mark.parametrize("case_id", RECORDED)
def test_recorded_stream_is_as_described(case_id):
    fixture = load_fixture(case_id)
    request, response = fixture["request"], fixture["response"]
    assert openapi.query_problems(request["query"]) == []  # the request is a described one
    assert response["status"] in openapi.described_statuses()
    assert openapi.body_problems(response["status"], response["body"]) == []


@pytest.mark.parametrize("case_id", RECORDED)
def test_recorded_streams_lack_the_described_content_type(case_id):
    """What the 200's description says of 3.3.2 (and 3.4.0b2), and STREAM-CONTENT-TYPE-1 declares."""
    response = load_fixture(case_id)["response"]
    content_type = next((value for name, value in response["headers"] if name == "content-type"), None)
    assert openapi.media_type_problems(200, content_type) == [
        "no Content-Type; the description says application/x-ndjson for 200"
    ]


@pytest.mark.parametrize(
    ("interval", "answered"),
    [("1", 200), ("0.5", 200), ("inf", 200), ("0", 422), ("-1", 422), ("nan", 422), ("abc", 422), (None, 422)],
)
def test_the_interval_schema_admits_what_3_3_2_served_and_nothing_it_refused(interval, answered):
    query = [] if interval is None else [("interval", interval)]
    problems = openapi.query_problems(query + [("result", "compute")])
    assert (problems == []) == (answered == 200), problems


def test_result_takes_any_number_of_any_strings_but_interval_only_one_value():
    assert openapi.query_problems([("interval", "1"), ("result", ""), ("result", "a,b"), ("result", "grp.task")]) == []
    assert openapi.query_problems([("interval", "1"), ("interval", "2")]) == [
        "interval is given 2 times; it takes one value"
    ]
    assert openapi.query_problems([("interval", "abc")]) == [
        "interval=abc: 'abc' is not valid under any of the given schemas"
    ]


def schema_examples(schema: str) -> list[tuple[Any, bool]]:
    """The whole-schema examples of fixtures/schema-examples/ (a group names it, or $refs its $id)."""
    groups = json.loads((fixtures_dir() / "schema-examples" / schema.replace(".schema", "")).read_text())
    named = {schema, json.dumps({"$ref": BASE_URI + schema})}

    def name(group: dict[str, Any]) -> str:
        field = group["schema"]
        return field if isinstance(field, str) else json.dumps({"$ref": field.get("$ref")})

    return [(test["data"], test["valid"]) for group in groups if name(group) in named for test in group["tests"]]


@pytest.mark.parametrize("status", [401, 403, 404, 409, 422])
def test_error_bodies_are_judged_by_the_error_schema(status):
    examples = schema_examples("http-error.schema.json")
    assert examples and {valid for _, valid in examples} == {True, False}
    assert [valid for data, valid in examples] == [
        openapi.body_problems(status, json.dumps(data)) == [] for data, _ in examples
    ]


def test_a_stream_is_judged_line_by_line():
    assert openapi.body_problems(200, '{"state": "running"}\n{"state": "success", "results": {"a": 1}}\n') == []
    assert openapi.body_problems(200, '{"state": "running"}\r\n{"state": "success"}') == []  # CRLF, no final newline
    [results_too_early] = openapi.body_problems(
        200, '{"state": "running", "results": {"a": 1}}\n{"state": "success"}\n'
    )
    assert results_too_early.startswith('line 1 \'{"state": "running", "results": {"a": 1}}\': ')
    [not_json] = openapi.body_problems(200, '{"state": "running"}\n{"state": "succ')
    assert not_json.startswith("line 2 is not JSON")
    assert openapi.body_problems(200, "") == ["the stream has no line"]


def test_media_type_is_checked_against_the_description():
    assert openapi.media_type_problems(404, "application/json; charset=utf-8") == []
    assert openapi.media_type_problems(404, "text/html") == [
        "Content-Type 'text/html'; the description says application/json for 404"
    ]
    assert openapi.media_type_problems(422, None) == ["no Content-Type; the description says application/json for 422"]
    assert openapi.body_problems(401, "<html>")[0].startswith("the body is not JSON")


# --- the suite's test (conformance/suite/test_openapi.py), run on what 3.3.2 answered ----------

RECORDED_RUN = "conformance-20261201T153704-0d33fc"  # the run of dag_return in fixtures/reports/airflow-3.3.2
ADMIN_TOKEN = "admin-token"


def recorded_refusals() -> dict[tuple[str, str | None], tuple[int, str]]:
    """The 4xx answers in the committed 3.3.2 report, by request path and who sent it ("admin",
    or the Authorization an anonymous request showed, None for none)."""
    report = json.loads((fixtures_dir() / "reports" / "airflow-3.3.2" / "report.json").read_text())
    answers = {}
    for clause in report["clauses"]:
        for item in clause["evidence"]:
            request = item["request"]
            if request and request["sender"] in ("admin", "anonymous") and (item["status"] or 0) >= 400:
                who = "admin" if request["sender"] == "admin" else request["headers"].get("Authorization")
                answers[(request["url"], who)] = (item["status"], "".join(line["text"] for line in item["lines"]))
    return answers


def replay(doctor: Callable[[httpx.Response], httpx.Response] = lambda response: response) -> httpx.MockTransport:
    """A transport answering as 3.3.2 did, passed through ``doctor``. The report keeps no response
    headers; the Content-Type is FastAPI's for an error body, application/json."""
    answers = recorded_refusals()

    def answer(request: httpx.Request) -> httpx.Response:
        authorization = request.headers.get("Authorization")
        who = "admin" if authorization == f"Bearer {ADMIN_TOKEN}" else authorization
        status, text = answers[(request.url.raw_path.decode(), who)]
        return doctor(httpx.Response(status, text=text, headers={"content-type": "application/json"}))

    return httpx.MockTransport(answer)


class RecordedSession:
    """Stands in for ``airflow_session``: the committed recordings and run id."""

    base_url = "http://airflow.invalid"

    def run_id(self, dag_id: str) -> str:
        assert dag_id == suite_openapi.FINISHED_DAG
        return RECORDED_RUN

    def transcript(self, case_id: str) -> Transcript:
        return recorded_transcript(case_id)


def run_refused(which: str, transport: httpx.MockTransport) -> Evidence:
    evidence = Evidence()
    with authenticated_client(RecordedSession.base_url, ADMIN_TOKEN, "admin", transport=transport) as wait_http:
        suite_openapi.test_refused_request_is_answered_as_described(which, RecordedSession(), wait_http, evidence)
    return evidence


@pytest.mark.parametrize("which", list(suite_openapi.REFUSED))
def test_the_suite_test_passes_on_the_refusals_3_3_2_sent(which):
    evidence = run_refused(which, replay())
    [request] = [item["request"] for item in evidence.items if item["request"]]
    instead = suite_openapi.REFUSED[which][3]
    assert (request["sender"], request["headers"]) == (("admin", {}) if instead is None else ("anonymous", instead))
    assert "admin-token" not in json.dumps(evidence.items)


def test_the_described_statuses_of_the_refusals_are_the_measured_ones():
    assert [status for status, *_ in suite_openapi.REFUSED.values()] == [404, 422, 401, 403]
    assert {status for status, *_ in suite_openapi.REFUSED.values()} <= set(openapi.described_statuses())
    zero_interval = list(suite_openapi.REFUSED["zero-interval"][2].items())
    assert openapi.query_problems(zero_interval) != []  # the description itself says it is refused


@pytest.mark.parametrize(
    ("doctor", "message"),
    [
        (lambda response: httpx.Response(500, text="Internal Server Error"), "500: Internal Server Error"),
        (
            lambda response: httpx.Response(
                response.status_code, text=response.text, headers={"content-type": "text/html"}
            ),
            "Content-Type 'text/html'",
        ),
        (
            lambda response: httpx.Response(response.status_code, json={"message": "nope"}),
            "'detail' is a required property",
        ),
    ],
    ids=["server-error", "html", "another-body"],
)
def test_the_suite_test_fails_on_answers_the_description_does_not_give(doctor, message):
    with pytest.raises(AssertionError, match=re.escape(message)):
        run_refused("unknown-run", replay(doctor))


@pytest.mark.parametrize("case_id", RECORDED)
def test_the_suite_stream_test_passes_on_every_recording(case_id):
    suite_openapi.test_recorded_stream_is_as_described(case_id, RecordedSession(), Evidence())


def test_the_suite_stream_test_fails_on_results_before_the_end():
    class Doctored(RecordedSession):
        def transcript(self, case_id: str) -> Transcript:
            recorded = recorded_transcript(case_id)
            early = Line('{"state": "running", "results": {"compute": 84}}\n', 0.0)
            return attrs.evolve(recorded, lines=(early, *recorded.lines))

    with pytest.raises(AssertionError, match="line 1"):
        suite_openapi.test_recorded_stream_is_as_described("dag-return", Doctored(), Evidence())
