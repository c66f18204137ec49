"""The mutant check reads what caught a mutant from report.json, and needs a source checkout."""

import json
import re
import os
from pathlib import Path

from conformance import mutants
from conformance.catalog import load_clauses


def clause(clause_id, verdict):
    return {"id": clause_id, "verdict": verdict, "tests": []}


def test_the_clauses_that_caught_a_mutant_come_from_report_json(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"clauses": [
        clause("RESULT-ONCE-1", "fail"), clause("STREAM-NDJSON-1", "pass"), clause("RESULT-NONE-1", "unexpected-pass"),
        clause("AUTH-XCOM-1", "expected-divergence"), clause("LOOP-UNTIL-1", "not-applicable"), clause("X-1", "untested"),
    ]}))
    assert mutants.failing_clauses(mutants.read_report(tmp_path)) == ["RESULT-ONCE-1", "RESULT-NONE-1"]


def test_a_run_without_report_json_caught_nothing(tmp_path):
    assert mutants.read_report(tmp_path) is None
    assert mutants.failing_clauses(None) == []


def test_a_checkout_has_the_mutants():
    site = mutants.find_site()
    assert (site / "sitecustomize.py").is_file()
    module = mutants.load_site(site)
    assert set(module.REPRESENTATIVE) <= set(module.MUTANTS)


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
        return mutants.subprocess.CompletedProcess(argv, 1, "1 failed", "")

    monkeypatch.setattr(mutants.subprocess, "run", fake_run)
    code, failing, _, output = mutants.run_suite("terminal-line-twice", tmp_path)
    assert (code, failing, output) == (1, ["RESULT-ONCE-1"], "1 failed")
    assert seen["argv"][1:4] == ["-m", "conformance", "run"] and seen["argv"][-2:] == ["--", "-q"]
    assert seen["env"]["CONFORMANCE_MUTANT"] == "terminal-line-twice"
    assert seen["env"]["PYTHONPATH"].split(os.pathsep)[0] == str(tmp_path)


def test_every_mutant_declares_the_clauses_that_must_catch_it_and_why():
    site = mutants.find_site()
    module, expected = mutants.load_site(site), mutants.load_expected(site)
    assert set(expected) == set(module.MUTANTS)
    known = set(load_clauses())
    for name, (why, clauses) in expected.items():
        assert why.strip() and clauses, name
        assert set(clauses) <= known, (name, set(clauses) - known)


def test_timing_clauses_are_declared_only_for_timing_mutants():
    timing = {"STREAM-CADENCE-1", "STREAM-LATENCY-1", "STREAM-FIRST-LINE-1"}
    for name, (why, clauses) in mutants.load_expected(mutants.find_site()).items():
        assert bool(timing & set(clauses)) == bool(re.search(r"\([^)]*\btiming\)$", why)), name


def test_a_catch_must_match_the_declaration_both_ways():
    assert mutants.compare_catch(["A-1", "B-1"], ["B-1", "C-1"]) == (["A-1"], ["C-1"])
    assert mutants.compare_catch(["A-1"], ["A-1"]) == ([], [])
