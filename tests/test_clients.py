"""The client runner: verdicts against labels, the contract's edges, and real clients over loopback HTTP.

The last tests run whole clients on every replayed case: the Python reference client (every
case as labelled) and tools/sloppy_client.py (exactly the failures its committed list, written
before it first ran, predicts).
"""

import json
import sys
from pathlib import Path

import pytest

from conformance import cli
from conformance.clientkit.case_run import Outcome, judge, order_mismatch, run_client
from conformance.clientkit.replay import NDJSON
from conformance.clientkit.replay_cases import Label, load_replay_cases, select
from conformance.clientkit.runner import UsageError, load_expected_failures, report, run_clients, table
from conformance.schemas import validator

ROOT = Path(__file__).resolve().parents[1]
SLOPPY = ROOT / "tools" / "sloppy_client.py"
SLOPPY_EXPECTED = ROOT / "tools" / "sloppy_client.expected-failures.json"
REFERENCE = [sys.executable, "-m", "conformance.clientkit.reference_client"]
CASES = load_replay_cases()

ACCEPT = Label("accept", {"state": "success", "results": {"t": {"b": 1, "a": [{"y": 1, "x": 2}]}}}, "test")
REJECT = Label("reject", None, "test")


def outcome(exit_code, last_line=None, stderr="", timed_out=False) -> Outcome:
    return Outcome(exit_code=exit_code, last_line=last_line, stderr_tail=stderr, duration=0.1, timed_out=timed_out)


# --- judging -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "done", "verdict", "why"),
    [
        (REJECT, outcome(1, '{"error": "line 2: bad"}'), "pass", None),
        (REJECT, outcome(2, None, "Traceback...\nValueError: boom"), "pass", None),
        (
            REJECT,
            outcome(0, '{"state": "success"}'),
            "fail",
            'accepted a stream it must reject, printing {"state": "success"}',
        ),
        (ACCEPT, outcome(0, json.dumps({"state": "success", "results": ACCEPT.expect["results"]})), "pass", None),
        (
            ACCEPT,
            outcome(1, '{"error": "no terminal line"}'),
            "fail",
            "rejected (exit 1) a stream it must accept: no terminal line",
        ),
        (
            ACCEPT,
            outcome(0, '{"state": "failed", "results": {"t": 1}}'),
            "fail",
            "state is 'failed', expected 'success'; results are",
        ),
        (
            ACCEPT,
            outcome(0, '{"state": "success", "results": {"t": {"a": [{"y": 1, "x": 2}], "b": 1}}}'),
            "fail",
            "the keys of results.t come in order ['a', 'b'], expected ['b', 'a']",
        ),
        (
            ACCEPT,
            outcome(0, '{"state": "success", "results": {"t": {"b": 1, "a": [{"x": 2, "y": 1}]}}}'),
            "fail",
            "the keys of results.t.a[0] come in order ['x', 'y'], expected ['y', 'x']",
        ),
        (ACCEPT, outcome(0, "done"), "fail", "exit 0, but its last line is not a terminal line: done"),
        (ACCEPT, outcome(0, None), "fail", "exit 0, but its last line is not a terminal line: no output"),
        (Label("accept", {"state": "failed"}, "t"), outcome(0, '{"state": "failed", "results": null}'), "pass", None),
        (
            Label("accept", {"state": "failed"}, "t"),
            outcome(0, '{"state": "failed", "results": {"t": 1}}'),
            "fail",
            'results are {"t": 1}, expected no results key',
        ),
        (REJECT, outcome(None, timed_out=True), "error", "no answer within 0 s: killed"),
        (REJECT, outcome(-9), "error", "killed by signal 9"),
        (REJECT, outcome(127, None, "sh: 1: frob: not found"), "error", "exit 127: the command could not be run"),
    ],
)
def test_judge(label, done, verdict, why):
    judgement = judge(label, done)
    assert judgement.verdict == verdict
    assert (judgement.why is None) if why is None else judgement.why.startswith(why)


def test_large_values_are_judged_by_their_digests():
    label = CASES["large-value"].label
    blob = json.loads(CASES["large-value"].pieces[-1].data)["results"]["blob"]
    assert judge(label, outcome(0, json.dumps({"state": "success", "results": {"blob": blob}}))).verdict == "pass"
    wrong = judge(label, outcome(0, json.dumps({"state": "success", "results": {"blob": blob[:-1] + "!"}})))
    assert wrong.verdict == "fail" and "SHA-256" in wrong.why


def test_order_mismatch_looks_only_at_key_order():
    assert order_mismatch({"a": 1, "b": [{"c": 1, "d": 2}]}, {"a": 1, "b": [{"c": 1, "d": 2}]}) is None
    assert order_mismatch([1, 2], [1, 2]) is None
    assert (
        order_mismatch({"a": 1, "b": 2}, {"b": 2, "a": 1})
        == "the keys of results come in order ['b', 'a'], expected ['a', 'b']"
    )


# --- running one command -------------------------------------------------------------------------


def test_the_url_is_the_last_argument_and_in_the_environment():
    code = (
        "import os, sys; print(sys.argv[-1] == os.environ['AIRFLOW_WAIT_URL'] == 'http://x/wait'); print(); sys.exit(3)"
    )
    done = run_client([sys.executable, "-c", code], "http://x/wait", timeout=30)
    assert (done.exit_code, done.last_line, done.timed_out) == (3, "True", False)


def test_the_last_line_is_split_on_lf_only():
    code = 'import sys; sys.stdout.buffer.write(\'{"state": "success", "results": {"t": "a\u2028b"}}\\n\'.encode())'
    done = run_client([sys.executable, "-c", code], "http://x/wait", timeout=30)
    assert json.loads(done.last_line) == {"state": "success", "results": {"t": "a\u2028b"}}


def test_a_client_past_its_timeout_is_killed_with_its_children():
    started = run_client(["sh", "-c", "sleep 30 & sleep 30; echo late"], "http://x/wait", timeout=0.5)
    assert started.timed_out and started.exit_code is None and started.duration < 10
    assert started.last_line is None


# --- the command line ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (["clients"], "name the client command after --, e.g. -- python -m conformance.reference_client."),
        (
            ["clients", "--case", "nope", "--", "true"],
            "'nope' is no case; python -m conformance replay --index lists them.",
        ),
        (
            ["clients", "--timeout", "0", "--", "true"],
            "--timeout must be above 0 and --jobs at least 1; give e.g. --timeout 30 --jobs 1.",
        ),
        (
            ["clients", "--case", "dag-return", "--", "/no/such/client"],
            "cannot run /no/such/client (No such file or directory); give a command that runs a client.",
        ),
        (
            ["clients", "--expect-failures", "/no/such.json", "--", "true"],
            "cannot read --expect-failures /no/such.json (No such file or directory); give the path of a JSON file.",
        ),
    ],
    ids=["no-command", "unknown-case", "bad-timeout", "command-not-found", "no-such-file"],
)
def test_bad_input_is_one_sentence_and_exit_4(argv, sentence, capsys):
    assert cli.main(argv) == 4
    captured = capsys.readouterr()
    assert captured.err == f"python -m conformance clients: {sentence}\n" and captured.out == ""


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "is not JSON"),
        ('{"failures": ["a"]}', "is not a list of expected failures (['a'] is not of type 'object' at failures)"),
        ('{"failures": {"no-such-case": "why"}}', "names 'no-such-case', which is no case"),
    ],
)
def test_a_bad_expected_failures_file_is_named(content, problem, tmp_path):
    path = tmp_path / "expected.json"
    path.write_text(content)
    with pytest.raises(
        UsageError,
        match="^--expect-failures .*"
        + problem.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]"),
    ):
        load_expected_failures(path, CASES)


@pytest.mark.parametrize("path", sorted((ROOT / "tools").glob("*.expected-failures.json")), ids=lambda path: path.name)
def test_the_committed_expected_failures_match_their_schema(path):
    document = json.loads(path.read_text())
    assert list(validator("clients-expected-failures.schema.json").iter_errors(document)) == []
    assert set(document["failures"]) <= set(CASES)


def test_the_table_has_a_row_per_case_and_ends_with_the_counts(tmp_path):
    expected = tmp_path / "expected.json"
    expected.write_text(
        json.dumps(
            {"failures": {"line-after-terminal": "stops at the first terminal line", "dag-return": "wrongly listed"}}
        )
    )
    cases = select(CASES, ["dag-return", "line-after-terminal", "empty-body"])
    run = run_clients([sys.executable, str(SLOPPY)], cases, expected=load_expected_failures(expected, CASES))
    text = table(run)
    rows = [line for line in text.splitlines() if line.startswith("  ")]
    assert [row.split()[:3] for row in rows] == [
        ["pass", "dag-return", "accept"],
        ["pass", "empty-body", "reject"],
        ["FAIL", "line-after-terminal", "reject"],
    ]
    assert rows[0].endswith("(expected failure)") and "accepted a stream it must reject" in rows[2]
    assert text.endswith(
        "3 cases: 2 pass, 1 fail, 0 error; listed as expected failures but passed: dag-return (exit 1)\n"
    )
    assert run.exit_code() == 1


def test_a_declared_content_type_is_in_the_report_and_the_table():
    cases = select(CASES, ["dag-return"])
    run = run_clients([sys.executable, str(SLOPPY)], cases, content_type=NDJSON)
    document = report(run)
    assert list(validator("clients-report.schema.json").iter_errors(document)) == []
    assert document["replay"]["content_type"] == "application/x-ndjson" and document["exit_code"] == 0
    assert "(no waiting; Content-Type: application/x-ndjson on a 200)" in table(run).splitlines()[1]
    assert (
        "(no waiting; no Content-Type on a 200)"
        in table(run_clients([sys.executable, str(SLOPPY)], cases)).splitlines()[1]
    )


# --- real clients on every case, over loopback HTTP -----------------------------------------------


def run_verb(argv: list[str], capsys) -> tuple[int, dict]:
    code = cli.main(["clients", "--json", *argv])
    document = json.loads(capsys.readouterr().out)
    assert list(validator("clients-report.schema.json").iter_errors(document)) == []
    assert document["exit_code"] == code
    return code, document


def test_the_sloppy_client_fails_exactly_the_cases_committed_beforehand(capsys):
    code, document = run_verb(
        ["--jobs", "2", "--expect-failures", str(SLOPPY_EXPECTED), "--", sys.executable, "-I", str(SLOPPY)], capsys
    )
    failed = {case["id"] for case in document["cases"] if case["verdict"] != "pass"}
    assert failed == set(json.loads(SLOPPY_EXPECTED.read_text())["failures"])
    assert code == 0 and document["counts"] == {"pass": len(CASES) - len(failed), "fail": len(failed), "error": 0}
    assert document["unexpected_failures"] == document["unexpected_passes"] == []


def test_the_python_reference_client_gets_every_case_as_labelled(capsys):
    code, document = run_verb(["--jobs", "2", "--", *REFERENCE], capsys)
    assert [case["id"] for case in document["cases"] if case["verdict"] != "pass"] == []
    assert code == 0 and document["counts"] == {"pass": len(CASES), "fail": 0, "error": 0}
    assert {case["label"]["verdict"] for case in document["cases"]} == {"accept", "reject"}
    said = {case["id"]: case["client"]["said"] for case in document["cases"]}
    assert said["extra-top-level-key"] == '{"state": "success"}'  # CLIENT-LINE-3: the unknown key is not passed on
    assert said["known-key-in-other-case"].startswith('line 2: key "Results" is "results" in another case')
