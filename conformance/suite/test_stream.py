"""Properties every /wait stream must have: framing, one terminal line, results only there."""

from datetime import datetime

import pytest

from conformance.cases import load_cases
from conformance.checks import framing_problems, poll_line_problems, terminal_problems

CASE_IDS = list(load_cases())
LATENCY_MARGIN = 3.0  # seconds on top of one interval: query time, a stalled poll, clock skew


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
    transcript = finished(evidence.transcript(airflow_session.transcript("result-decorator")))
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
        expected=f"at least 3 gaps, the shortest between {0.75 * interval:g} and {interval + 0.75:g} s",
        actual={"gaps (s)": [round(gap, 3) for gap in gaps], "content-encoding": encoding},
    )
    assert len(gaps) >= 3, f"only {len(transcript.lines)} lines; the run was too short to show a cadence"
    # A busy server (sqlite under a burst of writes) stalls polls, which only ever lengthens a
    # gap; so the shortest gap tells the cadence: never well under the interval, and at least
    # one gap near it (a server polling slower than asked has none).
    assert 0.75 * interval <= min(gaps) <= interval + 0.75, f"gaps ({encoding}): {gaps}"


@pytest.mark.clause("STREAM-LATENCY-1")
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_terminal_line_follows_run_end_within_an_interval(case_id, airflow_session, evidence):
    transcript = finished(evidence.transcript(airflow_session.transcript(case_id)))
    interval = load_cases()[case_id].interval
    if interval is None:
        pytest.skip("the case sends no interval, so there is no bound to check")
    ended = datetime.fromisoformat(transcript.run["end_date"].replace("Z", "+00:00")).timestamp()
    arrived = transcript.sent_at + transcript.lines[-1].at
    if transcript.lines[-1].at < 1.0 and len(transcript.lines) == 1:
        pytest.skip("the run had ended before the stream began; the check measures nothing here")
    evidence.compare(
        expected=f"the terminal line between {-LATENCY_MARGIN:g} and {interval + LATENCY_MARGIN:g} s after the run's end_date",
        actual=f"{arrived - ended:.3f} s after the end_date {transcript.run['end_date']}",
    )
    assert arrived - ended <= interval + LATENCY_MARGIN, f"terminal line {arrived - ended:.2f} s after the run ended"
    assert arrived - ended >= -LATENCY_MARGIN, f"terminal line {ended - arrived:.2f} s before the run's end_date"
