"""tox.ini, read as the INI file it is: the airflow-3.4.0 env waits, unlisted, for 3.4.0 to install.

3.4.0 final is not on the package index this project reaches, so its env is in no list; it must
then be airflow-3.4.0b2's definition with only the pin changed, so that the day it installs it
runs the suite exactly as the betas were measured. The version matrix's envs are the versions
expectations.yaml says were measured.
"""

from __future__ import annotations

import configparser
import itertools
import re
from pathlib import Path

from conformance.report.unmeasured import measured_versions

TOX_INI = Path(__file__).resolve().parent.parent / "tox.ini"
CONDITION = re.compile(r"^(?P<factors>[A-Za-z0-9_.!,-]+):\s+(?P<value>.*)$")  # tox's "3.4.0b1-!postgres: value"


def tox_ini() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(TOX_INI)
    return parser


def expand(name: str) -> list[str]:
    """A generative env name's envs: ``airflow-3.4.0b{1,2}{,-postgres}`` -> four names."""
    parts = re.split(r"(\{[^}]*\})", name)
    choices = [part[1:-1].split(",") if part.startswith("{") else [part] for part in parts]
    return ["".join(chosen) for chosen in itertools.product(*choices)]


def sections_by_env(parser: configparser.ConfigParser) -> dict[str, str]:
    return {
        env: section
        for section in parser.sections()
        if section.startswith("testenv:")
        for env in expand(section.removeprefix("testenv:"))
    }


def resolved(value: str, env: str) -> list[str]:
    """A multi-line setting's lines as ``env`` sees them: a line under a factor condition only
    when every factor of it holds ("a-!b": a and not b; "a,b": either), the condition dropped."""
    factors = set(env.split("-"))
    lines = []
    for line in (line.strip() for line in value.strip().splitlines()):
        if match := CONDITION.match(line):
            alternatives = match["factors"].split(",")
            if not any(
                all((f[1:] not in factors) if f.startswith("!") else (f in factors) for f in alt.split("-"))
                for alt in alternatives
            ):
                continue
            line = match["value"]
        lines.append(line)
    return lines


def settings(parser: configparser.ConfigParser, env: str) -> dict[str, list[str]]:
    section = parser[sections_by_env(parser)[env]]
    return {key: resolved(section[key], env) for key in section if key != "description"}


def test_the_betas_envs_are_still_there_and_3_4_0_has_one_env_of_its_own():
    envs = sections_by_env(tox_ini())
    betas = {f"airflow-3.4.0b{n}{db}" for n in (1, 2) for db in ("", "-postgres")}
    assert betas <= set(envs)
    assert {envs[env] for env in betas} == {"testenv:airflow-3.4.0b{1,2}{,-postgres}"}
    assert envs["airflow-3.4.0"] == "testenv:airflow-3.4.0"
    assert "airflow-3.4.0-postgres" not in envs


def test_airflow_3_4_0_is_airflow_3_4_0b2_but_for_the_pin():
    parser = tox_ini()
    final, beta = settings(parser, "airflow-3.4.0"), settings(parser, "airflow-3.4.0b2")
    beta = {
        key: lines for key, lines in beta.items() if lines
    }  # set_env holds only postgres lines: nothing for these two
    assert set(final) == set(beta) == {"deps", "commands"}
    assert final["commands"] == beta["commands"]
    assert [line for line in beta["deps"] if line not in final["deps"]] == ["apache-airflow==3.4.0b2"]
    assert [line for line in final["deps"] if line not in beta["deps"]] == ["apache-airflow==3.4.0"]
    assert final["deps"] == [line.replace("==3.4.0b2", "==3.4.0") for line in beta["deps"]]
    postgres = settings(parser, "airflow-3.4.0b2-postgres")
    assert postgres["set_env"] == [
        "AIRFLOW_CONFORMANCE_DB = postgres"
    ]  # the resolver sees factors, else the check above means little
    assert postgres["deps"][-1] == "apache-airflow[postgres]==3.4.0b2"


def test_airflow_3_4_0_is_in_no_list_and_the_matrix_runs_the_measured_versions():
    tox = tox_ini()["tox"]
    env_list = [env.strip() for env in tox["env_list"].split(",")]
    labels = {name.strip(): envs for name, envs in (line.split("=", 1) for line in tox["labels"].strip().splitlines())}
    matrix = [env.strip() for env in labels["matrix"].split(",")]
    assert "airflow-3.4.0" not in env_list + matrix
    assert [env.removeprefix("airflow-") for env in matrix if env.startswith("airflow-")] == list(measured_versions())


def test_the_factor_reader_reads_tox_conditions():
    assert expand("a-{1,2}{,-x}") == ["a-1", "a-1-x", "a-2", "a-2-x"]
    value = "\n plain\n 1-!x: one-not-x\n x,y: x-or-y\n"
    assert resolved(value, "a-1") == ["plain", "one-not-x"]
    assert resolved(value, "a-1-x") == ["plain", "x-or-y"]
    assert resolved(value, "a-2-y") == ["plain", "x-or-y"]


def test_ci_runs_3_4_0b2_built_from_source_and_its_mutants_and_contributor_runs_compare_with_it():
    parser = tox_ini()
    env_list = [env.strip() for env in parser["tox"]["env_list"].split(",")]
    assert "airflow-3.4.0b2" not in env_list
    assert env_list.index("airflow-source") < env_list.index("mutants-loops") < env_list.index("contributor-runs")
    source = settings(parser, "airflow-source")
    assert source["commands"] == [
        "conformance run --report {work_dir}{/}reports{/}{env_name} -- {posargs}"
    ]  # the versions' envs' command
    assert "--baseline {work_dir}{/}reports{/}airflow-source" in settings(parser, "mutants-loops")["commands"][0]
    assert "--baseline {work_dir}{/}reports{/}airflow-source" in settings(parser, "contributor-runs")["commands"][0]
