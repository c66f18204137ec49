"""The runner image's parts that can be checked without Docker: its entrypoint and its Dockerfile.

The entrypoint runs here under sh with a stand-in ``conformance`` on PATH that records its
arguments and exits as told; livetests/test_runner_image.py runs the built image itself.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTAINER = ROOT / "tools" / "container"
ENTRYPOINT = CONTAINER / "suite-entrypoint.sh"
DOCKERFILE = CONTAINER / "suite.Dockerfile"

STAND_IN = """#!/bin/sh
printf '%s\\n' "$@" >"$STAND_IN_ARGS"
exit "${STAND_IN_EXIT:-0}"
"""


def run_entrypoint(
    tmp_path: Path, *args: str, report: str | None, exit_code: int = 0
) -> tuple[subprocess.CompletedProcess[str], list[str] | None]:
    """The entrypoint's outcome, and the arguments ``conformance`` got (None: it was not run)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    stand_in = bin_dir / "conformance"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    recorded = tmp_path / "args"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "STAND_IN_ARGS": str(recorded), "STAND_IN_EXIT": str(exit_code)}
    if report is not None:
        env["AIRFLOW_CONFORMANCE_REPORT"] = report
    done = subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    return done, recorded.read_text().splitlines() if recorded.exists() else None


@pytest.mark.parametrize("exit_code", [0, 1, 4])
def test_the_entrypoint_runs_the_front_door_and_exits_with_its_code(tmp_path, exit_code):
    reports = tmp_path / "reports" / "nested"
    done, args = run_entrypoint(tmp_path, "--", "-k", "mapped", report=str(reports), exit_code=exit_code)
    assert done.returncode == exit_code, done.stderr
    assert args == ["run", "--", "-k", "mapped"]
    assert reports.is_dir()  # made when missing, as an unmounted /reports would be


def test_a_reports_folder_that_cannot_be_made_ends_the_run_first(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # no folder can be made under a file, not even by root
    done, args = run_entrypoint(tmp_path, report=str(blocker / "reports"))
    assert done.returncode == 4
    assert args is None, "conformance ran although its report could not be written"
    message = done.stderr.strip()
    assert "\n" not in message
    assert message.startswith(f"conformance: the reports folder {blocker / 'reports'} is not writable by uid ")
    assert '--user "$(id -u):$(id -g)"' in message and message.endswith(".")


def test_no_reports_folder_means_no_check(tmp_path):
    done, args = run_entrypoint(tmp_path, report="")
    assert done.returncode == 0 and args == ["run"], done.stderr


def stages(dockerfile: str) -> list[str]:
    """The Dockerfile's build stages, each from its FROM line to the next."""
    return re.split(r"^(?=FROM )", dockerfile, flags=re.MULTILINE)[1:]


def test_the_final_stage_is_the_suite_on_the_external_target_as_a_user():
    final = stages(DOCKERFILE.read_text())[-1]
    assert "AIRFLOW_CONFORMANCE_TARGET=external" in final and "AIRFLOW_CONFORMANCE_REPORT=/reports" in final
    user = re.search(r"^USER (\S+)$", final, flags=re.MULTILINE)
    assert user is not None and user.group(1) not in ("0", "root")
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/conformance-entrypoint"]' in final
    assert "COPY suite-entrypoint.sh /usr/local/bin/conformance-entrypoint" in final


def test_the_host_ca_bundle_stays_in_the_build_stage_and_airflow_is_refused_there():
    *build, final = stages(DOCKERFILE.read_text())
    assert "ca-bundle.pem" not in final and "host-ca-bundle" not in final
    install = next(stage for stage in build if stage.startswith("FROM python AS install"))
    assert "COPY ca-bundle.pem" in install
    assert 'if /opt/conformance-venv/bin/python -c "import airflow"' in install and "exit 1" in install


def test_build_sh_offers_the_suite_image_and_ci_runs_it_after_building_it():
    build = (CONTAINER / "build.sh").read_text()
    assert re.search(r"^case \"\$\{1:-\}\" in [a-z|]*\bsuite\b", build, flags=re.MULTILINE)
    assert "suite) build_suite ;;" in build
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("tools/container/build.sh suite") < ci.index("container_env container-runner")
