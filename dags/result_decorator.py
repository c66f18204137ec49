"""`@result` on top of `@task`: the doc's own example, and the run behind the `result` parameter cases."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def result_decorator():
    @task
    def fetch_data():
        return {"answer": 42}

    @result
    @task
    def compute(data):
        return data["answer"] * 2

    compute(fetch_data())


result_decorator()
