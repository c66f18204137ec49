"""The boot cache: the metadata database as ``airflow db migrate`` leaves it, kept for the next boot.

The local target gives every session a fresh metadata database, and migrating one is a good part
of its boot. What a migration produces depends on what is installed and how Airflow is set up,
not on the session, so the first boot stores the freshly migrated database and every later boot
with the same inputs starts from a copy of it instead of migrating.

A copy may only serve a boot that would have migrated to the very same database, so its key (a
sha256) covers everything that can make two migrations differ:

- the distributions that define the tables or create them: ``apache-airflow``,
  ``apache-airflow-core``, ``apache-airflow-task-sdk``, every ``apache-airflow-providers-*`` (a
  provider may bring tables and a database manager of its own, as FAB does), and SQLAlchemy,
  Alembic and the Flask pieces FAB creates its tables with. Each counts by its ``RECORD``, which
  lists a hash of every file it installed, so any new build of one is a new key. They are found
  on the ``sys.path`` of the interpreter Airflow runs on, asked once (:func:`probe`), which need
  not be the suite's own;
- that interpreter's Python and SQLite versions;
- the database kind (for PostgreSQL also the server's and pg_dump's versions) and the auth
  manager;
- the suite's users, by name and role, and the script that makes them and grants their roles
  (:func:`users_part`): an entry made before a user or a grant was added lacks it, so a boot that
  needs it never reads that entry;
- the ``AIRFLOW__*`` settings that reach the migration, but for those that change every session
  (port, secrets), which it does not write into the database;
- :data:`FORMAT`, this module's own way of making entries.

Where a key cannot vouch for what is installed there is no cache (:class:`Uncacheable` says
why): an editable install's ``RECORD`` names a link to a source tree, not the files in it.

An entry is one file in ``$XDG_CACHE_HOME/airflow-dag-result-conformance/boot/``
(``~/.cache/...`` without it): a sqlite database made with sqlite's backup API (so it holds what
the write-ahead log had not yet moved into the main file), or a ``pg_dump`` archive restored in
one transaction (so a restore that fails leaves the database empty, as if never begun). A store
writes a temporary file in that folder and renames it over the entry, so another session reading
at the same moment finds a whole entry or none. The entries used most recently are kept.

An entry holds more than the migration: the suite's FAB users and their role
(``airflow_site/conformance_users.py``, which also syncs FAB's permission tables), and the
``airflow.cfg`` the first ``airflow`` command writes into AIRFLOW_HOME, with its fernet key, kept
beside the database as ``<key>.cfg`` with the home folder's path replaced by :data:`HOME_MARK`.
A boot that copies the entry gives the users this session's passwords by writing their hashes
(:mod:`~conformance.targets.fab_password`) and starts every component at once: no Airflow
process runs before them. Measured on 3.3.2, 2 cores: those two steps took 13 s of a warm boot.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from importlib import metadata
from pathlib import Path
from typing import Protocol

import attrs

from conformance.targets.base import TargetError
from conformance.targets.postgres import pg_binary

SWITCH = "AIRFLOW_CONFORMANCE_BOOT_CACHE"
FORMAT = "2"  # raise it when entries are made differently, so that older ones are never read (2: users and airflow.cfg)
AIRFLOW_DISTRIBUTIONS = ("apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk")
PROVIDER_PREFIX = "apache-airflow-providers-"
SCHEMA_LIBRARIES = ("sqlalchemy", "alembic", "flask-sqlalchemy", "flask-appbuilder", "sqlalchemy-utils")
KEEP = 8  # entries kept: one per Airflow build and database a contributor switches between
TEMPORARY_PREFIX = ".storing-"
STALE_TEMPORARY_S = 3600.0  # a temporary file this old was left by a store that died
CONFIG_FILE = "airflow.cfg"  # in AIRFLOW_HOME, written by the first airflow command (the migration)
CONFIG_SUFFIX = ".cfg"  # an entry's airflow.cfg, beside its database
HOME_MARK = "@@AIRFLOW_HOME@@"  # where the entry's airflow.cfg named the AIRFLOW_HOME it was made in
PROBE = "import json, sqlite3, sys; print(json.dumps([sys.path, sys.version, sqlite3.sqlite_version]))"

Part = tuple[str, bytes]  # one input of a key: what it is, and its content


class Uncacheable(Exception):
    """This boot cannot use the cache safely; the message says why, for the progress line."""


class CacheError(Exception):
    """An entry could not be stored or restored; the message says what failed."""


def enabled(text: str | None) -> bool:
    """Whether the cache is on: AIRFLOW_CONFORMANCE_BOOT_CACHE's text, 1 (the default, also None) or 0."""
    text = "1" if text is None else text
    if text not in ("0", "1"):
        raise TargetError(
            f"{SWITCH} must be 1 (reuse a cached migrated database, the default) or 0 (migrate a fresh one "
            f"at every boot), not {text!r}."
        )
    return text == "1"


def cache_folder(xdg: str | None) -> Path | None:
    """Where entries live: the user's cache folder (``xdg``, XDG_CACHE_HOME, else ~/.cache); None
    for a user without a home folder."""
    try:
        root = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    except RuntimeError:  # no HOME, and not in the password database either
        return None
    return root / "airflow-dag-result-conformance" / "boot"


@attrs.frozen
class Interpreter:
    """What the key needs to know about the interpreter Airflow runs on."""

    path: tuple[str, ...]
    python: str
    sqlite: str


def probe(python: Path, env: Mapping[str, str] | None = None, timeout: float = 60.0) -> Interpreter:
    """Ask ``python`` (with the environment Airflow gets) for its sys.path and versions."""
    try:
        done = subprocess.run(
            [str(python), "-c", PROBE], capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
        path, version, sqlite = json.loads(done.stdout) if done.returncode == 0 else (None, None, None)
    except (OSError, subprocess.TimeoutExpired, ValueError, TypeError) as exc:
        raise Uncacheable(f"{python} could not be asked for its sys.path: {exc}") from exc
    if path is None:
        raise Uncacheable(f"{python} could not be asked for its sys.path (exit code {done.returncode})")
    return Interpreter(tuple(entry for entry in path if entry), version, sqlite)


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def is_hashed(name: str) -> bool:
    """Whether a distribution's build can change what a migration creates."""
    name = normalized(name)
    return name in AIRFLOW_DISTRIBUTIONS or name.startswith(PROVIDER_PREFIX) or name in SCHEMA_LIBRARIES


def _editable(distribution: metadata.Distribution) -> bool:
    try:
        direct_url = json.loads(distribution.read_text("direct_url.json") or "{}")
    except ValueError:
        return False
    return bool(isinstance(direct_url, dict) and (direct_url.get("dir_info") or {}).get("editable"))


def distribution_parts(path: Sequence[str]) -> list[Part]:
    """Each hashed distribution on ``path`` by its RECORD, in an order that does not depend on
    the folder's; Uncacheable when one cannot be vouched for, or there is no Airflow at all."""
    parts = []
    for distribution in metadata.distributions(path=list(path)):
        name = distribution.metadata["Name"]
        if not name or not is_hashed(name):
            continue
        if _editable(distribution):
            raise Uncacheable(f"{name} is an editable install, whose RECORD does not cover its source files")
        record = distribution.read_text("RECORD")
        if record is None:
            raise Uncacheable(f"{name} {distribution.version} has no RECORD to tell its build by")
        parts.append((f"distribution {normalized(name)} {distribution.version}", installed_files(record).encode()))
    if not any(label.split()[1] in AIRFLOW_DISTRIBUTIONS[:2] for label, _ in parts):
        raise Uncacheable("no apache-airflow distribution was found on Airflow's sys.path")
    return sorted(parts)


def installed_files(record: str) -> str:
    """A RECORD without the files installed outside the distribution's folder (``../../../bin/airflow``):
    console scripts, whose shebang names the environment's interpreter. With them, every virtualenv
    of one Airflow build had a key of its own (each tox env missed the cache); without them, the
    key is still every file of the build that a migration can run."""
    return "".join(line for line in record.splitlines(keepends=True) if not line.startswith("../"))


def cache_key(parts: Iterable[Part]) -> str:
    """One sha256 over every input, each by its label and its content's own sha256."""
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    for label, content in parts:
        digest.update(b"\0" + label.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


def settings_part(settings: Mapping[str, str]) -> Part:
    return "settings", json.dumps(sorted(settings.items())).encode()


def users_part(users: Mapping[str, Mapping[str, str]], script: Path) -> Part:
    """The users an entry holds, by name and role (not by password: every boot sets its own), and
    the script that makes them, which says what each role of the suite's own may do."""
    try:
        made = script.read_bytes()
    except OSError as exc:
        raise Uncacheable(f"the users script {script} could not be read: {exc}") from exc
    return "users", json.dumps(sorted((name, user["role"]) for name, user in users.items())).encode() + b"\0" + made


class MetadataDatabase(Protocol):
    """A session's metadata database, as the cache stores and restores it."""

    kind: str
    suffix: str  # of its entries' file names

    def key_parts(self) -> list[Part]: ...

    def snapshot(self, to: Path) -> None: ...

    def restore(self, entry: Path) -> None: ...

    def set_passwords(self, hashes: Mapping[str, str]) -> None: ...


@attrs.frozen
class SqliteFile:
    """A sqlite metadata database: one file (and, while in use, its write-ahead log)."""

    path: Path
    kind = "sqlite"
    suffix = ".sqlite"

    def key_parts(self) -> list[Part]:
        return []

    def snapshot(self, to: Path) -> None:
        try:
            with closing(sqlite3.connect(self.path)) as source, closing(sqlite3.connect(to)) as copy:
                source.backup(copy)
        except sqlite3.Error as exc:
            raise CacheError(f"sqlite could not copy {self.path}: {exc}") from exc

    def restore(self, entry: Path) -> None:
        try:
            self.path.write_bytes(entry.read_bytes())
            with closing(sqlite3.connect(self.path)) as restored:
                if restored.execute("SELECT count(*) FROM alembic_version").fetchone()[0] < 1:
                    raise sqlite3.DatabaseError("it has no migration revision")
        except (OSError, sqlite3.Error) as exc:
            for leftover in (
                self.path,
                self.path.with_name(f"{self.path.name}-wal"),
                self.path.with_name(f"{self.path.name}-shm"),
            ):
                leftover.unlink(missing_ok=True)
            raise CacheError(f"{entry} is not a migrated database ({exc})") from exc

    def set_passwords(self, hashes: Mapping[str, str]) -> None:
        try:
            with closing(sqlite3.connect(self.path)) as database, database:
                missing = [
                    user
                    for user, value in hashes.items()
                    if database.execute("UPDATE ab_user SET password = ? WHERE username = ?", (value, user)).rowcount
                    != 1
                ]
        except sqlite3.Error as exc:
            raise CacheError(f"the users' passwords could not be set in {self.path}: {exc}") from exc
        if missing:
            raise CacheError(f"the entry has no user {', '.join(missing)}")


@attrs.frozen
class PostgresDatabase:
    """A PostgreSQL metadata database, by its SQLAlchemy URL, which the session's server holds."""

    url: str
    kind = "postgres"
    suffix = ".pgdump"

    @property
    def libpq_url(self) -> str:
        return re.sub(r"^postgresql\+\w+://", "postgresql://", self.url)

    def key_parts(self) -> list[Part]:
        return [
            (f"{program} --version", _run([str(pg_binary(program)), "--version"]).encode())
            for program in ("postgres", "pg_dump")
        ]

    def snapshot(self, to: Path) -> None:
        _run(
            [
                str(pg_binary("pg_dump")),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={to}",
                f"--dbname={self.libpq_url}",
            ]
        )

    def restore(self, entry: Path) -> None:
        _run(
            [
                str(pg_binary("pg_restore")),
                "--exit-on-error",
                "--single-transaction",
                "--no-owner",
                "--no-privileges",
                f"--dbname={self.libpq_url}",
                str(entry),
            ]
        )

    def set_passwords(self, hashes: Mapping[str, str]) -> None:
        # one statement, so one transaction and one result to check
        cases = " ".join(f"WHEN {sql_text(user)} THEN {sql_text(value)}" for user, value in hashes.items())
        users = ", ".join(sql_text(user) for user in hashes)
        updated = _run(
            [
                str(pg_binary("psql")),
                "-v",
                "ON_ERROR_STOP=1",
                "-qAt",
                f"--dbname={self.libpq_url}",
                "-c",
                f"UPDATE ab_user SET password = CASE username {cases} END WHERE username IN ({users}) RETURNING username",
            ]
        ).split()
        if missing := sorted(set(hashes) - set(updated)):
            raise CacheError(f"the entry has no user {', '.join(missing)}")


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _run(argv: list[str], timeout: float = 120.0) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CacheError(f"{Path(argv[0]).name} could not run: {exc}") from exc
    if done.returncode != 0:
        raise CacheError(f"{Path(argv[0]).name} failed with exit code {done.returncode}: {done.stderr.strip()[-300:]}")
    return done.stdout


def key_for(
    python: Path,
    env: Mapping[str, str],
    database: MetadataDatabase,
    auth_manager: str,
    settings: Mapping[str, str],
    users: Part,
) -> str:
    """The key of a boot: Airflow's interpreter (run with ``env``), the database, the auth manager,
    the settings that reach the migration, the users made after it (:func:`users_part`).
    Uncacheable when it cannot be told."""
    interpreter = probe(python, env)
    try:
        database_parts = database.key_parts()
    except (CacheError, TargetError) as exc:
        raise Uncacheable(str(exc)) from exc
    return cache_key(
        [
            ("database", database.kind.encode()),
            *database_parts,
            ("auth manager", auth_manager.encode()),
            settings_part(settings),
            users,
            ("python", interpreter.python.encode()),
            ("sqlite", interpreter.sqlite.encode()),
            *distribution_parts(interpreter.path),
        ]
    )


@attrs.frozen
class BootCache:
    """The entry for one key, in ``folder``."""

    folder: Path
    key: str
    suffix: str

    @property
    def entry(self) -> Path:
        return self.folder / f"{self.key}{self.suffix}"

    @property
    def config(self) -> Path:
        return self.folder / f"{self.key}{CONFIG_SUFFIX}"

    @property
    def short(self) -> str:
        return f"{self.key[:8]}…"

    def lookup(self) -> Path | None:
        """The entry if it is whole (database and airflow.cfg), marked as just used (pruning keeps the newest)."""
        if not (self.entry.is_file() and self.config.is_file()):
            return None
        try:
            os.utime(self.entry)
        except OSError:
            pass
        return self.entry

    def restore(self, database: MetadataDatabase, home: Path, hashes: Mapping[str, str]) -> bool:
        """Put the cached database in place with the users' passwords set to ``hashes``, and the
        cached airflow.cfg into ``home``: False on a miss; CacheError (and the entry removed, so
        the next store replaces it) when the entry cannot be used."""
        entry = self.lookup()
        if entry is None:
            return False
        try:
            config = self.config.read_text().replace(HOME_MARK, str(home))
            database.restore(entry)
            database.set_passwords(hashes)
            (home / CONFIG_FILE).write_text(config)
        except CacheError:
            self.drop()
            raise
        except OSError as exc:
            self.drop()
            raise CacheError(f"the entry could not be read or put in place: {exc}") from exc
        return True

    def drop(self) -> None:
        self.entry.unlink(missing_ok=True)
        self.config.unlink(missing_ok=True)

    def store(self, database: MetadataDatabase, home: Path) -> None:
        """Keep the database as it is now (migrated, the users made, nothing else done to it) and
        ``home``'s airflow.cfg; the database last, as it is what makes the entry whole."""
        try:
            config = (home / CONFIG_FILE).read_text().replace(str(home), HOME_MARK)
        except OSError as exc:
            raise CacheError(f"the migration left no airflow.cfg to keep ({exc})") from exc
        self.write_atomically(lambda to: to.write_text(config), self.config)
        self.write_atomically(database.snapshot, self.entry)

    def write_atomically(self, write: Callable[[Path], None], to: Path | None = None) -> None:
        """``write`` fills a temporary file in the folder, which then replaces ``to`` (the entry) at once."""
        to = to or self.entry
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(dir=self.folder, prefix=TEMPORARY_PREFIX, suffix=to.suffix)
            os.close(handle)
        except OSError as exc:
            raise CacheError(f"no entry could be written in {self.folder}: {exc}") from exc
        temporary = Path(name)
        try:
            write(temporary)
            with temporary.open("rb+") as written:
                os.fsync(written.fileno())
            os.replace(temporary, to)
        except OSError as exc:
            raise CacheError(f"the entry could not be written in {self.folder}: {exc}") from exc
        finally:
            temporary.unlink(missing_ok=True)
        self.prune()

    def prune(self, keep: int = KEEP) -> None:
        """Keep the ``keep`` most recently used entries, and no temporary file a dead store left."""
        now = time.time()
        entries = []
        for path in self.folder.iterdir():
            try:
                used = path.stat().st_mtime
                if path.name.startswith(TEMPORARY_PREFIX):
                    if now - used > STALE_TEMPORARY_S:
                        path.unlink()
                elif path.suffix in (SqliteFile.suffix, PostgresDatabase.suffix):
                    entries.append((used, path))
                elif (
                    path.suffix == CONFIG_SUFFIX
                    and now - used > STALE_TEMPORARY_S
                    and not any(
                        path.with_suffix(suffix).exists() for suffix in (SqliteFile.suffix, PostgresDatabase.suffix)
                    )
                ):  # a store that died before its database was written
                    path.unlink()
            except OSError:  # gone meanwhile: another session pruned it
                continue
        for _, path in sorted(entries, reverse=True)[keep:]:
            path.unlink(missing_ok=True)
            path.with_suffix(CONFIG_SUFFIX).unlink(missing_ok=True)
