"""Which clauses a run checks: all of them, or the part named by id, area or level.

Three kinds of criterion, each given any number of times (``--clause``, ``--area``, ``--level``
on the front door; ``--conformance-clause`` and so on for pytest; or the comma-separated
variables ``AIRFLOW_CONFORMANCE_CLAUSE``, ``_AREA``, ``_LEVEL``, so that a container image is
configured by variables alone, a command-line option replacing its variable; all declared in
:mod:`conformance.settings`):

``clause``  an id or an fnmatch glob over ids: ``RESULT-MAPPED-1``, ``'STREAM-*'``
``area``    a feature area of clauses.yaml: ``mapping``, ``timing``
``level``   ``MUST`` or ``OBSERVED``

A clause is selected when it matches every kind given, and within one kind any of its values:
``--area stream --area timing --level MUST`` is the MUST clauses of either area. Matching
ignores case. Nothing given selects the whole catalog (:data:`WHOLE`), and the report's
``selection`` is then null.

A criterion that selects nothing is a mistake the user can fix before any server starts:
:meth:`Selection.problem` says which in one sentence, naming the known values or the closest.
The plugin deselects the tests of no selected clause (:mod:`conformance.plugin.hooks`), which in turn
decides which fixture runs are triggered (:mod:`conformance.plugin.needs`); the report gives every
clause outside the selection the verdict ``not-selected``, whatever its tests did.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any, get_args

import attrs

from conformance.catalog.clauses import Clause, Level
from conformance.settings import Settings, variable_of

KINDS = ("clause", "area", "level")
LEVELS: tuple[str, ...] = get_args(Level)


def _values(given: Iterable[str] | None) -> tuple[str, ...]:
    """Values of one kind, each possibly comma-separated, blanks dropped, first occurrence kept."""
    values = (part.strip() for value in given or () for part in value.split(","))
    return tuple(dict.fromkeys(value for value in values if value))


@attrs.frozen
class Selection:
    """The clause patterns, areas and levels a run was given; empty kinds do not narrow."""

    clauses: tuple[str, ...] = attrs.field(default=(), converter=_values)
    areas: tuple[str, ...] = attrs.field(default=(), converter=_values)
    levels: tuple[str, ...] = attrs.field(default=(), converter=_values)

    @classmethod
    def of(cls, settings: Settings) -> Selection:
        """The run's selection: each kind from its option, else its variable (:func:`conformance.settings.read`)."""
        return cls(clauses=settings.clause, areas=settings.area, levels=settings.level)

    @property
    def whole(self) -> bool:
        """Whether this selects the whole catalog (nothing was given)."""
        return not (self.clauses or self.areas or self.levels)

    def selects(self, clause: Clause) -> bool:
        return (
            (not self.clauses or any(_id_matches(clause.id, pattern) for pattern in self.clauses))
            and (not self.areas or clause.area.casefold() in {area.casefold() for area in self.areas})
            and (not self.levels or clause.level in {level.upper() for level in self.levels})
        )

    def selected(self, catalog: Mapping[str, Clause]) -> list[str]:
        """The ids it selects, in catalog order."""
        return [clause.id for clause in catalog.values() if self.selects(clause)]

    def problem(self, catalog: Mapping[str, Clause]) -> str | None:
        """Why this selection is a mistake, in one sentence; None when every value selects something."""
        for level in self.levels:
            if level.upper() not in LEVELS:
                return (
                    f"level {level!r} ({_where('level')}) is not a level of clauses.yaml; choose {' or '.join(LEVELS)}."
                )
        areas = list(dict.fromkeys(clause.area for clause in catalog.values()))
        for area in self.areas:
            if area.casefold() not in {known.casefold() for known in areas}:
                return f"area {area!r} ({_where('area')}) is not an area of clauses.yaml; the areas are {', '.join(areas)}."
        for pattern in self.clauses:
            if not any(_id_matches(clause_id, pattern) for clause_id in catalog):
                closest = difflib.get_close_matches(pattern.upper(), list(catalog), n=3, cutoff=0.6)
                hint = (
                    f"did you mean {' or '.join(closest)}?"
                    if closest
                    else "the ids are in conformance/clauses.yaml, and a glob such as 'STREAM-*' matches several."
                )
                return f"clause {pattern!r} ({_where('clause')}) matches no clause id; {hint}"
        if not self.selected(catalog):
            return f"{self.describe()} select no clause together (a clause must match every kind given); widen one of them."
        return None

    def describe(self) -> str:
        """The selection as front-door options, e.g. ``--clause 'STREAM-*' --level MUST``."""
        given = [("--clause", self.clauses), ("--area", self.areas), ("--level", self.levels)]
        return (
            " ".join(f"{option} {_quoted(value)}" for option, values in given for value in values) or "the whole suite"
        )

    def as_json(self) -> dict[str, list[str]] | None:
        """The report's ``selection``: what was given by kind, or None for the whole suite."""
        if self.whole:
            return None
        return {"clauses": list(self.clauses), "areas": list(self.areas), "levels": list(self.levels)}

    @classmethod
    def from_json(cls, document: Mapping[str, Any] | None) -> Selection:
        return WHOLE if document is None else cls(document["clauses"], document["areas"], document["levels"])


WHOLE = Selection()


def _id_matches(clause_id: str, pattern: str) -> bool:
    return fnmatchcase(clause_id.upper(), pattern.upper())


def _where(kind: str) -> str:
    return f"--{kind} or {variable_of(kind)}"


def _quoted(value: str) -> str:
    return f"'{value}'" if any(char in value for char in "*?[] ") else value
