"""Run ids the suite gives the DAG runs it triggers."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_run_id() -> str:
    """Unique per session, so repeated sessions against one server never collide."""
    return f"conformance-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
