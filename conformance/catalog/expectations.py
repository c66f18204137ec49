"""Known divergences: which clauses a given Airflow version is expected to fail, and why.

Modelled on WPT expectation files: the data says which version diverges from which clause; the
pytest plugin turns each match into a strict xfail, so the test still runs, the report shows
the divergence with its reason, and a divergence that disappears fails the run.

A divergence may be limited to some cases (``cases``): then only tests run on those cases'
streams are expected to fail, as when one kind of stream breaks a rule every stream must keep.

A divergence may also pin how it fails (``failure``, a regular expression the failed
assertion's message must contain): a test of it that fails some other way is a failure, not
the divergence, so a server that swaps one wrong behaviour for another is not waved through.

The file also records what was measured: ``measured_versions``, every Airflow version the suite
ran on, and each divergence's ``measured_on``, the versions it was seen on (at least one, each
within its range; :func:`measurement_problems` says where an entry breaks that). A range may
reach beyond what was measured (``<3.4`` covers a 3.3.3 nobody ran); a server on a version no
measurement names is told so (:mod:`conformance.report.unmeasured`), and nothing is widened to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Final

import attrs
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from conformance.paths import package_file


@attrs.frozen
class Divergence:
    clause: str
    versions: SpecifierSet = attrs.field(converter=SpecifierSet)
    reason: str
    measured_on: tuple[str, ...] = attrs.field(
        default=(), converter=tuple
    )  # the file requires it; hand-made ones may omit it
    databases: tuple[str, ...] | None = attrs.field(default=None, converter=lambda d: None if d is None else tuple(d))
    cases: tuple[str, ...] | None = attrs.field(default=None, converter=lambda c: None if c is None else tuple(c))
    failure: str | None = None  # a regex the failed assertion's message must contain (re.search)

    def applies_to(self, version: Version, database: str, case: str | None | object = None) -> bool:
        in_range = self.versions.contains(version, prereleases=True)
        in_cases = self.cases is None or case is ANY_CASE or case in self.cases
        return in_range and in_cases and (self.databases is None or database in self.databases)


ANY_CASE: Final = object()  # include case-limited divergences, whatever the case (summaries, reports)


@attrs.frozen
class Expectations:
    """expectations.yaml: the versions the suite was measured on, and the divergences declared."""

    measured_versions: tuple[str, ...] = attrs.field(converter=tuple)
    divergences: tuple[Divergence, ...] = attrs.field(converter=tuple)


@cache
def load_expectations() -> Expectations:
    document = yaml.safe_load(package_file("expectations.yaml").read_text())
    return Expectations(
        measured_versions=document["measured_versions"],
        divergences=(Divergence(**entry) for entry in document["divergences"]),
    )


def load_divergences() -> tuple[Divergence, ...]:
    return load_expectations().divergences


def measurement_problems(expectations: Expectations) -> list[str]:
    """Where a divergence's ``measured_on`` is empty, outside its range, or names a version
    ``measured_versions`` does not: one sentence each."""
    measured = {Version(version) for version in expectations.measured_versions}
    found = []
    for d in expectations.divergences:
        where = f"{d.clause} ({d.versions})"
        if not d.measured_on:
            found.append(f"{where} names no version it was measured on")
        for version in d.measured_on:
            if not d.versions.contains(version, prereleases=True):
                found.append(f"{where} was measured on {version}, outside its range")
            if Version(version) not in measured:
                found.append(f"{where} was measured on {version}, which measured_versions does not list")
    return found


def divergences_for(
    version: str,
    database: str = "unknown",
    divergences: Iterable[Divergence] | None = None,
    case: str | None | object = ANY_CASE,
) -> dict[str, str]:
    """Reasons by clause id for every divergence declared for this Airflow version and database.

    ``case`` is the case a test runs on (None: no case); a divergence limited to other cases
    then does not apply. By default every divergence counts, for summaries of a whole run.
    """
    reasons: dict[str, list[str]] = {}
    for d in _applying(version, database, case, divergences):
        reasons.setdefault(d.clause, []).append(
            d.reason if d.cases is None else f"{d.reason} (cases: {', '.join(d.cases)})"
        )
    return {clause: " ".join(texts) for clause, texts in reasons.items()}


def _applying(
    version: str,
    database: str,
    case: str | None | object,
    divergences: Iterable[Divergence] | None = None,
) -> Iterator[Divergence]:
    parsed = Version(version)
    return (
        d for d in (load_divergences() if divergences is None else divergences) if d.applies_to(parsed, database, case)
    )


def failure_patterns_for(
    version: str, database: str = "unknown", case: str | None | object = ANY_CASE
) -> dict[str, tuple[str | None, ...]]:
    """The pinned failures by clause for a test: None in a tuple stands for an entry that pins none."""
    patterns: dict[str, list[str | None]] = {}
    for d in _applying(version, database, case):
        patterns.setdefault(d.clause, []).append(d.failure)
    return {clause: tuple(found) for clause, found in patterns.items()}


def failed_as_declared(message: str, patterns: Iterable[str | None]) -> bool:
    """Whether a failure with ``message`` is one the divergences (their pinned patterns) declare.

    Any entry that pins no failure accepts every failure; otherwise one pattern must match.
    """
    return any(pattern is None or re.search(pattern, message) for pattern in patterns)
