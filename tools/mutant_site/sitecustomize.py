"""Breaks Airflow's /wait on purpose, to prove the conformance suite notices.

On PYTHONPATH with CONFORMANCE_MUTANT=<name>, every Python process of the local target
(api-server included) patches ``DagRunWaiter`` right after Airflow defines it. Each mutant is
one documented behaviour regressed; ``tools/check_mutants.py`` runs the suite against each and
expects it to fail.
"""

import importlib.abc
import importlib.machinery
import os
import sys

MODULE = "airflow.api_fastapi.core_api.services.public.dag_run"


def _results_on_every_line(waiter_cls):
    async def serialize(self, dag_run):
        import json

        response = {"state": dag_run.state}
        if xcoms := await self._serialize_xcoms():
            response["results"] = xcoms
        return json.dumps(response)

    waiter_cls._serialize_response = serialize


def _wrap_xcoms(transform):
    def patch(waiter_cls):
        original = waiter_cls._serialize_xcoms

        async def serialize_xcoms(self):
            return transform(await original(self))

        waiter_cls._serialize_xcoms = serialize_xcoms

    return patch


def _before_waiting(adjust):
    """A mutant that changes the waiter's own settings before it starts, e.g. its interval."""
    def patch(waiter_cls):
        original_wait = waiter_cls.wait

        async def wait(self):
            adjust(self)
            async for chunk in original_wait(self):
                yield chunk

        waiter_cls.wait = wait

    return patch


def _collect_default_for_empty(waiter):
    if waiter.result_task_ids == [""]:
        waiter.result_task_ids = None


def _poll_every_half_second(waiter):
    waiter.interval = 0.5


def _poll_at_twice_the_interval(waiter):
    waiter.interval = 2 * waiter.interval


def _no_final_newline(waiter_cls):
    original_wait = waiter_cls.wait

    async def wait(self):
        previous = None
        async for chunk in original_wait(self):
            if previous is not None:
                yield previous
            previous = chunk
        # the last chunk is the terminal line's "\n": dropped

    waiter_cls.wait = wait


def _terminal_line_twice(waiter_cls):
    original_wait = waiter_cls.wait

    async def wait(self):
        lines = []
        async for chunk in original_wait(self):
            lines.append(chunk)
            yield chunk
        yield lines[-2]
        yield "\n"

    waiter_cls.wait = wait


def _late_terminal_line(waiter_cls):
    original_wait = waiter_cls.wait

    async def wait(self):
        import asyncio
        import json

        async for chunk in original_wait(self):
            if chunk.strip() and json.loads(chunk)["state"] in ("success", "failed"):
                await asyncio.sleep(self.interval)  # noticed the end, tells of it one poll later
            yield chunk

    waiter_cls.wait = wait


def _reverse_mapped(results):
    return {task: list(reversed(v)) if isinstance(v, list) else v for task, v in results.items()}


def _unwrap_single(results):
    return {task: v[0] if isinstance(v, list) and len(v) == 1 else v for task, v in results.items()}


def _collect_every_return_value(waiter_cls):
    original = waiter_cls._serialize_xcoms

    async def serialize_xcoms(self):
        if self.result_task_ids is None:
            from sqlalchemy import select

            from airflow.models.taskinstance import TaskInstance
            from airflow.utils.session import create_session_async

            async with create_session_async() as session:
                task_ids = list(await session.scalars(
                    select(TaskInstance.task_id).where(TaskInstance.dag_id == self.dag_id, TaskInstance.run_id == self.run_id)
                ))
            self.result_task_ids = task_ids
            try:
                return await original(self)
            finally:
                self.result_task_ids = None
        return await original(self)

    waiter_cls._serialize_xcoms = serialize_xcoms


MUTANTS = {
    "results-on-every-line": _results_on_every_line,
    "mapped-in-reverse-order": _wrap_xcoms(_reverse_mapped),
    "single-mapped-unwrapped": _wrap_xcoms(_unwrap_single),
    "empty-result-collects-default": _before_waiting(_collect_default_for_empty),
    "collects-every-return-value": _collect_every_return_value,
    "no-final-newline": _no_final_newline,
    "terminal-line-twice": _terminal_line_twice,
    "fixed-poll-interval": _before_waiting(_poll_every_half_second),
    "late-terminal-line": _late_terminal_line,
    "slow-poll-interval": _before_waiting(_poll_at_twice_the_interval),
}


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            MUTANTS[os.environ["CONFORMANCE_MUTANT"]](module.DagRunWaiter)

        spec.loader.exec_module = exec_and_patch
        return spec


if os.environ.get("CONFORMANCE_MUTANT") in MUTANTS:
    sys.meta_path.insert(0, _PatchAfterImport())
