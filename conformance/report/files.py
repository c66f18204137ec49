"""Reading a report.json that a user names on the command line.

The verbs that read finished runs (``matrix``, ``compare``) take each report as a path: the
``report.json`` itself, or the folder a run wrote it to (``--conformance-report DIR``). Both
read it here, the same way: parsed, upgraded to the current format
(:func:`conformance.report.format.current`), and checked against ``schemas/report.schema.json``
where the schema is installed. Whatever is wrong with it becomes one sentence
(:class:`ReportFileError`) for the verb to print before exiting with code 4.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.paths import schemas_dir
from conformance.report.format import NewerReport, current
from conformance.schemas import validator

REPORT_SCHEMA = "report.schema.json"
REPORT_FILE = "report.json"


class ReportFileError(Exception):
    """A named report could not be read; the sentence says which and why."""


def report_path(argument: Path) -> Path:
    """The report.json an argument names: the file itself, or the one inside a folder."""
    return argument / REPORT_FILE if argument.is_dir() else argument


def read_report(path: Path) -> dict[str, Any]:
    """A report.json as it was written: parsed, neither upgraded nor checked (:func:`load_report` does both).

    The self-checks read the reports of runs of this very suite this way, as they always have.
    """
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        if path.parent.is_dir() and path.name == REPORT_FILE:
            raise ReportFileError(
                f"{path.parent} holds no {REPORT_FILE}; name a report.json or the folder a run wrote one to"
            ) from None
        raise ReportFileError(f"{path} does not exist; did that version's run end before writing its report?") from None
    except (OSError, ValueError) as exc:
        raise ReportFileError(f"{path} is not a readable JSON file ({exc})") from None
    if not isinstance(report, dict):
        raise ReportFileError(f"{path} is not a conformance report (not a JSON object)")
    return report


def load_report(path: Path) -> dict[str, Any]:
    """A report.json in the current format, checked against its schema where the schema is installed."""
    report = read_report(path)
    try:
        report = current(report)
    except NewerReport as exc:
        raise ReportFileError(f"{path} was written by a newer suite: {exc}") from None
    if (schemas_dir() / REPORT_SCHEMA).is_file():
        if errors := [error.message for error in validator(REPORT_SCHEMA).iter_errors(report)]:
            raise ReportFileError(f"{path} does not match {REPORT_SCHEMA}: {'; '.join(errors[:3])}")
    elif not {"airflow", "feature", "summary", "clauses", "doc_examples"} <= set(report):
        raise ReportFileError(f"{path} is not a conformance report (no airflow/feature/summary/clauses/doc_examples)")
    return report
