"""``--keep-server``: the server a run leaves up, and how to reach and end it.

With ``--keep-server`` (``AIRFLOW_CONFORMANCE_KEEP_SERVER=1``), a target that started a server
(local, container) does not stop it when the run ends, so that a failure can be looked into
with the curl lines of the report (:mod:`conformance.report.reproduce`). What it leaves is described
by a :class:`KeptServer`, which the controller prints after the summary: the URL, a shell line
per token that reads it from a 0600 file into ``$AIRFLOW_TOKEN`` (and ``$AIRFLOW_RESTRICTED_TOKEN``,
``$AIRFLOW_NO_RUNS_TOKEN``) without printing it, and one line that stops everything and deletes what the run kept on disk.

The stop line is plain shell, gathered while the target boots (:class:`StopPlan`): ``kill -KILL``
of a process group (the server's data is thrown away, so nothing is gained by a graceful stop),
``docker rm -f`` of named containers, ``docker network rm``, then ``rm -rf`` of the folders.
The server is kept only when the run's use of it ended normally (tests failing or Ctrl-C
included); one that failed to boot or broke while the session was prepared is removed as
usual. The external target starts nothing, so it keeps nothing.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

import attrs

# by the user's sender name (conformance.report.evidence.SENDERS), as conformance.report.reproduce reads them
TOKEN_VARIABLES = {
    "admin": "AIRFLOW_TOKEN",
    "restricted": "AIRFLOW_RESTRICTED_TOKEN",
    "no-runs": "AIRFLOW_NO_RUNS_TOKEN",
}


def write_token(folder: Path, user: str, token: str) -> Path:
    """``token`` in ``folder/<user>.token``, readable by its owner alone (the folder too)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{user}.token"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token)
    return path


@attrs.define
class StopPlan:
    """The shell commands ending what a target keeps, gathered as it boots: the parts started
    last are stopped first, then every folder is removed."""

    commands: list[str] = attrs.Factory(list)
    folders: list[str] = attrs.Factory(list)

    def kill_group(self, pgid: int) -> None:
        self.commands.insert(0, f"kill -KILL -- -{pgid}")

    def remove_containers(self, names: list[str]) -> None:
        self.commands.insert(0, "docker rm -f " + " ".join(map(shlex.quote, names)))

    def remove_network(self, name: str) -> None:
        self.commands.append(f"docker network rm {shlex.quote(name)}")

    def remove(self, path: Path | str) -> None:
        self.folders.append(str(path))

    def line(self) -> str:
        removals = [f"rm -rf {' '.join(map(shlex.quote, self.folders))}"] if self.folders else []
        return "; ".join([*self.commands, *removals])


@attrs.frozen
class KeptServer:
    """A server left up after the run: where it is, where its tokens are, how to end it."""

    target: str
    url: str
    folder: str  # what the run left on disk for it (logs, token files); the stop line deletes it
    token_files: Mapping[str, str]  # user (admin, restricted, no-runs) -> the file holding its token
    stop: str

    def lines(self) -> list[str]:
        """What the terminal says about it, one instruction a line."""
        exports = [
            f"  export {TOKEN_VARIABLES[user]}=$(cat {shlex.quote(path)})" for user, path in self.token_files.items()
        ]
        return [
            f"kept server ({self.target}, --keep-server): {self.url}",
            *exports,
            f"  its files (logs, tokens): {self.folder}",
            f"  stop it: {self.stop}",
        ]
