"""The project's JSON Schemas, loaded into one ``referencing`` registry.

Schemas refer to each other by their absolute ``$id`` (``cases.schema.json`` reuses the task-id
rule of ``wait-line.schema.json``), so they are all registered up front and validators are
built against that registry rather than by reading files relative to each other.
"""

from __future__ import annotations

import json
from functools import cache

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from conformance.paths import schemas_dir

BASE_URI = "https://airflow-dag-result-conformance.invalid/schemas/"


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
