"""`@result` over `@task.short_circuit` with a truthy return: the returned value is the result."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def result_short_circuit():
    @result
    @task.short_circuit
    def gate_open():
        return {"open": True}

    @task
    def after_open():
        return "ran"

    gate_open() >> after_open()


result_short_circuit()
