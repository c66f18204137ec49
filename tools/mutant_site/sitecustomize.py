"""Changes Airflow's /wait on purpose, to prove the conformance suite tells right from wrong.

On PYTHONPATH with CONFORMANCE_MUTANT=<name>, every Python process of the local target
(api-server included) patches the modules the mutant names right after Airflow defines them:
mostly ``DagRunWaiter``, or the ``/wait`` route itself for its permission check. Two families:

- **harmful**: one documented behaviour regressed (or a declared divergence fixed);
  ``python -m conformance mutants`` expects exactly the clauses ``expected.yaml`` names to catch it.
- **benign**: a change Airflow may legitimately make (a new key on a line, another wording of an
  error, another JSON spelling of the same values); ``expected.yaml`` names the doc or rule that
  makes it legitimate, and every clause's verdict must stay what it is on the unmutated server.

Names joined by ``+`` apply several mutants to one server, in that order (each wraps the ones
before it): one suite run then checks a harmful mutant and benign ones together. Mutants of
behaviour new in Airflow 3.4 (loops) are listed in ``NEEDS_3_4`` and run against a 3.4 build.
"""

import functools
import importlib.abc
import importlib.machinery
import json
import os
import re
import sys

WAITER_MODULE = "airflow.api_fastapi.core_api.services.public.dag_run"
ROUTE_MODULE = "airflow.api_fastapi.core_api.routes.public.dag_run"


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


def _newline_held_back(waiter_cls):
    """Each chunk goes out only when the next is ready: every line's newline comes an interval
    late, with the next line, and the last line never gets one (a buffering transport)."""
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


def _stall_now_and_then(waiter_cls):
    """One poll in a stream comes late by an interval and a half: the server stalls now and then."""
    original_wait = waiter_cls.wait

    async def wait(self):
        import asyncio

        lines = 0
        async for chunk in original_wait(self):
            if chunk.strip():
                lines += 1
                if lines == 3 and self.interval >= 2:
                    await asyncio.sleep(1.5 * self.interval)
            yield chunk

    waiter_cls.wait = wait


def _ndjson_content_type(route_module):
    """The stream is labelled application/x-ndjson, as the route's OpenAPI says: a declared
    divergence of 3.3 and 3.4 fixed, which must flip its strict expectation."""
    real = route_module.StreamingResponse

    def labelled(content, *args, **kwargs):
        kwargs.setdefault("media_type", "application/x-ndjson")
        return real(content, *args, **kwargs)

    route_module.StreamingResponse = labelled


def _json_content_type(route_module):
    """The stream is labelled application/json: the declared divergence (no Content-Type at
    all) swapped for another wrong label, which its pinned failure must not absorb."""
    real = route_module.StreamingResponse

    def labelled(content, *args, **kwargs):
        kwargs.setdefault("media_type", "application/json")
        return real(content, *args, **kwargs)

    route_module.StreamingResponse = labelled


def _reverse_mapped(results):
    return {task: list(reversed(v)) if isinstance(v, list) else v for task, v in results.items()}


def _unwrap_single(results):
    return {task: v[0] if isinstance(v, list) and len(v) == 1 else v for task, v in results.items()}


def _collect_every_return_value(waiter_cls):
    original = waiter_cls._serialize_xcoms

    async def serialize_xcoms(self):
        if self.result_task_ids is None:
            from airflow.models.taskinstance import TaskInstance
            from airflow.utils.session import create_session_async
            from sqlalchemy import select

            async with create_session_async() as session:
                task_ids = list(
                    await session.scalars(
                        select(TaskInstance.task_id).where(
                            TaskInstance.dag_id == self.dag_id, TaskInstance.run_id == self.run_id
                        )
                    )
                )
            self.result_task_ids = task_ids
            try:
                return await original(self)
            finally:
                self.result_task_ids = None
        return await original(self)

    waiter_cls._serialize_xcoms = serialize_xcoms


def _ignore_xcom_permission(route_module):
    """/wait asks the auth manager about XCom, and this one always says yes."""
    real = route_module.get_auth_manager

    class AllowsXCom:
        def __init__(self, manager):
            self._manager = manager

        def __getattr__(self, name):
            return getattr(self._manager, name)

        def is_authorized_dag(self, *args, **kwargs):
            entity = kwargs.get("access_entity")
            return getattr(entity, "name", None) == "XCOM" or self._manager.is_authorized_dag(*args, **kwargs)

    route_module.get_auth_manager = lambda: AllowsXCom(real())


def _collect_loop_tasks(waiter_cls):
    """No 409 for a loop task: the selection is streamed like any other."""
    waiter_cls.validate_result_selection = lambda self, *args, **kwargs: None


def _drop_results_after_loops(waiter_cls):
    """Results of tasks downstream of a loop's gate go missing (as a region filter gone wrong would)."""
    original = waiter_cls._serialize_xcoms

    async def serialize_xcoms(self):
        from airflow.models.serialized_dag import SerializedDagModel
        from airflow.models.task_coordinates import enclosing_loop

        results = await original(self)
        dag = SerializedDagModel.get_dag(self.dag_id)
        after_loop = {
            task.task_id
            for task in (dag.tasks if dag else ())
            if any(enclosing_loop(dag.get_task(upstream)) is not None for upstream in task.upstream_task_ids)
        }
        return {task_id: value for task_id, value in results.items() if task_id not in after_loop}

    waiter_cls._serialize_xcoms = serialize_xcoms


def _error_mid_stream(waiter_cls):
    """The waiter fails once the run has ended, as 3.4's does on a task with two current
    producers ("Ambiguous current producers"): after the 200 and the poll lines."""

    async def serialize_xcoms(self):
        raise ValueError(f"Ambiguous current producers for a task in DAG run {self.run_id!r} (injected)")

    waiter_cls._serialize_xcoms = serialize_xcoms


def _xcoms_of_earlier_runs(waiter_module):
    """Isolation between runs: the waiter's XCom query also matches the DAG's earlier runs
    (``include_prior_dates``), so a task's value from an older run joins this run's."""
    real = waiter_module.XComModel

    class EarlierRunsToo:
        def __getattr__(self, name):
            return getattr(real, name)

        @staticmethod
        def get_many(**kwargs):
            return real.get_many(**{**kwargs, "include_prior_dates": True})

    waiter_module.XComModel = EarlierRunsToo()


def _drop_group_results(results):
    """Authoring variant: a result task inside a task group (its id has a dot) is left out."""
    return {task: value for task, value in results.items() if "." not in task}


def _gzip_without_flush(gzip_module):
    """Transport: gzip output is no longer flushed per chunk, so a compressed stream's lines
    reach the client only when the compressor's buffer fills or the stream ends."""

    def compress(self, body, more_body):
        return self.compressor.compress(body) if more_body else self.compressor.compress(body) + self.compressor.flush()

    gzip_module.GZipResponder._compress_body = compress


def _split_comma_joined(route_module):
    """Request parsing: a comma inside one result value is taken to separate task ids. The
    route's endpoint is swapped before the router is included into the app, which copies it."""
    import functools

    from fastapi.routing import APIRoute

    for route in route_module.dag_run_router.routes:
        if isinstance(route, APIRoute) and route.path.endswith("/wait"):
            original = route.endpoint

            @functools.wraps(original)  # FastAPI reads the parameters through __wrapped__
            def split(*args, _original=original, **kwargs):
                if ids := kwargs.get("result_task_ids"):
                    kwargs["result_task_ids"] = [part for value in ids for part in value.split(",")]
                return _original(*args, **kwargs)

            route.endpoint = route.dependant.call = split


# --- benign: what Airflow may change without breaking a client that follows CLIENTS.md ---------


def _rewrite_lines(transform):
    """A benign mutant of the stream's JSON text: ``transform(waiter, value)`` gives the line's
    new text (without its newline) for each line that is a JSON object; other chunks pass."""

    def patch(waiter_cls):
        original_wait = waiter_cls.wait

        async def wait(self):
            async for chunk in original_wait(self):
                try:
                    value = json.loads(chunk) if chunk.strip() else None
                except ValueError:
                    value = None
                yield transform(self, value) if isinstance(value, dict) else chunk

        waiter_cls.wait = wait

    return patch


def _rewrite_chunks(transform):
    """A benign mutant of the stream's bytes on the wire: ``transform(chunk)`` gives the chunks to send instead."""

    def patch(waiter_cls):
        original_wait = waiter_cls.wait

        async def wait(self):
            async for chunk in original_wait(self):
                for part in transform(chunk):
                    yield part

        waiter_cls.wait = wait

    return patch


def _with_run_id(waiter, value):
    """API evolution: every line also names its run (the issue's example, ``dag_run_id``)."""
    return json.dumps({**value, "dag_run_id": waiter.run_id})


def _compact(waiter, value):
    """The same JSON without the spaces after separators."""
    return json.dumps(value, separators=(",", ":"))


def _results_first(waiter, value):
    """The terminal line's keys in the other order: results, then state (JSON objects are unordered)."""
    return json.dumps({key: value[key] for key in sorted(value, key=lambda key: key != "results")})


def _crlf(chunk):
    """Each line ended by CR LF: the JSON text of a line may end in white space, LF still ends the line."""
    return ["\r\n"] if chunk == "\n" else [chunk]


def _split_in_two(chunk):
    """Each line's text sent as two chunks: HTTP chunk boundaries carry no meaning."""
    middle = len(chunk) // 2
    return [chunk[:middle], chunk[middle:]] if len(chunk) > 1 else [chunk]


_REWORDINGS = (
    # (what Airflow says, what the benign server says instead): only the content each clause
    # names survives (dag id and run id; XCom; the refused task), every other word changes
    (
        re.compile(r"The DagRun with dag_id: `(?P<dag>.*)` and run_id: `(?P<run>.*)` was not found"),
        "Unknown pair: {dag} / {run}",
    ),
    (re.compile(r"User is not authorized to read XCom data for this Dag"), "Forbidden: XCom access missing"),
    (
        re.compile(r"Cannot collect loop task '(?P<task>[^']*)' as a DagRun result.*", re.DOTALL),
        "{task} repeats per iteration, so no single value exists; use a downstream task",
    ),
)


def _reworded(detail):
    if isinstance(detail, str):
        for pattern, replacement in _REWORDINGS:
            if match := pattern.fullmatch(detail):
                return replacement.format(**match.groupdict())
    return detail


def _reword_http_errors(module):
    """The module's HTTPException says the same things in other words."""
    real = module.HTTPException

    class Reworded(real):
        def __init__(self, status_code, detail=None, headers=None):
            super().__init__(status_code, _reworded(detail), headers)

    module.HTTPException = Reworded


def _reword_result_order_error(module):
    """The parse-time error for @result below @task, in other words (it still names both)."""
    original = module.result

    @functools.wraps(original)
    def result(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        except TypeError as exc:
            if "@result" not in str(exc):
                raise
            raise TypeError("Put @result above @task; here the two are stacked the other way round") from None

    module.result = result


def _reword_result_in_loop_error(module):
    """The parse-time error for a result inside a loop, in other words (task, loop, result kept)."""
    original = module.check_dag_result_outside_loop

    @functools.wraps(original)
    def check(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        except ValueError as exc:
            if match := re.match(r"Task '(?P<task>[^']*)' is inside a loop", str(exc)):
                raise ValueError(
                    f"{match['task']} sits in a loop region, so its value may not be the Dag's result"
                ) from None
            raise

    module.check_dag_result_outside_loop = check


def _error_bodies_gain_a_member(responses_module):
    """API evolution: a 4xx/5xx JSON body with ``detail`` also carries ``title``, the status's
    reason phrase (as RFC 9457 problem details would)."""
    from http import HTTPStatus

    real_init = responses_module.JSONResponse.__init__

    def __init__(self, content=None, status_code=200, *args, **kwargs):
        if status_code >= 400 and isinstance(content, dict) and "detail" in content and "title" not in content:
            content = {**content, "title": HTTPStatus(status_code).phrase}
        real_init(self, content, status_code, *args, **kwargs)

    responses_module.JSONResponse.__init__ = __init__


def _loops_count_from_one(module):
    """Airflow 3.4.0's loop numbering (PR 74773): ``loop.index`` counts iterations from one, in
    body tasks and in ``until`` alike; the gate still stops at max_iterations. Task-side only:
    the stored region index is the server's, and shifting every iteration's by one leaves the
    order the waiter sorts by as it is."""
    accessor = module.LoopContextAccessor
    accessor.index = property(lambda self: self._descriptor.index + 1)
    accessor.previous = property(lambda self: None if self.index == 1 else self._result(previous_iteration=True))

    class ZeroBased:
        """What the gate's own bookkeeping reads: the numbering it was written for."""

        def __init__(self, loop):
            self.one_based = loop

        def __getattr__(self, name):
            return getattr(self.one_based, name)

        @property
        def index(self):
            return self.one_based.index - 1

    real_gate, real_kwargs = module.execute_loop_gate, module.determine_kwargs

    def determine_kwargs(func, args, context):  # until sees the 1-based loop
        if isinstance(context.get("loop"), ZeroBased):
            context = {**context, "loop": context["loop"].one_based}
        return real_kwargs(func, args, context)

    def execute_loop_gate(gate, context):
        return real_gate(gate, {**context, "loop": ZeroBased(context["loop"])})

    module.determine_kwargs = determine_kwargs
    module.execute_loop_gate = execute_loop_gate


# --- harmful, of the wire: a known key misspelled ----------------------------------------------


def _results_key_misspelled(waiter, value):
    """The terminal line's ``results`` goes out as ``result``: to a reader that ignores unknown
    keys, as CLIENTS.md asks, every result is gone."""
    return json.dumps({("result" if key == "results" else key): item for key, item in value.items()})


def _ignore_run_permission(route_module):
    """/wait without its DAG-run read check: the route's dependencies are dropped before the
    router is included into the app (which copies them), so any signed-in user may wait."""
    from fastapi.routing import APIRoute

    for route in route_module.dag_run_router.routes:
        if isinstance(route, APIRoute) and route.path.endswith("/wait"):
            route.dependencies = []


def _on_waiter(patch):
    return WAITER_MODULE, lambda module: patch(module.DagRunWaiter)


MUTANTS = {
    "results-on-every-line": _on_waiter(_results_on_every_line),
    "mapped-in-reverse-order": _on_waiter(_wrap_xcoms(_reverse_mapped)),
    "single-mapped-unwrapped": _on_waiter(_wrap_xcoms(_unwrap_single)),
    "empty-result-collects-default": _on_waiter(_before_waiting(_collect_default_for_empty)),
    "collects-every-return-value": _on_waiter(_collect_every_return_value),
    "newline-held-back": _on_waiter(_newline_held_back),
    "terminal-line-twice": _on_waiter(_terminal_line_twice),
    "fixed-poll-interval": _on_waiter(_before_waiting(_poll_every_half_second)),
    "late-terminal-line": _on_waiter(_late_terminal_line),
    "slow-poll-interval": _on_waiter(_before_waiting(_poll_at_twice_the_interval)),
    "error-mid-stream": _on_waiter(_error_mid_stream),
    "stalls-now-and-then": _on_waiter(_stall_now_and_then),
    "fixes-content-type": (ROUTE_MODULE, _ndjson_content_type),
    "content-type-json": (ROUTE_MODULE, _json_content_type),
    "ignores-xcom-permission": (ROUTE_MODULE, _ignore_xcom_permission),
    "results-of-earlier-runs": (WAITER_MODULE, _xcoms_of_earlier_runs),
    "group-result-dropped": _on_waiter(_wrap_xcoms(_drop_group_results)),
    "gzip-not-flushed": ("starlette.middleware.gzip", _gzip_without_flush),
    "comma-splits-result": (ROUTE_MODULE, _split_comma_joined),
    "loop-task-collected": _on_waiter(_collect_loop_tasks),
    "loop-result-dropped": _on_waiter(_drop_results_after_loops),
    "results-key-misspelled": _on_waiter(_rewrite_lines(_results_key_misspelled)),
    "ignores-run-permission": (ROUTE_MODULE, _ignore_run_permission),
    # benign
    "new-key-on-every-line": _on_waiter(_rewrite_lines(_with_run_id)),
    "compact-json": _on_waiter(_rewrite_lines(_compact)),
    "results-key-first": _on_waiter(_rewrite_lines(_results_first)),
    "crlf-line-endings": _on_waiter(_rewrite_chunks(_crlf)),
    "lines-split-across-chunks": _on_waiter(_rewrite_chunks(_split_in_two)),
    "reworded-errors": (
        (ROUTE_MODULE, _reword_http_errors),
        (WAITER_MODULE, _reword_http_errors),
        ("airflow.sdk.definitions.decorators", _reword_result_order_error),
        ("airflow.sdk.definitions._internal.loop", _reword_result_in_loop_error),
    ),
    "error-body-extra-member": ("starlette.responses", _error_bodies_gain_a_member),
    "loops-count-from-one": ("airflow.sdk.execution_time.loop", _loops_count_from_one),
}
NEEDS_3_4 = ("loop-task-collected", "loop-result-dropped", "loops-count-from-one")
# What CI runs: each run is a whole suite run (one to two minutes on 2 cores) and CI must stay
# under 30 minutes, so one run carries a values mutant, a timing mutant and the benign mutants
# of 3.3 together: the failing clauses must be exactly the two harmful ones' declared clauses,
# and every other verdict that of the unmutated run (CI's airflow-3.3.2 report). Framing
# (results-on-every-line) is checked, exactly as declared, by livetests/test_reproduce.py,
# whose run of that mutant CI makes anyway. Each mutant on its own: tox -e mutants-full.
REPRESENTATIVE = (
    (
        "mapped-in-reverse-order+late-terminal-line+new-key-on-every-line+reworded-errors+error-body-extra-member"
        "+results-key-first+compact-json+crlf-line-endings+lines-split-across-chunks"
    ),
)


def patches(names):
    """The (module, patch) pairs of ``names`` (a mutant, or several joined by ``+``), in order."""
    pairs = []
    for name in names.split("+"):
        entry = MUTANTS[name]
        pairs += list(entry) if isinstance(entry[0], tuple) else [entry]
    return pairs


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    def __init__(self, pairs):
        self._by_module = {}
        for module_name, patch in pairs:
            self._by_module.setdefault(module_name, []).append(patch)

    def find_spec(self, name, path, target=None):
        if name not in self._by_module:
            return None
        module_patches = self._by_module[name]
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            for patch in module_patches:
                patch(module)

        spec.loader.exec_module = exec_and_patch
        return spec


if (_names := os.environ.get("CONFORMANCE_MUTANT")) and all(name in MUTANTS for name in _names.split("+")):
    sys.meta_path.insert(0, _PatchAfterImport(patches(_names)))
