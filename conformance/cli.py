"""The front door: ``python -m conformance VERB`` (or the ``conformance`` console script).

    python -m conformance run [--report DIR] [--airflow-target NAME] [--airflow-db {sqlite,postgres}]
                              [--no-boot-cache] [--allow-absent-feature] [-- PYTEST_ARGS...]
    python -m conformance record  ...    # re-record fixtures/streams (conformance.record)
    python -m conformance matrix  ...    # the clauses x versions matrix (conformance.matrix)
    python -m conformance bench   ...    # the suite's time against Airflow's own (conformance.bench)
    python -m conformance mutants ...    # the suite against broken /waits (conformance.mutants; a source checkout)
    python -m conformance soak    ...    # the suite N times in a row, counting false failures (conformance.soak)

``run`` is the conformance suite. Its pytest command line is built here and nowhere else
(:func:`suite_argv`): tox, CI, the bench, the mutant check and the livetests all come through
this door, so the suite is run the same way everywhere. Anything after ``--`` goes to pytest
unchanged (``-k mapped``, ``-n 2``, ``--conformance-report DIR``); it comes last, so it wins.

``run`` calls ``pytest.main`` in this process rather than a pytest subprocess: signals (Ctrl-C,
SIGTERM) and the exit code then reach pytest and the harness directly, with no process in
between to forward or lose them. The exit code is pytest's: 0 pass, 1 failures, 4 a problem the
user can fix (said in one sentence), 5 no tests.

The other verbs hand the rest of the command line to their module's ``main``. Bad input (an
unknown verb, a bad option) ends with one sentence and exit code 4, as every other problem a
user can fix does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from conformance import bench, matrix, mutants, record, soak
from conformance.arguments import USAGE_ERROR, Parser, split_at_double_dash

SUITE_PACKAGE = "conformance.suite"


def suite_argv(
    *,
    report: str | Path | None = None,
    airflow_target: str | None = None,
    airflow_db: str | None = None,
    boot_cache: bool = True,
    allow_absent_feature: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """pytest's arguments (without a program name) for one run of the conformance suite."""
    argv = ["--pyargs", SUITE_PACKAGE, "-n", "auto", "-p", "no:cacheprovider", "-rfExX"]
    if airflow_target is not None:
        argv += ["--airflow-target", airflow_target]
    if airflow_db is not None:
        argv += ["--airflow-db", airflow_db]
    if not boot_cache:
        argv.append("--no-boot-cache")
    if allow_absent_feature:
        argv.append("--allow-absent-feature")
    if report is not None:
        argv += ["--conformance-report", str(report)]
    return [*argv, *extra]


def run_parser() -> Parser:
    parser = Parser(
        prog="python -m conformance run",
        description="Run the conformance suite; arguments after -- go to pytest.",
    )
    parser.add_argument("--report", metavar="DIR", help="write junit.xml, report.json and report.html into DIR")
    parser.add_argument("--airflow-target", metavar="NAME", help="local (default), external, container")
    parser.add_argument("--airflow-db", choices=["sqlite", "postgres"], help="the metadata database (local, container)")
    parser.add_argument(
        "--no-boot-cache", action="store_true",
        help="local: migrate a fresh metadata database instead of copying a cached migrated one",
    )
    parser.add_argument(
        "--allow-absent-feature", action="store_true",
        help="exit 0 when every failure is a test the absent DAG Result feature could not run",
    )
    return parser


def run(argv: Sequence[str]) -> int:
    ours, extra = split_at_double_dash(argv)
    args = run_parser().parse_args(ours)
    return int(pytest.main(suite_argv(
        report=args.report, airflow_target=args.airflow_target, airflow_db=args.airflow_db,
        boot_cache=not args.no_boot_cache, allow_absent_feature=args.allow_absent_feature, extra=extra,
    )))



def _record(argv: Sequence[str]) -> int:
    return record.main(list(argv))


def _matrix(argv: Sequence[str]) -> int:
    return matrix.main(list(argv))


def _bench(argv: Sequence[str]) -> int:
    return bench.main(list(argv))


def _mutants(argv: Sequence[str]) -> int:
    return mutants.main(list(argv))


def _soak(argv: Sequence[str]) -> int:
    return soak.main(list(argv))


VERBS: dict[str, tuple[Callable[[Sequence[str]], int], str]] = {
    "run": (run, "run the conformance suite (options, then pytest's arguments after --)"),
    "record": (_record, "re-record fixtures/streams from a live Airflow and show the diff"),
    "matrix": (_matrix, "render the clauses x versions matrix from report.json files"),
    "bench": (_bench, "compare the suite's wall time with Airflow's own boot and fixture runs"),
    "mutants": (_mutants, "run the suite against deliberately broken /waits (needs a source checkout)"),
    "soak": (_soak, "run the suite N times in a row and count the clauses that failed by chance"),
}


def usage() -> str:
    width = max(map(len, VERBS))
    verbs = "\n".join(f"  {name:<{width}}  {summary}" for name, (_, summary) in VERBS.items())
    return f"usage: python -m conformance VERB [ARGS...]\n\nverbs:\n{verbs}\n\npython -m conformance VERB --help says more.\n"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(usage(), end="")
        return 0
    if not argv:
        print(f"python -m conformance: name a verb ({', '.join(VERBS)}); see python -m conformance --help.", file=sys.stderr)
        return USAGE_ERROR
    verb, rest = argv[0], argv[1:]
    if verb not in VERBS:
        print(f"python -m conformance: unknown verb {verb!r}; choose one of {', '.join(VERBS)}.", file=sys.stderr)
        return USAGE_ERROR
    try:
        return VERBS[verb][0](rest)
    except SystemExit as exc:  # argparse's way out: --help (0) or a bad option (Parser: 4)
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
