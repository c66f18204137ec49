"""A run that stays `running` for several seconds, so the stream carries several poll lines."""

import time

from airflow.sdk import dag, result, task


@dag(schedule=None, tags=["conformance"])
def slow_run():
    @result
    @task
    def wait_a_while():
        time.sleep(8)
        return "done"

    wait_a_while()


slow_run()
