"""A mapped result task expanded over one element: still a list, not the bare value."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def mapped_one():
    @result
    @task
    def double(x):
        return x * 2

    double.expand(x=[7])


mapped_one()
