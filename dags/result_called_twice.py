"""One `@result` function called twice: both calls are result tasks, `f` and `f__1`."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def result_called_twice():
    @result
    @task
    def f(x):
        return x * 2

    f(1)
    f(2)


result_called_twice()
