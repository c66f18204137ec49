"""The mutant check reads what caught a mutant from report.json, and needs a source checkout."""

import json
import os
from pathlib import Path

from conformance import mutants


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
