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
:mod:`conformance.report_format`), so a matrix can mix runs of different suite versions.

It writes ``matrix.md`` (to paste into an issue or a release note) and ``matrix.html`` (one
self-contained page: inline style, no script, no network asset). It only renders: a version
failing is for that version's own run to report.
"""

from __future__ import annotations

import html
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from packaging.version import InvalidVersion, Version

from conformance.arguments import Parser
from conformance.paths import schemas_dir
from conformance.report_format import VERDICTS, NewerReport, current
from conformance.schemas import validator

REPORT_SCHEMA = "report.schema.json"


class MatrixError(Exception):
    """A report could not be read; the sentence says which and why."""


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
            groups.setdefault("; ".join(f"{v} on {', '.join(labels)}" for v, labels in by_verdict.items()), []).append(row)
        return list(groups.items())

    def alike(self) -> list[list[str]]:
        """Labels of columns with the same verdict on every clause and every doc example, 2 or more."""
        groups: dict[tuple[Any, ...], list[str]] = {}
        for index, column in enumerate(self.columns):
            key = (tuple(self.cells(row.id)[index] for row in self.rows), tuple(sorted((k, v[0]) for k, v in column.doc_examples.items())))
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


def report_path(argument: Path) -> Path:
    return argument / "report.json" if argument.is_dir() else argument


def load_report(path: Path) -> dict[str, Any]:
    """A report.json, checked against its schema where the schema is installed."""
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        raise MatrixError(f"{path} does not exist; did that version's run end before writing its report?") from None
    except (OSError, ValueError) as exc:
        raise MatrixError(f"{path} is not a readable JSON file ({exc})") from None
    if not isinstance(report, dict):
        raise MatrixError(f"{path} is not a conformance report (not a JSON object)")
    try:
        report = current(report)
    except NewerReport as exc:
        raise MatrixError(f"{path} was written by a newer suite: {exc}") from None
    if (schemas_dir() / REPORT_SCHEMA).is_file():
        if errors := [error.message for error in validator(REPORT_SCHEMA).iter_errors(report)]:
            raise MatrixError(f"{path} does not match {REPORT_SCHEMA}: {'; '.join(errors[:3])}")
    elif not {"airflow", "feature", "summary", "clauses", "doc_examples"} <= set(report):
        raise MatrixError(f"{path} is not a conformance report (no airflow/feature/summary/clauses/doc_examples)")
    return report


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


# --- Markdown ---------------------------------------------------------------------------------

def _md(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _md_verdict(verdict: str) -> str:
    if verdict == "not-applicable":
        return f"_{verdict}_"
    return f"**{verdict}**" if verdict in ("fail", "unexpected-pass") else verdict


def _md_header(column: Column) -> str:
    notes = ["pre-release"] * column.prerelease + ["feature absent"] * bool(column.feature_absent)
    return f"{column.label} ({', '.join(notes)})" if notes else column.label


def _md_row(row: Row) -> str:
    return f"{row.id} ({row.versions})" if row.versions else row.id


def _any_not_applicable(matrix: Matrix) -> bool:
    return any("not-applicable" in matrix.cells(row.id) for row in matrix.rows)


NOT_APPLICABLE_NOTE = (
    "not-applicable: the clause's since/until (clauses.yaml) leaves out that version, so nothing was checked; "
    "a pre-release counts as its release."
)


def render_markdown(matrix: Matrix) -> str:
    columns = matrix.columns
    head = "| clause | " + " | ".join(_md_header(column) for column in columns) + " |"
    rule = "|---|" + "---|" * len(columns)
    out = ["# DAG Result conformance by Airflow version", ""]
    out += ["| | " + " | ".join(_md_header(column) for column in columns) + " |", rule]
    out.append("| **clauses** | " + " | ".join(_summary_text(column.summary) for column in columns) + " |")
    out.append("| run | " + " | ".join(column.run for column in columns) + " |")
    out.append("")
    for column in columns:
        if column.feature_absent:
            out.append(f"DAG Result feature absent in Airflow {column.label}: {column.feature_absent}.")
    if any(column.feature_absent for column in columns):
        out += ["Clauses that need the feature are `absent` there; clauses about the /wait endpoint keep their own verdict.", ""]

    out += ["## Clauses", "", head, rule]
    differing = {row.id for row in matrix.differing()}
    for area, rows in _areas(matrix.rows).items():
        out.append(f"| *{_md(area)}* |" + " |" * len(columns))
        for row in rows:
            mark = " ≠" if row.id in differing else ""
            out.append(f"| {_md_row(row)}{mark} | " + " | ".join(_md_verdict(v) for v in matrix.cells(row.id)) + " |")
    out += ["", "≠ the verdict differs between versions."]
    if _any_not_applicable(matrix):
        out.append(f"_{NOT_APPLICABLE_NOTE}_")
    out.append("")

    if matrix.doc_examples:
        out += ["## The doc's examples, run as written", "", "| example | " + " | ".join(c.label for c in columns) + " |", rule]
        for example_id, text in matrix.doc_examples:
            cells = []
            for column in columns:
                works = column.doc_examples.get(example_id)
                cells.append("not run" if works is None else "works" if works[0] else "**does not work**")
            out.append(f"| `{_md(text)}` | " + " | ".join(cells) + " |")
        out.append("")
        for example_id, _ in matrix.doc_examples:
            for detail, labels in matrix.example_failures(example_id):
                out.append(f"- {example_id}, on {', '.join(labels)}: {_md(detail)}")
        out.append("")

    out += ["## What differs between versions", ""]
    for labels in matrix.alike():
        out.append(f"- {', '.join(labels)}: the same verdict on every clause and doc example.")
    for how, rows in matrix.differences():
        out.append(f"- {how}: " + ", ".join(row.id for row in rows) + f" ({len(rows)})")
    if not matrix.differing():
        out.append("Nothing: every clause has the same verdict on every version.")
    out.append("")

    out += ["## Declared divergences (conformance/expectations.yaml)", ""]
    if divergences := matrix.divergences():
        for clause, reason, labels in divergences:
            out.append(f"- **{clause}** on {', '.join(labels)}: {_md(reason)}")
    else:
        out.append("None.")
    out += ["", "Reports: " + ", ".join(f"{column.label}: `{column.source}`" for column in columns), ""]
    return "\n".join(out)


# --- HTML -------------------------------------------------------------------------------------

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1f23; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
thead th { position: sticky; top: 0; background: #f6f8fa; }
th.absent-col { background: repeating-linear-gradient(45deg, #f6f8fa, #f6f8fa 6px, #eaeef2 6px, #eaeef2 12px); }
tr.area td { background: #f6f8fa; font-style: italic; }
td.v { text-align: center; white-space: nowrap; }
.pass { background: #dafbe1; } .fail { background: #ffcecb; font-weight: bold; }
.unexpected-pass { background: #ffcecb; font-weight: bold; } .expected-divergence { background: #fff1c2; }
.absent { background: #eaeef2; color: #57606a; } .untested { background: #fff; color: #8c959f; }
.not-applicable { background: repeating-linear-gradient(135deg, #fff, #fff 4px, #f6f8fa 4px, #f6f8fa 8px); color: #8c959f; font-style: italic; }
.works { background: #dafbe1; } .broken { background: #fff1c2; } .notrun { color: #8c959f; }
tr.differs th { text-decoration: underline dotted; }
code { font-size: 0.95em; }
.note { color: #57606a; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _th_column(column: Column) -> str:
    prerelease = "<br><small>pre-release</small>" if column.prerelease else ""
    if column.feature_absent:
        return f'<th class="absent-col" title="{_e(column.feature_absent)}">{_e(column.label)}{prerelease}<br><small>feature absent</small></th>'
    return f"<th>{_e(column.label)}{prerelease}</th>"


def render_html(matrix: Matrix) -> str:
    columns = matrix.columns
    differing = {row.id for row in matrix.differing()}
    head = "".join(_th_column(column) for column in columns)
    out = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        "<title>DAG Result conformance by Airflow version</title>", f"<style>{STYLE}</style></head><body>",
        "<h1>DAG Result conformance by Airflow version</h1>",
        f"<table><thead><tr><th></th>{head}</tr></thead><tbody>",
        "<tr><th>clauses</th>" + "".join(f"<td>{_e(_summary_text(c.summary))}</td>" for c in columns) + "</tr>",
        "<tr><th>run</th>" + "".join(f"<td>{_e(c.run)}</td>" for c in columns) + "</tr>",
        "</tbody></table>",
    ]
    for column in columns:
        if column.feature_absent:
            out.append(f"<p><strong>DAG Result feature absent in Airflow {_e(column.label)}</strong>: {_e(column.feature_absent)}.</p>")
    if any(column.feature_absent for column in columns):
        out.append('<p class="note">Clauses that need the feature are <em>absent</em> there; clauses about the /wait endpoint keep their own verdict.</p>')

    out += ["<h2>Clauses</h2>", f"<table><thead><tr><th>clause</th>{head}</tr></thead><tbody>"]
    for area, rows in _areas(matrix.rows).items():
        out.append(f'<tr class="area"><td colspan="{len(columns) + 1}">{_e(area)}</td></tr>')
        for row in rows:
            cells = "".join(
                f'<td class="v {_e(verdict)}" title="{_e(column.divergences.get(row.id, ""))}">{_e(verdict)}</td>'
                for column, verdict in zip(columns, matrix.cells(row.id))
            )
            css = ' class="differs"' if row.id in differing else ""
            versions = f" <small>Airflow {_e(row.versions)}</small>" if row.versions else ""
            out.append(f'<tr{css}><th title="{_e(row.statement)}">{_e(row.id)} <small>{_e(row.level)}</small>{versions}</th>{cells}</tr>')
    out += ["</tbody></table>", '<p class="note">Underlined: the verdict differs between versions. Hover a clause for its statement, a cell for its declared divergence.</p>']
    if _any_not_applicable(matrix):
        out.append(f'<p class="note"><span class="not-applicable">not-applicable</span>: {_e(NOT_APPLICABLE_NOTE.split(": ", 1)[1])}</p>')

    if matrix.doc_examples:
        out += ["<h2>The doc's examples, run as written</h2>", f"<table><thead><tr><th>example</th>{head}</tr></thead><tbody>"]
        for example_id, text in matrix.doc_examples:
            cells = []
            for column in columns:
                works = column.doc_examples.get(example_id)
                if works is None:
                    cells.append('<td class="v notrun">not run</td>')
                else:
                    css, word = ("works", "works") if works[0] else ("broken", "does not work")
                    cells.append(f'<td class="v {css}" title="{_e(works[1])}">{word}</td>')
            out.append(f"<tr><th><code>{_e(text)}</code><br><small>{_e(example_id)}</small></th>{''.join(cells)}</tr>")
        out.append("</tbody></table><ul>")
        for example_id, _ in matrix.doc_examples:
            for detail, labels in matrix.example_failures(example_id):
                out.append(f"<li>{_e(example_id)}, on {_e(', '.join(labels))}: {_e(detail)}</li>")
        out.append("</ul>")

    out.append("<h2>What differs between versions</h2><ul>")
    for labels in matrix.alike():
        out.append(f"<li>{_e(', '.join(labels))}: the same verdict on every clause and doc example.</li>")
    for how, rows in matrix.differences():
        ids = ", ".join(f'<span title="{_e(row.statement)}">{_e(row.id)}</span>' for row in rows)
        out.append(f"<li>{_e(how)}: {ids} ({len(rows)})</li>")
    if not matrix.differing():
        out.append("<li>Nothing: every clause has the same verdict on every version.</li>")
    out.append("</ul>")

    out.append("<h2>Declared divergences (conformance/expectations.yaml)</h2>")
    if divergences := matrix.divergences():
        out.append("<ul>")
        for clause, reason, labels in divergences:
            out.append(f"<li><strong>{_e(clause)}</strong> on {_e(', '.join(labels))}: {_e(reason)}</li>")
        out.append("</ul>")
    else:
        out.append("<p>None.</p>")
    out.append('<p class="note">Reports: ' + ", ".join(f"{_e(c.label)}: <code>{_e(c.source)}</code>" for c in columns) + "</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


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
