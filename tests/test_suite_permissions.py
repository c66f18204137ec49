"""The suite's permission tests on a fake session: why a user is missing on each target, and
what AUTH-RUNS-1's test makes of a server's answers (httpx's MockTransport stands in for it)."""

import pytest

from fake_session import fake_session_conftest

# The suite's own fixture and test, imported into a stand-in module whose client answers as told.
TESTS = """
import importlib

import httpx
import pytest

from conformance.suite.test_permissions import no_runs_http, test_a_user_who_may_not_read_the_runs_is_forbidden

# the module those came from (an earlier in-process run may have left another one on the package)
test_permissions = importlib.import_module("conformance.suite.test_permissions")

ANSWERS = {"dag": (200, {"dag_id": "dag_return"}), "wait": (403, {"detail": "Forbidden"})}


@pytest.fixture(scope="module", autouse=True)  # before the suite's module-scoped client
def fake_server(request):
    answers = {**ANSWERS, **getattr(request.module, "OVERRIDE", {})}

    def answer(sent):
        assert sent.headers["Authorization"] == "Bearer no-runs-token"
        status, body = answers["wait" if sent.url.path.endswith("/wait") else "dag"]
        return httpx.Response(status, json=body) if isinstance(body, dict) else httpx.Response(status, text=body)

    def client(base_url, token, sender):
        assert sender == "no-runs"
        return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, transport=httpx.MockTransport(answer))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(test_permissions, "authenticated_client", client)
        yield
"""


def run(pytester, tests: str = TESTS, **session) -> pytest.RunResult:
    pytester.makeconftest(fake_session_conftest(run_ids={"dag_return": "r1"}, **session))
    pytester.makepyfile(test_stand_in=tests)
    return pytester.runpytest("-p", "no:cacheprovider", "-rs")


@pytest.mark.parametrize(
    ("target", "said"),
    [
        (
            "external",
            (
                "*no user who may read the DAGs but not their runs was given; set AIRFLOW_CONFORMANCE_NO_RUNS_TOKEN "
                "(or _NO_RUNS_USERNAME and _NO_RUNS_PASSWORD)*"
            ),
        ),
        (
            "container",
            "*no user who may read the DAGs but not their runs: the container target's Airflow runs SimpleAuthManager*",
        ),
    ],
)
def test_without_the_user_the_clause_is_untested_and_says_why(pytester, target, said):
    result = run(pytester, target=target)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines([said])


def test_on_the_local_target_a_missing_user_is_the_targets_failure(pytester):
    result = run(pytester, target="local")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the local target provided no user who may read the DAGs but not their runs*"])


def test_a_403_with_an_error_body_passes(pytester):
    run(pytester, target="external", no_runs_token="no-runs-token").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ({"wait": (200, '{"state": "success"}\\n')}, '*200: {"state": "success"}*'),
        ({"wait": (403, "Forbidden")}, "*JSONDecodeError*"),
        ({"dag": (403, {"detail": "Forbidden"})}, "*cannot read DAG dag_return either (403*"),
    ],
    ids=["stream-served", "no-error-body", "dag-unreadable-too"],
)
def test_anything_else_fails(pytester, override, said):
    result = run(pytester, TESTS + f"\nOVERRIDE = {override!r}\n", target="external", no_runs_token="no-runs-token")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([said])
