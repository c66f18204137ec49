"""A loop allowed five iterations whose `until` stops it after the second.

Each iteration counts on from the previous one's result (`loop.previous`), so the result task
after the loop sees [1, 2] and reports two iterations. Loads on Airflow 3.4+ only (`.loop`).
"""

from airflow.sdk import dag, result, task, task_group


@dag(schedule=None, tags=["conformance"])
def loop_until_early():
    body_output = {}

    @task_group
    def body():
        @task
        def step(*, loop):
            return (loop.previous or 0) + 1

        body_output["step"] = step()

    def stop_after_two(*, loop):
        return loop.result >= 2

    looped = body.loop(max_iterations=5, until=stop_after_two)

    @result
    @task
    def collect(values):
        values = list(values)
        return {"iterations": len(values), "values": values}

    looped >> collect(body_output["step"])


loop_until_early()
