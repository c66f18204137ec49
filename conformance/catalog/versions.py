"""Airflow versions as the catalog compares them: by release number alone.

A clause's ``since`` and ``until`` (clauses.yaml) name releases, such as ``3.4.0``. A server
answers GET /api/v2/version with whatever it was built as, which before a release is a
pre-release (``3.4.0b2``, ``3.4.0rc1``) or a development build (``3.4.0.dev0``). Those carry the
behaviour the release is about to ship, so they are compared as that release: ``3.4.0b2`` is
within ``since: 3.4.0`` and outside ``until: 3.4.0``. Under PEP 440 ordering it would be the
other way round (``3.4.0b2 < 3.4.0``), which would leave every pre-release without the clauses
written for it.

Declared divergences (expectations.yaml) do not go through here: their PEP 440 specifier sets
can name pre-releases on purpose.
"""

from __future__ import annotations

from packaging.version import InvalidVersion, Version


def release(version: str) -> Version:
    """The release a version counts as: ``3.4.0b2``, ``3.4.0rc1``, ``3.4.0.dev0`` -> ``3.4.0``.

    Post-releases and local labels (``3.3.2.post1``, ``3.3.2+vendor``) count as their release
    too. Built from the release segment, so ``3.4`` and ``3.4.0`` compare equal.
    """
    return Version(".".join(map(str, Version(version).release)))


def is_prerelease(version: str | None) -> bool:
    """Whether a server version is a pre-release or development build (False when unknown)."""
    try:
        return isinstance(version, str) and Version(version).is_prerelease
    except InvalidVersion:
        return False


def describe(version: str | None) -> str:
    """A server version for people, saying how a pre-release is compared.

    ``"3.4.0b2 (pre-release; clauses compared as 3.4.0)"``, or the version as it is.
    """
    if version is None:
        return "unknown"
    if is_prerelease(version):
        return f"{version} (pre-release; clauses compared as {release(version)})"
    return version
