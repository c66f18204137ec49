"""A three-iteration loop whose iterations say which try of theirs ran, and a `@result` task after it.

Each iteration's value is {"n": its ordinal, counted from `loop.previous`, "try": the task
instance's try number}. The suite's test makes a run of its own, clears the second iteration
(and what follows it), and waits again: the result task after the loop must then see three
values, the second one's try 2, not a fourth value for the execution the rerun replaced (3.4.0
"Loops": only current executions count). Loads on Airflow 3.4+ only (`.loop`).
"""

from airflow.sdk import dag, result, task, task_group


@dag(schedule=None, tags=["conformance"])
def loop_rerun():
    body_output = {}

    @task_group
    def body():
        @task
        def step(*, loop, ti):
            previous = loop.previous
            return {"n": (previous["n"] if previous else 0) + 1, "try": ti.try_number}

        body_output["step"] = step()

    looped = body.loop(max_iterations=3)

    @result
    @task
    def collect(values):
        return list(values)

    looped >> collect(body_output["step"])


loop_rerun()
