"""The contributor runs: Airflow's source changed as a contributor changes it, judged exactly.

    python tools/check_contributor_runs.py --work DIR --reports DIR [--baseline DIR] [RUN ...]

A contributor runs the suite on their own build before opening a pull request, and two things
must then be true: a fix of a declared divergence shows as exactly that (the strict expectation
flips, nothing else moves), and a build under a version the suite never measured fails each
divergence that persists, saying it is the one declared for the version before, never passing
it on a guess. ``tools/contributor_runs/runs.yaml`` declares each run before it is run, as
``tools/mutant_site/expected.yaml`` does for the mutants; this builds each (tools/source_build.py,
from the pinned 3.4.0b2 sdists), runs the whole suite on it and checks, from its report.json:

- the suite's exit code;
- the server answered GET /api/v2/version with the version built, and the patched files are the
  ones installed;
- the clauses whose verdict differs from the unchanged source's run are exactly those declared,
  with the declared verdicts (the unchanged run: ``--baseline DIR``'s report when it is a whole
  suite on the same Airflow, as in CI after ``tox -e airflow-source``, else the committed
  ``fixtures/reports/airflow-3.4.0b2``);
- ``same-as-declared`` notes on exactly the declared clauses, naming the declared version;
- ``conformance compare`` against the committed 3.4.0b2 report gives each declared clause the
  declared kind, and regresses nothing.

Each run's report folder stays in ``--reports DIR/<run>``. Exit 0 when every run is as declared,
1 otherwise, 4 for an unknown run name.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import source_build
import yaml

from conformance.report import compare as comparing
from conformance.report.files import ReportFileError, load_report
from conformance.selfcheck.mutants import usable_baseline, verdicts_of
from conformance.selfcheck.suite_runs import run_suite, shown
from conformance.verdicts import MISSING

HERE = Path(__file__).resolve().parent
RUNS_FILE = HERE / "contributor_runs" / "runs.yaml"
COMMITTED = HERE.parent / "fixtures" / "reports" / "airflow-3.4.0b2" / "report.json"


def load_runs(path: Path = RUNS_FILE) -> dict[str, dict[str, Any]]:
    return yaml.safe_load(path.read_text())


def moved(baseline: Mapping[str, str], candidate: Mapping[str, str]) -> dict[str, str]:
    """Each clause whose verdict differs between two runs, with the candidate's (MISSING when it has none)."""
    return {
        clause: candidate.get(clause, MISSING)
        for clause in {**baseline, **candidate}
        if candidate.get(clause, MISSING) != baseline.get(clause, MISSING)
    }


def same_as_declared_notes(report: Mapping[str, Any]) -> dict[str, str]:
    """Clause -> the measured version its same-as-declared note names."""
    return {note["clause"]: note["subject"] for note in report.get("notes", ()) if note["kind"] == "same-as-declared"}


def judge(
    run: Mapping[str, Any],
    code: int,
    report: Mapping[str, Any],
    baseline: Mapping[str, Any],
    committed: Mapping[str, Any],
) -> list[str]:
    """What differs from the declaration; empty when the run is exactly as declared."""
    problems = []
    if code != run["exit"]:
        problems.append(f"the suite exited {code}, {run['exit']} declared")
    declared = dict(run.get("verdicts", {}))
    if (changes := moved(verdicts_of(baseline), verdicts_of(report))) != declared:
        problems.append(
            f"verdicts that moved from the unchanged source's run: {_listing(changes)}; declared: {_listing(declared)}"
        )
    noted = same_as_declared_notes(report)
    wanted = {clause: run["same_as_declared"] for clause in declared} if run.get("same_as_declared") else {}
    if noted != wanted:
        problems.append(f"same-as-declared notes: {_listing(noted)}; declared: {_listing(wanted)}")
    if kind := run.get("compare"):
        comparison = comparing.compare(committed, report)
        kinds = {change.id: change.kind for change in comparison.changes}
        if wrong := {clause: kinds.get(clause, "unchanged") for clause in declared if kinds.get(clause) != kind}:
            problems.append(f"compare against {COMMITTED.parent.name} gave {_listing(wrong)}, declared {kind}")
        if regressed := [change.id for change in comparison.changes if change.kind == "regression"]:
            problems.append(f"compare against {COMMITTED.parent.name} found regressions: {', '.join(regressed)}")
    return problems


def _listing(mapping: Mapping[str, str]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(mapping.items())) or "none"


def unchanged_run(directory: Path | None, committed: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    """The unchanged source's whole-suite run: ``directory``'s when it ran the pinned source's
    version on the local target (:func:`conformance.selfcheck.mutants.usable_baseline`), else the committed one."""
    report = usable_baseline(directory, source_build.PINNED[1].version)
    return (report, directory / "report.json") if report is not None else (committed, COMMITTED)


def console_script() -> list[str]:
    """The installed front door, beside this interpreter: ``python -m conformance`` would import the checkout here."""
    return [str(Path(sys.executable).parent / "conformance")]


def check(
    name: str, run: Mapping[str, Any], work: Path, reports: Path, baseline_dir: Path | None, committed: dict[str, Any]
) -> list[str]:
    print(f"{name}: {run['why']}", flush=True)
    patch = HERE / "contributor_runs" / run["patch"] if run.get("patch") else None
    manifest = source_build.install(work, None, patch, run.get("version"))
    if problems := source_build.check_installed(manifest):
        return problems
    print(
        f"  built and installed Airflow {manifest['version']} in {sum(manifest['seconds'].values()):.0f} s", flush=True
    )
    try:
        suite = run_suite(reports / name, program=console_script(), runner=shown, checked=True)
    except ReportFileError as exc:
        return [f"no verdict: {exc}"]
    if suite.report is None:
        return [f"no verdict (exit {suite.code}): the run wrote no report.json into {reports / name}"]
    baseline, baseline_path = unchanged_run(baseline_dir, committed)
    print(f"  suite: exit {suite.code} in {suite.seconds:.0f} s; unchanged run: {baseline_path}", flush=True)
    return source_build.check_served(manifest, reports / name) + judge(
        run, suite.code, suite.report, baseline, committed
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/check_contributor_runs.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("runs", nargs="*", metavar="RUN", help="default: every run in tools/contributor_runs/runs.yaml")
    parser.add_argument("--work", type=Path, required=True, help="the build's folder (emptied for each run)")
    parser.add_argument("--reports", type=Path, required=True, help="each run's report folder goes to DIR/<run>")
    parser.add_argument(
        "--baseline", type=Path, help="the unchanged source's report folder (default: the committed 3.4.0b2 report)"
    )
    args = parser.parse_args(argv)
    runs = load_runs()
    if unknown := [name for name in args.runs if name not in runs]:
        print(f"contributor runs: no run named {', '.join(unknown)}; choose from: {', '.join(runs)}.", file=sys.stderr)
        return source_build.USAGE_ERROR
    try:
        committed = load_report(COMMITTED)
    except ReportFileError as exc:
        print(
            f"contributor runs: the committed 3.4.0b2 report cannot be read: {exc}; restore it with git checkout.",
            file=sys.stderr,
        )
        return source_build.USAGE_ERROR
    failed = []
    for name in args.runs or list(runs):
        problems = check(name, runs[name], args.work, args.reports, args.baseline, committed)
        print(
            f"  {'NOT AS DECLARED' if problems else 'as declared'}" + "".join(f"\n  - {p}" for p in problems),
            flush=True,
        )
        failed += [name] if problems else []
    print(f"{len(args.runs or runs) - len(failed)} of {len(args.runs or runs)} contributor runs as declared")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
