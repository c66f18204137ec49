"""Where the language-neutral data lives.

``schemas/``, ``fixtures/`` and ``dags/`` sit at the top of the repository so that authors in
any language find them without reading Python. A built wheel carries copies of them under
``conformance/_data/``; a source checkout (or editable install) reads the originals.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_root() -> Path:
    """The folder holding ``schemas/``, ``fixtures/`` and ``dags/``."""
    bundled = _PACKAGE / "_data"
    return bundled if bundled.is_dir() else _PACKAGE.parent


def schemas_dir() -> Path:
    return data_root() / "schemas"


def fixtures_dir() -> Path:
    return data_root() / "fixtures"


def dags_dir() -> Path:
    return data_root() / "dags"


def package_file(name: str) -> Path:
    """A data file shipped inside the package itself (clauses, expectations)."""
    return _PACKAGE / name
