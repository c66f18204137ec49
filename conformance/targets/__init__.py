"""Targets by name: how the suite reaches the Airflow under test.

``local`` (default) boots ``airflow standalone`` from this environment; ``external`` uses a
deployment given by URL; ``container`` boots an Airflow image with testcontainers. A target
is chosen with ``--airflow-target NAME`` or ``AIRFLOW_CONFORMANCE_TARGET``.
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.settings import Settings
from conformance.targets.base import Connection, Target, TargetError
from conformance.targets.container import ContainerTarget
from conformance.targets.external import ExternalTarget
from conformance.targets.local import LocalTarget

DEFAULT_TARGET = "local"

TARGETS: dict[str, Callable[[Settings], Target]] = {
    "local": LocalTarget,
    "external": ExternalTarget,
    "container": ContainerTarget,
}


def make_target(name: str | None, settings: Settings) -> Target:
    """The target called ``name``, falling back to the settings' (its variable), then to ``local``."""
    chosen = name or settings.target or DEFAULT_TARGET
    if chosen not in TARGETS:
        raise TargetError(f"Unknown Airflow target {chosen!r}; choose one of: {', '.join(sorted(TARGETS))}.")
    return TARGETS[chosen](settings)


__all__ = ["TARGETS", "Connection", "Target", "TargetError", "make_target"]
