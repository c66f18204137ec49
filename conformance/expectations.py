"""Known divergences: which clauses a given Airflow version is expected to fail, and why.

Modelled on WPT expectation files: the data says which version diverges from which clause; the
pytest plugin turns each match into a strict xfail, so the test still runs, the report shows
the divergence with its reason, and a divergence that disappears fails the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

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
    databases: tuple[str, ...] | None = attrs.field(default=None, converter=lambda d: None if d is None else tuple(d))

    def applies_to(self, version: Version, database: str) -> bool:
        in_range = self.versions.contains(version, prereleases=True)
        return in_range and (self.databases is None or database in self.databases)


@cache
def load_divergences() -> tuple[Divergence, ...]:
    return tuple(Divergence(**entry) for entry in yaml.safe_load(package_file("expectations.yaml").read_text()))


def divergences_for(
    version: str, database: str = "unknown", divergences: Iterable[Divergence] | None = None
) -> dict[str, str]:
    """Reasons by clause id for every divergence declared for this Airflow version and database."""
    parsed = Version(version)
    return {
        d.clause: d.reason
        for d in (load_divergences() if divergences is None else divergences)
        if d.applies_to(parsed, database)
    }
