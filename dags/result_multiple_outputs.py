"""`@result` on a multiple_outputs task: its plain return_value (the whole dict) is the result."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def result_multiple_outputs():
    @result
    @task(multiple_outputs=True)
    def split():
        return {"a": 1, "b": 2}

    split()


result_multiple_outputs()
