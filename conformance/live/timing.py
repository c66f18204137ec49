"""Timing verdicts that tell a busy machine from a wrong server.

A timing clause (first line, cadence, latency) is judged on a measurement *and* the health of
its window (:mod:`conformance.wire.probe`). The rule, per measurement, in order:

1. The check passes and the kind of check cannot be flattered by a stall (``pass_is_sound``:
   a stall only makes lines later, so an upper bound that holds under one holds without it):
   **pass**.
2. The part of the window the check depends on was undisturbed (:class:`TimingCheck`: the
   run's end for latency; for cadence, enough single gaps the probe saw quiet): the check's
   answer is the verdict, pass or **fail**. One stream off its interval while the probe saw a
   healthy server is the server's doing.
3. Otherwise the measurement is discarded and the case is **measured again** on a fresh run
   and stream of its own, probed the same way, at most :data:`MAX_REMEASURES` times. When every
   window was disturbed, the last measurement is judged as it is, and the verdict says so.

A machine that was busy during the session's burst of 35 streams is quiet on a lone
re-measure. A server whose stream stalls now and then while the rest of it answers promptly
fails at once; one that stalls as a whole, control requests included, is disturbed in every
window and fails at the bound. No bound is widened: a re-measure is judged by the same
check. Every measurement, kept or discarded and why, goes into the test's evidence under
``measurement`` (``schemas/report.schema.json``), which the soak counts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from conformance import settings
from conformance.catalog.cases import Case, load_cases
from conformance.live.airflow_api import AirflowClient
from conformance.live.session_record import SessionInfo
from conformance.wire.probe import Health, watch
from conformance.wire.stream import Transcript, record_case
from conformance.wire.timing_checks import TimingCheck, latency, lateness, stream_window, typical_problems

MAX_REMEASURES = 2
TYPICAL_SAMPLE = 6  # cases re-measured together when the median's session windows were disturbed
TYPICAL_QUORUM = 4  # undisturbed cases needed for a median to be judged


@attrs.frozen
class Measurement:
    """One transcript of a case, what the check found in it, and the health of its window."""

    number: int  # 0: the session's own stream; 1, 2: re-measures
    transcript: Transcript
    problems: list[str]
    disturbances: list[str]
    health: dict[str, Any]


@attrs.frozen
class Verdict:
    problems: list[str]  # empty: the clause holds
    measurements: list[Measurement]
    reason: str  # why the last measurement is the one judged

    def message(self) -> str:
        return f"{'; '.join(self.problems)} ({self.reason})" if self.problems else self.reason


def measure(number: int, transcript: Transcript, health: Health, check: TimingCheck) -> Measurement:
    return Measurement(
        number,
        transcript,
        check.problems(transcript, health),
        check.disturbances(transcript, health),
        health.summary(*check.window(transcript)),
    )


def judge(first: Measurement, check: TimingCheck, remeasure: Callable[[int], tuple[Transcript, Health]]) -> Verdict:
    """The verdict on a timing check, re-measuring while a disturbed window leaves it open."""
    measurements = [first]
    while True:
        current = measurements[-1]
        if not current.problems and check.pass_is_sound:
            return Verdict([], measurements, _reason(current, "passed; a stall could only have made it later"))
        if not current.disturbances:
            return Verdict(current.problems, measurements, _reason(current, "judged in an undisturbed window"))
        if current.number >= MAX_REMEASURES:
            return Verdict(
                current.problems,
                measurements,
                _reason(
                    current, f"every one of {len(measurements)} windows was disturbed; the last is judged as it is"
                ),
            )
        transcript, health = remeasure(current.number + 1)
        measurements.append(measure(current.number + 1, transcript, health, check))


def _reason(measurement: Measurement, why: str) -> str:
    where = "the session's stream" if measurement.number == 0 else f"re-measure {measurement.number}"
    return f"{where}: {why}"


def record(evidence: Any, verdict: Verdict) -> None:
    """Every measurement into the test's evidence: its stream, and whether it was kept and why."""
    kept = verdict.measurements[-1]
    for measurement in verdict.measurements:
        evidence.transcript(
            measurement.transcript, label=f"measurement {measurement.number} of case {measurement.transcript.case_id}"
        )
        evidence.measurement(
            number=measurement.number,
            kept=measurement is kept,
            reason=verdict.reason if measurement is kept else "discarded: " + "; ".join(measurement.disturbances),
            disturbances=measurement.disturbances,
            problems=measurement.problems,
            health=measurement.health,
        )


def fresh_measurements(
    base_url: str, token: str, cases: Sequence[Case], run_id: str
) -> list[tuple[Transcript, Health]]:
    """Fresh runs of several cases at once (a handful: the point is a quiet window), one probe for all."""
    return asyncio.run(_fresh_many(base_url, token, list(cases), run_id))


async def _fresh_many(base_url: str, token: str, cases: list[Case], run_id: str) -> list[tuple[Transcript, Health]]:
    async with AirflowClient(base_url, token) as client:
        for dag_id in dict.fromkeys(case.dag_id for case in cases):
            await client.trigger(dag_id, run_id)
        samples: list = []
        watcher = asyncio.create_task(watch(client.http, f"/api/v2/dags/{cases[0].dag_id}/dagRuns/{run_id}", samples))
        try:
            transcripts = await asyncio.gather(*(record_case(client.http, case, run_id) for case in cases))
        finally:
            watcher.cancel()
        runs = {dag_id: await client.dag_run(dag_id, run_id) for dag_id in dict.fromkeys(c.dag_id for c in cases)}
    health = Health.of(samples)
    return [(attrs.evolve(t, run=runs[case.dag_id]), health) for t, case in zip(transcripts, cases)]


def remeasure_run_id(session: SessionInfo, number: int, tag: str) -> str:
    """A run id of its own for a re-measure, traceable to the session's runs."""
    return f"{next(iter(session.run_ids.values()))}-again{number}-{tag}"[:250]


# Re-measure rounds of this process, by run id: case id -> its fresh stream and the round's health.
_rounds: dict[str, dict[str, tuple[Transcript, Health]]] = {}


def fresh_round(session: SessionInfo, case: Case, number: int) -> tuple[Transcript, Health]:
    """Re-measure ``number`` of ``case``: one fresh run of its DAG, a stream for every case the
    session streamed on that DAG, made once per process and shared by the tests that need it.

    The cadence and first-line cases share ``slow_run``, and a busy machine disturbs their
    session windows together: each made a 10 s run of its own, one after the other (+24 s to a
    soak run, measured); one run streamed three ways costs one. As in the session, the streams
    share the run and the probe.
    """
    # xdist workers (``-n``) keep rounds of their own, so each makes its own run
    run_id = remeasure_run_id(session, number, "-".join(filter(None, (case.dag_id, settings.read().xdist_worker))))
    if run_id not in _rounds:
        together = [
            other for other in load_cases().values() if other.dag_id == case.dag_id and session.streamed(other.id)
        ]
        together = together if case in together else [case, *together]
        fresh = fresh_measurements(session.base_url, session.token, together, run_id)
        _rounds[run_id] = {other.id: measured for other, measured in zip(together, fresh)}
    return _rounds[run_id][case.id]


def verdict_for(session: SessionInfo, case: Case, check: TimingCheck) -> Verdict:
    """Judge ``check`` on the session's stream of ``case``, re-measuring on fresh runs if need be."""
    first = measure(0, session.transcript(case.id), session.health(), check)
    return judge(first, check, lambda number: fresh_round(session, case, number))


@attrs.frozen
class Typical:
    """The median lateness judgement: the excess per case it rests on, and each round's story."""

    problems: list[str]
    excess: dict[str, float]
    rounds: list[dict[str, Any]]


def _excess(pairs: Sequence[tuple[Case, Transcript, Health]]) -> tuple[dict[str, float], dict[str, list[str]]]:
    excess, disturbed = {}, {}
    for case, transcript, health in pairs:
        excess[case.id] = round(lateness(transcript) - (case.interval or 0.0), 3)
        if reasons := latency(case.interval or 0.0).disturbances(transcript, health):
            disturbed[case.id] = reasons
    return excess, disturbed


def _round(
    number: int,
    excess: dict[str, float],
    disturbed: dict[str, list[str]],
    health: Health,
    transcripts: Sequence[Transcript],
    kept: bool,
    reason: str,
) -> dict[str, Any]:
    """One round of the median's measurements, in the shape of a measurement's evidence."""
    windows = [stream_window(transcript) for transcript in transcripts]
    span = (min(w[0] for w in windows), max(w[1] for w in windows)) if windows else (0.0, 0.0)
    return {
        "number": number,
        "kept": kept,
        "reason": f"{reason} ({len(disturbed)} of {len(excess)} windows disturbed)",
        "disturbances": [f"{case}: {reasons[0]}" for case, reasons in disturbed.items()][:10],
        "problems": typical_problems(excess),
        "health": health.summary(*span),
    }


def typical_verdict(session: SessionInfo, measured: Sequence[tuple[Case, Transcript]]) -> Typical:
    """The median of the session's lateness, judged as :func:`judge` judges one case.

    A median that holds is sound (stalls only make lines later). One that fails is judged on the
    undisturbed cases if there are enough; otherwise :data:`TYPICAL_SAMPLE` quick cases are run
    again together on fresh runs, at most :data:`MAX_REMEASURES` times.
    """
    health = session.health()
    transcripts = [transcript for _, transcript in measured]
    excess, disturbed = _excess([(case, transcript, health) for case, transcript in measured])
    if not typical_problems(excess):
        why = "the session's median passed; a stall could only have made it later"
        return Typical([], excess, [_round(0, excess, disturbed, health, transcripts, True, why)])
    clean = {case: value for case, value in excess.items() if case not in disturbed}
    if len(clean) >= max(TYPICAL_QUORUM, len(excess) // 2):
        why = f"judged on the {len(clean)} cases whose windows were undisturbed"
        return Typical(typical_problems(clean), clean, [_round(0, excess, disturbed, health, transcripts, True, why)])
    rounds = [_round(0, excess, disturbed, health, transcripts, False, "discarded: too few undisturbed windows")]
    # quick runs only: not the 8 s slow_run, not 3.4's loops
    sample = [case for case, _ in measured if case.dag_id != "slow_run" and not case.dag_id.startswith("loop_")][
        :TYPICAL_SAMPLE
    ]
    for number in range(1, MAX_REMEASURES + 1):
        fresh = fresh_measurements(
            session.base_url, session.token, sample, remeasure_run_id(session, number, "typical")
        )
        health = fresh[0][1] if fresh else Health(())
        transcripts = [transcript for transcript, _ in fresh]
        excess, disturbed = _excess([(case, transcript, health) for case, (transcript, _) in zip(sample, fresh)])
        clean = {case: value for case, value in excess.items() if case not in disturbed}
        if len(clean) >= TYPICAL_QUORUM:
            why = f"judged on the {len(clean)} re-measured cases whose windows were undisturbed"
            rounds.append(_round(number, excess, disturbed, health, transcripts, True, why))
            return Typical(typical_problems(clean), clean, rounds)
        last = number == MAX_REMEASURES
        why = (
            "every round was disturbed; the last is judged as it is"
            if last
            else "discarded: too few undisturbed windows"
        )
        rounds.append(_round(number, excess, disturbed, health, transcripts, last, why))
    return Typical(typical_problems(excess), excess, rounds)
