"""The mutant check reads what caught a mutant from report.json, and needs a source checkout."""

import json
import os
import re
from pathlib import Path

from conformance.catalog.clauses import load_clauses
from conformance.selfcheck import mutants, suite_runs


def clause(clause_id, verdict):
    return {"id": clause_id, "verdict": verdict, "tests": []}


def test_the_clauses_that_caught_a_mutant_come_from_report_json(tmp_path):
    (tmp_path / "report.json").write_text(
        json.dumps(
            {
                "clauses": [
                    clause("RESULT-ONCE-1", "fail"),
                    clause("STREAM-NDJSON-1", "pass"),
                    clause("RESULT-NONE-1", "unexpected-pass"),
                    clause("AUTH-XCOM-1", "expected-divergence"),
                    clause("LOOP-UNTIL-1", "not-applicable"),
                    clause("X-1", "untested"),
                ]
            }
        )
    )
    assert mutants.failing_clauses(mutants.read_report(tmp_path)) == ["RESULT-ONCE-1", "RESULT-NONE-1"]


def test_a_run_without_report_json_caught_nothing(tmp_path):
    assert mutants.read_report(tmp_path) is None
    assert mutants.failing_clauses(None) == []


def test_a_checkout_has_the_mutants():
    site = mutants.find_site()
    assert (site / "sitecustomize.py").is_file()
    module = mutants.load_site(site)
    assert {part for name in module.REPRESENTATIVE for part in name.split("+")} <= set(module.MUTANTS)


def test_without_a_source_checkout_it_says_so_in_one_sentence_and_exits_4(monkeypatch, tmp_path, capsys):
    real = mutants.find_site
    monkeypatch.setattr(mutants, "find_site", lambda: real([tmp_path, Path(tmp_path / "elsewhere")]))
    assert mutants.main(["--representative"]) == 4
    assert capsys.readouterr().err == (
        "mutants: the mutant check needs a source checkout of this project (its tools/mutant_site/sitecustomize.py); "
        "run it from one, e.g. python3 -m tox -e mutants.\n"
    )


def test_a_mutant_run_goes_through_the_front_door_with_a_report_folder(monkeypatch, tmp_path):
    seen = {}

    def fake_run(argv, env, **kwargs):
        seen.update(argv=argv, env=env)
        report_dir = Path(argv[argv.index("--report") + 1])
        (report_dir / "report.json").write_text(json.dumps({"clauses": [clause("RESULT-ONCE-1", "fail")]}))
        return suite_runs.subprocess.CompletedProcess(argv, 1, "1 failed", "")

    monkeypatch.setattr(suite_runs.subprocess, "run", fake_run)
    run = mutants.run_suite("terminal-line-twice", tmp_path)
    assert (run.code, mutants.failing_clauses(run.report), run.output) == (1, ["RESULT-ONCE-1"], "1 failed")
    assert seen["argv"][1:4] == ["-m", "conformance", "run"] and seen["argv"][-2:] == ["--", "-q"]
    assert seen["env"]["CONFORMANCE_MUTANT"] == "terminal-line-twice"
    assert seen["env"]["PYTHONPATH"].split(os.pathsep)[0] == str(tmp_path)


def test_every_mutant_declares_the_clauses_that_must_catch_it_and_why():
    site = mutants.find_site()
    module, expected = mutants.load_site(site), mutants.load_expected(site)
    assert set(expected) == set(module.MUTANTS)
    known = set(load_clauses())
    for name, declared in expected.items():
        assert declared.why.strip() and bool(declared.clauses) != declared.benign, name  # harmful or benign, not both
        assert set(declared.clauses) <= known, (name, set(declared.clauses) - known)
        assert declared.benign is False or declared.legitimate.strip(), name


def test_both_families_are_there():
    expected = mutants.load_expected(mutants.find_site())
    benign = {name for name, declared in expected.items() if declared.benign}
    assert {"new-key-on-every-line", "reworded-errors", "loops-count-from-one"} <= benign and len(benign) >= 6
    assert "results-key-misspelled" in expected and not expected["results-key-misspelled"].benign


def test_a_combined_run_is_declared_as_its_harmful_members_together():
    expected = mutants.load_expected(mutants.find_site())
    clauses, has_benign = mutants.declared_for("mapped-in-reverse-order+late-terminal-line+compact-json", expected)
    assert clauses == list(
        dict.fromkeys([*expected["mapped-in-reverse-order"].clauses, *expected["late-terminal-line"].clauses])
    )
    assert has_benign
    assert mutants.declared_for("compact-json", expected) == ([], True)
    assert mutants.declared_for("mapped-in-reverse-order", expected)[1] is False


def test_a_benign_mutant_fails_on_any_verdict_that_moved_outside_the_declared_clauses():
    baseline = {"A-1": "pass", "B-1": "expected-divergence", "C-1": "not-applicable"}
    assert mutants.false_failures(baseline, dict(baseline), []) == []
    assert mutants.false_failures(baseline, {**baseline, "B-1": "unexpected-pass"}, []) == [
        "B-1: expected-divergence -> unexpected-pass"
    ]
    assert mutants.false_failures(baseline, {**baseline, "A-1": "fail"}, ["A-1"]) == []  # declared: a harmful member's
    assert mutants.false_failures(baseline, {"A-1": "pass", "B-1": "expected-divergence"}, []) == [
        "C-1: not-applicable -> missing"
    ]


def test_a_baseline_counts_only_as_a_whole_suite_run_of_this_airflow_on_the_local_target(tmp_path, monkeypatch):
    monkeypatch.setattr(mutants, "version", lambda name: "3.3.2")
    report = {"selection": None, "airflow": {"version": "3.3.2", "target": "local"}, "clauses": []}
    (tmp_path / "report.json").write_text(json.dumps(report))
    assert mutants.usable_baseline(tmp_path) == report
    for changed in (
        {"selection": {"clauses": ["A-1"]}},
        {"airflow": {"version": "3.4.0b2", "target": "local"}},
        {"airflow": {"version": "3.3.2", "target": "container"}},
    ):
        (tmp_path / "report.json").write_text(json.dumps({**report, **changed}))
        assert mutants.usable_baseline(tmp_path) is None, changed
    assert mutants.usable_baseline(tmp_path / "nowhere") is None and mutants.usable_baseline(None) is None


def test_timing_clauses_are_declared_only_for_timing_mutants():
    timing = {"STREAM-CADENCE-1", "STREAM-LATENCY-1", "STREAM-FIRST-LINE-1"}
    for name, declared in mutants.load_expected(mutants.find_site()).items():
        assert bool(timing & set(declared.clauses)) == bool(re.search(r"\([^)]*\btiming\)$", declared.why)), name


def test_a_catch_must_match_the_declaration_both_ways():
    assert mutants.compare_catch(["A-1", "B-1"], ["B-1", "C-1"]) == (["A-1"], ["C-1"])
    assert mutants.compare_catch(["A-1"], ["A-1"]) == ([], [])


def test_the_check_reports_a_benign_mutant_that_moved_a_verdict_as_a_false_failure(monkeypatch, tmp_path, capsys):
    baseline = {
        "selection": None,
        "airflow": {"version": "3.3.2", "target": "local"},
        "clauses": [clause("STREAM-NDJSON-1", "pass"), clause("RESULT-NONE-1", "expected-divergence")],
        "notes": [],
    }
    (tmp_path / "report.json").write_text(json.dumps(baseline))
    monkeypatch.setattr(mutants, "version", lambda name: "3.3.2")
    mutated = {
        **baseline,
        "clauses": [clause("STREAM-NDJSON-1", "fail"), clause("RESULT-NONE-1", "expected-divergence")],
    }
    monkeypatch.setattr(mutants, "run_suite", lambda mutant, site, keep=None: mutants.SuiteRun(1, mutated, 1.0, "out"))
    assert mutants.main(["compact-json", "--baseline", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "NOT AS DECLARED" in out and "FALSE FAILURE (verdicts that moved): STREAM-NDJSON-1: pass -> fail" in out
    assert f"unmutated run: {tmp_path / 'report.json'}" in out

    monkeypatch.setattr(mutants, "run_suite", lambda mutant, site, keep=None: mutants.SuiteRun(0, baseline, 1.0, "out"))
    assert mutants.main(["compact-json", "--baseline", str(tmp_path)]) == 0
    assert "no false failure (exit 0" in capsys.readouterr().out
