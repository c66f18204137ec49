"""pytest plugin: one Airflow per session, clause markers, declared divergences, a verdict.

Registered through the ``pytest11`` entry point, so it is loaded in every pytest run of an
environment where the package is installed; it stays inert until suite tests are collected.

Who owns the server: the controlling process. Without xdist that is pytest itself, once
collection has finished. With ``-n``, the controller collects nothing, so it starts the server
when the first worker reports collecting suite tests, before xdist hands out any test. Either
way the prepared session (connection, Airflow version, one transcript per case) lands in one
folder that every process reads; only the controller stops the server, on any exit path.

The controller also hears every test report (xdist sends them over), so it alone sums clause
verdicts and, with ``--conformance-report DIR``, writes the report (:mod:`conformance.report`).
What a test saw travels with its report: the ``evidence`` fixture (:mod:`conformance.evidence`)
collects it in whichever process runs the test.

On an Airflow without the DAG Result feature (before 3.3), a test that cannot run for want of
it fails with one line saying so and carries the user property ``feature_absent`` (whose value
is why the feature is absent); its outcome counts as "absent" rather than "failed" in the
clause verdicts.

A clause can also be about other Airflow versions than the server's (``since``/``until`` in
clauses.yaml, a pre-release counting as its release). A test none of whose clauses applies to
the server's version is skipped before it starts, saying which versions they are about, and
carries the user property ``not_applicable``; those clauses get the verdict "not-applicable".
A test with at least one clause that applies runs as usual. This is declared, where "absent"
is measured: it needs no server to tell, and it is checked first.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

import conformance
from conformance import progress
from conformance.cases import applicable_cases, load_cases
from conformance.catalog import coverage_problems, load_clauses, why_not_applicable
from conformance.client import AirflowAPIError
from conformance.evidence import Evidence
from conformance.expectations import divergences_for
from conformance.report import FEATURE_ABSENT, NOT_APPLICABLE, REPORT_ATTRIBUTE, Collector, ReportError, Run, build, write
from conformance.session import FeatureAbsent, SessionInfo, prepare
from conformance.targets import TargetError, make_target
from conformance.versions import describe

SUITE_DIR = Path(__file__).resolve().parent / "suite"
FOLDER_KEY = "airflow_conformance_session"
folder_key = pytest.StashKey[Path]()
named_clauses_key = pytest.StashKey[dict[str, tuple[str, ...]]]()
collected_modules_key = pytest.StashKey[set[Path]]()
evidence_key = pytest.StashKey[Evidence]()
current_evidence_key = pytest.StashKey["Evidence | None"]()


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
    group.addoption(
        "--conformance-report", default=os.environ.get("AIRFLOW_CONFORMANCE_REPORT"), metavar="DIR",
        help="write junit.xml, report.json and report.html into DIR; also AIRFLOW_CONFORMANCE_REPORT",
    )
    group.addoption(
        "--allow-absent-feature", action="store_true",
        help="exit 0 instead of 1 when every failure is a test the absent DAG Result feature could not run "
        "(for version matrices that include an Airflow older than 3.3)",
    )


@pytest.hookimpl(tryfirst=True)  # before junitxml's, which reads the path we may set
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(*ids): the clauses.yaml requirements this test checks")
    config.addinivalue_line("markers", "meta: a test of the suite itself, which names no clause")
    config.addinivalue_line("markers", "doc_example(id, text): this test runs the doc's example `text` as written")
    report_dir = config.getoption("conformance_report")
    if report_dir and not config.option.xmlpath:
        config.option.xmlpath = str(Path(report_dir) / "junit.xml")
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
    for item in items:  # one property per clause: junit.xml shows them, the report files by them
        item.user_properties.extend(("clause", clause) for clause in clause_ids(item))


def clause_ids(item: pytest.Item) -> tuple[str, ...]:
    return tuple(clause for mark in item.iter_markers("clause") for clause in mark.args)


def case_of(item: pytest.Item) -> str | None:
    """The case (fixtures/cases.json) a test is parametrized with, as ``case`` or ``case_id``."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    case = params.get("case_id", params.get("case"))
    return getattr(case, "id", case)


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
    """Reject unknown clause ids; skip tests whose clauses are all about other Airflow versions; fail
    those the absent feature cannot run; turn declared divergences into strict expected failures."""
    if item.get_closest_marker("doc_example") and doc_example(item) is None:
        pytest.fail(f"{item.nodeid}: mark it doc_example(id, text), two strings: the example's id and the doc's literal text", pytrace=False)
    ids = clause_ids(item)
    if not ids:
        return
    known = load_clauses()
    if unknown := [clause for clause in ids if clause not in known]:
        pytest.fail(f"{item.nodeid} names clauses missing from clauses.yaml: {', '.join(unknown)}", pytrace=False)
    info = session_info(item.config)
    version = info.airflow_version
    reason = why_not_applicable([known[clause] for clause in ids], version)
    case = load_cases().get(case_of(item) or "")
    if reason is None and case is not None and not applicable_cases([case], version):  # e.g. a stream check on a loop case
        reason = f"case {case.id}: " + str(why_not_applicable([known[clause] for clause in case.clauses], version))
    if reason:
        item.user_properties.append((NOT_APPLICABLE, reason))
        pytest.skip(reason)
    applicable = [clause for clause in ids if known[clause].applies_to(version)]
    if info.feature_absent and (needing := [clause for clause in applicable if known[clause].needs_feature]):
        item.user_properties.append((FEATURE_ABSENT, info.feature_absent))
        verb = "needs" if len(needing) == 1 else "need"
        pytest.fail(f"DAG Result feature absent in Airflow {version}, which {', '.join(needing)} {verb}: {info.feature_absent}", pytrace=False)
    reasons = divergences_for(version, info.database, case=case_of(item))
    if diverging := [clause for clause in ids if clause in reasons]:
        reason = "; ".join(f"{clause}: {reasons[clause]}" for clause in diverging)
        item.add_marker(pytest.mark.xfail(reason=f"known divergence of Airflow {version}: {reason}", strict=True, raises=AssertionError))


@pytest.fixture(scope="session")
def airflow_session(request: pytest.FixtureRequest) -> SessionInfo:
    """The Airflow under test: connection, version, run ids, and the recorded transcripts."""
    return session_info(request.config)


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """What this test looked at, for the report: transcripts, responses, compared values."""
    return _evidence_of(request.node)


def _evidence_of(item: pytest.Item) -> Evidence:
    if evidence_key not in item.stash:
        item.stash[evidence_key] = Evidence()
    return item.stash[evidence_key]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Make this test's evidence the place where a failing comparison is recorded."""
    reported = bool(clause_ids(item)) or "evidence" in getattr(item, "fixturenames", ())
    item.config.stash[current_evidence_key] = _evidence_of(item) if reported else None
    try:
        return (yield)
    finally:
        item.config.stash[current_evidence_key] = None


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: object, right: object) -> None:
    """Keep both sides of a failing ``actual == expected`` as evidence; the explanation is unchanged."""
    evidence = config.stash.get(current_evidence_key, None)
    if evidence is not None and op == "==":
        evidence.compare(expected=right, actual=left, label="the failing assertion")


def doc_example(item: pytest.Item) -> dict[str, str] | None:
    """The ``doc_example(id, text)`` mark of a test (positional or by keyword), if it has one."""
    if (mark := item.get_closest_marker("doc_example")) is None:
        return None
    values = dict(zip(("id", "text"), mark.args)) | mark.kwargs
    if set(values) != {"id", "text"} or not all(isinstance(value, str) for value in values.values()):
        return None
    return values


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """Attach the evidence and doc-example mark as JSON, which xdist carries to the controller;
    turn a FeatureAbsent (a case whose DAG cannot load here) into a one-line failure."""
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(FeatureAbsent) and report.failed:
        info = session_info(item.config)
        report.longrepr = f"DAG Result feature absent in Airflow {info.airflow_version}: {call.excinfo.value} ({info.feature_absent})"
        report.user_properties.append((FEATURE_ABSENT, info.feature_absent))
    extra: dict[str, Any] = {}
    if call.when == "call" and evidence_key in item.stash:
        extra["evidence"] = item.stash[evidence_key].items
    if example := doc_example(item):
        extra["doc_example"] = example
    if extra:
        setattr(report, REPORT_ATTRIBUTE, json.dumps(extra))
    return report


@pytest.fixture(scope="session")
def wait_http(airflow_session: SessionInfo) -> Any:
    """A plain HTTP client on the Airflow under test, authenticated, for requests made live."""
    with httpx.Client(base_url=airflow_session.base_url, headers=airflow_session.headers, timeout=60) as client:
        yield client


class Controller:
    """Owns the Airflow for the session: starts it at most once, always stops it; sums up and
    reports the verdicts."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        # Named now (xdist workers are told it before anything starts), created only on start.
        self.folder = Path(tempfile.gettempdir()) / f"airflow-conformance-session-{secrets.token_hex(6)}"
        self.stack = ExitStack()
        self.stack.callback(shutil.rmtree, self.folder, ignore_errors=True)
        self.started = False
        self.info: SessionInfo | None = None
        self.collector = Collector()
        self.began, self.began_clock = datetime.now(timezone.utc), time.monotonic()
        self.written: tuple[Path, ...] = ()
        self.report_error: str | None = None
        self.failures_besides_absent = 0
        self.absent_tolerated = False
        atexit.register(self.stack.close)

    def display(self) -> progress.Display:
        """Progress on the terminal: statuses rewrite one line there, and are thinned out in a log."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return progress.Display(lambda line: None)
        rewrite = (lambda line: reporter.rewrite(line, erase=True)) if reporter.isatty() else None
        return progress.Display(reporter.write_line, rewrite, prefix="airflow-conformance: ")

    def ensure_started(self) -> None:
        if self.started:
            return
        self.started = True
        self.folder.mkdir(mode=0o700)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            with progress.displayed(self.display(), verbose=self.config.option.verbose > 0):
                environ = dict(os.environ)
                if database := self.config.getoption("airflow_db"):
                    environ["AIRFLOW_CONFORMANCE_DB"] = database
                target = make_target(self.config.getoption("airflow_target"), environ)
                progress.step(f"starting the {target.name} target")
                connection = self.stack.enter_context(target.start())
                self.info = prepare(connection, load_cases().values(), self.folder)
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
        self.collector.add(report)
        if report.failed and not any(name == FEATURE_ABSENT for name, _ in report.user_properties):
            self.failures_besides_absent += 1

    def session(self) -> SessionInfo | None:
        """The prepared session: this process's, or one a test harness wrote into the folder."""
        if self.info is None and (self.folder / "session.json").exists():
            self.info = SessionInfo.load(self.folder)
        return self.info

    def report(self, info: SessionInfo) -> dict[str, Any]:
        run = Run(
            suite_version=conformance.__version__, airflow_version=info.airflow_version, target=info.target,
            database=info.database, description=info.description, started=self.began,
            duration_s=time.monotonic() - self.began_clock,
        )
        return build(run, self.collector.results(), load_clauses(), divergences_for(info.airflow_version, info.database))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the report; with --allow-absent-feature, failures that only say the feature is
        absent do not fail the run (exit 1 becomes 0; nothing else changes)."""
        info = self.session()
        if (
            self.config.getoption("allow_absent_feature") and info is not None and info.feature_absent
            and exitstatus == pytest.ExitCode.TESTS_FAILED and self.failures_besides_absent == 0
        ):
            session.exitstatus = pytest.ExitCode.OK
            self.absent_tolerated = True
        directory = self.config.getoption("conformance_report")
        if not directory or info is None:
            return
        try:
            self.written = write(self.report(info), Path(directory))
        except ReportError as exc:
            self.report_error = str(exc)
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if (info := self.session()) is None:
            return
        write_line = terminalreporter.write_line
        terminalreporter.section(f"Airflow DAG Result conformance: Airflow {describe(info.airflow_version)} ({info.target}, {info.database})")
        report = self.report(info)
        counts = Counter(clause["verdict"] for clause in report["clauses"])
        if not report["feature"]["present"]:
            write_line(f"DAG Result feature absent in Airflow {info.airflow_version}: {report['feature']['reason']}")
        write_line(f"{len(report['clauses'])} clauses: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
        listed_together = ("absent", "not-applicable")
        for clause in report["clauses"]:
            if clause["verdict"] not in ("pass", *listed_together):
                why = clause["divergence"] or (clause["verdict"] == "untested" and _skip_reason(clause))
                detail = f" ({why})" if why else ""
                write_line(f"  {clause['verdict']:<19} {clause['id']}{detail}")
        for verdict in listed_together:
            if ids := [clause["id"] for clause in report["clauses"] if clause["verdict"] == verdict]:
                write_line(f"  {verdict:<19} " + ", ".join(ids))
        if self.absent_tolerated:
            write_line("exit status 0 (--allow-absent-feature): every failure is a test the absent feature could not run")
        for error in info.server_errors:
            write_line(f"  server error, retried: {error}")
        if self.report_error:
            write_line(f"report NOT written: {self.report_error}", red=True, bold=True)
        for path in self.written:
            write_line(f"report: {path}")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.stack.close()


def _skip_reason(clause: dict[str, Any]) -> str | None:
    """Why an untested clause's tests were skipped, as the first of them said (e.g. no restricted user)."""
    return next((test["message"] for test in clause["tests"] if test["outcome"] == "skipped" and test["message"]), None)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
