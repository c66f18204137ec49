"""The declared result task fails, so it pushes nothing: the run fails and carries no results.

Its upstream task succeeds and returns a value, which is not the result and must not appear
either. No retries (an external deployment may default to some), so the run fails at once.
"""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"], default_args={"retries": 0})
def result_task_fails():
    @task
    def prepare():
        return 21

    @result
    @task
    def answer(value):
        raise RuntimeError(f"fails on purpose, before returning anything for {value}")

    answer(prepare())


result_task_fails()
