"""``python -m conformance.record``, as documented: runs :mod:`conformance.selfcheck.record`."""

import sys

from conformance.selfcheck.record import main

if __name__ == "__main__":
    sys.exit(main())
