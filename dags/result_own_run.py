"""A result that differs per run (its own run id), so a value leaking from another run of the same DAG shows."""

from airflow.sdk import dag, get_current_context, result, task


@dag(schedule=None, tags=["conformance"])
def result_own_run():
    @result
    @task
    def own_run_id():
        return get_current_context()["run_id"]

    own_run_id()


result_own_run()
