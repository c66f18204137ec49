"""The health probe: how the machine and the server fared while a timing was measured.

A /wait stream's arrival times say as much about the machine as about the server: on two busy
cores every poll of every stream can come seconds late (seen in CI: both 2 s cadence streams at
5.5-7.6 s, all polls). So while streams are measured, a probe samples two things every
:data:`EVERY` seconds:

- the client's own clock: how late its ``asyncio.sleep`` wakes (``lag_s``). A late wake-up
  means this process could not run, so its arrival times are late too;
- a control request (``control_s``): a plain ``GET`` of the measured run, a database read
  behind the same authentication as ``/wait`` but not ``/wait``'s code. When it is slow the
  server as a whole (or its database) is slow, not only the stream.

:meth:`Health.disturbances` turns the samples of one window into sentences;
:mod:`conformance.live.timing` decides what a disturbed window means for a verdict.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterable
from pathlib import Path

import attrs
import httpx

EVERY = 0.5  # seconds between samples
LAG_LIMIT = 0.25  # a wake-up later than this: the client could not run
CONTROL_LIMIT = 1.0  # a control request slower than this: the server or its database is slow
CONTROL_TIMEOUT = 10.0


@attrs.frozen
class Sample:
    started: float  # epoch seconds the sample began (before its sleep)
    ended: float  # epoch seconds the control request came back (or failed)
    lag_s: float
    control_s: float | None  # None: the control request failed
    error: str | None = None


@attrs.frozen
class Health:
    """The probe's samples over some span of time, and what they say about a window of it."""

    samples: tuple[Sample, ...] = attrs.field(
        converter=lambda items: tuple(s if isinstance(s, Sample) else Sample(**s) for s in items)
    )

    def within(self, start: float, end: float) -> list[Sample]:
        """Samples that overlap ``[start, end]`` (epoch seconds)."""
        return [sample for sample in self.samples if sample.ended >= start and sample.started <= end]

    def disturbances(self, start: float, end: float) -> list[str]:
        """Why the window ``[start, end]`` cannot be trusted for a timing, or [] when it can."""
        samples = self.within(start, end)
        if not samples:
            return [
                f"the probe took no sample in the {end - start:.1f} s window, so the machine's health there is unknown"
            ]
        reasons = []
        if late := [s for s in samples if s.lag_s > LAG_LIMIT]:
            worst = max(late, key=lambda s: s.lag_s)
            reasons.append(
                f"the client's clock woke up to {worst.lag_s:.2f} s late ({len(late)} of {len(samples)} samples over {LAG_LIMIT:g} s)"
            )
        if failed := [s for s in samples if s.control_s is None]:
            reasons.append(f"{len(failed)} of {len(samples)} control requests failed ({failed[0].error})")
        if slow := [s for s in samples if s.control_s is not None and s.control_s > CONTROL_LIMIT]:
            worst = max(slow, key=lambda s: s.control_s or 0.0)
            reasons.append(
                f"control requests took up to {worst.control_s:.2f} s ({len(slow)} of {len(samples)} over {CONTROL_LIMIT:g} s)"
            )
        # A gap between samples longer than a few periods: the probe itself was held up.
        ordered = sorted(samples, key=lambda s: s.started)
        if gaps := [b.started - a.ended for a, b in itertools.pairwise(ordered) if b.started - a.ended > 4 * EVERY]:
            reasons.append(f"the probe itself was held up for {max(gaps):.1f} s")
        return reasons

    def summary(self, start: float, end: float) -> dict[str, float | int | None]:
        """The window's samples in three numbers, for the evidence."""
        samples = self.within(start, end)
        controls = [s.control_s for s in samples if s.control_s is not None]
        return {
            "samples": len(samples),
            "max_lag_s": round(max((s.lag_s for s in samples), default=0.0), 3),
            "max_control_s": round(max(controls), 3) if controls else None,
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps([attrs.asdict(sample) for sample in self.samples]))

    @classmethod
    def load(cls, path: Path) -> Health:
        return cls(json.loads(path.read_text())) if path.exists() else cls(())

    @classmethod
    def of(cls, samples: Iterable[Sample]) -> Health:
        return cls(tuple(samples))


async def watch(http: httpx.AsyncClient, control_path: str, samples: list[Sample], every: float = EVERY) -> None:
    """Sample until cancelled, appending to ``samples`` (the caller keeps them when it cancels)."""
    while True:
        started, before = time.time(), time.monotonic()
        await asyncio.sleep(every)
        lag = time.monotonic() - before - every
        sent = time.monotonic()
        control: float | None
        error = None
        try:
            response = await http.get(control_path, timeout=CONTROL_TIMEOUT)
            control = time.monotonic() - sent
            if response.status_code >= 500:
                control, error = None, f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            control, error = None, f"{type(exc).__name__}"
        samples.append(
            Sample(
                started=started,
                ended=time.time(),
                lag_s=round(lag, 4),
                control_s=None if control is None else round(control, 4),
                error=error,
            )
        )
