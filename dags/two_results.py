"""Two result tasks, declared in reverse alphabetical order so key order can be told apart."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def two_results():
    @result
    @task
    def zulu():
        return "z"

    @result
    @task
    def alpha():
        return "a"

    zulu()
    alpha()


two_results()
