"""A run that lasts as long as its trigger asks (conf ``seconds``, default 20), for the fault livetests.

The fault checks need a run that is still ``running`` while they drop, slow down, proxy or
restart things, and some need it to end soon after; one DAG with a duration parameter serves
all of them without a sleep hard-coded per test.
"""

import time

from airflow.sdk import dag, get_current_context, result, task


@dag(schedule=None, tags=["conformance"], params={"seconds": 20})
def timed_run():
    @result
    @task
    def sleep_then_answer():
        time.sleep(float(get_current_context()["params"]["seconds"]))
        return "done"

    sleep_then_answer()


timed_run()
