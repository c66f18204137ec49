"""One `@result` function reconfigured per call with `.override(task_id=...)`: each call is a
result task under its own id; an unmarked function's call is not."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def result_override():
    @result
    @task
    def greet(x):
        return f"g{x}"

    greet.override(task_id="first")(1)
    greet.override(task_id="second", retries=0)(2)

    @task
    def plain(x):
        return x

    plain(4)


result_override()
