"""The front door: ``python -m conformance VERB`` (or the ``conformance`` console script).

    python -m conformance run [--report DIR] [--airflow-target NAME] [--airflow-db {sqlite,postgres}]
                              [--no-boot-cache] [--allow-absent-feature]
                              [--clause ID|GLOB]... [--area NAME]... [--level LEVEL]... [-- PYTEST_ARGS...]
    python -m conformance record  ...    # re-record fixtures/streams (conformance.selfcheck.record)
    python -m conformance matrix  ...    # the clauses x versions matrix (conformance.report.matrix)
    python -m conformance compare ...    # two runs' reports clause by clause, exit 1 on a regression (conformance.report.compare)
    python -m conformance bench   ...    # the suite's time against Airflow's own (conformance.selfcheck.bench)
    python -m conformance mutants ...    # the suite against broken /waits (conformance.selfcheck.mutants; a source checkout)
    python -m conformance soak    ...    # the suite N times in a row, counting false failures (conformance.selfcheck.soak)
    python -m conformance replay  ...    # every recorded and negative stream over loopback HTTP (conformance.clientkit.replay)
    python -m conformance clients ... -- CMD...  # a /wait client on every replayed case (conformance.clientkit.runner)

``run`` is the conformance suite. Its pytest command line is built here and nowhere else
(:func:`suite_argv`): tox, CI, the bench, the mutant check and the livetests all come through
this door, so the suite is run the same way everywhere. Anything after ``--`` goes to pytest
unchanged (``-k mapped``, ``-n 2``, ``--conformance-report DIR``); it comes last, so it wins.

The suite runs in one process unless ``-n`` asks for xdist workers: its tests read what the
session recorded and take about 3 s together (2 cores, 3.3.2), while starting two workers
delayed the boot by 1.5 s and the tests by 0.7 s (measured: 45.3 s a run with ``-n auto``,
42.9 s without). ``-n 2`` is worth it against a slow remote server, or when many timing cases
are re-measured, since each re-measure waits for a fresh run.

``run --test NODEID`` (repeatable) runs just those suite tests, by the node id pytest reported
(``test_request.py::test_x[p]``, with or without the folder it was anchored in) instead of the
whole package; every failure's report entry gives such a command (:mod:`conformance.report.reproduce`).
``run --keep-server`` leaves a local or container server up after the run and says how to reach
and stop it (:mod:`conformance.targets.kept`).

``run`` calls ``pytest.main`` in this process rather than a pytest subprocess: signals (Ctrl-C,
SIGTERM) and the exit code then reach pytest and the harness directly, with no process in
between to forward or lose them. The exit code is pytest's: 0 pass, 1 failures, 4 a problem the
user can fix (said in one sentence), 5 no tests.

The other verbs hand the rest of the command line to their module's ``main``. Bad input (an
unknown verb, a bad option) ends with one sentence and exit code 4, as every other problem a
user can fix does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from conformance import settings
from conformance.arguments import USAGE_ERROR, Parser, split_at_double_dash
from conformance.clientkit import replay
from conformance.clientkit import runner as clients
from conformance.plugin.items import SUITE_DIR
from conformance.report import compare, matrix
from conformance.report.reproduce import suite_test_id
from conformance.selfcheck import bench, mutants, record, soak

SUITE_PACKAGE = "conformance.suite"


def suite_argv(
    *,
    report: str | Path | None = None,
    airflow_target: str | None = None,
    airflow_db: str | None = None,
    boot_cache: bool = True,
    allow_absent_feature: bool = False,
    clauses: Sequence[str] = (),
    areas: Sequence[str] = (),
    levels: Sequence[str] = (),
    tests: Sequence[str] = (),
    keep_server: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """pytest's arguments (without a program name) for one run of the conformance suite.

    ``clauses``, ``areas`` and ``levels`` select part of the catalog (:mod:`conformance.catalog.selection`).
    ``tests`` (suite test ids, see :func:`suite_test_path`) run instead of the whole package.
    """
    values = {
        "target": airflow_target,
        "database": airflow_db,
        "boot_cache": not boot_cache,
        "allow_absent_feature": allow_absent_feature,
        "report": report,
        "clause": clauses,
        "area": areas,
        "level": levels,
        "keep_server": keep_server,
    }
    return _suite_argv(values, tests, extra)


def _suite_argv(values: dict[str, Any], tests: Sequence[str], extra: Sequence[str]) -> list[str]:
    """pytest's arguments for front-door option values by setting (:mod:`conformance.settings`)."""
    collected = [suite_test_path(test) for test in tests] or ["--pyargs", SUITE_PACKAGE]
    return [*collected, "-p", "no:cacheprovider", "-rfExX", *settings.pytest_arguments(values), *extra]


def suite_test_path(test_id: str) -> str:
    """A suite test's id (``test_request.py::test_x[p]``, any folder before the file ignored) as
    the path pytest collects it by, wherever the package is installed; ValueError if no such file."""
    file, sep, rest = suite_test_id(test_id).partition("::")
    if not (file.startswith("test_") and file.endswith(".py") and (SUITE_DIR / file).is_file()):
        raise ValueError(f"{test_id!r} names no test file of the suite (conformance/suite/test_*.py)")
    return f"{SUITE_DIR / file}{sep}{rest}"


def _test_id(text: str) -> str:
    try:
        suite_test_path(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}; give a node id as the report shows it") from None
    return text


def run_parser() -> Parser:
    parser = Parser(
        prog="python -m conformance run",
        description="Run the conformance suite; arguments after -- go to pytest.",
    )
    parser.add_argument(
        "--test",
        action="append",
        default=[],
        metavar="NODEID",
        type=_test_id,
        help="run only this suite test, by its node id as the report shows it, e.g. "
        "'test_request.py::test_unknown_ids_get_404[unknown-run]' (repeatable)",
    )
    selection = parser.add_argument_group(
        "selection",
        "check part of the catalog; a clause must match every kind given (within one: any); "
        "clauses outside it are reported not-selected, and only the fixture runs the chosen tests read are triggered",
    )
    settings.add_front_door_options(parser, {kind: selection for kind in ("clause", "area", "level")})
    return parser


def run(argv: Sequence[str]) -> int:
    ours, extra = split_at_double_dash(argv)
    args = run_parser().parse_args(ours)
    return int(pytest.main(_suite_argv(settings.front_door_values(args), args.test, extra)))


def _record(argv: Sequence[str]) -> int:
    return record.main(list(argv))


def _matrix(argv: Sequence[str]) -> int:
    return matrix.main(list(argv))


def _compare(argv: Sequence[str]) -> int:
    return compare.main(list(argv))


def _bench(argv: Sequence[str]) -> int:
    return bench.main(list(argv))


def _mutants(argv: Sequence[str]) -> int:
    return mutants.main(list(argv))


def _soak(argv: Sequence[str]) -> int:
    return soak.main(list(argv))


def _replay(argv: Sequence[str]) -> int:
    return replay.main(list(argv))


def _clients(argv: Sequence[str]) -> int:
    return clients.main(list(argv))


class Verb(NamedTuple):
    """One verb of the front door: what runs it and what it does."""

    main: Callable[[Sequence[str]], int]
    summary: str


# Who each verb is for, as --help lists them (Bowtie groups its commands the same way).
AUDIENCES = {
    "users": ("run", "compare", "matrix"),
    "client authors": ("replay", "clients"),
    "maintainers": ("record", "bench", "mutants", "soak"),
}
VERBS: dict[str, Verb] = {  # in the order errors list them; --help by AUDIENCES
    "run": Verb(run, "run the conformance suite (options, then pytest's arguments after --)"),
    "record": Verb(_record, "re-record fixtures/streams from a live Airflow and show the diff"),
    "matrix": Verb(_matrix, "render the clauses x versions matrix from report.json files"),
    "compare": Verb(_compare, "compare two runs' report.json clause by clause; exit 1 if the candidate regressed"),
    "bench": Verb(_bench, "compare the suite's wall time with Airflow's own boot and fixture runs"),
    "mutants": Verb(_mutants, "run the suite against deliberately broken /waits (needs a source checkout)"),
    "soak": Verb(_soak, "run the suite N times in a row and count the clauses that failed by chance"),
    "replay": Verb(_replay, "serve every recorded stream and negative case over HTTP on loopback"),
    "clients": Verb(_clients, "run a /wait client (the command after --) on every replayed case; a verdict per case"),
}


def usage() -> str:
    width = max(map(len, VERBS))
    groups = [
        f"{audience}:\n" + "\n".join(f"  {name:<{width}}  {VERBS[name].summary}" for name in names)
        for audience, names in AUDIENCES.items()
    ]
    return (
        "usage: python -m conformance VERB [ARGS...]\n\n"
        + "\n\n".join(groups)
        + "\n\npython -m conformance VERB --help says more.\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(usage(), end="")
        return 0
    if not argv:
        print(
            f"python -m conformance: name a verb ({', '.join(VERBS)}); see python -m conformance --help.",
            file=sys.stderr,
        )
        return USAGE_ERROR
    verb, rest = argv[0], argv[1:]
    if verb not in VERBS:
        print(f"python -m conformance: unknown verb {verb!r}; choose one of {', '.join(VERBS)}.", file=sys.stderr)
        return USAGE_ERROR
    try:
        return VERBS[verb].main(rest)
    except SystemExit as exc:  # argparse's way out: --help (0) or a bad option (Parser: 4)
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
