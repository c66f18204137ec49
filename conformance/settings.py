"""Every setting of a run, declared once: its variable, its options, its default and its help.

A setting reaches the harness three ways: an environment variable (``AIRFLOW_CONFORMANCE_DB``,
so that a container image is configured by variables alone), the front door's option
(``conformance run --airflow-db``) and pytest's (``--airflow-db``); an option given wins over
its variable. Each is one field of :class:`Settings` carrying a :class:`Declared` as metadata,
and everything else is derived from that: the front door's options (:func:`add_front_door_options`),
the plugin's (:func:`add_pytest_options`), the pytest arguments the front door hands on
(:func:`pytest_arguments`), the README's table (:func:`markdown`, checked by
tests/test_settings.py; ``python -m conformance.settings --update`` rewrites it) and the values
(:func:`read`).

The values are read once, where a run starts (the plugin's configure, a verb's ``main``), and
handed down as one frozen :class:`Settings`; no other module of ``conformance/`` reads the
environment (tests/test_settings.py checks). A child process's environment is made here as well
(:func:`child_environment`). Variables the harness honours but does not own (CI's, pytest-xdist's,
the XDG cache folder) are declared too, marked as set by whoever sets them.

Some values stay text: whether a database, a boot timeout or a pacing limit is right depends on
who reads it (the local and container targets allow different databases and default timeouts),
and the reader says what is wrong in its own sentence.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

BOOT_TIMEOUT = 180  # seconds, every target that boots a server
CELERY_BOOT_TIMEOUT = 300  # the Celery topology's nine containers
SQLITE_RUNS_IN_FLIGHT = 6  # sqlite standalone's scheduler exits when many tasks start together
DEFAULT_IMAGE = "apache/airflow:3.3.2"
DEFAULT_POSTGRES_IMAGE = "postgres:16"
DEFAULT_REDIS_IMAGE = "redis:7"
DEFAULT_NGINX_IMAGE = "nginx:1.27"
DATABASE_CHOICES = ("sqlite", "postgres")  # what --airflow-db accepts
START, END = "<!-- settings:start -->", "<!-- settings:end -->"

Option = Literal["value", "flag", "list"]


@attrs.frozen
class Declared:
    """How one setting is given and documented.

    ``variable`` is None for an option alone; ``read`` turns the variable's text (None when
    unset) into the value; ``option_kind`` says what the options take: a value, nothing (a
    flag, which sets ``flag_value``) or a repeatable value (``list``)."""

    variable: str | None
    scope: str  # who reads it: the README's "for" column
    help: str
    read: Callable[[str | None], Any] = lambda text: text
    front_door: str | None = None  # conformance run's option
    pytest: str | None = None  # the plugin's option
    option_kind: Option = "value"
    flag_value: Any = True  # a flag's value when given
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    owner: str = ""  # who sets it, when not the user: "CI", "pytest-xdist"
    documented: bool = True


def setting(default: Any = None, **declared: Any) -> Any:
    """A field of :class:`Settings` and its declaration."""
    return attrs.field(default=default, metadata={"declared": Declared(**declared)})


def _or(default: str | None) -> Callable[[str | None], str | None]:
    return lambda text: text or default


def _flag(text: str | None) -> bool:
    return text == "1"


def _listed(text: str | None) -> tuple[str, ...]:
    return (text,) if text else ()


@attrs.frozen
class Settings:
    """A run's settings; :func:`read` makes one. Field order is the README table's order."""

    target: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_TARGET",
        scope="all",
        help="`local` (default), `external` or `container`",
        front_door="--airflow-target",
        pytest="--airflow-target",
        metavar="NAME",
    )
    url: str = setting(
        "",
        variable="AIRFLOW_CONFORMANCE_URL",
        scope="external",
        help="the Airflow base URL, e.g. `https://airflow.example.com`",
        read=_or(""),
    )
    token: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_TOKEN", scope="external", help="a bearer token, or instead:"
    )
    username: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_USERNAME",
        scope="external",
        help="with `AIRFLOW_CONFORMANCE_PASSWORD`, exchanged for a token at `POST /auth/token`",
    )
    password: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_PASSWORD", scope="external", help="with `AIRFLOW_CONFORMANCE_USERNAME`"
    )
    restricted_token: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_RESTRICTED_TOKEN",
        scope="external, optional",
        help="a user who may read DAG runs but not XCom (FAB: `can_read` on `DAGs` and `DAG Runs` only), "
        "or its credentials in `..._RESTRICTED_USERNAME` and `..._RESTRICTED_PASSWORD`; without it the "
        "`AUTH-XCOM-*` clauses are `untested` (the local target makes one; the container target has none, "
        "so they are `untested` there)",
    )
    restricted_username: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_RESTRICTED_USERNAME", scope="external, optional", help="(see above)"
    )
    restricted_password: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_RESTRICTED_PASSWORD", scope="external, optional", help="(see above)"
    )
    no_runs_token: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_NO_RUNS_TOKEN",
        scope="external, optional",
        help="a user who may read the DAGs but not their runs (FAB: `can_read` on `DAGs` only), or its "
        "credentials in `..._NO_RUNS_USERNAME` and `..._NO_RUNS_PASSWORD`; without it `AUTH-RUNS-1` is "
        "`untested` (the local target makes one; the container target has none, so it is `untested` there)",
    )
    no_runs_username: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_NO_RUNS_USERNAME", scope="external, optional", help="(see above)"
    )
    no_runs_password: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_NO_RUNS_PASSWORD", scope="external, optional", help="(see above)"
    )
    database: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_DB",
        scope="all",
        help="`sqlite` (default) or `postgres` for the local target (a throwaway PostgreSQL from Debian's "
        "`postgresql` package; Airflow needs its `postgres` extra) and the container target (the "
        "topology of separate containers); on external, what the server runs on (divergences that "
        "depend on it; `sqlite` also paces the runs)",
        front_door="--airflow-db",
        pytest="--airflow-db",
        choices=DATABASE_CHOICES,
    )
    runs_in_flight: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_RUNS_IN_FLIGHT",
        scope="all",
        help=f"most fixture runs unfinished at once (default {SQLITE_RUNS_IN_FLIGHT} on sqlite, no limit "
        "otherwise; `0`: no limit): sqlite standalone's scheduler exits when too many tasks start together "
        "([the finding](docs/airflow-findings.md#observed-the-sqlite-standalone-scheduler-exits-when-many-tasks-start-at-once))",
    )
    image: str = setting(
        DEFAULT_IMAGE,
        variable="AIRFLOW_CONFORMANCE_IMAGE",
        scope="container",
        help=f"the Airflow image (default `{DEFAULT_IMAGE}`; tox's container envs use the locally built "
        "`airflow-conformance/airflow:3.3.2`)",
        read=_or(DEFAULT_IMAGE),
    )
    postgres_image: str = setting(
        DEFAULT_POSTGRES_IMAGE,
        variable="AIRFLOW_CONFORMANCE_POSTGRES_IMAGE",
        scope="container, postgres",
        help=f"the PostgreSQL image (default `{DEFAULT_POSTGRES_IMAGE}`; tox: `airflow-conformance/postgres:15`)",
        read=_or(DEFAULT_POSTGRES_IMAGE),
    )
    topology: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_TOPOLOGY",
        scope="container",
        help="`standalone`, `postgres` (what `AIRFLOW_CONFORMANCE_DB` alone chooses) or `celery` "
        "([the Celery topology](docs/targets.md#the-celery-topology), on PostgreSQL)",
        read=_or(None),
    )
    redis_image: str = setting(
        DEFAULT_REDIS_IMAGE,
        variable="AIRFLOW_CONFORMANCE_REDIS_IMAGE",
        scope="container, celery",
        help=f"the broker image (default `{DEFAULT_REDIS_IMAGE}`)",
        read=_or(DEFAULT_REDIS_IMAGE),
    )
    nginx_image: str = setting(
        DEFAULT_NGINX_IMAGE,
        variable="AIRFLOW_CONFORMANCE_NGINX_IMAGE",
        scope="container, celery",
        help=f"the load balancer image (default `{DEFAULT_NGINX_IMAGE}`)",
        read=_or(DEFAULT_NGINX_IMAGE),
    )
    boot_timeout: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_BOOT_TIMEOUT",
        scope="local, container",
        help=f"seconds to wait for every component to be healthy (default {BOOT_TIMEOUT}; "
        f"{CELERY_BOOT_TIMEOUT} for the Celery topology)",
    )
    keep_home: bool = setting(
        False,
        variable="AIRFLOW_CONFORMANCE_KEEP_HOME",
        scope="local",
        help="`1` keeps the temporary `AIRFLOW_HOME` (logs) after the run",
        read=_flag,
    )
    boot_cache: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_BOOT_CACHE",
        scope="local",
        help="`1` (default) copies a cached migrated metadata database instead of migrating, `0` migrates "
        "a fresh one at every boot ([the boot cache](docs/targets.md#the-boot-cache))",
        front_door="--no-boot-cache",
        pytest="--no-boot-cache",
        option_kind="flag",
        flag_value="0",
    )
    allow_absent_feature: bool = setting(
        False,
        variable=None,
        scope="all",
        help="exit 0 instead of 1 when every failure is a test the absent DAG Result feature could not run "
        "(for version matrices that include an Airflow older than 3.3)",
        front_door="--allow-absent-feature",
        pytest="--allow-absent-feature",
        option_kind="flag",
    )
    report: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_REPORT",
        scope="all",
        help="write `junit.xml`, `report.json` and `report.html` into this folder",
        read=_or(None),
        front_door="--report",
        pytest="--conformance-report",
        metavar="DIR",
    )
    report_url: str | None = setting(
        variable="AIRFLOW_CONFORMANCE_REPORT_URL",
        scope="all",
        help="where CI publishes `report.html`: the step summary's links point there",
        read=_or(None),
        owner="CI",
    )
    clause: tuple[str, ...] = setting(
        (),
        variable="AIRFLOW_CONFORMANCE_CLAUSE",
        scope="all",
        help="run only these clauses: ids or globs, e.g. `'STREAM-*'` (comma-separated; the option is repeatable)",
        read=_listed,
        front_door="--clause",
        pytest="--conformance-clause",
        option_kind="list",
        metavar="ID",
    )
    area: tuple[str, ...] = setting(
        (),
        variable="AIRFLOW_CONFORMANCE_AREA",
        scope="all",
        help="run only the clauses of these feature areas of clauses.yaml, e.g. `mapping` (comma-separated; repeatable)",
        read=_listed,
        front_door="--area",
        pytest="--conformance-area",
        option_kind="list",
        metavar="NAME",
    )
    level: tuple[str, ...] = setting(
        (),
        variable="AIRFLOW_CONFORMANCE_LEVEL",
        scope="all",
        help="run only the clauses of these levels, `MUST` or `OBSERVED` (comma-separated; repeatable)",
        read=_listed,
        front_door="--level",
        pytest="--conformance-level",
        option_kind="list",
        metavar="LEVEL",
    )
    keep_server: bool = setting(
        False,
        variable="AIRFLOW_CONFORMANCE_KEEP_SERVER",
        scope="local, container",
        help="`1` leaves the server up after the run and prints its URL, a token file for `$AIRFLOW_TOKEN` "
        "and the line that stops it",
        read=_flag,
        front_door="--keep-server",
        pytest="--keep-server",
        option_kind="flag",
    )
    ryuk_disabled: str | None = setting(
        variable="TESTCONTAINERS_RYUK_DISABLED",
        scope="container",
        help="`true` where testcontainers' reaper image (`testcontainers/ryuk`) cannot be pulled; the "
        "target removes its containers itself either way (read by testcontainers; a reproduce line carries it)",
    )
    mutant: str | None = setting(
        variable="CONFORMANCE_MUTANT",
        scope="local",
        help="the broken `/wait` Airflow serves, set by `conformance mutants` for each run it makes",
    )
    pythonpath: str | None = setting(
        variable="PYTHONPATH",
        scope="local",
        help="kept behind the folders the harness puts first for Airflow's processes; a reproduce line carries it",
    )
    xdg_cache_home: str | None = setting(
        variable="XDG_CACHE_HOME",
        scope="local",
        help="[the boot cache](docs/targets.md#the-boot-cache) lives under it (else under `~/.cache`)",
    )
    xdist_worker: str | None = setting(
        variable="PYTEST_XDIST_WORKER",
        scope="all",
        help="the worker's id: each worker makes re-measure runs of its own",
        owner="pytest-xdist",
    )
    step_summary: str | None = setting(
        variable="GITHUB_STEP_SUMMARY",
        scope="run, compare",
        help="a file a Markdown summary of the run (or comparison) is appended to",
        owner="GitHub Actions",
    )
    github_server_url: str | None = setting(
        variable="GITHUB_SERVER_URL",
        scope="run, compare",
        help="with the next two, the run's page",
        owner="GitHub Actions",
    )
    github_repository: str | None = setting(
        variable="GITHUB_REPOSITORY", scope="run, compare", help="(see above)", owner="GitHub Actions"
    )
    github_run_id: str | None = setting(
        variable="GITHUB_RUN_ID", scope="run, compare", help="(see above)", owner="GitHub Actions"
    )
    wait_url: str | None = setting(
        variable="AIRFLOW_WAIT_URL",
        scope="reference client",
        help="the `/wait` URL `python -m conformance.reference_client` waits on when given none; "
        "`conformance clients` sets it for each client it runs",
    )
    wait_token: str | None = setting(
        variable="AIRFLOW_TOKEN", scope="reference client", help="the reference client's bearer token"
    )
    given: Mapping[str, str] = attrs.field(factory=dict, repr=False)  # the declared variables set, as text

    def credentials(self, user: str = "") -> tuple[str | None, str | None, str | None]:
        """Token, username and password of the external target's admin (``""``), ``RESTRICTED`` or ``NO_RUNS`` user."""
        prefix = f"{user.lower()}_" if user else ""
        return tuple(getattr(self, f"{prefix}{part}") for part in ("token", "username", "password"))  # type: ignore[return-value]


# Documented in the same table, read by tox and the build scripts rather than by the harness.
TOOLING = (
    ("AIRFLOW_SPEC", "tox `airflow-custom`", "what pip installs as Airflow (a version spec, a wheel, a source path)"),
    (
        "AIRFLOW_SOURCE`, `AIRFLOW_SOURCE_PATCH`, `AIRFLOW_SOURCE_VERSION",
        "tox `airflow-source`",
        (
            "an Airflow checkout to build (default: the pinned 3.4.0b2 sdists), a diff applied before building, a "
            "version to relabel the build to ([Against an Airflow build](docs/targets.md#against-an-airflow-build))"
        ),
    ),
    ("DOCKER_HOST", "container", "the Docker engine to use (read by testcontainers)"),
    (
        "AIRFLOW_CONFORMANCE_CA_BUNDLE",
        "`tools/container/build.sh`",
        (
            "the CA bundle pip and uv trust inside an image build (default: `PIP_CERT`, `SSL_CERT_FILE`, "
            "`REQUESTS_CA_BUNDLE`, or the system bundle)"
        ),
    ),
)


def declarations() -> Iterator[tuple[str, Declared]]:
    """(field name, declaration) of every setting, in declaration order."""
    for field in attrs.fields(Settings):
        if "declared" in field.metadata:
            yield field.name, field.metadata["declared"]


def variable_of(name: str) -> str:
    """The environment variable of the setting ``name`` (a field of :class:`Settings`)."""
    variable = dict(declarations())[name].variable
    if variable is None:
        raise KeyError(f"setting {name!r} has no variable")
    return variable


def read(environ: Mapping[str, str] | None = None, **options: Any) -> Settings:
    """The settings: ``environ`` (this process's environment when None) under ``options``, the
    values of command-line options by field name; an option not given (None, False, empty) leaves
    its variable."""
    environ = os.environ if environ is None else environ
    values, given = {}, {}
    for name, declared in declarations():
        text = environ.get(declared.variable) if declared.variable else None
        if text is not None:
            given[declared.variable] = text
        option = options.pop(name, None)
        if option:
            kind = declared.option_kind
            values[name] = declared.flag_value if kind == "flag" else tuple(option) if kind == "list" else str(option)
        elif declared.variable:
            values[name] = declared.read(text)
    if options:
        raise TypeError(f"no such settings: {', '.join(options)}")
    return Settings(**values, given=given)


def from_pytest(config: Any, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of a pytest run: the plugin's options over the variables."""
    return read(environ, **{name: config.getoption(_dest(declared.pytest)) for name, declared in _with("pytest")})


def child_environment(
    changes: Mapping[str, str | None] = {},
    *,
    path_first: Sequence[str | Path] = (),
    pythonpath_first: Sequence[str | Path] = (),
) -> dict[str, str]:
    """This process's environment for a child (Airflow's processes, a client, a pytest run):
    ``path_first`` before PATH, ``pythonpath_first`` before PYTHONPATH, then ``changes`` (None
    removes a variable)."""
    env = dict(os.environ)
    if path_first:
        env["PATH"] = os.pathsep.join([*map(str, path_first), env.get("PATH", "")])
    if pythonpath_first:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [*map(str, pythonpath_first), env.get("PYTHONPATH")]))
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


# --- options, derived ---


def _with(kind: Literal["front_door", "pytest"]) -> list[tuple[str, Declared]]:
    return [(name, declared) for name, declared in declarations() if getattr(declared, kind)]


def _dest(option: str) -> str:
    return option.removeprefix("--").replace("-", "_")


def _help(declared: Declared) -> str:
    text = re.sub(r"\[([^]]+)\]\([^)]+\)", r"\1", declared.help).replace("`", "")
    return f"{declared.scope}: {text}" + (f"; also {declared.variable}" if declared.variable else "")


def _option_arguments(declared: Declared) -> dict[str, Any]:
    if declared.option_kind == "flag":
        return {"action": "store_true"}
    arguments: dict[str, Any] = {"metavar": declared.metavar} if declared.metavar else {}
    if declared.choices:
        arguments["choices"] = list(declared.choices)
    if declared.option_kind == "list":
        arguments["action"] = "append"
    return arguments


def add_front_door_options(parser: argparse.ArgumentParser, groups: Mapping[str, Any] = {}) -> None:
    """``conformance run``'s options for the settings that have one (in ``groups[name]`` when given)."""
    for name, declared in _with("front_door"):
        default = [] if declared.option_kind == "list" else None
        groups.get(name, parser).add_argument(
            declared.front_door, default=default, help=_help(declared), **_option_arguments(declared)
        )


def add_pytest_options(group: Any) -> None:
    """The plugin's options (a pytest ``OptionGroup``) for the settings that have one."""
    for _, declared in _with("pytest"):
        group.addoption(declared.pytest, default=None, help=_help(declared), **_option_arguments(declared))


def front_door_values(args: argparse.Namespace) -> dict[str, Any]:
    """The front door's parsed options, by setting."""
    return {name: getattr(args, _dest(declared.front_door)) for name, declared in _with("front_door")}


def pytest_arguments(values: Mapping[str, Any]) -> list[str]:
    """pytest's arguments for front-door option values by setting (flags true, values, lists)."""
    argv: list[str] = []
    for name, declared in _with("pytest"):
        value = values.get(name)
        if declared.option_kind == "flag":
            argv += [declared.pytest] if value else []
        elif declared.option_kind == "list":
            for item in value or ():
                argv += [declared.pytest, str(item)]
        elif value is not None:
            argv += [declared.pytest, str(value)]
    return argv


# --- the README's table, derived ---


def _options_of(declared: Declared) -> str:
    options = dict.fromkeys(option for option in (declared.front_door, declared.pytest) if option)
    if not options:
        return ""
    front = " (`conformance run`)" if declared.front_door and declared.front_door != declared.pytest else ""
    pytest = " (pytest)" if front else ""
    parts = [f"`{declared.front_door}`{front}"] if front else []
    parts.append(f"`{declared.pytest}`{pytest}" if declared.pytest else "")
    return "; also " + ", ".join(part for part in parts if part)


def markdown() -> str:
    """The table of every variable, for the README (between its settings markers)."""
    lines = ["| variable | for | meaning |", "|---|---|---|"]
    for _, declared in declarations():
        if declared.variable and declared.documented:
            owner = f" (set by {declared.owner})" if declared.owner else ""
            lines.append(
                f"| `{declared.variable}` | {declared.scope} | {declared.help}{owner}{_options_of(declared)} |"
            )
    lines += [f"| `{variable}` | {scope} | {meaning} |" for variable, scope, meaning in TOOLING]
    return "\n".join(lines)


def with_table(text: str) -> str:
    """``text`` (a Markdown page) with its settings block replaced by :func:`markdown`'s table."""
    before, start, rest = text.partition(START)
    _, end, after = rest.partition(END)
    if not (start and end):
        raise ValueError(f"no {START} ... {END} block")
    return f"{before}{START}\n{markdown()}\n{END}{after}"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m conformance.settings [--update [README]]``: print the table, or rewrite the
    README's (in the current folder unless named)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] != ["--update"]:
        print(markdown())
        return 0
    readme = Path(argv[1] if len(argv) > 1 else "README.md")
    readme.write_text(with_table(readme.read_text()))
    print(f"updated {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
