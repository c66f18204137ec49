"""The controlling process's job: one Airflow for the session, and the session's verdict.

Who owns the server: the controlling process. Without xdist that is pytest itself, once
collection has finished. With ``-n``, the controller collects nothing, so it starts the server
when the first worker reports collecting suite tests, before xdist hands out any test. Either
way the prepared session (connection, Airflow version, one transcript per case) lands in one
folder that every process reads (workers are told it as ``workerinput[FOLDER_KEY]``); only the
controller stops the server, on any exit path: the end of the session, SIGTERM (turned into
KeyboardInterrupt), and interpreter exit (atexit). With ``--keep-server`` the target leaves
it up instead once the session was prepared (:mod:`conformance.targets.kept`), and the summary
ends with where it is and how to stop it.

The server is asked only for the fixture runs the collected tests read
(:mod:`conformance.plugin.needs`): without xdist, read off the controller's own items; under xdist,
off the file the first worker wrote into the session folder (created when the first worker
is configured, so that it is there to write into) before reporting its collection.

The controller also hears every test report (xdist sends them over), so it alone sums clause
verdicts, decides the exit status (``--allow-absent-feature``), writes the report with
``--conformance-report DIR`` (:mod:`conformance.report.writer`) and prints the terminal summary.
:mod:`conformance.plugin.hooks` registers one :class:`Controller` in the controlling process.
"""

from __future__ import annotations

import atexit
import secrets
import shutil
import signal
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import conformance
from conformance.catalog.cases import load_cases
from conformance.catalog.clauses import load_clauses
from conformance.catalog.expectations import divergences_for
from conformance.catalog.selection import Selection
from conformance.catalog.versions import describe
from conformance.live import progress
from conformance.live.airflow_api import AirflowAPIError
from conformance.live.pacing import runs_in_flight
from conformance.live.session import prepare
from conformance.live.session_record import SessionInfo
from conformance.plugin.items import in_suite, invocation_names_suite
from conformance.plugin.needs import cases_needed, cases_to_stream, read_needs
from conformance.report import step_summary, unmeasured
from conformance.report.writer import FEATURE_ABSENT, Collector, ReportError, Run, build, write
from conformance.settings import Settings
from conformance.targets import TargetError, make_target
from conformance.targets.kept import KeptServer
from conformance.wire import notes

FOLDER_KEY = "airflow_conformance_session"  # the session folder, in each xdist worker's workerinput


class Controller:
    """Owns the Airflow for the session: starts it at most once, always stops it; sums up and
    reports the verdicts."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        # Named now (xdist workers are told it before anything starts), created only on start.
        self.folder = Path(tempfile.gettempdir()) / f"airflow-conformance-session-{secrets.token_hex(6)}"
        self.stack = ExitStack()
        self.stack.callback(shutil.rmtree, self.folder, ignore_errors=True)
        self.started = False
        self.info: SessionInfo | None = None
        self.collector = Collector()
        self.began, self.began_clock = datetime.now(UTC), time.monotonic()
        self.written: tuple[Path, ...] = ()
        self.report_error: str | None = None
        self.failures_besides_absent = 0
        self.absent_tolerated = False
        self.keep_asked = False  # --keep-server (or its variable) was given
        self.kept: KeptServer | None = None  # what the target will leave up when the stack closes
        self.selection = Selection.of(settings)
        atexit.register(self.stack.close)

    def display(self) -> progress.Display:
        """Progress on the terminal: statuses rewrite one line there, and are thinned out in a log."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return progress.Display(lambda line: None)
        rewrite = (lambda line: reporter.rewrite(line, erase=True)) if reporter.isatty() else None
        return progress.Display(reporter.write_line, rewrite, prefix="airflow-conformance: ")

    def ensure_started(self, needed: set[str] | None = None) -> None:
        """Start the server and prepare the session, streaming the ``needed`` cases (None: every one)."""
        if self.started:
            return
        self.started = True
        self.folder.mkdir(mode=0o700, exist_ok=True)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            with progress.displayed(self.display(), verbose=self.config.option.verbose > 0):
                settings = self.settings
                self.keep_asked = settings.keep_server
                runs_in_flight(settings.database or "", settings.runs_in_flight)  # a bad value is said before any boot
                target = make_target(settings.target, settings)
                progress.step(f"starting the {target.name} target")
                connection = self.stack.enter_context(target.start())
                self.kept = getattr(connection, "kept", None)  # a stand-in target may yield less
                self.info = prepare(
                    connection,
                    cases_to_stream(needed, load_cases()),
                    self.folder,
                    runs_in_flight=settings.runs_in_flight,
                )
        except (TargetError, AirflowAPIError) as exc:
            self.kept = None  # a server that failed the session is removed, --keep-server or not
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
        if suite_items := [item for item in session.items if in_suite(item.path)]:
            self.ensure_started(cases_needed(suite_items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        self.folder.mkdir(mode=0o700, exist_ok=True)  # workers write their needs into it
        node.workerinput[FOLDER_KEY] = str(self.folder)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if ids and invocation_names_suite(self.config):
            self.ensure_started(read_needs(self.folder, node.workerinput["workerid"]))

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
            suite_version=conformance.__version__,
            airflow_version=info.airflow_version,
            target=info.target,
            database=info.database,
            description=info.description,
            started=self.began,
            duration_s=time.monotonic() - self.began_clock,
        )
        return build(
            run,
            self.collector.results(),
            load_clauses(),
            divergences_for(info.airflow_version, info.database),
            selection=self.selection,
            run_notes=unmeasured.run_notes(info.airflow_version),
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the report; with --allow-absent-feature, failures that only say the feature is
        absent do not fail the run (exit 1 becomes 0; nothing else changes)."""
        info = self.session()
        if (
            self.settings.allow_absent_feature
            and info is not None
            and info.feature_absent
            and exitstatus == pytest.ExitCode.TESTS_FAILED
            and self.failures_besides_absent == 0
        ):
            session.exitstatus = pytest.ExitCode.OK
            self.absent_tolerated = True
        directory = self.settings.report
        if not directory or info is None:
            return
        report = self.report(info)
        try:
            self.written = write(report, Path(directory))
        except ReportError as exc:
            self.report_error = str(exc)
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            return
        step_summary.append_report(report, self.written, self.settings)  # when GITHUB_STEP_SUMMARY names a file

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if (info := self.session()) is None:
            self._say_what_is_kept(terminalreporter.write_line)
            return
        write_line = terminalreporter.write_line
        terminalreporter.section(
            f"Airflow DAG Result conformance: Airflow {describe(info.airflow_version)} ({info.target}, {info.database})"
        )
        report = self.report(info)
        counts = Counter(clause["verdict"] for clause in report["clauses"])
        if not report["feature"]["present"]:
            write_line(f"DAG Result feature absent in Airflow {info.airflow_version}: {report['feature']['reason']}")
        shown = [note for note in report["notes"] if note["kind"] == "unmeasured-version"]  # said in a line of its own
        for note in shown:
            write_line(note["message"])
        write_line(f"{len(report['clauses'])} clauses: " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())))
        if not self.selection.whole:
            write_line(
                _selection_line(
                    self.selection, len(report["clauses"]) - counts["not-selected"], len(report["clauses"]), info
                )
            )
        listed_together = ("absent", "not-applicable", "not-selected")
        for clause in report["clauses"]:
            if clause["verdict"] not in ("pass", *listed_together):
                declared = [
                    note
                    for note in report["notes"]
                    if note["kind"] == "same-as-declared" and note["clause"] == clause["id"]
                ]
                shown += declared  # a failure on a version never measured: what the nearest one declares
                why = (
                    clause["divergence"]
                    or (declared and declared[0]["message"])
                    or (clause["verdict"] == "untested" and _skip_reason(clause))
                )
                detail = f" ({why})" if why else ""
                write_line(f"  {clause['verdict']:<19} {clause['id']}{detail}")
        for verdict in listed_together:
            if ids := [clause["id"] for clause in report["clauses"] if clause["verdict"] == verdict]:
                long = verdict == "not-selected" and len(ids) > NOT_SELECTED_LISTED
                write_line(
                    f"  {verdict:<19} " + (f"{len(ids)} clauses outside the selection" if long else ", ".join(ids))
                )
        for note in report["notes"]:  # seen, never judged: no verdict or exit code depends on them
            if note not in shown:
                write_line(f"  note                {notes.summary_line(note)}")
        if self.absent_tolerated:
            write_line(
                "exit status 0 (--allow-absent-feature): every failure is a test the absent feature could not run"
            )
        for error in info.server_errors:
            write_line(f"  server error, retried: {error}")
        if self.report_error:
            write_line(f"report NOT written: {self.report_error}", red=True, bold=True)
        for path in self.written:
            write_line(f"report: {path}")
        self._say_what_is_kept(write_line)

    def _say_what_is_kept(self, write_line: Any) -> None:
        """With --keep-server: where the server stays up, how to get its tokens, how to stop it."""
        if self.kept is not None:
            for line in self.kept.lines():
                write_line(line)
        elif self.keep_asked and self.info is not None:
            write_line(f"--keep-server: the {self.info.target} target started no server of its own, so nothing is kept")

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.stack.close()


NOT_SELECTED_LISTED = 8  # more not-selected clauses than this are counted, not listed


def _selection_line(selection: Selection, selected: int, total: int, info: SessionInfo) -> str:
    """What part of the suite ran, and which fixture DAGs were triggered for it."""
    dags = sorted(info.run_ids)
    named = f": {', '.join(dags)}" if 0 < len(dags) <= 3 else ""
    runs = "a run of 1 fixture DAG" if len(dags) == 1 else f"runs of {len(dags)} fixture DAGs"
    return f"selection {selection.describe()}: {selected} of {total} clauses; {runs} triggered{named}"


def _skip_reason(clause: dict[str, Any]) -> str | None:
    """Why an untested clause's tests were skipped, as the first of them said (e.g. no restricted user)."""
    return next((test["message"] for test in clause["tests"] if test["outcome"] == "skipped" and test["message"]), None)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
