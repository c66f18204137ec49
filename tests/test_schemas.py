"""The JSON Schemas accept and reject exactly what their example files say they should."""

import json

import pytest
import yaml
from jsonschema import Draft202012Validator

from conformance.paths import fixtures_dir, package_file, schemas_dir
from conformance.schemas import BASE_URI, registry, validator, validator_for

SCHEMA_FILES = sorted(schemas_dir().glob("*.schema.json"))
EXAMPLE_FILES = sorted((fixtures_dir() / "schema-examples").glob("*.json"))


def example_params():
    for path in EXAMPLE_FILES:
        for group in json.loads(path.read_text()):
            for test in group["tests"]:
                yield pytest.param(
                    group["schema"],
                    test["data"],
                    test["valid"],
                    id=f"{path.stem}/{group['description']}/{test['description']}",
                )


EXAMPLES = list(example_params())


def schema_file(schema: dict) -> str:
    """The file of schemas/ an example group's schema points into (it is {"$ref": "<$id>[#...]"})."""
    return schema["$ref"].removeprefix(BASE_URI).partition("#")[0]


# JSON-Schema-Test-Suite's layout (its test-schema.json), so that the suite's own runners read
# these files unchanged: a list of cases {description, schema, tests[, comment, specification]},
# each test {description, data, valid[, comment]}.
TEST_SUITE_FORMAT = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["description", "schema", "tests"],
        "properties": {
            "description": {"type": "string"},
            "comment": {"type": "string"},
            "schema": {},
            "tests": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/test"}},
            "specification": {"type": "object", "minProperties": 1},
        },
        "additionalProperties": False,
    },
    "$defs": {
        "test": {
            "type": "object",
            "required": ["description", "data", "valid"],
            "properties": {
                "description": {"type": "string"},
                "comment": {"type": "string"},
                "data": {},
                "valid": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
    },
}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda path: path.name)
def test_example_file_is_in_the_test_suite_layout_with_schemas_by_id(path):
    groups = json.loads(path.read_text())
    assert [e.message for e in Draft202012Validator(TEST_SUITE_FORMAT).iter_errors(groups)] == []
    for group in groups:
        # the schema itself, pointing at ours by $id: a runner that registers schemas/ resolves it
        assert (
            set(group["schema"]) == {"$schema", "$ref"}
            and group["schema"]["$schema"] == Draft202012Validator.META_SCHEMA["$id"]
        )
        assert (schemas_dir() / schema_file(group["schema"])).is_file(), group["schema"]["$ref"]


# Schemas of our own file formats are exemplified by the files themselves, which other tests
# validate: fixtures/cases.json, fixtures/doc-examples.json, fixtures/streams/, reports (tests/test_report.py),
# conformance/clauses.yaml, conformance/expectations.yaml and compare's --json output (tests/test_compare.py),
# the replay index and the client runner's report and expected failures (tests/test_replay.py, tests/test_clients.py).
FORMAT_SCHEMAS = {
    "cases.schema.json",
    "doc-examples.schema.json",
    "stream-manifest.schema.json",
    "stream-transcript.schema.json",
    "report.schema.json",
    "clauses.schema.json",
    "expectations.schema.json",
    "compare.schema.json",
    "replay-index.schema.json",
    "clients-report.schema.json",
    "clients-expected-failures.schema.json",
}


def test_there_are_examples_for_every_schema_of_server_output():
    covered = {schema_file(param.values[0]) for param in EXAMPLES}
    assert {path.name for path in SCHEMA_FILES} - FORMAT_SCHEMAS <= covered


@pytest.mark.parametrize(("schema", "data", "valid"), EXAMPLES)
def test_example(schema: dict, data, valid: bool):
    assert Draft202012Validator(schema, registry=registry()).is_valid(data) == valid


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.name)
def test_schema_is_valid_draft_2020_12_with_absolute_id(path):
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == BASE_URI + path.name


def test_cases_file_matches_its_schema():
    document = json.loads((fixtures_dir() / "cases.json").read_text())
    errors = [
        f"{list(error.absolute_path)}: {error.message}"
        for error in validator("cases.schema.json").iter_errors(document)
    ]
    assert errors == []


def test_cases_schema_reaches_the_task_id_rule_of_the_wait_line_schema():
    case = {
        "id": "x",
        "description": "",
        "dag_id": "bad id",
        "query": [],
        "expect": {"state": "success"},
        "clauses": ["A-1"],
    }
    errors = list(validator("cases.schema.json").iter_errors({"cases": [case]}))
    assert [list(error.absolute_path) for error in errors] == [["cases", 0, "dag_id"]]


def _errors(schema: str, document) -> list[str]:
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator(schema).iter_errors(document)]


@pytest.mark.parametrize("name", ["clauses", "expectations"])
def test_shipped_catalog_files_match_their_schemas(name):
    assert _errors(f"{name}.schema.json", yaml.safe_load(package_file(f"{name}.yaml").read_text())) == []


def test_clauses_schema_keeps_until_off_must_clauses_and_wants_quoted_releases():
    entry = {
        "id": "A-1",
        "level": "OBSERVED",
        "area": "a",
        "statement": "s",
        "source": "doc",
        "since": "3.4.0",
        "until": "3.5.0",
    }
    assert _errors("clauses.schema.json", [entry]) == []
    [must_with_until] = _errors("clauses.schema.json", [{**entry, "level": "MUST"}])
    assert must_with_until.endswith("False schema does not allow '3.5.0'")
    assert [
        path
        for path, _ in (
            e.split(": ", 1) for e in _errors("clauses.schema.json", [{**entry, "since": 3.4, "until": "3.5.0b1"}])
        )
    ] == [
        "[0, 'since']",
        "[0, 'until']",
    ]


def test_expectations_schema_wants_a_specifier_measured_versions_and_known_cases_and_databases():
    entry = {
        "clause": "A-1",
        "versions": ">=3.2.2,<3.4",
        "measured_on": ["3.3.2"],
        "reason": "r",
        "databases": ["postgres"],
        "cases": ["param-empty"],
    }
    document = {"measured_versions": ["3.3.2", "3.4.0b2"], "divergences": [entry]}
    assert _errors("expectations.schema.json", document) == []
    broken = {**entry, "versions": "", "measured_on": [], "databases": ["unknown"], "cases": ["Param Empty"]}
    assert [
        e.split(": ", 1)[0] for e in _errors("expectations.schema.json", {**document, "divergences": [broken]})
    ] == [
        "['divergences', 0, 'versions']",
        "['divergences', 0, 'measured_on']",
        "['divergences', 0, 'databases', 0]",
        "['divergences', 0, 'cases', 0]",
    ]
    unmeasured = {key: value for key, value in entry.items() if key != "measured_on"}
    assert [
        e.split(": ", 1)[0]
        for e in _errors("expectations.schema.json", {"measured_versions": ["3.3"], "divergences": [unmeasured]})
    ] == [
        "['divergences', 0]",  # measured_on is required
    ]
    assert _errors("expectations.schema.json", [entry]) != []  # the bare list of the first format
    assert _errors("expectations.schema.json", {"measured_versions": ["3.4.x"], "divergences": []}) != []


def named_documents() -> list:
    root = fixtures_dir()
    documents = [
        (path, json.loads(path.read_text()))
        for path in sorted(root.rglob("*.json"))
        if not path.is_relative_to(root / "schema-examples")
    ]
    return [
        pytest.param(document, id=str(path.relative_to(root)))
        for path, document in documents
        if isinstance(document, dict) and "$schema" in document
    ]


@pytest.mark.parametrize("document", named_documents())
def test_fixture_names_its_schema_by_id_and_matches_it(document):
    assert (
        document["$schema"].startswith(BASE_URI)
        and (schemas_dir() / document["$schema"].removeprefix(BASE_URI)).is_file()
    )
    assert [f"{list(e.absolute_path)}: {e.message}" for e in validator_for(document).iter_errors(document)] == []


def test_every_kind_of_fixture_names_its_schema():
    named = {param.values[0]["$schema"].removeprefix(BASE_URI) for param in named_documents()}
    assert named == {
        "cases.schema.json",
        "doc-examples.schema.json",
        "negative-streams.schema.json",
        "stream-manifest.schema.json",
        "stream-transcript.schema.json",
        "upstream-coverage.schema.json",
    }


@pytest.mark.parametrize("pointer", ["../schemas/cases.schema.json", "https://example.org/cases.schema.json", None])
def test_a_schema_named_other_than_by_our_id_is_refused(pointer):
    with pytest.raises(ValueError, match="expected the \\$id of one of the project's schemas"):
        validator_for({"$schema": pointer} if pointer else {})
