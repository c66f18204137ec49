"""A deliberately failing run says how to reproduce each failure, and no output holds a credential.

One run of the suite on the local target against the mutant ``results-on-every-line``
(tools/mutant_site: every poll line carries ``results``), with ``--keep-server``. Then:

(a) no credential of the run, the passwords and tokens of every user (read from the kept
    AIRFLOW_HOME: its ``conformance-users.json`` and ``tokens/``), appears in the terminal
    output or in any file of the report folder;
(b) the curl lines of a failing ``test_results_only_on_the_terminal_line`` in report.json, run by
    bash with ``$AIRFLOW_TOKEN`` exported, show the same failure on the kept server: a line before
    the last carrying ``results``;
(c) the stop line the run printed ends the kept server: no process works in its home any more,
    and the home is gone.

Needs Airflow 3.3.2 beside the suite, a source checkout (the mutants) and curl:
``python3 -m tox -e reproduce``. A few minutes on 2 cores; run it while nothing else is.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.selfcheck.mutants import compare_catch, failing_clauses, find_site, load_expected
from conformance.targets.local import ROLE_OF
from conformance.targets.processes import processes_working_in, stop_strays

MUTANT = "results-on-every-line"
FAILING_TEST = "test_results_only_on_the_terminal_line"
TRIED = 5  # failing cases whose curl lines are tried: whether a poll lands between the result and the end is timing


def run_suite(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    """The suite against the mutant with --keep-server: its result, its TMPDIR and its report folder."""
    folder, reports = tmp_path / "tmp", tmp_path / "report"
    folder.mkdir()
    site = find_site([Path(__file__).resolve().parent.parent])
    env = {
        **os.environ,
        "TMPDIR": str(folder),
        "CONFORMANCE_MUTANT": MUTANT,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "conformance",
        "run",
        "--keep-server",
        "--report",
        str(reports),
        "--",
        "-q",
        f"--basetemp={tmp_path / 'basetemp'}",
    ]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200, check=False)
    return result, folder, reports


def kept_printout(output: str) -> tuple[dict[str, Path], str]:
    """The token files (variable -> path) and the stop line the run printed for its kept server."""
    files = {
        name: Path(path)
        for name, path in re.findall(r"^\s*export (AIRFLOW_\w*TOKEN)=\$\(cat (\S+)\)$", output, re.MULTILINE)
    }
    stop = re.search(r"^\s*stop it: (.+)$", output, re.MULTILINE)
    assert files and stop, f"the run printed no kept server; its output ends:\n{output[-3000:]}"
    return files, stop[1]


def credentials(home: Path, token_files: dict[str, Path]) -> dict[str, str]:
    users = json.loads((home / "conformance-users.json").read_text())
    found = {f"{user} password": entry["password"] for user, entry in users.items()}
    return found | {name: path.read_text() for name, path in token_files.items()}


def failing_curl_lines(report: dict) -> list[tuple[str, list[str]]]:
    tests = {test["nodeid"]: test for clause in report["clauses"] for test in clause["tests"]}
    return [
        (nodeid, test["reproduce"]["curl"])
        for nodeid, test in sorted(tests.items())
        if FAILING_TEST in nodeid and test["outcome"] == "failed" and test.get("reproduce", {}).get("curl")
    ]


def body_lines(output: str) -> list[str]:
    """The /wait body of ``curl -i`` output: what follows the last header block (read as text,
    so its CRLFs arrive as plain newlines)."""
    return [line for line in re.split(r"\r?\n\r?\n", output)[-1].splitlines() if line.strip()]


def poll_lines_with_results(output: str) -> list[str]:
    lines = body_lines(output)
    return [line for line in lines[:-1] if "results" in json.loads(line)]


def stop_kept_server(stop_line: str | None, folder: Path) -> None:
    if stop_line is not None:
        subprocess.run(["bash", "-c", stop_line], timeout=60, check=False)
    stop_strays(folder)  # whatever the line missed, so that a failed check leaves nothing running


def test_a_failing_run_reproduces_by_curl_and_leaks_no_credential(tmp_path):
    assert shutil.which("curl"), "this livetest runs the report's curl lines: install curl (apt-get install curl)"
    result, folder, reports = run_suite(tmp_path)
    output = result.stdout + result.stderr
    stop_line = None
    try:
        assert result.returncode == 1, output[-3000:]
        token_files, stop_line = kept_printout(output)
        home = token_files["AIRFLOW_TOKEN"].parent.parent
        held = credentials(home, token_files)
        assert all(held.values()) and len(held) == 2 * len(ROLE_OF), sorted(held)  # each user's password and token

        outputs = {"terminal": output} | {
            str(path.relative_to(reports)): path.read_text() for path in reports.rglob("*") if path.is_file()
        }
        assert {"junit.xml", "report.json", "report.html"} <= set(outputs)
        assert [
            (where, what) for where, text in outputs.items() for what, secret in held.items() if secret in text
        ] == []

        report = json.loads((reports / "report.json").read_text())
        # this run is also CI's mutant check of the framing family (tox -e mutants runs the others)
        assert compare_catch(
            load_expected(find_site([Path(__file__).resolve().parent.parent]))[MUTANT].clauses, failing_clauses(report)
        ) == ([], [])
        candidates = failing_curl_lines(report)
        assert candidates, "the mutant made no test_results_only_on_the_terminal_line fail with curl lines"
        env = {
            "PATH": os.environ["PATH"],
            "AIRFLOW_TOKEN": held["AIRFLOW_TOKEN"],
            "AIRFLOW_RESTRICTED_TOKEN": held["AIRFLOW_RESTRICTED_TOKEN"],
        }
        tried = []
        for nodeid, lines in candidates[:TRIED]:
            pasted = subprocess.run(
                ["bash", "-c", "\n".join(lines)], env=env, capture_output=True, text=True, timeout=240, check=False
            )
            tried.append(f"{nodeid} (exit {pasted.returncode}):\n{pasted.stdout[-1500:]}{pasted.stderr[-500:]}")
            if pasted.returncode == 0 and poll_lines_with_results(pasted.stdout):
                break
        else:
            pytest.fail("no pasted reproduction showed a poll line with results:\n" + "\n".join(tried))
    finally:
        stop_kept_server(stop_line, folder)

    deadline = time.monotonic() + 10  # killed processes may take a moment to be reaped
    while (left := processes_working_in(folder)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert left == {}
    assert not home.exists()
    assert sorted(path.name for path in folder.iterdir()) == []
