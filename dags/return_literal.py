"""A plain Python value returned from the `@dag` function is ignored: the run has no result."""

from airflow.sdk import dag, task


@dag(schedule=None, tags=["conformance"])
def return_literal():
    @task
    def compute():
        return 84

    compute()
    return 42


return_literal()
