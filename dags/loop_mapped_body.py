"""A two-iteration loop whose body is a mapped task, and a `@result` task after the loop.

`body.square` is the task a client might try to name with `result=` (a task of a mapped
iteration: 409 on 3.4). Read from outside the loop the mapped terminal task is one flat
sequence, iteration after iteration, each in map-index order: [1, 4, 9, 2, 5, 10].
Loads on Airflow 3.4+ only (`.loop`).
"""

from airflow.sdk import dag, result, task, task_group


@dag(schedule=None, tags=["conformance"])
def loop_mapped_body():
    body_output = {}

    @task_group
    def body():
        @task
        def square(value, *, loop):
            return value * value + loop.index

        body_output["square"] = square.expand(value=[1, 2, 3])

    looped = body.loop(max_iterations=2)

    @result
    @task
    def collect(values):
        return list(values)

    looped >> collect(body_output["square"])


loop_mapped_body()
