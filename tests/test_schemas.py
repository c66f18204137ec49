"""The JSON Schemas accept and reject exactly what their example files say they should."""

import json

import pytest
from jsonschema import Draft202012Validator

from conformance.paths import fixtures_dir, schemas_dir
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
# validate: fixtures/cases.json, fixtures/doc-examples.json, fixtures/streams/, and reports (tests/test_report.py).
FORMAT_SCHEMAS = {
    "cases.schema.json", "doc-examples.schema.json", "stream-manifest.schema.json", "stream-transcript.schema.json",
    "report.schema.json",
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
