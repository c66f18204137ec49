"""Properties every /wait stream must have: framing, one terminal line, results only there."""

import statistics

import pytest

from conformance.cases import applicable_cases, load_cases
from conformance.checks import framing_problems, poll_line_problems, terminal_problems
from conformance.session import FeatureAbsent

CASE_IDS = list(load_cases())
# A busy sqlite api-server can hold one poll for its 5 s lock wait, so a single case may be
# late by that much; the median over all cases must stay within one interval.
STALL_ALLOWANCE = 8.0
CLOCK_ALLOWANCE = 3.0  # the run's end_date comes from the server's clock, arrival from ours
TYPICAL_EXCESS = 0.25
# sqlite standalone now and then stalls the api-server's polls for half a minute: gaps of 3-6 s
# at interval 2, the shortest 2.9-3.4 s (3 of ~40 looped runs; cause not found). A server that
# polls at twice the interval still fails (the slow-poll-interval mutant).
CADENCE_STALL = 1.75


def finished(transcript):
    assert transcript.error is None, transcript.error
    assert transcript.status == 200, f"HTTP {transcript.status}: {transcript.body[:300]}"
    return transcript


@pytest.mark.clause("STREAM-NDJSON-1")
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_every_line_is_a_newline_terminated_valid_object(case_id, airflow_session, evidence):
    transcript = finished(evidence.transcript(airflow_session.transcript(case_id)))
    problems = framing_problems([line.raw for line in transcript.lines])
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
def test_content_type_is_ndjson(airflow_session, evidence):
    transcript = finished(evidence.transcript(airflow_session.transcript("dag-return")))
    content_type = transcript.header("content-type")
    evidence.compare(expected="application/x-ndjson", actual=content_type, label="the Content-Type header")
    assert content_type is not None, f"no Content-Type; headers: {dict(transcript.headers)}"
    assert content_type.split(";")[0].strip() == "application/x-ndjson"


@pytest.mark.clause("STREAM-FIRST-LINE-1")
def test_first_line_comes_at_once(airflow_session, evidence):
    transcript = finished(evidence.transcript(airflow_session.transcript("slow-first-line")))
    interval = 5.0
    first = transcript.lines[0].at if transcript.lines else float("nan")
    evidence.compare(expected=f"at least 2 lines, the first within {interval / 2:g} s", actual=f"{len(transcript.lines)} lines, the first after {first:.3f} s")
    assert len(transcript.lines) >= 2, "the run had finished before the stream began; the check proves nothing"
    assert transcript.lines[0].at < interval / 2, f"first line after {transcript.lines[0].at:.2f} s at interval {interval}"


@pytest.mark.clause("STREAM-CADENCE-1")
@pytest.mark.parametrize("case_id", ["slow-cadence-gzip", "slow-cadence-identity"])
def test_lines_come_about_every_interval(case_id, airflow_session, evidence):
    transcript = finished(evidence.transcript(airflow_session.transcript(case_id)))
    interval = 2.0
    arrivals = [line.at for line in transcript.lines]
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:])]
    encoding = transcript.header("content-encoding") or "identity"
    evidence.compare(
        expected=f"at least 3 gaps, the shortest between {0.75 * interval:g} and {interval + CADENCE_STALL:g} s",
        actual={"gaps (s)": [round(gap, 3) for gap in gaps], "content-encoding": encoding},
    )
    assert len(gaps) >= 3, f"only {len(transcript.lines)} lines; the run was too short to show a cadence"
    # A busy server (sqlite under a burst of writes) stalls polls, which only ever lengthens a
    # gap; so the shortest gap tells the cadence: never well under the interval, and at least
    # one gap near it (a server polling at twice the interval or slower has none).
    assert 0.75 * interval <= min(gaps) <= interval + CADENCE_STALL, f"gaps ({encoding}): {gaps}"


@pytest.mark.clause("STREAM-LATENCY-1")
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_terminal_line_follows_run_end_within_an_interval(case_id, airflow_session, evidence):
    lateness, interval = measured_lateness(airflow_session, case_id, evidence)
    evidence.compare(
        expected=f"the terminal line between {-CLOCK_ALLOWANCE:g} and {interval + STALL_ALLOWANCE:g} s after the run's end_date",
        actual=f"{lateness:.3f} s after the end_date",
    )
    assert lateness <= interval + STALL_ALLOWANCE, f"terminal line {lateness:.2f} s after the run ended (interval {interval})"
    assert lateness >= -CLOCK_ALLOWANCE, f"terminal line {-lateness:.2f} s before the run's end_date"


@pytest.mark.clause("STREAM-LATENCY-1")
def test_terminal_lines_come_within_an_interval_typically(airflow_session, evidence):
    """The per-case bound tolerates stalls; the median catches a server that is late every time.

    A server that notices the end on its next poll is late by about half an interval on average;
    one that waits an extra interval before the terminal line is late by more than one.
    """
    excess, streamed = {}, 0
    for case_id in (case.id for case in applicable_cases(load_cases().values(), airflow_session.airflow_version)):
        try:
            lateness, interval = measured_lateness(airflow_session, case_id)
        except FeatureAbsent:  # an Airflow without the feature cannot run this case's DAG
            continue
        except pytest.skip.Exception:
            streamed += 1
            continue
        streamed += 1
        excess[case_id] = round(lateness - interval, 3)
    evidence.compare(expected=f"median lateness beyond one interval <= {TYPICAL_EXCESS} s", actual=excess)
    assert len(excess) >= streamed // 2, f"only {len(excess)} of {streamed} cases could be measured"
    assert statistics.median(excess.values()) <= TYPICAL_EXCESS, f"lateness beyond one interval, by case: {excess}"


def measured_lateness(airflow_session, case_id: str, evidence=None) -> tuple[float, float]:
    """Seconds from the run's end_date to the terminal line's arrival, and the case's interval."""
    transcript = airflow_session.transcript(case_id)
    transcript = finished(evidence.transcript(transcript) if evidence else transcript)
    interval = load_cases()[case_id].interval
    if interval is None:
        pytest.skip("the case sends no interval, so there is no bound to check")
    if transcript.lines[-1].at < 1.0 and len(transcript.lines) == 1:
        pytest.skip("the run had ended before the stream began; the check measures nothing here")
    return transcript.terminal_lateness(), interval
