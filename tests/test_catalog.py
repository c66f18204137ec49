"""The clause catalog loads, coverage_problems finds every gap, and the real suite covers the catalog;
since and until decide which Airflow versions a clause applies to."""

import pytest
import yaml

from conformance.catalog import clauses as catalog
from conformance.catalog.clauses import Clause, coverage_problems, load_clauses, why_not_applicable
from conformance.paths import package_file
from conformance.plugin.hooks import clause_ids


def clause(id: str, level: str = "MUST", **versions: str) -> Clause:
    return Clause(id=id, level=level, area="a", statement="s", source="doc", **versions)


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
    ("versions", "applies"),
    [
        ({}, {"3.2.2": True, "3.3.2": True, "3.4.0b2": True, "3.5.0": True}),
        (
            {"since": "3.4.0"},
            {"3.3.2": False, "3.4.0.dev0": True, "3.4.0b2": True, "3.4.0rc1": True, "3.4.0": True, "3.5.1": True},
        ),
        (
            {"until": "3.4.0"},
            {"3.2.2": True, "3.3.2": True, "3.3.2.post1": True, "3.4.0.dev0": False, "3.4.0b2": False, "3.4.0": False},
        ),
        (
            {"since": "3.3", "until": "3.4.0"},
            {"3.2.2": False, "3.3.0b1": True, "3.3.0": True, "3.3.2": True, "3.4.0b2": False},
        ),
    ],
    ids=["unbounded", "since-only", "until-only", "both"],
)
def test_applies_to_compares_release_numbers(versions, applies):
    observed = clause("O-1", "OBSERVED", **versions)
    assert {version: observed.applies_to(version) for version in applies} == applies


def test_versions_says_the_range():
    assert clause("O-1", "OBSERVED").versions is None
    assert clause("O-1", "OBSERVED", since="3.4.0").versions == ">=3.4.0"
    assert clause("O-1", "OBSERVED", until="3.4.0").versions == "<3.4.0"
    assert clause("O-1", "OBSERVED", since="3.3.0", until="3.4.0").versions == ">=3.3.0,<3.4.0"


def test_a_test_is_not_applicable_only_when_none_of_its_clauses_applies():
    new, old = clause("NEW-1", since="3.4.0"), clause("OLD-1", "OBSERVED", until="3.4.0")
    assert why_not_applicable([new], "3.3.2") == "NEW-1 applies to Airflow >=3.4.0 only; the server is 3.3.2"
    assert why_not_applicable([old], "3.4.0b2") == (
        "OLD-1 applies to Airflow <3.4.0 only; the server is 3.4.0b2 (pre-release; clauses compared as 3.4.0)"
    )
    assert why_not_applicable([new, clause("ANY-1")], "3.3.2") is None
    assert why_not_applicable([new, old], "3.3.2") is None
    assert why_not_applicable([], "3.3.2") is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"level": "MUST", "until": "3.4.0"}, "A-1 is MUST and cannot have until"),
        ({"level": "OBSERVED", "since": "3.4.0", "until": "3.4.0"}, "since 3.4.0 must come before until 3.4.0"),
        ({"level": "OBSERVED", "since": "3.5.0", "until": "3.4.0"}, "since 3.5.0 must come before until 3.4.0"),
        ({"level": "OBSERVED", "since": 3.4}, "since must be a release number in quotes"),
        ({"level": "OBSERVED", "until": "3.4.0b1"}, "until must be a release number in quotes"),
        ({"level": "OBSERVED", "since": "soon"}, "since must be a release number in quotes"),
    ],
    ids=["must-with-until", "empty-range", "inverted-range", "unquoted", "pre-release-bound", "not-a-version"],
)
def test_a_catalog_with_a_bad_version_range_is_refused(tmp_path, entry, message):
    (tmp_path / "clauses.yaml").write_text(
        yaml.safe_dump([{"id": "A-1", "area": "a", "statement": "s", "source": "doc", **entry}])
    )
    with pytest.raises(ValueError, match=f"clauses.yaml: clause {message}" if "MUST" in message else message):
        catalog.read_clauses(tmp_path / "clauses.yaml")


def test_only_loop_clauses_are_bounded_by_version():
    """Loops are new in 3.4; elsewhere needs, not since, is what sets Airflow 3.2 apart."""
    bounded = {c.id: (c.since, c.until) for c in load_clauses().values() if c.since or c.until}
    loops = {c.id for c in load_clauses().values() if c.area == "loops"}
    assert set(bounded) == loops and loops
    assert set(bounded.values()) == {("3.4.0", None)}


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
    result = pytester.runpytest_subprocess(
        "--collect-only", "-q", "-p", "no:cacheprovider", "--pyargs", "conformance.suite"
    )
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
