"""A two-iteration loop whose body is a mapped task, and a `@result` task after the loop.

`body.square` is the task a client might try to name with `result=` (a task of a mapped
iteration: 409 on 3.4). Each instance returns value² plus the iteration's ordinal, which
`body.tally`, the body's terminal task, counts from `loop.previous` (None in the first
iteration), never from `loop.index`: how iterations are numbered belongs to the loops feature
(3.4.0b2 counts from zero, 3.4.0 from one), not to DAG Result. Read from outside the loop the
mapped task is one flat sequence, iteration after iteration, each in map-index order:
[2, 5, 10, 3, 6, 11]. Loads on Airflow 3.4+ only (`.loop`).
"""

from airflow.sdk import dag, result, task, task_group


@dag(schedule=None, tags=["conformance"])
def loop_mapped_body():
    body_output = {}

    @task_group
    def body():
        @task
        def square(value, *, loop):
            return value * value + (loop.previous or 0) + 1

        @task
        def tally(*, loop):
            return (loop.previous or 0) + 1

        body_output["square"] = squares = square.expand(value=[1, 2, 3])
        squares >> tally()

    looped = body.loop(max_iterations=2)

    @result
    @task
    def collect(values):
        return list(values)

    looped >> collect(body_output["square"])


loop_mapped_body()
