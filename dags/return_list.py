"""A list of XComArgs is not a plain XComArg: returning it from `@dag` marks nothing."""

from airflow.sdk import dag, task


@dag(schedule=None, tags=["conformance"])
def return_list():
    @task
    def first():
        return 1

    @task
    def second():
        return 2

    return [first(), second()]


return_list()
