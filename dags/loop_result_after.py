"""A three-iteration loop, and a `@result` task after it that reads the loop's terminal task.

The way out that 3.4's 409 names: the result is published by a task outside the loop. Read
from outside, the terminal task's XComArg is one value per iteration (iteration order), so
the result is [10, 20, 30]. Each iteration adds 10 to the one before (`loop.previous`, None
in the first), never to `loop.index`: how iterations are numbered belongs to the loops
feature (3.4.0b2 counts from zero, 3.4.0 from one), not to DAG Result, and must not change
this result. `.loop()` returns the group, not the body's output, so the XComArg is taken from
inside the body; passing the group itself to `collect` makes no dependency at all (Airflow
3.4.0b2). Loads on Airflow 3.4+ only (`.loop`).
"""

from airflow.sdk import dag, result, task, task_group


@dag(schedule=None, tags=["conformance"])
def loop_result_after():
    body_output = {}

    @task_group
    def body():
        @task
        def step(*, loop):
            return (loop.previous or 0) + 10

        body_output["step"] = step()

    looped = body.loop(max_iterations=3)

    @result
    @task
    def collect(values):
        return list(values)

    looped >> collect(body_output["step"])


loop_result_after()
