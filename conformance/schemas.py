"""The project's JSON Schemas, loaded into one ``referencing`` registry.

Schemas refer to each other by their absolute ``$id`` (``cases.schema.json`` reuses the task-id
rule of ``wait-line.schema.json``), so they are all registered up front and validators are
built against that registry rather than by reading files relative to each other.

The fixture files name their schema the same way: ``"$schema"`` holds the schema's ``$id``, an
absolute name that stays right wherever the file is copied. The ``$id``s are names, not
addresses (``.invalid`` never resolves): :func:`validator_for` finds a document's schema in the
registry and never fetches anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from conformance.paths import schemas_dir

BASE_URI = "https://airflow-dag-result-conformance.invalid/schemas/"


def schema_id(name: str) -> str:
    """The ``$id`` of ``schemas/<name>`` (e.g. ``"cases.schema.json"``)."""
    return BASE_URI + name


@cache
def registry() -> Registry:
    resources = []
    for path in sorted(schemas_dir().glob("*.schema.json")):
        resource = Resource.from_contents(json.loads(path.read_text()))
        if resource.id() != BASE_URI + path.name:
            raise ValueError(f"{path.name} has $id {resource.id()!r}, expected {BASE_URI + path.name!r}")
        resources.append((resource.id(), resource))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator for ``schemas/<name>`` (e.g. ``"wait-line.schema.json"``)."""
    schema = registry().contents(BASE_URI + name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry())


def validator_for(document: Mapping[str, Any]) -> Draft202012Validator:
    """A validator for the schema a document names in ``$schema``: the ``$id`` of one of ours."""
    named = document.get("$schema")
    if not isinstance(named, str) or not named.startswith(BASE_URI):
        raise ValueError(f"$schema is {named!r}: expected the $id of one of the project's schemas, {BASE_URI}<name>")
    return validator(named.removeprefix(BASE_URI))
