"""A run's verdicts as Markdown for a CI job's summary page (GitHub Actions' step summary).

GitHub Actions names a file in ``GITHUB_STEP_SUMMARY`` for every step; Markdown appended to it
is shown on the run's page. When that variable is set, a conformance run that writes its report
(``--conformance-report DIR``) appends, after writing it:

- a heading naming the Airflow under test, and whether the DAG Result feature is absent there;
- a table of how many clauses got each verdict (the verdicts that occur);
- every ``fail`` and ``unexpected-pass`` clause with its first such test's message, each
  linked to the clause in report.html (its rows carry the clause id as their ``id``);
- where the report files are, and, when ``GITHUB_SERVER_URL``, ``GITHUB_REPOSITORY`` and
  ``GITHUB_RUN_ID`` are set, a link to the run's page, where its artifacts are.

A link's target is ``AIRFLOW_CONFORMANCE_REPORT_URL`` (where CI publishes report.html) when
set, else report.html's path as written, which opens only next to the file itself: GitHub
serves artifacts as zip files, never as pages.

:func:`markdown` is pure (a report dict in, text out); :func:`append` is the only part that
touches the file, and a file it cannot write is said on stderr without changing the run's
outcome. ``python -m conformance compare`` appends its own summary through :func:`append`.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.catalog.versions import describe
from conformance.settings import Settings
from conformance.verdicts import ATTENTION_OUTCOMES, VERDICTS, needs_attention

MESSAGE_LIMIT = 300  # characters of a test's message shown in the summary


def md_text(text: str) -> str:
    """Text shown as itself in Markdown (also inside a table cell): one line, no markup, no HTML."""
    one_line = " ".join(text.split())
    return re.sub(r"([\\`*_\[\]|~#])", r"\\\1", html.escape(one_line, quote=False))


def run_url(settings: Settings) -> str | None:
    """The GitHub Actions run's page, when the runner's variables say which run this is."""
    parts = [settings.github_server_url, settings.github_repository, settings.github_run_id]
    if not all(parts):
        return None
    server, repository, run_id = parts
    return f"{str(server).rstrip('/')}/{repository}/actions/runs/{run_id}"


def _counts(summary: Mapping[str, int]) -> list[tuple[str, int]]:
    """Verdicts that occur, worst first; any the suite does not know yet last, as they come."""
    order = [*VERDICTS, *(verdict for verdict in summary if verdict not in VERDICTS)]
    return [(verdict, summary[verdict]) for verdict in order if summary.get(verdict)]


def _first_message(clause: Mapping[str, Any]) -> str | None:
    outcome = ATTENTION_OUTCOMES[clause["verdict"]]
    message = next(
        (test["message"] for test in clause["tests"] if test["outcome"] == outcome and test["message"]), None
    )
    if message is None:
        return None
    return message if len(message) <= MESSAGE_LIMIT else message[:MESSAGE_LIMIT] + "…"


def markdown(
    report: Mapping[str, Any], written: Sequence[Path], *, report_url: str | None = None, run_page: str | None = None
) -> str:
    """The step summary of one run: its report (current format) and the report files written."""
    airflow = report["airflow"]
    html_path = next((str(path) for path in written if path.suffix == ".html"), None)
    anchor_base = report_url or html_path
    lines = [
        (
            f"### Airflow DAG Result conformance: Airflow {md_text(describe(airflow['version']))}"
            f" ({md_text(str(airflow['target']))}, {md_text(str(airflow['database']))})"
        ),
        "",
    ]
    if not report["feature"]["present"]:
        lines += [f"DAG Result feature absent: {md_text(report['feature']['reason'] or 'no reason given')}", ""]
    lines += [f"| verdict | clauses ({len(report['clauses'])}) |", "|---|---:|"]
    lines += [f"| {verdict} | {count} |" for verdict, count in _counts(report["summary"])]
    lines.append("")
    flagged = [clause for clause in report["clauses"] if needs_attention(clause["verdict"])]
    if flagged:
        lines += [f"**{len(flagged)} clause{'s' * (len(flagged) != 1)} need{'s' * (len(flagged) == 1)} a look:**", ""]
        for clause in flagged:
            name = f"[{clause['id']}]({anchor_base}#{clause['id']})" if anchor_base else clause["id"]
            message = _first_message(clause)
            lines.append(f"- {name} **{clause['verdict']}**" + (f": {md_text(message)}" if message else ""))
        lines.append("")
    else:
        lines += ["No clause failed or passed unexpectedly.", ""]
    if written:
        lines += ["Report: " + ", ".join(f"`{path}`" for path in written) + ".", ""]
    if run_page:
        lines += [f"The run's page, with its artifacts: {run_page}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def append(text: str, settings: Settings) -> Path | None:
    """Append ``text`` to the file ``GITHUB_STEP_SUMMARY`` names; the file, or None when unset or unwritable."""
    if not (name := settings.step_summary):
        return None
    path = Path(name)
    try:
        with path.open("a", encoding="utf-8") as summary:
            summary.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        print(f"step summary: could not append to {path} ({exc}); the run's outcome is unchanged.", file=sys.stderr)
        return None
    return path


def append_report(report: Mapping[str, Any], written: Sequence[Path], settings: Settings) -> Path | None:
    """A run's summary (:func:`markdown`), appended when ``GITHUB_STEP_SUMMARY`` is set."""
    if not settings.step_summary:
        return None
    text = markdown(report, written, report_url=settings.report_url, run_page=run_url(settings))
    return append(text, settings)
