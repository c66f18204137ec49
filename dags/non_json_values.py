"""A result holding a tuple and an aware datetime: types JSON has no word for."""

import datetime

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def non_json_values():
    @result
    @task
    def typed():
        return {
            "pair": (1, "two"),
            "when": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
        }

    typed()


non_json_values()
