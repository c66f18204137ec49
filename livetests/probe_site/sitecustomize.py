"""Lets the fault livetests watch Airflow's /wait waiter from inside the api-server.

On PYTHONPATH with ``CONFORMANCE_PROBE_LOG=<file>``, a process that imports Airflow's waiter
module wraps ``DagRunWaiter`` so that it appends one JSON line per event to that file:

- ``open``: a /wait stream started (its run and interval);
- ``poll``: the waiter is about to read the run from the database;
- ``close``: the stream's generator ended, and ``how``: ``finished`` (terminal line sent),
  ``cancelled`` (the server noticed the client leave and cancelled it), ``closed`` (the
  generator was closed without finishing), or an exception name; and what the waiter cost the
  database in all, counted with SQLAlchemy events: ``statements`` executed, connection
  ``checkouts`` from the pool (each one pinged first, as Airflow enables ``pool_pre_ping``),
  and ``connects``, new database connections opened for it.

It observes only: every wrapped call goes through to Airflow's own code unchanged. Each
waiter is numbered per process; ``pid`` tells processes apart. A server without the variable
set (or a client process) is untouched.
"""

import contextvars
import importlib.abc
import importlib.machinery
import itertools
import json
import os
import sys
import time

MODULE = "airflow.api_fastapi.core_api.services.public.dag_run"
_current = contextvars.ContextVar("conformance_probe_waiter", default=None)


class _Waiter:
    def __init__(self, serial):
        self.serial = serial
        self.costs = {"statements": 0, "checkouts": 0, "connects": 0}


def _log(event, waiter, subject, **extra):
    record = {
        "event": event,
        "t": time.time(),
        "pid": os.getpid(),
        "waiter": waiter.serial,
        "dag_id": subject.dag_id,
        "run_id": subject.run_id,
        "interval": subject.interval,
        **extra,
    }
    with open(os.environ["CONFORMANCE_PROBE_LOG"], "a") as log:
        log.write(json.dumps(record) + "\n")


def _counter(cost):
    def count(*args, **kwargs):
        if (waiter := _current.get()) is not None:
            waiter.costs[cost] += 1

    return count


def _install(waiter_cls):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    event.listen(Engine, "before_cursor_execute", _counter("statements"))
    event.listen(Pool, "checkout", _counter("checkouts"))
    event.listen(Pool, "connect", _counter("connects"))
    original_wait, original_get = waiter_cls.wait, waiter_cls._get_dag_run
    serials = itertools.count(1)

    async def _get_dag_run(self):
        _log("poll", _current.get(), self)
        return await original_get(self)

    async def wait(self):
        waiter = _Waiter(next(serials))
        _current.set(waiter)  # the stream runs in a task of its own, so this stays per stream
        _log("open", waiter, self)
        how = "closed"
        try:
            async for chunk in original_wait(self):
                yield chunk
            how = "finished"
        except BaseException as exc:
            how = "cancelled" if type(exc).__name__ == "CancelledError" else type(exc).__name__
            if how == "GeneratorExit":
                how = "closed"
            raise
        finally:
            _log("close", waiter, self, how=how, **waiter.costs)

    waiter_cls._get_dag_run = _get_dag_run
    waiter_cls.wait = wait


class _InstallAfterImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_install(module):
            exec_module(module)
            _install(module.DagRunWaiter)

        spec.loader.exec_module = exec_and_install
        return spec


if os.environ.get("CONFORMANCE_PROBE_LOG"):
    sys.meta_path.insert(0, _InstallAfterImport())
