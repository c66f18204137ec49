"""The session's record: what every test (and xdist worker) reads about the Airflow under test.

:func:`conformance.live.session.prepare` writes it once into a folder (``session.json``, one
transcript per case, the probe's samples); the tests read it from there, never from the server.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs

from conformance.live.airflow_api import bearer
from conformance.wire.probe import Health
from conformance.wire.stream import Transcript

HEALTH_FILE = "health.json"  # the probe's samples over the session's streams
# Why a test finds a case or run missing that the session never asked for (conformance.plugin.needs).
NOT_NEEDED = "a test reading it must name one of its cases with @pytest.mark.cases(...)"


class FeatureAbsent(Exception):
    """A test asked for something only an Airflow with the DAG Result feature can provide."""


@attrs.frozen
class SessionInfo:
    """What every test needs to know about the Airflow under test; stored as session.json."""

    target: str
    base_url: str
    token: str = attrs.field(repr=False)
    description: str
    database: str
    airflow_version: str
    run_ids: dict[str, str]
    server_errors: list[str]
    folder: str
    feature_absent: str | None = None  # why the DAG Result feature is absent; None when present
    missing_dags: list[str] = attrs.Factory(list)  # fixture DAGs that cannot load without it
    # a user who may read DAG runs but not XCom (targets.base.Connection.restricted_token)
    restricted_token: str | None = attrs.field(default=None, repr=False)
    # a user who may read the DAGs but not their runs (targets.base.Connection.no_runs_token)
    no_runs_token: str | None = attrs.field(default=None, repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    def _transcript_path(self, case_id: str) -> Path:
        return Path(self.folder) / "transcripts" / f"{case_id}.json"

    def transcript(self, case_id: str) -> Transcript:
        path = self._transcript_path(case_id)
        if self.feature_absent and not path.exists():
            raise FeatureAbsent(f"case {case_id} runs a fixture DAG that cannot load without the feature")
        if not path.exists():
            raise LookupError(f"case {case_id} was not streamed in this session; {NOT_NEEDED}")
        return Transcript.load(path)

    def streamed(self, case_id: str) -> bool:
        """Whether the session recorded a stream of this case."""
        return self._transcript_path(case_id).exists()

    def health(self) -> Health:
        """What the probe saw while the session's streams were recorded (conformance.wire.probe)."""
        return Health.load(Path(self.folder) / HEALTH_FILE)

    def run_id(self, dag_id: str) -> str:
        """The session's run of a fixture DAG (FeatureAbsent if the DAG could not load)."""
        if dag_id in self.missing_dags:
            raise FeatureAbsent(f"fixture DAG {dag_id} cannot load without the feature")
        if dag_id not in self.run_ids:
            raise LookupError(f"fixture DAG {dag_id} was not triggered in this session; {NOT_NEEDED}")
        return self.run_ids[dag_id]

    def save(self) -> None:
        (Path(self.folder) / "session.json").write_text(json.dumps(attrs.asdict(self), indent=1))

    @classmethod
    def load(cls, folder: Path) -> SessionInfo:
        return cls(**json.loads((folder / "session.json").read_text()))
