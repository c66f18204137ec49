"""CI's totals, read from the junit.xml files the tox envs write, never from terminal text.

    python3 tools/ci_totals.py REPORTS [--allow-absent ENV]...

Every tox env that runs pytest writes ``REPORTS/<env>/junit.xml`` (the conformance envs through
``--report``, the others through ``--junitxml``). Each ``<testcase>`` counts once: failed when it
holds a ``<failure>`` or ``<error>``, skipped when it holds a ``<skipped>`` (xfail included),
passed otherwise. In an env named with ``--allow-absent`` (Airflow 3.2.2, which predates the
DAG Result feature) a failed test carrying the property ``feature_absent`` is a test the absent
feature could not run: allowed, counted apart, as that env's ``--allow-absent-feature`` lets it
through.

It prints one line, ``ci: N passed, M failed`` (plus, for each allowed env, how many tests the
absent feature stopped), and exits 1, saying why on stderr, when a test failed otherwise, when
no test passed, when a junit.xml holds no test at all (pytest's exit 5, which must never pass
silently), or when there is no junit.xml. Only the standard library: CI runs it with the
machine's python3.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

FEATURE_ABSENT = (
    "feature_absent"  # conformance.report.writer.FEATURE_ABSENT; this script imports nothing of the package
)


@dataclass
class EnvTotals:
    env: str
    passed: int = 0
    failed: int = 0  # not allowed
    skipped: int = 0
    absent: int = 0  # failed for the absent feature, in an env where that is allowed
    label: str = ""  # "Airflow 3.2.2" when the env's report.json says so

    @property
    def tests(self) -> int:
        return self.passed + self.failed + self.skipped + self.absent


@dataclass
class Totals:
    envs: list[EnvTotals] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def line(self, allowed: Iterable[str]) -> str:
        passed, failed = sum(env.passed for env in self.envs), sum(env.failed for env in self.envs)
        text = f"ci: {passed} passed, {failed} failed"
        for env in (env for env in self.envs if env.env in set(allowed)):
            text += f"; on {env.label}, {env.absent} tests could not run for the absent feature (allowed)"
        return text

    def verdict(self) -> list[str]:
        """Why CI fails, one sentence each; empty when it passes."""
        problems = list(self.problems)
        if any(env.failed for env in self.envs):
            failing = ", ".join(f"{env.env} ({env.failed})" for env in self.envs if env.failed)
            problems.append(f"tests failed in {failing}.")
        if self.envs and not sum(env.passed for env in self.envs):
            problems.append("no test passed in any env.")
        return problems


def failed(case: ET.Element) -> bool:
    return case.find("failure") is not None or case.find("error") is not None


def properties(case: ET.Element) -> dict[str, str]:
    return {prop.get("name", ""): prop.get("value", "") for prop in case.iterfind("properties/property")}


def env_label(folder: Path) -> str:
    """ "Airflow 3.2.2" from the env's report.json, else the env's name."""
    try:
        return f"Airflow {json.loads((folder / 'report.json').read_text())['airflow']['version']}"
    except (OSError, ValueError, KeyError, TypeError):
        return folder.name


def read_env(junit: Path, allow_absent: bool) -> EnvTotals:
    totals = EnvTotals(env=junit.parent.name, label=env_label(junit.parent))
    for case in ET.parse(junit).getroot().iter("testcase"):
        if failed(case):
            if allow_absent and properties(case).get(FEATURE_ABSENT):
                totals.absent += 1
            else:
                totals.failed += 1
        elif case.find("skipped") is not None:
            totals.skipped += 1
        else:
            totals.passed += 1
    return totals


def collect(reports: Path, allowed: Sequence[str]) -> Totals:
    totals = Totals()
    junits = sorted(reports.glob("*/junit.xml"))
    if not junits:
        totals.problems.append(f"no junit.xml under {reports}; did the tox envs run?")
    for junit in junits:
        try:
            env = read_env(junit, junit.parent.name in allowed)
        except (OSError, ET.ParseError) as exc:
            totals.problems.append(f"{junit} is not a readable junit file ({exc}).")
            continue
        if not env.tests:
            totals.problems.append(f"{env.env} ran no test ({junit} holds none).")
        totals.envs.append(env)
    for name in allowed:
        if name not in {env.env for env in totals.envs}:
            totals.problems.append(f"{name}, named with --allow-absent, left no junit.xml under {reports}.")
    return totals


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/ci_totals.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", type=Path, help="the folder holding one <env>/junit.xml per tox env (.tox/reports)")
    parser.add_argument(
        "--allow-absent",
        action="append",
        default=[],
        metavar="ENV",
        help="an env whose failures for the absent DAG Result feature are allowed (repeatable)",
    )
    args = parser.parse_args(argv)
    totals = collect(args.reports, args.allow_absent)
    print(totals.line(args.allow_absent))
    for problem in (problems := totals.verdict()):
        print(f"CI: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
