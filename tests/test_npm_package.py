"""The npm package (npm/): its manifest keeps the rules, and its own Node test passes.

``npm test`` packs the package, installs the tarball into an empty project and checks
everything through the installed copy (npm/test/pack.test.mjs). It runs here on a copy of the
package folder beside copies of what it ships, so that two test runs in one checkout never
share npm's working files. It needs node and npm (``.ci/run`` installs them) and, on a cold npm
cache, the npm registry for the devDependencies.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import conformance

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "npm"
MANIFEST = json.loads((PACKAGE / "package.json").read_text())
SHIPPED = ("schemas", "fixtures", "CLIENTS.md", "LICENSE")
BUILT = {"node_modules", "dist", *SHIPPED}  # made by npm ci and npm pack, never copied in
NO_NODE = "node or npm is not installed (Debian: apt-get install nodejs npm); .ci/run installs them"


def test_the_manifest_ships_the_data_and_the_client_with_no_runtime_dependency():
    assert MANIFEST["license"] == "Apache-2.0"
    assert MANIFEST["version"] == conformance.__version__
    assert "dependencies" not in MANIFEST
    assert set(MANIFEST["files"]) >= {"dist/", "schemas/", "fixtures/", "CLIENTS.md", "LICENSE"}
    assert set(MANIFEST["exports"]) >= {".", "./schemas/*", "./fixtures/*", "./CLIENTS.md"}
    assert MANIFEST["bin"] == {"airflow-dag-result-wait": "dist/cli.js"}
    assert MANIFEST["scripts"]["prepack"].startswith("node scripts/bundle.mjs")


def test_the_lockfile_pins_every_dev_dependency_and_names_no_registry_host():
    lock = json.loads((PACKAGE / "package-lock.json").read_text())
    assert lock["packages"][""]["devDependencies"] == MANIFEST["devDependencies"]
    pinned = {path.removeprefix("node_modules/") for path in lock["packages"] if path}
    assert set(MANIFEST["devDependencies"]) <= pinned
    assert "resolved" not in (PACKAGE / "package-lock.json").read_text()


def _copy_for_a_run(tmp_path: Path) -> Path:
    """The package folder and what it ships, laid out as in the repository, without built files."""
    shutil.copytree(
        PACKAGE, tmp_path / "npm", ignore=lambda folder, names: BUILT & set(names) if folder == str(PACKAGE) else set()
    )
    for name in SHIPPED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        elif source.exists():
            shutil.copy2(source, tmp_path / name)
    return tmp_path / "npm"


def _npm(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["npm", *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason=NO_NODE)
def test_npm_test_packs_installs_and_checks_every_fixture_through_the_package(tmp_path):
    package = _copy_for_a_run(tmp_path)
    installed = _npm(["ci", "--prefer-offline", "--no-audit", "--no-fund"], package)
    assert installed.returncode == 0, installed.stderr[-3000:]
    tested = _npm(["test"], package)
    summary = dict(re.findall(r"^# (pass|fail|cancelled) (\d+)$", tested.stdout, re.MULTILINE))
    failures = "\n".join(re.findall(r"^not ok .*$", tested.stdout, re.MULTILINE))
    assert tested.returncode == 0, failures or (tested.stdout + tested.stderr)[-3000:]
    assert summary.get("fail") == "0" and summary.get("cancelled") == "0", summary
    assert int(summary.get("pass", 0)) >= 19, tested.stdout[-3000:]
    assert not any((package / name).exists() for name in ("dist", *SHIPPED)), "npm pack's copies outlived it"


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason=NO_NODE)
def test_the_typescript_client_gets_every_replayed_case_as_labelled(tmp_path):
    """The package's CLI (the TypeScript reference client, compiled) through `conformance clients`."""
    package = _copy_for_a_run(tmp_path)
    for step in (["ci", "--prefer-offline", "--no-audit", "--no-fund"], ["run", "build"]):
        done = _npm(step, package)
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "clients",
            "--json",
            "--jobs",
            "2",
            "--",
            "node",
            str(package / "dist" / "cli.js"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    document = json.loads(ran.stdout)
    assert [case["id"] for case in document["cases"] if case["verdict"] != "pass"] == [], ran.stdout[-3000:]
    assert ran.returncode == 0 and document["counts"]["pass"] == len(document["cases"]) > 0, document["counts"]
    print(f"TypeScript reference client: {document['counts']}")
