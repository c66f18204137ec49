"""tools/ci_totals.py: CI's one line of totals, from the junit.xml files the tox envs leave."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "ci_totals.py"
spec = importlib.util.spec_from_file_location("ci_totals", SCRIPT)
ci_totals = sys.modules.setdefault("ci_totals", importlib.util.module_from_spec(spec))  # dataclasses look it up
spec.loader.exec_module(ci_totals)

ABSENT = '<properties><property name="clause" value="RESULT-ONCE-1"/><property name="feature_absent" value="no result tasks before 3.3"/></properties>'


def junit(*cases: str) -> str:
    return f'<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="{len(cases)}">{"".join(cases)}</testsuite></testsuites>'


def case(name: str, body: str = "") -> str:
    return f'<testcase classname="t" name="{name}" time="0.1">{body}</testcase>'


PASS, SKIP = case("ok"), case("skipped", '<skipped type="pytest.skip" message="no restricted user"/>')
FAIL = case("broken", '<failure message="assert 1 == 2">assert 1 == 2</failure>')
ERROR = case("setup", '<error message="fixture failed">boom</error>')
ABSENT_FAIL = case("needs-feature", f'{ABSENT}<failure message="DAG Result feature absent">absent</failure>')


def write_env(reports: Path, env: str, *cases: str, version: str | None = None) -> None:
    (reports / env).mkdir(parents=True)
    (reports / env / "junit.xml").write_text(junit(*cases))
    if version:
        (reports / env / "report.json").write_text(json.dumps({"airflow": {"version": version}}))


def run(reports: Path, *allowed: str, capsys) -> tuple[int, str, str]:
    code = ci_totals.main([str(reports), *(arg for env in allowed for arg in ("--allow-absent", env))])
    out, err = capsys.readouterr()
    return code, out, err


def test_passes_and_skips_pass(tmp_path, capsys):
    write_env(tmp_path, "unit", PASS, PASS, SKIP)
    write_env(tmp_path, "airflow-3.3.2", PASS, version="3.3.2")
    assert run(tmp_path, capsys=capsys) == (0, "ci: 3 passed, 0 failed\n", "")


def test_a_failure_or_an_error_fails(tmp_path, capsys):
    write_env(tmp_path, "unit", PASS, FAIL)
    write_env(tmp_path, "orphans", PASS, ERROR)
    assert run(tmp_path, capsys=capsys) == (
        1,
        "ci: 2 passed, 2 failed\n",
        "CI: tests failed in orphans (1), unit (1).\n",
    )


def test_failures_for_the_absent_feature_are_allowed_where_named(tmp_path, capsys):
    write_env(tmp_path, "airflow-3.2.2", PASS, ABSENT_FAIL, ABSENT_FAIL, SKIP, version="3.2.2")
    write_env(tmp_path, "unit", PASS)
    assert run(tmp_path, "airflow-3.2.2", capsys=capsys) == (
        0,
        "ci: 2 passed, 0 failed; on Airflow 3.2.2, 2 tests could not run for the absent feature (allowed)\n",
        "",
    )


def test_absent_failures_elsewhere_and_other_failures_there_are_not_allowed(tmp_path, capsys):
    write_env(tmp_path, "airflow-3.2.2", PASS, ABSENT_FAIL, FAIL, version="3.2.2")
    write_env(tmp_path, "airflow-3.3.2", PASS, ABSENT_FAIL, version="3.3.2")
    code, out, err = run(tmp_path, "airflow-3.2.2", capsys=capsys)
    assert (code, out) == (
        1,
        "ci: 2 passed, 2 failed; on Airflow 3.2.2, 1 tests could not run for the absent feature (allowed)\n",
    )
    assert err == "CI: tests failed in airflow-3.2.2 (1), airflow-3.3.2 (1).\n"


@pytest.mark.parametrize(
    ("envs", "err"),
    [
        ({"unit": [], "airflow-3.3.2": [PASS]}, "CI: unit ran no test ({reports}/unit/junit.xml holds none).\n"),
        ({"unit": [SKIP]}, "CI: no test passed in any env.\n"),
        ({}, "CI: no junit.xml under {reports}; did the tox envs run?\n"),
    ],
    ids=["an-env-ran-no-test", "nothing-passed", "no-junit"],
)
def test_no_tests_fails(tmp_path, capsys, envs, err):
    for env, cases in envs.items():
        write_env(tmp_path, env, *cases)
    code, _, stderr = run(tmp_path, capsys=capsys)
    assert (code, stderr) == (1, err.format(reports=tmp_path))


def test_an_allowed_env_that_left_nothing_fails(tmp_path, capsys):
    write_env(tmp_path, "unit", PASS)
    code, _, err = run(tmp_path, "airflow-3.2.2", capsys=capsys)
    assert (code, err) == (1, f"CI: airflow-3.2.2, named with --allow-absent, left no junit.xml under {tmp_path}.\n")


def test_it_reads_the_junit_pytest_writes(pytester, tmp_path, capsys):
    """Not only hand-written XML: the property lands where pytest's junitxml puts it."""
    pytester.makepyfile(
        """
        import pytest

        def test_ok():
            pass

        def test_absent(record_property):
            record_property("feature_absent", "no result tasks before 3.3")
            pytest.fail("DAG Result feature absent")

        @pytest.mark.xfail(strict=True)
        def test_expected_to_fail():
            assert False
        """
    )
    pytester.runpytest("-p", "no:cacheprovider", f"--junitxml={tmp_path / 'reports' / 'airflow-3.2.2' / 'junit.xml'}")
    capsys.readouterr()  # the inner run's own output
    code, out, _ = run(tmp_path / "reports", "airflow-3.2.2", capsys=capsys)
    assert (code, out) == (
        0,
        "ci: 1 passed, 0 failed; on airflow-3.2.2, 1 tests could not run for the absent feature (allowed)\n",
    )


def test_as_ci_runs_it(tmp_path):
    write_env(tmp_path, "unit", PASS)
    result = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "ci: 1 passed, 0 failed\n", "")
