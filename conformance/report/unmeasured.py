"""Servers on a version the suite never measured: named, not guessed.

``expectations.yaml`` records the Airflow versions the suite ran on (``measured_versions``) and,
for each declared divergence, those it was seen on (``measured_on``). A server may answer
another version: a later final (3.4.0 after 3.4.0b2), a later pre-release, a development build
(3.5.0.dev0), a vendor's build (3.3.2+acme). What the suite knows of it then is what it measures
in this run, and nothing it did not:

- The run says so once, as a report note of kind ``unmeasured-version`` (clause None, subject
  the version) whose message is also a line of the terminal summary: "Airflow 3.4.0 was never
  measured by this suite; the nearest measured version below it is 3.4.0b2". "Below" is PEP 440
  order, so a development build lies below its pre-releases (3.4.0.dev0 < 3.4.0b1 < 3.4.0) and a
  vendor's build above its release (3.3.2 < 3.3.2+acme).
- A test that fails there, of a clause that no divergence is declared for on this version but
  one is on the nearest measured version below it, and that the nearest version's divergence
  would have matched (its ``failure`` pattern matches the failure's message; an entry without
  one matches any failure; its databases and cases hold as they would there), carries a note of
  kind ``same-as-declared`` (the clause; subject the nearest version): "same as declared for
  3.4.0b2: measure it on this version and extend the entry". The test still fails and its clause
  is ``fail``: no range is widened on a guess, and the exit code stays 1. ``compare`` lists such
  a clause, ``expected-divergence`` on its baseline, as a ``persisting-divergence``.

A version inside a declared range but not measured (3.3.3 under ``<3.4``) gets the summary line
too; its divergences apply as declared, as before.
"""

from __future__ import annotations

from collections.abc import Iterable

from packaging.version import InvalidVersion, Version

from conformance.catalog.expectations import (
    divergences_for,
    failed_as_declared,
    failure_patterns_for,
    load_expectations,
)
from conformance.wire import notes


def _parsed(version: str | None) -> Version | None:
    try:
        return Version(version) if isinstance(version, str) else None
    except InvalidVersion:
        return None


def measured_versions() -> tuple[str, ...]:
    """The versions the suite was measured on (expectations.yaml), oldest first."""
    return tuple(sorted(load_expectations().measured_versions, key=Version))


def never_measured(version: str | None) -> bool:
    """Whether ``version`` is one the suite was never measured on (PEP 440 equality: 3.4 is
    3.4.0); False for an unknown or unparsable version, of which there is nothing to say."""
    parsed = _parsed(version)
    return parsed is not None and parsed not in {Version(measured) for measured in measured_versions()}


def nearest_measured_below(version: str) -> str | None:
    """The newest measured version below ``version`` in PEP 440 order, None when none is."""
    parsed = _parsed(version)
    below = [measured for measured in measured_versions() if parsed is not None and Version(measured) < parsed]
    return below[-1] if below else None


def run_notes(version: str | None) -> list[dict[str, object]]:
    """The notes about the run as a whole, as recorded notes (:func:`conformance.wire.notes.as_json`):
    one ``unmeasured-version`` when the suite never measured ``version``, else none."""
    if version is None or not never_measured(version):
        return []
    note = notes.unmeasured_version(version, nearest_measured_below(version))
    detail = f"GET /api/v2/version answered {version}; measured: {', '.join(measured_versions())} (expectations.yaml)"
    return [notes.as_json(note, detail)]


def same_as_declared(
    version: str | None,
    database: str,
    case: str | None,
    clauses: Iterable[str],
    message: str,
) -> list[notes.Note]:
    """For a test of ``clauses`` on ``case`` that failed with ``message`` on an unmeasured
    ``version``: a ``same-as-declared`` note for each clause the nearest measured version's
    divergence would have matched, and none is declared for on ``version`` itself."""
    if version is None or not never_measured(version) or (nearest := nearest_measured_below(version)) is None:
        return []
    declared_here = divergences_for(version, database, case=case)
    declared_there = failure_patterns_for(nearest, database, case=case)
    return [
        notes.same_as_declared(clause, nearest)
        for clause in dict.fromkeys(clauses)
        if clause not in declared_here
        and clause in declared_there
        and failed_as_declared(message, declared_there[clause])
    ]
