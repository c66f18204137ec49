"""Properties every /wait stream must have: framing, one terminal line, results only there."""

import pytest

from conformance.catalog.cases import Case, applicable_cases, load_cases
from conformance.live import timing
from conformance.live.session_record import FeatureAbsent
from conformance.suite.helpers import finished
from conformance.wire import notes, timing_checks
from conformance.wire.checks import framing_problems, poll_line_problems, terminal_problems, unknown_keys

CASE_IDS = list(load_cases())
CADENCE_CASES = ["slow-cadence-gzip", "slow-cadence-identity"]


@pytest.mark.clause("STREAM-NDJSON-1")
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_every_line_is_a_newline_terminated_valid_object(case_id, airflow_session, evidence):
    transcript = finished(evidence.transcript(airflow_session.transcript(case_id)))
    raw_lines = [line.raw for line in transcript.lines]
    for key, numbers in unknown_keys(raw_lines).items():  # allowed, and worth telling
        evidence.note(
            notes.unknown_key(key, "STREAM-NDJSON-1"), f"case {case_id}: {len(numbers)} of {len(raw_lines)} lines"
        )
    problems = framing_problems(raw_lines)
    assert problems == [], "; ".join(problems)


@pytest.mark.clause("STREAM-TERMINAL-1")
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_exactly_one_terminal_line_and_it_is_last(case_id, airflow_session, evidence):
    transcript = finished(evidence.transcript(airflow_session.transcript(case_id)))
    problems = terminal_problems([line.raw for line in transcript.lines], transcript.run["state"])
    assert problems == [], "; ".join(problems)


@pytest.mark.clause("STREAM-RESULTS-TERMINAL-1")
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_results_only_on_the_terminal_line(case_id, airflow_session, evidence):
    transcript = finished(evidence.transcript(airflow_session.transcript(case_id)))
    problems = poll_line_problems([line.raw for line in transcript.lines])
    assert problems == [], "; ".join(problems)


@pytest.mark.clause("STREAM-CONTENT-TYPE-1")
@pytest.mark.cases("dag-return")
def test_content_type_is_ndjson(airflow_session, evidence):
    transcript = finished(evidence.transcript(airflow_session.transcript("dag-return")))
    content_type = transcript.header("content-type")
    evidence.compare(expected="application/x-ndjson", actual=content_type, label="the Content-Type header")
    assert content_type is not None, f"no Content-Type; headers: {dict(transcript.headers)}"
    assert content_type.split(";")[0].strip() == "application/x-ndjson"


@pytest.mark.clause("STREAM-FIRST-LINE-1")
@pytest.mark.cases("slow-first-line")
def test_first_line_comes_at_once(airflow_session, evidence):
    case = load_cases()["slow-first-line"]
    finished(airflow_session.transcript(case.id))
    verdict = timing.verdict_for(airflow_session, case, timing_checks.first_line(case.interval))
    timing.record(evidence, verdict)
    evidence.compare(expected=f"at least 2 lines, the first within {case.interval / 2:g} s", actual=verdict.message())
    assert verdict.problems == [], verdict.message()


@pytest.mark.clause("STREAM-CADENCE-1")
@pytest.mark.parametrize("case_id", CADENCE_CASES)
def test_lines_come_about_every_interval(case_id, airflow_session, evidence):
    case = load_cases()[case_id]
    finished(airflow_session.transcript(case.id))
    verdict = timing.verdict_for(airflow_session, case, timing_checks.cadence(case.interval))
    timing.record(evidence, verdict)
    kept = verdict.measurements[-1].transcript
    evidence.compare(
        expected=f"at least {timing_checks.MIN_GAPS} gaps, each between {timing_checks.CADENCE_FLOOR * case.interval:g} and {case.interval + timing_checks.CADENCE_STALL:g} s",
        actual={
            "gaps (s)": [round(gap, 3) for gap in timing_checks.gaps(kept)],
            "content-encoding": kept.header("content-encoding") or "identity",
            "verdict": verdict.message(),
        },
    )
    assert verdict.problems == [], verdict.message()


@pytest.mark.clause("STREAM-LATENCY-1")
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_terminal_line_follows_run_end_within_an_interval(case_id, airflow_session, evidence):
    case = load_cases()[case_id]
    measurable(airflow_session, case)
    verdict = timing.verdict_for(airflow_session, case, timing_checks.latency(case.interval))
    timing.record(evidence, verdict)
    evidence.compare(
        expected=f"the terminal line between {-timing_checks.CLOCK_ALLOWANCE:g} and {case.interval + timing_checks.STALL_ALLOWANCE:g} s after the run's end_date",
        actual=f"{timing_checks.lateness(verdict.measurements[-1].transcript):.3f} s after the end_date ({verdict.reason})",
    )
    assert verdict.problems == [], verdict.message()


@pytest.mark.clause("STREAM-LATENCY-1")
@pytest.mark.cases(all=True)  # the median over every stream
def test_terminal_lines_come_within_an_interval_typically(airflow_session, evidence):
    """The per-case bound tolerates stalls; the median catches a server that is late every time.

    A server that notices the end on its next poll is late by about half an interval on average;
    one that waits an extra interval before the terminal line is late by more than one.
    """
    measured, streamed = [], 0
    for case in applicable_cases(load_cases().values(), airflow_session.airflow_version):
        try:
            transcript = finished(airflow_session.transcript(case.id))
        except FeatureAbsent:  # an Airflow without the feature cannot run this case's DAG
            continue
        if case.interval is None or not timing_checks.ended_with_terminal_line(transcript):
            continue  # no bound to check, or no terminal line (STREAM-TERMINAL-1's to judge)
        streamed += 1
        if unmeasurable(transcript) is None:
            measured.append((case, transcript))
    if not measured and not streamed:
        pytest.skip("no stream ended with a terminal line, so there is no lateness to measure")
    assert len(measured) >= streamed // 2, f"only {len(measured)} of {streamed} cases could be measured"
    typical = timing.typical_verdict(airflow_session, measured)
    for entry in typical.rounds:
        evidence.measurement(**entry)
    evidence.compare(
        expected=f"median lateness beyond one interval <= {timing_checks.TYPICAL_EXCESS} s", actual=typical.excess
    )
    assert typical.problems == [], f"{'; '.join(typical.problems)}; by case: {typical.excess}"


def measurable(airflow_session, case: Case):
    """The session's stream of ``case`` if its lateness means something; skips the test if not."""
    transcript = finished(airflow_session.transcript(case.id))
    if case.interval is None:
        pytest.skip("the case sends no interval, so there is no bound to check")
    if not timing_checks.ended_with_terminal_line(transcript):
        pytest.skip("the stream has no terminal line (STREAM-TERMINAL-1's to judge), so no lateness to measure")
    if reason := unmeasurable(transcript):
        pytest.skip(reason)
    return transcript


def unmeasurable(transcript) -> str | None:
    """Why a stream with a terminal line says nothing about lateness, or None when it does."""
    if transcript.lines[-1].at < 1.0 and len(transcript.lines) == 1:
        return "the run had ended before the stream began; the check measures nothing here"
    return None
