"""The report.json format by version, and reading an older report as the current one.

A report carries ``report_version`` (schemas/report.schema.json holds the current one), so that
whatever reads reports from several runs, such as the version matrix, can tell what it has:

=== =========================================================================================
1   no ``report_version`` field: the first format
2   the verdict ``not-applicable`` (a clause whose since/until excludes the run's Airflow
    version), each clause's ``since`` and ``until``, ``airflow.prerelease``
3   the verdict ``not-selected`` (a clause outside the run's ``--clause``/``--area``/``--level``)
    and the top-level ``selection`` (what was given; null for the whole suite)
4   the top-level ``notes`` (:mod:`conformance.wire.notes`: what the run saw that is no failure)
=== =========================================================================================

:func:`current` upgrades an older report one version at a time, with what that version could
not have said: a version 1 report had no version ranges, so no clause was ``not-applicable``;
a version 2 report always ran the whole suite, so no clause was ``not-selected`` and its
``selection`` is null; a version 3 report noted nothing, so its ``notes`` are empty. Nothing is lost that way, which is why older versions need no schema of
their own.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from conformance.catalog.versions import is_prerelease

REPORT_VERSION = 4


class NewerReport(ValueError):
    """A report written by a newer suite, in a format this one does not know."""


def version_of(report: Mapping[str, Any]) -> Any:
    """The report's format version: its ``report_version``, 1 when it has none."""
    return report.get("report_version", 1)


def current(report: Mapping[str, Any]) -> dict[str, Any]:
    """``report`` in the current format (a copy); a malformed one stays malformed, for its schema to tell.

    Raises :class:`NewerReport` for a version this suite does not know.
    """
    version = version_of(report)
    if version != REPORT_VERSION and not (isinstance(version, int) and version in _UPGRADES):
        raise NewerReport(f"report_version {version!r}, while this suite reads up to {REPORT_VERSION}")
    upgraded = copy.deepcopy(dict(report))
    while version != REPORT_VERSION:
        upgraded = _UPGRADES[version](upgraded)
        version = upgraded["report_version"]
    return upgraded


def _from_1(report: dict[str, Any]) -> dict[str, Any]:
    """Version 1 to 2: no clause had a version range, so none was not-applicable."""
    upgraded: dict[str, Any] = {"report_version": 2, **report}
    upgraded["report_version"] = 2  # also where it said 1 itself
    if isinstance(airflow := upgraded.get("airflow"), dict):
        airflow.setdefault("prerelease", is_prerelease(airflow.get("version")))
    if isinstance(summary := upgraded.get("summary"), dict):
        summary.setdefault("not-applicable", 0)
    for clause in upgraded.get("clauses") if isinstance(upgraded.get("clauses"), list) else ():
        if isinstance(clause, dict):
            clause.setdefault("since", None)
            clause.setdefault("until", None)
    return upgraded


def _from_2(report: dict[str, Any]) -> dict[str, Any]:
    """Version 2 to 3: every run checked the whole suite, so no clause was not-selected."""
    upgraded: dict[str, Any] = {**report, "report_version": 3}
    upgraded.setdefault("selection", None)
    if isinstance(summary := upgraded.get("summary"), dict):
        summary.setdefault("not-selected", 0)
    return upgraded


def _from_3(report: dict[str, Any]) -> dict[str, Any]:
    """Version 3 to 4: no report had notes yet."""
    upgraded: dict[str, Any] = {**report, "report_version": 4}
    upgraded.setdefault("notes", [])
    return upgraded


_UPGRADES = {1: _from_1, 2: _from_2, 3: _from_3}  # version -> the step to the next one
