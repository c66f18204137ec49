"""The run settings: declared once, read only by conformance/settings.py, documented from the declaration."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import conformance
from conformance import cli, settings

PACKAGE = Path(conformance.__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
READER = PACKAGE / "settings.py"
NOT_CHECKED = ("targets/airflow_site",)  # imported by Airflow's own interpreter, not by the harness


def environment_reads(source: str) -> list[int]:
    """Lines of ``source`` that read the process environment: ``os.environ`` (any use),
    ``os.getenv``, ``os.environb``, and ``environ``/``getenv`` imported from os."""
    tree = ast.parse(source)
    from_os = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "os"
        for alias in node.names
        if alias.name in ("environ", "environb", "getenv", "getenvb")
    }
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in ("environ", "environb", "getenv", "getenvb")
        ) or (isinstance(node, ast.Name) and node.id in from_os):
            found.add(node.lineno)
    return sorted(found)


def checked_files() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != READER and not any(path.is_relative_to(PACKAGE / folder) for folder in NOT_CHECKED)
    ]


def test_only_the_settings_module_reads_the_environment():
    reads = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {path.read_text().splitlines()[line - 1].strip()}"
        for path in checked_files()
        for line in environment_reads(path.read_text())
    ]
    assert reads == [], (
        "declare the variable in conformance/settings.py and pass the value down "
        "(a child's environment: settings.child_environment):\n" + "\n".join(reads)
    )
    assert len(checked_files()) > 50 and PACKAGE / "suite" / "test_stream.py" in checked_files()


@pytest.mark.parametrize(
    "planted",
    [
        "import os\nx = os.environ.get('A')\n",
        "import os\nx = os.environ['A']\n",
        "import os\nx = os.getenv('A')\n",
        "import os\nx = dict(os.environ)\n",
        "import os\ndef f(environ=os.environ):\n    return environ\n",
        "from os import environ\nx = environ['A']\n",
        "from os import getenv as g\nx = g('A')\n",
    ],
)
def test_the_check_catches_a_planted_read(planted):
    assert environment_reads(planted) == [2]


def test_the_check_leaves_other_environs_alone():
    assert environment_reads("def f(environ):\n    return environ.get('A')\nx = jinja2.Environment()\n") == []


def test_the_readme_table_is_the_declaration():
    readme = README.read_text()
    assert settings.with_table(readme) == readme, "run `python -m conformance.settings --update`"
    assert "default 180; 300 for the Celery topology" in settings.markdown()


def test_the_targets_page_links_to_the_table_instead_of_keeping_its_own():
    page = (ROOT / "docs" / "targets.md").read_text()
    assert "](../README.md#settings)" in page
    assert re.findall(r"^\| `AIRFLOW_CONFORMANCE_\w+` \|", page, re.MULTILINE) == []
    assert "### Settings" in README.read_text()


def test_every_harness_variable_is_declared_once():
    variables = [declared.variable for _, declared in settings.declarations() if declared.variable]
    assert len(variables) == len(set(variables))
    assert settings.variable_of("clause") == "AIRFLOW_CONFORMANCE_CLAUSE"


def test_an_option_wins_over_its_variable_and_a_variable_fills_in():
    environ = {
        "AIRFLOW_CONFORMANCE_DB": "sqlite",
        "AIRFLOW_CONFORMANCE_AREA": "stream",
        "AIRFLOW_CONFORMANCE_KEEP_SERVER": "1",
    }
    given = settings.read(environ, database="postgres", boot_cache=True, clause=["STREAM-*"], keep_server=None)
    assert (given.database, given.boot_cache, given.clause, given.area, given.keep_server) == (
        "postgres",
        "0",
        ("STREAM-*",),
        ("stream",),
        True,
    )
    assert given.given == environ
    assert settings.read({}).image == settings.DEFAULT_IMAGE == settings.read({"AIRFLOW_CONFORMANCE_IMAGE": ""}).image
    with pytest.raises(TypeError, match="no such settings: colour"):
        settings.read({}, colour="blue")


def test_settings_are_read_when_asked_not_at_import(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONFORMANCE_TARGET", "external")
    assert settings.read().target == "external"
    monkeypatch.delenv("AIRFLOW_CONFORMANCE_TARGET")
    assert settings.read().target is None


def test_the_front_door_and_pytest_spellings_come_from_one_declaration():
    args = cli.run_parser().parse_args(["--clause", "X", "--area", "a", "--level", "MUST", "--no-boot-cache"])
    assert settings.pytest_arguments(settings.front_door_values(args)) == [
        "--no-boot-cache",
        "--conformance-clause",
        "X",
        "--conformance-area",
        "a",
        "--conformance-level",
        "MUST",
    ]


def test_a_child_environment_puts_folders_first_and_applies_changes(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin")
    monkeypatch.setenv("PYTHONPATH", "/mine")
    monkeypatch.setenv("CONFORMANCE_MUTANT", "old")
    env = settings.child_environment(
        {"CONFORMANCE_MUTANT": None, "AIRFLOW_WAIT_URL": "http://x"},
        path_first=["/venv/bin"],
        pythonpath_first=["/site"],
    )
    assert (env["PATH"], env["PYTHONPATH"], env["AIRFLOW_WAIT_URL"]) == (
        "/venv/bin:/usr/bin",
        "/site:/mine",
        "http://x",
    )
    assert "CONFORMANCE_MUTANT" not in env
    monkeypatch.delenv("PYTHONPATH")
    assert settings.child_environment(pythonpath_first=["/site"])["PYTHONPATH"] == "/site"
