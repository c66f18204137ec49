"""How to reproduce a failing test by hand: its requests as curl lines, and the test run alone.

A failing (or unexpectedly passing) test gets a *reproduction*: ``curl``, the requests its
evidence holds (:mod:`conformance.report.evidence`) written out as shell lines to paste, and
``pytest``, the front-door command that runs just that test against the same target. Both go
into the test's entry in report.json (``reproduce``), under it in report.html and in pytest's
own failure section for it (section ``reproduce``).

No credential is ever written out. A request says who sent it, and the curl line reads that
user's token from a shell variable: ``$AIRFLOW_TOKEN`` for the admin (the session's user),
``$AIRFLOW_RESTRICTED_TOKEN`` for the user without XCom access, ``$AIRFLOW_NO_RUNS_TOKEN`` for
the one who may not read DAG runs; an anonymous request sends
exactly the headers the test showed (the literal fake token of the bad-token test included).
The command line carries the environment that shapes the target (the image, a mutant) but only
*names* the variables holding secrets, which must be exported to run it.

Two kinds of request, two kinds of line:

- A live response (a bad interval, an unknown run, a 403) was asked of a run that had ended,
  so the same request answers the same now: one curl line, on the session's base URL.
- A recorded /wait stream (a transcript) was streamed while its run went on; asking the ended
  run again gives just its terminal line. So it is replayed on a new run of the same DAG: a
  ``RUN_ID=...`` line, a curl line triggering that run (as the session does), then the /wait
  request with ``$RUN_ID`` in place of the session's run id.

Every curl line is shell-safe (:func:`shlex.quote`, with ``$`` variables outside the quotes)
and shows the status line and headers (``-i``); a /wait request is unbuffered (``-N``), and one
that asked for a gzip body is sent with ``--compressed`` so that curl asks for it too and
prints it decompressed.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

TOKEN_VARIABLES = {
    "admin": "AIRFLOW_TOKEN",
    "restricted": "AIRFLOW_RESTRICTED_TOKEN",
    "no-runs": "AIRFLOW_NO_RUNS_TOKEN",
    "unknown": "AIRFLOW_TOKEN",
}
DATABASES = ("sqlite", "postgres")  # what --airflow-db accepts
MAX_REQUESTS = 5  # requests written out per test; timing tests may hold a few re-measures
WAIT_PATH = re.compile(r"^(?P<runs>/api/v2/dags/(?P<dag>[^/?]+)/dagRuns/)(?P<run>[^/?]+)(?P<rest>/wait(?:\?.*)?)$")
RUN_ID_LINE = "RUN_ID=reproduce-$(date +%Y%m%dT%H%M%S)-$$"
# Variables that shape the target, carried with their values into the command.
CARRIED = (
    "AIRFLOW_CONFORMANCE_URL",
    "AIRFLOW_CONFORMANCE_IMAGE",
    "AIRFLOW_CONFORMANCE_POSTGRES_IMAGE",
    "AIRFLOW_CONFORMANCE_BOOT_TIMEOUT",
    "TESTCONTAINERS_RYUK_DISABLED",
    "CONFORMANCE_MUTANT",
    "PYTHONPATH",
)
# Variables that hold credentials (or half of them): named, never carried.
NAMED_ONLY = (
    "AIRFLOW_CONFORMANCE_TOKEN",
    "AIRFLOW_CONFORMANCE_USERNAME",
    "AIRFLOW_CONFORMANCE_PASSWORD",
    "AIRFLOW_CONFORMANCE_RESTRICTED_TOKEN",
    "AIRFLOW_CONFORMANCE_RESTRICTED_USERNAME",
    "AIRFLOW_CONFORMANCE_RESTRICTED_PASSWORD",
    "AIRFLOW_CONFORMANCE_NO_RUNS_TOKEN",
    "AIRFLOW_CONFORMANCE_NO_RUNS_USERNAME",
    "AIRFLOW_CONFORMANCE_NO_RUNS_PASSWORD",
)
_CREDENTIALS_IN_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@]*@", re.IGNORECASE)


def suite_test_id(nodeid: str) -> str:
    """A suite test's id below conformance/suite/ (``test_request.py::test_x[p]``), however pytest
    anchored it: relative to the rootdir in a checkout, to the package under ``--pyargs``."""
    path, sep, rest = nodeid.partition("::")
    return path.rsplit("/", 1)[-1] + sep + rest


def _authorization(sender: str) -> list[str]:
    variable = TOKEN_VARIABLES.get(sender)
    return ["-H", f'"Authorization: Bearer ${variable}"'] if variable else []


def _headers(headers: Mapping[str, str], sender: str) -> list[str]:
    words = []
    for name, value in headers.items():
        if name.lower() == "authorization" and sender != "anonymous":
            continue  # a token the report must not carry; the sender's variable stands in for it
        words += ["-H", shlex.quote(f"{name}: {value}")]
    return words


def curl(request: Mapping[str, Any], url: str) -> str:
    """One request as a curl line; ``url`` is already shell-quoted (it may hold ``"$RUN_ID"``)."""
    sender = request.get("sender") or "unknown"
    words = ["curl", "-sS", "-i"]
    if WAIT_PATH.match(request["url"]):
        words.append("-N")
    if request.get("gzip"):
        words.append("--compressed")
    if request["method"] != "GET":
        words += ["-X", shlex.quote(request["method"])]
    words += _headers(request.get("headers") or {}, sender) + _authorization(sender) + [url]
    guess = (
        "  # sent with a token of the test's own client; the admin's stands in for it" if sender == "unknown" else ""
    )
    return " ".join(words) + guess


def trigger(base_url: str, dag_id: str) -> str:
    """A curl line triggering a run of ``dag_id`` with the id ``$RUN_ID``, as the session does."""
    body = shlex.quote('{"dag_run_id": "') + '"$RUN_ID"' + shlex.quote('", "logical_date": null}')
    words = [
        "curl",
        "-sS",
        "-w",
        shlex.quote("\\n"),
        "-X",
        "POST",
        *_authorization("admin"),
        "-H",
        shlex.quote("Content-Type: application/json"),
        "--data",
        body,
        shlex.quote(f"{base_url}/api/v2/dags/{dag_id}/dagRuns"),
    ]
    return " ".join(words)


def request_lines(item: Mapping[str, Any], base_url: str) -> list[str]:
    """The shell lines that send one evidence item's request again (none if it has no request)."""
    request = item.get("request")
    if not request:
        return []
    base_url = base_url.rstrip("/")
    wait = WAIT_PATH.match(request["url"])
    if item.get("case") is None or wait is None:
        return [curl(request, shlex.quote(base_url + request["url"]))]
    url = shlex.quote(base_url + wait["runs"]) + '"$RUN_ID"' + shlex.quote(wait["rest"])
    return [RUN_ID_LINE, trigger(base_url, wait["dag"]), curl(request, url)]


def curl_lines(items: Iterable[Mapping[str, Any]], base_url: str) -> list[str]:
    """The lines for the first :data:`MAX_REQUESTS` distinct requests of a test's evidence."""
    lines: list[str] = []
    requests: list[Any] = []
    for item in items:
        if not item.get("request") or item["request"] in requests:
            continue
        if len(requests) == MAX_REQUESTS:
            lines.append("# ... and more requests in this test's evidence (report.json)")
            break
        requests.append(item["request"])
        lines += [line for line in request_lines(item, base_url) if line not in lines]
    return lines


def pytest_command(
    nodeid: str,
    target: str,
    database: str | None,
    environ: Mapping[str, str],
    python: str = sys.executable,
) -> str:
    """The front-door command running just this test against the same kind of target.

    Carries the values of :data:`CARRIED` that are set (a URL with credentials in it only by
    name) and names the :data:`NAMED_ONLY` ones that are set, at the end, as a comment.
    """
    carried, named = [], [name for name in NAMED_ONLY if environ.get(name)]
    for name in CARRIED:
        if not (value := environ.get(name)):
            continue
        if _CREDENTIALS_IN_URL.match(value):
            named.append(name)
        else:
            carried.append(f"{name}={shlex.quote(value)}")
    words = [python, "-m", "conformance", "run", "--airflow-target", target]
    if database in DATABASES:
        words += ["--airflow-db", database]
    words += ["--test", suite_test_id(nodeid)]
    line = " ".join([*carried, *map(shlex.quote, words)])
    return line + (f"  # with {', '.join(named)} exported" if named else "")


def reproduction(
    nodeid: str,
    items: Sequence[Mapping[str, Any]],
    *,
    base_url: str,
    target: str,
    database: str | None,
    environ: Mapping[str, str],
) -> dict[str, Any]:
    """A test's ``reproduce`` entry (schemas/report.schema.json, ``$defs/reproduce``)."""
    return {"curl": curl_lines(items, base_url), "pytest": pytest_command(nodeid, target, database, environ)}


def as_text(reproduce: Mapping[str, Any]) -> str:
    """The entry for a terminal: what to export, the curl lines, the command."""
    lines = []
    if reproduce["curl"]:
        variables = sorted(
            {variable for variable in TOKEN_VARIABLES.values() if f"${variable}" in "".join(reproduce["curl"])}
        )
        lines += [f"the requests (with {' and '.join(variables)} exported):" if variables else "the requests:"]
        lines += [f"  {line}" for line in reproduce["curl"]]
    lines += ["this test alone, against the same target:", f"  {reproduce['pytest']}"]
    return "\n".join(lines)
