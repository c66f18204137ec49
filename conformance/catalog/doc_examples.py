"""The doc's own request examples, run as written.

The DAG Result doc shows its requests as curl command lines. ``fixtures/doc-examples.json``
keeps each one verbatim, with only the substitutions needed to aim it at a real server: names
the doc made up (``my_dag``, ``some_task_id``) become a fixture DAG and one of its tasks, and
the placeholders (``http://localhost:8080``, ``<run_id>``) become the server under test and a
finished run. Nothing else changes: the command is read as curl reads it and sent with the
headers curl sends, plus the bearer token the server needs, so a parameter the doc leaves out
stays out, and the suite can say which examples work as written.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

import attrs
import httpx

from conformance.paths import fixtures_dir

# What curl sends unasked; notably no Accept-Encoding, so the body comes back uncompressed.
CURL_HEADERS = (("User-Agent", "curl/8"), ("Accept", "*/*"))
_SILENT = {"-s", "--silent"}  # output options only; they change nothing on the wire


@attrs.frozen
class CurlRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()


def parse_curl(command: str) -> CurlRequest:
    """The request a curl command line makes, for the few options the doc's examples use.

    Understood: ``-s``/``--silent``, ``-H``/``--header``, ``-X``/``--request`` and one URL.
    Anything else raises ValueError, so a new kind of doc example gets translated by a person
    rather than run differently from what the doc says.
    """
    words = shlex.split(command)
    if not words or words[0] != "curl":
        raise ValueError(f"not a curl command: {command!r}")
    method, url, headers = "GET", None, []
    rest = iter(words[1:])
    for word in rest:
        if word in _SILENT:
            continue
        if word in ("-H", "--header", "-X", "--request"):
            value = next(rest, None)
            if value is None:
                raise ValueError(f"{word} without a value in {command!r}")
            if word in ("-X", "--request"):
                method = value
            else:
                name, _, header_value = value.partition(":")
                headers.append((name.strip(), header_value.strip()))
        elif word.startswith("-"):
            raise ValueError(f"curl option {word} is not translated (in {command!r})")
        elif url is not None:
            raise ValueError(f"more than one URL in {command!r}")
        else:
            url = word
    if url is None:
        raise ValueError(f"no URL in {command!r}")
    return CurlRequest(method=method, url=url, headers=tuple(headers))


@attrs.frozen
class DocExample:
    id: str
    description: str
    text: str
    substitute: Mapping[str, str]
    dag_id: str
    expect: Mapping[str, Any]
    clauses: tuple[str, ...] = attrs.field(converter=tuple)
    placeholders: Mapping[str, str] = attrs.field(factory=dict)

    def command(self, base_url: str, run_id: str) -> str:
        """The doc's command with its made-up names and placeholders filled in, and nothing else changed."""
        values = {"base_url": base_url.rstrip("/"), "run_id": run_id}
        text = self.text
        for literal, value in self.substitute.items():
            text = text.replace(literal, value)
        for literal, name in self.placeholders.items():
            text = text.replace(literal, values[name])
        return text

    def request(self, base_url: str, run_id: str, token: str) -> httpx.Request:
        """The request curl would send for :meth:`command`, with only a bearer token added."""
        curl = parse_curl(self.command(base_url, run_id))
        headers = [*CURL_HEADERS, *curl.headers, ("Authorization", f"Bearer {token}")]
        return httpx.Request(curl.method, curl.url, headers=headers)


def load_doc_examples() -> list[DocExample]:
    document = json.loads((fixtures_dir() / "doc-examples.json").read_text())
    return [DocExample(**example, placeholders=document["placeholders"]) for example in document["examples"]]
