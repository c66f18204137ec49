"""The result task succeeds but another task fails, so the run fails with a result."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"], default_args={"retries": 0})
def run_fails_result_succeeds():
    @result
    @task
    def report():
        return "partial"

    @task
    def explode():
        raise RuntimeError("fails on purpose")

    report()
    explode()


run_fails_result_succeeds()
