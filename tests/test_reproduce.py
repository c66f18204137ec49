"""How a failure is reproduced: its requests as curl lines and the command running it alone.

The curl lines are run by a real shell, with ``curl`` replaced by a function that prints the
arguments it got, so the quoting is checked the way a user's paste would be read.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from html import unescape

import httpx
import pytest

from conformance.cli import run_parser, suite_argv
from conformance.plugin.items import SUITE_DIR
from conformance.report import reproduce
from conformance.report.evidence import SENDERS, Evidence, tag_sender
from conformance.report.html import render
from conformance.report.writer import problems
from conformance.schemas import registry, schema_id
from conformance.targets import kept, local
from conformance.wire.stream import Line, Transcript
from fake_session import fake_session_conftest

BASE = "http://127.0.0.1:8793"
ADMIN_TOKEN, RESTRICTED_TOKEN, NO_RUNS_TOKEN = "admin-token-value", "restricted-token-value", "no-runs-token-value"

needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def curl_calls(lines: list[str]) -> list[list[str]]:
    """The argument lists ``curl`` gets when bash runs ``lines`` with every user's token exported."""
    script = "\n".join(["curl() { printf '%s\\0' CURL \"$@\"; }", *lines])
    env = {
        "PATH": "/usr/bin:/bin",
        "AIRFLOW_TOKEN": ADMIN_TOKEN,
        "AIRFLOW_RESTRICTED_TOKEN": RESTRICTED_TOKEN,
        "AIRFLOW_NO_RUNS_TOKEN": NO_RUNS_TOKEN,
    }
    output = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    calls: list[list[str]] = []
    for word in output.split("\0")[:-1]:
        if word == "CURL":
            calls.append([])
        else:
            calls[-1].append(word)
    return calls


def live(sender: str | None, url: str = "/api/v2/dags/dag_return/dagRuns/r1/wait?interval=0", **request) -> dict:
    return {
        "case": None,
        "request": {"method": "GET", "url": url, "headers": {}, "sender": sender, "gzip": True, **request},
    }


@needs_bash
def test_a_live_request_is_sent_again_as_the_same_user_with_the_token_from_the_shell():
    [admin] = reproduce.request_lines(
        live("admin", url="/api/v2/dags/d/dagRuns/r/wait?interval=1&result=a b&result=it's"), BASE
    )
    [restricted] = reproduce.request_lines(live("restricted"), BASE)
    assert ADMIN_TOKEN not in admin and "$AIRFLOW_TOKEN" in admin and "$AIRFLOW_RESTRICTED_TOKEN" in restricted
    [admin_call, restricted_call] = curl_calls([admin, restricted])
    assert admin_call == [
        "-sS",
        "-i",
        "-N",
        "--compressed",
        "-H",
        f"Authorization: Bearer {ADMIN_TOKEN}",
        f"{BASE}/api/v2/dags/d/dagRuns/r/wait?interval=1&result=a b&result=it's",
    ]
    assert restricted_call[-3:] == [
        "-H",
        f"Authorization: Bearer {RESTRICTED_TOKEN}",
        f"{BASE}/api/v2/dags/dag_return/dagRuns/r1/wait?interval=0",
    ]


@needs_bash
def test_the_user_who_may_not_read_runs_is_sent_again_with_its_own_token_variable():
    [no_runs] = reproduce.request_lines(live("no-runs", gzip=False), BASE)
    assert NO_RUNS_TOKEN not in no_runs and "$AIRFLOW_NO_RUNS_TOKEN" in no_runs
    [call] = curl_calls([no_runs])
    assert call == [
        "-sS",
        "-i",
        "-N",
        "-H",
        f"Authorization: Bearer {NO_RUNS_TOKEN}",
        f"{BASE}/api/v2/dags/dag_return/dagRuns/r1/wait?interval=0",
    ]
    text = reproduce.as_text({"curl": [no_runs], "pytest": "p"})
    assert text.splitlines()[0] == "the requests (with AIRFLOW_NO_RUNS_TOKEN exported):"


def test_every_user_the_suite_sends_as_has_one_token_variable_wherever_it_is_named():
    """The evidence's senders, the report schema's, the local target's users, the kept server's
    export lines and the curl lines all name the same users, each by one shell variable."""
    users = [sender for sender in SENDERS if sender not in ("anonymous", "unknown")]
    assert users == ["admin", "restricted", "no-runs"]
    assert registry().contents(schema_id("report.schema.json"))["$defs"]["evidence"]["properties"]["request"][
        "properties"
    ]["sender"]["enum"] == list(SENDERS)
    assert sorted(local.SENDER_OF.values()) == sorted(users) and sorted(local.SENDER_OF) == sorted(local.ROLE_OF)
    assert kept.TOKEN_VARIABLES == {user: reproduce.TOKEN_VARIABLES[user] for user in users}
    assert len(set(kept.TOKEN_VARIABLES.values())) == len(users)
    for user in users:
        tag_sender(user)


@needs_bash
def test_an_anonymous_request_sends_exactly_the_headers_shown():
    fake = live("anonymous", headers={"Authorization": "Bearer not-a-token"}, gzip=False)
    [call] = curl_calls(reproduce.request_lines(fake, BASE))
    assert call == [
        "-sS",
        "-i",
        "-N",
        "-H",
        "Authorization: Bearer not-a-token",
        f"{BASE}/api/v2/dags/dag_return/dagRuns/r1/wait?interval=0",
    ]
    [call] = curl_calls(reproduce.request_lines(live("anonymous", gzip=False), BASE))
    assert not any("Authorization" in word for word in call)


def test_a_token_in_the_headers_of_someone_elses_request_is_never_written_out():
    line = reproduce.curl(live("admin", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})["request"], "URL")
    assert ADMIN_TOKEN not in line and '"Authorization: Bearer $AIRFLOW_TOKEN"' in line


def test_only_a_wait_is_unbuffered_and_only_a_request_for_gzip_is_compressed():
    imports = reproduce.curl(live("admin", url="/api/v2/importErrors?limit=100", gzip=False)["request"], "URL")
    identity = reproduce.curl(live("admin", headers={"Accept-Encoding": "identity"}, gzip=False)["request"], "URL")
    assert " -N" not in imports and "--compressed" not in imports
    assert " -N " in identity and "--compressed" not in identity and "-H 'Accept-Encoding: identity'" in identity


@needs_bash
def test_a_recorded_stream_is_replayed_on_a_new_run_of_its_dag():
    transcript = Transcript(
        case_id="slow-cadence-gzip",
        path="/api/v2/dags/slow_run/dagRuns/conformance-1/wait",
        query=[["interval", "2"]],
        request_headers={"Accept-Encoding": "gzip"},
        sent_at=0.0,
        lines=[Line('{"state": "running"}\n', 0.1)],
    )
    evidence = Evidence()
    evidence.transcript(transcript)
    evidence.transcript(transcript)  # a re-measure of the same case needs no second run
    lines = reproduce.curl_lines(evidence.items, BASE + "/")
    assert lines[0] == reproduce.RUN_ID_LINE and len(lines) == 3
    trigger, wait = curl_calls(lines)
    body = json.loads(trigger[trigger.index("--data") + 1])
    assert trigger[-1] == f"{BASE}/api/v2/dags/slow_run/dagRuns" and body["logical_date"] is None
    assert body["dag_run_id"].startswith("reproduce-")
    assert wait == [
        "-sS",
        "-i",
        "-N",
        "--compressed",
        "-H",
        "Accept-Encoding: gzip",
        "-H",
        f"Authorization: Bearer {ADMIN_TOKEN}",
        f"{BASE}/api/v2/dags/slow_run/dagRuns/{body['dag_run_id']}/wait?interval=2",
    ]


def test_at_most_a_few_requests_are_written_out():
    items = [live("admin", url=f"/api/v2/dags/d/dagRuns/r{n}/wait") for n in range(8)] + [{"request": None}]
    lines = reproduce.curl_lines(items, BASE)
    assert len(lines) == reproduce.MAX_REQUESTS + 1 and lines[-1].startswith("# ... and more")


@pytest.mark.parametrize(
    ("nodeid", "expected"),
    [
        (
            "conformance/suite/test_request.py::test_unknown_ids_get_404[unknown-run]",
            "test_request.py::test_unknown_ids_get_404[unknown-run]",
        ),
        (
            "test_request.py::test_unknown_ids_get_404[unknown-run]",
            "test_request.py::test_unknown_ids_get_404[unknown-run]",
        ),
        ("../../lib/site-packages/conformance/suite/test_stream.py::test_x", "test_stream.py::test_x"),
    ],
)
def test_a_node_id_is_read_the_same_however_pytest_anchored_it(nodeid, expected):
    assert reproduce.suite_test_id(nodeid) == expected


def test_the_command_names_the_secrets_of_an_external_target_and_never_gives_them():
    environ = {
        "AIRFLOW_CONFORMANCE_URL": "https://airflow.example.com",
        "AIRFLOW_CONFORMANCE_TOKEN": "tok-123",
        "AIRFLOW_CONFORMANCE_RESTRICTED_PASSWORD": "pw-456",
        "HOME": "/root",
    }
    line = reproduce.pytest_command(
        "conformance/suite/test_request.py::test_x[a b]", "external", "unknown", environ, python="/venv/bin/python"
    )
    assert line == (
        "AIRFLOW_CONFORMANCE_URL=https://airflow.example.com /venv/bin/python -m conformance run --airflow-target external "
        "--test 'test_request.py::test_x[a b]'  # with AIRFLOW_CONFORMANCE_TOKEN, AIRFLOW_CONFORMANCE_RESTRICTED_PASSWORD exported"
    )
    no_runs = {"AIRFLOW_CONFORMANCE_NO_RUNS_USERNAME": "dags-only", "AIRFLOW_CONFORMANCE_NO_RUNS_PASSWORD": "pw-321"}
    line = reproduce.pytest_command("t.py::x", "external", None, no_runs, python="python")
    assert "pw-321" not in line and "dags-only" not in line
    assert line.endswith("# with AIRFLOW_CONFORMANCE_NO_RUNS_USERNAME, AIRFLOW_CONFORMANCE_NO_RUNS_PASSWORD exported")
    with_credentials = reproduce.pytest_command(
        "t.py::x", "external", None, {"AIRFLOW_CONFORMANCE_URL": "https://u:pw-789@host"}
    )
    assert "pw-789" not in with_credentials and with_credentials.endswith("# with AIRFLOW_CONFORMANCE_URL exported")


def test_the_command_carries_what_shapes_a_local_or_container_target():
    mutant = {"CONFORMANCE_MUTANT": "results-on-every-line", "PYTHONPATH": "/src/tools/mutant_site", "PATH": "/bin"}
    line = reproduce.pytest_command("test_stream.py::test_x", "local", "postgres", mutant, python="python")
    assert line == (
        "CONFORMANCE_MUTANT=results-on-every-line PYTHONPATH=/src/tools/mutant_site "
        "python -m conformance run --airflow-target local --airflow-db postgres --test test_stream.py::test_x"
    )
    image = reproduce.pytest_command(
        "test_stream.py::test_x",
        "container",
        "sqlite",
        {"AIRFLOW_CONFORMANCE_IMAGE": "me/airflow:dev"},
        python="python",
    )
    assert image.startswith(
        "AIRFLOW_CONFORMANCE_IMAGE=me/airflow:dev python -m conformance run --airflow-target container --airflow-db sqlite"
    )


def test_the_printed_command_runs_that_test_alone_through_the_front_door():
    nodeid = "conformance/suite/test_request.py::test_unknown_ids_get_404[unknown-run]"
    command = reproduce.pytest_command(nodeid, "local", "sqlite", {}, python="python")
    args = run_parser().parse_args(shlex.split(command)[4:])  # as the shell splits it
    argv = suite_argv(airflow_target=args.airflow_target, airflow_db=args.airflow_db, tests=args.test)
    assert argv[0] == f"{SUITE_DIR / 'test_request.py'}::test_unknown_ids_get_404[unknown-run]"
    assert "--pyargs" not in argv and argv[argv.index("--airflow-target") + 1] == "local"


def test_a_test_id_naming_no_suite_file_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_parser().parse_args(["--test", "test_nothing_here.py::test_x"])
    assert exit_info.value.code == 4
    assert "names no test file of the suite" in capsys.readouterr().err


def test_keep_server_reaches_pytest():
    assert "--keep-server" in suite_argv(keep_server=True) and "--keep-server" not in suite_argv()


def test_the_evidence_says_who_sent_a_live_request_and_whether_it_asked_for_gzip():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"detail": "no"})

    transport = httpx.MockTransport(answer)
    evidence = Evidence()
    with httpx.Client(
        base_url=BASE,
        transport=transport,
        event_hooks={"request": [tag_sender("restricted")]},
        headers={"Authorization": "Bearer x"},
    ) as tagged:
        evidence.response(tagged.get("/w", params={"interval": "1"}))
    with httpx.Client(base_url=BASE, transport=transport, headers={"Authorization": "Bearer y"}) as untagged:
        evidence.response(untagged.get("/w"))
        evidence.response(
            untagged.get("/w", headers={"Accept-Encoding": "identity"}), sent_headers={"Authorization": "Bearer y"}
        )
    with httpx.Client(base_url=BASE, transport=transport) as anonymous:
        evidence.response(anonymous.get("/w"))
    assert [(item["request"]["sender"], item["request"]["gzip"]) for item in evidence.items] == [
        ("restricted", True),
        ("unknown", True),
        ("anonymous", False),
        ("anonymous", True),
    ]
    with pytest.raises(ValueError):
        tag_sender("root")


def test_a_streaming_clients_requests_are_kept_by_a_request_hook_and_get_a_curl_line():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text='{"state": "success"}\n')

    evidence = Evidence()
    hooks = {"request": [tag_sender("admin"), evidence.request]}
    with (
        httpx.Client(
            base_url=BASE,
            transport=httpx.MockTransport(answer),
            event_hooks=hooks,
            headers={"Authorization": "Bearer s3cret"},
        ) as client,
        client.stream("GET", "/api/v2/dags/d/dagRuns/r/wait", params=[("interval", "1"), ("result", "")]) as response,
    ):
        response.read()
    [item] = evidence.items
    assert item["request"] == {
        "method": "GET",
        "url": "/api/v2/dags/d/dagRuns/r/wait?interval=1&result=",
        "headers": {},
        "sender": "admin",
        "gzip": True,
    }
    [line] = reproduce.curl_lines(evidence.items, BASE)
    assert "$AIRFLOW_TOKEN" in line and "s3cret" not in line and "interval=1&result=" in line


def test_the_terminal_text_says_what_to_export():
    text = reproduce.as_text(
        {"curl": [reproduce.curl(live("restricted")["request"], "URL")], "pytest": "python -m conformance run"}
    )
    assert text.splitlines()[0] == "the requests (with AIRFLOW_RESTRICTED_TOKEN exported):"
    assert text.splitlines()[-2:] == ["this test alone, against the same target:", "  python -m conformance run"]
    assert reproduce.as_text({"curl": [], "pytest": "p"}).splitlines()[0] == "this test alone, against the same target:"


# End to end through pytest: a failing test's reproduce entry, section, report, and no secret anywhere.

SECRETS = {"token": "s3cr3t-admin-token-9f2", "restricted_token": "s3cr3t-restricted-token-4c1"}

TESTS = """
import httpx
import pytest
from conformance.plugin.pytest_fixtures import authenticated_client
from conformance.wire.stream import Line, Transcript

TRANSCRIPT = Transcript(
    case_id="dag-return", path="/api/v2/dags/dag_return/dagRuns/r1/wait", query=[["interval", "1"]],
    request_headers={}, sent_at=0.0, status=200,
    lines=[Line('{"state": "running", "results": {"compute": 84}}\\n', 0.5), Line('{"state": "success", "results": {"compute": 84}}\\n', 1.0)],
)


def allowed(request):
    return httpx.Response(200, text='{"state": "success"}\\n')


@pytest.mark.clause("STREAM-RESULTS-TERMINAL-1")
def test_stream(evidence):
    transcript = evidence.transcript(TRANSCRIPT)
    assert "results" not in transcript.lines[0].value()


@pytest.mark.clause("AUTH-XCOM-EXPLICIT-1")
def test_live(airflow_session, evidence):
    token = airflow_session.restricted_token
    with authenticated_client(airflow_session.base_url, token, "restricted", transport=httpx.MockTransport(allowed)) as client:
        response = evidence.response(client.get("/api/v2/dags/dag_return/dagRuns/r1/wait", params={"interval": "1", "result": "compute"}))
    assert response.status_code == 403, f"{response.status_code}: {response.text}"


@pytest.mark.clause("RESULT-DECORATOR-1")
def test_passing(airflow_session):
    assert airflow_session.token
"""


@pytest.mark.parametrize("xdist", [False, True], ids=["in-process", "xdist"])
def test_a_failure_says_how_to_reproduce_it_and_no_output_holds_a_secret(pytester, xdist):
    pytester.makeconftest(fake_session_conftest(base_url=BASE, target="local", **SECRETS))
    pytester.makepyfile(test_fake_suite=TESTS)
    args = ["-p", "no:cacheprovider", "--conformance-report", "out"]
    result = pytester.runpytest_subprocess(*args, "-n", "2") if xdist else pytester.runpytest(*args)
    result.assert_outcomes(passed=1, failed=2)

    report = json.loads((pytester.path / "out" / "report.json").read_text())
    assert problems(report) == []
    tests = {test["nodeid"].rsplit("::", 1)[-1]: test for clause in report["clauses"] for test in clause["tests"]}
    assert "reproduce" not in tests["test_passing"]
    stream, live_test = tests["test_stream"]["reproduce"], tests["test_live"]["reproduce"]
    assert stream["curl"][0] == reproduce.RUN_ID_LINE and "/api/v2/dags/dag_return/dagRuns" in stream["curl"][1]
    assert live_test["curl"] == [
        (
            f'curl -sS -i -N --compressed -H "Authorization: Bearer $AIRFLOW_RESTRICTED_TOKEN" '
            f"'{BASE}/api/v2/dags/dag_return/dagRuns/r1/wait?interval=1&result=compute'"
        )
    ]
    assert live_test["pytest"].endswith(
        "-m conformance run --airflow-target local --airflow-db sqlite --test test_fake_suite.py::test_live"
    )
    html = (pytester.path / "out" / "report.html").read_text()
    assert html.count("data-reproduce=") == 2 and "$AIRFLOW_RESTRICTED_TOKEN" in html

    output = result.stdout.str()
    assert re.search(r"^-+ reproduce -+$", output, re.MULTILINE), output[-3000:]
    assert "  " + live_test["curl"][0] in output and "  " + live_test["pytest"] in output

    outputs = {"terminal": output, **{path.name: path.read_text() for path in (pytester.path / "out").iterdir()}}
    assert sorted(outputs) == ["junit.xml", "report.html", "report.json", "terminal"]
    assert [
        (name, label) for name, text in outputs.items() for label, secret in SECRETS.items() if secret in text
    ] == []


def test_an_html_report_shows_the_lines_as_they_are_to_be_pasted(report_from_recordings):
    line = reproduce.curl(live("admin")["request"], f"'{BASE}/w?a=1&b=<2>'")
    clause = next(c for c in report_from_recordings["clauses"] if c["tests"])
    clause["tests"][0]["reproduce"] = {"curl": [line], "pytest": "python -m conformance run --test 'x.py::t[a b]'"}
    assert problems(report_from_recordings) == []
    html = render(report_from_recordings)
    shown = re.findall(r"<pre>(.*?)</pre>", html.split('class="reproduce"', 1)[1], re.DOTALL)[:2]
    assert [unescape(text) for text in shown] == [line, "python -m conformance run --test 'x.py::t[a b]'"]
    assert "<2>" not in shown[0]  # escaped: the server's text never becomes markup


def test_a_request_of_unknown_origin_says_whose_token_stands_in():
    line = reproduce.curl(live("unknown")["request"], "URL")
    assert '"Authorization: Bearer $AIRFLOW_TOKEN" URL  # sent with a token of the test' in line
