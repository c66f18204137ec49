"""The clause catalog: every requirement the suite checks, with a stable id.

A clause is one sentence of requirement, where it comes from, and how binding it is: ``MUST``
(the upstream doc says so) or ``OBSERVED`` (the doc is silent; pinned to measured behaviour).
It also says what it ``needs``: most clauses need the DAG Result feature itself (Airflow 3.3+),
while those about the /wait endpoint and its ``result`` parameter apply to older servers too.
Tests name their clauses with ``@pytest.mark.clause("ID", ...)``; :func:`coverage_problems`
reports clauses nobody tests and tests naming clauses nobody wrote, both of which fail the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Literal

import attrs
import yaml

from conformance.paths import package_file

Level = Literal["MUST", "OBSERVED"]
Needs = Literal["dag-result", "wait-endpoint"]


@attrs.frozen
class Clause:
    id: str
    level: Level
    area: str
    statement: str
    source: str
    note: str | None = None
    needs: Needs = attrs.field(default="dag-result", validator=attrs.validators.in_(("dag-result", "wait-endpoint")))

    @property
    def needs_feature(self) -> bool:
        """Whether only an Airflow with the DAG Result feature (3.3+) can satisfy this clause."""
        return self.needs == "dag-result"


def read_clauses(path: Path) -> dict[str, Clause]:
    """The clauses in a catalog file by id, in file order; a repeated id is an error."""
    clauses: dict[str, Clause] = {}
    for entry in yaml.safe_load(path.read_text()):
        clause = Clause(**entry)
        if clause.id in clauses:
            raise ValueError(f"clause {clause.id} is listed twice in {path.name}")
        clauses[clause.id] = clause
    return clauses


@cache
def load_clauses() -> Mapping[str, Clause]:
    """The shipped catalog (parsed once; treat as read-only)."""
    return read_clauses(package_file("clauses.yaml"))


def coverage_problems(
    clauses: Mapping[str, Clause], named_by_test: Mapping[str, Iterable[str]]
) -> list[str]:
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
