"""Airflow's official Python client on every replayed case, in both worlds, against its committed failures.

``tools/official_client.py`` wraps ``apache-airflow-client``'s
``DagRunApi.wait_dag_run_until_finished``; the clients runner (:mod:`conformance.clientkit.runner`)
serves every recorded stream and negative case from the replay server, twice:

- ``no-content-type``: the 200 streams with no Content-Type, as Airflow 3.3 and the 3.4 betas
  send them, judged against ``tools/official_client.expected-failures.json``;
- ``x-ndjson``: every 200 with ``Content-Type: application/x-ndjson``, as an Airflow that fixed
  STREAM-CONTENT-TYPE-1 would send it, judged against
  ``tools/official_client.x-ndjson.expected-failures.json``. There every 200 raises in the
  client, so its reject cases pass for that reason alone; its accept cases are the finding.

One test per mode and case (a case listed in the mode's file must fail, any other must pass), so
that junit counts them and a fix of the client, or a new failure, is a failing test named after
its case; and one per mode for the runner's own verdict (exactly the listed failures, no error).
The runner serves exactly the cases whose tests were selected. Each case costs a fresh client
process, whose import alone takes seconds, so ``tox -e official-client`` (in CI) selects every
negative case and :data:`RECORDED_IN_CI` (``-m "not full_only"``); ``tox -e
official-client-full`` every case. Needs the client, pinned by those envs; elsewhere the module
is skipped.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.clientkit.replay import NDJSON
from conformance.clientkit.replay_cases import load_replay_cases
from conformance.clientkit.runner import ClientsRun, load_expected_failures, run_clients, table

pytest.importorskip("airflow_client.client", reason="needs apache-airflow-client: tox -e official-client")

CLIENT_VERSION = "3.3.2"  # what the expected-failures files were reasoned from; tox.ini pins it
TOOLS = Path(__file__).resolve().parents[1] / "tools"
ADAPTER = [sys.executable, "-I", str(TOOLS / "official_client.py")]
MODES = {  # mode -> (Content-Type on a 200, expected failures)
    "no-content-type": (None, TOOLS / "official_client.expected-failures.json"),
    "x-ndjson": (NDJSON, TOOLS / "official_client.x-ndjson.expected-failures.json"),
}
CASES = load_replay_cases()
JOBS = 2  # the client's import takes most of each case's time; two at once on two cores
# Every recorded stream is a well-formed Airflow answer, and the client treats them alike (the
# finding is in the negative cases and in the mode): CI judges three, of distinct shapes.
RECORDED_IN_CI = ("dag-return", "mapped-expand", "non-json-values")


def case_param(case_id: str) -> pytest.param:
    full_only = CASES[case_id].kind == "recorded" and case_id not in RECORDED_IN_CI
    return pytest.param(case_id, id=case_id, marks=[pytest.mark.full_only] if full_only else [])


def selected_cases(session: pytest.Session, mode: str) -> list[str]:
    """The case ids whose test_case runs in ``mode`` this session (every case when none does)."""
    chosen = {
        item.callspec.params["case_id"]
        for item in session.items
        if getattr(item, "originalname", None) == "test_case" and item.callspec.params["mode"] == mode
    }
    return [case_id for case_id in CASES if case_id in chosen] or list(CASES)


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> Callable[[str], ClientsRun]:
    """Each mode run once, on first use, on the selected cases, and its table printed (-s shows it)."""
    done: dict[str, ClientsRun] = {}

    def run(mode: str) -> ClientsRun:
        if mode not in done:
            content_type, path = MODES[mode]
            cases = {case_id: CASES[case_id] for case_id in selected_cases(request.session, mode)}
            done[mode] = run_clients(
                ADAPTER,
                cases,
                jobs=JOBS,
                expected=load_expected_failures(path, CASES),
                content_type=content_type,
            )
            print(f"\n--- {mode} ---\n{table(done[mode])}", end="")
        return done[mode]

    return run


def test_the_client_is_the_version_the_lists_were_written_for():
    assert importlib.metadata.version("apache-airflow-client") == CLIENT_VERSION


@pytest.mark.parametrize("mode", MODES)
def test_exactly_the_listed_cases_fail_and_none_errs(mode, runs):
    run = runs(mode)
    assert run.exit_code() == 0, table(run).splitlines()[-1]


@pytest.mark.parametrize("case_id", [case_param(case_id) for case_id in CASES])
@pytest.mark.parametrize("mode", MODES)
def test_case(mode, case_id, runs):
    result = next(r for r in runs(mode).results if r.case.id == case_id)
    listed = MODES[mode][1].name
    if result.expected_failure:
        assert result.judgement.verdict == "fail", (
            f"{case_id} is listed in {listed} but got {result.judgement.verdict}"
            + (
                f" ({result.judgement.why})"
                if result.judgement.why
                else f": the client now handles it; take it out of {listed}"
            )
        )
    else:
        assert result.judgement.verdict == "pass", (
            f"{result.judgement.verdict}: {result.judgement.why} (not listed in {listed})"
        )
