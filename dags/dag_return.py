"""Returning a task's XComArg from the `@dag` function marks that task, with no `@result`."""

from airflow.sdk import dag, task


@dag(schedule=None, tags=["conformance"])
def dag_return():
    @task
    def fetch_data():
        return {"answer": 42}

    @task
    def compute(data):
        return data["answer"] * 2

    return compute(fetch_data())


dag_return()
