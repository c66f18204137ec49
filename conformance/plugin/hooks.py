"""pytest plugin: options and hooks only; it wires the harness into pytest.

Registered through the ``pytest11`` entry point, so it is loaded in every pytest run of an
environment where the package is installed; it stays inert until suite tests are collected.
Its jobs live in modules of their own, which it registers at configure time: the
:class:`~conformance.plugin.controller.Controller` (in the controlling process: the server's
lifetime, the verdicts, the report and the summary) and :mod:`conformance.plugin.pytest_fixtures` (in every
process: the fixtures tests use and the evidence they leave). Here: the command-line options,
the markers, noting each test's clauses at collection (for the catalog check), and deciding
before a test runs whether it runs at all.

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

Declared divergences (expectations.yaml) become strict expected failures. On a version the
suite never measured (:mod:`conformance.report.unmeasured`), a failure that the nearest measured
version's declared divergence would have matched stays a failure and gets a note saying so.

A run can check part of the catalog (:mod:`conformance.catalog.selection`: ``--conformance-clause``,
``--conformance-area``, ``--conformance-level``). A selection that selects nothing stops the
run at configure time, before any server starts. At collection, once every test's clauses are
noted (so the catalog check still sees the whole suite), a test none of whose clauses is
selected is deselected (pytest's ``pytest_deselected``); tests naming no clause stay. What the
remaining tests read decides which fixture runs are triggered (:mod:`conformance.plugin.needs`); an
xdist worker writes that into the session folder for the controller.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import settings
from conformance.catalog.cases import applicable_cases, load_cases
from conformance.catalog.clauses import coverage_problems, load_clauses, why_not_applicable
from conformance.catalog.expectations import divergences_for, failed_as_declared, failure_patterns_for
from conformance.catalog.selection import Selection
from conformance.live.session_record import FeatureAbsent
from conformance.plugin import pytest_fixtures as fixtures
from conformance.plugin.controller import FOLDER_KEY, Controller
from conformance.plugin.items import SUITE_DIR, case_of, clause_ids, in_suite
from conformance.plugin.needs import cases_needed, unknown_cases, write_needs
from conformance.plugin.pytest_fixtures import doc_example, evidence_of, folder_key, session_info, settings_key
from conformance.report import unmeasured
from conformance.report.writer import FEATURE_ABSENT, NOT_APPLICABLE

named_clauses_key = pytest.StashKey[dict[str, tuple[str, ...]]]()
collected_modules_key = pytest.StashKey[set[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("airflow-conformance", "Airflow DAG Result conformance")
    settings.add_pytest_options(group)  # each run setting's option, from its one declaration


@pytest.hookimpl(tryfirst=True)  # before junitxml's, which reads the path we may set
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(*ids): the clauses.yaml requirements this test checks")
    config.addinivalue_line("markers", "meta: a test of the suite itself, which names no clause")
    config.addinivalue_line("markers", "doc_example(id, text): this test runs the doc's example `text` as written")
    config.addinivalue_line(
        "markers",
        "cases(*ids, dags=(), all=False): the fixture cases (or DAGs' runs) this test reads (conformance.plugin.needs)",
    )
    config.stash[settings_key] = given = settings.from_pytest(config)
    selection = Selection.of(given)
    if not selection.whole and (problem := selection.problem(load_clauses())):
        raise pytest.UsageError(f"airflow-conformance: {problem}")
    report_dir = given.report
    if report_dir and not config.option.xmlpath:
        config.option.xmlpath = str(Path(report_dir) / "junit.xml")
    config.pluginmanager.register(fixtures, "airflow-conformance-fixtures")
    if hasattr(config, "workerinput"):
        config.stash[folder_key] = Path(config.workerinput[FOLDER_KEY])
    else:
        controller = Controller(config, given)
        config.stash[folder_key] = controller.folder
        config.pluginmanager.register(controller, "airflow-conformance-controller")


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
    deselect_unselected(config, items)


def deselect_unselected(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests none of whose clauses the selection selects; tests naming no clause stay."""
    selection = Selection.of(config.stash[settings_key])
    if selection.whole:
        return
    catalog = load_clauses()
    chosen = set(selection.selected(catalog))
    dropped = [item for item in items if (ids := clause_ids(item)) and not chosen.intersection(ids)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(dropped)
        items[:] = [item for item in items if item not in gone]


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reports the collection to the controller
def pytest_collection_finish(session: pytest.Session) -> None:
    """On an xdist worker, after every deselection: the cases its suite tests read, for the controller."""
    config = session.config
    if hasattr(config, "workerinput"):
        needed = cases_needed(item for item in session.items if in_suite(item.path))
        write_needs(config.stash[folder_key], config.workerinput["workerid"], needed)


def whole_suite_collected(config: pytest.Config) -> bool:
    return set(SUITE_DIR.glob("test_*.py")) <= config.stash.get(collected_modules_key, set())


def catalog_problems(config: pytest.Config) -> list[str]:
    return coverage_problems(load_clauses(), config.stash.get(named_clauses_key, {}))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Reject unknown clause ids; skip tests whose clauses are all about other Airflow versions; fail
    those the absent feature cannot run; turn declared divergences into strict expected failures."""
    if item.get_closest_marker("doc_example") and doc_example(item) is None:
        pytest.fail(
            f"{item.nodeid}: mark it doc_example(id, text), two strings: the example's id and the doc's literal text",
            pytrace=False,
        )
    ids = clause_ids(item)
    if not ids:
        return
    known = load_clauses()
    if unknown := [clause for clause in ids if clause not in known]:
        pytest.fail(f"{item.nodeid} names clauses missing from clauses.yaml: {', '.join(unknown)}", pytrace=False)
    if unknown := unknown_cases(item, load_cases()):
        pytest.fail(f"{item.nodeid} marks cases missing from fixtures/cases.json: {', '.join(unknown)}", pytrace=False)
    info = session_info(item.config)
    version = info.airflow_version
    reason = why_not_applicable([known[clause] for clause in ids], version)
    case = load_cases().get(case_of(item) or "")
    if (
        reason is None and case is not None and not applicable_cases([case], version)
    ):  # e.g. a stream check on a loop case
        reason = f"case {case.id}: " + str(why_not_applicable([known[clause] for clause in case.clauses], version))
    if reason:
        item.user_properties.append((NOT_APPLICABLE, reason))
        pytest.skip(reason)
    applicable = [clause for clause in ids if known[clause].applies_to(version)]
    if info.feature_absent and (needing := [clause for clause in applicable if known[clause].needs_feature]):
        item.user_properties.append((FEATURE_ABSENT, info.feature_absent))
        verb = "needs" if len(needing) == 1 else "need"
        pytest.fail(
            f"DAG Result feature absent in Airflow {version}, which {', '.join(needing)} {verb}: {info.feature_absent}",
            pytrace=False,
        )
    reasons = divergences_for(version, info.database, case=case_of(item))
    if diverging := [clause for clause in ids if clause in reasons]:
        reason = "; ".join(f"{clause}: {reasons[clause]}" for clause in diverging)
        item.add_marker(
            pytest.mark.xfail(
                reason=f"known divergence of Airflow {version}: {reason}", strict=True, raises=AssertionError
            )
        )
        patterns = failure_patterns_for(version, info.database, case=case_of(item))
        item.stash[pinned_failures_key] = [pattern for clause in diverging for pattern in patterns[clause]]


pinned_failures_key = pytest.StashKey[list]()  # an item's declared failures, None for an unpinned one


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """A declared divergence that failed otherwise than pinned becomes a failure; a
    FeatureAbsent (a case whose DAG cannot load here) a one-line failure; a failure on a version
    never measured that the nearest measured one declares gets a note. Then, on the outcome as
    decided here, the evidence, notes and reproduction are attached (pytest_fixtures.attach_to_report):
    one wrapper, so that the order the two modules were registered in cannot change the result."""
    report = yield
    if call.when == "call" and hasattr(report, "wasxfail") and report.skipped and call.excinfo is not None:
        message = str(call.excinfo.value)
        if not failed_as_declared(message, item.stash.get(pinned_failures_key, [None])):
            # not the declared divergence: some other wrong behaviour, judged as the failure it is
            del report.wasxfail
            report.outcome = "failed"
            pinned = " or ".join(repr(p) for p in item.stash[pinned_failures_key] if p)
            first = message.strip().split("\n")[0][:300]
            report.longrepr = f"fails otherwise than its declared divergence (a failure matching {pinned}): {first}"
    if call.excinfo is not None and call.excinfo.errisinstance(FeatureAbsent) and report.failed:
        info = session_info(item.config)
        report.longrepr = (
            f"DAG Result feature absent in Airflow {info.airflow_version}: {call.excinfo.value} ({info.feature_absent})"
        )
        report.user_properties.append((FEATURE_ABSENT, info.feature_absent))
        # junit.xml takes a test's properties from its teardown report, which copies the item's
        item.user_properties.append((FEATURE_ABSENT, info.feature_absent))
    elif (
        call.when == "call"
        and report.failed
        and call.excinfo is not None
        and clause_ids(item)
        and not any(name == FEATURE_ABSENT for name, _ in report.user_properties)
    ):
        note_same_as_declared(item, str(call.excinfo.value))
    fixtures.attach_to_report(item, call, report)
    return report


def note_same_as_declared(item: pytest.Item, message: str) -> None:
    """On a version the suite never measured, note each clause of this failed test that the
    nearest measured version declares a divergence for that this failure matches."""
    info = session_info(item.config)
    known = load_clauses()
    applying = [
        clause for clause in clause_ids(item) if clause in known and known[clause].applies_to(info.airflow_version)
    ]
    detail = "failed: " + (message.strip().split("\n")[0][:300] or "(no message)")
    for note in unmeasured.same_as_declared(info.airflow_version, info.database, case_of(item), applying, message):
        evidence_of(item).note(note, detail)
