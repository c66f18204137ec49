"""The bounds of the timing clauses, as checks on one recorded stream.

Each check takes a :class:`~conformance.wire.stream.Transcript` and the case's interval and returns
sentences saying what is wrong ([] when the bound holds). A :class:`TimingCheck` pairs one with
the part of the stream whose health decides whether it can judge: the whole stream for the
first line, the end of the run for latency, and for cadence each gap on its own (a gap out of
bounds is a verdict when the probe saw it quiet, a reason to measure again when a stall
overlapped it). Whether a failing
check is a verdict or a reason to measure again is :mod:`conformance.live.timing`'s business.

Only the stream *while the run is unfinished* has a cadence: the poll lines before the first
terminal one. When the terminal line comes is the latency clause's to judge, and what a broken
server sends after it (a second terminal line, say) the framing clauses', so neither fault is
also reported as a cadence fault.
"""

from __future__ import annotations

import itertools
import json
import statistics
from collections.abc import Callable, Mapping

import attrs

from conformance.wire.ndjson import is_terminal
from conformance.wire.probe import Health
from conformance.wire.stream import Transcript, epoch

# How far over the interval a gap may run in a quiet window: a poll's own database read and
# the line's way to the client. A server polling at twice the interval fails (slow-poll-interval).
CADENCE_STALL = 1.75
CADENCE_FLOOR = 0.75  # the shortest gap may be this fraction of the interval, no less
MIN_GAPS = 3
# A busy sqlite api-server can hold one poll for its 5 s lock wait, so a single case may be late
# by that much; the median over all cases must stay within one interval (TYPICAL_EXCESS).
STALL_ALLOWANCE = 8.0
CLOCK_ALLOWANCE = 3.0  # the run's end_date comes from the server's clock, arrival from ours
TYPICAL_EXCESS = 0.25


def _is_terminal(raw: str) -> bool:
    try:
        value = json.loads(raw)
    except ValueError:
        return False
    return isinstance(value, Mapping) and is_terminal(value)


def unfinished_arrivals(transcript: Transcript) -> list[float]:
    """Arrival times of the poll lines sent while the run was unfinished (before the first terminal one)."""
    arrivals = []
    for line in transcript.lines:
        if _is_terminal(line.raw):
            break
        arrivals.append(line.at)
    return arrivals


def ended_with_terminal_line(transcript: Transcript) -> bool:
    return any(_is_terminal(line.raw) for line in transcript.lines)


def gaps(transcript: Transcript) -> list[float]:
    arrivals = unfinished_arrivals(transcript)
    return [later - earlier for earlier, later in itertools.pairwise(arrivals)]


def cadence_problems(transcript: Transcript, interval: float) -> list[str]:
    """Every gap between poll lines close to the interval: none well under it, none much over it.

    In a quiet gap (:func:`cadence`), one over the bound is the server's own stall: polling at
    twice the interval, or now and then.
    """
    spaced = gaps(transcript)
    if len(spaced) < MIN_GAPS:
        return [f"only {len(spaced) + 1} lines before the terminal one; the run was too short to show a cadence"]
    low, high = CADENCE_FLOOR * interval, interval + CADENCE_STALL
    shown = [round(gap, 2) for gap in spaced]
    problems = []
    if min(spaced) < low:
        problems.append(f"the shortest gap is {min(spaced):.2f} s, under {low:g} s at interval {interval:g}: {shown}")
    if max(spaced) > high:
        problems.append(f"the longest gap is {max(spaced):.2f} s, over {high:g} s at interval {interval:g}: {shown}")
    return problems


def first_line_problems(transcript: Transcript, interval: float) -> list[str]:
    """The first line at once (within half an interval), and a run long enough to prove it."""
    if len(transcript.lines) < 2:
        return ["the run had finished before the stream began; the check proves nothing"]
    if (first := transcript.lines[0].at) >= interval / 2:
        return [f"the first line came after {first:.2f} s at interval {interval:g}"]
    return []


def lateness(transcript: Transcript) -> float:
    """Seconds from the run's end_date to the terminal line's arrival."""
    return transcript.terminal_lateness()


def lateness_problems(transcript: Transcript, interval: float) -> list[str]:
    """The terminal line no later than an interval (plus the stall allowance) after the run ended."""
    late = lateness(transcript)
    if late > interval + STALL_ALLOWANCE:
        return [
            f"the terminal line came {late:.2f} s after the run ended (interval {interval:g}, allowed {interval + STALL_ALLOWANCE:g} s)"
        ]
    if late < -CLOCK_ALLOWANCE:
        return [f"the terminal line came {-late:.2f} s before the run's end_date"]
    return []


def typical_problems(excess: Mapping[str, float]) -> list[str]:
    """The median lateness beyond one interval, over cases, within :data:`TYPICAL_EXCESS`."""
    if not excess:
        return ["no case could be measured"]
    if (median := statistics.median(excess.values())) > TYPICAL_EXCESS:
        return [
            f"the median lateness beyond one interval is {median:.3f} s over {len(excess)} cases (allowed {TYPICAL_EXCESS} s)"
        ]
    return []


@attrs.frozen
class TimingCheck:
    """A timing bound, and which part of a stream's window must be healthy for it to judge."""

    problems: Callable[[Transcript, Health], list[str]]
    disturbances: Callable[[Transcript, Health], list[str]]
    window: Callable[[Transcript], tuple[float, float]]  # epoch seconds; for the health summary
    pass_is_sound: bool  # a stall cannot flatter it: a pass under one stands


def stream_window(transcript: Transcript) -> tuple[float, float]:
    """Epoch seconds from sending the request to the last line's arrival."""
    last = transcript.lines[-1].at if transcript.lines else 0.0
    return transcript.sent_at, transcript.sent_at + last


def _whole(transcript: Transcript, health: Health) -> list[str]:
    return health.disturbances(*stream_window(transcript))


def first_line(interval: float) -> TimingCheck:
    """A stall only delays the first line, so a pass under one is still a pass."""
    return TimingCheck(lambda t, h: first_line_problems(t, interval), _whole, stream_window, pass_is_sound=True)


def terminal_window(transcript: Transcript, interval: float) -> tuple[float, float]:
    """From an interval before the run's end_date to the terminal line's arrival."""
    start, end = stream_window(transcript)
    if transcript.run and transcript.run.get("end_date"):
        start = max(start, min(end, epoch(transcript.run["end_date"]) - interval))
    return start, end


def latency(interval: float) -> TimingCheck:
    """Judged on the run's last interval and the wait for the terminal line; stalls only add lateness."""

    def window(transcript: Transcript) -> tuple[float, float]:
        return terminal_window(transcript, interval)

    return TimingCheck(
        lambda t, h: lateness_problems(t, interval), lambda t, h: h.disturbances(*window(t)), window, pass_is_sound=True
    )


def judged_gaps(transcript: Transcript, health: Health) -> list[tuple[float, bool]]:
    """Each gap between poll lines, and whether the probe saw it undisturbed."""
    arrivals = [transcript.sent_at + at for at in unfinished_arrivals(transcript)]
    return [(b - a, not health.disturbances(a, b)) for a, b in itertools.pairwise(arrivals)]


def cadence(interval: float) -> TimingCheck:
    """Judged gap by gap, with the probe's view of each.

    A gap out of bounds that the probe saw quiet is the server's: a verdict. One that a stall
    overlapped could be either, so the case is measured again; and a pass needs at least
    :data:`MIN_GAPS` quiet gaps, since stretched gaps could hide a server polling too often.
    """
    low, high = CADENCE_FLOOR * interval, interval + CADENCE_STALL

    def problems(transcript: Transcript, health: Health) -> list[str]:
        return cadence_problems(transcript, interval)

    def disturbances(transcript: Transcript, health: Health) -> list[str]:
        judged = judged_gaps(transcript, health)
        if any(quiet and not low <= gap <= high for gap, quiet in judged):
            return []  # a failure in a quiet gap: the verdict stands
        if stalled := [round(gap, 2) for gap, quiet in judged if not quiet and not low <= gap <= high]:
            return [f"the gaps out of bounds ({stalled} s) all overlapped a stall", *_whole(transcript, health)]
        if (quiet := sum(1 for _, q in judged if q)) < MIN_GAPS:
            return [f"only {quiet} of {len(judged)} gaps undisturbed", *_whole(transcript, health)]
        return []

    return TimingCheck(problems, disturbances, stream_window, pass_is_sound=False)
