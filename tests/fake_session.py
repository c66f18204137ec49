"""A conftest for pytester runs of the plugin: a prepared session, with no Airflow behind it."""

from __future__ import annotations

from typing import Any

SESSION: dict[str, Any] = {
    "target": "fake",
    "base_url": "http://unused.invalid",
    "token": "t",
    "description": "",
    "airflow_version": "3.3.2",
    "database": "sqlite",
    "run_ids": {},
    "server_errors": [],
}


def fake_session_conftest(**fields: Any) -> str:
    """Conftest source writing session.json (SESSION updated by ``fields``) as the controller would."""
    session = {**SESSION, **fields}
    return f"""
import json
from conformance.plugin import hooks as plugin

def pytest_sessionstart(session):
    folder = session.config.stash[plugin.folder_key]
    folder.mkdir(exist_ok=True)
    (folder / "transcripts").mkdir(exist_ok=True)
    (folder / "session.json").write_text(json.dumps({{**{session!r}, "folder": str(folder)}}))
"""
