"""The OpenAPI description of /wait (``schemas/wait.openapi.json``), and what it says of an exchange.

The description is written for client generators; the suite holds live responses against it
(clause OPENAPI-1) so that it stays true of the server. Each ``*_problems`` function returns
sentences saying what is wrong, an empty list meaning nothing is, as :mod:`conformance.wire.checks` does.

It refers to ``wait-line.schema.json`` and ``http-error.schema.json`` by their ``$id``, which
:func:`conformance.schemas.registry` holds, so nothing is ever fetched. A 200 is a sequential
media type (NDJSON): its ``itemSchema`` applies to each line on its own (OpenAPI 3.2, "Streaming
Sequential Media Types"). Every other status has one JSON body, checked against its ``schema``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from conformance.paths import schemas_dir
from conformance.schemas import registry
from conformance.wire import strict_json

DESCRIPTION_FILE = "wait.openapi.json"
WAIT_PATH = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/wait"


@cache
def description() -> dict[str, Any]:
    """The whole OpenAPI document, parsed."""
    return json.loads((schemas_dir() / DESCRIPTION_FILE).read_text())


def operation() -> Mapping[str, Any]:
    """The one operation it describes: GET on :data:`WAIT_PATH`."""
    return description()["paths"][WAIT_PATH]["get"]


def described_statuses() -> list[int]:
    return sorted(int(status) for status in operation()["responses"])


def schema_validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """A validator for a Schema Object of the description, resolving ``$ref`` in our registry."""
    return Draft202012Validator(schema, registry=registry())


def _media(status: int) -> tuple[str, Mapping[str, Any]]:
    """The media type described for ``status`` and its Media Type Object (one per status here)."""
    content = operation()["responses"][str(status)].get("content", {})
    if len(content) != 1:
        raise ValueError(f"the description gives status {status} {len(content)} media types; expected one")
    return next(iter(content.items()))


def media_type_problems(status: int, content_type: str | None) -> list[str]:
    """The Content-Type header names the media type described for ``status`` (parameters aside)."""
    described, _ = _media(status)
    if content_type is None:
        return [f"no Content-Type; the description says {described} for {status}"]
    sent = content_type.split(";")[0].strip().lower()
    return (
        [] if sent == described else [f"Content-Type {content_type!r}; the description says {described} for {status}"]
    )


def body_problems(status: int, body: str) -> list[str]:
    """The body is what the description says for ``status``: each NDJSON line valid against the
    ``itemSchema``, or the whole body one JSON text valid against the ``schema``."""
    _, media = _media(status)
    if "itemSchema" in media:
        return _items_problems(body, schema_validator(media["itemSchema"]))
    return _value_problems("the body", body, schema_validator(media["schema"]))


def _items_problems(body: str, validator: Draft202012Validator) -> list[str]:
    """NDJSON items: one per newline-terminated line, a final unterminated one included."""
    pieces = body.split("\n")
    if pieces[-1] == "":
        pieces.pop()
    if not pieces:
        return ["the stream has no line"]
    problems = []
    for number, piece in enumerate(pieces, start=1):
        problems += _value_problems(f"line {number}", piece.removesuffix("\r"), validator)
    return problems


def _value_problems(where: str, text: str, validator: Draft202012Validator) -> list[str]:
    try:
        value = strict_json.loads(text)
    except ValueError as exc:
        return [f"{where} is not JSON ({exc}): {text[:100]!r}"]
    return [f"{where} {text[:100]!r}: {error.message}" for error in validator.iter_errors(value)]


def query_problems(query: Sequence[tuple[str, str]]) -> list[str]:
    """Whether a request's query is one the described query parameters admit.

    Values arrive as text. An array parameter (``result``) takes every value given for it, as
    strings; any other takes its one value, as a number where the text reads as a finite one
    (as the server parses ``interval``), else as the text. Names not described are ignored.
    """
    problems = []
    for parameter in operation()["parameters"]:
        if parameter["in"] != "query":
            continue
        name, schema = parameter["name"], parameter["schema"]
        values = [value for key, value in query if key == name]
        if not values:
            problems += [f"{name} is required but absent"] if parameter.get("required") else []
            continue
        if schema.get("type") == "array":
            datum: Any = values
        elif len(values) > 1:
            problems.append(f"{name} is given {len(values)} times; it takes one value")
            continue
        else:
            datum = _scalar(values[0])
        sent = "&".join(f"{name}={value}" for value in values)
        problems += [f"{sent}: {error.message}" for error in schema_validator(schema).iter_errors(datum)]
    return problems


def _scalar(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text
