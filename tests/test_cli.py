"""The front door (python -m conformance VERB): the suite's pytest command line, and bad input."""

import subprocess
import sys

import pytest

from conformance import cli

BASE = ["--pyargs", "conformance.suite", "-p", "no:cacheprovider", "-rfExX"]


def test_the_suite_argv_without_options():
    assert cli.suite_argv() == BASE


def test_the_suite_argv_with_every_option_and_pytest_args_last():
    argv = cli.suite_argv(
        report="out/reports",
        airflow_target="container",
        airflow_db="postgres",
        boot_cache=False,
        allow_absent_feature=True,
        extra=["-k", "mapped", "--conformance-report", "elsewhere"],
    )
    assert argv == [
        *BASE,
        "--airflow-target",
        "container",
        "--airflow-db",
        "postgres",
        "--no-boot-cache",
        "--allow-absent-feature",
        "--conformance-report",
        "out/reports",
        "-k",
        "mapped",
        "--conformance-report",
        "elsewhere",
    ]


def test_run_hands_its_options_and_what_follows_double_dash_to_pytest(monkeypatch):
    seen = []
    monkeypatch.setattr(pytest, "main", lambda argv: seen.append(argv) or pytest.ExitCode.TESTS_FAILED)
    code = cli.main(
        [
            "run",
            "--report",
            "r",
            "--airflow-db",
            "sqlite",
            "--no-boot-cache",
            "--allow-absent-feature",
            "--",
            "-n",
            "2",
            "--",
            "-q",
        ]
    )
    assert code == 1
    assert seen == [
        [
            *BASE,
            "--airflow-db",
            "sqlite",
            "--no-boot-cache",
            "--allow-absent-feature",
            "--conformance-report",
            "r",
            "-n",
            "2",
            "--",
            "-q",
        ]
    ]


def test_run_passes_a_selection_to_pytest_as_the_plugins_options(monkeypatch):
    seen = []
    monkeypatch.setattr(pytest, "main", lambda argv: seen.append(argv) or pytest.ExitCode.OK)
    assert (
        cli.main(
            [
                "run",
                "--clause",
                "STREAM-*",
                "--clause",
                "RESULT-MAPPED-1",
                "--area",
                "timing",
                "--level",
                "MUST",
                "--",
                "-q",
            ]
        )
        == 0
    )
    assert seen == [
        [
            *BASE,
            "--conformance-clause",
            "STREAM-*",
            "--conformance-clause",
            "RESULT-MAPPED-1",
            "--conformance-area",
            "timing",
            "--conformance-level",
            "MUST",
            "-q",
        ]
    ]


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (
            [],
            "python -m conformance: name a verb (run, record, matrix, compare, bench, mutants, soak, replay, clients); see python -m conformance --help.",
        ),
        (
            ["frob"],
            "python -m conformance: unknown verb 'frob'; choose one of run, record, matrix, compare, bench, mutants, soak, replay, clients.",
        ),
        (
            ["run", "--bogus"],
            "python -m conformance run: unrecognized arguments: --bogus; see python -m conformance run --help.",
        ),
        (
            ["run", "-k", "mapped"],
            "python -m conformance run: unrecognized arguments: -k mapped; see python -m conformance run --help.",
        ),
        (
            ["matrix"],
            "python -m conformance matrix: the following arguments are required: reports, --out; see python -m conformance matrix --help.",
        ),
        (
            ["record", "--new-in", "x"],
            "python -m conformance record: argument --new-in: 'x' is not a release number such as 3.4.0; see python -m conformance record --help.",
        ),
        (
            ["bench", "--nope"],
            "python -m conformance bench: unrecognized arguments: --nope; see python -m conformance bench --help.",
        ),
        (
            ["mutants", "--nope"],
            "python -m conformance mutants: unrecognized arguments: --nope; see python -m conformance mutants --help.",
        ),
    ],
    ids=[
        "no-verb",
        "unknown-verb",
        "unknown-option",
        "pytest-args-without-double-dash",
        "missing-argument",
        "bad-value",
        "bench",
        "mutants",
    ],
)
def test_bad_input_is_one_sentence_and_exit_4(argv, sentence, capsys):
    assert cli.main(argv) == 4
    captured = capsys.readouterr()
    assert captured.err == sentence + "\n"
    assert captured.out == ""


def test_help_exits_0(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {verb} " in out for verb in cli.VERBS)
    assert cli.main(["run", "--help"]) == 0
    assert "--allow-absent-feature" in capsys.readouterr().out


def test_help_groups_the_verbs_by_audience_each_verb_once(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    groups = {block.split(":\n")[0]: block for block in out.split("\n\n")[1:-1]}
    assert list(groups) == ["users", "client authors", "maintainers"]
    listed = {audience: [line.split()[0] for line in block.splitlines()[1:]] for audience, block in groups.items()}
    assert listed == {
        "users": ["run", "compare", "matrix"],
        "client authors": ["replay", "clients"],
        "maintainers": ["record", "bench", "mutants", "soak"],
    }
    assert sorted(verb for verbs in listed.values() for verb in verbs) == sorted(cli.VERBS)


def test_python_dash_m_conformance_is_the_front_door():
    result = subprocess.run([sys.executable, "-m", "conformance", "frob"], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (4, "")
    assert result.stderr.startswith("python -m conformance: unknown verb 'frob'")
