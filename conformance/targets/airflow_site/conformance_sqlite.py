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

import os
import sys

PATIENT_SECONDS = 60.0
DEFAULT_SECONDS = 5.0  # pysqlite's own default

component = sys.argv[1] if len(sys.argv) > 1 else ""
CONNECT_ARGS = {"timeout": DEFAULT_SECONDS if component == "api-server" else PATIENT_SECONDS}

# What the scheduler forks (LocalExecutor workers, and the task processes they fork) yields the
# CPU to the api-server the suite measures: on 2 cores the tasks of 31 runs starved it, and on
# 3.4.0b2 a 2 s stream's polls came 5-9 s apart for a whole session (2 of 8 runs). The scheduler
# itself keeps its priority: niced, it held sqlite's write lock long enough for the api-server's
# writes to time out (a 500 on triggering a run, seen once). Tasks reach the database only
# through the api-server, so they hold no lock. An absolute priority, so that nested forks do
# not add up.
TASK_NICENESS = 10


def _yield_cpu() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, 0, TASK_NICENESS)
    except OSError:  # not allowed here: the run goes on at normal priority
        pass


if component == "scheduler":
    os.register_at_fork(after_in_child=_yield_cpu)
