"""A classic PythonOperator's `.output` returned from `@dag` is a plain XComArg: it is the result."""

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import dag


def _answer():
    return {"operator": "python"}


@dag(schedule=None, tags=["conformance"])
def classic_python_operator():
    return PythonOperator(task_id="answer", python_callable=_answer).output


classic_python_operator()
