"""Former name of :mod:`conformance.targets.docker_engine`, kept for livetests/test_container_orphans.py."""

from conformance.targets.docker_engine import LABEL  # noqa: F401
