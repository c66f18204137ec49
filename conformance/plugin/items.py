"""What the harness reads off pytest's tests: which are the suite's, and what each one names.

A suite test is one under ``conformance/suite/`` (:func:`in_suite`); the command line asks for
them by path or, with ``--pyargs``, by package name (:func:`invocation_names_suite`). Each
names the clauses it checks with ``@pytest.mark.clause(*ids)`` (:func:`clause_ids`) and, when
parametrized with a fixture case, carries it as ``case`` or ``case_id`` (:func:`case_of`).
The plugin's hooks, the controller and the fixtures all read tests this way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SUITE_DIR = Path(__file__).resolve().parent.parent / "suite"


def in_suite(path: Path | str) -> bool:
    return Path(path).resolve().is_relative_to(SUITE_DIR)


def invocation_names_suite(config: pytest.Config) -> bool:
    """Whether the command line asked for suite tests (by package name or by path).

    The xdist controller sees only node ids, which with --pyargs are not anchored anywhere,
    so it decides from the arguments instead.
    """
    for arg in config.args:
        target = arg.split("::")[0]
        if config.option.pyargs and (target == "conformance.suite" or target.startswith("conformance.suite.")):
            return True
        if in_suite(config.invocation_params.dir / target):
            return True
    return False


def clause_ids(item: pytest.Item) -> tuple[str, ...]:
    return tuple(clause for mark in item.iter_markers("clause") for clause in mark.args)


def case_of(item: pytest.Item) -> str | None:
    """The case (fixtures/cases.json) a test is parametrized with, as ``case`` or ``case_id``."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    case = params.get("case_id", params.get("case"))
    return getattr(case, "id", case)
