"""Run the conformance suite against deliberately broken /wait implementations.

Each mutant (see mutant_site/sitecustomize.py) regresses one documented behaviour inside a
real local Airflow. The suite passes this check only if it fails against every mutant, and
the clauses it reports failing are printed, so a reader sees what caught what.

    python tools/check_mutants.py [--representative] [MUTANT ...]   # needs apache-airflow here

Without names it runs every mutant the installed Airflow can show: those of 3.4's loops
(``NEEDS_3_4``) only on a 3.4 build, where the loop clauses apply. ``--representative`` keeps
one mutant per family of clauses (``REPRESENTATIVE``), which is what CI runs.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

SITE = Path(__file__).resolve().parent / "mutant_site"
sys.path.insert(0, str(SITE))
from sitecustomize import MUTANTS, NEEDS_3_4, REPRESENTATIVE  # noqa: E402


def run_suite(mutant: str) -> tuple[int, list[str], float, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SITE), os.environ.get("PYTHONPATH")])),
           "CONFORMANCE_MUTANT": mutant}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-n", "auto", "-q", "-p", "no:cacheprovider"],
        env=env, capture_output=True, text=True,
    )
    failing = re.findall(r"^\s+(?:fail|unexpected-pass)\s+(\S+)", result.stdout, re.MULTILINE)
    return result.returncode, failing, time.monotonic() - started, result.stdout + result.stderr


def default_mutants(representative: bool) -> list[str]:
    from importlib.metadata import version

    from packaging.version import Version

    has_loops = Version(version("apache-airflow")).release[:2] >= (3, 4)
    return [
        name for name in MUTANTS
        if (has_loops or name not in NEEDS_3_4) and (not representative or name in REPRESENTATIVE)
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tools/check_mutants.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("mutants", nargs="*", metavar="MUTANT", help="default: every one that applies")
    parser.add_argument("--representative", action="store_true", help="one mutant per family of clauses (what CI runs)")
    args = parser.parse_args(argv)
    if unknown := [name for name in args.mutants if name not in MUTANTS]:
        parser.exit(4, f"check_mutants: unknown mutant {', '.join(unknown)}; choose from: {', '.join(MUTANTS)}.\n")
    names = args.mutants or default_mutants(args.representative)
    survivors = []
    for mutant in names:
        code, failing, seconds, output = run_suite(mutant)
        if code == 4:  # the server failed before any verdict (sqlite standalone): once more
            print(f"{mutant:<32} no verdict (exit 4, {seconds:.0f} s), retrying once", flush=True)
            code, failing, seconds, output = run_suite(mutant)
        caught = code == 1 and failing
        print(f"{mutant:<32} {'caught' if caught else 'SURVIVED'} (exit {code}, {seconds:.0f} s): {', '.join(failing) or '-'}", flush=True)
        if not caught:
            survivors.append(mutant)
            print(f"  the suite's output ends:\n{output[-4000:]}", flush=True)
    print(f"{len(names) - len(survivors)} of {len(names)} mutants caught")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
