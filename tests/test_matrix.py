"""The version matrix renders report.json files side by side, offline."""

import json
import re
import shutil

import pytest

from conformance.paths import schemas_dir
from conformance.report import matrix
from conformance.report.files import REPORT_SCHEMA
from conformance.schemas import validator

DATA = __import__("pathlib").Path(__file__).parent / "data" / "matrix"
OLD, NEW = DATA / "airflow-3.2.2", DATA / "airflow-3.3.2"


def built(*folders):
    return matrix.build(
        [(matrix.report_path(folder), matrix.load_report(matrix.report_path(folder))) for folder in folders]
    )


@pytest.mark.skipif(
    not (schemas_dir() / REPORT_SCHEMA).is_file(), reason="schemas/report.schema.json comes with the report branch"
)
@pytest.mark.parametrize("folder", [OLD, NEW], ids=lambda folder: folder.name)
def test_samples_match_the_report_schema(folder):
    report = json.loads((folder / "report.json").read_text())
    assert [error.message for error in validator(REPORT_SCHEMA).iter_errors(report)] == []


def test_columns_are_ordered_by_version_and_rows_by_the_reports():
    result = built(NEW, OLD)
    assert [column.label for column in result.columns] == ["3.2.2", "3.3.2"]
    assert [row.id for row in result.rows] == [
        "RESULT-DECORATOR-1",
        "PARAM-EMPTY-1",
        "STREAM-NDJSON-1",
        "WAIT-INTERVAL-OPTIONAL-1",
    ]
    assert result.cells("RESULT-DECORATOR-1") == ["absent", "pass"]
    assert result.cells("NO-SUCH-1") == ["untested", "untested"]


def test_what_differs_and_the_divergences_with_their_versions():
    result = built(OLD, NEW)
    assert [row.id for row in result.differing()] == ["RESULT-DECORATOR-1", "PARAM-EMPTY-1"]
    assert [(clause, labels) for clause, _, labels in result.divergences()] == [
        ("PARAM-EMPTY-1", ["3.2.2"]),
        ("WAIT-INTERVAL-OPTIONAL-1", ["3.2.2", "3.3.2"]),
    ]


def test_columns_alike_are_named_and_differences_grouped_by_how(tmp_path):
    twin = json.loads((NEW / "report.json").read_text())
    twin["airflow"]["version"] = "3.3.1"
    (tmp_path / "report.json").write_text(json.dumps(twin))
    result = built(OLD, NEW, tmp_path)
    assert result.alike() == [["3.3.1", "3.3.2"]]
    assert [(how, [row.id for row in rows]) for how, rows in result.differences()] == [
        ("absent on 3.2.2; pass on 3.3.1, 3.3.2", ["RESULT-DECORATOR-1"]),
        ("expected-divergence on 3.2.2; pass on 3.3.1, 3.3.2", ["PARAM-EMPTY-1"]),
    ]


def test_an_example_failing_alike_on_several_versions_is_told_once(tmp_path):
    detail = ".tox/airflow-{v}/site-packages/conformance/suite/test_doc_examples.py::test_doc[wait-x]: expected-divergence: known divergence of Airflow {v}: WAIT-INTERVAL-OPTIONAL-1: 422"
    reports = []
    for version in ("3.3.0", "3.3.1"):
        report = json.loads((NEW / "report.json").read_text())
        report["airflow"]["version"] = version
        report["doc_examples"] = [
            {"id": "wait-x", "text": "curl x", "works_as_written": False, "detail": detail.format(v=version)}
        ]
        reports.append((tmp_path / version, report))
    assert matrix.build(reports).example_failures("wait-x") == [
        (
            "expected-divergence: known divergence of Airflow <version>: WAIT-INTERVAL-OPTIONAL-1: 422",
            ["3.3.0", "3.3.1"],
        )
    ]


def test_two_reports_of_one_version_get_distinct_labels(tmp_path):
    other = json.loads((NEW / "report.json").read_text())
    other["airflow"]["database"] = "postgres"
    (tmp_path / "report.json").write_text(json.dumps(other))
    assert [c.label for c in built(NEW, tmp_path).columns] == ["3.3.2 (postgres)", "3.3.2 (sqlite)"]
    assert [c.label for c in built(NEW, NEW).columns] == ["3.3.2", "3.3.2 #2"]


def test_markdown():
    text = matrix.render_markdown(built(OLD, NEW))
    assert "| clause | 3.2.2 (feature absent) | 3.3.2 |" in text
    assert "| **clauses** | 1 absent, 2 expected-divergence, 1 pass | 1 expected-divergence, 3 pass |" in text
    assert (
        "\nDAG Result feature absent in Airflow 3.2.2: the feature was added in Airflow 3.3; airflow.sdk has no result decorator, so 15 fixture DAGs using @result do not load.\n"
        in text
    )
    assert "| run | 2026-11-24T22:00:00+00:00, 60 s | 2026-11-24T22:00:00+00:00, 60 s |" in text
    assert "| RESULT-DECORATOR-1 ≠ | absent | pass |" in text
    assert "| STREAM-NDJSON-1 | pass | pass |" in text
    assert (
        '| `curl -s "http://localhost:8080/api/v2/dags/my_dag/dagRuns/<run_id>/wait?result=some_task_id"` | **does not work** | **does not work** |'
        in text
    )
    assert "- **WAIT-INTERVAL-OPTIONAL-1** on 3.2.2, 3.3.2: interval is a required query parameter" in text
    assert "- absent on 3.2.2; pass on 3.3.2: RESULT-DECORATOR-1 (1)" in text
    assert "- expected-divergence on 3.2.2; pass on 3.3.2: PARAM-EMPTY-1 (1)" in text
    assert "- wait-result-other-task, on 3.2.2, 3.3.2: expected-divergence: known divergence" in text


def test_html_is_self_contained_and_escaped():
    page = matrix.render_html(built(OLD, NEW))
    assert page.startswith("<!doctype html>")
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert 'title="A @result task&#x27;s value is &lt;reported&gt;."' in page
    assert '<th class="absent-col" title="the feature was added in Airflow 3.3' in page
    assert '<td class="v absent"' in page and '<td class="v expected-divergence" title="Before 3.3' in page
    assert "&lt;run_id&gt;" in page and "<run_id>" not in page


def test_command_line_writes_both_files(tmp_path, capsys):
    assert matrix.main([str(NEW), str(OLD / "report.json"), "--out", str(tmp_path / "out")]) == 0
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["matrix.html", "matrix.md"]
    assert capsys.readouterr().out == (tmp_path / "out" / "matrix.md").read_text() + "\n"


def test_a_missing_or_broken_report_is_one_sentence_and_exit_4(tmp_path, capsys):
    assert matrix.main([str(tmp_path / "airflow-3.3.0"), "--out", str(tmp_path / "out")]) == 4
    assert (
        "airflow-3.3.0 does not exist; did that version's run end before writing its report?" in capsys.readouterr().err
    )
    broken = tmp_path / "broken"
    shutil.copytree(NEW, broken)
    report = json.loads((broken / "report.json").read_text())
    del report["feature"]
    (broken / "report.json").write_text(json.dumps(report))
    assert matrix.main([str(broken), "--out", str(tmp_path / "out")]) == 4
    assert "broken/report.json" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def report_of(version: str, **airflow) -> dict:
    report = json.loads((NEW / "report.json").read_text())
    report["airflow"] |= {"version": version, **airflow}
    return report


def test_pre_releases_sort_between_the_releases_around_them(tmp_path):
    versions = ["3.4.0", "3.10.0", "3.4.0b2", "3.3.2", "3.4.0rc1", "3.4.0b1"]
    result = matrix.build([(tmp_path / v, report_of(v, prerelease="b" in v or "rc" in v)) for v in versions])
    assert [column.label for column in result.columns] == ["3.3.2", "3.4.0b1", "3.4.0b2", "3.4.0rc1", "3.4.0", "3.10.0"]
    assert [column.prerelease for column in result.columns] == [False, True, True, True, False, False]


def not_applicable_report() -> dict:
    """3.4.0b2, where PARAM-EMPTY-1 is declared to apply until 3.4.0 only."""
    report = report_of("3.4.0b2", prerelease=True)
    clause = next(c for c in report["clauses"] if c["id"] == "PARAM-EMPTY-1")
    clause |= {"until": "3.4.0", "verdict": "not-applicable", "tests": []}
    report["summary"] |= {"pass": report["summary"]["pass"] - 1, "not-applicable": 1}
    return report


def test_not_applicable_cells_stand_apart(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps(not_applicable_report()))
    result = built(NEW, tmp_path)
    assert result.cells("PARAM-EMPTY-1") == ["pass", "not-applicable"]
    assert [(row.id, row.versions) for row in result.rows if row.versions] == [("PARAM-EMPTY-1", "<3.4.0")]
    text = matrix.render_markdown(result)
    assert "| clause | 3.3.2 | 3.4.0b2 (pre-release) |" in text
    assert "| **clauses** | 1 expected-divergence, 3 pass | 1 expected-divergence, 2 pass, 1 not-applicable |" in text
    assert "| PARAM-EMPTY-1 (<3.4.0) ≠ | pass | _not-applicable_ |" in text
    assert "_not-applicable: the clause's since/until (clauses.yaml) leaves out that version" in text
    assert "- pass on 3.3.2; not-applicable on 3.4.0b2: PARAM-EMPTY-1 (1)" in text
    page = matrix.render_html(result)
    assert '<td class="v not-applicable" title="">not-applicable</td>' in page
    assert ".not-applicable {" in page and "<th>3.4.0b2<br><small>pre-release</small></th>" in page
    assert "PARAM-EMPTY-1 <small>MUST</small> <small>Airflow &lt;3.4.0</small>" in page


def version_2(report: dict) -> dict:
    """The report as the suite wrote it before report_version 3 (no selection, no not-selected, no notes)."""
    old = json.loads(json.dumps(report))
    del old["selection"], old["summary"]["not-selected"], old["notes"]
    return old | {"report_version": 2}


def version_1(report: dict) -> dict:
    """The report as the suite wrote it before report_version 2."""
    old = version_2(report)
    del old["report_version"], old["airflow"]["prerelease"], old["summary"]["not-applicable"]
    for clause in old["clauses"]:
        del clause["since"], clause["until"]
    return old


@pytest.mark.parametrize("folder", [OLD, NEW], ids=lambda folder: folder.name)
def test_a_version_2_report_reads_and_renders_as_the_current_one(tmp_path, folder):
    current = json.loads((folder / "report.json").read_text())
    (tmp_path / "report.json").write_text(json.dumps(version_2(current)))
    assert matrix.load_report(tmp_path / "report.json") == current
    assert matrix.render_html(built(tmp_path)).replace(str(tmp_path), "DIR") == matrix.render_html(
        built(folder)
    ).replace(str(folder), "DIR")


def test_a_partial_run_shows_its_not_selected_clauses(tmp_path):
    report = json.loads((NEW / "report.json").read_text())
    report["clauses"][0]["verdict"] = "not-selected"
    report["selection"] = {"clauses": ["STREAM-*"], "areas": [], "levels": []}
    (tmp_path / "report.json").write_text(json.dumps(report))
    result = built(OLD, tmp_path)
    assert result.cells(report["clauses"][0]["id"])[-1] == "not-selected"
    assert "| _not-selected_ |" in matrix.render_markdown(result)
    assert '<td class="v not-selected" title="">not-selected</td>' in matrix.render_html(result)


@pytest.mark.parametrize("folder", [OLD, NEW], ids=lambda folder: folder.name)
def test_a_version_1_report_reads_as_the_current_one(tmp_path, folder):
    current = json.loads((folder / "report.json").read_text())
    (tmp_path / "report.json").write_text(json.dumps(version_1(current)))
    assert matrix.load_report(tmp_path / "report.json") == current
    assert matrix.render_markdown(built(tmp_path)).replace(str(tmp_path), "DIR") == matrix.render_markdown(
        built(folder)
    ).replace(str(folder), "DIR")


def test_a_report_of_a_newer_format_is_refused_in_one_sentence(tmp_path, capsys):
    report = json.loads((NEW / "report.json").read_text())
    (tmp_path / "report.json").write_text(json.dumps({**report, "report_version": 5}))
    assert matrix.main([str(tmp_path), "--out", str(tmp_path / "out")]) == 4
    assert "was written by a newer suite: report_version 5, while this suite reads up to 4" in capsys.readouterr().err


def markdown_verdicts(text: str) -> dict[str, list[str]]:
    """Clause id -> the verdict in each column, read off the Markdown's "## Clauses" table."""
    table = text.split("\n## Clauses\n\n", 1)[1].split("\n\n", 1)[0]
    verdicts = {}
    for line in table.splitlines()[2:]:
        first, *cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        if not first.startswith("*"):  # not an area's heading row
            verdicts[first.split(" ")[0]] = [cell.strip("*_") for cell in cells]
    return verdicts


def html_verdicts(page: str) -> dict[str, list[str]]:
    """Clause id -> the verdict in each column, read off the page's clause table."""
    table = page.split("<h2>Clauses</h2>", 1)[1].split("</table>", 1)[0]
    return {
        clause: re.findall(r'<td class="v ([^" ]+)" title="[^"]*">\1</td>', cells)
        for clause, cells in re.findall(r"<tr[^>]*><th title=\"[^\"]*\">(\S+) <small>.*?</th>(.*?)</tr>", table)
    }


@pytest.mark.parametrize("scenario", ["old-new", "not-applicable", "three-columns"])
def test_markdown_and_html_show_the_same_verdict_for_every_clause_and_version(tmp_path, scenario):
    """Both outputs are read back and compared with the one model they are rendered from."""
    folders = {"old-new": [OLD, NEW], "not-applicable": [NEW, tmp_path], "three-columns": [OLD, NEW, tmp_path]}[
        scenario
    ]
    report = not_applicable_report() if scenario == "not-applicable" else report_of("3.3.1")
    report["clauses"][0] |= {"verdict": "unexpected-pass", "divergence": "declared, yet it passes"}  # bold in Markdown
    (tmp_path / "report.json").write_text(json.dumps(report))
    result = built(*folders)
    model = matrix.model(result)
    expected = {
        row["id"]: [cell["verdict"] for cell in row["cells"]] for area in model["areas"] for row in area["rows"]
    }
    assert expected == {row.id: result.cells(row.id) for row in result.rows}
    labels = [column["label"] for column in model["columns"]]
    assert all([cell["label"] for cell in row["cells"]] == labels for area in model["areas"] for row in area["rows"])
    assert markdown_verdicts(matrix.render_markdown(result)) == expected
    assert html_verdicts(matrix.render_html(result)) == expected
