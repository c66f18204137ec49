"""Deliberately broken: `@result` on a task inside a loop, which Airflow 3.4 refuses at import.

The suite expects this file among the server's import errors, saying the task is inside a
loop and cannot be a Dag result. (On Airflow before 3.4 it fails too, for want of `.loop`.)
"""

from airflow.sdk import dag, result, task, task_group


@dag(schedule=None, tags=["conformance"])
def loop_result_inside():
    @task_group
    def body():
        @result
        @task
        def step(*, loop):
            return loop.index

        step()

    body.loop(max_iterations=2)


loop_result_inside()
