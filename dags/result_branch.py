"""`@result` over `@task.branch`: a branch pushes no return_value, so there is no result.

Measured on 3.3.2 and 3.4.0b2 (the task pushes only its skip bookkeeping XCom).
"""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def result_branch():
    @result
    @task.branch
    def choose():
        return "left"

    @task
    def left():
        return "L"

    @task
    def right():
        return "R"

    choose() >> [left(), right()]


result_branch()
