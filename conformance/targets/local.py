"""``local``: Airflow's components from the current environment, started and owned by the suite.

The server gets a fresh temporary AIRFLOW_HOME, the fixture ``dags/`` folder, examples off and
a free loopback port. The suite starts what ``airflow standalone`` would — ``airflow db
migrate``, then the api-server, scheduler, dag-processor and triggerer — itself, because
standalone forces SimpleAuthManager, whose roles cannot tell XCom apart from DAG runs. Here the
FAB auth manager (``apache-airflow-providers-fab``, what platform teams run) holds an admin, a
user who may read DAG runs but not XCom, and one who may read the DAGs but not their runs
(:data:`ROLE_OF`, made by ``airflow_site/conformance_users.py``), and the connection carries a
token for each.

All components share one process group, so teardown ends every process it started (and
:func:`~conformance.targets.processes.stop_strays` the task processes that left the group).
Readiness is ``/api/v2/monitor/health`` reporting every component healthy
(:func:`~conformance.targets.health.wait_until_healthy`), shown as the boot goes.

The migrated database with the users in it is cached between boots
(:mod:`~conformance.targets.boot_cache`, keyed by the Airflow build, the database kind, the auth
manager and the users with their roles): a boot whose key is cached copies it in place of
``airflow db migrate`` and the users script, sets this session's passwords, and starts every component at once;
``--no-boot-cache`` or ``AIRFLOW_CONFORMANCE_BOOT_CACHE=0`` migrates every time. Which way it went is shown as ``boot cache: ...``.

With ``--keep-server`` (:mod:`~conformance.targets.kept`) the components, their AIRFLOW_HOME
and a PostgreSQL of the target's own stay after the run; the tokens of every user are written
to ``AIRFLOW_HOME/tokens/`` (0600), beside ``conformance-users.json``, which holds their
passwords, and the stop line kills the process groups and removes the folders.

Three settings keep sqlite dependable under the suite's burst of runs (measured on 3.3.2,
2 cores): ``core.parallelism`` 8 instead of 32; the execution API URL pointed at the chosen
port (task workers would otherwise call port 8080); and a longer sqlite lock wait for every
component but the api-server (``airflow_site/conformance_sqlite.py`` says why).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from conformance.live import progress
from conformance.live.airflow_api import AirflowAPIError, fetch_token
from conformance.paths import dags_dir
from conformance.settings import BOOT_TIMEOUT, Settings, child_environment
from conformance.targets import boot_cache
from conformance.targets.base import AIRFLOW_SITE, DATABASES, Connection, TargetError, free_port, sqlite_env
from conformance.targets.boot_cache import (
    BootCache,
    CacheError,
    MetadataDatabase,
    PostgresDatabase,
    SqliteFile,
    Uncacheable,
)
from conformance.targets.fab_password import password_hash
from conformance.targets.health import HEALTH_PATH, BootProgress, wait_until_healthy
from conformance.targets.kept import KeptServer, StopPlan, write_token
from conformance.targets.postgres import temporary_postgres
from conformance.targets.processes import ProcessGroup, stop_strays

COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")  # in the order they start
# The dag-processor yields the CPU to the others: at boot the api-server's start-up (13 s alone,
# 2 cores) is what health waits for, and the DAG files parsed meanwhile are not; measured on
# 3.3.2, a warm boot took 15-17 s so against 22 s without. During the suite it re-parses every
# 30 s, which then cannot delay a /wait stream's polls either.
NICENESS = {"dag-processor": 10}
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
FAB_DISTRIBUTION = "apache-airflow-providers-fab"
USERS_FILE = "conformance-users.json"  # in AIRFLOW_HOME, for airflow_site/conformance_users.py: the users, their roles and passwords
USERS_SCRIPT = AIRFLOW_SITE / "conformance_users.py"  # makes the users and the roles below (their grants are there)
ADMIN, RESTRICTED, NO_RUNS = "admin", "no-xcom-reader", "no-runs-reader"
NO_XCOM_ROLE, NO_RUNS_ROLE = "ConformanceNoXCom", "ConformanceNoRuns"
ROLE_OF = {ADMIN: "Admin", RESTRICTED: NO_XCOM_ROLE, NO_RUNS: NO_RUNS_ROLE}  # the suite's users and their roles
# each user as the evidence names its requests (conformance.report.evidence.SENDERS), and its token file
SENDER_OF = {ADMIN: "admin", RESTRICTED: "restricted", NO_RUNS: "no-runs"}
SQLITE_FILE = "airflow.db"  # in AIRFLOW_HOME: where Airflow's default sqlite URL puts it
# settings of the user's with which Airflow's sqlite database would not be SQLITE_FILE
SQLITE_ELSEWHERE = frozenset(
    f"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN{variant}" for variant in ("", "_CMD", "_SECRET", "_ASYNC")
)
# settings that differ every session (or every installed copy of the suite) and that a
# migration does not write into the database
PER_SESSION_SETTINGS = frozenset(
    {
        "AIRFLOW__API__PORT",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",  # the target's own PostgreSQL, on a port of the session's
        # dags/ inside each installed copy (every tox env has one); a migrated 3.3.2 database holds
        # no path of it (dag_bundle is empty), so one entry serves every copy
        "AIRFLOW__CORE__DAGS_FOLDER",
    }
)


def find_airflow() -> Path:
    """The ``airflow`` executable of this environment: beside the interpreter first, then PATH."""
    beside = Path(sys.executable).parent / "airflow"
    found = beside if beside.exists() else shutil.which("airflow")
    if not found:
        raise TargetError(
            "Airflow is not installed in this environment (no `airflow` beside "
            f"{sys.executable} or on PATH); install it with `pip install apache-airflow==3.3.2`, "
            "run through tox (`tox -e airflow-3.3.2`), or choose --airflow-target external."
        )
    return Path(found)


def airflow_python(airflow: Path) -> Path:
    """The interpreter Airflow's executable runs on, for our Airflow-side modules: this one when
    ``airflow`` sits beside it, else the one its shebang names."""
    if airflow.parent == Path(sys.executable).parent:
        return Path(sys.executable)
    first = airflow.read_bytes()[:512].split(b"\n", 1)[0]
    named = Path(first[2:].decode(errors="replace").strip().split(" ")[0]) if first.startswith(b"#!") else None
    return named if named is not None and named.name.startswith("python") and named.exists() else Path(sys.executable)


def has_fab_provider(python: Path) -> bool:
    """Whether the FAB provider is installed for ``python``: by its distribution's metadata, which
    takes milliseconds where importing it (all of Airflow) took 6 s; an install that is there but
    broken stops the api-server, whose log the boot error then shows."""
    probe = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; m.distribution({FAB_DISTRIBUTION!r})"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    return probe.returncode == 0


def unknown_database(env: Mapping[str, str], database: MetadataDatabase) -> str | None:
    """Why the database Airflow will use may not be the one the cache would fill, if it may not:
    the user's environment can point Airflow elsewhere (a config file, a sqlite URL of its own)."""
    if "AIRFLOW_CONFIG" in env:
        return "AIRFLOW_CONFIG is set, so the target cannot tell what the migration reads"
    if database.kind == "sqlite" and (named := sorted(SQLITE_ELSEWHERE.intersection(env))):
        return f"{named[0]} is set, so the database may not be {SQLITE_FILE} in AIRFLOW_HOME"
    return None


def suite_users(passwords: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """What ``airflow_site/conformance_users.py`` is given: every user of :data:`ROLE_OF` with its
    role and this boot's password."""
    return {user: {"role": role, "password": passwords[user]} for user, role in ROLE_OF.items()}


def parse_boot_timeout(given: str | None) -> float:
    text = str(BOOT_TIMEOUT) if given is None else given
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0:
        raise TargetError(f"AIRFLOW_CONFORMANCE_BOOT_TIMEOUT must be a positive number of seconds, not {text!r}.")
    return seconds


# The session's server is thrown away with its home folder, so nothing is gained by waiting
# for a graceful shutdown: the components took 11.5 s to exit on SIGTERM, every run, and
# were still there after 3 s of grace in every boot timed on 3.3.2 (the grace was all waiting,
# and so was the 1 s that followed: every run's stop took 1.2 s). SIGTERM, then SIGKILL at once.
STOP_GRACE = 0.0


class LocalTarget:
    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.boot_timeout = parse_boot_timeout(settings.boot_timeout)
        self.keep_home = settings.keep_home
        self.keep_server = settings.keep_server
        self.boot_cache = boot_cache.enabled(settings.boot_cache)
        self.cache_state = "not used yet"  # what the last boot's cache did (see _cache_state)
        self.cache_folder = boot_cache.cache_folder(settings.xdg_cache_home)
        self.database = "sqlite" if settings.database is None else settings.database
        if self.database not in DATABASES:
            raise TargetError(
                f"Unknown database {self.database!r} for the local target; choose one of: {', '.join(DATABASES)}."
            )

    @contextmanager
    def start(self) -> Iterator[Connection]:
        airflow = find_airflow()
        python = airflow_python(airflow)
        if not has_fab_provider(python):
            raise TargetError(
                f"The local target needs the FAB auth manager beside Airflow ({FAB_DISTRIBUTION} is not installed for {python}); "
                "install it with `pip install apache-airflow-providers-fab`, or run through tox, which does."
            )
        keep = StopPlan() if self.keep_server else None
        with ExitStack() as stack:
            if self.database == "postgres":
                database_env = {
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": stack.enter_context(temporary_postgres(keep=keep))
                }
            else:
                database_env = sqlite_env()
            yield stack.enter_context(self._components(airflow, python, database_env, keep))

    def _metadata_database(
        self,
        group: ProcessGroup,
        airflow: Path,
        python: Path,
        env: Mapping[str, str],
        home: Path,
        deadline: float,
        users: Mapping[str, Mapping[str, str]],
    ) -> None:
        """A freshly migrated metadata database holding ``users``: restored from the boot cache
        with their passwords set, else migrated and the users made (and then stored there, before
        anything else touches it)."""
        started = time.monotonic()
        users_file = home / USERS_FILE
        users_file.write_text(json.dumps(users))
        database: MetadataDatabase = (
            PostgresDatabase(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
            if self.database == "postgres"
            else SqliteFile(home / SQLITE_FILE)
        )
        cache = self._boot_cache(python, env, database, users)
        if cache is not None and self._restore(cache, database, home, users):
            progress.step(f"database and users restored from the boot cache after {time.monotonic() - started:.1f} s")
            return
        group.run_to_end(
            "db-migrate",
            [str(airflow), "db", "migrate"],
            deadline,
            late=(
                f"The local Airflow was not healthy after {self.boot_timeout:.0f} s: `airflow db migrate` had not "
                "finished (raise AIRFLOW_CONFORMANCE_BOOT_TIMEOUT if the machine is slow)"
            ),
        )
        # before any component starts: the api-server syncs FAB's permission tables at start-up
        # too, and together they collide (a UNIQUE constraint error killed the api-server, 3.4.0b2)
        group.run_to_end(
            "users",
            [str(python), "-m", "conformance_users", str(users_file)],
            deadline,
            late=(
                f"The local Airflow was not healthy after {self.boot_timeout:.0f} s: its users were not made yet "
                "(raise AIRFLOW_CONFORMANCE_BOOT_TIMEOUT if the machine is slow)"
            ),
        )
        if cache is not None:
            try:
                cache.store(database, home)
                self._cache_state(f"boot cache: miss, stored (key {cache.short})")
            except CacheError as exc:
                self._cache_state(f"boot cache: miss, not stored ({exc})")
        progress.step(f"database migrated and users made after {time.monotonic() - started:.1f} s")

    def _boot_cache(
        self,
        python: Path,
        env: Mapping[str, str],
        database: MetadataDatabase,
        users: Mapping[str, Mapping[str, str]],
    ) -> BootCache | None:
        """This boot's cache entry, or None (saying why) where the cache is off or cannot be trusted."""
        if not self.boot_cache:
            self._cache_state("boot cache: off (--no-boot-cache or AIRFLOW_CONFORMANCE_BOOT_CACHE=0)")
            return None
        if self.cache_folder is None:
            self._cache_state("boot cache: off (no home folder to keep it in; set XDG_CACHE_HOME to a folder)")
            return None
        if reason := unknown_database(env, database):
            self._cache_state(f"boot cache: off ({reason})")
            return None
        settings = {
            name: value
            for name, value in env.items()
            if name.startswith("AIRFLOW__") and name not in PER_SESSION_SETTINGS
        }
        try:
            key = boot_cache.key_for(
                python, env, database, FAB_AUTH_MANAGER, settings, boot_cache.users_part(users, USERS_SCRIPT)
            )
        except Uncacheable as exc:
            self._cache_state(f"boot cache: off ({exc})")
            return None
        return BootCache(self.cache_folder, key, database.suffix)

    def _cache_state(self, sentence: str) -> None:
        """Say what the boot cache did, and keep it for callers that measure boots (the bench)."""
        self.cache_state = sentence.removeprefix("boot cache: ")
        progress.step(sentence)

    def _restore(
        self, cache: BootCache, database: MetadataDatabase, home: Path, users: Mapping[str, Mapping[str, str]]
    ) -> bool:
        try:
            hit = cache.restore(database, home, {name: password_hash(user["password"]) for name, user in users.items()})
        except CacheError as exc:
            self._cache_state(f"boot cache: entry unusable ({exc}); migrating instead")
            return False
        if hit:
            self._cache_state(f"boot cache: hit (key {cache.short})")
        return hit

    @contextmanager
    def _components(
        self,
        airflow: Path,
        python: Path,
        database_env: Mapping[str, str],
        keep: StopPlan | None = None,
    ) -> Iterator[Connection]:
        home = Path(tempfile.mkdtemp(prefix="airflow-conformance-"))
        kept = False
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        passwords = {user: secrets.token_urlsafe(12) for user in ROLE_OF}
        env = {
            **child_environment(path_first=[airflow.parent], pythonpath_first=[AIRFLOW_SITE]),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir()),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__AUTH_MANAGER": FAB_AUTH_MANAGER,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            # every component must sign and check the same tokens; one secret per session
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            **database_env,
        }
        group = ProcessGroup(home, env)
        progress.step(f"Airflow components starting on port {port} (AIRFLOW_HOME={home})")
        try:
            started = time.monotonic()
            deadline = started + self.boot_timeout
            self._metadata_database(group, airflow, python, env, home, deadline, users=suite_users(passwords))
            progress.step(f"starting {', '.join(COMPONENTS)}")
            for component in COMPONENTS:
                group.start(component, [str(airflow), component], niceness=NICENESS.get(component, 0))
            wait_until_healthy(
                f"{base_url}{HEALTH_PATH}",
                deadline,
                check=group.check_running,
                on_progress=BootProgress(started),
                late=lambda: (
                    f"The local Airflow was not healthy after {self.boot_timeout:.0f} s (raise AIRFLOW_CONFORMANCE_BOOT_TIMEOUT "
                    f"if the machine is slow); the components' logs end:\n{group.tails()}"
                ),
            )
            try:
                tokens = {user: fetch_token(base_url, user, passwords[user]) for user in ROLE_OF}
            except (AirflowAPIError, httpx.HTTPError) as exc:
                raise TargetError(
                    f"The local Airflow at {base_url} came up but could not be logged in to ({exc}).\n{group.tails()}"
                ) from exc
            described = None
            if keep is not None:
                keep.kill_group(group.leader.pid)
                keep.remove(home)
                files = {
                    SENDER_OF[user]: str(write_token(home / "tokens", SENDER_OF[user], value))
                    for user, value in tokens.items()
                }
                described = KeptServer(
                    target=self.name, url=base_url, folder=str(home), token_files=files, stop=keep.line()
                )
            try:
                yield Connection(
                    target=self.name,
                    base_url=base_url,
                    token=tokens[ADMIN],
                    restricted_token=tokens[RESTRICTED],
                    no_runs_token=tokens[NO_RUNS],
                    kept=described,
                    database=self.database,
                    database_url=database_env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"),
                    description=(
                        f"Airflow components ({', '.join(COMPONENTS)}) on {self.database} with the FAB auth manager, "
                        f"from {airflow.parent} (AIRFLOW_HOME={home}, port {port})"
                    ),
                )
            except TargetError as exc:  # trouble while in use: the components' own logs say why
                raise TargetError(f"{exc}; the components' logs end:\n{group.tails()}") from exc
            kept = keep is not None  # the run's use ended normally: leave it all up
        finally:
            if not kept:
                group.stop(grace=STOP_GRACE)
                stop_strays(home)
                if not self.keep_home:
                    shutil.rmtree(home, ignore_errors=True)
