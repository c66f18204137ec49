"""Run the conformance suite against deliberately broken /wait implementations.

    python tools/check_mutants.py [--representative] [MUTANT ...]   # the same as: python -m conformance mutants

The check itself is :mod:`conformance.selfcheck.mutants`; this script only names the mutants beside it
(``mutant_site/sitecustomize.py``, which the local Airflow imports from ``PYTHONPATH``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from conformance.selfcheck.mutants import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], site=Path(__file__).resolve().parent / "mutant_site"))
