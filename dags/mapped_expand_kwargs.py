"""`.expand_kwargs`: results listed by map index, which here is neither value nor completion order."""

import time

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def mapped_expand_kwargs():
    @result
    @task
    def add(a, b):
        time.sleep(a * 0.4)
        return a + b

    add.expand_kwargs([{"a": 3, "b": 30}, {"a": 1, "b": 10}, {"a": 2, "b": 20}])


mapped_expand_kwargs()
