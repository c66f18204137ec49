"""A `@result` task partially applied, then mapped: `.partial(y=10).expand(x=[1, 2, 3])`."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def result_partial_expand():
    @result
    @task
    def add(x, y):
        return x + y

    add.partial(y=10).expand(x=[1, 2, 3])


result_partial_expand()
