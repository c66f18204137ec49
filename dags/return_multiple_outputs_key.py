"""`split()["a"]` reads a per-key XCom of a multiple_outputs task: not eligible as a result."""

from airflow.sdk import dag, task


@dag(schedule=None, tags=["conformance"])
def return_multiple_outputs_key():
    @task(multiple_outputs=True)
    def split():
        return {"a": 1, "b": 2}

    return split()["a"]


return_multiple_outputs_key()
