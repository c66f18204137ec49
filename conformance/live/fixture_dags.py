"""The fixture DAGs on the server: waiting for them to be parsed, unpausing them, and telling a
deployment mistake from an Airflow that predates the DAG Result feature.

An Airflow before 3.3 cannot load the fixture DAGs that import ``airflow.sdk.result``: that is
recognised here, so that the session goes on with the DAGs that did load and records why the
feature is absent.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import attrs
from packaging.version import Version

from conformance.live import progress
from conformance.live.airflow_api import AirflowClient
from conformance.targets.base import TargetError

# Fixture DAG files that are meant not to import (the suite reads their import errors).
BROKEN_DAG_FILES = ("broken_result_order.py", "loop_result_inside.py")
FEATURE_SINCE = (3, 3)  # the release that added the DAG Result feature
# What Python says when a DAG file does `from airflow.sdk import result` on an Airflow without it.
MISSING_RESULT_IMPORT = "cannot import name 'result' from 'airflow.sdk'"


@attrs.frozen
class FixtureDags:
    """Which fixture DAGs the server has, and, when some cannot load there, why the feature is absent."""

    present: list[str]
    missing: list[str]
    feature_absent: str | None


async def ready_fixture_dags(
    client: AirflowClient,
    dag_ids: list[str],
    url: str,
    version: str | None = None,
) -> FixtureDags:
    """Wait for the fixture DAGs to be parsed, then unpause those present, one write at a time.

    With ``version`` (the server's), DAGs that cannot load because the feature is absent are
    accepted and reported; without it any missing DAG ends the run (benchmarks, load tests).
    """
    started = time.monotonic()
    present, errors = await wait_for_dags(client, dag_ids, url)
    missing = [dag_id for dag_id in dag_ids if dag_id not in present]
    reason = feature_absence(version, missing, errors) if version is not None else None
    if missing and reason is None:
        detail = "; ".join(f"{name}: {error}" for name, error in errors.items() if name not in BROKEN_DAG_FILES)
        raise TargetError(
            f"Fixture DAGs {', '.join(missing)} are not on {url}; deploy the project's dags/ folder into the "
            f"server's DAGs folder" + (f" (import errors: {detail})" if detail else "") + "."
        )
    ready = [dag_id for dag_id in dag_ids if dag_id in present]
    for dag_id in ready:
        await client.unpause(dag_id)
    progress.step(
        f"{len(ready)} fixture DAGs present (waited {time.monotonic() - started:.1f} s)"
        + (f"; {len(missing)} cannot load without the feature" if missing else "")
    )
    return FixtureDags(present=ready, missing=missing, feature_absent=reason)


def feature_absence(version: str, missing: list[str], errors: dict[str, str]) -> str | None:
    """Why the DAG Result feature is absent on this server, or None if nothing says so.

    ``errors`` maps a DAG file name to the last line of its import error. The feature counts as
    absent when the server's version predates it, or when fixture DAGs fail to import for want
    of ``airflow.sdk.result``. A missing DAG with any other import error (or none) is a
    deployment problem instead; then this returns None and the caller stops the run.
    """
    lacking_result = [dag_id for dag_id in missing if MISSING_RESULT_IMPORT in errors.get(f"{dag_id}.py", "")]
    if len(lacking_result) < len(missing):
        return None
    reasons = []
    if Version(version).release[:2] < FEATURE_SINCE:
        reasons.append("the feature was added in Airflow {}.{}".format(*FEATURE_SINCE))
    if lacking_result:
        reasons.append(
            f"airflow.sdk has no result decorator, so {len(lacking_result)} fixture DAGs using @result do not load"
        )
    return "; ".join(reasons) or None


async def wait_for_dags(
    client: AirflowClient, dag_ids: list[str], url: str, timeout: float = 180.0
) -> tuple[set[str], dict[str, str]]:
    """The fixture DAGs present once the dag-processor has parsed them all, and the import errors.

    A fresh server needs a while. Waiting ends when every fixture DAG is present, or every
    missing one has an import error (its file was parsed and failed), or after ``timeout``.
    Import errors come back as file name -> last line of the stack trace.
    """
    deadline = time.monotonic() + timeout
    while True:
        present = set(dag_ids) & await client.dag_ids()
        if len(present) == len(set(dag_ids)):
            return present, {}
        errors = {
            Path(e["filename"]).name: (e["stack_trace"].strip().splitlines() or [""])[-1]
            for e in await client.import_errors()
        }
        progress.status(f"DAG parsing: {len(present)} of {len(dag_ids)} fixture DAGs parsed")
        if all(f"{dag_id}.py" in errors for dag_id in set(dag_ids) - present) or time.monotonic() >= deadline:
            return present, errors
        await asyncio.sleep(0.5)
