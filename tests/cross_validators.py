"""Three JSON Schema implementations asked the same questions: python-jsonschema, Ajv, check-jsonschema.

An :class:`Example` is one instance and the verdict it must get from a schema: the valid and
invalid instances of ``fixtures/schema-examples/`` (JSON-Schema-Test-Suite layout, each case's
schema a ``{"$ref": "<$id>"}``), and every reference document of ``fixtures/`` (and the shipped
catalog files) against the schema it names, which must accept it. Each runner gives one verdict
per example, in order:

- python-jsonschema, with the project's ``referencing`` registry and format checking on;
- Ajv's Draft 2020-12 class with ``strict: true`` and ajv-formats
  (``tools/validators/ajv-check.mjs``), installed by ``npm ci`` from the committed lock file into
  a cache folder kept per lock file, so a schema that only Ajv's lenient defaults accept fails;
- check-jsonschema, with ``--base-uri`` pointing at ``schemas/`` on disk and every proxy variable
  aimed at a closed local port, so that it reads the schemas from files and any attempt to fetch
  one of the ``.invalid`` ids fails instead of reaching out.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml
from jsonschema import Draft202012Validator

from conformance.paths import fixtures_dir, package_file, schemas_dir
from conformance.schemas import BASE_URI, registry, schema_id

TOOLS_DIR = Path(__file__).resolve().parents[1] / "tools"
VALIDATORS_DIR = TOOLS_DIR / "validators"
META_SCHEMA = Draft202012Validator.META_SCHEMA["$id"]
NPM_TIMEOUT = 600.0  # seconds for npm ci, a one-off per lock file
# Every proxy variable pointed at a port nobody listens on: a fetch fails at once, never leaves.
NO_NETWORK = {
    name: "http://127.0.0.1:9"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
}
NO_NETWORK |= {"NO_PROXY": "", "no_proxy": ""}


@attrs.frozen
class Example:
    source: str  # where it comes from: file, case and test, for a reader
    schema: dict[str, Any]  # {"$schema": ..., "$ref": "<$id>[#/...]"}
    data: Any
    valid: bool


def by_id(name: str, fragment: str = "") -> dict[str, Any]:
    return {"$schema": META_SCHEMA, "$ref": schema_id(name) + fragment}


def schema_examples() -> Iterator[Example]:
    for path in sorted((fixtures_dir() / "schema-examples").glob("*.json")):
        for group in json.loads(path.read_text()):
            for test in group["tests"]:
                yield Example(
                    f"schema-examples/{path.name}: {group['description']}: {test['description']}",
                    group["schema"],
                    test["data"],
                    test["valid"],
                )


def shown(path: Path) -> str:
    """A path as a reader finds it: relative to the checkout when it is in one."""
    return str(path.relative_to(TOOLS_DIR.parent)) if path.is_relative_to(TOOLS_DIR.parent) else str(path)


def reference_documents() -> Iterator[Example]:
    """Every file of fixtures/ (and tools/) naming its schema in ``$schema``, the committed reports, the catalogs."""
    root = fixtures_dir()
    files = [path for path in sorted(root.rglob("*.json")) if not path.is_relative_to(root / "schema-examples")]
    files += sorted(TOOLS_DIR.glob("*.json"))
    for path in files:
        document = json.loads(path.read_text())
        if path.name == "report.json":
            yield Example(shown(path), by_id("report.schema.json"), document, True)
        elif isinstance(document, dict) and str(document.get("$schema", "")).startswith(BASE_URI):
            yield Example(shown(path), {"$schema": META_SCHEMA, "$ref": document["$schema"]}, document, True)
    for name in ("clauses", "expectations"):
        yield Example(
            f"conformance/{name}.yaml",
            by_id(f"{name}.schema.json"),
            yaml.safe_load(package_file(f"{name}.yaml").read_text()),
            True,
        )


def all_examples() -> list[Example]:
    return [*schema_examples(), *reference_documents()]


def schema_files() -> list[Path]:
    return sorted(schemas_dir().glob("*.schema.json"))


# --- python-jsonschema ------------------------------------------------------------------------


def python_verdicts(examples: Sequence[Example]) -> list[bool]:
    checker = Draft202012Validator.FORMAT_CHECKER
    return [
        Draft202012Validator(e.schema, registry=registry(), format_checker=checker).is_valid(e.data) for e in examples
    ]


# --- Ajv --------------------------------------------------------------------------------------


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "airflow-dag-result-conformance"


def ajv_node_modules() -> Path:
    """``node_modules`` holding exactly the lock file's packages, installed by ``npm ci`` once per lock file."""
    manifest = [VALIDATORS_DIR / "package.json", VALIDATORS_DIR / "package-lock.json"]
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in manifest)).hexdigest()[:16]
    installed = cache_root() / f"validators-{digest}"
    if (installed / "node_modules" / "ajv" / "package.json").is_file():
        return installed / "node_modules"
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "node is installed but npm is not: install npm (Debian: apt-get install npm) so the test can install ajv"
        )
    installed.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{installed.name}.", dir=installed.parent))
    try:
        for path in manifest:
            shutil.copy(path, staging / path.name)
        done = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=staging,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm ci in {staging} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
        try:
            staging.rename(installed)  # atomic: a concurrent run either wins or finds it there
        except OSError:
            if not (installed / "node_modules" / "ajv" / "package.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return installed / "node_modules"


def ajv_run(examples: Sequence[Example]) -> dict[str, Any]:
    """Ajv's output (see ajv-check.mjs): the validator's name, schemas compiled, compile errors, verdicts."""
    node = shutil.which("node")
    assert node is not None, "callers skip when node is missing"
    job = json.dumps({"cases": [{"schema": e.schema, "data": e.data} for e in examples]})
    done = subprocess.run(
        [node, str(VALIDATORS_DIR / "ajv-check.mjs"), str(schemas_dir())],
        input=job,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NODE_PATH": str(ajv_node_modules())},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ajv-check.mjs failed (exit {done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


# --- check-jsonschema -------------------------------------------------------------------------


def local_refs(schema: Any) -> Any:
    """The schema with every ``$ref`` to one of our ids made relative, to resolve against ``--base-uri``."""
    if isinstance(schema, dict):
        return {
            key: value.removeprefix(BASE_URI) if key == "$ref" and isinstance(value, str) else local_refs(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [local_refs(item) for item in schema]
    return schema


def check_jsonschema(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--output-format", "json", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **NO_NETWORK},
        check=False,
    )


def check_jsonschema_metaschema() -> dict[str, Any]:
    """check-jsonschema's own check of every schema file against its meta-schema."""
    done = check_jsonschema("--check-metaschema", *map(str, schema_files()))
    if done.returncode not in (0, 1):
        raise RuntimeError(
            f"check-jsonschema --check-metaschema failed (exit {done.returncode}): {done.stderr.strip()}"
        )
    return json.loads(done.stdout)


def check_jsonschema_verdicts(examples: Sequence[Example]) -> list[bool]:
    """One check-jsonschema run per distinct schema, over all of that schema's instances."""
    groups: dict[str, list[int]] = {}
    for index, example in enumerate(examples):
        groups.setdefault(json.dumps(example.schema, sort_keys=True), []).append(index)
    verdicts: list[bool | None] = [None] * len(examples)
    base_uri = schemas_dir().resolve().as_uri() + "/"
    with tempfile.TemporaryDirectory(prefix="check-jsonschema-") as folder:
        for number, (schema, indexes) in enumerate(groups.items()):
            schema_path = Path(folder) / f"schema-{number}.json"
            schema_path.write_text(json.dumps(local_refs(json.loads(schema))))
            instances = {}
            for index in indexes:
                instance = Path(folder) / f"instance-{index}.json"
                instance.write_text(json.dumps(examples[index].data))
                instances[index] = str(instance)
            done = check_jsonschema("--base-uri", base_uri, "--schemafile", str(schema_path), *instances.values())
            # It prints its JSON report only when it could build the validator: a $ref it cannot
            # resolve (or a fetch the proxy refused) leaves stdout empty, exit 1 and a traceback.
            report = json.loads(done.stdout) if done.stdout.strip() else {}
            if done.returncode not in (0, 1) or "errors" not in report or report.get("parse_errors"):
                raise RuntimeError(
                    f"check-jsonschema failed on {schema} (exit {done.returncode}): {done.stdout.strip()[-2000:]} {done.stderr.strip()[-2000:]}"
                )
            failed = {error["filename"] for error in report["errors"]}
            for index, instance in instances.items():
                verdicts[index] = instance not in failed
    return [bool(verdict) for verdict in verdicts]
