"""The version matrix: clause verdicts of several Airflow versions side by side.

    python -m conformance matrix REPORT... --out DIR

Each REPORT is a ``report.json`` written by ``--conformance-report`` (or the folder holding
one), usually one per Airflow version. The matrix has a column per report, ordered by Airflow
version (then database), and a row per clause, grouped by feature area, with that report's
verdict in each cell. Around it: each column's summary, the versions that lack the DAG Result
feature and why, every declared divergence with its reason and the versions it applies to, the
clauses whose verdict differs between columns, and a block saying which of the doc's own
examples work as written on each version.

Columns are ordered as PEP 440 orders versions, so pre-releases come between the releases
around them (3.3.2, 3.4.0b1, 3.4.0b2, 3.4.0), and a pre-release column says it is one. A
clause whose since/until leaves out a column's version is ``not-applicable`` there, shown apart
from every verdict that says something was checked.

Reports of any format version are read (an older one as the current, see
:mod:`conformance.report.format`), so a matrix can mix runs of different suite versions.

It writes ``matrix.md`` (to paste into an issue or a release note) and ``matrix.html`` (one
self-contained page: inline style, no script, no network asset). It only renders: a version
failing is for that version's own run to report.

Why Jinja: one model (:func:`model`), two templates (templates/matrix.*.jinja), HTML escaped by the engine, not by hand.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import jinja2
import markupsafe
from packaging.version import InvalidVersion, Version

from conformance.arguments import Parser
from conformance.paths import package_file
from conformance.report.files import ReportFileError, load_report, report_path
from conformance.report.format import current
from conformance.verdicts import VERDICTS

MatrixError = ReportFileError  # a report could not be read (conformance.report.files, shared with compare)


@attrs.frozen
class Column:
    """One report: an Airflow version (on one database) and its verdicts."""

    label: str
    version: str | None
    prerelease: bool
    database: str | None
    feature_absent: str | None  # why, when the report says the feature is absent
    summary: Mapping[str, int]
    verdicts: Mapping[str, str]  # clause id -> verdict
    divergences: Mapping[str, str]  # clause id -> declared reason
    doc_examples: Mapping[str, tuple[bool, str]]  # example id -> (works as written, detail)
    source: Path
    run: str  # when the run started and how long it took, so that a stale report shows


@attrs.frozen
class Row:
    id: str
    level: str
    area: str
    statement: str
    versions: str | None = None  # the versions it applies to (">=3.4.0"), None for all


@attrs.frozen
class Matrix:
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    doc_examples: tuple[tuple[str, str], ...]  # (id, the doc's text), in first-seen order

    def cells(self, clause_id: str) -> list[str]:
        return [column.verdicts.get(clause_id, "untested") for column in self.columns]

    def differing(self) -> list[Row]:
        """Rows whose verdict is not the same in every column."""
        return [row for row in self.rows if len(set(self.cells(row.id))) > 1]

    def differences(self) -> list[tuple[str, list[Row]]]:
        """The rows that differ, grouped by how: ("absent on 3.2.2; pass on 3.3.0, 3.3.2", rows)."""
        groups: dict[str, list[Row]] = {}
        for row in self.differing():
            by_verdict: dict[str, list[str]] = {}
            for column, verdict in zip(self.columns, self.cells(row.id)):
                by_verdict.setdefault(verdict, []).append(column.label)
            groups.setdefault("; ".join(f"{v} on {', '.join(labels)}" for v, labels in by_verdict.items()), []).append(
                row
            )
        return list(groups.items())

    def alike(self) -> list[list[str]]:
        """Labels of columns with the same verdict on every clause and every doc example, 2 or more."""
        groups: dict[tuple[Any, ...], list[str]] = {}
        for index, column in enumerate(self.columns):
            key = (
                tuple(self.cells(row.id)[index] for row in self.rows),
                tuple(sorted((k, v[0]) for k, v in column.doc_examples.items())),
            )
            groups.setdefault(key, []).append(column.label)
        return [labels for labels in groups.values() if len(labels) > 1]

    def example_failures(self, example_id: str) -> list[tuple[str, list[str]]]:
        """Why an example does not work as written: (detail, labels), the same detail once."""
        grouped: dict[str, list[str]] = {}
        for column in self.columns:
            works = column.doc_examples.get(example_id)
            if works is not None and not works[0]:
                grouped.setdefault(_general(works[1], column.version), []).append(column.label)
        return list(grouped.items())

    def divergences(self) -> list[tuple[str, str, list[str]]]:
        """(clause, reason, labels of the columns declaring it), in row order."""
        grouped: dict[tuple[str, str], list[str]] = {}
        for row in self.rows:
            for column in self.columns:
                if reason := column.divergences.get(row.id):
                    grouped.setdefault((row.id, reason), []).append(column.label)
        return [(clause, reason, labels) for (clause, reason), labels in grouped.items()]


def _general(detail: str, version: str | None) -> str:
    """A doc example's detail without what differs from version to version: test paths, the version."""
    text = re.sub(r"\S*::(\S+?)(\[[^\]]*\])?: ", "", detail)
    return text.replace(f"Airflow {version}", "Airflow <version>") if version else text


def _sort_key(report: Mapping[str, Any]) -> tuple[Any, ...]:
    version = report["airflow"]["version"]
    try:
        parsed: tuple[Any, ...] = (0, Version(version))
    except (InvalidVersion, TypeError):
        parsed = (1, str(version))
    return (*parsed, report["airflow"]["database"] or "")


def build(reports: Sequence[tuple[Path, Mapping[str, Any]]]) -> Matrix:
    """The matrix of these reports: columns by Airflow version, rows in catalog order.

    A clause's version range is the one the report of the highest version gives it, as the
    latest word on it.
    """
    ordered = sorted(((path, current(report)) for path, report in reports), key=lambda pair: _sort_key(pair[1]))
    databases = {report["airflow"]["database"] for _, report in ordered}
    labels: list[str] = []
    for _, report in ordered:
        label = str(report["airflow"]["version"] or "unknown")
        if len(databases) > 1:
            label += f" ({report['airflow']['database']})"
        labels.append(label if label not in labels else f"{label} #{labels.count(label) + 1}")
    columns = tuple(_column(label, path, report) for label, (path, report) in zip(labels, ordered))
    rows: dict[str, Row] = {}
    ranges: dict[str, str] = {}
    examples: dict[str, str] = {}
    for _, report in ordered:
        for clause in report["clauses"]:
            rows.setdefault(clause["id"], Row(clause["id"], clause["level"], clause["area"], clause["statement"]))
            if versions := _range(clause):
                ranges[clause["id"]] = versions
        for example in report["doc_examples"]:
            examples.setdefault(example["id"], example["text"])
    rows = {id_: attrs.evolve(row, versions=ranges.get(id_)) for id_, row in rows.items()}
    return Matrix(columns=columns, rows=tuple(rows.values()), doc_examples=tuple(examples.items()))


def _range(clause: Mapping[str, Any]) -> str | None:
    bounds = [f">={clause['since']}"] * bool(clause["since"]) + [f"<{clause['until']}"] * bool(clause["until"])
    return ",".join(bounds) or None


def _column(label: str, path: Path, report: Mapping[str, Any]) -> Column:
    feature = report["feature"]
    return Column(
        label=label,
        version=report["airflow"]["version"],
        prerelease=report["airflow"]["prerelease"],
        database=report["airflow"]["database"],
        feature_absent=None if feature["present"] else (feature["reason"] or "no reason given"),
        summary=report["summary"],
        verdicts={clause["id"]: clause["verdict"] for clause in report["clauses"]},
        divergences={clause["id"]: clause["divergence"] for clause in report["clauses"] if clause["divergence"]},
        doc_examples={e["id"]: (e["works_as_written"], e["detail"]) for e in report["doc_examples"]},
        source=path,
        run=f"{report['started']}, {report['duration_s']:.0f} s",
    )


def _summary_text(summary: Mapping[str, int]) -> str:
    return ", ".join(f"{summary[verdict]} {verdict}" for verdict in VERDICTS if summary.get(verdict))


def _areas(rows: Iterable[Row]) -> dict[str, list[Row]]:
    areas: dict[str, list[Row]] = {}
    for row in rows:
        areas.setdefault(row.area, []).append(row)
    return areas


TITLE = "DAG Result conformance by Airflow version"
NOT_APPLICABLE_NOTE = (  # after "not-applicable: "
    "the clause's since/until (clauses.yaml) leaves out that version, so nothing was checked; "
    "a pre-release counts as its release."
)


def model(matrix: Matrix) -> dict[str, Any]:
    """What matrix.md and matrix.html both show, as plain data (str, bool, None, list, dict).

    Columns in version order; clause rows grouped by area, each with a cell per column; the
    doc's examples with a cell per column and why they fail; the columns alike; the differing
    clauses grouped by how they differ; the declared divergences. The templates only lay it out.
    """
    differing = {row.id for row in matrix.differing()}
    return {
        "title": TITLE,
        "columns": [
            {
                "label": column.label,
                "notes": ["pre-release"] * column.prerelease + ["feature absent"] * bool(column.feature_absent),
                "feature_absent": column.feature_absent,
                "summary": _summary_text(column.summary),
                "run": column.run,
                "source": str(column.source),
            }
            for column in matrix.columns
        ],
        "feature_absent": any(column.feature_absent for column in matrix.columns),
        "areas": [
            {
                "name": area,
                "rows": [
                    {
                        "id": row.id,
                        "level": row.level,
                        "statement": row.statement,
                        "versions": row.versions,
                        "differs": row.id in differing,
                        "cells": [
                            {
                                "label": column.label,
                                "verdict": verdict,
                                "divergence": column.divergences.get(row.id, ""),
                            }
                            for column, verdict in zip(matrix.columns, matrix.cells(row.id))
                        ],
                    }
                    for row in rows
                ],
            }
            for area, rows in _areas(matrix.rows).items()
        ],
        "not_applicable": any("not-applicable" in matrix.cells(row.id) for row in matrix.rows),
        "not_applicable_note": NOT_APPLICABLE_NOTE,
        "examples": [
            {
                "id": example_id,
                "text": text,
                "cells": [  # works: None when the example was not run there
                    {"label": column.label, "works": works[0] if works else None, "detail": works[1] if works else None}
                    for column in matrix.columns
                    for works in [column.doc_examples.get(example_id)]
                ],
                "failures": [
                    {"detail": detail, "labels": labels} for detail, labels in matrix.example_failures(example_id)
                ],
            }
            for example_id, text in matrix.doc_examples
        ],
        "alike": matrix.alike(),
        "differences": [
            {"how": how, "rows": [{"id": row.id, "statement": row.statement} for row in rows]}
            for how, rows in matrix.differences()
        ],
        "divergences": [
            {"clause": clause, "reason": reason, "labels": labels} for clause, reason, labels in matrix.divergences()
        ],
    }


def _md_cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _html_escape(value: Any) -> Any:
    """The engine's escape for every value the HTML template prints: html.escape's entities (' as &#x27;,
    not markupsafe's &#39;), so the page stays byte-for-byte what it was before the templates."""
    return value if hasattr(value, "__html__") else markupsafe.Markup(html.escape(str(value), quote=True))


def _environment(*, autoescape: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(package_file("templates")),
        autoescape=autoescape,  # labels, statements, reasons and details come from reports
        finalize=_html_escape if autoescape else None,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["md_cell"] = _md_cell
    return environment


def render_markdown(matrix: Matrix) -> str:
    return _environment(autoescape=False).get_template("matrix.md.jinja").render(model(matrix))


def render_html(matrix: Matrix) -> str:
    return _environment(autoescape=True).get_template("matrix.html.jinja").render(model(matrix))


def write(matrix: Matrix, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    markdown, page = directory / "matrix.md", directory / "matrix.html"
    markdown.write_text(render_markdown(matrix))
    page.write_text(render_html(matrix))
    return markdown, page


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m conformance matrix", description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", type=Path, help="report.json files, or folders holding one")
    parser.add_argument("--out", type=Path, required=True, help="where to write matrix.md and matrix.html")
    args = parser.parse_args(argv)
    try:
        reports = [(path, load_report(path)) for path in map(report_path, args.reports)]
    except MatrixError as exc:
        print(f"matrix: {exc}", file=sys.stderr)
        return 4
    matrix = build(reports)
    for path in write(matrix, args.out):
        print(f"matrix: wrote {path}", file=sys.stderr)
    print(render_markdown(matrix))
    return 0


if __name__ == "__main__":
    sys.exit(main())
