"""The mutant check: run the conformance suite against deliberately changed /wait implementations.

    python -m conformance mutants [--representative] [--baseline DIR] [--reports DIR] [MUTANT ...]

Each mutant (``tools/mutant_site/sitecustomize.py``) changes a real local Airflow, and
``tools/mutant_site/expected.yaml`` declares, before it is run, what the suite must make of it.
Two families, the two halves of telling right from wrong:

- **harmful** (sensitivity): one documented behaviour regressed, or a declared divergence fixed.
  Declared: exactly the clauses that must catch it. A missing one is a blind spot, an extra one
  a clause failing for a fault it is not about (a timing clause under a value mutant, say).
- **benign** (specificity): a change Airflow may legitimately make, declared with the doc or
  rule that makes it legitimate. It passes only when the run exits 0 and every clause's verdict
  equals the unmutated run's; any other verdict is a **false failure**, reported as such.

Names joined by ``+`` (``a+b``) run as one server with every change applied: the failing
clauses must be exactly the harmful members' declared clauses, and, when a benign member is
in it, every other clause's verdict the unmutated run's. CI runs its representative mutants
that way, one suite run for several.

Verdicts are read from each run's ``report.json``, never from terminal output; a run's failing
clauses are those with verdict ``fail`` or ``unexpected-pass``. The unmutated run a benign
mutant is compared with is ``--baseline DIR``'s report when it is a whole-suite run of the
installed Airflow version, else a run made here first (and said so). ``--reports DIR`` keeps
each run's report folder there, under the mutant's name, e.g. for ``conformance compare``.

Without names it runs every mutant the installed Airflow can show, each on its own: those of
3.4's loops (``NEEDS_3_4``) only on a 3.4 build, where the loop clauses apply.
``--representative`` runs ``REPRESENTATIVE`` instead, which is what CI runs.

The mutants live in the source tree, not in the package: the local target's Airflow processes
import them from ``PYTHONPATH`` as ``sitecustomize``. They are looked for in the checkout this
package was imported from and in the current directory's ``tools/mutant_site``; an installed
wheel run elsewhere has none, and says so.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from collections.abc import Mapping, Sequence
from functools import partial
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import yaml
from packaging.version import Version

from conformance.arguments import USAGE_ERROR, Parser
from conformance.selfcheck import suite_runs
from conformance.selfcheck.suite_runs import SuiteRun, read_report
from conformance.settings import child_environment
from conformance.verdicts import needs_attention
from conformance.wire import notes

SITE = Path("tools") / "mutant_site"
EXPECTED_FILE = "expected.yaml"


class Declaration(NamedTuple):
    """What expected.yaml says of one mutant."""

    why: str  # what it changes
    clauses: tuple[str, ...]  # harmful: the clauses that must catch it; benign: none
    legitimate: str | None  # benign: the doc or rule that makes the change legitimate

    @property
    def benign(self) -> bool:
        return self.legitimate is not None


class NoSourceCheckout(Exception):
    """No ``tools/mutant_site`` was found; the mutants exist only in a source checkout."""


def find_site(roots: Sequence[Path] | None = None) -> Path:
    """The folder holding the mutants' ``sitecustomize.py``: in this package's checkout, or the current directory's."""
    for root in roots if roots is not None else (Path(__file__).resolve().parents[2], Path.cwd()):
        if (root / SITE / "sitecustomize.py").is_file():
            return root / SITE
    raise NoSourceCheckout(
        f"the mutant check needs a source checkout of this project (its {SITE}/sitecustomize.py); "
        "run it from one, e.g. python3 -m tox -e mutants."
    )


def load_site(site: Path) -> ModuleType:
    """The mutants' module, under a name of its own (a ``sitecustomize`` may already be loaded here)."""
    spec = importlib.util.spec_from_file_location("conformance_mutant_site", site / "sitecustomize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_expected(site: Path) -> dict[str, Declaration]:
    """Each mutant's declaration from the site's ``expected.yaml``."""
    data = yaml.safe_load((site / EXPECTED_FILE).read_text())
    return {
        name: Declaration(why=entry["why"], clauses=tuple(entry.get("clauses", ())), legitimate=entry.get("benign"))
        for name, entry in data.items()
    }


def declared_for(run: str, expected: Mapping[str, Declaration]) -> tuple[list[str], bool]:
    """(the clauses that must catch ``run`` — a mutant or ``a+b`` —, whether a benign member is in it)."""
    members = [expected[name] for name in run.split("+")]
    return list(dict.fromkeys(clause for member in members for clause in member.clauses)), any(
        m.benign for m in members
    )


def verdicts_of(report: Mapping[str, Any] | None) -> dict[str, str]:
    return {clause["id"]: clause["verdict"] for clause in (report or {}).get("clauses", ())}


def false_failures(baseline: Mapping[str, str], mutated: Mapping[str, str], declared: Sequence[str]) -> list[str]:
    """Clauses outside ``declared`` whose verdict differs from the unmutated run's, as ``ID: before -> after``."""
    return [
        f"{clause}: {baseline.get(clause, 'missing')} -> {verdict}"
        for clause, verdict in {**{c: "missing" for c in baseline}, **mutated}.items()
        if clause not in declared and verdict != baseline.get(clause, "missing")
    ]


def compare_catch(expected: Sequence[str], failing: Sequence[str]) -> tuple[list[str], list[str]]:
    """(clauses that should have caught the mutant and did not, clauses that failed though they should not)."""
    return [c for c in expected if c not in failing], [c for c in failing if c not in expected]


def failing_clauses(report: dict[str, Any] | None) -> list[str]:
    """The clauses of a report.json document whose verdict says the suite caught something."""
    return [clause["id"] for clause in (report or {}).get("clauses", ()) if needs_attention(clause["verdict"])]


def run_suite(mutant: str | None, site: Path, keep: Path | None = None) -> SuiteRun:
    """The suite, once, against the local Airflow with ``mutant`` applied (None: unmutated);
    with ``keep``, its report folder stays there."""
    env = child_environment({"CONFORMANCE_MUTANT": mutant or None}, pythonpath_first=[site])
    with tempfile.TemporaryDirectory(prefix="conformance-mutant-") as scratch:
        report_dir = keep if keep is not None else Path(scratch)
        return suite_runs.run_suite(report_dir, runner=partial(suite_runs.captured, env=env))


def usable_baseline(directory: Path | None, airflow_version: str | None = None) -> dict[str, Any] | None:
    """``directory``'s report if it can stand for the unchanged run here: a whole-suite run of
    ``airflow_version`` (default: the installed Airflow's) on the local target; None otherwise."""
    report = read_report(directory) if directory is not None and directory.is_dir() else None
    if report is None or report.get("selection") is not None:
        return None
    airflow = report.get("airflow", {})
    wanted = airflow_version or version("apache-airflow")
    return report if (airflow.get("version"), airflow.get("target")) == (wanted, "local") else None


def default_mutants(site: ModuleType, representative: bool) -> list[str]:
    has_loops = Version(version("apache-airflow")).release[:2] >= (3, 4)
    names = site.REPRESENTATIVE if representative else site.MUTANTS
    return [name for name in names if has_loops or not set(name.split("+")) & set(site.NEEDS_3_4)]


def main(argv: Sequence[str] | None = None, site: Path | None = None) -> int:
    parser = Parser(prog="python -m conformance mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "mutants", nargs="*", metavar="MUTANT", help="default: every one that applies; a+b applies both to one server"
    )
    parser.add_argument(
        "--representative",
        action="store_true",
        help="what CI runs: a harmful values and timing mutant with the benign ones, in one run",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="an unmutated run's report folder to compare benign mutants with (else one is run)",
    )
    parser.add_argument("--reports", type=Path, metavar="DIR", help="keep each run's report folder in DIR/<mutant>")
    args = parser.parse_args(argv)
    try:
        site = site or find_site()
    except NoSourceCheckout as exc:
        print(f"mutants: {exc}", file=sys.stderr)
        return USAGE_ERROR
    module = load_site(site)
    expected = load_expected(site)
    if unknown := [part for name in args.mutants for part in name.split("+") if part not in module.MUTANTS]:
        print(
            f"mutants: unknown mutant {', '.join(unknown)}; choose from: {', '.join(module.MUTANTS)}.", file=sys.stderr
        )
        return USAGE_ERROR
    if undeclared := [name for name in module.MUTANTS if name not in expected]:
        print(
            f"mutants: {', '.join(undeclared)} not declared in {site / EXPECTED_FILE}; add the clauses that must catch it, or what makes it benign, and why.",
            file=sys.stderr,
        )
        return USAGE_ERROR
    names = args.mutants or default_mutants(module, args.representative)
    baseline: dict[str, str] | None = None
    survivors = []
    for mutant in names:
        clauses, has_benign = declared_for(mutant, expected)
        legitimate = [f"{part}: {expected[part].legitimate}" for part in mutant.split("+") if expected[part].benign]
        harmful = [f"{part}: {expected[part].why}" for part in mutant.split("+") if not expected[part].benign]
        print(
            f"{mutant}\n  expected: {', '.join(clauses) or 'no clause fails'}"
            + "".join(f"\n  harmful {why}" for why in harmful)
            + "".join(f"\n  benign {why}" for why in legitimate),
            flush=True,
        )
        if has_benign and baseline is None:
            baseline = _baseline(args.baseline, site, args.reports)
            if baseline is None:
                return 1
        keep = args.reports / mutant if args.reports else None
        run = run_suite(mutant, site, keep)  # no verdict (exit 4) is a failure of the check, never retried
        failing = failing_clauses(run.report)
        missed, extra = compare_catch(clauses, failing)
        false = false_failures(baseline, verdicts_of(run.report), clauses) if has_benign and run.report else []
        ok = run.code == (1 if clauses else 0) and not missed and not extra and not false and run.report is not None
        detail = "".join(
            [
                f"; missed by {', '.join(missed)}" if missed else "",
                f"; also failed {', '.join(extra)}" if extra else "",
                f"; FALSE FAILURE (verdicts that moved): {', '.join(false)}" if false else "",
                "; no report (no verdict)" if run.report is None else "",
            ]
        )
        outcome = ("caught as declared" if clauses else "no false failure") if ok else "NOT AS DECLARED"
        print(
            f"  {outcome} (exit {run.code}, {run.seconds:.0f} s): failing {', '.join(failing) or '-'}{detail}",
            flush=True,
        )
        for note in (run.report or {}).get("notes", ()):
            print(f"  note: {notes.summary_line(note)}", flush=True)
        if not ok:
            survivors.append(mutant)
            print(f"  the suite's output ends:\n{run.output[-4000:]}", flush=True)
    print(
        f"{len(names) - len(survivors)} of {len(names)} mutant runs as declared (harmful caught by exactly their clauses, benign with no false failure)"
    )
    return 1 if survivors else 0


def _baseline(directory: Path | None, site: Path, reports: Path | None) -> dict[str, str] | None:
    """The unmutated run's verdicts: ``directory``'s report if usable, else a run made now."""
    if (report := usable_baseline(directory)) is not None:
        print(f"  unmutated run: {directory / 'report.json'}", flush=True)
        return verdicts_of(report)
    why = (
        f"{directory} holds no whole-suite report of Airflow {version('apache-airflow')} on the local target"
        if directory
        else "no --baseline given"
    )
    print(f"  unmutated run: running the suite unmutated first ({why})", flush=True)
    run = run_suite(None, site, reports / "unmutated" if reports else None)
    if run.code != 0 or run.report is None:
        print(
            f"mutants: the unmutated suite did not pass (exit {run.code}), so no benign mutant can be judged against it; its output ends:\n{run.output[-4000:]}",
            flush=True,
        )
        return None
    print(f"  unmutated run: exit 0 in {run.seconds:.0f} s", flush=True)
    return verdicts_of(run.report)


if __name__ == "__main__":
    sys.exit(main())
