"""The soak counts false failures, lost verdicts and re-measures from report.json, never from terminal text.

The suite's runs are replaced by a fake runner that writes the report.json a run would have
written; stress-ng by a sleeping Python process, so that starting and stopping it is real.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from conformance import cli
from conformance.selfcheck import soak


def clause(clause_id: str, verdict: str, evidence: list[dict] | None = None) -> dict:
    return {"id": clause_id, "verdict": verdict, "tests": [], "evidence": evidence or []}


def measured(test: str, number: int | None = None, case: str | None = "c1", kept: bool = False) -> dict:
    measurement = {"kept": kept, "reason": "discarded: a stall"}
    if number is not None:
        measurement["number"] = number
    return {"test": test, "case": case, "label": "a stream", "measurement": measurement}


def report(*clauses: dict) -> dict:
    return {"report_version": 2, "clauses": list(clauses)}


# --- counting -------------------------------------------------------------------------------------------


def test_evidence_without_measurements_has_no_re_measure():
    assert soak.re_measures([]) == 0
    assert soak.re_measures([{"test": "t", "label": "x"}, {"test": "t", "measurement": None}]) == 0


def test_numbered_measurements_count_above_0():
    assert soak.re_measures([measured("t", 0, kept=True)]) == 0
    assert soak.re_measures([measured("t", 0), measured("t", 1), measured("t", 2, kept=True)]) == 2
    # one test measuring two cases, each once: no re-measure
    assert soak.re_measures([measured("t", 0, case="a"), measured("t", 0, case="b")]) == 0


def test_unnumbered_measurements_count_beyond_the_first_of_each_test_and_case():
    items = [measured("t"), measured("t"), measured("t", case="other"), measured("u"), {"test": "t", "label": "no key"}]
    assert soak.re_measures(items) == 1


def test_clause_outcomes_read_verdicts_and_re_measures_from_a_report():
    outcomes = soak.clause_outcomes(
        report(
            clause("STREAM-CADENCE-1", "pass", [measured("t", 0), measured("t", 1, kept=True)]),
            clause("RESULT-ONCE-1", "fail"),
        )
    )
    assert outcomes == {
        "STREAM-CADENCE-1": soak.ClauseOutcome("pass", 1),
        "RESULT-ONCE-1": soak.ClauseOutcome("fail", 0),
    }


def run_result(number: int, exit_code: int = 0, seconds: float = 60.0, **verdicts: str) -> soak.RunResult:
    clauses = {clause_id.replace("_", "-"): soak.ClauseOutcome(verdict) for clause_id, verdict in verdicts.items()}
    return soak.RunResult(number, exit_code, seconds, clauses)


def test_the_tally_counts_judged_runs_and_false_failures_per_clause():
    runs = [
        run_result(1, A_1="pass", B_1="not-applicable", C_1="expected-divergence"),
        run_result(2, 1, A_1="fail", B_1="not-applicable", C_1="unexpected-pass"),
        run_result(3, 1, A_1="error", B_1="not-applicable", C_1="untested"),
        soak.RunResult(4, 4, 12.0, None, "boot failed"),
    ]
    tallies = soak.tally(runs)
    assert (tallies["A-1"].judged, tallies["A-1"].false_failures) == (3, 2)
    assert (tallies["B-1"].judged, tallies["B-1"].false_failures) == (0, 0)
    assert (tallies["C-1"].judged, tallies["C-1"].false_failures) == (2, 1)
    assert dict(tallies["C-1"].verdicts) == {"expected-divergence": 1, "unexpected-pass": 1, "untested": 1}


def test_the_summary_has_the_totals_and_fails_on_any_non_zero_exit_or_failing_clause():
    runs = [
        run_result(1, seconds=70.0, A_1="pass"),
        run_result(2, 1, 90.0, A_1="fail"),
        soak.RunResult(3, 4, 10.0, None, "boom"),
    ]
    document = soak.summary(runs, runs_asked=3, busy_core=True, pytest_args=["-k", "x"])
    assert document["passed"] is False
    assert document["totals"] == {
        "runs": 3,
        "exited_non_zero": 2,
        "lost_verdicts": [3],
        "false_failures": 1,
        "re_measures": 0,
        "wall_s": {"min": 10.0, "median": 70.0, "max": 90.0},
    }
    assert document["runs"][1] == {
        "number": 2,
        "exit_code": 1,
        "seconds": 90.0,
        "lost_verdict": False,
        "failing": ["A-1"],
        "output_tail": None,
    }
    assert document["runs"][2]["output_tail"] == "boom"
    assert document["clauses"]["A-1"] == {
        "judged": 2,
        "false_failures": 1,
        "re_measures": 0,
        "verdicts": {"pass": 1, "fail": 1},
    }
    json.dumps(document)  # soak.json


def test_a_clean_soak_passes_only_when_every_run_asked_for_ended():
    runs = [run_result(1, A_1="pass"), run_result(2, A_1="expected-divergence")]
    assert soak.passed(runs, 2) is True
    assert soak.passed(runs, 3) is False  # interrupted
    assert soak.passed([soak.RunResult(1, 0, 1.0, None)], 1) is False  # exit 0, yet no verdict


def test_the_run_line_and_the_table():
    assert soak.run_line(run_result(3, seconds=71.24, A_1="pass"), 30) == "run 3 of 30: exit 0, 71.2 s, failing: -"
    assert (
        soak.run_line(run_result(4, 1, 80.0, A_1="fail", B_1="error"), 30)
        == "run 4 of 30: exit 1, 80.0 s, failing: A-1, B-1"
    )
    assert (
        soak.run_line(soak.RunResult(5, 4, 9.0, None), 30)
        == "run 5 of 30: exit 4, 9.0 s, failing: no verdict (no report.json)"
    )
    runs = [
        soak.RunResult(1, 0, 60.0, {"TIMING-1": soak.ClauseOutcome("pass", 2), "A-1": soak.ClauseOutcome("pass")}),
        run_result(2, 1, 70.0, TIMING_1="fail", A_1="pass"),
        soak.RunResult(3, 4, 80.0, None),
    ]
    text = soak.render(soak.summary(runs, runs_asked=3, busy_core=True, pytest_args=[]))
    assert text.splitlines() == [
        "soak: 3 runs with one core kept busy",
        "  clause    judged  false failures  re-measures",
        "  TIMING-1       2               1            2",
        "runs: 3, exited non-zero: 2, lost verdicts: 1 (run 3), false failures: 1, re-measures: 2",
        "wall time per run: min 60.0 s, median 70.0 s, max 80.0 s",
    ]


def test_a_quiet_soak_says_so():
    text = soak.render(soak.summary([run_result(1, A_1="pass")], runs_asked=2, busy_core=False, pytest_args=[]))
    assert text.splitlines()[:2] == ["soak: 1 of 2 runs (interrupted)", "  no clause failed or re-measured"]


# --- main, with the suite's runs faked --------------------------------------------------------------------


class FakeSuite:
    """A runner: each call is one run, writing the report.json (or none) the script says."""

    def __init__(self, *script: tuple[int, dict | None]) -> None:
        self.script, self.commands = list(script), []

    def __call__(self, command):
        self.commands.append(list(command))
        code, document = self.script.pop(0)
        folder = Path(command[command.index("--report") + 1])
        if document is not None:
            (folder / "report.json").write_text(json.dumps(document))
        return code, f"output of run {len(self.commands)}\n"


def test_each_run_goes_through_the_front_door_into_a_folder_of_its_own(tmp_path, capsys):
    fake = FakeSuite((0, report(clause("A-1", "pass"))), (0, report(clause("A-1", "pass"))))
    assert soak.main(["--runs", "2", "--report", str(tmp_path), "--", "-k", "mapped"], runner=fake) == 0
    assert fake.commands == [
        [sys.executable, "-m", "conformance", "run", "--report", str(tmp_path / f"run-{k}"), "--", "-q", "-k", "mapped"]
        for k in (1, 2)
    ]
    out = capsys.readouterr().out
    assert "run 1 of 2: exit 0, " in out and "run 2 of 2: exit 0, " in out and "no clause failed or re-measured" in out
    document = json.loads((tmp_path / "soak.json").read_text())
    assert document["passed"] is True and document["pytest_args"] == ["-k", "mapped"]


def test_a_false_failure_or_a_lost_verdict_fails_the_soak_and_keeps_the_output(tmp_path, capsys):
    fake = FakeSuite(
        (1, report(clause("A-1", "fail"), clause("B-1", "pass"))), (4, None), (0, report(clause("A-1", "pass")))
    )
    assert soak.main(["--runs", "3", "--report", str(tmp_path)], runner=fake) == 1
    out = capsys.readouterr().out
    assert "run 1 of 3: exit 1, " in out and "failing: A-1\n" in out
    assert (
        "run 2 of 3: exit 4, " in out
        and "failing: no verdict (no report.json)\n  its output ends:\noutput of run 2" in out
    )
    document = json.loads((tmp_path / "soak.json").read_text())
    assert document["totals"]["lost_verdicts"] == [2]
    assert document["clauses"]["A-1"]["false_failures"] == 1


def test_a_stale_report_from_an_earlier_soak_is_not_read_as_this_runs(tmp_path):
    (tmp_path / "run-1").mkdir()
    (tmp_path / "run-1" / "report.json").write_text(json.dumps(report(clause("A-1", "pass"))))
    assert soak.main(["--runs", "1", "--report", str(tmp_path)], runner=FakeSuite((4, None))) == 1
    assert json.loads((tmp_path / "soak.json").read_text())["totals"]["lost_verdicts"] == [1]


def test_without_report_it_writes_into_a_new_temporary_folder_it_names(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(soak.tempfile, "tempdir", str(tmp_path))
    assert soak.main(["--runs", "1"], runner=FakeSuite((0, report(clause("A-1", "pass"))))) == 0
    (folder,) = tmp_path.glob("conformance-soak-*")
    assert f"reports in {folder}" in capsys.readouterr().out
    assert (folder / "soak.json").is_file()


def test_an_interrupted_soak_summarises_the_runs_that_ended_and_fails(tmp_path, capsys):
    fake = FakeSuite((0, report(clause("A-1", "pass"))))

    def interrupted(command):
        if fake.script:
            return fake(command)
        raise KeyboardInterrupt

    assert soak.main(["--runs", "3", "--report", str(tmp_path)], runner=interrupted) == 1
    assert "soak: interrupted during run 2 of 3" in capsys.readouterr().out
    assert json.loads((tmp_path / "soak.json").read_text())["totals"]["runs"] == 1


STAND_IN = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(600)"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def pid_in(path: Path) -> int:
    """The pid the stand-in wrote, once it has."""
    deadline = time.monotonic() + 10
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, "the stand-in for stress-ng never started"
        time.sleep(0.05)
    return int(path.read_text())


def test_busy_core_keeps_its_process_running_through_every_run_and_stops_it_at_the_end(tmp_path):
    pid_file = tmp_path / "stress.pid"
    fake = FakeSuite((0, report(clause("A-1", "pass"))), (0, report(clause("A-1", "pass"))))
    seen = []

    def runner(command):
        seen.append(alive(pid_in(pid_file)))
        return fake(command)

    stress = [sys.executable, "-c", STAND_IN, str(pid_file)]
    assert soak.main(["--runs", "2", "--busy-core", "--report", str(tmp_path / "r")], runner=runner, stress=stress) == 0
    assert seen == [True, True]
    assert not alive(pid_in(pid_file))  # stopped, and reaped


def test_a_stress_ng_that_ends_early_fails_the_soak(tmp_path, capsys):
    pid_file = tmp_path / "stress.pid"
    fake = FakeSuite((0, report(clause("A-1", "pass"))))

    def runner(command):
        os.waitid(os.P_PID, pid_in(pid_file), os.WEXITED | os.WNOWAIT)  # until it has ended, leaving it to be reaped
        return fake(command)

    stress = [
        sys.executable,
        "-c",
        "import os, sys; open(sys.argv[1], 'w').write(str(os.getpid())); sys.exit(3)",
        str(pid_file),
    ]
    assert soak.main(["--runs", "1", "--busy-core", "--report", str(tmp_path / "r")], runner=runner, stress=stress) == 1
    assert "stress-ng ended early (exit 3): the later runs had no busy core" in capsys.readouterr().out
    assert json.loads((tmp_path / "r" / "soak.json").read_text())["stress_ng_ended_early"] == 3


def test_busy_core_without_stress_ng_is_one_sentence_and_exit_4(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing installed
    ran = []
    assert soak.main(["--runs", "2", "--busy-core", "--report", str(tmp_path / "r")], runner=ran.append) == 4
    assert ran == [] and not (tmp_path / "r").exists()
    assert capsys.readouterr().err == (
        "soak: --busy-core needs stress-ng, which is not installed; install it (apt-get install stress-ng) "
        "or leave out --busy-core.\n"
    )


@pytest.mark.parametrize("runs", ["0", "-3", "two", "2.5"])
def test_a_bad_number_of_runs_is_one_sentence_and_exit_4(runs, capsys):
    assert cli.main(["soak", "--runs", runs]) == 4
    captured = capsys.readouterr()
    assert captured.err == (
        f"python -m conformance soak: argument --runs: {runs!r} is not a number of runs, a whole number 1 or more; "
        "see python -m conformance soak --help.\n"
    )
    assert captured.out == ""


def test_runs_is_required(capsys):
    assert cli.main(["soak"]) == 4
    assert capsys.readouterr().err == (
        "python -m conformance soak: the following arguments are required: --runs; see python -m conformance soak --help.\n"
    )


def test_soak_is_a_verb_of_the_front_door(capsys):
    assert cli.main(["soak", "--help"]) == 0
    assert "--busy-core" in capsys.readouterr().out
