"""The timing verdict: when a failing check is a verdict and when it is measured again."""

from pathlib import Path

import attrs
import pytest

from conformance.live import timing
from conformance.report.evidence import Evidence
from conformance.wire import timing_checks
from conformance.wire.probe import CONTROL_LIMIT, LAG_LIMIT, Health, Sample
from conformance.wire.stream import Line, Transcript

SENT = 1_000_000.0


def stream(gaps: list[float], case_id: str = "slow-cadence-gzip", extra_terminal: bool = False) -> Transcript:
    """A stream whose poll lines are ``gaps`` apart, then a terminal line half a second later."""
    arrivals, at = [0.05], 0.05
    for gap in gaps:
        at += gap
        arrivals.append(at)
    at += 0.5
    arrivals.append(at)
    raws = ['{"state": "running"}\n'] * (len(arrivals) - 1) + ['{"state": "success"}\n']
    if extra_terminal:
        arrivals.append(at + 0.001)
        raws.append('{"state": "success"}\n')
    return Transcript(
        case_id=case_id,
        path="/wait",
        query=[["interval", "2"]],
        request_headers={},
        sent_at=SENT,
        status=200,
        lines=[Line(raw, t) for raw, t in zip(raws, arrivals)],
    )


def healthy(seconds: float = 30.0, control: float = 0.02, lag: float = 0.001) -> Health:
    return Health.of(
        Sample(started=SENT + t, ended=SENT + t + 0.5 + control, lag_s=lag, control_s=control)
        for t in [i * 0.5 for i in range(int(seconds * 2))]
    )


CADENCE = timing_checks.cadence(2.0)


def cadence(transcript: Transcript) -> list[str]:
    return timing_checks.cadence_problems(transcript, interval=2.0)


def never_called(number: int):
    raise AssertionError(f"re-measure {number} was not expected")


def test_a_quiet_window_makes_a_failure_a_verdict_at_once():
    first = timing.measure(0, stream([4.0, 4.0, 4.0]), healthy(), CADENCE)
    verdict = timing.judge(first, CADENCE, never_called)
    assert verdict.problems and len(verdict.measurements) == 1
    assert "undisturbed" in verdict.reason


def test_a_disturbed_failure_is_measured_again_and_the_quiet_pass_kept():
    first = timing.measure(0, stream([6.0, 5.5, 6.3]), healthy(control=CONTROL_LIMIT + 3), CADENCE)
    verdict = timing.judge(first, CADENCE, lambda number: (stream([2.0, 2.0, 2.0]), healthy()))
    assert verdict.problems == []
    assert [m.number for m in verdict.measurements] == [0, 1]
    assert verdict.measurements[0].disturbances and not verdict.measurements[1].disturbances


def test_a_server_that_stalls_itself_every_time_fails_at_the_bound():
    sick = healthy(control=CONTROL_LIMIT + 2)
    first = timing.measure(0, stream([6.0, 6.0, 6.0]), sick, CADENCE)
    verdict = timing.judge(first, CADENCE, lambda number: (stream([6.0, 6.0, 6.0]), sick))
    assert verdict.problems
    assert len(verdict.measurements) == 1 + timing.MAX_REMEASURES
    assert "every one of 3 windows was disturbed" in verdict.reason


def test_a_disturbed_pass_of_a_lower_bound_is_not_trusted():
    """Polling too often can hide behind a stall that stretches every gap."""
    first = timing.measure(0, stream([2.5, 2.5, 2.5]), healthy(lag=LAG_LIMIT + 1), CADENCE)
    verdict = timing.judge(first, CADENCE, lambda number: (stream([0.5, 0.5, 0.5]), healthy()))
    assert verdict.problems and len(verdict.measurements) == 2


def test_a_disturbed_pass_of_an_upper_bound_stands():
    early = timing_checks.first_line(5.0)
    first = timing.measure(0, stream([5.0, 5.0]), healthy(lag=LAG_LIMIT + 1), early)
    verdict = timing.judge(first, early, never_called)
    assert verdict.problems == [] and len(verdict.measurements) == 1


def test_every_measurement_reaches_the_evidence_with_why_it_was_kept_or_not():
    first = timing.measure(0, stream([6.0, 6.0, 6.0]), healthy(control=CONTROL_LIMIT + 3), CADENCE)
    verdict = timing.judge(first, CADENCE, lambda number: (stream([2.0, 2.0, 2.0]), healthy()))
    evidence = Evidence()
    timing.record(evidence, verdict)
    marks = [item["measurement"] for item in evidence.items]
    assert [(m["number"], m["kept"]) for m in marks] == [(0, False), (1, True)]
    assert marks[0]["reason"].startswith("discarded: the gaps out of bounds ([6.0, 6.0, 6.0] s) all overlapped a stall")
    assert marks[1]["health"]["samples"] > 0


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        ([], "no sample"),
        ([Sample(SENT, SENT + 0.6, lag_s=LAG_LIMIT + 0.5, control_s=0.01)], "woke up"),
        ([Sample(SENT, SENT + 0.6, lag_s=0.0, control_s=None, error="ReadTimeout")], "failed"),
        ([Sample(SENT, SENT + 2.0, lag_s=0.0, control_s=CONTROL_LIMIT + 0.5)], "control requests took"),
        ([Sample(SENT, SENT + 0.6, 0.0, 0.01), Sample(SENT + 5, SENT + 5.6, 0.0, 0.01)], "held up"),
    ],
)
def test_each_kind_of_disturbance_is_named(samples, expected):
    reasons = Health.of(samples).disturbances(SENT, SENT + 6)
    assert any(expected in reason for reason in reasons), reasons


def test_a_quiet_probe_sees_no_disturbance():
    assert healthy().disturbances(SENT + 1, SENT + 10) == []


def test_cadence_ignores_what_follows_the_first_terminal_line():
    """A repeated terminal line is a framing fault, not a cadence one."""
    assert cadence(stream([2.0, 2.0, 2.0], extra_terminal=True)) == []
    assert timing_checks.gaps(stream([2.0, 2.1], extra_terminal=True)) == pytest.approx([2.0, 2.1])


def test_a_late_terminal_line_is_not_a_cadence_fault():
    """When the terminal line comes is STREAM-LATENCY-1's to judge."""
    on_time = stream([2.0, 2.0, 2.0])
    terminal = on_time.lines[-1]
    late = attrs.evolve(on_time, lines=[*on_time.lines[:-1], Line(terminal.raw, terminal.at + 4.0)])
    assert cadence(late) == []


def test_health_survives_the_session_folder(tmp_path):
    health = healthy(2.0)
    health.save(tmp_path / "health.json")
    assert Health.load(tmp_path / "health.json") == health
    assert Health.load(tmp_path / "absent.json") == Health(())


def stalled_between(start: float, end: float, seconds: float = 30.0) -> Health:
    """Healthy but for slow control requests from ``start`` to ``end`` s after sending."""
    return Health.of(
        Sample(started=SENT + t, ended=SENT + t + 0.52, lag_s=0.001, control_s=5.0 if start <= t <= end else 0.02)
        for t in [i * 0.5 for i in range(int(seconds * 2))]
    )


def test_a_long_gap_a_stall_overlapped_is_measured_again():
    """The session's stall or the server's own? Only a quiet re-measure can tell."""
    first = timing.measure(0, stream([7.3, 2.05, 2.03, 2.0, 2.03]), stalled_between(0.0, 6.0), CADENCE)
    assert first.problems and first.disturbances[0].startswith(
        "the gaps out of bounds ([7.3] s) all overlapped a stall"
    )
    verdict = timing.judge(first, CADENCE, lambda number: (stream([2.0, 2.0, 2.0]), healthy()))
    assert verdict.problems == [] and len(verdict.measurements) == 2


def test_a_pass_with_enough_quiet_gaps_stands_beside_a_stalled_one_in_bounds():
    first = timing.measure(0, stream([3.5, 2.05, 2.03, 2.0]), stalled_between(0.0, 3.0), CADENCE)
    assert first.problems == [] and first.disturbances == []


def test_a_quiet_gap_over_the_bound_is_a_cadence_failure():
    transcript = stream([2.0, 2.0, 5.0, 2.0])
    first = timing.measure(0, transcript, healthy(), CADENCE)
    assert first.disturbances == [] and "longest gap is 5.00 s" in first.problems[0]


def test_latency_is_judged_on_the_end_of_the_run_only():
    transcript = attrs.evolve(stream([2.0, 2.0, 2.0, 2.0]), run={"end_date": "1970-01-12T13:46:48.3+00:00"})
    start, end = timing_checks.terminal_window(transcript, interval=2.0)
    assert (round(start - SENT, 2), round(end - SENT, 2)) == (6.3, 8.55)
    check = timing_checks.latency(2.0)
    assert check.disturbances(transcript, stalled_between(0.0, 4.0)) == []
    assert check.disturbances(transcript, stalled_between(7.0, 8.0)) != []


@pytest.fixture
def re_measuring(tmp_path, monkeypatch):
    """A session on slow_run with no Airflow behind it, and the fresh runs asked for (run id, case ids)."""
    from conformance.live.session_record import SessionInfo

    (tmp_path / "transcripts").mkdir()
    session = SessionInfo(
        target="fake",
        base_url="http://unused.invalid",
        token="t",
        description="",
        database="sqlite",
        airflow_version="3.3.2",
        run_ids={"slow_run": "conformance-x"},
        server_errors=[],
        folder=str(tmp_path),
    )
    calls = []

    def fresh_measurements(base_url, token, cases, run_id):
        calls.append((run_id, [case.id for case in cases]))
        return [(stream([2.0, 2.0, 2.0], case_id=case.id), healthy()) for case in cases]

    monkeypatch.setattr(timing, "fresh_measurements", fresh_measurements)
    monkeypatch.setattr(timing, "_rounds", {})
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    return session, calls


def test_a_re_measure_round_is_one_fresh_run_per_dag_shared_by_its_cases(re_measuring):
    from conformance.catalog.cases import load_cases

    session, calls = re_measuring
    for case_id in ("slow-cadence-gzip", "slow-cadence-identity", "slow-first-line", "dag-return"):
        (Path(session.folder) / "transcripts" / f"{case_id}.json").write_text("{}")
    cases = load_cases()
    gzip = timing.fresh_round(session, cases["slow-cadence-gzip"], 1)
    identity = timing.fresh_round(session, cases["slow-cadence-identity"], 1)
    assert (gzip[0].case_id, identity[0].case_id) == ("slow-cadence-gzip", "slow-cadence-identity")
    assert len(calls) == 1, "the second case's re-measure 1 is the stream made beside the first's"
    run_id, streamed = calls[0]
    assert run_id == "conformance-x-again1-slow_run"
    assert sorted(streamed) == ["slow-cadence-gzip", "slow-cadence-identity", "slow-first-line"], (
        "every case the session streamed on slow_run, no other"
    )
    timing.fresh_round(session, cases["slow-cadence-gzip"], 2)
    assert [call[0] for call in calls] == ["conformance-x-again1-slow_run", "conformance-x-again2-slow_run"], (
        "round 2 is a run of its own"
    )


def test_each_xdist_worker_makes_its_own_re_measure_run(re_measuring, monkeypatch):
    from conformance.catalog.cases import load_cases

    session, calls = re_measuring
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    timing.fresh_round(session, load_cases()["slow-cadence-gzip"], 1)
    assert [call[0] for call in calls] == ["conformance-x-again1-slow_run-gw1"], (
        "another worker's run of the same round would be a 409"
    )
