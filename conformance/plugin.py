"""pytest plugin: one Airflow per session, clause markers, declared divergences, a verdict.

Registered through the ``pytest11`` entry point, so it is loaded in every pytest run of an
environment where the package is installed; it stays inert until suite tests are collected.

Who owns the server: the controlling process. Without xdist that is pytest itself, once
collection has finished. With ``-n``, the controller collects nothing, so it starts the server
when the first worker reports collecting suite tests, before xdist hands out any test. Either
way the prepared session (connection, Airflow version, one transcript per case) lands in one
folder that every process reads; only the controller stops the server, on any exit path.
"""

from __future__ import annotations

import atexit
import os
from collections import Counter
import secrets
import shutil
import signal
import tempfile
from contextlib import ExitStack
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.cases import load_cases
from conformance.catalog import coverage_problems, load_clauses
from conformance.client import AirflowAPIError
from conformance.expectations import divergences_for
from conformance.session import SessionInfo, prepare
from conformance.targets import TargetError, make_target

SUITE_DIR = Path(__file__).resolve().parent / "suite"
FOLDER_KEY = "airflow_conformance_session"
folder_key = pytest.StashKey[Path]()
named_clauses_key = pytest.StashKey[dict[str, tuple[str, ...]]]()
collected_modules_key = pytest.StashKey[set[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("airflow-conformance", "Airflow DAG Result conformance")
    group.addoption(
        "--airflow-target", default=None,
        help="where the Airflow under test comes from: local (default), external, container; "
        "also AIRFLOW_CONFORMANCE_TARGET",
    )
    group.addoption(
        "--airflow-db", default=None, choices=["sqlite", "postgres"],
        help="local and container targets: the metadata database, sqlite (default) or a throwaway PostgreSQL "
        "(container: the topology of separate api-server, scheduler, dag-processor, triggerer containers); "
        "also AIRFLOW_CONFORMANCE_DB",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(*ids): the clauses.yaml requirements this test checks")
    config.addinivalue_line("markers", "meta: a test of the suite itself, which names no clause")
    if hasattr(config, "workerinput"):
        config.stash[folder_key] = Path(config.workerinput[FOLDER_KEY])
    else:
        controller = Controller(config)
        config.stash[folder_key] = controller.folder
        config.pluginmanager.register(controller, "airflow-conformance-controller")


def in_suite(path: Path | str) -> bool:
    return Path(path).resolve().is_relative_to(SUITE_DIR)


def invocation_names_suite(config: pytest.Config) -> bool:
    """Whether the command line asked for suite tests (by package name or by path).

    The xdist controller sees only node ids, which with --pyargs are not anchored anywhere,
    so it decides from the arguments instead.
    """
    for arg in config.args:
        target = arg.split("::")[0]
        if config.option.pyargs and (target == "conformance.suite" or target.startswith("conformance.suite.")):
            return True
        if in_suite(config.invocation_params.dir / target):
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Note every suite test's clauses before any -k/-m deselection, for the catalog check."""
    suite_items = [item for item in items if in_suite(item.path)]
    config.stash[named_clauses_key] = {
        item.nodeid: clause_ids(item) for item in suite_items if not item.get_closest_marker("meta")
    }
    config.stash[collected_modules_key] = {Path(item.path).resolve() for item in suite_items}
    for item in suite_items:
        item.user_properties.append(("clauses", clause_ids(item)))


def clause_ids(item: pytest.Item) -> tuple[str, ...]:
    return tuple(clause for mark in item.iter_markers("clause") for clause in mark.args)


def whole_suite_collected(config: pytest.Config) -> bool:
    return set(SUITE_DIR.glob("test_*.py")) <= config.stash.get(collected_modules_key, set())


def catalog_problems(config: pytest.Config) -> list[str]:
    return coverage_problems(load_clauses(), config.stash.get(named_clauses_key, {}))


@cache
def _session(folder: Path) -> SessionInfo:
    return SessionInfo.load(folder)


def session_info(config: pytest.Config) -> SessionInfo:
    folder = config.stash[folder_key]
    if not (folder / "session.json").exists():
        pytest.fail("no Airflow session was prepared for this run (see the messages above)", pytrace=False)
    return _session(folder)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Reject unknown clause ids; turn declared divergences into strict expected failures."""
    ids = clause_ids(item)
    if not ids:
        return
    known = load_clauses()
    if unknown := [clause for clause in ids if clause not in known]:
        pytest.fail(f"{item.nodeid} names clauses missing from clauses.yaml: {', '.join(unknown)}", pytrace=False)
    info = session_info(item.config)
    version = info.airflow_version
    reasons = divergences_for(version, info.database)
    if diverging := [clause for clause in ids if clause in reasons]:
        reason = "; ".join(f"{clause}: {reasons[clause]}" for clause in diverging)
        item.add_marker(pytest.mark.xfail(reason=f"known divergence of Airflow {version}: {reason}", strict=True, raises=AssertionError))


@pytest.fixture(scope="session")
def airflow_session(request: pytest.FixtureRequest) -> SessionInfo:
    """The Airflow under test: connection, version, run ids, and the recorded transcripts."""
    return session_info(request.config)


@pytest.fixture(scope="session")
def wait_http(airflow_session: SessionInfo) -> Any:
    """A plain HTTP client on the Airflow under test, authenticated, for requests made live."""
    with httpx.Client(base_url=airflow_session.base_url, headers=airflow_session.headers, timeout=60) as client:
        yield client


class Controller:
    """Owns the Airflow for the session: starts it at most once, always stops it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        # Named now (xdist workers are told it before anything starts), created only on start.
        self.folder = Path(tempfile.gettempdir()) / f"airflow-conformance-session-{secrets.token_hex(6)}"
        self.stack = ExitStack()
        self.stack.callback(shutil.rmtree, self.folder, ignore_errors=True)
        self.started = False
        self.info: SessionInfo | None = None
        self.verdicts: dict[str, list[str]] = {}
        atexit.register(self.stack.close)

    def progress(self, message: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"airflow-conformance: {message}")

    def ensure_started(self) -> None:
        if self.started:
            return
        self.started = True
        self.folder.mkdir(mode=0o700)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            environ = dict(os.environ)
            if database := self.config.getoption("airflow_db"):
                environ["AIRFLOW_CONFORMANCE_DB"] = database
            target = make_target(self.config.getoption("airflow_target"), environ)
            self.progress(f"starting the {target.name} target")
            connection = self.stack.enter_context(target.start())
            self.info = prepare(connection, load_cases().values(), self.folder, self.progress)
        except (TargetError, AirflowAPIError) as exc:
            try:  # through the target's context, so that it can add what it knows (its log)
                self.stack.__exit__(type(exc), exc, exc.__traceback__)
            except (TargetError, AirflowAPIError) as told:
                exc = told
            pytest.exit(f"airflow-conformance: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
        except BaseException:
            self.stack.close()
            raise

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.config.pluginmanager.get_plugin("dsession") or self.config.option.collectonly:
            return
        if any(in_suite(item.path) for item in session.items):
            self.ensure_started()

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[FOLDER_KEY] = str(self.folder)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if ids and invocation_names_suite(self.config):
            self.ensure_started()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        clauses = dict(report.user_properties).get("clauses", ())
        if report.when == "call" or report.outcome != "passed":
            for clause in clauses:
                self.verdicts.setdefault(clause, []).append(_outcome(report))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.info is None:
            return
        write = terminalreporter.write_line
        terminalreporter.section(
            f"Airflow DAG Result conformance: Airflow {self.info.airflow_version} ({self.info.target}, {self.info.database})"
        )
        clauses = load_clauses()
        verdicts = {clause: clause_verdict(self.verdicts.get(clause, [])) for clause in clauses}
        counts = Counter(verdicts.values())
        write(f"{len(clauses)} clauses: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
        reasons = divergences_for(self.info.airflow_version, self.info.database)
        for clause, verdict in verdicts.items():
            if verdict != "pass":
                detail = f" ({reasons[clause]})" if clause in reasons else ""
                write(f"  {verdict:<19} {clause}{detail}")
        for error in self.info.server_errors:
            write(f"  server error, retried: {error}")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.stack.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _outcome(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return "expected-divergence" if report.skipped else "unexpected-pass"
    if report.failed and str(report.longrepr).startswith("[XPASS(strict)]"):
        return "unexpected-pass"
    return report.outcome


def clause_verdict(outcomes: list[str]) -> str:
    """One verdict from the outcomes of all tests naming a clause; the worst one wins."""
    for verdict in ("failed", "unexpected-pass", "expected-divergence", "passed", "skipped"):
        if verdict in outcomes:
            return {"failed": "fail", "passed": "pass"}.get(verdict, verdict)
    return "untested"
