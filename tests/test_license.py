"""The project is Apache-2.0, and says so in a LICENSE file that travels with the wheel and the sdist."""

import hashlib
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# sha256 of the Apache Software Foundation's LICENSE-2.0.txt, unchanged (202 lines, no appendix filled in)
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def test_license_file_is_the_standard_apache_2_0_text():
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == APACHE_2_0_SHA256
    assert text.decode().split()[:5] == ["Apache", "License", "Version", "2.0,", "January"]


def test_wheel_and_sdist_carry_the_license_the_metadata_names():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"
    assert project["project"]["license-files"] == ["LICENSE"]  # hatchling puts it in .dist-info/licenses/
    assert "/LICENSE" in project["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
