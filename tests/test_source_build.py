"""tools/source_build.py and tools/check_contributor_runs.py, offline.

The live halves (uv build, the install, the suite on each build) run in tox -e airflow-source
and tox -e contributor-runs; here: the relabel, the patch, bad input, the checks of an installed
tree and of a served version, the judging of a run against its declaration, and that the
declarations agree with expectations.yaml and the committed 3.4.0b2 report.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from conformance.catalog.expectations import divergences_for
from conformance.report.files import load_report

TOOLS = Path(__file__).resolve().parent.parent / "tools"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = sys.modules.setdefault(name, importlib.util.module_from_spec(spec))  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


source_build = _load("source_build")
contributor = _load("check_contributor_runs")
PATCH = TOOLS / "contributor_runs" / "stream-content-type.diff"
ROUTE = "airflow-core/src/airflow/api_fastapi/core_api/routes/public/dag_run.py"


def checkout(root: Path) -> Path:
    """A checkout as small as the build's rules need: the three pyproject files, core's version, the patched route."""
    (root / "airflow-core" / "src" / "airflow").mkdir(parents=True)
    (root / "task-sdk").mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "apache-airflow"\nversion = "3.4.0b2"\ndependencies = [\n'
        '    "apache-airflow-task-sdk==1.4.0b2",\n    "apache-airflow-core==3.4.0b2",\n]\n'
        '[project.optional-dependencies]\n"all-core" = [\n    "apache-airflow-core[all]"\n]\n'
    )
    (root / "airflow-core" / "pyproject.toml").write_text(
        '[project]\nname = "apache-airflow-core"\nversion = "3.4.0b2"\n'
    )
    (root / "airflow-core" / "src" / "airflow" / "__init__.py").write_text('"""Airflow."""\n__version__ = "3.4.0b2"\n')
    (root / "task-sdk" / "pyproject.toml").write_text(
        '[project]\nname = "apache-airflow-task-sdk"\nversion = "1.4.0b2"\ndependencies = [\n    "apache-airflow-core<3.5.0,>=3.4.0b1",\n]\n'
    )
    route = root / ROUTE
    route.parent.mkdir(parents=True)
    body = "".join(f"# line {n}\n" for n in range(937))
    route.write_text(
        body
        + "        result_task_ids=result_task_ids,\n    )\n    waiter.validate_result_selection(dag_run, dag_bag, session=session)\n"
        "    return StreamingResponse(waiter.wait())\n\n\n@dag_run_router.post(\n"
    )
    return root


def test_a_relabel_renames_core_and_the_meta_package_and_every_pin_on_core_follows(tmp_path):
    tree = checkout(tmp_path / "tree")
    source_build.relabel(tree, "3.5.0.dev0")
    meta = (tree / "pyproject.toml").read_text()
    assert 'version = "3.5.0.dev0"' in meta and '"apache-airflow-core==3.5.0.dev0"' in meta
    assert '"apache-airflow-core[all]"' in meta  # an extra with no version is no pin
    assert '"apache-airflow-task-sdk==1.4.0b2"' in meta  # task-sdk keeps its own version
    assert 'version = "3.5.0.dev0"' in (tree / "airflow-core" / "pyproject.toml").read_text()
    assert '__version__ = "3.5.0.dev0"' in (tree / "airflow-core" / "src" / "airflow" / "__init__.py").read_text()
    sdk = (tree / "task-sdk" / "pyproject.toml").read_text()
    assert '"apache-airflow-core==3.5.0.dev0"' in sdk and 'version = "1.4.0b2"' in sdk


def test_a_relabel_refuses_a_layout_it_does_not_know(tmp_path):
    tree = checkout(tmp_path / "tree")
    (tree / "airflow-core" / "src" / "airflow" / "__init__.py").write_text(
        "from airflow.version import version as __version__\n"
    )
    with pytest.raises(source_build.CheckFailed, match="has 0 version lines"):
        source_build.relabel(tree, "3.5.0.dev0")


def test_the_committed_patch_applies_to_a_tree_inside_a_repository_and_names_what_it_touched(tmp_path):
    (
        tmp_path / ".git"
    ).mkdir()  # the tree lies in a folder git could take for a repository (as .tox lies in the project's)
    tree = checkout(tmp_path / "work" / "tree")
    assert source_build.touched_files(tree, PATCH) == [ROUTE]
    source_build.git_apply(tree, PATCH)
    assert 'StreamingResponse(waiter.wait(), media_type="application/x-ndjson")' in (tree / ROUTE).read_text()


def run_install(tmp_path, *args: str, capsys) -> tuple[int, str]:
    code = source_build.main(["install", "--work", str(tmp_path / "work"), *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--source", "{tmp}/nowhere"], "is not a folder; give the root of an Airflow checkout"),
        (
            ["--source", "{tmp}"],
            "is not an Airflow checkout (no pyproject.toml, airflow-core/pyproject.toml, task-sdk/pyproject.toml)",
        ),
        (["--patch", "{tmp}/missing.diff"], "is not a file; give a diff made with git diff"),
        (["--version", "three point five"], "is not a PEP 440 version; give one such as 3.5.0.dev0"),
    ],
    ids=["source-missing", "source-not-a-checkout", "patch-missing", "version-invalid"],
)
def test_bad_input_is_one_sentence_exit_4_and_no_work_folder(tmp_path, capsys, args, says):
    (tmp_path / "work").mkdir()  # an earlier build's folder: bad input leaves nothing of it either
    code, err = run_install(tmp_path, *(arg.format(tmp=tmp_path) for arg in args), capsys=capsys)
    assert code == 4
    assert says in err and err.count("\n") == 1
    assert not (tmp_path / "work").exists()


def test_a_patch_that_does_not_apply_is_bad_input(tmp_path, capsys, monkeypatch):
    source = checkout(tmp_path / "checkout")
    (source / ROUTE).write_text("# not the route this patch was made for\n")
    monkeypatch.setattr(source_build, "uv", lambda *args: pytest.fail("nothing may be built"))
    code, err = run_install(tmp_path, "--source", str(source), "--patch", str(PATCH), capsys=capsys)
    assert code == 4
    assert f"--patch {PATCH} does not apply to the source" in err
    assert not (tmp_path / "work").exists()
    assert (
        source / ROUTE
    ).read_text() == "# not the route this patch was made for\n"  # the checkout itself is never changed


def test_a_checkout_is_copied_patched_and_relabelled_never_changed_in_place(tmp_path, monkeypatch):
    source = checkout(tmp_path / "checkout")
    (source / "providers").mkdir()  # not one of the three packages: not copied
    before = {path: path.read_bytes() for path in source.rglob("*") if path.is_file()}
    built = []

    def fake_uv(*args):  # uv's builds leave wheels whose names install() reads the version from
        built.append(args)
        if args[0] == "build":
            out = Path(args[args.index("--out-dir") + 1])
            out.mkdir(parents=True, exist_ok=True)
            (out / "apache_airflow_core-3.5.0.dev0-py3-none-any.whl").touch()

    monkeypatch.setattr(source_build, "uv", fake_uv)
    manifest = source_build.install(tmp_path / "work", source, PATCH, "3.5.0.dev0")
    assert {path: path.read_bytes() for path in source.rglob("*") if path.is_file()} == before
    assert not (tmp_path / "work" / "tree" / "providers").exists()
    assert manifest["version"] == "3.5.0.dev0"
    assert list(manifest["patched"]) == [ROUTE]
    assert [args[0] for args in built] == ["build", "build", "build", "pip"]
    assert [Path(args[-1]).name for args in built[:3]] == ["tree", "airflow-core", "task-sdk"]
    assert json.loads((tmp_path / "work" / "build.json").read_text()) == manifest


def test_a_patched_file_maps_to_its_installed_place_and_other_files_to_none():
    assert source_build.installed_as(ROUTE) == (
        "apache-airflow-core",
        "airflow/api_fastapi/core_api/routes/public/dag_run.py",
    )
    assert source_build.installed_as("task-sdk/src/airflow/sdk/__init__.py") == (
        "apache-airflow-task-sdk",
        "airflow/sdk/__init__.py",
    )
    assert source_build.installed_as("airflow-core/tests/unit/test_x.py") is None


def test_an_installed_file_that_is_not_the_patched_one_is_named(tmp_path, monkeypatch):
    installed = tmp_path / "site" / "airflow" / "api_fastapi" / "core_api" / "routes" / "public" / "dag_run.py"
    installed.parent.mkdir(parents=True)
    installed.write_text("unpatched\n")

    class Dist:
        version = "3.5.0.dev0"

        def locate_file(self, inside):
            return tmp_path / "site" / inside

    monkeypatch.setattr(source_build, "distribution", lambda name: Dist())
    manifest = {"version": "3.5.0.dev0", "patched": {ROUTE: source_build.hashlib.sha256(b"patched\n").hexdigest()}}
    assert source_build.check_installed(manifest) == [f"{installed} is not the patched {ROUTE}"]
    installed.write_text("patched\n")
    assert source_build.check_installed(manifest) == []
    assert source_build.check_installed({**manifest, "version": "3.4.0b2"}) == [
        "apache-airflow-core 3.5.0.dev0 is installed, 3.4.0b2 was built"
    ]


def test_the_served_version_must_be_the_built_one(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"airflow": {"version": "3.4.0b2"}}))
    assert source_build.check_served({"version": "3.4.0b2"}, tmp_path) == []
    assert source_build.check_served({"version": "3.5.0.dev0"}, tmp_path) == [
        "the server answered GET /api/v2/version with 3.4.0b2, 3.5.0.dev0 was built"
    ]
    assert "wrote no report" in source_build.check_served({"version": "3.4.0b2"}, tmp_path / "none")[0]


# --- the contributor runs -----------------------------------------------------------------------

COMMITTED = load_report(contributor.COMMITTED)
RUNS = contributor.load_runs()


def test_the_committed_report_is_a_whole_suite_run_of_3_4_0b2_on_sqlite_with_its_declared_divergences():
    airflow = COMMITTED["airflow"]
    assert (airflow["version"], airflow["target"], airflow["database"], COMMITTED["selection"]) == (
        "3.4.0b2",
        "local",
        "sqlite",
        None,
    )
    diverging = {c["id"] for c in COMMITTED["clauses"] if c["verdict"] == "expected-divergence"}
    assert diverging == set(divergences_for("3.4.0b2", "sqlite"))
    assert {c["verdict"] for c in COMMITTED["clauses"]} == {"pass", "expected-divergence"}


def test_the_dev_build_declares_exactly_the_divergences_of_3_4_0b2_as_failing():
    dev = RUNS["dev-build"]
    assert dev["version"] == "3.5.0.dev0" and dev["same_as_declared"] == "3.4.0b2"
    assert dev["verdicts"] == dict.fromkeys(divergences_for("3.4.0b2", "sqlite"), "fail")
    assert divergences_for(dev["version"], "sqlite") == {}  # no range was widened to cover it


def test_the_fix_run_declares_the_one_divergence_its_patch_fixes():
    fix = RUNS["content-type-fix"]
    assert (TOOLS / "contributor_runs" / fix["patch"]).is_file()
    assert fix["verdicts"] == {"STREAM-CONTENT-TYPE-1": "unexpected-pass"}
    assert "STREAM-CONTENT-TYPE-1" in divergences_for("3.4.0b2", "sqlite")


def dev_report(*, notes_for=None, extra_fail=None) -> dict:
    """The committed report as the dev build's run would look: the divergences failing, noted same as declared."""
    report = copy.deepcopy(COMMITTED)
    report["airflow"]["version"] = "3.5.0.dev0"
    declared = RUNS["dev-build"]["verdicts"]
    noted = declared if notes_for is None else notes_for
    for clause in report["clauses"]:
        if clause["id"] in declared or clause["id"] == extra_fail:
            clause["verdict"] = "fail"
    report["notes"] = [
        {
            "kind": "same-as-declared",
            "clause": c,
            "subject": "3.4.0b2",
            "message": "same as declared for 3.4.0b2",
            "evidence": [{"test": "t", "detail": "d"}],
        }
        for c in noted
    ]
    return report


def test_a_run_exactly_as_declared_has_no_problem():
    assert contributor.judge(RUNS["dev-build"], 1, dev_report(), COMMITTED, COMMITTED) == []


def test_a_clause_moving_besides_the_declared_ones_is_named():
    problems = contributor.judge(
        RUNS["dev-build"], 1, dev_report(extra_fail="RESULT-DECORATOR-1"), COMMITTED, COMMITTED
    )
    assert problems[0].startswith("verdicts that moved from the unchanged source's run: ")
    assert "RESULT-DECORATOR-1 fail" in problems[0]
    assert problems[1:] == ["compare against airflow-3.4.0b2 found regressions: RESULT-DECORATOR-1"]


def test_a_persisting_divergence_without_its_note_is_named_and_compare_calls_it_a_new_failure():
    without = [c for c in RUNS["dev-build"]["verdicts"] if c != "RESULT-NONE-1"]
    problems = contributor.judge(RUNS["dev-build"], 1, dev_report(notes_for=without), COMMITTED, COMMITTED)
    assert problems[0].startswith("same-as-declared notes: ")
    assert (
        problems[1] == "compare against airflow-3.4.0b2 gave RESULT-NONE-1 new-failure, declared persisting-divergence"
    )


def test_another_exit_code_is_named():
    assert contributor.judge(RUNS["dev-build"], 4, dev_report(), COMMITTED, COMMITTED) == [
        "the suite exited 4, 1 declared"
    ]


def test_an_unknown_run_is_bad_input(capsys, tmp_path):
    assert contributor.main(["no-such-run", "--work", str(tmp_path), "--reports", str(tmp_path)]) == 4
    assert "no run named no-such-run; choose from: content-type-fix, dev-build." in capsys.readouterr().err


def test_a_baseline_of_another_version_gives_way_to_the_committed_report(tmp_path):
    other = copy.deepcopy(COMMITTED)
    other["airflow"]["version"] = "3.3.2"
    (tmp_path / "report.json").write_text(json.dumps(other))
    assert contributor.unchanged_run(tmp_path, COMMITTED) == (COMMITTED, contributor.COMMITTED)
    shutil.copy(contributor.COMMITTED, tmp_path / "report.json")
    assert contributor.unchanged_run(tmp_path, COMMITTED)[1] == tmp_path / "report.json"


def test_a_missing_committed_report_is_one_sentence_and_exit_4(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(contributor, "COMMITTED", tmp_path / "report.json")
    assert contributor.main(["--work", str(tmp_path), "--reports", str(tmp_path)]) == 4
    err = capsys.readouterr().err
    assert err.startswith("contributor runs: the committed 3.4.0b2 report cannot be read: ") and err.count("\n") == 1
