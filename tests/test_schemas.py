"""The JSON Schemas accept and reject exactly what their example files say they should."""

import json

import pytest
import yaml
from jsonschema import Draft202012Validator

from conformance.paths import fixtures_dir, package_file, schemas_dir
from conformance.schemas import BASE_URI, validator

SCHEMA_FILES = sorted(schemas_dir().glob("*.schema.json"))


def example_params():
    for path in sorted((fixtures_dir() / "schema-examples").glob("*.json")):
        for group in json.loads(path.read_text()):
            for test in group["tests"]:
                yield pytest.param(
                    group["schema"], test["data"], test["valid"],
                    id=f"{path.stem}/{group['description']}/{test['description']}",
                )


EXAMPLES = list(example_params())


# Schemas of our own file formats are exemplified by the files themselves, which other tests
# validate: fixtures/cases.json, fixtures/doc-examples.json, fixtures/streams/, reports (tests/test_report.py),
# conformance/clauses.yaml, conformance/expectations.yaml and compare's --json output (tests/test_compare.py).
FORMAT_SCHEMAS = {
    "cases.schema.json", "doc-examples.schema.json", "stream-manifest.schema.json", "stream-transcript.schema.json",
    "report.schema.json", "clauses.schema.json", "expectations.schema.json", "compare.schema.json",
}


def test_there_are_examples_for_every_schema_of_server_output():
    covered = {param.values[0] for param in EXAMPLES}
    assert covered == {path.name for path in SCHEMA_FILES} - FORMAT_SCHEMAS


@pytest.mark.parametrize(("schema", "data", "valid"), EXAMPLES)
def test_example(schema: str, data, valid: bool):
    assert validator(schema).is_valid(data) == valid


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.name)
def test_schema_is_valid_draft_2020_12_with_absolute_id(path):
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == BASE_URI + path.name


def test_cases_file_matches_its_schema():
    document = json.loads((fixtures_dir() / "cases.json").read_text())
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator("cases.schema.json").iter_errors(document)]
    assert errors == []


def test_cases_schema_reaches_the_task_id_rule_of_the_wait_line_schema():
    case = {"id": "x", "description": "", "dag_id": "bad id", "query": [], "expect": {"state": "success"}, "clauses": ["A-1"]}
    errors = list(validator("cases.schema.json").iter_errors({"cases": [case]}))
    assert [list(error.absolute_path) for error in errors] == [["cases", 0, "dag_id"]]


def _errors(schema: str, document) -> list[str]:
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator(schema).iter_errors(document)]


@pytest.mark.parametrize("name", ["clauses", "expectations"])
def test_shipped_catalog_files_match_their_schemas(name):
    assert _errors(f"{name}.schema.json", yaml.safe_load(package_file(f"{name}.yaml").read_text())) == []


def test_clauses_schema_keeps_until_off_must_clauses_and_wants_quoted_releases():
    entry = {"id": "A-1", "level": "OBSERVED", "area": "a", "statement": "s", "source": "doc", "since": "3.4.0", "until": "3.5.0"}
    assert _errors("clauses.schema.json", [entry]) == []
    [must_with_until] = _errors("clauses.schema.json", [{**entry, "level": "MUST"}])
    assert must_with_until.endswith("False schema does not allow '3.5.0'")
    assert [path for path, _ in (e.split(": ", 1) for e in _errors("clauses.schema.json", [{**entry, "since": 3.4, "until": "3.5.0b1"}]))] == [
        "[0, 'since']", "[0, 'until']",
    ]


def test_expectations_schema_wants_a_specifier_and_known_cases_and_databases():
    entry = {"clause": "A-1", "versions": ">=3.2.2,<3.4", "reason": "r", "databases": ["postgres"], "cases": ["param-empty"]}
    assert _errors("expectations.schema.json", [entry]) == []
    broken = {**entry, "versions": "", "databases": ["unknown"], "cases": ["Param Empty"]}
    assert [e.split(": ", 1)[0] for e in _errors("expectations.schema.json", [broken])] == [
        "[0, 'versions']", "[0, 'databases', 0]", "[0, 'cases', 0]",
    ]
