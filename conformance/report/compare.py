"""The upgrade gate: what changed, clause by clause, from one run's report to another's.

    python -m conformance compare BASELINE CANDIDATE [--fail-on-new-divergence] [--json]

BASELINE and CANDIDATE are each a ``report.json`` or the folder holding one, typically the
Airflow you run now and the one you mean to upgrade to. Reports of any format version are read
as the current one (:mod:`conformance.report.files`). A clause one report lists and the other
does not (the suites differed) is ``missing`` on that side.

The exit code is 1 only when the candidate *regressed* a clause: the baseline passed it and the
candidate does not pass it and says nothing better. "Passed" means ``pass`` or
``unexpected-pass``: the tests of an unexpected pass passed against the server, only the
declared divergence was stale. "Does not pass it" is any of ``fail``, ``absent``, ``untested``,
``not-applicable``, ``not-selected`` or ``missing``: a clause that the candidate did not check
is not known to still hold. With ``--fail-on-new-divergence`` an ``expected-divergence`` on the
candidate of a clause the baseline passed is a regression too. Bad input (a missing path, a
folder without report.json, a file that is not a report or is newer than this suite reads) is
one sentence and exit code 4; otherwise the exit code is 0.

Every other change is listed, by kind (the first that fits, in this order):

========================= ================================================================
``regression``            as above; the only kind that fails the gate
``new``                   missing on the baseline
``gone``                  missing on the candidate
``improvement``           the candidate passed a clause the baseline did not
``persisting-divergence`` ``fail`` on the candidate, ``expected-divergence`` on the baseline,
                          and the candidate's report notes the failure as the same as
                          declared for the nearest measured version (a ``same-as-declared``
                          note: the candidate runs an Airflow the suite never measured,
                          :mod:`conformance.report.unmeasured`); listed before the new failures
``new-failure``           ``fail`` on the candidate, from a baseline that did not pass either
``divergence-appeared``   ``expected-divergence`` on the candidate (a regression with the flag
                          when the baseline passed)
``divergence-gone``       ``expected-divergence`` on the baseline, something else that is not a
                          pass on the candidate
``changed``               the rest: between verdicts that say nothing was checked (``absent``,
                          ``untested``, ``not-applicable``, ``not-selected``), ``fail`` to one of
                          those, ``pass`` and ``unexpected-pass`` either way
========================= ================================================================

A persisting divergence is no regression, by the rule above: a baseline ``expected-divergence``
is no pass. So it leaves the exit code as a new failure would (0 unless something else
regressed): the clause diverged on the baseline and fails the same way on a version nobody
measured, where the thing to do is to measure it and extend the divergence's entry.

Only verdicts (and, for a persisting divergence, the candidate's notes) are compared: the same
verdict with other tests, evidence or divergence reason is unchanged. Notes (:mod:`conformance.wire.notes`: what a run saw that is no failure, such as a key
no clause knows) are listed apart, those that appeared on the candidate and those gone from it;
they never change the exit code. The output names both runs (Airflow version, target, database), lists each
changed clause under its kind, the regressions first, counts the unchanged ones, and ends with
a one-line verdict; ``--json`` prints the machine document instead
(``schemas/compare.schema.json``). When ``GITHUB_STEP_SUMMARY`` is set, a short Markdown form
is appended to it as well (:mod:`conformance.report.step_summary`).

:func:`compare` is pure (two report dicts in, a :class:`Comparison` out); rendering and the
command line come after it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from conformance import settings
from conformance.arguments import USAGE_ERROR, Parser
from conformance.catalog.versions import describe
from conformance.report import step_summary
from conformance.report.files import ReportFileError, load_report, report_path
from conformance.report.format import current
from conformance.verdicts import CHANGE_NOUNS, CHANGES, MISSING, Verdict, not_passing, passing
from conformance.wire import notes

COMPARE_VERSION = 3  # 2: notes; 3: the kind persisting-divergence


def counted(count: int, kind: str) -> str:
    """``"1 improvement"``, ``"2 improvements"``."""
    one, several = CHANGE_NOUNS[kind]
    return f"{count} {one if count == 1 else several}"


def kind_of(
    baseline: str, candidate: str, *, fail_on_new_divergence: bool = False, same_as_declared: bool = False
) -> str | None:
    """The kind of change from one verdict to another (see the module docstring); None if unchanged.

    ``same_as_declared``: the candidate's report notes the clause's failure as the same as
    declared for the nearest measured version.
    """
    if baseline == candidate:
        return None
    regressing = not_passing(candidate) or (fail_on_new_divergence and candidate == Verdict.EXPECTED_DIVERGENCE)
    if passing(baseline) and regressing:
        return "regression"
    if baseline == MISSING:
        return "new"
    if candidate == MISSING:
        return "gone"
    if passing(candidate) and not passing(baseline):
        return "improvement"
    if candidate == "fail" and baseline == "expected-divergence" and same_as_declared:
        return "persisting-divergence"
    if candidate == "fail":
        return "new-failure"
    if candidate == "expected-divergence":
        return "divergence-appeared"
    if baseline == "expected-divergence":
        return "divergence-gone"
    return "changed"


@attrs.frozen
class Side:
    """One of the two runs, as the output names it."""

    source: str
    suite_version: str
    started: str
    airflow_version: str | None
    prerelease: bool
    target: str | None
    database: str | None
    feature_absent: str | None  # why, when the report says the DAG Result feature is absent

    def title(self) -> str:
        absent = "; DAG Result feature absent" if self.feature_absent else ""
        return f"Airflow {describe(self.airflow_version)} ({self.target}, {self.database}{absent})"


@attrs.frozen
class Change:
    """One clause whose verdict differs between the runs."""

    id: str
    statement: str
    kind: str
    baseline: str
    candidate: str
    baseline_divergence: str | None
    candidate_divergence: str | None

    def reason(self) -> str | None:
        """The declared divergence worth showing: the candidate's, else the baseline's."""
        return self.candidate_divergence or self.baseline_divergence


@attrs.frozen
class Comparison:
    baseline: Side
    candidate: Side
    changes: tuple[Change, ...]  # in kind order, then the reports' clause order
    unchanged: int
    baseline_passed: int  # clauses the baseline passed: what the gate guards
    fail_on_new_divergence: bool
    notes_appeared: tuple[Mapping[str, Any], ...] = ()  # on the candidate, not on the baseline
    notes_gone: tuple[Mapping[str, Any], ...] = ()  # on the baseline, not on the candidate

    def of_kind(self, kind: str) -> list[Change]:
        return [change for change in self.changes if change.kind == kind]

    @property
    def regressions(self) -> list[Change]:
        return self.of_kind("regression")

    def exit_code(self) -> int:
        """1 when the candidate regressed a clause, else 0."""
        return 1 if self.regressions else 0


def _side(report: Mapping[str, Any], source: str) -> Side:
    airflow, feature = report["airflow"], report["feature"]
    return Side(
        source=source,
        suite_version=report["suite"]["version"],
        started=report["started"],
        airflow_version=airflow["version"],
        prerelease=airflow["prerelease"],
        target=airflow["target"],
        database=airflow["database"],
        feature_absent=None if feature["present"] else (feature["reason"] or "no reason given"),
    )


def compare(
    baseline: Mapping[str, Any],
    candidate: Mapping[str, Any],
    *,
    fail_on_new_divergence: bool = False,
    sources: tuple[str, str] = ("baseline", "candidate"),
) -> Comparison:
    """What changed from ``baseline`` to ``candidate`` (report dicts of any format version).

    ``sources`` names where each report came from, for the output.
    """
    old, new = current(baseline), current(candidate)
    old_clauses = {clause["id"]: clause for clause in old["clauses"]}
    new_clauses = {clause["id"]: clause for clause in new["clauses"]}
    noted = {note["clause"] for note in new["notes"] if note["kind"] == "same-as-declared"}
    changes: list[Change] = []
    unchanged = 0
    for clause_id in dict.fromkeys([*old_clauses, *new_clauses]):
        before, after = old_clauses.get(clause_id), new_clauses.get(clause_id)
        verdicts = (before["verdict"] if before else MISSING, after["verdict"] if after else MISSING)
        kind = kind_of(*verdicts, fail_on_new_divergence=fail_on_new_divergence, same_as_declared=clause_id in noted)
        if kind is None:
            unchanged += 1
            continue
        changes.append(
            Change(
                id=clause_id,
                statement=(after or before or {}).get("statement", ""),
                kind=kind,
                baseline=verdicts[0],
                candidate=verdicts[1],
                baseline_divergence=before.get("divergence") if before else None,
                candidate_divergence=after.get("divergence") if after else None,
            )
        )
    changes.sort(key=lambda change: CHANGES.index(change.kind))  # stable: clause order within a kind
    old_notes = {notes.identity_of(note) for note in old["notes"]}
    new_notes = {notes.identity_of(note) for note in new["notes"]}
    return Comparison(
        baseline=_side(old, sources[0]),
        candidate=_side(new, sources[1]),
        changes=tuple(changes),
        unchanged=unchanged,
        baseline_passed=sum(passing(clause["verdict"]) for clause in old["clauses"]),
        fail_on_new_divergence=fail_on_new_divergence,
        notes_appeared=tuple(note for note in new["notes"] if notes.identity_of(note) not in old_notes),
        notes_gone=tuple(note for note in old["notes"] if notes.identity_of(note) not in new_notes),
    )


def _counts(comparison: Comparison) -> dict[str, int]:
    return {kind: len(comparison.of_kind(kind)) for kind in CHANGES} | {"unchanged": comparison.unchanged}


def verdict_line(comparison: Comparison) -> str:
    """The comparison in one line: the regressed clauses, or that there are none and what else changed."""
    passed = comparison.baseline_passed
    if regressions := comparison.regressions:
        ids = ", ".join(change.id for change in regressions)
        verb = "does" if len(regressions) == 1 else "do"
        clauses = f"{passed} clause{'s' * (passed != 1)}"
        return f"REGRESSED: {len(regressions)} of the {clauses} the baseline passed {verb} not pass on the candidate: {ids}"
    others = ", ".join(counted(len(changes), kind) for kind in CHANGES if (changes := comparison.of_kind(kind)))
    clauses = f"{passed} clause{'s' * (passed != 1)}"
    line = f"no regression: of the {clauses} the baseline passed, the candidate regressed none ({others or 'nothing changed'})"
    if not comparison.fail_on_new_divergence and any(
        passing(change.baseline) for change in comparison.of_kind("divergence-appeared")
    ):
        line += "; --fail-on-new-divergence would fail on the divergences that appeared"
    return line


def render_text(comparison: Comparison) -> str:
    """For a terminal or a CI log: both runs, each changed clause by kind, the count unchanged, the verdict."""
    lines = [
        f"baseline:  {comparison.baseline.title()}, {comparison.baseline.source}",
        f"candidate: {comparison.candidate.title()}, {comparison.candidate.source}",
    ]
    width = max((len(change.id) for change in comparison.changes), default=0)
    for kind in CHANGES:
        if changes := comparison.of_kind(kind):
            lines.append(f"{CHANGE_NOUNS[kind][1]}: {len(changes)}")
            for change in changes:
                reason = f" ({change.reason()})" if change.reason() else ""
                lines.append(f"  {change.id:<{width}}  {change.baseline} -> {change.candidate}{reason}")
    lines.append(f"{comparison.unchanged} clause{'s' * (comparison.unchanged != 1)} unchanged")
    for label, listed in (("notes appeared", comparison.notes_appeared), ("notes gone", comparison.notes_gone)):
        if listed:
            lines.append(f"{label} (not judged): {len(listed)}")
            lines += [f"  {notes.summary_line(note)}" for note in listed]
    lines.append(verdict_line(comparison))
    return "\n".join(lines) + "\n"


def _side_document(side: Side) -> dict[str, Any]:
    return {
        "source": side.source,
        "suite_version": side.suite_version,
        "started": side.started,
        "airflow": {
            "version": side.airflow_version,
            "prerelease": side.prerelease,
            "target": side.target,
            "database": side.database,
        },
        "feature": {"present": side.feature_absent is None, "reason": side.feature_absent},
    }


def document(comparison: Comparison) -> dict[str, Any]:
    """The machine form (``--json``), described by schemas/compare.schema.json."""
    return {
        "compare_version": COMPARE_VERSION,
        "baseline": _side_document(comparison.baseline),
        "candidate": _side_document(comparison.candidate),
        "fail_on_new_divergence": comparison.fail_on_new_divergence,
        "regressed": bool(comparison.regressions),
        "exit_code": comparison.exit_code(),
        "baseline_passed": comparison.baseline_passed,
        "counts": _counts(comparison),
        "changes": [
            {
                "id": change.id,
                "statement": change.statement,
                "kind": change.kind,
                "baseline": change.baseline,
                "candidate": change.candidate,
                "divergence": {"baseline": change.baseline_divergence, "candidate": change.candidate_divergence},
            }
            for change in comparison.changes
        ],
        "notes": {
            "appeared": [_note_document(note) for note in comparison.notes_appeared],
            "gone": [_note_document(note) for note in comparison.notes_gone],
        },
    }


def _note_document(note: Mapping[str, Any]) -> dict[str, Any]:
    return {key: note[key] for key in ("kind", "clause", "subject", "message")}


def render_markdown(comparison: Comparison, *, run_page: str | None = None) -> str:
    """The short form for a CI job's summary page: both runs, a table of the changes, the verdict."""
    md = step_summary.md_text
    outcome = "regressed" if comparison.regressions else "no regression"
    lines = [
        f"### Conformance compare: {outcome}",
        "",
        f"- baseline: {md(comparison.baseline.title())}, `{comparison.baseline.source}`",
        f"- candidate: {md(comparison.candidate.title())}, `{comparison.candidate.source}`",
        "",
    ]
    if comparison.changes:
        lines += ["| change | clause | baseline | candidate |", "|---|---|---|---|"]
        lines += [
            f"| {'**regression**' if change.kind == 'regression' else change.kind} | {change.id} | {change.baseline} | {change.candidate} |"
            for change in comparison.changes
        ]
        lines.append("")
    lines += [
        f"{comparison.unchanged} clause{'s' * (comparison.unchanged != 1)} unchanged.",
        "",
        md(verdict_line(comparison)),
        "",
    ]
    if run_page:
        lines += [f"The run's page, with its artifacts: {run_page}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def parser() -> Parser:
    parser = Parser(prog="python -m conformance compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("baseline", type=Path, help="the report.json you compare against (or the folder holding one)")
    parser.add_argument(
        "candidate", type=Path, help="the report.json of the run you mean to accept (or the folder holding one)"
    )
    parser.add_argument(
        "--fail-on-new-divergence",
        action="store_true",
        help="also exit 1 when a clause the baseline passed is an expected-divergence on the candidate",
    )
    parser.add_argument("--json", action="store_true", help="print the machine document (schemas/compare.schema.json)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(None if argv is None else list(argv))
    paths = (report_path(args.baseline), report_path(args.candidate))
    try:
        reports = [load_report(path) for path in paths]
    except ReportFileError as exc:
        sentence = str(exc)
        print(f"compare: {sentence}{'' if sentence.endswith(('.', '?')) else '.'}", file=sys.stderr)
        return USAGE_ERROR
    comparison = compare(
        *reports,
        fail_on_new_divergence=args.fail_on_new_divergence,
        sources=(str(paths[0]), str(paths[1])),
    )
    print(
        json.dumps(document(comparison), indent=1, ensure_ascii=False) if args.json else render_text(comparison),
        end="\n" if args.json else "",
    )
    if (given := settings.read()).step_summary:
        step_summary.append(render_markdown(comparison, run_page=step_summary.run_url(given)), given)
    return comparison.exit_code()


if __name__ == "__main__":
    sys.exit(main())
