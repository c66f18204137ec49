"""The soak: the whole conformance suite N times in a row, counting what fails by chance.

    python -m conformance soak --runs N [--busy-core] [--report DIR] [-- PYTEST_ARGS...]

A soak runs against an unmodified Airflow, which conforms apart from the divergences
``expectations.yaml`` declares for it. Every clause that fails there (verdict ``fail``,
``unexpected-pass`` or ``error``) is therefore a *false failure*: the suite, not Airflow, got it
wrong, usually a timing assertion that lost a race with a busy machine. One run cannot tell such
flakiness from a real finding; thirty in a row can.

Each run is ``python -m conformance run --report DIR/run-K -- -q PYTEST_ARGS`` in a subprocess,
one after the other, as a user would run it (the way the mutant check runs the suite). What a
run found is read from its ``report.json``, never from its terminal output; a run that wrote
none (exit 4: the server failed before any verdict) is a *lost verdict*, and the end of its
output is kept. Timing tests that had to measure again leave one evidence item per measurement
(a ``measurement`` key); every measurement after a test's first counts as a *re-measure*, a
near miss that did not become a failure.

``--busy-core`` keeps one core busy for the whole soak with Debian's ``stress-ng``, started once
and stopped at the end, so the runs meet the kind of contention CI machines have.

Each run prints one line as it ends; then a table of every clause that failed or re-measured,
and the totals. ``DIR/soak.json`` holds the same, machine-readable. The exit code is 0 only if
every run exited 0 and no clause failed, else 1 (4 for bad input, or stress-ng missing).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.arguments import USAGE_ERROR, Parser, split_at_double_dash
from conformance.selfcheck.suite_runs import Runner, in_own_group, run_suite, stop
from conformance.verdicts import false_failure, judged

STRESS_NG = ("stress-ng", "--cpu", "1", "--timeout", "0", "--quiet")  # one CPU stressor; timeout 0: until stopped
OUTPUT_TAIL = 3000  # characters of a failed run's output kept
STRESS_GRACE = 10.0


@dataclass(frozen=True)
class ClauseOutcome:
    """One clause in one run: its verdict, and how many times its timing tests measured again."""

    verdict: str
    re_measures: int = 0


@dataclass(frozen=True)
class RunResult:
    """One run of the suite, reduced to what the soak counts (a whole report.json can be megabytes)."""

    number: int
    exit_code: int
    seconds: float
    clauses: dict[str, ClauseOutcome] | None  # None: the run wrote no report.json
    output_tail: str = ""  # kept when the run exited non-zero

    @property
    def lost(self) -> bool:
        return self.clauses is None

    @property
    def failing(self) -> list[str]:
        return [clause for clause, outcome in (self.clauses or {}).items() if false_failure(outcome.verdict)]


@dataclass
class ClauseTally:
    """One clause over the whole soak."""

    judged: int = 0
    false_failures: int = 0
    re_measures: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)


# --- counting: pure functions of report.json documents -------------------------------------------------


def re_measures(evidence: Iterable[Mapping[str, Any]]) -> int:
    """Measurements beyond the first, among a clause's evidence items.

    A timing test leaves one item per measurement, each with a ``measurement`` dict (``kept``,
    ``reason``); the first is the one every run makes, so only the rest count. A measurement
    numbered (``number``: 0 for the session's own, 1, 2, ... for re-measures) counts when its
    number is above 0; an unnumbered one counts when it is not the first of its test and case
    (a test may measure several cases). Evidence without the key (``null`` or absent: other
    tests, or a suite that predates it) counts 0.
    """
    measured = [(item, item["measurement"]) for item in evidence if isinstance(item.get("measurement"), dict)]
    numbered = sum(m["number"] > 0 for _, m in measured if isinstance(m.get("number"), int))
    series = Counter(
        (item.get("test"), item.get("case")) for item, m in measured if not isinstance(m.get("number"), int)
    )
    return numbered + sum(count - 1 for count in series.values())


def clause_outcomes(report: Mapping[str, Any]) -> dict[str, ClauseOutcome]:
    """Each clause of a report.json document: its verdict and its re-measures."""
    return {
        clause["id"]: ClauseOutcome(clause["verdict"], re_measures(clause.get("evidence") or ()))
        for clause in report.get("clauses", ())
    }


def tally(runs: Sequence[RunResult]) -> dict[str, ClauseTally]:
    """Every clause any run judged, over all runs, in the order the reports list them."""
    tallies: dict[str, ClauseTally] = {}
    for run in runs:
        for clause, outcome in (run.clauses or {}).items():
            entry = tallies.setdefault(clause, ClauseTally())
            entry.verdicts[outcome.verdict] += 1
            entry.judged += int(judged(outcome.verdict))
            entry.false_failures += int(false_failure(outcome.verdict))
            entry.re_measures += outcome.re_measures
    return tallies


def passed(runs: Sequence[RunResult], runs_asked: int) -> bool:
    """Whether the soak passes: every run asked for ended, exited 0 with a verdict, and no clause failed."""
    return len(runs) == runs_asked and all(run.exit_code == 0 and not run.lost and not run.failing for run in runs)


def summary(
    runs: Sequence[RunResult],
    *,
    runs_asked: int,
    busy_core: bool,
    pytest_args: Sequence[str],
    stress_ended: int | None = None,
) -> dict[str, Any]:
    """The soak as one JSON document (soak.json); the terminal summary is rendered from it.

    ``stress_ended`` is stress-ng's exit code when it ended before the soak did: the runs after
    that had no busy core, so the soak does not pass.
    """
    tallies = tally(runs)
    seconds = [run.seconds for run in runs]
    return {
        "runs_asked": runs_asked,
        "busy_core": busy_core,
        "stress_ng_ended_early": stress_ended,
        "pytest_args": list(pytest_args),
        "passed": passed(runs, runs_asked) and stress_ended is None,
        "runs": [
            {
                "number": run.number,
                "exit_code": run.exit_code,
                "seconds": round(run.seconds, 1),
                "lost_verdict": run.lost,
                "failing": run.failing,
                "output_tail": run.output_tail or None,
            }
            for run in runs
        ],
        "clauses": {
            clause: {
                "judged": entry.judged,
                "false_failures": entry.false_failures,
                "re_measures": entry.re_measures,
                "verdicts": dict(entry.verdicts),
            }
            for clause, entry in tallies.items()
        },
        "totals": {
            "runs": len(runs),
            "exited_non_zero": sum(run.exit_code != 0 for run in runs),
            "lost_verdicts": [run.number for run in runs if run.lost],
            "false_failures": sum(entry.false_failures for entry in tallies.values()),
            "re_measures": sum(entry.re_measures for entry in tallies.values()),
            "wall_s": {
                "min": round(min(seconds), 1),
                "median": round(statistics.median(seconds), 1),
                "max": round(max(seconds), 1),
            }
            if seconds
            else None,
        },
    }


# --- what the terminal shows --------------------------------------------------------------------------


def run_line(run: RunResult, total: int) -> str:
    """``run 3 of 30: exit 0, 71.2 s, failing: -``, printed as each run ends."""
    failing = "no verdict (no report.json)" if run.lost else ", ".join(run.failing) or "-"
    return f"run {run.number} of {total}: exit {run.exit_code}, {run.seconds:.1f} s, failing: {failing}"


def render(document: Mapping[str, Any]) -> str:
    """The summary table (clauses that failed or re-measured) and the totals, from :func:`summary`'s document."""
    rows = [
        (clause, entry)
        for clause, entry in document["clauses"].items()
        if entry["false_failures"] or entry["re_measures"]
    ]
    width = max([len("clause"), *(len(clause) for clause, _ in rows)])
    ended, asked = len(document["runs"]), document["runs_asked"]
    busy = " with one core kept busy" if document["busy_core"] else ""
    lines = [f"soak: {ended} runs{busy}" if ended == asked else f"soak: {ended} of {asked} runs{busy} (interrupted)"]
    if (code := document["stress_ng_ended_early"]) is not None:
        lines.append(f"  stress-ng ended early (exit {code}): the later runs had no busy core")
    if rows:
        lines.append(f"  {'clause':<{width}}  judged  false failures  re-measures")
        lines += [
            f"  {clause:<{width}}  {e['judged']:>6}  {e['false_failures']:>14}  {e['re_measures']:>11}"
            for clause, e in rows
        ]
    else:
        lines.append("  no clause failed or re-measured")
    totals = document["totals"]
    lost = totals["lost_verdicts"]
    which = f" (run {', '.join(map(str, lost))})" if lost else ""
    lines.append(
        f"runs: {totals['runs']}, exited non-zero: {totals['exited_non_zero']}, lost verdicts: {len(lost)}{which}, "
        f"false failures: {totals['false_failures']}, re-measures: {totals['re_measures']}"
    )
    if wall := totals["wall_s"]:
        lines.append(
            f"wall time per run: min {wall['min']:.1f} s, median {wall['median']:.1f} s, max {wall['max']:.1f} s"
        )
    return "\n".join(lines)


# --- running ------------------------------------------------------------------------------------------


@contextmanager
def busy_core(command: Sequence[str] = STRESS_NG) -> Iterator[subprocess.Popen[bytes]]:
    """One core kept busy by ``command`` (stress-ng) while the block runs, stopped by its pid afterwards.

    stress-ng forks its stressors, so it starts in a process group of its own and the whole group
    (its pid) is signalled: a stressor outliving its parent would keep the core busy for good.
    """
    process = subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, process_group=0)
    try:
        yield process
    finally:
        stop(process, signal.SIGTERM, STRESS_GRACE, group=True)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt while the soak runs, so the run and stress-ng are stopped, as on Ctrl-C."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def one_run(number: int, report_dir: Path, pytest_args: Sequence[str], runner: Runner) -> RunResult:
    """Run the suite once into ``report_dir/run-<number>`` (emptied first: a stale report.json would pass for this run's)."""
    folder = report_dir / f"run-{number}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    run = run_suite(folder, pytest_args, runner=runner)
    return RunResult(
        number,
        run.code,
        run.seconds,
        None if run.report is None else clause_outcomes(run.report),
        run.output[-OUTPUT_TAIL:] if run.code != 0 or run.report is None else "",
    )


def soak(runs: int, report_dir: Path, pytest_args: Sequence[str], runner: Runner) -> list[RunResult]:
    """The runs, one after the other, each reported as it ends; those that ended when interrupted."""
    done: list[RunResult] = []
    try:
        for number in range(1, runs + 1):
            run = one_run(number, report_dir, pytest_args, runner)
            done.append(run)
            print(run_line(run, runs), flush=True)
            if run.output_tail:
                print(f"  its output ends:\n{run.output_tail}", flush=True)
    except KeyboardInterrupt:
        print(
            f"soak: interrupted during run {len(done) + 1} of {runs}; what follows covers the {len(done)} that ended.",
            flush=True,
        )
    return done


def run_count(text: str) -> int:
    """--runs: a whole number, 1 or more (argparse turns the error into one sentence, exit 4)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of runs, a whole number 1 or more")
    return value


def parser() -> Parser:
    parser = Parser(
        prog="python -m conformance soak",
        description=__doc__.split("\n\n")[0],
        epilog="Arguments after -- go to every run's pytest, after -q.",
    )
    parser.add_argument(
        "--runs", type=run_count, required=True, metavar="N", help="how many runs of the suite, one after the other"
    )
    parser.add_argument(
        "--busy-core", action="store_true", help="keep one core busy for the whole soak (needs stress-ng)"
    )
    parser.add_argument(
        "--report", metavar="DIR", help="where run-K/ and soak.json go (default: a new temporary folder)"
    )
    return parser


def main(argv: Sequence[str] | None = None, runner: Runner = in_own_group, stress: Sequence[str] = STRESS_NG) -> int:
    ours, pytest_args = split_at_double_dash(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(ours)
    if args.busy_core and shutil.which(stress[0]) is None:  # the soak installs nothing itself (tox -e soak does)
        print(
            f"soak: --busy-core needs {stress[0]}, which is not installed; install it (apt-get install stress-ng) "
            "or leave out --busy-core.",
            file=sys.stderr,
        )
        return USAGE_ERROR
    report_dir = Path(args.report) if args.report else Path(tempfile.mkdtemp(prefix="conformance-soak-"))
    report_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"soak: {args.runs} runs of the suite{', one core kept busy' if args.busy_core else ''}; reports in {report_dir}",
        flush=True,
    )
    with sigterm_as_interrupt(), busy_core(stress) if args.busy_core else nullcontext() as stressor:
        runs = soak(args.runs, report_dir, pytest_args, runner)
        stress_ended = stressor.poll() if stressor is not None else None
    document = summary(
        runs, runs_asked=args.runs, busy_core=args.busy_core, pytest_args=pytest_args, stress_ended=stress_ended
    )
    (report_dir / "soak.json").write_text(json.dumps(document, indent=2) + "\n")
    print(render(document))
    print(f"soak.json: {report_dir / 'soak.json'}")
    return 0 if document["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
