"""The layer table of docs/architecture.md, enforced on every import under ``conformance/``.

The table is parsed from the doc itself, so the doc cannot say one thing while the code does
another. A module may import its own unit, the leaves, the package root and what its row names.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "conformance"
DOC = ROOT / "docs" / "architecture.md"
ROW = re.compile(r"^\| (?P<units>`[^|]+`) \| [^|]+ \| (?P<allowed>[^|]+) \|$")
LEAVES_LINE = re.compile(r"\*\*Leaves\*\* \((?P<names>[^)]*)\)")


def layer_table(text: str) -> tuple[dict[str, set[str]], set[str]]:
    """(unit -> the units and modules it may import, the leaves) as the doc states them."""
    table = {}
    for line in text.splitlines():
        if match := ROW.match(line.strip()):
            allowed = set(re.findall(r"`([\w.]+)`", match["allowed"]))
            for unit in re.findall(r"`([\w.]+)`", match["units"]):
                table[unit] = allowed
    leaves = set(re.findall(r"`(\w+)`", LEAVES_LINE.search(text)["names"]))
    return table, leaves


def unit_of(module: str) -> str:
    """``live.session`` -> ``live``; a top module is its own unit."""
    return module.split(".")[0]


def imported_modules(source: str, package: Path = PACKAGE) -> Iterable[str]:
    """The conformance modules a source imports, without the ``conformance.`` prefix ('' for the package itself)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # from conformance.live import progress: the submodule when there is one, else the package
            names = [
                f"{node.module}.{alias.name}"
                if (package.parent / node.module.replace(".", "/") / f"{alias.name}.py").is_file()
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            if name == "conformance":
                yield ""
            elif name.startswith("conformance."):
                yield name.removeprefix("conformance.")


def forbidden(module: str, source: str, table: Mapping[str, set[str]], leaves: set[str]) -> list[str]:
    """The imports of ``module`` (``live.session``) that its row does not allow."""
    unit = unit_of(module)
    allowed = table[unit] | leaves | {unit, ""}
    return [
        target
        for target in imported_modules(source)
        if not any(target == entry or target.startswith(entry + ".") for entry in allowed)
    ]


def harness_modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__"): path
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "__init__.py" or path.parent != PACKAGE
    }


TABLE, LEAVES = layer_table(DOC.read_text())


def test_every_unit_of_the_package_has_a_row_and_every_row_a_unit():
    units = {unit_of(module) for module in harness_modules()}
    assert units == set(TABLE), "docs/architecture.md's table and conformance/ disagree"
    assert LEAVES <= units and {"paths", "arguments", "schemas"} <= LEAVES


@pytest.mark.parametrize("module", sorted(harness_modules()))
def test_each_module_imports_only_what_its_layer_allows(module):
    assert forbidden(module, harness_modules()[module].read_text(), TABLE, LEAVES) == []


def test_the_top_holds_at_most_twelve_modules_and_no_package_is_a_grab_bag():
    assert len(list(PACKAGE.glob("*.py"))) <= 12
    for package in (path.parent for path in PACKAGE.glob("*/__init__.py")):
        assert len(list(package.glob("*.py"))) - 1 <= 12, package.name  # besides __init__


def test_a_planted_forbidden_import_is_named():
    planted = "from conformance.plugin import hooks\nfrom conformance.catalog.cases import Case\nimport conformance.live.session\n"
    assert forbidden("wire.ndjson", planted, TABLE, LEAVES) == ["plugin.hooks", "live.session"]
    assert forbidden("targets.local", "from conformance.live.session import prepare\n", TABLE, LEAVES) == [
        "live.session"
    ]
    assert forbidden("targets.local", "from conformance.live.airflow_api import AirflowClient\n", TABLE, LEAVES) == []
