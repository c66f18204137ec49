"""The harness imports cleanly in any order, has no import cycle, and imports at the top.

Harness modules are every module of the ``conformance`` package except the suite
(``conformance/suite/``, which pytest imports) and the Airflow-side modules
(``conformance/targets/airflow_site/``, which Airflow's interpreter imports); the same
exception holds for ``livetests/probe_site/``, the livetests' Airflow-side site module.
An import inside a function is allowed only for an optional dependency (:data:`OPTIONAL`),
which not every environment has.
"""

from __future__ import annotations

import ast
import importlib.util
import random
import subprocess
import sys
from pathlib import Path

import pytest

import conformance

PACKAGE = Path(conformance.__file__).resolve().parent
LIVETESTS = Path(__file__).resolve().parents[1] / "livetests"
NOT_HARNESS = ("suite", "targets/airflow_site", "_data")  # relative to the package
NOT_HARNESS_LIVETESTS = ("probe_site",)
OPTIONAL = {"testcontainers", "docker", "playwright"}  # the `container` extra; the report's browser test
NEEDS_CONTAINER_EXTRA = {"conformance.targets.docker.engine", "conformance.targets.docker.postgres_topology"}


def _excluded(path: Path, root: Path, folders: tuple[str, ...]) -> bool:
    return any(path.is_relative_to(root / folder) for folder in folders)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def harness_files() -> dict[str, Path]:
    """Module name -> file, for every harness module (``__main__`` runs a program, so it is left out)."""
    return {
        module_name(path): path
        for path in sorted(PACKAGE.rglob("*.py"))
        if not _excluded(path, PACKAGE, NOT_HARNESS) and path.stem != "__main__"
    }


def importable_modules() -> list[str]:
    """The harness modules this environment can import: those needing the container extra only where it is installed."""
    has_extra = importlib.util.find_spec("testcontainers") is not None
    return sorted(name for name in harness_files() if has_extra or name not in NEEDS_CONTAINER_EXTRA)


def orders() -> dict[str, list[str]]:
    modules = importable_modules()
    chosen = {"sorted": modules, "reversed": modules[::-1]}
    for seed in (1, 2, 3):
        shuffled = list(modules)
        random.Random(seed).shuffle(shuffled)
        chosen[f"shuffled-{seed}"] = shuffled
    return chosen


ORDERS = orders()


@pytest.mark.parametrize("order", ORDERS.values(), ids=ORDERS.keys())
def test_every_harness_module_imports_in_a_fresh_interpreter(order, tmp_path):
    code = "; ".join(f"import {name}" for name in order)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"python -c {code!r} failed:\n{done.stderr[-3000:]}"


def test_the_harness_modules_are_found():
    assert {
        "conformance.plugin.hooks",
        "conformance.plugin.controller",
        "conformance.targets.local",
        "conformance.targets.health",
    } <= set(harness_files())
    assert not any(
        name.startswith(("conformance.suite", "conformance.targets.airflow_site")) for name in harness_files()
    )


def imports_in_functions(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, imported module) of every import statement inside a function or lambda."""
    found = []
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    found += [(node.lineno, alias.name) for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    found.append((node.lineno, "." * node.level + (node.module or "")))
    return sorted(set(found))


def checked_files() -> list[Path]:
    files = list(harness_files().values())
    if LIVETESTS.is_dir():  # not in an sdist
        files += [
            path for path in sorted(LIVETESTS.rglob("*.py")) if not _excluded(path, LIVETESTS, NOT_HARNESS_LIVETESTS)
        ]
    return files


def test_imports_are_at_module_level_except_optional_dependencies():
    misplaced = []
    for path in checked_files():
        source = path.read_text()
        for line, module in imports_in_functions(ast.parse(source, str(path))):
            if module.split(".")[0] not in OPTIONAL:
                misplaced.append(f"{path}:{line}: {source.splitlines()[line - 1].strip()}")
    assert misplaced == [], (
        "import these at the top of the module (break the cycle that kept them inside instead):\n"
        + "\n".join(misplaced)
    )


def test_the_function_level_import_check_sees_nested_and_lambda_imports():
    tree = ast.parse(
        "import os\n"
        "def f():\n    import json\n    def g():\n        from conformance import plugin\n"
        "class C:\n    def m(self):\n        import docker\n"
        "h = lambda: __import__('x')\n"
    )
    assert imports_in_functions(tree) == [(3, "json"), (5, "conformance"), (8, "docker")]


def imported_harness_modules(path: Path, modules: set[str]) -> set[str]:
    """The harness modules ``path`` imports (``from pkg import sub`` counts as ``pkg.sub``).

    Every import counts, wherever it stands: the check above leaves only optional
    dependencies inside functions, and those are not harness modules.
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [
                f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                for alias in node.names
            ]
        else:
            continue
        found |= {name for name in names if name in modules}
    return found


def test_the_harness_import_graph_has_no_cycle():
    """Imports between harness modules form no cycle (a submodule's implicit import of its package aside)."""
    files = harness_files()
    graph = {name: imported_harness_modules(path, set(files)) for name, path in files.items()}
    cycles = []

    def visit(name: str, path: list[str], done: set[str]) -> None:
        for imported in sorted(graph[name]):
            if imported in path:
                cycles.append(" -> ".join([*path[path.index(imported) :], imported]))
            elif imported not in done:
                visit(imported, [*path, imported], done)
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name], done)
    assert cycles == []
