"""sqlite connect arguments for the local target's Airflow processes, chosen per component.

Imported by Airflow itself (``[database] sql_alchemy_connect_args``), not by the suite: this
folder is put on the PYTHONPATH of ``airflow standalone`` when the metadata database is sqlite.

Why per component: on sqlite standalone (3.3.2, 2 cores) the api-server now and then holds the
write lock for its whole 5 s busy timeout while its own event loop is blocked; the scheduler,
waiting on the same lock with the same 5 s, then gets "database is locked" and exits for good,
and the run is lost. A longer wait for everyone turned that into 30 s stalls of the api-server
(measured), so only the components that cannot survive a lock error wait longer: the
api-server keeps sqlite's default and fails one request, which its clients retry.
"""

from __future__ import annotations

import sys

PATIENT_SECONDS = 60.0
DEFAULT_SECONDS = 5.0  # pysqlite's own default

component = sys.argv[1] if len(sys.argv) > 1 else ""
CONNECT_ARGS = {"timeout": DEFAULT_SECONDS if component == "api-server" else PATIENT_SECONDS}
