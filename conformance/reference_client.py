"""``python -m conformance.reference_client``, as documented: runs :mod:`conformance.clientkit.reference_client`."""

import sys

from conformance.clientkit.reference_client import main

if __name__ == "__main__":
    sys.exit(main())
