"""Every mainstream JSON Schema validator compiles our schemas strictly and gives every example its label.

python-jsonschema, Ajv (Draft 2020-12, ``strict: true``, ajv-formats) and check-jsonschema each
judge every valid and invalid instance of ``fixtures/schema-examples/`` and every reference
document of ``fixtures/`` (see ``tests/cross_validators.py``); a schema only one of them reads
the intended way, or only Ajv's lenient defaults compile, fails here. Ajv is skipped only where
node is missing (``.ci/run`` installs it); each test prints its counts (``pytest -s`` shows them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from jsonschema import Draft202012Validator

import cross_validators
from cross_validators import Example

EXAMPLES = cross_validators.all_examples()
# A floor under the invalid instances of fixtures/schema-examples/: 26 before Ajv's strict mode
# came in, 50 with those added then to pin what the strict rewrites and the transcripts' wire
# mean. The corpus may grow, never shrink.
NEGATIVE_FLOOR = 50
NO_NODE = "node is not installed (Debian: apt-get install nodejs npm); .ci/run installs it"


def disagreements(examples: list[Example], verdicts: list[bool | None]) -> list[str]:
    return [
        f"{example.source}: labelled {'valid' if example.valid else 'invalid'}, judged {verdict}"
        for example, verdict in zip(examples, verdicts, strict=True)
        if verdict is not example.valid
    ]


def print_counts(name: str, examples: list[Example], verdicts: list[bool | None], schemas: int) -> None:
    agree = [example.valid for example, verdict in zip(examples, verdicts, strict=True) if verdict is example.valid]
    line = (
        f"{name}: {schemas} schemas compiled; {len(examples)} examples "
        f"({agree.count(True)} of {sum(e.valid for e in examples)} valid and {agree.count(False)} of "
        f"{sum(not e.valid for e in examples)} invalid as labelled); {len(examples) - len(agree)} disagreements"
    )
    print(line)


def test_the_examples_cover_every_schema_and_keep_their_negative_floor():
    named = {example.schema["$ref"].removeprefix(cross_validators.BASE_URI).partition("#")[0] for example in EXAMPLES}
    unexemplified = {path.name for path in cross_validators.schema_files()} - named
    assert unexemplified == set(), (
        "add instances of these to fixtures/schema-examples/, or a fixture naming the schema's $id in $schema"
    )
    assert sum(not example.valid for example in EXAMPLES) >= NEGATIVE_FLOOR
    assert sum(example.valid for example in EXAMPLES) > len(named)


def test_python_jsonschema_gives_every_label():
    for path in cross_validators.schema_files():
        Draft202012Validator.check_schema(json.loads(path.read_text()))
    verdicts = cross_validators.python_verdicts(EXAMPLES)
    print_counts("python-jsonschema", EXAMPLES, verdicts, len(cross_validators.schema_files()))
    assert disagreements(EXAMPLES, verdicts) == []


@pytest.mark.skipif(shutil.which("node") is None, reason=NO_NODE)
def test_ajv_strict_compiles_every_schema_and_gives_every_label():
    output = cross_validators.ajv_run(EXAMPLES)
    print(output["validator"])
    assert output["compile_errors"] == {}
    assert sorted(output["compiled"]) == sorted(
        cross_validators.schema_id(p.name) for p in cross_validators.schema_files()
    )
    verdicts = [result["valid"] for result in output["results"]]
    print_counts("ajv", EXAMPLES, verdicts, len(output["compiled"]))
    assert disagreements(EXAMPLES, verdicts) == []


def test_check_jsonschema_reads_every_schema_offline_and_gives_every_label():
    meta = cross_validators.check_jsonschema_metaschema()
    assert meta["errors"] == [] and meta["status"] == "ok", meta
    verdicts = cross_validators.check_jsonschema_verdicts(EXAMPLES)
    print_counts("check-jsonschema", EXAMPLES, verdicts, len(cross_validators.schema_files()))
    assert disagreements(EXAMPLES, verdicts) == []


@pytest.mark.skipif(shutil.which("node") is None, reason=NO_NODE)
@pytest.mark.parametrize(
    ("keyword", "loose"),
    [
        ("strictTypes", {"type": "object", "properties": {"a": {"type": ["string", "integer"]}}}),
        ("strictRequired", {"type": "object", "properties": {"a": {}}, "not": {"required": ["b"]}}),
    ],
)
def test_ajv_strict_mode_refuses_what_lenient_defaults_let_through(tmp_path, keyword, loose):
    """The run is really strict: a schema only Ajv's defaults compile is reported, naming the rule."""
    loose = {"$schema": cross_validators.META_SCHEMA, "$id": cross_validators.BASE_URI + "loose.schema.json", **loose}
    (tmp_path / "loose.schema.json").write_text(json.dumps(loose))
    done = subprocess.run(
        ["node", str(cross_validators.VALIDATORS_DIR / "ajv-check.mjs"), str(tmp_path)],
        input='{"cases": []}',
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(cross_validators.ajv_node_modules())},
        check=False,
    )
    errors = json.loads(done.stdout)["compile_errors"]
    assert list(errors) == [loose["$id"]] and f"({keyword})" in errors[loose["$id"]], errors


def test_check_jsonschema_resolves_our_ids_from_disk_and_never_fetches():
    assert cross_validators.local_refs(
        {"items": [{"$ref": cross_validators.schema_id("wait-line.schema.json") + "#/$defs/taskId"}]}
    ) == {
        "items": [{"$ref": "wait-line.schema.json#/$defs/taskId"}],
    }
    remote = Example("a schema elsewhere", {"$ref": "https://schemas.example.invalid/other.schema.json"}, {}, True)
    with pytest.raises(RuntimeError, match="check-jsonschema failed"):
        cross_validators.check_jsonschema_verdicts([remote])
