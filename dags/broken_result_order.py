"""Deliberately broken: `@task` above `@result`. Importing this file must fail."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def broken_result_order():
    @task
    @result
    def wrong_order():
        return 1

    wrong_order()


broken_result_order()
