"""The boot cache: keys that change with every input, hits, misses, atomic stores, the switch.

No Airflow here: distributions are fake ``*.dist-info`` folders, the migrated database a sqlite
file with an ``alembic_version`` table, and PostgreSQL (where installed) a throwaway server.
"""

import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from conformance.plugin import controller
from conformance.settings import read
from conformance.targets import TargetError, boot_cache, make_target
from conformance.targets.boot_cache import (
    BootCache,
    CacheError,
    PostgresDatabase,
    SqliteFile,
    Uncacheable,
    cache_key,
    distribution_parts,
    probe,
)
from conformance.targets.fab_password import password_hash
from conformance.targets.local import LocalTarget, unknown_database
from conformance.targets.postgres import pg_binary, temporary_postgres
from conformance.targets.processes import ProcessGroup

CORE_RECORD = "airflow/__init__.py,sha256=aaa,100\nairflow/models/base.py,sha256=bbb,200\n"


def install(
    site: Path, name: str, version: str, record: str | None = "x.py,sha256=1,1\n", direct_url: str | None = None
) -> Path:
    """A fake installed distribution: what importlib.metadata reads of one."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    if record is not None:
        (info / "RECORD").write_text(record)
    if direct_url is not None:
        (info / "direct_url.json").write_text(direct_url)
    return info


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site-packages"
    install(site, "apache-airflow", "3.3.2")
    install(site, "apache-airflow-core", "3.3.2", CORE_RECORD)
    install(site, "apache_airflow_task_sdk", "1.3.2")
    install(site, "apache-airflow-providers-fab", "3.10.2")
    install(site, "SQLAlchemy", "2.0.40")
    install(site, "requests", "2.32.0")
    return site


def key_of(site: Path, **changed: str) -> str:
    inputs = {"database": "sqlite", "auth": "FabAuthManager", "settings": "{}", "python": "3.11.7", **changed}
    return cache_key([(label, value.encode()) for label, value in inputs.items()] + distribution_parts([str(site)]))


# --- the switch and the folder ---


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, True), ({"AIRFLOW_CONFORMANCE_BOOT_CACHE": "1"}, True), ({"AIRFLOW_CONFORMANCE_BOOT_CACHE": "0"}, False)],
)
def test_the_switch_is_0_or_1_and_on_by_default(environ, expected):
    assert boot_cache.enabled(read(environ).boot_cache) is expected


@pytest.mark.parametrize("value", ["off", "", "true", " 1", "00"])
def test_any_other_switch_value_is_one_sentence(value):
    sentence = (
        "AIRFLOW_CONFORMANCE_BOOT_CACHE must be 1 (reuse a cached migrated database, the default) or 0 "
        f"(migrate a fresh one at every boot), not {value!r}."
    )
    with pytest.raises(TargetError) as raised:
        make_target("local", read({"AIRFLOW_CONFORMANCE_BOOT_CACHE": value}))
    assert str(raised.value) == sentence


def test_the_folder_is_under_the_users_cache(tmp_path, monkeypatch):
    assert (
        boot_cache.cache_folder(read({"XDG_CACHE_HOME": str(tmp_path)}).xdg_cache_home)
        == tmp_path / "airflow-dag-result-conformance" / "boot"
    )
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".cache" / "airflow-dag-result-conformance" / "boot"
    assert boot_cache.cache_folder(read({}).xdg_cache_home) == expected
    assert (
        boot_cache.cache_folder(read({"XDG_CACHE_HOME": "relative/cache"}).xdg_cache_home) == expected
    )  # not absolute: ignored, as XDG says
    assert (
        LocalTarget(read({"XDG_CACHE_HOME": str(tmp_path)})).cache_folder
        == tmp_path / "airflow-dag-result-conformance" / "boot"
    )


def test_no_boot_cache_reaches_the_target_as_its_variable(pytester, monkeypatch):
    seen = {}

    def no_target(name, settings):
        seen.update(settings.given, AIRFLOW_CONFORMANCE_BOOT_CACHE=settings.boot_cache)
        raise TargetError("stopped here.")

    monkeypatch.setattr(controller, "make_target", no_target)
    monkeypatch.setattr(
        controller.signal, "signal", lambda *args: None
    )  # the controller's SIGTERM handler stays out of this process
    pytester.inline_run("--pyargs", "conformance.suite", "--no-boot-cache", "-p", "no:cacheprovider", "-p", "no:xdist")
    assert seen["AIRFLOW_CONFORMANCE_BOOT_CACHE"] == "0"


# --- the key ---


def test_the_key_covers_airflow_its_providers_and_the_schema_libraries_by_their_records(site):
    labels = [label for label, _ in distribution_parts([str(site)])]
    assert labels == [
        "distribution apache-airflow 3.3.2",
        "distribution apache-airflow-core 3.3.2",
        "distribution apache-airflow-providers-fab 3.10.2",
        "distribution apache-airflow-task-sdk 1.3.2",
        "distribution sqlalchemy 2.0.40",
    ]


def test_the_key_changes_with_any_hashed_distributions_build(site):
    before = key_of(site)
    assert key_of(site) == before
    (site / "apache_airflow_core-3.3.2.dist-info" / "RECORD").write_text(CORE_RECORD.replace("bbb", "ccc"))
    rebuilt = key_of(site)
    assert rebuilt != before
    install(site, "apache-airflow-providers-postgres", "6.0.0")
    assert key_of(site) != rebuilt


def test_the_key_changes_with_the_database_the_auth_manager_the_settings_and_python(site):
    keys = {
        key_of(site),
        key_of(site, database="postgres"),
        key_of(site, auth="SimpleAuthManager"),
        key_of(site, settings='[["AIRFLOW__CORE__DEFAULT_POOL_TASK_SLOT_COUNT", "64"]]'),
        key_of(site, python="3.12.1"),
    }
    assert len(keys) == 5


def test_the_key_changes_with_the_users_their_roles_and_the_script_granting_them(tmp_path):
    """An entry holds the users the script made; a boot wanting another user, another role or
    other grants must not read it (it would lack them), but other passwords are every boot's own."""
    script = tmp_path / "conformance_users.py"
    script.write_text("ROLES = {'ConformanceNoXCom': (('can_read', 'DAGs'), ('can_read', 'DAG Runs'))}\n")
    two = {
        "admin": {"role": "Admin", "password": "a"},
        "no-xcom-reader": {"role": "ConformanceNoXCom", "password": "b"},
    }

    def key(users):
        return cache_key([("database", b"sqlite"), boot_cache.users_part(users, script)])

    before = key(two)
    assert key({name: {**user, "password": "other"} for name, user in two.items()}) == before
    three = {**two, "no-runs-reader": {"role": "ConformanceNoRuns", "password": "c"}}
    keys = {before, key(three), key({**two, "no-xcom-reader": {"role": "Viewer", "password": "b"}})}
    script.write_text(script.read_text() + "ROLES['ConformanceNoRuns'] = (('can_read', 'DAGs'),)\n")
    keys.add(key(three))
    assert len(keys) == 4
    with pytest.raises(Uncacheable, match="the users script .* could not be read"):
        boot_cache.users_part(two, tmp_path / "gone.py")


def test_the_key_is_the_same_in_every_virtualenv_of_one_build(site):
    """Console scripts sit outside the distribution's folder and name their virtualenv's python."""
    record = site / "apache_airflow_core-3.3.2.dist-info" / "RECORD"
    record.write_text(CORE_RECORD + "../../../bin/airflow,sha256=venvone,326\n")
    in_one = key_of(site)
    record.write_text(CORE_RECORD + "../../../bin/airflow,sha256=venvtwo,320\n")
    assert key_of(site) == in_one
    record.write_text(CORE_RECORD.replace("bbb", "ccc") + "../../../bin/airflow,sha256=venvtwo,320\n")
    assert key_of(site) != in_one


def test_the_key_ignores_distributions_that_create_no_tables(site):
    before = key_of(site)
    (site / "requests-2.32.0.dist-info" / "RECORD").write_text("changed\n")
    install(site, "rich", "13.0.0")
    assert key_of(site) == before


def test_an_editable_airflow_is_not_cached(site):
    install(
        site,
        "apache-airflow-providers-standard",
        "1.0.0",
        direct_url='{"url": "file:///src", "dir_info": {"editable": true}}',
    )
    with pytest.raises(Uncacheable, match=r"apache-airflow-providers-standard is an editable install"):
        distribution_parts([str(site)])


def test_a_distribution_without_a_record_is_not_cached(site):
    install(site, "alembic", "1.16.0", record=None)
    with pytest.raises(Uncacheable, match=r"alembic 1\.16\.0 has no RECORD"):
        distribution_parts([str(site)])


def test_no_airflow_no_cache(tmp_path):
    install(tmp_path, "sqlalchemy", "2.0.40")
    with pytest.raises(Uncacheable, match="no apache-airflow distribution"):
        distribution_parts([str(tmp_path)])


def test_the_interpreter_is_asked_for_its_own_path(site):
    """Airflow's interpreter may not be ours: its sys.path comes from running it, with Airflow's environment."""
    found = probe(Path(sys.executable), {**os.environ, "PYTHONPATH": str(site)})
    assert str(site) in found.path
    assert "" not in found.path
    assert found.python == sys.version
    assert found.sqlite == sqlite3.sqlite_version
    with pytest.raises(Uncacheable, match="could not be asked for its sys.path"):
        probe(site / "no-python")


def test_a_database_the_target_does_not_choose_turns_the_cache_off(tmp_path):
    sqlite = SqliteFile(tmp_path / "airflow.db")
    assert unknown_database({"AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "x"}, sqlite) is None
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is set" in unknown_database(
        {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:////x.db"}, sqlite
    )
    assert "AIRFLOW_CONFIG is set" in unknown_database({"AIRFLOW_CONFIG": "/etc/airflow.cfg"}, sqlite)
    assert (
        unknown_database(
            {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://..."}, PostgresDatabase("postgresql://...")
        )
        is None
    )


# --- entries: miss, store, hit ---


HASHES = {"admin": "scrypt:32768:8:1$new$aa", "no-xcom-reader": "scrypt:32768:8:1$new$bb"}


def migrated(path: Path, revision: str = "abc123", *, keep_open: bool = False) -> sqlite3.Connection | None:
    """A sqlite file as a migration and the users script leave it, in WAL mode as Airflow puts
    it; with ``keep_open`` its rows stay in the write-ahead log (a connection still open), not
    yet in the main file."""
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
    connection.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
    connection.execute("CREATE TABLE ab_user (username TEXT, password TEXT)")
    connection.executemany("INSERT INTO ab_user VALUES (?, 'old')", [(user,) for user in HASHES])
    connection.commit()
    if keep_open:
        return connection
    connection.close()
    return None


def revision_of(path: Path) -> str:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def passwords_of(path: Path) -> dict[str, str]:
    with closing(sqlite3.connect(path)) as connection:
        return dict(connection.execute("SELECT username, password FROM ab_user"))


def home_with_config(home: Path) -> Path:
    home.mkdir(parents=True)
    (home / "airflow.cfg").write_text(f"[core]\ndags_folder = {home}/dags\nfernet_key = k1\n")
    return home


def test_a_miss_then_a_store_then_a_hit(tmp_path):
    cache = BootCache(tmp_path / "cache", "1a2b3c4d" * 8, ".sqlite")
    cold, warm = home_with_config(tmp_path / "cold"), tmp_path / "warm"
    warm.mkdir()
    first, second = SqliteFile(cold / "airflow.db"), SqliteFile(warm / "airflow.db")
    assert cache.restore(second, warm, HASHES) is False
    assert not second.path.exists()
    still_open = migrated(first.path, keep_open=True)
    try:
        cache.store(first, cold)
    finally:
        still_open.close()
    assert (
        cache.entry.is_file()
        and cache.config.read_text() == f"[core]\ndags_folder = {boot_cache.HOME_MARK}/dags\nfernet_key = k1\n"
    )
    assert cache.short == "1a2b3c4d…"
    assert cache.restore(second, warm, HASHES) is True
    assert revision_of(second.path) == "abc123"  # what was still in the write-ahead log is in the entry
    assert passwords_of(second.path) == HASHES  # this session's, not the stored session's
    assert (warm / "airflow.cfg").read_text() == f"[core]\ndags_folder = {warm}/dags\nfernet_key = k1\n"


def test_an_entry_without_its_airflow_cfg_is_a_miss(tmp_path):
    cache = BootCache(tmp_path / "cache", "2" * 64, ".sqlite")
    cold = home_with_config(tmp_path / "cold")
    migrated(cold / "airflow.db")
    cache.store(SqliteFile(cold / "airflow.db"), cold)
    cache.config.unlink()
    assert cache.restore(SqliteFile(tmp_path / "warm.db"), tmp_path, HASHES) is False


def test_an_entry_that_is_no_migrated_database_is_dropped(tmp_path):
    cache = BootCache(tmp_path, "f" * 64, ".sqlite")
    cache.entry.write_bytes(b"not a database")
    cache.config.write_text("[core]\n")
    target = SqliteFile(tmp_path / "home" / "airflow.db")
    target.path.parent.mkdir()
    with pytest.raises(CacheError, match="is not a migrated database"):
        cache.restore(target, target.path.parent, HASHES)
    assert not cache.entry.exists() and not cache.config.exists()
    assert list(target.path.parent.iterdir()) == []  # nothing half-restored for the migration to trip on


def test_an_entry_without_the_users_is_dropped(tmp_path):
    cache = BootCache(tmp_path / "cache", "3" * 64, ".sqlite")
    cold = home_with_config(tmp_path / "cold")
    migrated(cold / "airflow.db")
    with closing(sqlite3.connect(cold / "airflow.db")) as connection, connection:
        connection.execute("DELETE FROM ab_user WHERE username = 'no-xcom-reader'")
    cache.store(SqliteFile(cold / "airflow.db"), cold)
    warm = tmp_path / "warm"
    warm.mkdir()
    with pytest.raises(CacheError, match="the entry has no user no-xcom-reader"):
        cache.restore(SqliteFile(warm / "airflow.db"), warm, HASHES)
    assert not cache.entry.exists() and not cache.config.exists()


def test_a_store_without_airflow_cfg_is_a_cache_error(tmp_path):
    migrated(tmp_path / "airflow.db")
    with pytest.raises(CacheError, match="no airflow.cfg"):
        BootCache(tmp_path / "cache", "4" * 64, ".sqlite").store(SqliteFile(tmp_path / "airflow.db"), tmp_path)


def test_a_store_writes_beside_the_entry_then_replaces_it_whole(tmp_path):
    cache = BootCache(tmp_path, "e" * 64, ".sqlite")
    cache.entry.write_bytes(b"old entry")
    seen = []

    def write(temporary: Path) -> None:
        seen.append((temporary.parent, cache.entry.read_bytes()))
        temporary.write_bytes(b"new entry")

    cache.write_atomically(write)
    assert seen == [(tmp_path, b"old entry")]  # the entry stayed whole while the new one was written
    assert cache.entry.read_bytes() == b"new entry"
    assert [path.name for path in tmp_path.iterdir()] == [cache.entry.name]


def test_a_store_that_fails_leaves_the_old_entry_and_no_temporary_file(tmp_path):
    cache = BootCache(tmp_path, "d" * 64, ".sqlite")
    cache.entry.write_bytes(b"old entry")

    def fail(temporary: Path) -> None:
        temporary.write_bytes(b"half")
        raise CacheError("pg_dump failed with exit code 1")

    with pytest.raises(CacheError, match="pg_dump failed"):
        cache.write_atomically(fail)
    assert cache.entry.read_bytes() == b"old entry"
    assert [path.name for path in tmp_path.iterdir()] == [cache.entry.name]


def test_an_unwritable_folder_is_a_cache_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(CacheError, match="no entry could be written"):
        BootCache(tmp_path / "file" / "boot", "c" * 64, ".sqlite").write_atomically(lambda path: None)


def test_pruning_keeps_the_most_recently_used_entries(tmp_path):
    now = time.time()
    for age in range(5):
        entry = tmp_path / f"{age}.sqlite"
        entry.write_bytes(b"")
        entry.with_suffix(boot_cache.CONFIG_SUFFIX).write_text("[core]\n")
        os.utime(entry, (now - age * 60, now - age * 60))
    orphan = tmp_path / f"dead{boot_cache.CONFIG_SUFFIX}"  # a store died before writing its database
    orphan.write_text("[core]\n")
    os.utime(orphan, (now - 2 * boot_cache.STALE_TEMPORARY_S, now - 2 * boot_cache.STALE_TEMPORARY_S))
    stale, fresh = (
        tmp_path / f"{boot_cache.TEMPORARY_PREFIX}dead.sqlite",
        tmp_path / f"{boot_cache.TEMPORARY_PREFIX}live.sqlite",
    )
    stale.write_bytes(b"")
    fresh.write_bytes(b"")
    os.utime(stale, (now - 2 * boot_cache.STALE_TEMPORARY_S, now - 2 * boot_cache.STALE_TEMPORARY_S))
    BootCache(tmp_path, "0" * 64, ".sqlite").prune(keep=2)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["0.sqlite", "0.cfg", "1.sqlite", "1.cfg", fresh.name]
    )


# --- the local target's boot ---


FAKE_MIGRATE = """#!{python}
import os, sqlite3, sys
home = os.environ["AIRFLOW_HOME"]
assert sys.argv[1:] == ["db", "migrate"], sys.argv
open(os.path.join(home, "airflow.cfg"), "w").write("[core]\\n")
with open(os.environ["MIGRATIONS_LOG"], "a") as log:
    log.write(home + "\\n")
connection = sqlite3.connect(os.path.join(home, "airflow.db"))
connection.execute("CREATE TABLE alembic_version (version_num TEXT)")
connection.execute("INSERT INTO alembic_version VALUES ('head')")
connection.commit()
"""
FAKE_USERS = """import json, os, sqlite3, sys
users = json.load(open(sys.argv[1]))
connection = sqlite3.connect(os.path.join(os.environ["AIRFLOW_HOME"], "airflow.db"))
connection.execute("CREATE TABLE IF NOT EXISTS ab_user (username TEXT, password TEXT)")
connection.executemany("INSERT INTO ab_user VALUES (?, ?)", [(name, "made:" + user["password"]) for name, user in users.items()])
connection.commit()
"""
USERS = {
    "admin": {"role": "Admin", "password": "pw1"},
    "no-xcom-reader": {"role": "ConformanceNoXCom", "password": "pw2"},
}


def test_the_local_target_migrates_once_then_copies_the_migrated_database(tmp_path, monkeypatch, caplog):
    """A fake ``airflow db migrate`` and a fake users script: the first boot migrates, makes the
    users and stores; the next copies the entry, airflow.cfg and users with this session's
    passwords, running neither; a switched-off one migrates."""
    for name in ("AIRFLOW_CONFIG", *(name for name in os.environ if name.startswith("AIRFLOW__"))):
        monkeypatch.delenv(name, raising=False)
    site = tmp_path / "site"
    install(site, "apache-airflow-core", "3.3.2", CORE_RECORD)
    (site / "conformance_users.py").write_text(FAKE_USERS)
    airflow = tmp_path / "bin" / "airflow"
    airflow.parent.mkdir()
    airflow.write_text(FAKE_MIGRATE.format(python=sys.executable))
    airflow.chmod(0o755)
    migrations = tmp_path / "migrations.log"
    caplog.set_level("INFO", logger="conformance.live.progress")

    def boot(name: str, users=USERS, **environ: str) -> tuple[Path, list[str]]:
        caplog.clear()
        home = tmp_path / name
        home.mkdir()
        env = {**os.environ, "AIRFLOW_HOME": str(home), "PYTHONPATH": str(site), "MIGRATIONS_LOG": str(migrations)}
        target = LocalTarget(read({"XDG_CACHE_HOME": str(tmp_path / "cache"), **environ}))
        target._metadata_database(
            ProcessGroup(home, env), airflow, Path(sys.executable), env, home, time.monotonic() + 60, users
        )
        return home, [message for message in caplog.messages if message.startswith("boot cache: ")]

    cold, said = boot("cold")
    assert [message.split(" (key")[0] for message in said] == ["boot cache: miss, stored"]
    assert passwords_of(cold / "airflow.db") == {"admin": "made:pw1", "no-xcom-reader": "made:pw2"}
    warm, said = boot("warm", users={name: {**user, "password": "fresh"} for name, user in USERS.items()})
    assert [message.split(" (key")[0] for message in said] == ["boot cache: hit"]
    assert migrations.read_text().splitlines() == [str(cold)]
    assert revision_of(warm / "airflow.db") == "head"
    assert (warm / "airflow.cfg").read_text() == "[core]\n"
    assert {
        name: check_scrypt(value, "fresh") for name, value in passwords_of(warm / "airflow.db").items()
    } == dict.fromkeys(USERS, True)
    off, said = boot("off", AIRFLOW_CONFORMANCE_BOOT_CACHE="0")
    assert said == ["boot cache: off (--no-boot-cache or AIRFLOW_CONFORMANCE_BOOT_CACHE=0)"]
    assert migrations.read_text().splitlines() == [str(cold), str(off)]
    # a user added since the entry was stored: another key, so the boot migrates and makes it
    more, said = boot("more", users={**USERS, "no-runs-reader": {"role": "ConformanceNoRuns", "password": "pw3"}})
    assert [message.split(" (key")[0] for message in said] == ["boot cache: miss, stored"]
    assert migrations.read_text().splitlines() == [str(cold), str(off), str(more)]
    assert passwords_of(more / "airflow.db")["no-runs-reader"] == "made:pw3"


def check_scrypt(stored: str, password: str) -> bool:
    return password_hash(password, salt=stored.split("$")[1]) == stored


# --- PostgreSQL ---


def fake_program(folder: Path, name: str, script: str) -> None:
    program = folder / name
    program.write_text(f"#!/bin/sh\n{script}\n")
    program.chmod(0o755)


def test_a_postgres_entry_is_dumped_and_restored_in_one_transaction(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    fake_program(
        tmp_path,
        "pg_dump",
        f'echo "$@" > {tmp_path}/dump-args; for a; do case $a in --file=*) echo dump > "${{a#--file=}}";; esac; done',
    )
    fake_program(tmp_path, "pg_restore", f'echo "$@" > {tmp_path}/restore-args')
    fake_program(tmp_path, "psql", f'echo "$@" > {tmp_path}/psql-args; echo admin; echo no-xcom-reader')
    database = PostgresDatabase("postgresql+psycopg2://airflow@127.0.0.1:5999/airflow")
    cache = BootCache(tmp_path / "cache", "b" * 64, database.suffix)
    home = home_with_config(tmp_path / "home")
    cache.store(database, home)
    assert cache.entry.read_text() == "dump\n"
    assert "--dbname=postgresql://airflow@127.0.0.1:5999/airflow" in (tmp_path / "dump-args").read_text()
    assert cache.restore(database, home, HASHES) is True
    restore_args = (tmp_path / "restore-args").read_text().split()
    assert {"--exit-on-error", "--single-transaction"} <= set(restore_args)
    assert restore_args[-1] == str(cache.entry)
    assert (
        "UPDATE ab_user SET password = CASE username WHEN 'admin' THEN 'scrypt:32768:8:1$new$aa'"
        in (tmp_path / "psql-args").read_text()
    )


def test_a_failed_postgres_restore_is_a_cache_error_with_its_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    fake_program(tmp_path, "pg_restore", 'echo "pg_restore: error: could not execute query" >&2; exit 1')
    database = PostgresDatabase("postgresql://airflow@127.0.0.1:5999/airflow")
    cache = BootCache(tmp_path, "a" * 64, database.suffix)
    cache.entry.write_text("dump")
    cache.config.write_text("[core]\n")
    with pytest.raises(
        CacheError, match=r"pg_restore failed with exit code 1: pg_restore: error: could not execute query"
    ):
        cache.restore(database, tmp_path, HASHES)


def postgres_installed() -> bool:
    try:
        pg_binary("initdb")
    except TargetError:
        return False
    return True


def psql(url: str, sql: str) -> str:
    done = subprocess.run(
        [str(pg_binary("psql")), "-v", "ON_ERROR_STOP=1", "-qAt", url, "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def schema_of(url: str) -> list[str]:
    dumped = subprocess.run(
        [str(pg_binary("pg_dump")), "--schema-only", url], capture_output=True, text=True, check=True
    ).stdout
    return [line for line in dumped.splitlines() if line and not line.startswith(("--", "\\restrict", "\\unrestrict"))]


MIGRATED = """
CREATE TYPE state AS ENUM ('queued', 'running');
CREATE TABLE dag (dag_id varchar(250) PRIMARY KEY, data jsonb);
CREATE TABLE dag_run (id serial PRIMARY KEY, dag_id varchar(250) REFERENCES dag (dag_id) ON DELETE CASCADE, state state);
CREATE INDEX idx_dag_run_dag_id ON dag_run (dag_id);
CREATE TABLE slot_pool (id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, pool varchar(256) UNIQUE, slots integer);
INSERT INTO slot_pool (pool, slots) VALUES ('default_pool', 128);
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO alembic_version VALUES ('abc123');
CREATE TABLE ab_user (id serial PRIMARY KEY, username varchar(512) UNIQUE, password varchar(256));
INSERT INTO ab_user (username, password) VALUES ('admin', 'old'), ('no-xcom-reader', 'old'), ('someone''s', 'old');
"""


@pytest.mark.skipif(not postgres_installed(), reason="PostgreSQL is not installed (Debian's postgresql package)")
def test_a_restored_postgres_database_is_the_one_dumped(tmp_path):
    """Schema, rows and sequences (the next id) come back as they were, into a database made as
    the target makes its own; and a restore that fails leaves nothing behind."""
    with temporary_postgres() as url:
        migrated_db = PostgresDatabase(url)
        psql(migrated_db.libpq_url, MIGRATED)
        cache = BootCache(tmp_path, "9" * 64, migrated_db.suffix)
        home = home_with_config(tmp_path / "home")
        cache.store(migrated_db, home)
        fresh = PostgresDatabase(url.rsplit("/", 1)[0] + "/fresh")
        psql(migrated_db.libpq_url, "CREATE DATABASE fresh")
        assert cache.restore(fresh, home, {**HASHES, "someone's": "quoted"}) is True
        assert schema_of(fresh.libpq_url) == schema_of(migrated_db.libpq_url)
        assert (
            psql(fresh.libpq_url, "SELECT pool, slots FROM slot_pool; SELECT version_num FROM alembic_version")
            == "default_pool|128\nabc123\n"
        )
        assert psql(fresh.libpq_url, "SELECT username, password FROM ab_user ORDER BY id") == (
            "admin|scrypt:32768:8:1$new$aa\nno-xcom-reader|scrypt:32768:8:1$new$bb\nsomeone's|quoted\n"
        )
        assert psql(fresh.libpq_url, "INSERT INTO slot_pool (pool, slots) VALUES ('more', 1) RETURNING id") == "2\n"
        psql(migrated_db.libpq_url, "CREATE DATABASE half")
        half = PostgresDatabase(url.rsplit("/", 1)[0] + "/half")
        psql(half.libpq_url, "CREATE TABLE dag_run (id integer)")  # the restore will collide with it
        with pytest.raises(CacheError, match="pg_restore failed"):
            cache.restore(half, home, HASHES)
        assert (
            psql(half.libpq_url, "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'")
            == "dag_run\n"
        )
