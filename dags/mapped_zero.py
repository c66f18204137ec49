"""A mapped result task expanded over nothing: zero instances."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def mapped_zero():
    @task
    def nothing_to_map():
        return []

    @result
    @task
    def double(x):
        return x * 2

    double.expand(x=nothing_to_map())


mapped_zero()
