"""compare: two runs' reports clause by clause, and the exit code of the upgrade gate."""

import json
from pathlib import Path

import pytest

from conformance import cli
from conformance.paths import schemas_dir
from conformance.report import compare
from conformance.schemas import validator

REPORTS = Path(__file__).resolve().parent.parent / "fixtures" / "reports"  # the committed reports of real runs
OLD, NEW = REPORTS / "airflow-3.2.2", REPORTS / "airflow-3.3.2"  # the feature is absent on 3.2.2
SMALL = Path(__file__).parent / "data" / "matrix"  # four clauses each, for the tests that spell out lines
SMALL_OLD, SMALL_NEW = SMALL / "airflow-3.2.2", SMALL / "airflow-3.3.2"
SCHEMA = "compare.schema.json"
NOT_PASSING = {"fail", "absent", "untested", "not-applicable", "not-selected"}


def read(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text())


def verdicts(folder: Path) -> dict[str, str]:
    return {clause["id"]: clause["verdict"] for clause in read(folder)["clauses"]}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["compare", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def schema_errors(document: dict) -> list[str]:
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator(SCHEMA).iter_errors(document)]


# The committed reports of two versions.


def test_from_3_3_2_to_3_2_2_regresses_the_clauses_that_pass_there_and_not_on_3_2_2(capsys):
    baseline, candidate = verdicts(NEW), verdicts(OLD)
    expected = [
        id_
        for id_, verdict in baseline.items()
        if verdict == "pass" and candidate.get(id_, "missing") in NOT_PASSING | {"missing"}
    ]
    assert expected and all(candidate[id_] == "absent" for id_ in expected)  # the data says what the test means
    code, out, err = run(capsys, str(NEW), str(OLD))
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[0] == f"baseline:  Airflow 3.3.2 (local, sqlite), {NEW / 'report.json'}"
    assert lines[1] == f"candidate: Airflow 3.2.2 (local, sqlite; DAG Result feature absent), {OLD / 'report.json'}"
    assert lines[2] == f"regressions: {len(expected)}"  # regressions first
    assert [line.split()[0] for line in lines[3 : 3 + len(expected)]] == expected
    assert lines[-1].startswith(f"REGRESSED: {len(expected)} of the ") and lines[-1].endswith(
        ": " + ", ".join(expected)
    )


def test_from_3_2_2_to_3_3_2_regresses_nothing_and_lists_the_improvements(capsys):
    baseline, candidate = verdicts(OLD), verdicts(NEW)
    improved = [id_ for id_, verdict in candidate.items() if verdict == "pass" and baseline[id_] != "pass"]
    assert improved
    code, out, _ = run(capsys, str(OLD), str(NEW / "report.json"))
    assert code == 0
    lines = out.splitlines()
    at = lines.index(f"improvements: {len(improved)}")
    assert [line.split()[0] for line in lines[at + 1 : at + 1 + len(improved)]] == improved
    assert lines[-1].startswith("no regression: ") and f"{len(improved)} improvements" in lines[-1]


def test_a_report_against_itself_changes_nothing(capsys):
    code, out, _ = run(capsys, str(NEW), str(NEW))
    assert code == 0
    assert out.splitlines()[2:] == [
        f"{len(verdicts(NEW))} clauses unchanged",
        f"no regression: of the {list(verdicts(NEW).values()).count('pass')} clauses the baseline passed, the candidate regressed none (nothing changed)",
    ]


@pytest.mark.parametrize(
    ("pair", "flag", "regressed"),
    [((NEW, OLD), False, True), ((OLD, NEW), False, False), ((NEW, NEW), False, False), ((NEW, OLD), True, True)],
    ids=["3.3.2-to-3.2.2", "3.2.2-to-3.3.2", "3.3.2-to-itself", "3.3.2-to-3.2.2-fail-on-new-divergence"],
)
def test_json_output_matches_its_schema_and_the_exit_code(capsys, pair, flag, regressed):
    code, out, _ = run(capsys, *map(str, pair), "--json", *["--fail-on-new-divergence"] * flag)
    document = json.loads(out)
    assert schema_errors(document) == []
    assert (code, document["exit_code"], document["regressed"]) == (int(regressed), int(regressed), regressed)
    assert document["counts"]["unchanged"] + len(document["changes"]) == len(
        set(verdicts(pair[0])) | set(verdicts(pair[1]))
    )
    assert all(change["baseline"] != change["candidate"] for change in document["changes"])


def test_the_flag_makes_a_divergence_of_a_clause_3_3_2_passed_a_regression(capsys):
    baseline, candidate = verdicts(NEW), verdicts(OLD)
    diverging = [
        id_ for id_, verdict in baseline.items() if verdict == "pass" and candidate[id_] == "expected-divergence"
    ]
    assert diverging
    without = json.loads(run(capsys, str(NEW), str(OLD), "--json")[1])
    with_flag = json.loads(run(capsys, str(NEW), str(OLD), "--json", "--fail-on-new-divergence")[1])
    assert [c["id"] for c in without["changes"] if c["kind"] == "divergence-appeared"] == diverging
    assert set(diverging) <= {c["id"] for c in with_flag["changes"] if c["kind"] == "regression"}
    assert with_flag["fail_on_new_divergence"] and not without["fail_on_new_divergence"]


# Every transition, on synthetic pairs.

VERDICTS = [
    "fail",
    "unexpected-pass",
    "absent",
    "expected-divergence",
    "pass",
    "untested",
    "not-applicable",
    "not-selected",
    "missing",
]
KINDS = {
    ".": None,
    "REG": "regression",
    "NEW": "new",
    "GONE": "gone",
    "IMP": "improvement",
    "NF": "new-failure",
    "DA": "divergence-appeared",
    "DG": "divergence-gone",
    "CH": "changed",
}
# rows: the baseline's verdict; columns: the candidate's, in VERDICTS order
TABLE = """
fail                 .    IMP  CH   DA   IMP  CH   CH   CH   GONE
unexpected-pass      REG  .    REG  DA   CH   REG  REG  REG  REG
absent               NF   IMP  .    DA   IMP  CH   CH   CH   GONE
expected-divergence  NF   IMP  DG   .    IMP  DG   DG   DG   GONE
pass                 REG  CH   REG  DA   .    REG  REG  REG  REG
untested             NF   IMP  CH   DA   IMP  .    CH   CH   GONE
not-applicable       NF   IMP  CH   DA   IMP  CH   .    CH   GONE
not-selected         NF   IMP  CH   DA   IMP  CH   CH   .    GONE
missing              NEW  NEW  NEW  NEW  NEW  NEW  NEW  NEW  .
"""
TRANSITIONS = {
    (row.split()[0], candidate): KINDS[cell]
    for row in TABLE.strip().splitlines()
    for candidate, cell in zip(VERDICTS, row.split()[1:], strict=True)
}
FLAGGED = {("pass", "expected-divergence"), ("unexpected-pass", "expected-divergence")}  # regressions with the flag


def test_the_table_covers_every_pair():
    assert len(TRANSITIONS) == len(VERDICTS) ** 2


def with_verdict(verdict: str, clause_id: str = "PARAM-EMPTY-1") -> dict:
    """The 3.3.2 report with one clause's verdict set, or the clause left out ("missing")."""
    report = read(NEW)
    if verdict == "missing":
        report["clauses"] = [clause for clause in report["clauses"] if clause["id"] != clause_id]
    else:
        next(clause for clause in report["clauses"] if clause["id"] == clause_id)["verdict"] = verdict
    return report


@pytest.mark.parametrize("flag", [False, True], ids=["default", "fail-on-new-divergence"])
@pytest.mark.parametrize(("baseline", "candidate"), list(TRANSITIONS), ids=[f"{b}-to-{c}" for b, c in TRANSITIONS])
def test_every_transition(baseline, candidate, flag):
    expected = "regression" if flag and (baseline, candidate) in FLAGGED else TRANSITIONS[baseline, candidate]
    assert compare.kind_of(baseline, candidate, fail_on_new_divergence=flag) == expected
    comparison = compare.compare(with_verdict(baseline), with_verdict(candidate), fail_on_new_divergence=flag)
    changes = [(change.id, change.kind, change.baseline, change.candidate) for change in comparison.changes]
    assert changes == ([] if expected is None else [("PARAM-EMPTY-1", expected, baseline, candidate)])
    assert comparison.exit_code() == (expected == "regression")
    assert schema_errors(compare.document(comparison)) == []


def test_clauses_missing_on_either_side_are_new_or_gone_and_a_gone_pass_regresses():
    full = read(SMALL_NEW)
    short = {
        **full,
        "clauses": [clause for clause in full["clauses"] if clause["id"] != "STREAM-NDJSON-1"],
    }  # it passes on 3.3.2
    gone = compare.compare(full, short)
    assert [(c.id, c.kind, c.baseline, c.candidate) for c in gone.changes] == [
        ("STREAM-NDJSON-1", "regression", "pass", "missing")
    ]
    assert gone.exit_code() == 1
    new = compare.compare(short, full)
    assert [(c.id, c.kind, c.statement) for c in new.changes] == [
        ("STREAM-NDJSON-1", "new", "Every line is a JSON object.")
    ]
    assert new.exit_code() == 0 and new.unchanged == len(full["clauses"]) - 1


def set_verdicts(baseline: dict, candidate: dict, wanted: dict[str, tuple[str, str]]) -> None:
    """Give each clause of ``wanted`` its (baseline, candidate) verdicts in the two reports."""
    for report, side in ((baseline, 0), (candidate, 1)):
        for clause in report["clauses"]:
            if clause["id"] in wanted:
                clause["verdict"] = wanted[clause["id"]][side]


def test_changes_are_grouped_by_kind_regressions_first():
    baseline, candidate = read(SMALL_NEW), read(SMALL_NEW)
    wanted = {
        "RESULT-DECORATOR-1": ("absent", "pass"),
        "PARAM-EMPTY-1": ("pass", "fail"),
        "WAIT-INTERVAL-OPTIONAL-1": ("expected-divergence", "pass"),
    }
    set_verdicts(baseline, candidate, wanted)
    comparison = compare.compare(baseline, candidate)
    assert [(c.kind, c.id) for c in comparison.changes] == [
        ("regression", "PARAM-EMPTY-1"),
        ("improvement", "RESULT-DECORATOR-1"),
        ("improvement", "WAIT-INTERVAL-OPTIONAL-1"),
    ]
    text = compare.render_text(comparison)
    assert text.index("regressions: 1") < text.index("improvements: 2")
    assert "  WAIT-INTERVAL-OPTIONAL-1  expected-divergence -> pass (interval is a required query parameter" in text
    assert "\n1 clause unchanged\n" in text


def test_an_older_report_format_compares_as_the_current_one():
    old = read(NEW)
    del old["report_version"], old["airflow"]["prerelease"], old["summary"]["not-applicable"]
    for clause in old["clauses"]:
        del clause["since"], clause["until"]
    comparison = compare.compare(old, read(NEW))
    assert (comparison.changes, comparison.unchanged) == ((), len(old["clauses"]))


# Bad input: one sentence, exit 4.


def write_json(path: Path, value) -> Path:
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return path


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (
            lambda tmp: tmp / "airflow-3.9.9",
            "airflow-3.9.9 does not exist; did that version's run end before writing its report?",
        ),
        (lambda tmp: tmp, "holds no report.json; name a report.json or the folder a run wrote one to."),
        (lambda tmp: write_json(tmp / "notes.txt", "not json"), "notes.txt is not a readable JSON file ("),
        (lambda tmp: write_json(tmp / "list.json", [1]), "list.json is not a conformance report (not a JSON object)."),
        (
            lambda tmp: write_json(tmp / "other.json", {"report_version": 2}),
            "other.json does not match report.schema.json: ",
        ),
        (
            lambda tmp: write_json(tmp / "future.json", {**read(NEW), "report_version": 99}),
            "future.json was written by a newer suite: report_version 99",
        ),
    ],
    ids=["missing-path", "folder-without-report", "not-json", "not-an-object", "not-a-report", "newer-format"],
)
@pytest.mark.parametrize("side", ["baseline", "candidate"])
def test_bad_input_is_one_sentence_and_exit_4(tmp_path, capsys, make, fragment, side):
    bad = str(make(tmp_path))
    code, out, err = run(capsys, *((bad, str(NEW)) if side == "baseline" else (str(NEW), bad)))
    assert (code, out) == (4, "")
    assert err.startswith("compare: ") and err.count("\n") == 1 and err.endswith((".\n", "?\n"))
    assert fragment in err


def test_a_missing_argument_is_one_sentence_and_exit_4(capsys):
    assert run(capsys, str(NEW)) == (
        4,
        "",
        "python -m conformance compare: the following arguments are required: candidate; see python -m conformance compare --help.\n",
    )


# The step summary.


def test_with_a_step_summary_file_compare_appends_its_markdown(tmp_path, capsys, monkeypatch):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    for name, value in {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_RUN_ID": "42",
    }.items():
        monkeypatch.setenv(name, value)
    code, out, _ = run(capsys, str(SMALL_NEW), str(SMALL_OLD))
    text = summary.read_text()
    assert code == 1 and out.startswith("baseline:")  # the terminal output is unchanged
    assert text.startswith("earlier step\n### Conformance compare: regressed\n")
    assert "| **regression** | RESULT-DECORATOR-1 | pass | absent |" in text
    assert "| divergence-appeared | PARAM-EMPTY-1 | pass | expected-divergence |" in text
    assert (
        "\nREGRESSED: 1 of the 3 clauses the baseline passed does not pass on the candidate: RESULT-DECORATOR-1\n"
        in text
    )
    assert "https://github.com/o/r/actions/runs/42" in text


def test_without_a_step_summary_file_nothing_is_written(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run(capsys, str(NEW), str(NEW))[0] == 0
    assert list(tmp_path.iterdir()) == []


# The schema is strict enough for ajv's strict mode.

TYPE_SPECIFIC = {
    "object": {"properties", "required", "additionalProperties", "propertyNames", "minProperties", "maxProperties"},
    "array": {"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains"},
    "string": {"pattern", "format", "minLength", "maxLength"},
    "integer": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
}


def strictness_problems(schema, where: str = "#") -> list[str]:
    """Where a schema uses type-specific keywords without a single ``type`` or requires undeclared properties."""
    if not isinstance(schema, dict):
        return []
    problems = []
    used = {keyword for keywords in TYPE_SPECIFIC.values() for keyword in keywords} & set(schema)
    if isinstance(schema.get("type"), list):
        problems.append(f"{where}: a union type")
    elif used and not used <= TYPE_SPECIFIC.get(
        "integer" if schema.get("type") == "number" else schema.get("type"), set()
    ):
        problems.append(f"{where}: {sorted(used)} without a type they apply to")
    if missing := [name for name in schema.get("required", []) if name not in schema.get("properties", {})]:
        problems.append(f"{where}: required {missing} not declared in properties")
    children = [*schema.get("properties", {}).items(), *schema.get("$defs", {}).items()]
    children += [
        (f"{key}/{index}", sub)
        for key in ("anyOf", "allOf", "oneOf", "prefixItems")
        for index, sub in enumerate(schema.get(key, []))
    ]
    children += [
        (key, schema[key])
        for key in ("items", "additionalProperties", "not", "if", "then", "else")
        if isinstance(schema.get(key), dict)
    ]
    for name, sub in children:
        problems += strictness_problems(sub, f"{where}/{name}")
    return problems


def test_the_schema_has_a_type_wherever_it_uses_type_keywords_and_declares_what_it_requires():
    schema = json.loads((schemas_dir() / SCHEMA).read_text())
    assert strictness_problems(schema) == []
    assert strictness_problems({"required": ["a"], "type": ["string", "null"], "minLength": 1}) == [
        "#: a union type",
        "#: required ['a'] not declared in properties",
    ]
    assert strictness_problems({"properties": {"x": {"pattern": "a"}}}) == [
        "#: ['properties'] without a type they apply to",
        "#/x: ['pattern'] without a type they apply to",
    ]


# Notes: listed when they appear or go away, never a change of the exit code.


def with_notes(folder: Path, tmp_path: Path, name: str, subjects: list[str]) -> Path:
    """The committed report of ``folder``, as the current format, with unknown-key notes on ``subjects``."""
    from conformance.report.format import current
    from conformance.wire import notes

    report = current(read(folder))
    report["notes"] = notes.gather(
        ("t", notes.as_json(notes.unknown_key(subject, "STREAM-NDJSON-1"), "case dag-return: 15 of 15 lines"))
        for subject in subjects
    )
    (tmp_path / name).mkdir()
    (tmp_path / name / "report.json").write_text(json.dumps(report))
    return tmp_path / name


def test_notes_that_appear_or_go_are_listed_and_change_no_exit_code(tmp_path, capsys):
    baseline = with_notes(NEW, tmp_path, "old", ["Results"])
    candidate = with_notes(NEW, tmp_path, "new", ["dag_run_id"])
    code, out, err = run(capsys, str(baseline), str(candidate), "--json")
    document = json.loads(out)
    assert (code, err, schema_errors(document)) == (0, "", [])
    assert [(n["kind"], n["clause"], n["subject"]) for n in document["notes"]["appeared"]] == [
        ("unknown-key", "STREAM-NDJSON-1", "dag_run_id")
    ]
    assert [n["subject"] for n in document["notes"]["gone"]] == ["Results"]
    assert "that key is missing" in document["notes"]["gone"][0]["message"]  # 'Results' reads as a misspelled 'results'
    assert document["exit_code"] == 0 and document["counts"]["unchanged"] == len(read(NEW)["clauses"])
    code, out, _ = run(capsys, str(baseline), str(candidate))
    assert code == 0
    assert "notes appeared (not judged): 1" in out and "notes gone (not judged): 1" in out
    assert "'dag_run_id'" in out.split("notes gone")[0]


def test_the_same_note_on_both_sides_is_not_listed(tmp_path, capsys):
    baseline, candidate = with_notes(NEW, tmp_path, "a", ["dag_run_id"]), with_notes(NEW, tmp_path, "b", ["dag_run_id"])
    code, out, _ = run(capsys, str(baseline), str(candidate), "--json")
    assert (code, json.loads(out)["notes"]) == (0, {"appeared": [], "gone": []})


# A divergence persisting on a version the suite never measured (conformance.report.unmeasured).


def noting_same_as_declared(report: dict, clause_id: str) -> dict:
    """``report`` with the note a run on an unmeasured version leaves on a failure of ``clause_id``."""
    from conformance.wire import notes

    note = notes.same_as_declared(clause_id, "3.4.0b2")
    report["notes"] = notes.gather([("t", notes.as_json(note, "failed: results are {}, expected no results key"))])
    return report


def test_a_divergence_persisting_on_an_unmeasured_version_is_its_own_kind_not_a_new_failure():
    comparison = compare.compare(
        with_verdict("expected-divergence"), noting_same_as_declared(with_verdict("fail"), "PARAM-EMPTY-1")
    )
    assert [(c.id, c.kind) for c in comparison.changes] == [("PARAM-EMPTY-1", "persisting-divergence")]
    assert not comparison.of_kind("new-failure") and not comparison.of_kind("divergence-gone")
    assert comparison.exit_code() == 0  # a baseline expected-divergence is no pass: no regression
    document = compare.document(comparison)
    assert schema_errors(document) == []
    assert (
        document["compare_version"],
        document["counts"]["persisting-divergence"],
        document["counts"]["new-failure"],
    ) == (3, 1, 0)
    assert "(1 persisting divergence)" in compare.verdict_line(comparison)


def test_only_the_noted_clause_from_a_declared_divergence_persists():
    """The note of another clause makes nothing persist; from another baseline verdict the usual kind holds."""
    other = compare.compare(
        with_verdict("expected-divergence"), noting_same_as_declared(with_verdict("fail"), "PARAM-UNKNOWN-1")
    )
    assert [(c.id, c.kind) for c in other.changes] == [("PARAM-EMPTY-1", "new-failure")]
    for baseline, kind in (("pass", "regression"), ("absent", "new-failure"), ("untested", "new-failure")):
        noted = noting_same_as_declared(with_verdict("fail"), "PARAM-EMPTY-1")
        assert [c.kind for c in compare.compare(with_verdict(baseline), noted).changes] == [kind], baseline
    assert compare.kind_of("expected-divergence", "fail", same_as_declared=True) == "persisting-divergence"
    assert compare.kind_of("expected-divergence", "fail") == "new-failure"
    assert compare.kind_of("expected-divergence", "absent", same_as_declared=True) == "divergence-gone"
    assert compare.kind_of("pass", "fail", same_as_declared=True, fail_on_new_divergence=True) == "regression"


def test_persisting_divergences_are_listed_after_regressions_and_before_new_failures():
    baseline = read(NEW)
    wanted = {
        "PARAM-EMPTY-1": ("expected-divergence", "fail"),
        "PARAM-UNKNOWN-1": ("absent", "fail"),
        "PARAM-COMMA-1": ("pass", "fail"),
    }
    candidate = noting_same_as_declared(read(NEW), "PARAM-EMPTY-1")
    set_verdicts(baseline, candidate, wanted)
    comparison = compare.compare(baseline, candidate)
    assert [(c.kind, c.id) for c in comparison.changes] == [
        ("regression", "PARAM-COMMA-1"),
        ("persisting-divergence", "PARAM-EMPTY-1"),
        ("new-failure", "PARAM-UNKNOWN-1"),
    ]
    text = compare.render_text(comparison)
    assert text.index("regressions: 1") < text.index("persisting divergences: 1") < text.index("new failures: 1")
    assert "notes appeared (not judged): 1" in text and "same as declared for 3.4.0b2" in text
