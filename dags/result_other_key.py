"""A result task that also pushes an XCom under another key: only return_value is collected."""

from airflow.sdk import dag, get_current_context, result, task


@dag(schedule=None, tags=["conformance"])
def result_other_key():
    @result
    @task
    def emit():
        get_current_context()["ti"].xcom_push(key="side_channel", value="not a result")
        return "the result"

    emit()


result_other_key()
