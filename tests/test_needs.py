"""What a run of part of the suite asks the server for: the cases its tests read, and their DAGs."""

import json

import pytest

from conformance.catalog.cases import load_cases
from conformance.plugin import controller
from conformance.plugin.items import case_of
from conformance.plugin.needs import cases_needed, cases_needed_by, cases_to_stream, read_needs, write_needs
from fake_session import fake_session_conftest

MARKED = """
import pytest

@pytest.mark.cases("mapped-one", "mapped-zero")
def test_named(): pass

@pytest.mark.cases(dags=["slow_run"])
def test_by_dag(): pass

@pytest.mark.cases(all=True)
def test_every(): pass

@pytest.mark.cases()
def test_none(): pass

@pytest.mark.parametrize("case_id", ["param-empty"])
def test_parametrized(case_id): pass

@pytest.mark.cases("dag-return")
@pytest.mark.parametrize("case", [load_cases()["result-none"]])
def test_parametrized_and_marked(case): pass

@pytest.mark.meta
def test_meta(): pass

def test_unmarked(): pass
""".replace("import pytest", "import pytest\nfrom conformance.catalog.cases import load_cases")


def test_each_test_needs_what_its_case_and_mark_say(pytester):
    pytester.makepyfile(test_marked=MARKED)
    items, _ = pytester.inline_genitems("-p", "no:cacheprovider")
    known = load_cases()
    needs = {item.name.split("[")[0]: cases_needed_by(item, known) for item in items}
    assert needs == {
        "test_named": {"mapped-one", "mapped-zero"},
        "test_by_dag": {"slow-cadence-gzip", "slow-cadence-identity", "slow-first-line"},
        "test_every": set(known),
        "test_none": set(),
        "test_parametrized": {"param-empty"},
        "test_parametrized_and_marked": {"result-none", "dag-return"},
        "test_meta": set(),
        "test_unmarked": set(known),  # the safe default
    }
    assert cases_needed([item for item in items if item.name in ("test_named", "test_none")]) == {
        "mapped-one",
        "mapped-zero",
    }


def test_a_triggered_dag_streams_all_its_cases_in_file_order():
    cases = load_cases()
    streamed = [case.id for case in cases_to_stream({"param-empty", "mapped-one"}, cases)]
    on_dag_return = [case.id for case in cases.values() if case.dag_id == "dag_return"]
    assert streamed == [case_id for case_id in cases if case_id in {*on_dag_return, "mapped-one"}]
    assert "dag-return" in streamed and "param-unknown" in streamed
    assert cases_to_stream(set(), cases) == []
    assert cases_to_stream(None, cases) == list(cases.values())


def test_needs_written_by_a_worker_are_read_back(tmp_path):
    folder = tmp_path / "session"
    assert read_needs(folder, "gw0") is None  # nothing written: every case
    write_needs(folder, "gw0", {"mapped-one", "dag-return"})
    assert read_needs(folder, "gw0") == {"mapped-one", "dag-return"}
    assert read_needs(folder, "gw1") is None


def suite_items(pytester, *selection):
    _, recorder = pytester.inline_genitems("--pyargs", "conformance.suite", "-p", "no:cacheprovider", *selection)
    deselected = [item for call in recorder.getcalls("pytest_deselected") for item in call.items]
    return recorder.getcall("pytest_collection_finish").session.items, deselected


def test_one_clause_runs_its_tests_and_the_catalog_check_and_needs_one_dag(pytester):
    items, deselected = suite_items(pytester, "--conformance-clause", "RESULT-MAPPED-1")
    assert sorted(item.nodeid.split("::")[-1] for item in items) == [
        "test_catalog_and_suite_agree",
        "test_terminal_line[mapped-expand]",
    ]
    assert len(deselected) > 200  # the rest of the suite
    needed = cases_needed(items)
    assert needed == {"mapped-expand"}
    assert [case.dag_id for case in cases_to_stream(needed, load_cases())] == ["mapped_expand"]


def test_every_suite_test_says_what_it_reads(pytester):
    """No suite test falls back to needing every case unless it says so: a small selection stays small."""
    items, _ = suite_items(pytester)
    unsaid = [
        item.nodeid
        for item in items
        if not (item.get_closest_marker("cases") or item.get_closest_marker("meta") or case_of(item))
    ]
    assert unsaid == []
    assert cases_needed(items) == set(load_cases())  # the whole suite still streams every case


def test_a_cases_mark_naming_an_unknown_case_fails_the_test(pytester):
    pytester.makeconftest(fake_session_conftest())
    pytester.makepyfile(
        test_unknown="""
import pytest

@pytest.mark.clause("RESULT-MAPPED-1")
@pytest.mark.cases("no-such-case", dags=["no_such_dag"])
def test_it(): pass
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*marks cases missing from fixtures/cases.json: no-such-case, DAG no_such_dag*"])


XDIST_CONFTEST = """
import json
from pathlib import Path

import pytest

from conformance.plugin import hooks as plugin
from conformance.plugin.controller import FOLDER_KEY
from conformance.plugin.needs import read_needs

plugin.in_suite = lambda path: True  # these stand-in tests count as the suite's

@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    needs = read_needs(Path(node.workerinput[FOLDER_KEY]), node.workerinput["workerid"])
    Path("seen.json").write_text(json.dumps(sorted(needs) if needs is not None else None))
"""


def test_under_xdist_a_worker_writes_its_selected_tests_needs_before_reporting_its_collection(pytester):
    pytester.makeconftest(XDIST_CONFTEST + fake_session_conftest())
    pytester.makepyfile(
        test_two="""
import pytest

@pytest.mark.clause("RESULT-MAPPED-1")
@pytest.mark.cases("mapped-expand")
def test_selected(): pass

@pytest.mark.clause("RESULT-MAPPED-4")
@pytest.mark.cases("mapped-zero")
def test_deselected(): pass
"""
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "1", "--conformance-clause", "RESULT-MAPPED-1"
    )
    assert json.loads((pytester.path / "seen.json").read_text()) == ["mapped-expand"]
    result.assert_outcomes(passed=1)


FAKE_SERVER = """
import json
from contextlib import contextmanager
from pathlib import Path

from conformance.live.session_record import SessionInfo


class FakeTarget:
    name = "fake"

    @contextmanager
    def start(self):
        yield None


def fake_prepare(connection, cases, folder, runs_in_flight=None):
    cases = list(cases)
    Path("prepared.json").write_text(json.dumps([case.id for case in cases]))
    info = SessionInfo(
        target="fake", base_url="http://unused.invalid", token="t", description="", database="sqlite",
        airflow_version="3.3.2", run_ids={case.dag_id: "r" for case in cases}, server_errors=[], folder=str(folder),
    )
    info.save()
    return info
"""


@pytest.mark.parametrize("xdist", [False, True], ids=["in-process", "xdist"])
def test_the_controller_prepares_only_the_cases_the_selected_tests_need(pytester, monkeypatch, xdist):
    """The "done when" of a one-clause run, offline: prepare() is handed that clause's DAG's cases alone."""
    args = ["--pyargs", "conformance.suite", "-p", "no:cacheprovider", "--conformance-clause", "RESULT-MAPPED-1"]
    if xdist:  # the controller is another process: patched by a plugin module it loads
        pytester.makepyfile(
            fake_server=FAKE_SERVER
            + "\nfrom conformance.plugin import controller\ncontroller.make_target = lambda name, environ: FakeTarget()\ncontroller.prepare = fake_prepare\n"
        )
        result = pytester.runpytest_subprocess("-p", "fake_server", *args, "-n", "1")
    else:
        namespace: dict = {}
        exec(FAKE_SERVER, namespace)  # noqa: S102 (the fake's source, run here as the xdist case loads it as a plugin)
        monkeypatch.setattr(controller, "make_target", lambda name, environ: namespace["FakeTarget"]())
        monkeypatch.setattr(controller, "prepare", namespace["fake_prepare"])
        monkeypatch.setattr(controller.signal, "signal", lambda *args: None)  # keep this process's SIGTERM handler
        result = pytester.runpytest(*args)
    assert json.loads((pytester.path / "prepared.json").read_text()) == ["mapped-expand"]
    result.stdout.fnmatch_lines(
        ["selection --clause RESULT-MAPPED-1: 1 of * clauses; a run of 1 fixture DAG triggered: mapped_expand"]
    )
