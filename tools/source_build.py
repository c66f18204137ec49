"""Airflow built from source the way a contributor builds it, installed for the local target.

    python tools/source_build.py install --work DIR [--source TREE] [--patch DIFF] [--version V]
    python tools/source_build.py served --work DIR --report REPORT_DIR

A contributor runs the suite on their own Airflow before opening a pull request, and that
Airflow exists only as a source tree. ``install`` turns one into the environment it runs in:

1. **The tree.** ``--source`` names an Airflow checkout (its root holds the meta package's
   ``pyproject.toml``, ``airflow-core/`` and ``task-sdk/``; ``shared/`` too on ``main``). It is
   copied, never changed in place. Without it, the pinned sdists (``PINNED``: 3.4.0b2, core, meta
   and task-sdk, checked against their sha256) are fetched from PyPI's simple index once, kept in
   the user cache, and laid out as a checkout is. The sdists carry the UI already built; a
   checkout whose UI was never compiled builds a wheel without it, which the API does not need.
2. **The patch** (``--patch``): a diff against the checkout's root, as ``git diff`` writes it
   there, applied with ``git apply`` before anything is built. A diff that does not apply is
   bad input.
3. **The version** (``--version``): core and the meta package are relabelled (core's
   ``pyproject.toml`` and ``airflow.__version__``, the meta package's version), and every pin
   on ``apache-airflow-core`` among the three packages follows, so that the meta package, which
   the FAB provider requires, and task-sdk, which caps core below the next minor, install with
   it. Nothing else changes: the source is the same code under another name.
4. **Wheels** by ``uv build``, installed with the FAB provider into this interpreter's
   environment by ``uv pip install`` (the three reinstalled, so a rebuilt tree always lands).
5. **Checks**: the installed core has the built version, and every file the patch touched is
   installed byte for byte as patched. ``build.json`` in ``--work`` records what was built.

``served`` checks the other end after a suite run: the server the suite ran against answered
``GET /api/v2/version`` (the report's ``airflow.version``) with the version built.

Exit 4 for bad input (a missing tree, a patch that does not apply, an invalid version), with one
sentence saying what and how to fix it, and the work folder removed; exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.version import InvalidVersion, Version

USAGE_ERROR = 4
MANIFEST = "build.json"
INDEX = "https://pypi.org/simple"
FAB = "apache-airflow-providers-fab"
PACKAGES = ("apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk")


@dataclass(frozen=True)
class Sdist:
    """One pinned source distribution and where it sits in a checkout."""

    name: str
    version: str
    sha256: str
    subdir: str  # "." for the meta package at the checkout's root

    @property
    def filename(self) -> str:
        return f"{self.name.replace('-', '_')}-{self.version}.tar.gz"


# The default source: the 3.4.0b2 release's sdists, so that CI's source build is the Airflow the
# suite measured from PyPI's wheels (conformance/expectations.yaml, measured_versions).
PINNED = (
    Sdist("apache-airflow", "3.4.0b2", "87a3ecb5853b84c8fa51540511ab1077fa289c4758bf354c35541e57d2fdaf4b", "."),
    Sdist(
        "apache-airflow-core",
        "3.4.0b2",
        "b7de9f447ed401c36cae0c56b6b32580b8fcae6dab4647a498ed870cb820f48f",
        "airflow-core",
    ),
    Sdist(
        "apache-airflow-task-sdk",
        "1.4.0b2",
        "9a887b82d50989f5edb955f3443460510b717a9481fc35d26950ba9ad8b4aab6",
        "task-sdk",
    ),
)
# Where a checkout keeps each package, and where a package's files sit inside its wheel.
SUBDIRS = {"apache-airflow": ".", "apache-airflow-core": "airflow-core", "apache-airflow-task-sdk": "task-sdk"}
INSTALLED_FROM = {"airflow-core/src/": "apache-airflow-core", "task-sdk/src/": "apache-airflow-task-sdk"}
COPIED_DIRS = ("airflow-core", "task-sdk", "shared")
NOT_COPIED = shutil.ignore_patterns(".git", "node_modules", "__pycache__", "*.pyc", ".venv", "dist")


class BadInput(Exception):
    """Input the build cannot use; its message is the one sentence the user gets."""


class CheckFailed(Exception):
    """The environment is not what was built."""


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "airflow-dag-result-conformance" / "sdists"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(sdist: Sdist, cache: Path) -> Path:
    """The sdist from the cache, else from PyPI's simple index (PEP 691 JSON); its sha256 checked either way."""
    path = cache / sdist.filename
    if not (path.is_file() and sha256_of(path) == sdist.sha256):
        request = urllib.request.Request(
            f"{INDEX}/{sdist.name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
        )
        with urllib.request.urlopen(request, timeout=120) as answer:
            files = json.load(answer)["files"]
        url = next((f["url"] for f in files if f["filename"] == sdist.filename), None)
        if url is None:
            raise CheckFailed(f"{INDEX}/{sdist.name}/ lists no {sdist.filename}")
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        with urllib.request.urlopen(url, timeout=300) as answer, partial.open("wb") as out:
            shutil.copyfileobj(answer, out)
        if (got := sha256_of(partial)) != sdist.sha256:
            partial.unlink()
            raise CheckFailed(f"{sdist.filename} from PyPI has sha256 {got}, pinned {sdist.sha256}")
        partial.replace(path)
    return path


def lay_out_sdists(sdists: Sequence[Path], tree: Path) -> None:
    """Extract each pinned sdist where a checkout keeps its package (its top folder dropped)."""
    for sdist, path in zip(PINNED, sdists, strict=True):
        target = tree / sdist.subdir
        with tarfile.open(path) as archive:
            for member in archive.getmembers():
                member.name = member.name.partition("/")[2]
                if member.name:
                    archive.extract(member, target, filter="data")


def copy_checkout(source: Path, tree: Path) -> None:
    """The parts of a checkout the three packages build from: the root's files, core, task-sdk, shared."""
    missing = [
        name
        for name in ("pyproject.toml", "airflow-core/pyproject.toml", "task-sdk/pyproject.toml")
        if not (source / name).is_file()
    ]
    if missing:
        raise BadInput(
            f"--source {source} is not an Airflow checkout (no {', '.join(missing)}); give the root of a clone of apache/airflow, or leave it out to build the pinned 3.4.0b2 sdists."
        )
    tree.mkdir(parents=True)
    for entry in source.iterdir():
        if entry.is_file():
            shutil.copy2(entry, tree / entry.name)
        elif entry.name in COPIED_DIRS:
            shutil.copytree(entry, tree / entry.name, symlinks=True, ignore=NOT_COPIED)


def touched_files(tree: Path, patch: Path) -> list[str]:
    """The paths ``patch`` changes, relative to the checkout's root (``git apply --numstat``)."""
    listing = git_apply(tree, patch, "--numstat")
    return [line.split("\t", 2)[2] for line in listing.splitlines() if line.count("\t") >= 2]


def git_apply(tree: Path, patch: Path, *options: str) -> str:
    """``git apply`` at the tree's root, as outside any repository (the tree may lie in one, e.g. under .tox)."""
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tree.parent.resolve())}
    result = subprocess.run(
        ["git", "apply", *options, str(patch.resolve())], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BadInput(
            f"--patch {patch} does not apply to the source: {result.stderr.strip().splitlines()[0] if result.stderr.strip() else 'git apply failed'}; make it a diff against the checkout's root (git diff there), for this source."
        )
    return result.stdout


CORE_PIN = re.compile(r'"apache-airflow-core(?=\s*[<>=!~])[^"]*"')


def relabel(tree: Path, version: str) -> None:
    """Core and the meta package renamed ``version``; every pin on core among the three follows."""
    edits = [
        (
            tree / "airflow-core" / "pyproject.toml",
            re.compile(r'^version = "[^"]+"', re.MULTILINE),
            f'version = "{version}"',
        ),
        (
            tree / "airflow-core" / "src" / "airflow" / "__init__.py",
            re.compile(r'^__version__ = "[^"]+"', re.MULTILINE),
            f'__version__ = "{version}"',
        ),
        (tree / "pyproject.toml", re.compile(r'^version = "[^"]+"', re.MULTILINE), f'version = "{version}"'),
    ]
    for path, pattern, replacement in edits:
        text, count = pattern.subn(replacement, path.read_text())
        if count != 1:
            raise CheckFailed(
                f"{path.relative_to(tree)} has {count} version lines where one was expected; this source's layout is not one --version knows"
            )
        path.write_text(text)
    for path in (tree / "pyproject.toml", tree / "task-sdk" / "pyproject.toml"):
        path.write_text(CORE_PIN.sub(f'"apache-airflow-core=={version}"', path.read_text()))


def uv(*args: str) -> None:
    """uv, from this environment (the ``uv`` package), its output passed through."""
    subprocess.run([sys.executable, "-m", "uv", *args], check=True)


def built_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


def install(work: Path, source: Path | None, patch: Path | None, version: str | None) -> dict:
    """Lay out, patch, relabel, build and install; the manifest it writes to ``work``."""
    if patch is not None and not patch.is_file():
        raise BadInput(f"--patch {patch} is not a file; give a diff made with git diff at the checkout's root.")
    if version:
        try:
            Version(version)
        except InvalidVersion:
            raise BadInput(f"--version {version!r} is not a PEP 440 version; give one such as 3.5.0.dev0.") from None
    if source is not None and not source.is_dir():
        raise BadInput(
            f"--source {source} is not a folder; give the root of an Airflow checkout, or leave it out to build the pinned 3.4.0b2 sdists."
        )
    started = time.monotonic()
    shutil.rmtree(work, ignore_errors=True)
    tree, wheels = work / "tree", work / "wheels"
    if source is None:
        lay_out_sdists([fetch(sdist, cache_dir()) for sdist in PINNED], tree)
    else:
        copy_checkout(source, tree)
    touched = []
    if patch is not None:
        touched = touched_files(tree, patch)
        git_apply(tree, patch)
    if version:
        relabel(tree, version)
    laid_out = time.monotonic()
    for name in PACKAGES:
        uv("build", "--quiet", "--wheel", "--out-dir", str(wheels), str(tree / SUBDIRS[name]))
    built = time.monotonic()
    wheel_files = sorted(wheels.glob("*.whl"))
    reinstall = [option for name in PACKAGES for option in ("--reinstall-package", name)]
    uv("pip", "install", "--quiet", "--python", sys.executable, *reinstall, *map(str, wheel_files), FAB)
    core = next(w for w in wheel_files if w.name.startswith("apache_airflow_core-"))
    manifest = {
        "source": str(source.resolve()) if source else [f"{s.filename} sha256:{s.sha256}" for s in PINNED],
        "patch": str(patch.resolve()) if patch else None,
        "version": built_version(core),
        "wheels": [w.name for w in wheel_files],
        "patched": {path: sha256_of(tree / path) for path in touched if (tree / path).is_file()},
        "seconds": {
            "lay_out": round(laid_out - started, 1),
            "build": round(built - laid_out, 1),
            "install": round(time.monotonic() - built, 1),
        },
    }
    (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def installed_as(path: str) -> tuple[str, str] | None:
    """(distribution, path inside it) a checkout's file is installed as; None for files no wheel installs."""
    for prefix, dist in INSTALLED_FROM.items():
        if path.startswith(prefix):
            return dist, path.removeprefix(prefix)
    return None


def check_installed(manifest: dict) -> list[str]:
    """What differs between the environment and the manifest: core's version, each patched file's bytes."""
    problems = []
    try:
        core = distribution("apache-airflow-core")
    except PackageNotFoundError:
        return ["apache-airflow-core is not installed"]
    if core.version != manifest["version"]:
        problems.append(f"apache-airflow-core {core.version} is installed, {manifest['version']} was built")
    for path, digest in manifest["patched"].items():
        if (target := installed_as(path)) is None:
            continue
        dist, inside = target
        located = Path(distribution(dist).locate_file(inside))
        if not located.is_file():
            problems.append(f"{path} is not installed (no {located})")
        elif sha256_of(located) != digest:
            problems.append(f"{located} is not the patched {path}")
    return problems


def check_served(manifest: dict, report_dir: Path) -> list[str]:
    """Whether the run's server answered /api/v2/version (report.json's ``airflow.version``) with the built version."""
    try:
        served = json.loads((report_dir / "report.json").read_text())["airflow"]["version"]
    except FileNotFoundError:
        return [f"{report_dir / 'report.json'} does not exist: the suite run wrote no report"]
    return (
        []
        if served == manifest["version"]
        else [f"the server answered GET /api/v2/version with {served}, {manifest['version']} was built"]
    )


def read_manifest(work: Path) -> dict:
    try:
        return json.loads((work / MANIFEST).read_text())
    except FileNotFoundError:
        raise BadInput(f"{work / MANIFEST} does not exist; run install with this --work first.") from None


def optional_path(text: str | None) -> Path | None:
    return Path(text) if text else None  # tox passes an unset variable as ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/source_build.py", description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    build = verbs.add_parser("install", help="lay out, patch, relabel, build and install an Airflow source tree")
    build.add_argument("--work", type=Path, required=True, help="a folder of this build's own (emptied first)")
    build.add_argument("--source", type=optional_path, help="an Airflow checkout (default: the pinned 3.4.0b2 sdists)")
    build.add_argument(
        "--patch", type=optional_path, help="a diff against the checkout's root, applied before building"
    )
    build.add_argument("--version", default=None, help="relabel core and the meta package, e.g. 3.5.0.dev0")
    served = verbs.add_parser("served", help="check that a suite run's server answered the built version")
    served.add_argument("--work", type=Path, required=True)
    served.add_argument("--report", type=Path, required=True, help="the run's report folder")
    args = parser.parse_args(argv)
    try:
        if args.verb == "install":
            try:
                manifest = install(args.work, args.source, args.patch, args.version or None)
            except BadInput:
                shutil.rmtree(args.work, ignore_errors=True)
                raise
            problems = check_installed(manifest)
            print(
                f"source build: Airflow {manifest['version']} built and installed ({manifest['seconds']})"
                + (f"; patched: {', '.join(manifest['patched'])}" if manifest["patched"] else ""),
                flush=True,
            )
        else:
            manifest = read_manifest(args.work)
            problems = check_served(manifest, args.report)
            if not problems:
                print(
                    f"source build: the server answered GET /api/v2/version with {manifest['version']}, the version built",
                    flush=True,
                )
    except BadInput as exc:
        print(f"source build: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except CheckFailed as exc:
        problems = [str(exc)]
    for problem in problems:
        print(f"source build: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
