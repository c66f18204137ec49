"""A result dict whose keys are in neither alphabetical nor length order: zulu, alpha, mike."""

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def result_key_order():
    @result
    @task
    def ordered():
        return {"zulu": 1, "alpha": 2, "mike": 3}

    ordered()


result_key_order()
