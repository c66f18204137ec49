"""A run that stays `running` for several seconds, so the stream carries several poll lines.

Marked by returning from `@dag` rather than with `@result`, so that the file also loads on an
Airflow without the feature (3.2), where the timing clauses of /wait still apply.
"""

import time

from airflow.sdk import dag, task


@dag(schedule=None, tags=["conformance"])
def slow_run():
    @task
    def wait_a_while():
        time.sleep(8)
        return "done"

    return wait_a_while()


slow_run()
