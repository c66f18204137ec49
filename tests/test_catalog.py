"""The clause catalog loads, coverage_problems finds every gap, and the real suite covers the catalog."""

import pytest
import yaml

from conformance import catalog
from conformance.catalog import Clause, coverage_problems, load_clauses
from conformance.paths import package_file
from conformance.plugin import clause_ids


def clause(id: str) -> Clause:
    return Clause(id=id, level="MUST", area="a", statement="s", source="doc")


CATALOG = {"A-1": clause("A-1"), "B-1": clause("B-1")}


def test_catalog_loads_every_entry_with_a_known_level():
    entries = yaml.safe_load(package_file("clauses.yaml").read_text())
    clauses = load_clauses()
    assert len(clauses) >= 30
    assert list(clauses) == [entry["id"] for entry in entries]
    assert {c.level for c in clauses.values()} <= {"MUST", "OBSERVED"}
    assert all(c.statement and c.source for c in clauses.values())


def test_a_clause_listed_twice_is_refused(tmp_path):
    entry = {"id": "A-1", "level": "MUST", "area": "a", "statement": "s", "source": "doc"}
    (tmp_path / "clauses.yaml").write_text(yaml.safe_dump([entry, entry]))
    with pytest.raises(ValueError, match="A-1 is listed twice"):
        catalog.read_clauses(tmp_path / "clauses.yaml")


@pytest.mark.parametrize(
    ("named_by_test", "problems"),
    [
        ({"t1": ["A-1"], "t2": ["B-1", "A-1"]}, []),
        ({"t1": ["A-1"]}, ["clause B-1 has no test"]),
        ({"t1": ["A-1", "B-1", "Z-9"]}, ["t1 names unknown clause Z-9"]),
        ({"t1": ["A-1", "B-1"], "t2": []}, ["t2 names no clause"]),
        ({}, ["clause A-1 has no test", "clause B-1 has no test"]),
    ],
    ids=["all-covered", "untested-clause", "unknown-clause", "test-without-clause", "no-tests"],
)
def test_coverage_problems(named_by_test, problems):
    assert coverage_problems(CATALOG, named_by_test) == problems


def test_suite_collects_in_a_subprocess(pytester):
    result = pytester.runpytest_subprocess("--collect-only", "-q", "-p", "no:cacheprovider", "--pyargs", "conformance.suite")
    assert result.ret == 0
    assert {
        "test_results.py::test_terminal_line[result-decorator]",
        "test_request.py::test_unknown_ids_get_404[unknown-run]",
        "test_catalog.py::test_catalog_and_suite_agree",
    } <= {line.rsplit("/", 1)[-1] for line in result.outlines}
    result.stdout.fnmatch_lines(["* tests collected in *"])
    assert "airflow-conformance: starting" not in result.stdout.str()


def test_real_suite_covers_every_clause(pytester):
    items, _ = pytester.inline_genitems("--pyargs", "conformance.suite", "-p", "no:cacheprovider")
    named = {item.nodeid: clause_ids(item) for item in items if not item.get_closest_marker("meta")}
    assert len(named) > len(load_clauses())
    assert coverage_problems(load_clauses(), named) == []
