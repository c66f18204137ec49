"""A result of one million characters, returned whole."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def large_value():
    @result
    @task
    def blob():
        return "0123456789" * 100_000

    blob()


large_value()
