"""tools/standalone_runs.py refuses a missing Airflow in one sentence, and sums its runs from what they returned."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "standalone_runs.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("standalone_runs", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_missing_airflow_is_one_sentence_and_exit_4(tool, tmp_path, capsys):
    out = tmp_path / "out"
    assert tool.main(["--airflow", str(tmp_path / "no-airflow"), "--out", str(out)]) == 4
    said = capsys.readouterr().err.strip()
    assert said.endswith("pass the airflow executable of the Airflow to test.") and "\n" not in said
    assert not out.exists()  # nothing left behind


def test_the_summary_counts_every_run_and_fails_on_any_non_zero_exit(tool, tmp_path, monkeypatch):
    outcomes = iter([(0, 40.0, False), (4, 90.0, True), (0, 50.0, False)])

    def fake_run(number, airflow, out, keep_logs):
        code, seconds, died = next(outcomes)
        return {
            "run": number,
            "booted": True,
            "boot_seconds": 20.0,
            "exit_code": code,
            "suite_seconds": seconds,
            "scheduler_died": died,
            "database_locked_lines": 3 if died else 0,
        }

    monkeypatch.setattr(tool, "one_run", fake_run)
    airflow = tmp_path / "airflow"
    airflow.write_text("")
    assert tool.main(["--airflow", str(airflow), "--runs", "3", "--out", str(tmp_path / "out")]) == 1
    summary = json.loads((tmp_path / "out" / "standalone-runs.json").read_text())
    assert summary["runs"] == 3 and summary["exited_non_zero"] == [2] and summary["scheduler_deaths"] == 1
    assert summary["suite_seconds"] == {"min": 40.0, "median": 50.0, "max": 90.0}
