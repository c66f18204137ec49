"""A result task inside a task group: its key is the group-qualified task id."""

from airflow.sdk import dag, result, task, task_group


@dag(schedule=None, tags=["conformance"])
def task_group_result():
    @task_group
    def grp():
        @result
        @task
        def inner():
            return "from the group"

        inner()

    grp()


task_group_result()
