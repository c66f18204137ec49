"""The mutant check: run the conformance suite against deliberately broken /wait implementations.

    python -m conformance mutants [--representative] [MUTANT ...]   # a source checkout, apache-airflow here

Each mutant (``tools/mutant_site/sitecustomize.py``) regresses one documented behaviour inside
a real local Airflow (or fixes a declared divergence). ``tools/mutant_site/expected.yaml``
declares, with a one-line reason, exactly which clauses must catch each one. The suite passes
this check only if, against every mutant, the failing clauses are exactly those: a missing one
is a blind spot, an extra one a clause failing for a fault it is not about (a timing clause
failing under a value mutant, say). Which clauses failed is read from the run's
``report.json`` (verdict ``fail`` or ``unexpected-pass``), never from its terminal output.

Without names it runs every mutant the installed Airflow can show: those of 3.4's loops
(``NEEDS_3_4``) only on a 3.4 build, where the loop clauses apply. ``--representative`` keeps
one mutant per family of clauses (``REPRESENTATIVE``), which is what CI runs.

The mutants live in the source tree, not in the package: the local target's Airflow processes
import them from ``PYTHONPATH`` as ``sitecustomize``. They are looked for in the checkout this
package was imported from and in the current directory's ``tools/mutant_site``; an installed
wheel run elsewhere has none, and says so.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from importlib.metadata import version
from typing import Any

import yaml
from packaging.version import Version

from conformance.arguments import USAGE_ERROR, Parser

SITE = Path("tools") / "mutant_site"
EXPECTED_FILE = "expected.yaml"
CAUGHT_BY = ("fail", "unexpected-pass")  # the verdicts that say the suite noticed


class NoSourceCheckout(Exception):
    """No ``tools/mutant_site`` was found; the mutants exist only in a source checkout."""


def find_site(roots: Sequence[Path] | None = None) -> Path:
    """The folder holding the mutants' ``sitecustomize.py``: in this package's checkout, or the current directory's."""
    for root in roots if roots is not None else (Path(__file__).resolve().parent.parent, Path.cwd()):
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


def load_expected(site: Path) -> dict[str, tuple[str, list[str]]]:
    """Each mutant's (reason, clauses that must catch it) from the site's ``expected.yaml``."""
    data = yaml.safe_load((site / EXPECTED_FILE).read_text())
    return {name: (entry["why"], list(entry["clauses"])) for name, entry in data.items()}


def compare_catch(expected: Sequence[str], failing: Sequence[str]) -> tuple[list[str], list[str]]:
    """(clauses that should have caught the mutant and did not, clauses that failed though they should not)."""
    return [c for c in expected if c not in failing], [c for c in failing if c not in expected]


def failing_clauses(report: dict[str, Any] | None) -> list[str]:
    """The clauses of a report.json document whose verdict says the suite caught something."""
    return [clause["id"] for clause in (report or {}).get("clauses", ()) if clause["verdict"] in CAUGHT_BY]


def read_report(directory: Path) -> dict[str, Any] | None:
    """The report.json a run wrote into ``directory``; None when it wrote none (no verdict)."""
    try:
        return json.loads((directory / "report.json").read_text())
    except FileNotFoundError:
        return None


def run_suite(mutant: str, site: Path) -> tuple[int, list[str], float, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
           "CONFORMANCE_MUTANT": mutant}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="conformance-mutant-") as report_dir:
        result = subprocess.run(
            [sys.executable, "-m", "conformance", "run", "--report", report_dir, "--", "-q"],
            env=env, capture_output=True, text=True,
        )
        failing = failing_clauses(read_report(Path(report_dir)))
    return result.returncode, failing, time.monotonic() - started, result.stdout + result.stderr


def default_mutants(site: ModuleType, representative: bool) -> list[str]:
    has_loops = Version(version("apache-airflow")).release[:2] >= (3, 4)
    return [
        name for name in site.MUTANTS
        if (has_loops or name not in site.NEEDS_3_4) and (not representative or name in site.REPRESENTATIVE)
    ]


def main(argv: Sequence[str] | None = None, site: Path | None = None) -> int:
    parser = Parser(prog="python -m conformance mutants", description=__doc__.split("\n\n")[0])
    parser.add_argument("mutants", nargs="*", metavar="MUTANT", help="default: every one that applies")
    parser.add_argument("--representative", action="store_true", help="one mutant per family of clauses (what CI runs)")
    args = parser.parse_args(argv)
    try:
        site = site or find_site()
    except NoSourceCheckout as exc:
        print(f"mutants: {exc}", file=sys.stderr)
        return USAGE_ERROR
    module = load_site(site)
    expected = load_expected(site)
    if unknown := [name for name in args.mutants if name not in module.MUTANTS]:
        print(f"mutants: unknown mutant {', '.join(unknown)}; choose from: {', '.join(module.MUTANTS)}.", file=sys.stderr)
        return USAGE_ERROR
    if undeclared := [name for name in module.MUTANTS if name not in expected]:
        print(f"mutants: {', '.join(undeclared)} not declared in {site / EXPECTED_FILE}; add the clauses that must catch it and why.", file=sys.stderr)
        return USAGE_ERROR
    names = args.mutants or default_mutants(module, args.representative)
    survivors = []
    for mutant in names:
        why, clauses = expected[mutant]
        print(f"{mutant:<32} expected: {', '.join(clauses)} ({why})", flush=True)
        code, failing, seconds, output = run_suite(mutant, site)  # no verdict (exit 4) is not caught, never retried
        missed, extra = compare_catch(clauses, failing)
        caught = code == 1 and not missed and not extra
        detail = "".join([f"; missed by {', '.join(missed)}" if missed else "", f"; also failed {', '.join(extra)}" if extra else ""])
        print(f"{mutant:<32} {'caught' if caught else 'NOT AS DECLARED'} (exit {code}, {seconds:.0f} s): {', '.join(failing) or '-'}{detail}", flush=True)
        if not caught:
            survivors.append(mutant)
            print(f"  the suite's output ends:\n{output[-4000:]}", flush=True)
    print(f"{len(names) - len(survivors)} of {len(names)} mutants caught by exactly their declared clauses")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
