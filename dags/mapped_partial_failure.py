"""A mapped result task whose middle instance (map index 1) fails; the others succeed."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"], default_args={"retries": 0})
def mapped_partial_failure():
    @result
    @task
    def check(x):
        if x == 2:
            raise ValueError("instance 1 fails on purpose")
        return x

    check.expand(x=[1, 2, 3])


mapped_partial_failure()
