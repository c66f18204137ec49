"""A result task that returns None."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def result_none():
    @result
    @task
    def nothing():
        return None

    nothing()


result_none()
