"""`@result` over `@task.bash`: the task's return_value is the last line the command printed."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def result_bash():
    @result
    @task.bash
    def say():
        return "echo first; echo last-line"

    say()


result_bash()
