"""The clause catalog: every requirement the suite checks, with a stable id.

A clause is one sentence of requirement, where it comes from, and how binding it is: ``MUST``
(the upstream doc says so) or ``OBSERVED`` (the doc is silent; pinned to measured behaviour).
It also says what it ``needs``: most clauses need the DAG Result feature itself (Airflow 3.3+),
while those about the /wait endpoint and its ``result`` parameter apply to older servers too.
Tests name their clauses with ``@pytest.mark.clause("ID", ...)``; :func:`coverage_problems`
reports clauses nobody tests and tests naming clauses nobody wrote, both of which fail the run.

A clause may also say which Airflow versions it is about: ``since`` (the first release it
applies to) and ``until`` (the first release it no longer applies to), compared by release
number (:mod:`conformance.catalog.versions`, so 3.4.0b2 counts as 3.4.0). Outside that range the clause
gets the verdict ``not-applicable``: there is nothing to test, which is not the same as
``absent`` (the server was found to lack the feature). Only an OBSERVED clause can have
``until``: it pins measured behaviour, which a later release may replace. A MUST clause comes
from the doc; a version that stops meeting it diverges, and that is declared in
expectations.yaml, where the run still checks it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Literal

import attrs
import yaml
from packaging.version import InvalidVersion

from conformance.catalog.versions import describe, release
from conformance.paths import package_file

Level = Literal["MUST", "OBSERVED"]
Needs = Literal["dag-result", "wait-endpoint"]


def _a_release(clause: Clause, field: attrs.Attribute[str | None], value: str | None) -> None:
    """since and until name a release (3.4.0), never a pre-release: those count as their release anyway."""
    if value is None:
        return
    try:
        plain = isinstance(value, str) and str(release(value)) == value
    except InvalidVersion:
        plain = False
    if not plain:
        raise ValueError(
            f'clause {clause.id}: {field.name} must be a release number in quotes, such as "3.4.0"; got {value!r}'
        )


@attrs.frozen
class Clause:
    id: str
    level: Level
    area: str
    statement: str
    source: str
    note: str | None = None
    needs: Needs = attrs.field(default="dag-result", validator=attrs.validators.in_(("dag-result", "wait-endpoint")))
    since: str | None = attrs.field(default=None, validator=_a_release)  # first release it applies to
    until: str | None = attrs.field(default=None, validator=_a_release)  # first release it no longer applies to

    def __attrs_post_init__(self) -> None:
        if self.until is not None and self.level == "MUST":
            raise ValueError(
                f"clause {self.id} is MUST and cannot have until: a version that stops meeting the doc diverges, "
                "and that is declared in expectations.yaml"
            )
        if self.since is not None and self.until is not None and release(self.since) >= release(self.until):
            raise ValueError(f"clause {self.id}: since {self.since} must come before until {self.until}")

    @property
    def needs_feature(self) -> bool:
        """Whether only an Airflow with the DAG Result feature (3.3+) can satisfy this clause."""
        return self.needs == "dag-result"

    @property
    def versions(self) -> str | None:
        """The versions it applies to, as ``>=3.4.0``, ``<3.5.0`` or ``>=3.4.0,<3.5.0``; None for all."""
        bounds = [f">={self.since}"] * (self.since is not None) + [f"<{self.until}"] * (self.until is not None)
        return ",".join(bounds) or None

    def applies_to(self, version: str) -> bool:
        """Whether this clause is about an Airflow of ``version`` (a pre-release counts as its release)."""
        if self.since is None and self.until is None:
            return True
        counted = release(version)
        if self.since is not None and counted < release(self.since):
            return False
        return self.until is None or counted < release(self.until)


def why_not_applicable(clauses: Sequence[Clause], version: str) -> str | None:
    """Why none of ``clauses`` applies to ``version``, in one sentence; None when one of them does.

    A test naming several clauses runs when any of them applies: it checks that one.
    """
    if not clauses or any(clause.applies_to(version) for clause in clauses):
        return None
    ranges = "; ".join(f"{clause.id} applies to Airflow {clause.versions} only" for clause in clauses)
    return f"{ranges}; the server is {describe(version)}"


def read_clauses(path: Path) -> dict[str, Clause]:
    """The clauses in a catalog file by id, in file order; a repeated id is an error."""
    clauses: dict[str, Clause] = {}
    for entry in yaml.safe_load(path.read_text()):
        try:
            clause = Clause(**entry)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path.name}: {exc}") from None
        if clause.id in clauses:
            raise ValueError(f"clause {clause.id} is listed twice in {path.name}")
        clauses[clause.id] = clause
    return clauses


@cache
def load_clauses() -> Mapping[str, Clause]:
    """The shipped catalog (parsed once; treat as read-only)."""
    return read_clauses(package_file("clauses.yaml"))


def coverage_problems(clauses: Mapping[str, Clause], named_by_test: Mapping[str, Iterable[str]]) -> list[str]:
    """Sentences describing every gap between the catalog and the tests naming it.

    ``named_by_test`` maps a test id to the clause ids it names.
    """
    problems = [f"{test} names no clause" for test, ids in named_by_test.items() if not ids]
    problems += [
        f"{test} names unknown clause {clause_id}"
        for test, ids in named_by_test.items()
        for clause_id in ids
        if clause_id not in clauses
    ]
    tested = {clause_id for ids in named_by_test.values() for clause_id in ids}
    problems += [f"clause {clause_id} has no test" for clause_id in clauses if clause_id not in tested]
    return problems
