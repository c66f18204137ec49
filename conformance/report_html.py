"""``python -m conformance.report_html``, as documented: runs :mod:`conformance.report.html`."""

import sys

from conformance.report.html import main

if __name__ == "__main__":
    sys.exit(main())
