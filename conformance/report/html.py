"""report.html: the conformance report for a person, rendered from report.json alone.

One self-contained page (no network assets, no script): a header with the Airflow under test
and the count of each verdict, the clauses that need a look, then every clause grouped by
feature area with a coloured verdict badge. Each clause row opens (HTML ``<details>``) on its
statement, source, divergence reason and tests; each test opens on its evidence: the request,
the body lines with their arrival times, and the expected and actual values.

Since only the JSON goes in, a report.json from anywhere renders the same, an older format's
too (read as the current one, :mod:`conformance.report.format`)::

    python -m conformance.report_html report.json > report.html

Clauses that do not apply to the Airflow version (``not-applicable``) or lie outside the
run's selection (``not-selected``; the header says what was selected) are counted in the header
but left out of "Needs a look": there is nothing there to look at.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2

from conformance.catalog.selection import Selection
from conformance.catalog.versions import describe
from conformance.paths import package_file
from conformance.report.format import current
from conformance.verdicts import LABELS, TEST_OUTCOMES


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _when(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    return moment.strftime("%Y-%m-%d %H:%M:%S ") + (
        "UTC" if moment.utcoffset() == timedelta(0) else moment.strftime("%z")
    )


def _short_test(nodeid: str) -> str:
    return nodeid.rsplit("::", 1)[-1]


def _why(clause: Mapping[str, Any]) -> str:
    """One line on why a clause did not simply pass: the declared reason, else the first test's message."""
    if clause["verdict"] == "unexpected-pass":
        return f"passes, though expectations.yaml declares: {clause['divergence']} The expectation is stale."
    if clause["verdict"] == "expected-divergence":
        return clause["divergence"]
    tests = sorted(clause["tests"], key=lambda test: test["outcome"] in ("passed", "skipped"))  # failures first
    messages = [f"{_short_test(test['nodeid'])}: {test['message']}" for test in tests if test["message"]]
    return messages[0] if messages else "no test of it ran" if clause["verdict"] == "untested" else clause["statement"]


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(package_file("templates")),
        autoescape=True,  # lines and values come from the server under test
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(pretty=_pretty, short_test=_short_test)
    return environment


def render(report: Mapping[str, Any]) -> str:
    report = current(report)
    areas: dict[str, list[Mapping[str, Any]]] = {}
    for clause in report["clauses"]:
        areas.setdefault(clause["area"], []).append(clause)
    return (
        _environment()
        .get_template("report.html.jinja")
        .render(
            report=report,
            areas=areas,
            attention=sorted(
                (
                    (clause, _why(clause))
                    for clause in report["clauses"]
                    if clause["verdict"] not in ("pass", "untested", "not-applicable", "not-selected")
                ),
                key=lambda pair: list(LABELS).index(pair[0]["verdict"]),  # worst first, then catalog order
            ),
            untested=[clause["id"] for clause in report["clauses"] if clause["verdict"] == "untested"],
            version=describe(report["airflow"]["version"]),
            started=_when(report["started"]),
            selection=Selection.from_json(report["selection"]).describe(),
            labels=LABELS,
            outcome_verdicts=TEST_OUTCOMES,
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.report_html", description="Render a report.json as HTML."
    )
    parser.add_argument("report", type=Path, help="a report.json written by --conformance-report")
    args = parser.parse_args(argv)
    sys.stdout.write(render(json.loads(args.report.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
