"""The report.json format by version, and reading an older report as the current one.

A report carries ``report_version`` (schemas/report.schema.json holds the current one), so that
whatever reads reports from several runs, such as the version matrix, can tell what it has:

=== =========================================================================================
1   no ``report_version`` field: the first format
2   the verdict ``not-applicable`` (a clause whose since/until excludes the run's Airflow
    version), each clause's ``since`` and ``until``, ``airflow.prerelease``
=== =========================================================================================

:func:`current` turns a version 1 report into version 2 with what version 1 could not have
said: no clause had a version range, so none was ``not-applicable``. Nothing is lost that way,
which is why a version 1 report needs no schema of its own.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from conformance.versions import is_prerelease

REPORT_VERSION = 2
VERDICTS = ("fail", "unexpected-pass", "absent", "expected-divergence", "pass", "untested", "not-applicable")  # worst first


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
    if version == REPORT_VERSION:
        return copy.deepcopy(dict(report))
    if version != 1:
        raise NewerReport(f"report_version {version!r}, while this suite reads up to {REPORT_VERSION}")
    upgraded: dict[str, Any] = {"report_version": REPORT_VERSION, **copy.deepcopy(dict(report))}
    if isinstance(airflow := upgraded.get("airflow"), dict):
        airflow.setdefault("prerelease", is_prerelease(airflow.get("version")))
    if isinstance(summary := upgraded.get("summary"), dict):
        summary.setdefault("not-applicable", 0)
    for clause in upgraded.get("clauses") if isinstance(upgraded.get("clauses"), list) else ():
        if isinstance(clause, dict):
            clause.setdefault("since", None)
            clause.setdefault("until", None)
    return upgraded
