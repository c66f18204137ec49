"""A server on a version the suite never measured is named as such, and its failures stay failures."""

import pytest

from conformance.catalog.expectations import load_expectations
from conformance.report import unmeasured
from conformance.wire import notes

NONE_RESULT = (
    "no results key, expected results {'nothing': None}"  # how RESULT-NONE-1's test words 3.4.0b2's divergence
)


def test_the_measured_versions_are_the_suites_matrix():
    assert unmeasured.measured_versions() == ("3.2.2", "3.3.0", "3.3.1", "3.3.2", "3.4.0b1", "3.4.0b2")
    assert set(load_expectations().measured_versions) == set(unmeasured.measured_versions())


@pytest.mark.parametrize(
    ("version", "nearest"),
    [
        ("3.4.0", "3.4.0b2"),  # a later final
        ("3.4.0rc1", "3.4.0b2"),  # a later pre-release
        ("3.5.0.dev0", "3.4.0b2"),  # a development build of a later release
        ("3.4.0.dev0", "3.3.2"),  # PEP 440: a development build lies below its pre-releases
        ("3.3.3", "3.3.2"),  # inside a declared range (<3.4), still never measured
        ("3.3.2+acme", "3.3.2"),  # a vendor's build of a measured release
        ("3.2.0", None),  # below everything measured
    ],
)
def test_a_version_never_measured_is_named_with_the_nearest_measured_one_below_it(version, nearest):
    assert unmeasured.never_measured(version)
    assert unmeasured.nearest_measured_below(version) == nearest
    [note] = unmeasured.run_notes(version)
    below = f"the nearest measured version below it is {nearest}" if nearest else "no measured version lies below it"
    assert (note["kind"], note["clause"], note["subject"]) == ("unmeasured-version", None, version)
    assert note["message"] == f"Airflow {version} was never measured by this suite; {below}"
    assert note["detail"].startswith(f"GET /api/v2/version answered {version}; measured: 3.2.2, ")


@pytest.mark.parametrize("version", ["3.2.2", "3.3.0", "3.3.2", "3.4.0b1", "3.4.0b2", "3.3.2.0", None, "not a version"])
def test_a_measured_or_unknown_version_gets_no_note(version):
    assert not unmeasured.never_measured(version)
    assert unmeasured.run_notes(version) == []
    assert unmeasured.same_as_declared(version, "sqlite", None, ["RESULT-NONE-1"], NONE_RESULT) == []


def test_a_failure_the_nearest_versions_divergence_would_match_is_noted_for_that_clause():
    found = unmeasured.same_as_declared(
        "3.4.0", "sqlite", "result-none", ["RESULT-NONE-1", "RESULT-DECORATOR-1"], NONE_RESULT
    )
    assert found == [notes.same_as_declared("RESULT-NONE-1", "3.4.0b2")]
    assert found[0].message == "same as declared for 3.4.0b2: measure it on this version and extend the entry"
    assert unmeasured.same_as_declared("3.5.0.dev0", "sqlite", None, ["RESULT-NONE-1"], NONE_RESULT) == found


def test_a_failure_of_another_kind_is_not_noted():
    """The nearest version pins how RESULT-NONE-1 fails; a server failing it otherwise is just failing."""
    assert (
        unmeasured.same_as_declared("3.4.0", "sqlite", "result-none", ["RESULT-NONE-1"], "results are {'nothing': 0}")
        == []
    )


def test_an_entry_without_a_pattern_matches_any_failure_within_its_databases():
    """RESULT-KEY-ORDER-1 pins no failure and is declared for PostgreSQL only."""
    failure = "assert ['alpha', 'mike', 'zulu'] == ['zulu', 'alpha', 'mike']"
    assert unmeasured.same_as_declared("3.4.0", "postgres", "result-key-order", ["RESULT-KEY-ORDER-1"], failure) == [
        notes.same_as_declared("RESULT-KEY-ORDER-1", "3.4.0b2"),
    ]
    assert unmeasured.same_as_declared("3.4.0", "sqlite", "result-key-order", ["RESULT-KEY-ORDER-1"], failure) == []


def test_a_clause_declared_for_the_version_itself_is_left_to_its_declaration():
    """3.3.3 lies in RESULT-NONE-1's declared range: its tests are expected to fail there, as declared."""
    assert unmeasured.same_as_declared("3.3.3", "sqlite", "result-none", ["RESULT-NONE-1"], NONE_RESULT) == []


def test_nothing_is_noted_below_every_measured_version():
    assert (
        unmeasured.same_as_declared("3.1.0", "sqlite", None, ["WAIT-INTERVAL-OPTIONAL-1"], '422: {"detail":[]}') == []
    )
