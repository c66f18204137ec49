"""Targets by name: how the suite reaches the Airflow under test.

``local`` (default) boots ``airflow standalone`` from this environment; ``external`` uses a
deployment given by URL; ``container`` boots an Airflow image with testcontainers. A target
is chosen with ``--airflow-target NAME`` or ``AIRFLOW_CONFORMANCE_TARGET``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from conformance.targets.base import Connection, Target, TargetError
from conformance.targets.container import ContainerTarget
from conformance.targets.external import ExternalTarget
from conformance.targets.local import LocalTarget

DEFAULT_TARGET = "local"

TARGETS: dict[str, Callable[[Mapping[str, str]], Target]] = {
    "local": LocalTarget,
    "external": ExternalTarget,
    "container": ContainerTarget,
}


def make_target(name: str | None, environ: Mapping[str, str] = os.environ) -> Target:
    """The target called ``name``, falling back to the environment, then to ``local``."""
    chosen = name or environ.get("AIRFLOW_CONFORMANCE_TARGET") or DEFAULT_TARGET
    if chosen not in TARGETS:
        raise TargetError(f"Unknown Airflow target {chosen!r}; choose one of: {', '.join(sorted(TARGETS))}.")
    return TARGETS[chosen](environ)


__all__ = ["TARGETS", "Connection", "Target", "TargetError", "make_target"]
