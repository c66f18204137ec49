"""The suite's pytest command line is built in one module, the front door, and nowhere else.

A module that holds both ``"--pyargs"`` and ``"conformance.suite"`` as string constants spells
out the suite's command line itself; only conformance/cli.py may (read from the syntax tree, so
docstrings and comments that mention the command do not count). tox.ini and .ci/run are not
Python: they must not contain the command line as text.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRONT_DOOR = "conformance/cli.py"
SEARCHED = ("conformance", "tools", "livetests")


def string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def spells_out_the_suite_argv(path: Path) -> bool:
    return {"--pyargs", "conformance.suite"} <= string_constants(path)


def test_only_the_front_door_builds_the_suites_pytest_argv():
    modules = sorted(path for folder in SEARCHED for path in (ROOT / folder).rglob("*.py"))
    assert len(modules) > 20  # the folders were found
    assert [path.relative_to(ROOT).as_posix() for path in modules if spells_out_the_suite_argv(path)] == [FRONT_DOOR]


def test_tox_and_ci_call_the_front_door_instead():
    for name in ("tox.ini", ".ci/run"):
        assert "--pyargs conformance.suite" not in (ROOT / name).read_text(), name
